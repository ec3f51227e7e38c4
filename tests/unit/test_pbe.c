/* test_pbe.c - the fast PBKDF2, PKCS#12 KDF, PBE decryption and PFX MAC
 * give OpenSSL's answers, byte for byte, over digests, iteration counts,
 * output lengths, password forms (empty, absent, non-ASCII, longer than a
 * block) and every algorithm they claim; what they do not claim is
 * reported as unsupported, and OpenSSL's function behind them still works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "formats/pbe.h"

static const int digests[] = {NID_sha1, NID_sha224, NID_sha256, NID_sha384, NID_sha512};
static const char *passwords[] = {"", "changeit", "pässwörd-ü€", "a much longer password than one "
					  "hash block: 0123456789012345678901234567890123456789"
					  "0123456789012345678901234567890123456789"};

static void test_pbkdf2_matches_openssl(void **state)
{
	(void)state;
	uint8_t salt[37];
	static const uint64_t iters[] = {1, 2, 7, 2048};
	static const size_t lens[] = {1, 16, 32, 33, 64, 100};

	RAND_bytes(salt, sizeof(salt));
	for (size_t d = 0; d < sizeof(digests) / sizeof(*digests); d++)
		for (size_t p = 0; p < sizeof(passwords) / sizeof(*passwords); p++)
			for (size_t i = 0; i < sizeof(iters) / sizeof(*iters); i++)
				for (size_t l = 0; l < sizeof(lens) / sizeof(*lens); l++) {
					uint8_t a[100], b[100];
					const char *pw = passwords[p];
					size_t sl = (d + l) % 2 ? sizeof(salt) : 8;

					assert_int_equal(mtk_pbkdf2(digests[d], pw, strlen(pw), salt, sl,
								    iters[i], a, lens[l]),
							 MTK_OK);
					assert_int_equal(PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)sl,
									   (int)iters[i],
									   EVP_get_digestbynid(digests[d]),
									   (int)lens[l], b),
							 1);
					assert_memory_equal(a, b, lens[l]);
				}
	assert_int_equal(mtk_pbkdf2(NID_md5, "x", 1, salt, 8, 1, salt, 8), MTK_E_UNSUPPORTED);
	assert_int_equal(mtk_pbkdf2(NID_sha256, "x", 1, salt, 8, 0, salt, 8), MTK_E_INVALID_ARG);
}

static void test_pkcs12_kdf_matches_openssl(void **state)
{
	(void)state;
	uint8_t salt[70];
	static const uint64_t iters[] = {1, 3, 2048};
	static const size_t lens[] = {8, 20, 24, 32, 64, 90};
	static const size_t salts[] = {0, 8, 20, 64, 70};

	RAND_bytes(salt, sizeof(salt));
	for (size_t d = 0; d < sizeof(digests) / sizeof(*digests); d++)
		for (size_t p = 0; p < sizeof(passwords) / sizeof(*passwords); p++)
			for (int id = 1; id <= 3; id++)
				for (size_t i = 0; i < sizeof(iters) / sizeof(*iters); i++) {
					size_t len = lens[(d + (size_t)id + i) % 6];
					size_t sl = salts[(p + i) % 5];
					uint8_t a[90], b[90];
					unsigned char *uni = NULL;
					int unilen = 0;

					assert_non_null(OPENSSL_utf82uni(passwords[p], (int)strlen(passwords[p]),
									 &uni, &unilen));
					assert_int_equal(mtk_pkcs12_kdf(digests[d], id, uni, (size_t)unilen, salt,
									sl, iters[i], a, len),
							 MTK_OK);
					assert_int_equal(PKCS12_key_gen_uni(uni, unilen, salt, (int)sl, id,
									    (int)iters[i], (int)len, b,
									    EVP_get_digestbynid(digests[d])),
							 1);
					assert_memory_equal(a, b, len);
					OPENSSL_free(uni);
				}
}

static EVP_PKEY *ec_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

/* An EncryptedPrivateKeyInfo with a PKCS#5 v2 scheme (cipher, prf) or a
 * PKCS#12 one (pbe_nid, cipher NULL). */
static X509_SIG *encrypt_key(EVP_PKEY *k, int pbe_nid, const EVP_CIPHER *cipher, int prf, const char *pw,
			     int iter)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
	X509_ALGOR *alg;
	X509_SIG *sig;
	unsigned char salt[16];

	RAND_bytes(salt, sizeof(salt));
	if (cipher != NULL)
		alg = PKCS5_pbe2_set_iv(cipher, iter, salt, sizeof(salt), NULL, prf);
	else
		alg = PKCS5_pbe_set(pbe_nid, iter, salt, sizeof(salt));
	assert_non_null(alg);
	sig = PKCS8_set0_pbe(pw, pw ? (int)strlen(pw) : 0, p8, alg);
	assert_non_null(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return sig;
}

