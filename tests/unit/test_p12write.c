/* test_p12write.c - the one PKCS#12 encoder (lib/formats/p12write.c): bags
 * written with the converter's profiles (modern, legacy, java) and the
 * PKCS12 keystore's, and straight through mtk_p12_bags_write, come back from
 * the one decoder (p12bags.c) as the same bags with the chosen algorithms,
 * iterations, salt lengths and attributes.  The PFX's outer layers, which
 * the encoder writes itself, are exactly what OpenSSL's PKCS12 and PKCS7
 * objects (the encoder's former pipeline) write with the same salts. */
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

/* Storage of a lazy read's certificate bags, freed by the test. */
static void *kept[64];
static size_t nkept;

static void *keep(void *ctx, size_t n)
{
	(void)ctx;
	return nkept < 64 ? (kept[nkept++] = malloc(n ? n : 1)) : NULL;
}

static mtk_rc rd(const mtk_buf *b, const char *pass, mtk_p12_bags *bs)
{
	mtk_p12_read_opts o = {.pass = pass, .passlen = strlen(pass), .secrets = true};

	return mtk_p12_bags_read(b->data, b->len, &o, bs);
}

/*
 * The former encoder's pipeline (PKCS7 safes, PKCS12_add_safes_ex,
 * PKCS12_set_mac, i2d_PKCS12) run again with the randomness of the file
 * out: the same bytes.  Encrypted safes are re-encrypted from their
 * plaintext with the file's algorithm (its salt and IV), the key safe's
 * bags packed again by PKCS12_pack_p7data, the MAC computed by OpenSSL with
 * the file's salt.
 */
static void assert_openssl_writes_same(const mtk_buf *out, const char *pass)
{
	const unsigned char *p = out->data;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)out->len), *old;
	STACK_OF(PKCS7) * safes, *again = sk_PKCS7_new_null();
	const ASN1_OCTET_STRING *salt = NULL;
	const X509_ALGOR *malg = NULL;
	const ASN1_INTEGER *iter = NULL;
	unsigned char *der = NULL;
	int n;

	assert_non_null(p12);
	assert_ptr_equal(p, out->data + out->len);
	assert_int_equal(PKCS12_verify_mac(p12, pass, -1), 1);
	assert_non_null(safes = PKCS12_unpack_authsafes(p12));
	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i), *np7 = NULL;

		if (OBJ_obj2nid(p7->type) == NID_pkcs7_data) {
			STACK_OF(PKCS12_SAFEBAG) *bags = PKCS12_unpack_p7data(p7);

			assert_non_null(bags);
			assert_non_null(np7 = PKCS12_pack_p7data(bags));
			assert_int_equal(ASN1_STRING_length(np7->d.data),
					 ASN1_STRING_length(p7->d.data));
			assert_memory_equal(ASN1_STRING_get0_data(np7->d.data),
					    ASN1_STRING_get0_data(p7->d.data),
					    (size_t)ASN1_STRING_length(p7->d.data));
			sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		} else {
			X509_ALGOR *alg = p7->d.encrypted->enc_data->algorithm;
			ASN1_OCTET_STRING *ct = p7->d.encrypted->enc_data->enc_data, *os;
			unsigned char *pl = NULL, *ct2 = NULL;
			int pllen = 0, ct2len = 0;

			assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_encrypted);
			assert_non_null(PKCS12_pbe_crypt_ex(alg, pass, -1, ct->data, ct->length,
							    &pl, &pllen, 0, NULL, NULL));
			assert_non_null(PKCS12_pbe_crypt_ex(alg, pass, -1, pl, pllen, &ct2, &ct2len,
							    1, NULL, NULL));
			assert_int_equal(ct2len, ct->length);
			assert_memory_equal(ct2, ct->data, (size_t)ct2len);
			assert_non_null(np7 = PKCS7_new());
			assert_int_equal(PKCS7_set_type(np7, NID_pkcs7_encrypted), 1);
			X509_ALGOR_free(np7->d.encrypted->enc_data->algorithm);
			np7->d.encrypted->enc_data->algorithm = X509_ALGOR_dup(alg);
			assert_non_null(os = ASN1_OCTET_STRING_new());
			ASN1_STRING_set0(os, ct2, ct2len);
			ASN1_OCTET_STRING_free(np7->d.encrypted->enc_data->enc_data);
			np7->d.encrypted->enc_data->enc_data = os;
			OPENSSL_clear_free(pl, (size_t)pllen);
		}
		assert_true(sk_PKCS7_push(again, np7) > 0);
	}
	assert_non_null(old = PKCS12_add_safes_ex(again, 0, NULL, NULL));
	PKCS12_get0_mac(NULL, &malg, &salt, &iter, p12);
	assert_non_null(malg);
	assert_int_equal(PKCS12_set_mac(old, pass, -1, (unsigned char *)salt->data, salt->length,
					iter != NULL ? (int)ASN1_INTEGER_get(iter) : 1,
					EVP_get_digestbyobj(malg->algorithm)),
			 1);
	assert_true((n = i2d_PKCS12(old, &der)) > 0);
	assert_int_equal((size_t)n, out->len);
	assert_memory_equal(der, out->data, out->len);
	OPENSSL_free(der);
	PKCS12_free(old);
	PKCS12_free(p12);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	sk_PKCS7_pop_free(again, PKCS7_free);
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
		assert_openssl_writes_same(&out, "changeit");
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
	assert_openssl_writes_same(&out, "changeit");
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
	assert_openssl_writes_same(&out, "pw");
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

