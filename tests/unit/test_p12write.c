/* test_p12write.c - the one PKCS#12 encoder (lib/formats/p12write.c): bags
 * written with the converter's profiles (modern, legacy, java) and the
 * PKCS12 keystore's, and straight through mtk_p12_bags_write, come back from
 * the one decoder (p12bags.c) as the same bags with the chosen algorithms,
 * iterations, salt lengths and attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "formats/p12bags.h"
#include "mtlskit/buf.h"
#include "mtlskit/keystore.h"
#include "mtlskit/pkcs12.h"

static EVP_PKEY *KEY;
static X509 *CERT, *CA;

static int setup(void **state)
{
	mtk_err err = {0};
	EVP_PKEY *cakey = NULL;

	(void)state;
	if (mtk_ks_genkey("EC", 256, &KEY, &err) != MTK_OK ||
	    mtk_ks_selfsign(KEY, "CN=P12 Write", 30, (time_t)1767225600, &CERT, &err) != MTK_OK ||
	    mtk_ks_genkey("EC", 256, &cakey, &err) != MTK_OK ||
	    mtk_ks_selfsign(cakey, "CN=P12 Trusted", 30, (time_t)1767225600, &CA, &err) != MTK_OK)
		return -1;
	EVP_PKEY_free(cakey);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(KEY);
	X509_free(CERT);
	X509_free(CA);
	return 0;
}

static mtk_rc rd(const mtk_buf *b, const char *pass, mtk_p12_bags *bs)
{
	mtk_p12_read_opts o = {.pass = pass, .passlen = strlen(pass), .secrets = true};

	return mtk_p12_bags_read(b->data, b->len, &o, bs);
}

/* The converter's three profiles, as its adapter fills them. */
static void test_convert_profiles(void **state)
{
	static const struct {
		mtk_p12_compat c;
		int mac_nid;
		long iter;
		int salt;
		const char *key_enc;
	} want[] = {
	    {MTK_P12_MODERN, NID_sha256, 2048, 8, "AES-256-CBC"},
	    {MTK_P12_LEGACY, NID_sha1, 2048, 8, "3DES"},
	    {MTK_P12_JAVA, NID_sha256, 10000, 20, "AES-256-CBC"},
	};
	mtk_secret pw = {(char *)"changeit", 8};
	mtk_p12_trusted tr = {CA, "Root"};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		mtk_p12_spec spec = {.compat = want[i].c,
				     .key = KEY,
				     .leaf = CERT,
				     .trusted = &tr,
				     .ntrusted = 1,
				     .alias = "Client",
				     .pass = &pw,
				     .now_ms = 1767225600000};
		mtk_buf out = MTK_BUF_INIT;
		mtk_p12_bags bs;
		mtk_err err = {0};
		bool java = want[i].c == MTK_P12_JAVA;

		assert_int_equal(mtk_p12_write(&spec, &out, &err), MTK_OK);
		assert_int_equal(rd(&out, "changeit", &bs), MTK_OK);
		assert_true(bs.mac_ok);
		assert_int_equal(bs.mac_nid, want[i].mac_nid);
		assert_int_equal(bs.mac_iter, want[i].iter);
		assert_int_equal(bs.mac_salt_len, want[i].salt);
		assert_int_equal(bs.safes, 2);
		assert_int_equal(bs.enc_safes, 1);
		assert_int_equal(bs.first_safe_iter, want[i].iter);
		assert_non_null(strstr(bs.key_enc, want[i].key_enc));
		/* leaf, trusted certificate, then the key in the plain safe */
		assert_int_equal(bs.n, 3);
		assert_int_equal(bs.b[0].kind, MTK_P12B_CERT);
		assert_string_equal(bs.b[0].name, java ? "client" : "Client");
		assert_int_equal(X509_cmp(bs.b[0].cert, CERT), 0);
		assert_false(bs.b[0].trusted);
		assert_int_equal(bs.b[1].kind, MTK_P12B_CERT);
		assert_true(bs.b[1].trusted);
		assert_string_equal(bs.b[1].name, java ? "root" : "Root");
		assert_int_equal(bs.b[1].kid_len, -1);
		assert_int_equal(bs.b[2].kind, MTK_P12B_KEY);
		assert_true(bs.b[2].shrouded);
		assert_int_equal(bs.b[2].enc_iter, want[i].iter);
		assert_int_equal(EVP_PKEY_eq(bs.b[2].key, KEY), 1);
		assert_int_equal(bs.b[2].kid_len, bs.b[0].kid_len);
		assert_memory_equal(bs.b[2].kid, bs.b[0].kid, (size_t)bs.b[0].kid_len);
		if (java)
			assert_memory_equal(bs.b[2].kid, "Time 1767225600000", 18);
		else
			assert_int_equal(bs.b[2].kid_len, 20); /* SHA-1 of the leaf */
		mtk_p12_bags_free(&bs);
		mtk_buf_free(&out);
	}
}

