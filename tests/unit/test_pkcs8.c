/* test_pkcs8.c - keys read from PKCS#8 keep their bytes, and the direct RSA
 * reader gives the key OpenSSL's decoder gives: same parameters, same
 * signatures, same PKCS#8 output.  Keys with attributes, version-1
 * (OneAsymmetricKey) encodings and other algorithms take OpenSSL's path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "formats/pkcs8.h"

static EVP_PKEY *gen(const char *alg, const char *arg)
{
	if (strcmp(alg, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	if (strcmp(alg, "EC") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", arg);
	return EVP_PKEY_Q_keygen(NULL, NULL, alg);
}

/* key -> PKCS8_PRIV_KEY_INFO and its DER */
static PKCS8_PRIV_KEY_INFO *to_p8(EVP_PKEY *k, unsigned char **der, int *len)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);

	assert_non_null(p8);
	*der = NULL;
	*len = i2d_PKCS8_PRIV_KEY_INFO(p8, der);
	assert_true(*len > 0);
	return p8;
}

static void check_same_key(EVP_PKEY *a, EVP_PKEY *b)
{
	static const unsigned char msg[] = "mtlskit";
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	assert_int_equal(EVP_PKEY_eq(a, b), 1);
	assert_int_equal(EVP_PKEY_get_bits(a), EVP_PKEY_get_bits(b));
	assert_int_equal(EVP_PKEY_get_base_id(a), EVP_PKEY_get_base_id(b));
	/* sign with one, verify with the other */
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_reset(md);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, b), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(md);
}

static void test_kept_bytes_and_same_key(void **state)
{
	(void)state;
	static const char *algs[][2] = {{"RSA", NULL}, {"EC", "P-256"}, {"EC", "P-384"}, {"ED25519", NULL}};

	for (size_t i = 0; i < sizeof(algs) / sizeof(*algs); i++) {
		EVP_PKEY *orig = gen(algs[i][0], algs[i][1]), *k, *ref;
		unsigned char *der;
		int len;
		PKCS8_PRIV_KEY_INFO *p8 = to_p8(orig, &der, &len);
		mtk_buf out = MTK_BUF_SECRET_INIT, fresh = MTK_BUF_SECRET_INIT;

		k = mtk_p8_to_key(p8);
		ref = EVP_PKCS82PKEY(p8);
		assert_non_null(k);
		assert_non_null(ref);
		if (strcmp(algs[i][0], "ED25519") != 0)
			check_same_key(k, ref);
		else
			assert_int_equal(EVP_PKEY_eq(k, ref), 1);
		/* the remembered bytes are the source */
		assert_int_equal(mtk_key_p8_der(k, &out), MTK_OK);
		assert_int_equal(out.len, (size_t)len);
		assert_memory_equal(out.data, der, out.len);
		{
			/* a duplicate has its own copy: same bytes, freed once each
			 * (ASan checks the frees) */
			EVP_PKEY *d = EVP_PKEY_dup(k);
			mtk_buf dd = MTK_BUF_SECRET_INIT;

			assert_non_null(d);
			assert_int_equal(mtk_key_p8_der(d, &dd), MTK_OK);
			assert_int_equal(dd.len, out.len);
			assert_memory_equal(dd.data, out.data, out.len);
			mtk_buf_free(&dd);
			EVP_PKEY_free(d);
		}
		/* and OpenSSL's own encoding of the key read is the same */
		assert_int_equal(mtk_key_p8_der(ref, &fresh), MTK_OK);
		assert_int_equal(fresh.len, out.len);
		assert_memory_equal(fresh.data, out.data, out.len);
		mtk_buf_free(&out);
		mtk_buf_free(&fresh);
		OPENSSL_free(der);
		PKCS8_PRIV_KEY_INFO_free(p8);
		EVP_PKEY_free(k);
		EVP_PKEY_free(ref);
		EVP_PKEY_free(orig);
	}
}

/* With an attribute the source is not plain: the output is OpenSSL's
 * encoding, without it. */
static void test_attributes_not_kept(void **state)
{
	(void)state;
	EVP_PKEY *orig = gen("RSA", NULL), *k;
	unsigned char *der, *der2 = NULL;
	int len, len2;
	PKCS8_PRIV_KEY_INFO *p8 = to_p8(orig, &der, &len);
	mtk_buf out = MTK_BUF_SECRET_INIT;

	assert_int_equal(PKCS8_pkey_add1_attr_by_NID(p8, NID_friendlyName, V_ASN1_BMPSTRING,
						     (const unsigned char *)"\0k\0e\0y", 6),
			 1);
	len2 = i2d_PKCS8_PRIV_KEY_INFO(p8, &der2);
	assert_true(len2 > len);
	k = mtk_p8_to_key(p8);
	assert_non_null(k);
	assert_int_equal(mtk_key_p8_der(k, &out), MTK_OK);
	assert_int_equal(out.len, (size_t)len);
	assert_memory_equal(out.data, der, out.len);
	mtk_buf_free(&out);
	OPENSSL_free(der);
	OPENSSL_free(der2);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(k);
	EVP_PKEY_free(orig);
}

/* An RSAPrivateKey with bytes after it inside the OCTET STRING is not taken
 * by the direct reader; OpenSSL decides (and refuses). */
static void test_rsa_trailing_bytes(void **state)
{
	(void)state;
	EVP_PKEY *orig = gen("RSA", NULL);
	unsigned char *der;
	int len;
	PKCS8_PRIV_KEY_INFO *p8 = to_p8(orig, &der, &len);
	const unsigned char *pk;
	int pklen;
	const X509_ALGOR *alg;
	unsigned char *longer;
	PKCS8_PRIV_KEY_INFO *p8b = PKCS8_PRIV_KEY_INFO_new();
	EVP_PKEY *k;

	assert_int_equal(PKCS8_pkey_get0(NULL, &pk, &pklen, &alg, p8), 1);
	longer = OPENSSL_malloc((size_t)pklen + 2);
	memcpy(longer, pk, (size_t)pklen);
	longer[pklen] = 0x05;
	longer[pklen + 1] = 0x00;
	assert_int_equal(PKCS8_pkey_set0(p8b, OBJ_nid2obj(NID_rsaEncryption), 0, V_ASN1_NULL, NULL, longer,
					 pklen + 2),
			 1);
	k = mtk_p8_to_key(p8b);
	if (k != NULL) { /* whatever OpenSSL makes of it, it is the key */
		EVP_PKEY *ref = EVP_PKCS82PKEY(p8b);
		assert_non_null(ref);
		assert_int_equal(EVP_PKEY_eq(k, ref), 1);
		EVP_PKEY_free(ref);
	}
	EVP_PKEY_free(k);
	PKCS8_PRIV_KEY_INFO_free(p8b);
	OPENSSL_free(der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_bytes_and_same_key),
		cmocka_unit_test(test_attributes_not_kept),
		cmocka_unit_test(test_rsa_trailing_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