/* The outer layers of every shape the encoder writes, against OpenSSL's:
 * certificates only, keys only, nothing, a MAC of one iteration (no
 * iterations field) and of the default digest, PBES1 and PBES2 safes
 * (encrypted in place, or by OpenSSL for a cipher pbe.c does not run),
 * certificate bags written from their bytes as a lazy read keeps them. */
static void test_outer_as_openssl(void **state)
{
	mtk_p12_write_opts base = {.pass = "changeit",
				   .passlen = 8,
				   .key_pbe = NID_hmacWithSHA256,
				   .key_cipher = EVP_aes_256_cbc(),
				   .key_iter = 2048,
				   .cert_pbe = NID_aes_256_cbc,
				   .cert_iter = 2048,
				   .mac_md = EVP_sha256(),
				   .mac_iter = 2048};
	mtk_p12_bag in[3] = {
	    {.kind = MTK_P12B_CERT, .cert = CERT, .name = (char *)"c", .kid_len = 1, .kid = "k"},
	    {.kind = MTK_P12B_CERT,
	     .cert = CA,
	     .name = (char *)"root",
	     .kid_len = -1,
	     .trusted = true},
	    {.kind = MTK_P12B_KEY, .key = KEY, .name = (char *)"c", .kid_len = 1, .kid = "k"},
	};
	struct {
		size_t from, n;
		int cert_pbe, mac_iter;
		bool no_md;
	} v[] = {
	    {0, 3, NID_aes_256_cbc, 2048, false},
	    {0, 2, NID_aes_128_cbc, 1, false},
	    {2, 1, NID_aes_256_cbc, 100000, false},
	    {0, 0, NID_aes_256_cbc, 2048, false},
	    {0, 3, NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 2048, true},
	    {0, 3, -1, 1, true},
	    /* not the fast path's: OpenSSL encrypts */
	    {0, 3, NID_camellia_256_cbc, 2048, false},
	};
	mtk_err err = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		mtk_p12_write_opts o = base;
		mtk_buf out = MTK_BUF_INIT, again = MTK_BUF_INIT;
		mtk_p12_read_opts ro = {.pass = "changeit", .passlen = 8, .alloc = keep};
		mtk_p12_bags bs;

		o.cert_pbe = v[i].cert_pbe;
		o.mac_iter = v[i].mac_iter;
		if (v[i].no_md)
			o.mac_md = NULL;
		assert_int_equal(mtk_p12_bags_write(in + v[i].from, v[i].n, &o, &out, &err),
				 MTK_OK);
		assert_openssl_writes_same(&out, "changeit");
		/* Read lazily (certificates kept as their SafeBags) and written
		 * again: the kept bytes go out as they came in. */
		assert_int_equal(mtk_p12_bags_read(out.data, out.len, &ro, &bs), MTK_OK);
		assert_true(bs.mac_ok == true);
		assert_int_equal(bs.mac_iter, v[i].mac_iter);
		assert_int_equal(bs.mac_nid, v[i].no_md ? NID_sha1 : NID_sha256);
		assert_int_equal(bs.n, v[i].n);
		if (v[i].from == 0 && v[i].n > 0 && v[i].cert_pbe != NID_camellia_256_cbc)
			assert_non_null(bs.b[1].bag_der); /* pbe.c decrypted it */
		assert_int_equal(mtk_p12_bags_write(bs.b, bs.n, &o, &again, &err), MTK_OK);
		assert_openssl_writes_same(&again, "changeit");
		assert_int_equal(again.len, out.len);
		mtk_p12_bags_free(&bs);
		while (nkept > 0)
			free(kept[--nkept]);
		mtk_buf_free(&out);
		mtk_buf_free(&again);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_convert_profiles),
	    cmocka_unit_test(test_keystore_profile),
	    cmocka_unit_test(test_encoder),
	    cmocka_unit_test(test_outer_as_openssl),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