static void check_p8(EVP_PKEY *k, X509_SIG *sig, const char *pw, mtk_rc expect_fast)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OCTET_STRING *enc = NULL;
	mtk_buf plain = MTK_BUF_SECRET_INIT;
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *back;

	X509_SIG_get0(sig, &alg, &enc);
	assert_int_equal(mtk_pbe_decrypt(alg, pw, pw ? strlen(pw) : 0, enc->data, (size_t)enc->length, &plain),
			 expect_fast);
	mtk_buf_cleanse_free(&plain);
	p8 = mtk_p8_decrypt(sig, pw, pw ? strlen(pw) : 0);
	assert_non_null(p8);
	back = EVP_PKCS82PKEY(p8);
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	PKCS8_PRIV_KEY_INFO_free(p8);
	/* and a wrong password is refused by both paths */
	assert_null(mtk_p8_decrypt(sig, "wrong", 5));
}

static void test_pbe_decrypt_algorithms(void **state)
{
	(void)state;
	EVP_PKEY *k = ec_key();
	static const struct {
		const char *cipher;
		int prf;
	} v2[] = {
	    {"AES-256-CBC", NID_hmacWithSHA256}, {"AES-128-CBC", NID_hmacWithSHA1},
	    {"AES-192-CBC", NID_hmacWithSHA512}, {"DES-EDE3-CBC", NID_hmacWithSHA224},
	    {"AES-256-CBC", NID_hmacWithSHA384},
	};

	for (size_t i = 0; i < sizeof(v2) / sizeof(*v2); i++) {
		EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, v2[i].cipher, NULL);
		X509_SIG *sig = encrypt_key(k, 0, c, v2[i].prf, "changeit", 100 + (int)i);
		check_p8(k, sig, "changeit", MTK_OK);
		X509_SIG_free(sig);
		EVP_CIPHER_free(c);
	}
	/* PKCS#12 3DES with the present-but-empty, a non-ASCII and the absent password */
	{
		X509_SIG *sig = encrypt_key(k, NID_pbe_WithSHA1And3_Key_TripleDES_CBC, NULL, 0, "", 2048);
		check_p8(k, sig, "", MTK_OK);
		X509_SIG_free(sig);
		sig = encrypt_key(k, NID_pbe_WithSHA1And3_Key_TripleDES_CBC, NULL, 0, "pässwörd", 7);
		check_p8(k, sig, "pässwörd", MTK_OK);
		X509_SIG_free(sig);
		sig = encrypt_key(k, NID_pbe_WithSHA1And2_Key_TripleDES_CBC, NULL, 0, NULL, 1);
		check_p8(k, sig, NULL, MTK_OK);
		X509_SIG_free(sig);
	}
	/* an algorithm the fast path does not claim: OpenSSL decrypts it */
	{
		EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-256-OFB", NULL);
		X509_SIG *sig = encrypt_key(k, 0, c, NID_hmacWithSHA256, "changeit", 10);
		check_p8(k, sig, "changeit", MTK_E_UNSUPPORTED);
		X509_SIG_free(sig);
		EVP_CIPHER_free(c);
	}
	/* a wrong password is "bad password" (or, 1 in 256, garbage padding) */
	{
		X509_SIG *sig = encrypt_key(k, 0, EVP_aes_256_cbc(), NID_hmacWithSHA256, "right", 10);
		const X509_ALGOR *alg = NULL;
		const ASN1_OCTET_STRING *enc = NULL;
		mtk_buf plain = MTK_BUF_SECRET_INIT;
		mtk_rc rc;

		X509_SIG_get0(sig, &alg, &enc);
		rc = mtk_pbe_decrypt(alg, "wrong", 5, enc->data, (size_t)enc->length, &plain);
		assert_true(rc == MTK_E_BAD_PASSWORD || rc == MTK_OK);
		mtk_buf_cleanse_free(&plain);
		X509_SIG_free(sig);
	}
	EVP_PKEY_free(k);
}

