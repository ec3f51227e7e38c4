/* test_p12.c - the PKCS12 keystore codec (lib/keystore/p12.c) and the
 * per-file key-derivation budget every PKCS#12 reader takes from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "formats/pbe.h"
#include "mtlskit/buf.h"
#include "mtlskit/describe.h"
#include "mtlskit/keystore.h"

static mtk_secret PW = {(char *)"changeit", 8};
static mtk_secret WRONG = {(char *)"changeme", 8};

static void make_pair(const char *dn, EVP_PKEY **key, X509 **cert)
{
	mtk_err err = {0};

	assert_int_equal(mtk_ks_genkey("EC", 256, key, &err), MTK_OK);
	assert_int_equal(mtk_ks_selfsign(*key, dn, 30, (time_t)1767225600, cert, &err), MTK_OK);
}

/* A key entry and two trusted entries go out and come back as Java reads
 * them: lower-case aliases, kinds, the key, MAC checked. */
static void test_roundtrip(void **state)
{
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_PKCS12), *back = NULL;
	EVP_PKEY *key = NULL, *k2 = NULL, *k3 = NULL;
	X509 *cert = NULL, *c2 = NULL, *c3 = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};
	long i;

	(void)state;
	make_pair("CN=P12 Leaf, O=Test", &key, &cert);
	make_pair("CN=P12 CA One", &k2, &c2);
	make_pair("CN=P12 CA Two", &k3, &c3);
	sk_X509_push(chain, cert);
	assert_int_equal(mtk_keystore_add_key(ks, "Client", key, chain, 1000, &err), MTK_OK);
	assert_int_equal(mtk_keystore_add_trusted(ks, "ca-one", c2, 0, &err), MTK_OK);
	assert_int_equal(mtk_keystore_add_trusted(ks, "CA-Two", c3, 0, &err), MTK_OK);
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_PKCS12, &PW, NULL, &out, &err), MTK_OK);

	assert_int_equal(mtk_keystore_decode(out.data, out.len, "t.p12", &PW, NULL,
					     MTK_KS_READ_LAZY, &back, &err),
			 MTK_OK);
	assert_int_equal(back->type, MTK_KS_PKCS12);
	assert_true(back->verified);
	assert_string_equal(back->p12_mac, "sha256");
	assert_int_equal(back->count, 3);
	i = mtk_keystore_find(back, "CLIENT");
	assert_true(i >= 0);
	assert_string_equal(back->entries[i].alias, "client");
	assert_int_equal(back->entries[i].kind, MTK_KSE_KEY);
	assert_non_null(back->entries[i].key);
	assert_int_equal(EVP_PKEY_eq(back->entries[i].key, key), 1);
	/* Read lazily, a key entry's chain is decoded; a trusted entry's
	 * certificate is kept as its bytes until asked for. */
	assert_non_null(back->entries[i].chain);
	assert_int_equal(X509_cmp(sk_X509_value(back->entries[i].chain, 0), cert), 0);
	i = mtk_keystore_find(back, "ca-two");
	assert_true(i >= 0);
	assert_int_equal(back->entries[i].kind, MTK_KSE_TRUSTED);
	assert_null(back->entries[i].chain);
	assert_int_equal(back->entries[i].nder, 1);
	{
		unsigned char a[32], b[32];
		unsigned int n = 0;
		assert_int_equal(mtk_ks_entry_sha256(&back->entries[i], 0, a), MTK_OK);
		assert_int_equal(X509_digest(c3, EVP_sha256(), b, &n), 1);
		assert_memory_equal(a, b, 32);
		assert_int_equal(mtk_ks_entry_sha256(&back->entries[i], 1, a), MTK_E_INVALID_ARG);
	}
	/* Decoded on demand, the same certificate. */
	assert_non_null(mtk_keystore_chain(back, (size_t)i, &err));
	assert_int_equal(X509_cmp(sk_X509_value(back->entries[i].chain, 0), c3), 0);
	mtk_keystore_free(back);
	back = NULL;

	/* Wrong password: the MAC says so. */
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "t.p12", &WRONG, NULL, 0, &back, &err),
			 MTK_E_INTEGRITY);
	assert_null(back);
	/* No password at all. */
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "t.p12", NULL, NULL, 0, &back, NULL),
			 MTK_E_PASSWORD_NEEDED);
	/* Damaged: refused, never read past the end. */
	assert_int_not_equal(mtk_keystore_decode(out.data, out.len / 2, "t.p12", &PW, NULL, 0, &back,
						 NULL),
			     MTK_OK);

	sk_X509_free(chain);
	mtk_buf_free(&out);
	mtk_keystore_free(ks);
	X509_free(cert);
	X509_free(c2);
	X509_free(c3);
	EVP_PKEY_free(key);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
}

