/* test_detect.c - mtk_detect (detect.h): every format from bytes OpenSSL
 * made in-process (certificate v1 and v3, CSR, CRL v1 and v2, PKCS#7,
 * PKCS#1 / SEC1 / PKCS#8 / encrypted PKCS#8 keys, PFX), PEM, the JKS and
 * JCEKS magic, truncated, empty and garbage input, and the names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "mtlskit/detect.h"

static EVP_PKEY *ec, *rsa;
static X509 *cert;

static int setup(void **state)
{
	X509_NAME *n = X509_NAME_new();
	(void)state;

	ec = EVP_EC_gen("P-256");
	rsa = EVP_RSA_gen(1024);
	cert = X509_new();
	if (ec == NULL || rsa == NULL || cert == NULL || n == NULL)
		return -1;
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"d.example.com", -1, -1, 0);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
	X509_set_subject_name(cert, n);
	X509_set_issuer_name(cert, n);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	X509_set_pubkey(cert, ec);
	X509_NAME_free(n);
	return X509_sign(cert, ec, EVP_sha256()) > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
	X509_free(cert);
	return 0;
}

/* DER from an i2d call: *der is malloc'd by OpenSSL. */
#define DETECT_I2D(fn, obj, expect)                                 \
	do {                                                            \
		unsigned char *der_ = NULL;                             \
		int len_ = fn(obj, &der_);                              \
		assert_true(len_ > 0);                                  \
		assert_int_equal(mtk_detect(der_, (size_t)len_), expect); \
		OPENSSL_free(der_);                                     \
	} while (0)

static void test_certificates(void **state)
{
	X509 *v1 = X509_dup(cert);
	(void)state;

	DETECT_I2D(i2d_X509, cert, MTK_FMT_DER_CERT);
	/* v1: no [0] version, the serial first */
	assert_non_null(v1);
	assert_int_equal(X509_set_version(v1, 0), 1);
	assert_true(X509_sign(v1, ec, EVP_sha256()) > 0);
	DETECT_I2D(i2d_X509, v1, MTK_FMT_DER_CERT);
	X509_free(v1);
}

static void test_csr_crl_pkcs7(void **state)
{
	X509_REQ *req = X509_REQ_new();
	X509_CRL *crl = X509_CRL_new();
	PKCS7 *p7 = PKCS7_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, 1800000000);
	(void)state;

	X509_REQ_set_version(req, 0);
	X509_REQ_set_subject_name(req, X509_get_subject_name(cert));
	X509_REQ_set_pubkey(req, ec);
	assert_true(X509_REQ_sign(req, ec, EVP_sha256()) > 0);
	DETECT_I2D(i2d_X509_REQ, req, MTK_FMT_DER_CSR);

	/* v1 CRL (no version field), then v2 */
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(cert));
	X509_CRL_set1_lastUpdate(crl, t);
	X509_CRL_set1_nextUpdate(crl, t);
	assert_true(X509_CRL_sign(crl, ec, EVP_sha256()) > 0);
	DETECT_I2D(i2d_X509_CRL, crl, MTK_FMT_DER_CRL);
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_true(X509_CRL_sign(crl, ec, EVP_sha256()) > 0);
	DETECT_I2D(i2d_X509_CRL, crl, MTK_FMT_DER_CRL);

	/* a certs-only SignedData, as openssl crl2pkcs7 writes */
	assert_int_equal(PKCS7_set_type(p7, NID_pkcs7_signed), 1);
	assert_int_equal(PKCS7_content_new(p7, NID_pkcs7_data), 1);
	assert_int_equal(PKCS7_add_certificate(p7, cert), 1);
	DETECT_I2D(i2d_PKCS7, p7, MTK_FMT_DER_PKCS7);

	PKCS7_free(p7);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	X509_REQ_free(req);
}

static void test_keys(void **state)
{
	PKCS8_PRIV_KEY_INFO *p8;
	X509_SIG *enc;
	unsigned char *der = NULL;
	int len;
	(void)state;

	DETECT_I2D(i2d_PrivateKey, rsa, MTK_FMT_DER_KEY); /* PKCS#1: version 0 */
	DETECT_I2D(i2d_PrivateKey, ec, MTK_FMT_DER_KEY);  /* SEC1: version 1 */
	p8 = EVP_PKEY2PKCS8(ec);
	assert_non_null(p8);
	DETECT_I2D(i2d_PKCS8_PRIV_KEY_INFO, p8, MTK_FMT_DER_KEY);
	enc = PKCS8_encrypt(-1, EVP_aes_256_cbc(), "pw", 2, NULL, 0, 1000, p8);
	assert_non_null(enc);
	DETECT_I2D(i2d_X509_SIG, enc, MTK_FMT_DER_KEY);
	X509_SIG_free(enc);
	PKCS8_PRIV_KEY_INFO_free(p8);
	/* a public key is none of the formats */
	len = i2d_PUBKEY(ec, &der);
	assert_true(len > 0);
	assert_int_equal(mtk_detect(der, (size_t)len), MTK_FMT_UNKNOWN);
	OPENSSL_free(der);
}