static X509 *self_signed(EVP_PKEY *k)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"pbe", -1, -1, 0);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, n);
	X509_gmtime_adj(X509_getm_notBefore(c), 0);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_set_pubkey(c, k);
	assert_true(X509_sign(c, k, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return c;
}

static void check_pfx(EVP_PKEY *k, X509 *c, const char *pw, int key_nid, int cert_nid, int mac_nid, int iter)
{
	PKCS12 *p12 = PKCS12_create(pw, "x", k, c, NULL, key_nid, cert_nid, iter, iter, 0);
	unsigned char *der = NULL;
	int len;
	STACK_OF(PKCS7) *safes;
	bool saw_enc = false;

	assert_non_null(p12);
	if (mac_nid != NID_undef)
		assert_int_equal(PKCS12_set_mac(p12, pw, -1, NULL, 0, iter, EVP_get_digestbynid(mac_nid)), 1);
	len = i2d_PKCS12(p12, &der);
	assert_true(len > 0);
	assert_int_equal(mtk_p12_mac_check(p12, der, (size_t)len, pw, strlen(pw)), MTK_OK);
	assert_int_equal(mtk_p12_mac_check(p12, der, (size_t)len, "nope", 4), MTK_E_BAD_PASSWORD);
	assert_true(mtk_p12_verify_mac(p12, der, (size_t)len, pw, strlen(pw)));
	assert_false(mtk_p12_verify_mac(p12, der, (size_t)len, "nope", 4));
	/* an altered byte of the MAC-covered contents is a mismatch, not a pass */
	der[len / 2] ^= 1;
	assert_int_equal(mtk_p12_mac_check(p12, der, (size_t)len, pw, strlen(pw)), MTK_E_BAD_PASSWORD);
	der[len / 2] ^= 1;
	safes = PKCS12_unpack_authsafes(p12);
	assert_non_null(safes);
	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags;
		if (OBJ_obj2nid(p7->type) != NID_pkcs7_encrypted)
			continue;
		saw_enc = true;
		bags = mtk_p7_decrypt_bags(p7, pw, strlen(pw));
		assert_non_null(bags);
		assert_int_equal(sk_PKCS12_SAFEBAG_num(bags), 1);
		assert_int_equal(PKCS12_SAFEBAG_get_nid(sk_PKCS12_SAFEBAG_value(bags, 0)), NID_certBag);
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		assert_null(mtk_p7_decrypt_bags(p7, "nope", 4));
	}
	assert_true(saw_enc);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	OPENSSL_free(der);
	PKCS12_free(p12);
}

static void test_pfx_mac_and_safes(void **state)
{
	(void)state;
	EVP_PKEY *k = ec_key();
	X509 *c = self_signed(k);

	check_pfx(k, c, "changeit", NID_aes_256_cbc, NID_aes_256_cbc, NID_undef, 2048);
	check_pfx(k, c, "changeit", NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
		  NID_pbe_WithSHA1And3_Key_TripleDES_CBC, NID_sha1, 2048);
	check_pfx(k, c, "pässwörd", NID_aes_128_cbc, NID_aes_128_cbc, NID_sha512, 3);
	check_pfx(k, c, "", NID_aes_256_cbc, NID_aes_256_cbc, NID_sha384, 1);
	X509_free(c);
	EVP_PKEY_free(k);
}

static void test_md5_chain(void **state)
{
	(void)state;
	uint8_t a[16], b[16];
	unsigned int n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	mtk_md5_chain((const uint8_t *)"salt", 4, "pw", 2, 3, a);
	/* the same chain with EVP, spelled out */
	EVP_DigestInit_ex(md, EVP_md5(), NULL);
	EVP_DigestUpdate(md, "saltpw", 6);
	EVP_DigestFinal_ex(md, b, &n);
	for (int i = 1; i < 3; i++) {
		EVP_DigestInit_ex(md, EVP_md5(), NULL);
		EVP_DigestUpdate(md, b, 16);
		EVP_DigestUpdate(md, "pw", 2);
		EVP_DigestFinal_ex(md, b, &n);
	}
	EVP_MD_CTX_free(md);
	assert_memory_equal(a, b, 16);
}

/* mtk_cbc_crypt against EVP: both directions, every length around the block
 * size, and the padding failures EVP reports as a failed final block. */