/* The keystore's Java 17 profile, through its adapter. */
static void test_keystore_profile(void **state)
{
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_PKCS12);
	mtk_secret pw = {(char *)"changeit", 8};
	mtk_buf out = MTK_BUF_SECRET_INIT;
	STACK_OF(X509) *chain = sk_X509_new_null();
	mtk_p12_bags bs;
	mtk_err err = {0};

	(void)state;
	assert_non_null(chain);
	assert_true(sk_X509_push(chain, CERT) > 0);
	assert_int_equal(mtk_keystore_add_key(ks, "Client", KEY, chain, 1000, &err), MTK_OK);
	assert_int_equal(mtk_keystore_add_trusted(ks, "Root", CA, 2000, &err), MTK_OK);
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_PKCS12, &pw, NULL, &out, &err), MTK_OK);
	assert_int_equal(rd(&out, "changeit", &bs), MTK_OK);
	assert_true(bs.mac_ok);
	assert_int_equal(bs.mac_nid, NID_sha256);
	assert_int_equal(bs.mac_iter, 10000);
	assert_int_equal(bs.mac_salt_len, 8);
	assert_int_equal(bs.first_safe_iter, 10000);
	assert_non_null(strstr(bs.first_safe_enc, "AES-256-CBC"));
	assert_int_equal(bs.n, 3);
	assert_int_equal(bs.b[0].kind, MTK_P12B_CERT);
	assert_string_equal(bs.b[0].name, "client");
	assert_memory_equal(bs.b[0].kid, "Time 1000", 9);
	assert_int_equal(bs.b[1].kind, MTK_P12B_CERT);
	assert_true(bs.b[1].trusted);
	assert_string_equal(bs.b[1].name, "root");
	assert_int_equal(bs.b[2].kind, MTK_P12B_KEY);
	assert_int_equal(bs.b[2].enc_iter, 10000);
	assert_memory_equal(bs.b[2].kid, "Time 1000", 9);
	assert_int_equal(EVP_PKEY_eq(bs.b[2].key, KEY), 1);
	mtk_p12_bags_free(&bs);
	mtk_buf_free(&out);
	sk_X509_free(chain);
	mtk_keystore_free(ks);
}

/* Straight through the encoder: a plain certificate safe, a secret bag
 * (Java's {0, AES, key}), PBES1 for the key, 20-byte salts. */
static void test_encoder(void **state)
{
	static const uint8_t aes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	PKCS8_PRIV_KEY_INFO *p8 = PKCS8_PRIV_KEY_INFO_new();
	unsigned char *kb = OPENSSL_malloc(sizeof(aes)), *sder = NULL;
	int slen;
	mtk_p12_write_opts o = {.pass = "pw",
				.passlen = 2,
				.key_pbe = NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
				.key_iter = 3000,
				.key_salt_len = 20,
				.cert_pbe = -1,
				.mac_md = EVP_sha384(),
				.mac_iter = 1500,
				.mac_salt_len = 20};
	mtk_p12_bag in[3] = {
	    {.kind = MTK_P12B_CERT, .cert = CERT, .name = (char *)"c", .kid_len = 1, .kid = "k"},
	    {.kind = MTK_P12B_KEY, .key = KEY, .name = (char *)"c", .kid_len = 1, .kid = "k"},
	    {.kind = MTK_P12B_SECRET, .name = (char *)"s", .kid_len = -1},
	};
	mtk_buf out = MTK_BUF_INIT;
	mtk_p12_bags bs;
	mtk_err err = {0};

	(void)state;
	assert_non_null(p8);
	assert_non_null(kb);
	memcpy(kb, aes, sizeof(aes));
	assert_int_equal(PKCS8_pkey_set0(p8, OBJ_txt2obj("2.16.840.1.101.3.4.1", 1), 0,
					 V_ASN1_UNDEF, NULL, kb, (int)sizeof(aes)),
			 1);
	assert_true((slen = i2d_PKCS8_PRIV_KEY_INFO(p8, &sder)) > 0);
	in[2].secret = sder;
	in[2].secret_len = (size_t)slen;
	assert_int_equal(mtk_p12_bags_write(in, 3, &o, &out, &err), MTK_OK);
	assert_int_equal(rd(&out, "pw", &bs), MTK_OK);
	assert_int_equal(bs.mac_nid, NID_sha384);
	assert_int_equal(bs.mac_iter, 1500);
	assert_int_equal(bs.mac_salt_len, 20);
	assert_int_equal(bs.safes, 2);
	assert_int_equal(bs.enc_safes, 0);
	assert_int_equal(bs.n, 3);
	assert_false(bs.b[0].safe_encrypted);
	assert_int_equal(bs.b[1].kind, MTK_P12B_KEY);
	assert_int_equal(bs.b[1].enc_iter, 3000);
	assert_non_null(strstr(bs.b[1].enc, "3DES"));
	assert_int_equal(EVP_PKEY_eq(bs.b[1].key, KEY), 1);
	assert_int_equal(bs.b[2].kind, MTK_P12B_SECRET);
	assert_string_equal(bs.b[2].name, "s");
	assert_int_equal(bs.b[2].kid_len, -1);
	assert_int_equal(bs.b[2].secret_len, (size_t)slen);
	assert_memory_equal(bs.b[2].secret, sder, (size_t)slen);
	mtk_p12_bags_free(&bs);

	/* A CRL bag is not written; a password is required. */
	in[0].kind = MTK_P12B_CRL;
	assert_int_equal(mtk_p12_bags_write(in, 1, &o, &out, &err), MTK_E_INVALID_ARG);
	o.pass = NULL;
	assert_int_equal(mtk_p12_bags_write(in + 1, 1, &o, &out, &err), MTK_E_INVALID_ARG);
	mtk_buf_free(&out);
	OPENSSL_free(sder);
	PKCS8_PRIV_KEY_INFO_free(p8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_convert_profiles),
	    cmocka_unit_test(test_keystore_profile),
	    cmocka_unit_test(test_encoder),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
