/* test_pem.c - the PEM scanner: blocks, lines, hygiene, damaged input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/file.h"
#include "mtlskit/pem.h"

#define CERT_BODY "MAMCAQE=\n"

static mtk_pem_doc scan_ok(const char *text)
{
	mtk_pem_doc doc;
	mtk_err e = {0};
	assert_int_equal(mtk_pem_scan((const uint8_t *)text, strlen(text), &doc, &e), MTK_OK);
	return doc;
}

static void test_blocks_and_lines(void **state)
{
	const char *t = "-----BEGIN CERTIFICATE-----\n" CERT_BODY "-----END CERTIFICATE-----\n"
			"-----BEGIN PRIVATE KEY-----\n" CERT_BODY "-----END PRIVATE KEY-----\n";
	mtk_pem_doc doc = scan_ok(t);
	(void)state;
	assert_int_equal(doc.count, 2);
	assert_string_equal(doc.blocks[0].label, "CERTIFICATE");
	assert_int_equal(doc.blocks[0].line, 1);
	assert_int_equal(doc.blocks[1].line, 4);
	assert_string_equal(doc.blocks[1].label, "PRIVATE KEY");
	assert_int_equal(doc.blocks[0].der_len, 5);
	assert_memory_equal(doc.blocks[0].der, "\x30\x03\x02\x01\x01", 5);
	assert_int_equal(doc.crlf_line, 0);
	assert_false(doc.bom);
	assert_int_equal(doc.blank_between_line, 0);
	assert_int_equal(doc.stray_line, 0);
	mtk_pem_doc_free(&doc);
}

static void test_windows_hygiene(void **state)
{
	const char *t = "\xEF\xBB\xBF-----BEGIN CERTIFICATE-----\r\nMAMC\r\nAQE=\r\n"
			"-----END CERTIFICATE-----\r\n\r\n"
			"-----BEGIN CERTIFICATE-----\r\n" "MAMCAQE=\r\n-----END CERTIFICATE-----\r\n\x1A";
	mtk_pem_doc doc = scan_ok(t);
	mtk_findings fs = MTK_FINDINGS_INIT;
	(void)state;
	assert_int_equal(doc.count, 2);
	assert_false(doc.blocks[0].bad);
	assert_int_equal(doc.blocks[0].der_len, 5);
	assert_true(doc.bom);
	assert_int_equal(doc.crlf_line, 1);
	assert_int_equal(doc.blank_between_line, 5);
	assert_int_equal(doc.ctrl_z_line, 9);
	assert_int_equal(doc.blocks[1].line, 6);
	assert_int_equal(mtk_pem_hygiene_findings(&doc, "w.pem", &fs), MTK_OK);
	assert_true(mtk_findings_has(&fs, MTK_F_PEM_CRLF));
	assert_true(mtk_findings_has(&fs, MTK_F_PEM_STRAY_BYTES));
	assert_true(mtk_findings_has(&fs, MTK_F_PEM_BLANK_LINES));
	mtk_findings_free(&fs);
	mtk_pem_doc_free(&doc);
}

static void test_legacy_encrypted_headers(void **state)
{
	const char *t = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
			"DEK-Info: AES-256-CBC,0011223344556677\n\n" CERT_BODY
			"-----END RSA PRIVATE KEY-----\n";
	mtk_pem_doc doc = scan_ok(t);
	(void)state;
	assert_int_equal(doc.count, 1);
	assert_true(doc.blocks[0].encrypted);
	assert_string_equal(doc.blocks[0].dek_info, "AES-256-CBC,0011223344556677");
	assert_false(doc.blocks[0].bad);
	assert_int_equal(doc.blank_inside_line, 0); /* the header separator is not a stray blank */
	mtk_pem_doc_free(&doc);
}

