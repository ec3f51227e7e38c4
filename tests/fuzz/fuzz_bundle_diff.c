/*
 * fuzz_bundle_diff.c - differential: the certificates mtlskit finds in a PEM
 * input against OpenSSL's own reader (a PEM_read_bio_X509 loop) on the same
 * bytes.
 *
 * What must agree.  When
 *   (1) OpenSSL reads the input fully: the loop ends at end of input with
 *       only PEM_R_NO_START_LINE on the error queue (no damaged block, no
 *       certificate that fails to decode),
 *   (2) mtk_load_mem succeeds on it as PEM, and
 *   (3) the input is canonical PEM: LF or CRLF line ends (both sides read
 *       CRLF), no BOM, no 0x1A, no text other than blocks and blank lines
 *       between them, no blank line inside a body, and every BEGIN/END line
 *       is exactly "-----BEGIN LABEL-----" at the start of its line,
 * then the certificates of our CERTIFICATE / X509 CERTIFICATE blocks are
 * exactly OpenSSL's, in the same order (X509_cmp on each pair).
 *
 * Allowed differences (outside those conditions; documented in docs/check.md):
 *   - we are more tolerant of layout: a BOM, 0x1A bytes, indentation before
 *     BEGIN, text after the closing dashes, blank lines inside a body; we
 *     read such blocks and report pem-* findings, OpenSSL may skip or fail;
 *   - we fail closed where OpenSSL is lenient: a certificate DER with
 *     trailing bytes, or a damaged non-certificate block (a key, a CRL)
 *     makes our load fail, while OpenSSL's certificate loop skips it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mtlskit/load.h"
#include "mtlskit/pem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool line_is(const uint8_t *d, size_t n, size_t off, const char *kind, const char *label)
{
	char want[128];
	size_t k = (size_t)snprintf(want, sizeof(want), "-----%s %s-----", kind, label);

	if (k >= sizeof(want) || n - off < k || memcmp(d + off, want, k) != 0)
		return false;
	off += k;
	return off == n || d[off] == '\n' || (d[off] == '\r' && off + 1 < n && d[off + 1] == '\n');
}

/* Condition (3). */
static bool canonical(const uint8_t *d, size_t n)
{
	mtk_pem_doc doc;
	bool ok;

	if (mtk_pem_scan(d, n, &doc, NULL) != MTK_OK)
		return false;
	ok = !doc.bom && doc.ctrl_z_line == 0 && doc.stray_line == 0 && doc.blank_inside_line == 0;
	for (size_t i = 0; ok && i < doc.count; i++) {
		const mtk_pem_block *b = &doc.blocks[i];
		size_t end_start = b->end_off;

		if (b->bad || !line_is(d, n, b->begin_off, "BEGIN", b->label)) {
			ok = false;
			break;
		}
		/* the END line starts after the last newline before end_off */
		if (end_start > 0 && d[end_start - 1] == '\n')
			end_start--;
		while (end_start > b->begin_off && d[end_start - 1] != '\n')
			end_start--;
		ok = line_is(d, n, end_start, "END", b->label);
	}
	mtk_pem_doc_free(&doc);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *theirs = sk_X509_new_null();
	mtk_set set = MTK_SET_INIT;
	mtk_err err = {0};
	bool full = false;
	BIO *bio;
	X509 *x;
	size_t k = 0;

	if (theirs == NULL || size > INT32_MAX)
		goto out;
	bio = BIO_new_mem_buf(data, (int)size);
	if (bio == NULL)
		goto out;
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(theirs, x))
			X509_free(x);
	{
		unsigned long e = ERR_peek_last_error();
		full = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE &&
		       BIO_eof(bio);
		/* only that one error on the queue */
		if (full && ERR_peek_error() != e)
			full = false;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (!full || mtk_detect(data, size) != MTK_FMT_PEM || !canonical(data, size))
		goto out;
	if (mtk_load_mem(&set, "diff.pem", data, size, NULL, NULL, NULL, &err) != MTK_OK)
		goto out;
	for (size_t i = 0; i < set.count; i++) {
		const mtk_obj *o = &set.objs[i];
		if (o->kind != MTK_OBJ_CERT || o->label == NULL ||
		    (strcmp(o->label, "CERTIFICATE") != 0 && strcmp(o->label, "X509 CERTIFICATE") != 0))
			continue;
		if (k >= (size_t)sk_X509_num(theirs) || X509_cmp(o->cert, sk_X509_value(theirs, (int)k)) != 0)
			abort(); /* a certificate OpenSSL does not see there */
		k++;
	}
	if (k != (size_t)sk_X509_num(theirs))
		abort(); /* OpenSSL found a certificate we missed */
out:
	mtk_set_free(&set);
	sk_X509_pop_free(theirs, X509_free);
	return 0;
}
