/* fuzz_fastcert_diff.c - the differential: whenever OpenSSL parses the input
 * as a certificate and the walker accepts it too, they agree on notAfter,
 * notBefore, the serial and (when the walker renders it) the subject.  The
 * walker may decline what OpenSSL accepts (then the scan asks OpenSSL), but
 * never misreads it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "x509/fastcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t epoch(const ASN1_TIME *t, int *ok)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	*ok = ASN1_TIME_to_tm(t, &tm) == 1;
	return *ok ? (int64_t)timegm(&tm) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	X509 *x;
	mtk_fastcert fc;
	int ok;
	int64_t na, nb;
	char a[2048], b[2048];

	if (size > 65536)
		return 0;
	x = d2i_X509(NULL, &p, (long)size);
	if (x == NULL) {
		ERR_clear_error();
		return 0;
	}
	if (mtk_fastcert_parse(data, size, &fc) == MTK_OK) {
		na = epoch(X509_get0_notAfter(x), &ok);
		if (!ok || na != fc.not_after)
			abort();
		nb = epoch(X509_get0_notBefore(x), &ok);
		if (!ok || nb != fc.not_before)
			abort();
		if (mtk_fastcert_serial_hex(fc.serial, fc.serial_len, a, sizeof(a)) == MTK_OK) {
			BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
			char *h = bn ? BN_bn2hex(bn) : NULL;

			for (char *q = h; q && *q; q++)
				if (*q >= 'A' && *q <= 'F')
					*q = (char)(*q - 'A' + 'a');
			if (h == NULL || strcmp(a, h) != 0)
				abort();
			OPENSSL_free(h);
			BN_free(bn);
		}
		if (mtk_fastcert_name(fc.subject, fc.subject_len, a, sizeof(a)) == MTK_OK) {
			BIO *bio = BIO_new(BIO_s_mem());
			char *m;
			long n;

			if (X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
					       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
				n = BIO_get_mem_data(bio, &m);
				snprintf(b, sizeof(b), "%.*s", (int)n, m);
				if (strcmp(a, b) != 0)
					abort();
			}
			BIO_free(bio);
		}
	}
	X509_free(x);
	ERR_clear_error();
	return 0;
}