static void test_damaged(void **state)
{
	mtk_pem_doc doc;
	mtk_err e = {0};
	(void)state;
	/* truncated: no END */
	doc = scan_ok("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n");
	assert_int_equal(doc.count, 1);
	assert_true(doc.blocks[0].bad);
	mtk_pem_doc_free(&doc);
	/* mismatched END, then a good block still found */
	doc = scan_ok("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END X509 CRL-----\n"
		      "-----BEGIN X509 CRL-----\nMAMCAQE=\n-----END X509 CRL-----\n");
	assert_int_equal(doc.count, 2);
	assert_true(doc.blocks[0].bad);
	assert_false(doc.blocks[1].bad);
	mtk_pem_doc_free(&doc);
	/* garbage base64 */
	doc = scan_ok("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
	assert_true(doc.blocks[0].bad);
	mtk_pem_doc_free(&doc);
	/* nothing at all */
	assert_int_equal(mtk_pem_scan((const uint8_t *)"hello\n", 6, &doc, &e), MTK_E_PEM_SYNTAX);
}

static void test_encode_roundtrip(void **state)
{
	uint8_t der[100];
	mtk_buf out = MTK_BUF_INIT;
	mtk_pem_doc doc;
	mtk_err e = {0};
	(void)state;
	for (int i = 0; i < 100; i++)
		der[i] = (uint8_t)i;
	assert_int_equal(mtk_pem_encode(&out, "CERTIFICATE", der, sizeof(der)), MTK_OK);
	assert_null(memchr(out.data, '\r', out.len));
	assert_int_equal(mtk_pem_scan(out.data, out.len, &doc, &e), MTK_OK);
	assert_int_equal(doc.blocks[0].der_len, 100);
	assert_memory_equal(doc.blocks[0].der, der, 100);
	mtk_pem_doc_free(&doc);
	mtk_buf_free(&out);
}

/* The block iterator: spans, lines, the three outcomes. */
static void test_iterator(void **state)
{
	const char *t = "junk -----BEGIN X-----\n"
			"-----BEGIN CERTIFICATE-----\n" CERT_BODY "-----END CERTIFICATE-----\n"
			"\n-----BEGIN A-----\nQQ==\n-----END A-----\n"
			"-----BEGIN C-----\n-----END D-----\n"
			"-----BEGIN KEY-----\nQUI=\n";
	mtk_pem_iter it;
	mtk_pem_span sp;
	uint8_t out[16];
	size_t n;

	(void)state;
	mtk_pem_iter_init(&it, (const uint8_t *)t, strlen(t), 1, false);
	/* "-----BEGIN X-----" has no END: it runs to the next END marker,
	 * whose label differs. */
	assert_int_equal(mtk_pem_next(&it, &sp), MTK_PEM_END_MISMATCH);
	assert_int_equal(sp.line, 1);
	assert_int_equal(mtk_pem_next(&it, &sp), MTK_PEM_BLOCK);
	assert_true(mtk_pem_label_is(&sp, "A"));
	assert_int_equal(sp.line, 6);
	assert_true(mtk_pem_b64_decode(sp.body, sp.body_len, out, &n));
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 'A');
	assert_int_equal(mtk_pem_next(&it, &sp), MTK_PEM_END_MISMATCH);
	assert_true(mtk_pem_label_is(&sp, "C"));
	assert_int_equal(sp.line, 9);
	assert_int_equal(mtk_pem_next(&it, &sp), MTK_PEM_NO_END);
	assert_true(mtk_pem_label_is(&sp, "KEY"));
	assert_int_equal(sp.line, 11);
	assert_true(mtk_pem_b64_decode(sp.body, sp.body_len, out, &n));
	assert_int_equal(n, 2);
	assert_int_equal(mtk_pem_next(&it, &sp), MTK_PEM_DONE);
}

/* In windows: a block cut by the window's end is asked for again. */
static void test_iterator_partial(void **state)
{
	const char *t = "x\n-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIF";
	mtk_pem_iter it;
	mtk_pem_span sp;
	long line = 0;

	(void)state;
	mtk_pem_iter_init(&it, (const uint8_t *)t, strlen(t), 1, true);
	assert_int_equal(mtk_pem_next(&it, &sp), MTK_PEM_MORE);
	assert_int_equal(mtk_pem_iter_keep(&it, &line), 2);
	assert_int_equal(line, 2);
	/* No marker at all: only the last bytes (a marker's possible start)
	 * are kept. */
	mtk_pem_iter_init(&it, (const uint8_t *)"abcdefghijklmnop\n-----BEG", 26, 7, true);
	assert_int_equal(mtk_pem_next(&it, &sp), MTK_PEM_DONE);
	assert_int_equal(mtk_pem_iter_keep(&it, &line), 26 - 10);
	assert_int_equal(line, 7); /* offset 16 is the first line's newline */
}

/* Base64: whole quads only, padding only at the end, white space skipped. */
static void test_b64(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: refused */
	} v[] = {
	    {"TWFu", "Man"},	   {"TWE=", "Ma"},  {"TQ==", "M"},	  {"TW\r\nFu ", "Man"},
	    {"TWFuTWFu", "ManMan"}, {"TWF", NULL},   {"TQ=", NULL},	  {"TQ==TQ==", NULL},
	    {"T===", NULL},	   {"====", NULL},  {"TW-u", NULL},	  {"", NULL},
	    {"Proc-Type: 4", NULL},
	};
	uint8_t out[32];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		bool ok = mtk_pem_b64_decode((const uint8_t *)v[i].in, strlen(v[i].in), out, &n);

		if (v[i].out == NULL) {
			assert_false(ok);
			continue;
		}
		assert_true(ok);
		assert_int_equal(n, strlen(v[i].out));
		assert_memory_equal(out, v[i].out, n);
	}
}