static void test_cbc_matches_evp(void **state)
{
	(void)state;
	static const struct {
		int nid;
		const EVP_CIPHER *(*evp)(void);
	} ciphers[] = {{NID_aes_128_cbc, EVP_aes_128_cbc}, {NID_aes_192_cbc, EVP_aes_192_cbc},
		       {NID_aes_256_cbc, EVP_aes_256_cbc}, {NID_des_ede3_cbc, EVP_des_ede3_cbc},
		       {NID_des_ede_cbc, EVP_des_ede_cbc}};
	uint8_t key[32], iv[16], msg[80];

	RAND_bytes(key, sizeof(key));
	RAND_bytes(iv, sizeof(iv));
	RAND_bytes(msg, sizeof(msg));
	for (size_t c = 0; c < sizeof(ciphers) / sizeof(*ciphers); c++) {
		const EVP_CIPHER *ev = ciphers[c].evp();
		int bs = EVP_CIPHER_get_block_size(ev);

		for (size_t len = 0; len <= 2 * (size_t)bs + 1; len++) {
			uint8_t ref[128];
			int n1 = 0, n2 = 0;
			EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
			mtk_buf enc = MTK_BUF_INIT, dec = MTK_BUF_SECRET_INIT;

			assert_int_equal(EVP_EncryptInit_ex(cx, ev, NULL, key, iv), 1);
			assert_int_equal(EVP_EncryptUpdate(cx, ref, &n1, msg, (int)len), 1);
			assert_int_equal(EVP_EncryptFinal_ex(cx, ref + n1, &n2), 1);
			EVP_CIPHER_CTX_free(cx);
			assert_int_equal(mtk_cbc_crypt(ciphers[c].nid, false, key, iv, msg, len, &enc), MTK_OK);
			assert_int_equal(enc.len, (size_t)(n1 + n2));
			assert_memory_equal(enc.data, ref, enc.len);
			assert_int_equal(mtk_cbc_crypt(ciphers[c].nid, true, key, iv, enc.data, enc.len, &dec),
					 MTK_OK);
			assert_int_equal(dec.len, len);
			if (len > 0)
				assert_memory_equal(dec.data, msg, len);
			/* a wrong key: the padding almost never checks; when it
			 * does by chance, the plaintext differs */
			key[0] ^= 0x80; /* not a DES parity bit */
			if (mtk_cbc_crypt(ciphers[c].nid, true, key, iv, enc.data, enc.len, &dec) == MTK_OK)
				assert_true(dec.len != len || memcmp(dec.data, msg, len) != 0);
			key[0] ^= 0x80; /* not a DES parity bit */
			/* not whole blocks */
			assert_int_equal(mtk_cbc_crypt(ciphers[c].nid, true, key, iv, enc.data, enc.len - 1, &dec),
					 MTK_E_BAD_PASSWORD);
			mtk_buf_free(&enc);
			mtk_buf_free(&dec);
		}
		{
			/* padding byte 0, and a padding byte larger than the block */
			mtk_buf enc = MTK_BUF_INIT, dec = MTK_BUF_SECRET_INIT;
			uint8_t blk[16];

			for (int bad = 0; bad < 2; bad++) {
				memset(blk, bad ? bs + 1 : 0, (size_t)bs);
				/* encrypting whole blocks adds a padding block: drop it
				 * to get a ciphertext whose last plaintext block is blk */
				assert_int_equal(mtk_cbc_crypt(ciphers[c].nid, false, key, iv, blk, (size_t)bs,
							       &enc),
						 MTK_OK);
				assert_int_equal(mtk_cbc_crypt(ciphers[c].nid, true, key, iv, enc.data, (size_t)bs,
							       &dec),
						 MTK_E_BAD_PASSWORD);
			}
			assert_int_equal(mtk_cbc_crypt(ciphers[c].nid, true, key, iv, enc.data, 0, &dec),
					 MTK_E_BAD_PASSWORD);
			mtk_buf_free(&enc);
			mtk_buf_free(&dec);
		}
	}
	{
		mtk_buf out = MTK_BUF_INIT;

		assert_int_equal(mtk_cbc_crypt(NID_rc2_cbc, true, key, iv, msg, 16, &out), MTK_E_UNSUPPORTED);
		mtk_buf_free(&out);
	}
}

static void test_garbage_is_unsupported(void **state)
{
	(void)state;
	uint8_t junk[64] = {0x30, 0x80, 0x02, 0x01, 0x03};
	mtk_buf out = MTK_BUF_SECRET_INIT;
	X509_ALGOR *alg = X509_ALGOR_new();

	/* no parameters, a null algorithm, nothing to decrypt */
	X509_ALGOR_set0(alg, OBJ_nid2obj(NID_pbes2), V_ASN1_UNDEF, NULL);
	assert_int_equal(mtk_pbe_decrypt(alg, "x", 1, junk, sizeof(junk), &out), MTK_E_UNSUPPORTED);
	assert_int_equal(mtk_pbe_decrypt(NULL, "x", 1, junk, sizeof(junk), &out), MTK_E_UNSUPPORTED);
	X509_ALGOR_set0(alg, OBJ_nid2obj(NID_pbe_WithSHA1And3_Key_TripleDES_CBC), V_ASN1_NULL, NULL);
	assert_int_equal(mtk_pbe_decrypt(alg, "x", 1, junk, sizeof(junk), &out), MTK_E_UNSUPPORTED);
	X509_ALGOR_free(alg);
	mtk_buf_free(&out);
	assert_int_equal(mtk_p12_mac_check(NULL, junk, sizeof(junk), "x", 1), MTK_E_UNSUPPORTED);
}