static void test_pfx(void **state)
{
	PKCS12 *p12 = PKCS12_create("pw", "alias", ec, cert, NULL, 0, 0, 0, 0, 0);
	unsigned char *der = NULL;
	int len;
	(void)state;

	assert_non_null(p12);
	len = i2d_PKCS12(p12, &der);
	assert_true(len > 64);
	assert_int_equal(mtk_detect(der, (size_t)len), MTK_FMT_PKCS12);
	/* truncated: still recognisably a (damaged) PFX */
	assert_int_equal(mtk_detect(der, (size_t)len - 1), MTK_FMT_PKCS12);
	assert_int_equal(mtk_detect(der, 24), MTK_FMT_PKCS12);
	/* version 3 with something else than pkcs7-data */
	{
		/* find the first pkcs7-data OID (1.2.840.113549.1.7.1) and make
		 * it envelopedData (1.7.3) */
		unsigned char *oid = NULL;
		for (int i = 0; i + 11 < len && oid == NULL; i++)
			if (der[i] == 0x06 && der[i + 1] == 9 && der[i + 2] == 0x2a && der[i + 10] == 0x01 &&
			    der[i + 9] == 0x07)
				oid = der + i;
		assert_non_null(oid);
		oid[10] = 0x03; /* envelopedData */
		assert_int_equal(mtk_detect(der, (size_t)len), MTK_FMT_UNKNOWN);
	}
	OPENSSL_free(der);
	PKCS12_free(p12);
}

static void test_magic_pem_and_garbage(void **state)
{
	static const uint8_t jks[] = {0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2};
	static const uint8_t jceks[] = {0xCE, 0xCE, 0xCE, 0xCE, 0, 0, 0, 2};
	static const uint8_t almost_jks[] = {0xFE, 0xED, 0xFE, 0xEE, 0, 0, 0, 2};
	static const uint8_t boolean[] = {0x30, 0x03, 0x01, 0x01, 0xff};
	static const uint8_t long_len[] = {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01};
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	static const char pem_late[] = "Bag Attributes\n    friendlyName: a\n-----BEGIN PRIVATE KEY-----\n";
	static const char not_pem[] = "x-----BEGIN CERTIFICATE-----\n";
	unsigned char *der = NULL;
	int len;
	(void)state;

	assert_int_equal(mtk_detect(jks, sizeof(jks)), MTK_FMT_JKS);
	assert_int_equal(mtk_detect(jks, 4), MTK_FMT_JKS);
	assert_int_equal(mtk_detect(jks, 3), MTK_FMT_UNKNOWN);
	assert_int_equal(mtk_detect(jceks, sizeof(jceks)), MTK_FMT_JCEKS);
	assert_int_equal(mtk_detect(almost_jks, sizeof(almost_jks)), MTK_FMT_UNKNOWN);
	assert_int_equal(mtk_detect((const uint8_t *)pem, strlen(pem)), MTK_FMT_PEM);
	assert_int_equal(mtk_detect((const uint8_t *)pem_late, strlen(pem_late)), MTK_FMT_PEM);
	assert_int_equal(mtk_detect((const uint8_t *)not_pem, strlen(not_pem)), MTK_FMT_UNKNOWN);
	assert_int_equal(mtk_detect((const uint8_t *)"hello, world\n", 13), MTK_FMT_UNKNOWN);
	assert_int_equal(mtk_detect(boolean, sizeof(boolean)), MTK_FMT_UNKNOWN);
	assert_int_equal(mtk_detect(long_len, sizeof(long_len)), MTK_FMT_UNKNOWN);
	assert_int_equal(mtk_detect(NULL, 0), MTK_FMT_UNKNOWN);
	assert_int_equal(mtk_detect((const uint8_t *)"", 0), MTK_FMT_UNKNOWN);
	/* a certificate cut anywhere is not a certificate */
	len = i2d_X509(cert, &der);
	assert_true(len > 100);
	for (int cut = 0; cut < len; cut += 7)
		assert_int_equal(mtk_detect(der, (size_t)cut), MTK_FMT_UNKNOWN);
	assert_int_equal(mtk_detect(der, (size_t)len), MTK_FMT_DER_CERT);
	/* trailing bytes after the certificate do not matter */
	{
		uint8_t *more = malloc((size_t)len + 3);
		assert_non_null(more);
		memcpy(more, der, (size_t)len);
		memcpy(more + len, "\0\0\0", 3);
		assert_int_equal(mtk_detect(more, (size_t)len + 3), MTK_FMT_DER_CERT);
		free(more);
	}
	OPENSSL_free(der);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(mtk_format_name(MTK_FMT_UNKNOWN), "unknown");
	assert_string_equal(mtk_format_name(MTK_FMT_PEM), "pem");
	assert_string_equal(mtk_format_name(MTK_FMT_DER_CERT), "der-certificate");
	assert_string_equal(mtk_format_name(MTK_FMT_DER_CSR), "der-csr");
	assert_string_equal(mtk_format_name(MTK_FMT_DER_CRL), "der-crl");
	assert_string_equal(mtk_format_name(MTK_FMT_DER_PKCS7), "pkcs7");
	assert_string_equal(mtk_format_name(MTK_FMT_DER_KEY), "der-key");
	assert_string_equal(mtk_format_name(MTK_FMT_PKCS12), "pkcs12");
	assert_string_equal(mtk_format_name(MTK_FMT_JKS), "jks");
	assert_string_equal(mtk_format_name(MTK_FMT_JCEKS), "jceks");
	assert_string_equal(mtk_format_name((mtk_format)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_certificates),
		cmocka_unit_test(test_csr_crl_pkcs7),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_pfx),
		cmocka_unit_test(test_magic_pem_and_garbage),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
