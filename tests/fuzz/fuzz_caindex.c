/* fuzz_caindex.c - the CA state files: index.txt and ca.conf parsers, the
 * index round trip (what is parsed is formatted and parses again to the
 * same entries), serial lookups (every entry is found by its serial), and
 * the one-pass reading of `ca sign`/`revoke`/`crl` (x509/ca_index.h)
 * against the strict parse: on an index that parses, it sees the same
 * state for every serial and the same revoked entries; and the CRL entries
 * written from them against OpenSSL's reader and encoder. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "mtlskit/ca.h"
#include "x509/ca_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The revokedCertificates the CRL writer made, inside a CRL that is
 * otherwise minimal: OpenSSL reads as many entries, and each one, encoded
 * again by OpenSSL, is the writer's bytes (canonical DER), in serial order. */
static void check_crl_list(const mtk_buf *list, size_t count)
{
	static const uint8_t head[] = {
	    0x02, 0x01, 0x01,					  /* v2 */
	    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,	  /* sha256RSA */
	    0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00, 0x30, 0x00, /* issuer */
	    0x17, 0x0d, '2',  '6',  '0',  '1',	'0',  '1',  '0',  '0', '0', '0', '0', '0', 'Z'};
	static const uint8_t tail[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
				       0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00, 0x03, 0x01, 0x00};
	mtk_buf tbs = MTK_BUF_INIT, body = MTK_BUF_INIT, crl = MTK_BUF_INIT, again = MTK_BUF_INIT;
	const unsigned char *q;
	STACK_OF(X509_REVOKED) * rev;
	X509_CRL *x;

	if (mtk_buf_append(&tbs, head, sizeof(head)) != MTK_OK ||
	    (count > 0 && mtk_der_put(&tbs, 0x30, list->data, list->len) != MTK_OK) ||
	    mtk_der_put(&body, 0x30, tbs.data, tbs.len) != MTK_OK ||
	    mtk_buf_append(&body, tail, sizeof(tail)) != MTK_OK ||
	    mtk_der_put(&crl, 0x30, body.data, body.len) != MTK_OK)
		abort();
	if (count == 0 && list->len != 0)
		abort();
	q = crl.data;
	if ((x = d2i_X509_CRL(NULL, &q, (long)crl.len)) == NULL || q != crl.data + crl.len)
		abort();
	rev = X509_CRL_get_REVOKED(x);
	if ((rev == NULL ? 0 : (size_t)sk_X509_REVOKED_num(rev)) != count)
		abort();
	for (size_t i = 0; i < count; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rev, (int)i);
		unsigned char *d = NULL;
		int n = i2d_X509_REVOKED(r, &d);

		if (n <= 0 || mtk_buf_append(&again, d, (size_t)n) != MTK_OK)
			abort();
		OPENSSL_free(d);
		if (i > 0 && ASN1_STRING_cmp(X509_REVOKED_get0_serialNumber(
						 sk_X509_REVOKED_value(rev, (int)i - 1)),
					     X509_REVOKED_get0_serialNumber(r)) > 0)
			abort();
	}
	if (again.len != list->len ||
	    (list->len > 0 && memcmp(again.data, list->data, list->len) != 0))
		abort();
	X509_CRL_free(x);
	mtk_buf_free(&tbs);
	mtk_buf_free(&body);
	mtk_buf_free(&crl);
	mtk_buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_ca_index idx = MTK_CA_INDEX_INIT, again = MTK_CA_INDEX_INIT;
	mtk_ca_conf conf;
	mtk_buf b = MTK_BUF_INIT;
	mtk_err err = {0};

	if (mtk_ca_index_parse(data, size, &idx, &err) == MTK_OK) {
		if (mtk_ca_index_format(&idx, &b) != MTK_OK)
			abort();
		if (mtk_ca_index_parse(b.data, b.len, &again, &err) != MTK_OK || again.count != idx.count)
			abort();
		for (size_t i = 0; i < idx.count; i++)
			if (strcmp(idx.items[i].serial, again.items[i].serial) != 0 ||
			    idx.items[i].status != again.items[i].status ||
			    idx.items[i].not_after != again.items[i].not_after)
				abort();
		/* every serial is found, at its first spelling of that value */
		for (size_t i = 0; i < idx.count; i++) {
			size_t at = SIZE_MAX;
			char a[80], z[80];
			if (!mtk_ca_index_find(&idx, idx.items[i].serial, &at) || at > i ||
			    mtk_serial_normalize(idx.items[at].serial, a, sizeof(a), NULL) != MTK_OK ||
			    mtk_serial_normalize(idx.items[i].serial, z, sizeof(z), NULL) != MTK_OK ||
			    strcmp(a, z) != 0)
				abort();
		}
		{
			const char *raw = (const char *)data;
			size_t len = mtk_ca_index_content(raw, size), revoked = 0, nrev = 0;

			b.len = 0;
			if (mtk_ca_crl_list(raw, len, &b, &revoked, NULL) != MTK_OK)
				abort();
			check_crl_list(&b, revoked);
			for (size_t i = 0; i < idx.count; i++) {
				size_t at = SIZE_MAX;
				char st = 0;

				nrev += idx.items[i].status == 'R';
				if (mtk_ca_index_state(raw, len, idx.items[i].serial, &st, NULL) != MTK_OK)
					abort();
				/* a value written in one spelling only: its state */
				if (mtk_ca_index_find(&idx, idx.items[i].serial, &at) && at == i) {
					bool alone = true;
					for (size_t j = i + 1; j < idx.count && alone; j++) {
						char a[80], z[80];
						alone = !(mtk_serial_normalize(idx.items[j].serial, a, sizeof(a), NULL) == MTK_OK &&
							  mtk_serial_normalize(idx.items[i].serial, z, sizeof(z), NULL) == MTK_OK &&
							  strcmp(a, z) == 0);
					}
					if (alone && st != idx.items[i].status)
						abort();
				}
			}
			if (revoked != nrev)
				abort();
		}
	} else if (err.code != MTK_E_CA_STATE && err.code != MTK_E_NOMEM) {
		abort();
	}
	if (mtk_ca_conf_parse(data, size, &conf, NULL) == MTK_OK) {
		b.len = 0;
		if (conf.name[0] == '\0' || mtk_ca_conf_format(&conf, &b) != MTK_OK)
			abort();
	}
	mtk_ca_index_free(&idx);
	mtk_ca_index_free(&again);
	mtk_buf_free(&b);
	return 0;
}