/* text with every "\n" as "\r\n" (certutil writes CRLF). */
static void crlf(const mtk_buf *in, mtk_buf *out)
{
	for (size_t i = 0; i < in->len; i++) {
		if (in->data[i] == '\n')
			assert_int_equal(mtk_buf_append_u8(out, '\r'), MTK_OK);
		assert_int_equal(mtk_buf_append_u8(out, in->data[i]), MTK_OK);
	}
}

/* The armoured-PFX helper the loader and the keystore reader share: a PFX
 * under PKCS12 (GnuTLS) or CERTIFICATE (certutil -encode, CRLF) is found
 * with its DER and a note; a certificate, two blocks, a PKCS12 label over
 * something else, and junk are not. */
static void test_single_pfx(void **state)
{
	char path[1024];
	const char *src = getenv("MTLSKIT_SRC");
	mtk_buf pfx = MTK_BUF_INIT, t = MTK_BUF_INIT, t2 = MTK_BUF_INIT;
	mtk_err e = {0};
	uint8_t *der = NULL;
	size_t n = 0;
	const char *note = NULL;
	static const char cert[] =
	    "-----BEGIN CERTIFICATE-----\n" CERT_BODY "-----END CERTIFICATE-----\n";
	static const char p12cert[] = "-----BEGIN PKCS12-----\n" CERT_BODY "-----END PKCS12-----\n";
	static const char junk[] = "-----BEGIN PKCS12-----\n!!!!\n-----END PKCS12-----\n";
	(void)state;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/p12ks/trust-nomac.p12", src ? src : ".");
	assert_int_equal(mtk_file_read(path, 0, &pfx, &e), MTK_OK);

	/* GnuTLS: -----BEGIN PKCS12----- */
	assert_int_equal(mtk_pem_encode(&t, "PKCS12", pfx.data, pfx.len), MTK_OK);
	assert_int_equal(mtk_pem_single_pfx(t.data, t.len, &der, &n, &note), MTK_OK);
	assert_int_equal(n, pfx.len);
	assert_memory_equal(der, pfx.data, n);
	assert_non_null(strstr(note, "GnuTLS"));
	free(der);
	der = NULL;
	/* certutil -encode: CERTIFICATE, CRLF lines */
	t.len = 0;
	assert_int_equal(mtk_pem_encode(&t, "CERTIFICATE", pfx.data, pfx.len), MTK_OK);
	crlf(&t, &t2);
	assert_int_equal(mtk_pem_single_pfx(t2.data, t2.len, &der, &n, &note), MTK_OK);
	assert_int_equal(n, pfx.len);
	assert_memory_equal(der, pfx.data, n);
	assert_non_null(strstr(note, "certutil"));
	free(der);
	der = NULL;
	/* The predicate on its own. */
	assert_non_null(mtk_pem_pfx_armour("X509 CERTIFICATE", 16, pfx.data, pfx.len));
	assert_non_null(mtk_pem_pfx_armour("PKCS12", 6, NULL, 0));
	assert_null(
	    mtk_pem_pfx_armour("CERTIFICATE", 11, (const uint8_t *)"\x30\x03\x02\x01\x01", 5));
	assert_null(mtk_pem_pfx_armour("PRIVATE KEY", 11, pfx.data, pfx.len));
	/* Two blocks: not one PFX. */
	t.len = 0;
	assert_int_equal(mtk_buf_append(&t, t2.data, t2.len), MTK_OK);
	assert_int_equal(mtk_buf_append(&t2, t.data, t.len), MTK_OK);
	assert_int_equal(mtk_pem_single_pfx(t2.data, t2.len, &der, &n, NULL), MTK_E_NOT_FOUND);
	/* A certificate is not a PFX; a PKCS12 label over one is an error. */
	assert_int_equal(mtk_pem_single_pfx((const uint8_t *)cert, strlen(cert), &der, &n, NULL),
			 MTK_E_NOT_FOUND);
	assert_int_equal(
	    mtk_pem_single_pfx((const uint8_t *)p12cert, strlen(p12cert), &der, &n, NULL),
	    MTK_E_PKCS12);
	assert_int_equal(mtk_pem_single_pfx((const uint8_t *)junk, strlen(junk), &der, &n, NULL),
			 MTK_E_PKCS12);
	assert_int_equal(mtk_pem_single_pfx(pfx.data, pfx.len, &der, &n, NULL), MTK_E_NOT_FOUND);
	assert_int_equal(mtk_pem_single_pfx((const uint8_t *)"", 0, &der, &n, NULL),
			 MTK_E_NOT_FOUND);
	assert_null(der);
	mtk_buf_free(&pfx);
	mtk_buf_free(&t);
	mtk_buf_free(&t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blocks_and_lines),
	    cmocka_unit_test(test_windows_hygiene),
	    cmocka_unit_test(test_legacy_encrypted_headers),
	    cmocka_unit_test(test_damaged),
	    cmocka_unit_test(test_encode_roundtrip),
	    cmocka_unit_test(test_iterator),
	    cmocka_unit_test(test_iterator_partial),
	    cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_single_pfx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