static X509_ALGOR *pbes2(int iter)
{
	unsigned char salt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	X509_ALGOR *a = PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), iter, salt, sizeof(salt), NULL,
					  NID_hmacWithSHA256);

	assert_non_null(a);
	return a;
}

/* One budget per file: each derivation at most the cap, all of them
 * together at most MTK_PBE_FILE_BUDGET; a refusal takes nothing. */
static void test_budget(void **state)
{
	mtk_pbe_budget b = MTK_PBE_BUDGET_INIT;
	X509_ALGOR *million = pbes2(1000000), *over = pbes2((int)MTK_PBE_MAX_ITER + 1);
	ASN1_INTEGER *mac = ASN1_INTEGER_new();
	mtk_err err = {0};

	(void)state;
	/* One count over the cap: refused as such, the budget untouched. */
	assert_false(mtk_pbe_budget_take(&b, over));
	assert_false(b.exhausted);
	assert_int_equal((long)b.left, MTK_PBE_FILE_BUDGET);
	assert_int_equal(mtk_pbe_budget_refused(&b, &err, "f.p12", "private key"), MTK_E_TOO_LARGE);
	assert_non_null(strstr(err.detail, "more than 5000000 key-derivation iterations;"));
	/* Five derivations of 1,000,000 fit; the sixth is over the total. */
	for (int i = 0; i < 5; i++)
		assert_true(mtk_pbe_budget_take(&b, million));
	assert_int_equal((long)b.left, MTK_PBE_FILE_BUDGET - 5000000L);
	assert_false(mtk_pbe_budget_take(&b, million));
	assert_true(b.exhausted);
	mtk_err_clear(&err);
	assert_int_equal(mtk_pbe_budget_refused(&b, &err, "f.p12", "private key"), MTK_E_TOO_LARGE);
	assert_non_null(strstr(err.detail, "reached at the private key)"));
	/* A file's budget grows with its size: 100 iterations per byte. */
	b = mtk_pbe_budget_for(10000);
	assert_int_equal((long)b.left, MTK_PBE_FILE_BUDGET + 1000000L);
	assert_int_equal((long)b.total, MTK_PBE_FILE_BUDGET + 1000000L);
	/* A MAC: absent counts 1; a count takes its value. */
	b = (mtk_pbe_budget)MTK_PBE_BUDGET_INIT;
	assert_true(mtk_pbe_budget_take_mac(&b, NULL));
	assert_int_equal((long)b.left, MTK_PBE_FILE_BUDGET - 1);
	ASN1_INTEGER_set(mac, 2048);
	assert_true(mtk_pbe_budget_take_mac(&b, mac));
	assert_int_equal((long)b.left, MTK_PBE_FILE_BUDGET - 2049);
	ASN1_INTEGER_set(mac, -1);
	assert_false(mtk_pbe_budget_take_mac(&b, mac));
	assert_false(b.exhausted);
	/* No algorithm (nothing to derive): 1. */
	assert_true(mtk_pbe_budget_take(&b, NULL));
	ASN1_INTEGER_free(mac);
	X509_ALGOR_free(million);
	X509_ALGOR_free(over);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