/* Encryption in place after a prefix, for each algorithm the fast path
 * runs: OpenSSL's PKCS12_pbe_crypt_ex gives the same ciphertext, the block
 * size tells its length, and the prefix is left alone; an algorithm it does
 * not run has block size 0 and is refused. */
static void test_encrypt_tail(void **state)
{
	static const uint8_t salt[8] = {9, 8, 7, 6, 5, 4, 3, 2};
	const struct {
		const EVP_CIPHER *cipher; /* PBES2, or NULL: pbe_nid */
		int pbe_nid, prf;
	} alg_cases[] = {
	    {EVP_aes_256_cbc(), 0, NID_hmacWithSHA256},
	    {EVP_aes_128_cbc(), 0, NID_hmacWithSHA1},
	    {EVP_des_ede3_cbc(), 0, NID_hmacWithSHA512},
	    {NULL, NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 0},
	};
	uint8_t plain[100];

	(void)state;
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7);
	for (size_t c = 0; c < sizeof(alg_cases) / sizeof(alg_cases[0]); c++) {
		for (size_t n = 0; n <= 33; n += 11) {
			X509_ALGOR *alg =
			    alg_cases[c].cipher != NULL
				? PKCS5_pbe2_set_iv(alg_cases[c].cipher, 1000,
						    (unsigned char *)salt, sizeof(salt), NULL,
						    alg_cases[c].prf)
				: PKCS5_pbe_set(alg_cases[c].pbe_nid, 1000, salt, sizeof(salt));
			mtk_buf b = MTK_BUF_INIT;
			unsigned char *ct = NULL;
			int ctlen = 0;
			size_t bs;

			assert_non_null(alg);
			assert_true((bs = mtk_pbe_block_size(alg)) > 0);
			assert_int_equal(mtk_buf_append(&b, "head", 4), MTK_OK);
			assert_int_equal(mtk_buf_append(&b, plain, n), MTK_OK);
			assert_int_equal(mtk_pbe_encrypt_tail(alg, "pässword", 9, &b, 4), MTK_OK);
			assert_non_null(
			    PKCS12_pbe_crypt(alg, "pässword", 9, plain, (int)n, &ct, &ctlen, 1));
			assert_int_equal(b.len - 4, (size_t)ctlen);
			assert_int_equal((size_t)ctlen, (n / bs + 1) * bs);
			assert_memory_equal(b.data, "head", 4);
			assert_memory_equal(b.data + 4, ct, (size_t)ctlen);
			assert_int_equal(mtk_pbe_encrypt_tail(alg, "x", 1, &b, b.len + 1),
					 MTK_E_INVALID_ARG);
			OPENSSL_free(ct);
			mtk_buf_free(&b);
			X509_ALGOR_free(alg);
		}
	}
	{
		X509_ALGOR *rc2 =
		    PKCS5_pbe_set(NID_pbe_WithSHA1And40BitRC2_CBC, 1000, salt, sizeof(salt));
		mtk_buf b = MTK_BUF_INIT;

		assert_non_null(rc2);
		assert_int_equal(mtk_pbe_block_size(rc2), 0);
		assert_int_equal(mtk_buf_append(&b, plain, 16), MTK_OK);
		assert_int_equal(mtk_pbe_encrypt_tail(rc2, "x", 1, &b, 0), MTK_E_UNSUPPORTED);
		mtk_buf_free(&b);
		X509_ALGOR_free(rc2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pbkdf2_matches_openssl),
	    cmocka_unit_test(test_pkcs12_kdf_matches_openssl),
	    cmocka_unit_test(test_pbe_decrypt_algorithms),
	    cmocka_unit_test(test_pfx_mac_and_safes),
	    cmocka_unit_test(test_md5_chain),
	    cmocka_unit_test(test_cbc_matches_evp),
	    cmocka_unit_test(test_garbage_is_unsupported),
	    cmocka_unit_test(test_encrypt_tail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
