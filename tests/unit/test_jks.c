/* test_jks.c - JKS, JCEKS and PKCS12 keystores: round trips, a hand-built
 * version-1 JKS, keytool-made stores, and every kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mtlskit/buf.h"
#include "mtlskit/file.h"
#include "mtlskit/keystore.h"
#include "mtlskit/mid.h"
#include "mtlskit/load.h"

#include "../../lib/keystore/ks_int.h"

static mtk_secret CHANGEIT = {(char *)"changeit", 8};
static mtk_secret OTHER = {(char *)"otherpw1", 8};
static mtk_secret KEYPW = {(char *)"keypass1", 8};

/* A key and a self-signed certificate for it. */
static void make_pair(const char *cn, EVP_PKEY **key, X509 **cert)
{
	mtk_err err = {0};
	char dn[128];

	snprintf(dn, sizeof(dn), "CN=%s, O=Test", cn);
	assert_int_equal(mtk_ks_genkey("EC", 256, key, &err), MTK_OK);
	assert_int_equal(mtk_ks_selfsign(*key, dn, 30, (time_t)1767225600, cert, &err), MTK_OK);
}

/* A certificate for key's public key issued by (ca_key, ca_cert). */
static X509 *issue(EVP_PKEY *key, const char *cn, EVP_PKEY *ca_key, X509 *ca_cert, bool ca)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	time_t now = 1767225600;

	assert_non_null(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, X509_get_subject_name(ca_cert));
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now);
	X509_time_adj_ex(X509_getm_notAfter(x), 30, 0, &now);
	X509_set_pubkey(x, key);
	if (ca) {
		X509_EXTENSION *ext =
		    X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	X509_NAME_free(nm);
	return x;
}

static STACK_OF(X509) * one(X509 *x)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	sk_X509_push(s, x);
	return s;
}

static void read_src(const char *rel, mtk_buf *b)
{
	char path[1024];
	const char *src = getenv("MTLSKIT_SRC");
	mtk_err err = {0};

	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	assert_int_equal(mtk_file_read(path, 0, b, &err), MTK_OK);
}

static void test_roundtrip_jks(void **state)
{
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) * chain;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_keystore *ks = NULL;
	mtk_err err = {0};
	(void)state;

	make_pair("rt.example.com", &key, &cert);
	chain = one(cert);
	assert_int_equal(mtk_keystore_write_key(MTK_KS_JKS, "MyKey", key, chain, 1767225600000LL,
						&CHANGEIT, NULL, &out, &err),
			 MTK_OK);
	assert_memory_equal(out.data, "\xFE\xED\xFE\xED\x00\x00\x00\x02\x00\x00\x00\x01", 12);
	assert_int_equal(
	    mtk_keystore_decode(out.data, out.len, "rt", &CHANGEIT, NULL, 0, &ks, &err), MTK_OK);
	assert_int_equal(ks->type, MTK_KS_JKS);
	assert_true(ks->verified);
	assert_int_equal(ks->count, 1);
	/* Aliases are written lower-case: Java looks them up lower-cased. */
	assert_string_equal(ks->entries[0].alias, "mykey");
	assert_int_equal(ks->entries[0].kind, MTK_KSE_KEY);
	assert_int_equal(ks->entries[0].protection, MTK_KSP_JKS);
	assert_int_equal(ks->entries[0].date_ms, 1767225600000LL);
	assert_non_null(ks->entries[0].key);
	assert_int_equal(EVP_PKEY_eq(ks->entries[0].key, key), 1);
	assert_int_equal(X509_cmp(sk_X509_value(ks->entries[0].chain, 0), cert), 0);
	assert_int_equal(mtk_keystore_find(ks, "MYKEY"), 0);
	mtk_keystore_free(ks);
	mtk_buf_free(&out);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
}

static void test_wrong_store_password(void **state)
{
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) * chain;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_keystore *ks = NULL;
	mtk_err err = {0};
	(void)state;

	make_pair("pw.example.com", &key, &cert);
	chain = one(cert);
	assert_int_equal(
	    mtk_keystore_write_key(MTK_KS_JCEKS, NULL, key, chain, 0, &CHANGEIT, NULL, &out, &err),
	    MTK_OK);
	assert_int_equal(
	    mtk_keystore_decode(out.data, out.len, "pw.jceks", &OTHER, NULL, 0, &ks, &err),
	    MTK_E_INTEGRITY);
	assert_null(ks);
	assert_non_null(
	    strstr(err.detail, "keystore password is incorrect or the file was altered"));
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "pw", NULL, NULL, 0, &ks, &err),
			 MTK_E_PASSWORD_NEEDED);
	/* Structure without the password. */
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "pw", NULL, NULL,
					     MTK_KS_READ_UNVERIFIED, &ks, &err),
			 MTK_OK);
	assert_false(ks->verified);
	assert_int_equal(ks->count, 1);
	assert_string_equal(ks->entries[0].alias, "mykey");
	assert_int_equal(ks->locked_keys, 1);
	mtk_keystore_free(ks);
	mtk_buf_free(&out);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
}

static void test_key_password_differs(void **state)
{
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) * chain;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_keystore *ks = NULL;
	mtk_err err = {0};
	(void)state;

	make_pair("kp.example.com", &key, &cert);
	chain = one(cert);
	for (int t = 0; t < 2; t++) {
		mtk_ks_type type = t == 0 ? MTK_KS_JKS : MTK_KS_JCEKS;
		assert_int_equal(
		    mtk_keystore_write_key(type, "k", key, chain, 0, &CHANGEIT, &KEYPW, &out, &err),
		    MTK_OK);
		assert_int_equal(
		    mtk_keystore_decode(out.data, out.len, "kp", &CHANGEIT, NULL, 0, &ks, &err),
		    MTK_OK);
		assert_int_equal(ks->locked_keys, 1);
		assert_null(ks->entries[0].key);
		assert_int_equal(mtk_keystore_unlock(ks, 0, &OTHER, &err), MTK_E_KEY_PASSWORD);
		mtk_err_clear(&err);
		assert_int_equal(mtk_keystore_unlock(ks, 0, &KEYPW, &err), MTK_OK);
		assert_int_equal(EVP_PKEY_eq(ks->entries[0].key, key), 1);
		/* The locked stored form survives a rewrite byte for byte. */
		mtk_keystore_free(ks);
		assert_int_equal(
		    mtk_keystore_decode(out.data, out.len, "kp", &CHANGEIT, &KEYPW, 0, &ks, &err),
		    MTK_OK);
		assert_int_equal(ks->locked_keys, 0);
		mtk_keystore_free(ks);
	}
	/* Java refuses non-ASCII JCEKS key passwords: so do we, on write. */
	{
		mtk_secret uml = {(char *)"p\xc3\xa4sswort", 9};
		assert_int_equal(mtk_keystore_write_key(MTK_KS_JCEKS, "k", key, chain, 0, &CHANGEIT,
							&uml, &out, &err),
				 MTK_E_INVALID_ARG);
	}
	mtk_buf_free(&out);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
}

/* Java's writeUTF of an ASCII string. */
static void put_utf(mtk_buf *b, const char *s)
{
	assert_int_equal(mtk_buf_append_u16be(b, (uint16_t)strlen(s)), MTK_OK);
	assert_int_equal(mtk_buf_append_str(b, s), MTK_OK);
}

static void put_cert(mtk_buf *b, X509 *x, bool v2)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	if (v2)
		put_utf(b, "X.509");
	assert_int_equal(mtk_buf_append_u32be(b, (uint32_t)n), MTK_OK);
	assert_int_equal(mtk_buf_append(b, der, (size_t)n), MTK_OK);
	OPENSSL_free(der);
}

static void put_digest(mtk_buf *b, const mtk_secret *pw)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t d[20];

	EVP_DigestInit_ex(md, EVP_sha1(), NULL);
	for (size_t i = 0; i < pw->len; i++) {
		uint8_t u[2] = {0, (uint8_t)pw->s[i]};
		EVP_DigestUpdate(md, u, 2);
	}
	EVP_DigestUpdate(md, "Mighty Aphrodite", 16);
	EVP_DigestUpdate(md, b->data, b->len);
	EVP_DigestFinal_ex(md, d, NULL);
	EVP_MD_CTX_free(md);
	assert_int_equal(mtk_buf_append(b, d, 20), MTK_OK);
}

static void test_version1_by_hand(void **state)
{
	EVP_PKEY *key;
	X509 *cert, *ca;
	EVP_PKEY *cakey;
	STACK_OF(X509) * chain;
	mtk_buf v2 = MTK_BUF_SECRET_INIT, v1 = MTK_BUF_INIT;
	mtk_keystore *ks = NULL;
	mtk_err err = {0};
	(void)state;

	make_pair("v1.example.com", &key, &cert);
	make_pair("trusted.example.com", &cakey, &ca);
	chain = one(cert);
	/* Borrow a Sun-KeyProtector-protected key from a v2 store we write. */
	assert_int_equal(
	    mtk_keystore_write_key(MTK_KS_JKS, "x", key, chain, 0, &CHANGEIT, NULL, &v2, &err),
	    MTK_OK);
	assert_int_equal(mtk_keystore_decode(v2.data, v2.len, "v2", &CHANGEIT, NULL,
					     MTK_KS_READ_NO_KEYS, &ks, &err),
			 MTK_OK);
	/* Version 1: no "X.509" type strings. */
	assert_int_equal(mtk_buf_append_u32be(&v1, 0xFEEDFEED), MTK_OK);
	assert_int_equal(mtk_buf_append_u32be(&v1, 1), MTK_OK);
	assert_int_equal(mtk_buf_append_u32be(&v1, 2), MTK_OK);
	assert_int_equal(mtk_buf_append_u32be(&v1, 1), MTK_OK);
	put_utf(&v1, "v1key");
	assert_int_equal(mtk_buf_append_u64be(&v1, 1000), MTK_OK);
	assert_int_equal(mtk_buf_append_u32be(&v1, (uint32_t)ks->entries[0].protected_len), MTK_OK);
	assert_int_equal(
	    mtk_buf_append(&v1, ks->entries[0].protected_key, ks->entries[0].protected_len),
	    MTK_OK);
	assert_int_equal(mtk_buf_append_u32be(&v1, 1), MTK_OK);
	put_cert(&v1, cert, false);
	assert_int_equal(mtk_buf_append_u32be(&v1, 2), MTK_OK);
	put_utf(&v1, "ca");
	assert_int_equal(mtk_buf_append_u64be(&v1, 2000), MTK_OK);
	put_cert(&v1, ca, false);
	put_digest(&v1, &CHANGEIT);
	mtk_keystore_free(ks);
	ks = NULL;

	assert_int_equal(
	    mtk_keystore_decode(v1.data, v1.len, "v1.jks", &CHANGEIT, NULL, 0, &ks, &err), MTK_OK);
	assert_int_equal(ks->version, 1);
	assert_int_equal(ks->count, 2);
	assert_string_equal(ks->entries[0].alias, "v1key");
	assert_int_equal(EVP_PKEY_eq(ks->entries[0].key, key), 1);
	assert_int_equal(ks->entries[1].kind, MTK_KSE_TRUSTED);
	assert_int_equal(X509_cmp(sk_X509_value(ks->entries[1].chain, 0), ca), 0);
	assert_int_equal(ks->entries[1].date_ms, 2000);
	/* Written back, it becomes version 2 with the same entries. */
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_JKS, &CHANGEIT, NULL, &v2, &err), MTK_OK);
	mtk_keystore_free(ks);
	assert_int_equal(mtk_keystore_decode(v2.data, v2.len, "v2", &CHANGEIT, NULL, 0, &ks, &err),
			 MTK_OK);
	assert_int_equal(ks->version, 2);
	assert_int_equal(ks->count, 2);
	assert_int_equal(EVP_PKEY_eq(ks->entries[0].key, key), 1);

	/* Truncated at every length: an error, never a crash or success. */
	for (size_t n = 0; n < v1.len; n++) {
		mtk_keystore *t = NULL;
		mtk_rc rc = mtk_keystore_decode(v1.data, n, "t", &CHANGEIT, NULL, 0, &t, NULL);
		assert_true(rc == MTK_E_TRUNCATED || rc == MTK_E_KEYSTORE ||
			    rc == MTK_E_UNKNOWN_FORMAT);
		assert_null(t);
	}
	/* A flipped date byte: the digest no longer matches. */
	v1.data[40] ^= 1;
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_decode(v1.data, v1.len, "t", &CHANGEIT, NULL, 0, &ks, &err),
			 MTK_E_INTEGRITY);

	mtk_keystore_free(ks);
	mtk_buf_free(&v1);
	mtk_buf_free(&v2);
	sk_X509_pop_free(chain, X509_free);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
}

static void hdr(mtk_buf *b, uint32_t magic, uint32_t count)
{
	b->len = 0;
	assert_int_equal(mtk_buf_append_u32be(b, magic), MTK_OK);
	assert_int_equal(mtk_buf_append_u32be(b, 2), MTK_OK);
	assert_int_equal(mtk_buf_append_u32be(b, count), MTK_OK);
}

static void test_bad_inputs(void **state)
{
	EVP_PKEY *k1, *k2;
	X509 *c1, *c2;
	mtk_buf b = MTK_BUF_INIT;
	mtk_keystore *ks = NULL;
	mtk_err err = {0};
	(void)state;

	make_pair("one.example.com", &k1, &c1);
	make_pair("two.example.com", &k2, &c2);

	/* Unknown tag. */
	hdr(&b, 0xFEEDFEED, 1);
	assert_int_equal(mtk_buf_append_u32be(&b, 7), MTK_OK);
	put_utf(&b, "x");
	assert_int_equal(mtk_buf_append_u64be(&b, 0), MTK_OK);
	put_digest(&b, &CHANGEIT);
	assert_int_equal(mtk_keystore_decode(b.data, b.len, "t", &CHANGEIT, NULL, 0, &ks, &err),
			 MTK_E_KEYSTORE_TAG);
	assert_non_null(strstr(err.detail, "Unrecognized keystore entry: 7"));
	/* Tag 3 is a JCEKS secret key: not valid in JKS. */
	b.data[15] = 3;
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_decode(b.data, b.len, "t", &CHANGEIT, NULL, 0, &ks, &err),
			 MTK_E_KEYSTORE_TAG);

	/* An absurd count is refused before anything is allocated. */
	hdr(&b, 0xFEEDFEED, 0x7FFFFFFF);
	put_digest(&b, &CHANGEIT);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_decode(b.data, b.len, "t", &CHANGEIT, NULL, 0, &ks, &err),
			 MTK_E_KEYSTORE);

	/* An absurd certificate length. */
	hdr(&b, 0xFEEDFEED, 1);
	assert_int_equal(mtk_buf_append_u32be(&b, 2), MTK_OK);
	put_utf(&b, "x");
	assert_int_equal(mtk_buf_append_u64be(&b, 0), MTK_OK);
	put_utf(&b, "X.509");
	assert_int_equal(mtk_buf_append_u32be(&b, 0xFFFFFFF0u), MTK_OK);
	put_digest(&b, &CHANGEIT);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_decode(b.data, b.len, "t", &CHANGEIT, NULL, 0, &ks, &err),
			 MTK_E_TRUNCATED);

	/* 4-byte UTF-8 in an alias (Java's readUTF refuses it). */
	hdr(&b, 0xFEEDFEED, 1);
	assert_int_equal(mtk_buf_append_u32be(&b, 2), MTK_OK);
	assert_int_equal(mtk_buf_append_u16be(&b, 4), MTK_OK);
	assert_int_equal(mtk_buf_append(&b, "\xF0\x9F\x98\x80", 4), MTK_OK);
	assert_int_equal(mtk_buf_append_u64be(&b, 0), MTK_OK);
	put_cert(&b, c1, true);
	put_digest(&b, &CHANGEIT);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_decode(b.data, b.len, "t", &CHANGEIT, NULL, 0, &ks, &err),
			 MTK_E_KEYSTORE);
	assert_non_null(strstr(err.detail, "4-byte"));

	/* The same character as Java writes it (surrogates, 3+3 bytes) reads. */
	hdr(&b, 0xFEEDFEED, 1);
	assert_int_equal(mtk_buf_append_u32be(&b, 2), MTK_OK);
	assert_int_equal(mtk_buf_append_u16be(&b, 6), MTK_OK);
	assert_int_equal(mtk_buf_append(&b, "\xED\xA0\xBD\xED\xB8\x80", 6), MTK_OK);
	assert_int_equal(mtk_buf_append_u64be(&b, 0), MTK_OK);
	put_cert(&b, c1, true);
	put_digest(&b, &CHANGEIT);
	assert_int_equal(mtk_keystore_decode(b.data, b.len, "t", &CHANGEIT, NULL, 0, &ks, &err),
			 MTK_OK);
	assert_string_equal(ks->entries[0].alias, "\xF0\x9F\x98\x80");
	mtk_keystore_free(ks);
	ks = NULL;

	/* Duplicate aliases: the later entry replaces the earlier one. */
	hdr(&b, 0xFEEDFEED, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mtk_buf_append_u32be(&b, 2), MTK_OK);
		put_utf(&b, "dup");
		assert_int_equal(mtk_buf_append_u64be(&b, (uint64_t)i), MTK_OK);
		put_cert(&b, i == 0 ? c1 : c2, true);
	}
	put_digest(&b, &CHANGEIT);
	assert_int_equal(mtk_keystore_decode(b.data, b.len, "t", &CHANGEIT, NULL, 0, &ks, &err),
			 MTK_OK);
	assert_int_equal(ks->count, 1);
	assert_int_equal(X509_cmp(sk_X509_value(ks->entries[0].chain, 0), c2), 0);
	assert_int_equal(ks->entries[0].date_ms, 1);

	/* Writing a non-ASCII alias is refused with a clear error. */
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_add_trusted(ks, "caf\xc3\xa9", c1, 0, &err),
			 MTK_E_INVALID_ARG);
	assert_non_null(strstr(err.detail, "ASCII"));
	mtk_keystore_free(ks);
	ks = NULL;

	/* Not a keystore at all. */
	assert_int_equal(mtk_keystore_decode((const uint8_t *)"hello world", 11, "t", &CHANGEIT,
					     NULL, 0, &ks, NULL),
			 MTK_E_UNKNOWN_FORMAT);

	mtk_buf_free(&b);
	X509_free(c1);
	X509_free(c2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

/* The checked-in JCEKS that keytool 17 made: an RSA key (store password
 * storepw1), an AES-256 secret key (keytool -genseckey) and a trusted cert. */
static void test_keytool_jceks(void **state)
{
	mtk_buf in = MTK_BUF_INIT, out = MTK_BUF_SECRET_INIT;
	mtk_secret pw = {(char *)"storepw1", 8};
	mtk_keystore *ks = NULL, *ks2 = NULL;
	mtk_err err = {0};
	long s;
	(void)state;

	read_src("tests/fuzz/corpus/jceks/keytool-mix.jceks", &in);
	assert_int_equal(mtk_keystore_decode(in.data, in.len, "mix", &pw, NULL, 0, &ks, &err),
			 MTK_OK);
	assert_int_equal(ks->type, MTK_KS_JCEKS);
	assert_int_equal(ks->count, 3);
	assert_int_equal(ks->locked_keys, 0);
	assert_true(mtk_keystore_find(ks, "rsakey") >= 0);
	assert_int_equal(ks->entries[mtk_keystore_find(ks, "rsakey")].protection, MTK_KSP_JCEKS);
	s = mtk_keystore_find(ks, "aeskey");
	assert_true(s >= 0);
	assert_int_equal(ks->entries[s].kind, MTK_KSE_SECRET);
	assert_string_equal(ks->entries[s].secret_alg, "AES");
	assert_int_equal(ks->entries[s].secret_bits, 256);
	assert_int_equal(ks->entries[mtk_keystore_find(ks, "trusted1")].kind, MTK_KSE_TRUSTED);

	/* Rewritten under the same password, the secret key's bytes are kept
	 * exactly (sealed again with the same salt: the same bytes). */
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_JCEKS, &pw, NULL, &out, &err), MTK_OK);
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "out", &pw, NULL,
					     MTK_KS_READ_NO_KEYS, &ks2, &err),
			 MTK_OK);
	{
		long s2 = mtk_keystore_find(ks2, "aeskey");
		assert_true(s2 >= 0);
		assert_int_equal(ks2->entries[s2].secret_raw_len, ks->entries[s].secret_raw_len);
		assert_memory_equal(ks2->entries[s2].secret_raw, ks->entries[s].secret_raw,
				    ks->entries[s].secret_raw_len);
	}
	mtk_keystore_free(ks2);
	ks2 = NULL;
	/* Under a new password it is sealed again: the new password opens it. */
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_JCEKS, &CHANGEIT, NULL, &out, &err),
			 MTK_OK);
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "out", &CHANGEIT, NULL,
					     MTK_KS_READ_NO_KEYS, &ks2, &err),
			 MTK_OK);
	{
		long s2 = mtk_keystore_find(ks2, "aeskey");
		assert_true(s2 >= 0);
		assert_string_equal(ks2->entries[s2].secret_alg, "AES");
		assert_int_equal(ks2->entries[s2].secret_bits, 256);
	}
	mtk_keystore_free(ks2);
	ks2 = NULL;
	/* Converted to the same type under a new password, every key opens
	 * with the new password (the stored bytes were under the old one). */
	assert_int_equal(mtk_keystore_convert(ks, MTK_KS_JCEKS, &CHANGEIT, NULL, &out, &err), MTK_OK);
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "out", &CHANGEIT, NULL, 0, &ks2, &err),
			 MTK_OK);
	assert_int_equal(ks2->locked_keys, 0);
	assert_non_null(ks2->entries[mtk_keystore_find(ks2, "rsakey")].key);
	assert_string_equal(ks2->entries[mtk_keystore_find(ks2, "aeskey")].secret_alg, "AES");
	/* The secret key cannot go to JKS; PKCS12 keeps it as Java does. */
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_convert(ks, MTK_KS_JKS, &CHANGEIT, NULL, &out, &err),
			 MTK_E_INVALID_ARG);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_convert(ks, MTK_KS_PKCS12, &CHANGEIT, NULL, &out, &err),
			 MTK_OK);

	mtk_keystore_free(ks);
	mtk_keystore_free(ks2);
	mtk_buf_free(&in);
	mtk_buf_free(&out);
}

static void test_convert_and_pkcs12(void **state)
{
	EVP_PKEY *key, *cakey;
	X509 *cert, *ca;
	STACK_OF(X509) * chain;
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_JKS), *k2 = NULL, *k3 = NULL;
	mtk_buf a = MTK_BUF_SECRET_INIT, b = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};
	(void)state;

	make_pair("ca.example.com", &cakey, &ca);
	assert_int_equal(mtk_ks_genkey("RSA", 2048, &key, &err), MTK_OK);
	cert = issue(key, "leaf.example.com", cakey, ca, false);
	chain = sk_X509_new_null();
	sk_X509_push(chain, cert);
	sk_X509_push(chain, ca);
	X509_up_ref(ca);
	assert_int_equal(mtk_keystore_add_key(ks, "Leaf", key, chain, 5000, &err), MTK_OK);
	assert_int_equal(mtk_keystore_add_trusted(ks, "root", ca, 6000, &err), MTK_OK);

	assert_int_equal(mtk_keystore_convert(ks, MTK_KS_JCEKS, &CHANGEIT, NULL, &a, &err), MTK_OK);
	assert_int_equal(mtk_keystore_decode(a.data, a.len, "a", &CHANGEIT, NULL, 0, &k2, &err),
			 MTK_OK);
	assert_int_equal(k2->type, MTK_KS_JCEKS);
	assert_int_equal(k2->entries[0].protection, MTK_KSP_JCEKS);
	assert_int_equal(EVP_PKEY_eq(k2->entries[0].key, key), 1);

	assert_int_equal(mtk_keystore_convert(k2, MTK_KS_PKCS12, &CHANGEIT, NULL, &b, &err),
			 MTK_OK);
	assert_int_equal(mtk_ks_detect(b.data, b.len), MTK_KS_PKCS12);
	assert_int_equal(mtk_keystore_decode(b.data, b.len, "b", &CHANGEIT, NULL, 0, &k3, &err),
			 MTK_OK);
	assert_int_equal(k3->count, 2);
	assert_string_equal(k3->p12_mac, "sha256");
	{
		long l = mtk_keystore_find(k3, "leaf"), r = mtk_keystore_find(k3, "root");
		assert_true(l >= 0 && r >= 0);
		assert_int_equal(k3->entries[l].kind, MTK_KSE_KEY);
		assert_int_equal(sk_X509_num(k3->entries[l].chain), 2);
		assert_int_equal(X509_cmp(sk_X509_value(k3->entries[l].chain, 1), ca), 0);
		assert_int_equal(EVP_PKEY_eq(k3->entries[l].key, key), 1);
		assert_int_equal(k3->entries[l].date_ms, 5000);
		/* Oracle's trusted attribute made it a trusted entry. */
		assert_int_equal(k3->entries[r].kind, MTK_KSE_TRUSTED);
	}
	mtk_keystore_free(k2);
	k2 = NULL;
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_decode(b.data, b.len, "b", &OTHER, NULL, 0, &k2, &err),
			 MTK_E_INTEGRITY);
	assert_null(k2);

	mtk_keystore_free(ks);
	mtk_keystore_free(k3);
	mtk_buf_free(&a);
	mtk_buf_free(&b);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	X509_free(ca);
}

static void test_install_reply(void **state)
{
	EVP_PKEY *key, *cakey, *other;
	X509 *self, *ca, *signed_cert, *wrong, *oself;
	STACK_OF(X509) * chain, *reply;
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_JKS);
	mtk_err err = {0};
	bool trusted = false;
	(void)state;

	make_pair("leaf.example.com", &key, &self);
	make_pair("ca.example.com", &cakey, &ca);
	make_pair("other.example.com", &other, &oself);
	chain = one(self);
	assert_int_equal(mtk_keystore_add_key(ks, "k", key, chain, 0, &err), MTK_OK);
	signed_cert = issue(key, "leaf.example.com", cakey, ca, false);
	wrong = issue(other, "other.example.com", cakey, ca, false);

	reply = one(wrong);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &trusted, &err),
			 MTK_E_KEY_MISMATCH);
	assert_string_equal(err.detail, "Public keys in reply and keystore don't match");
	sk_X509_free(reply);

	reply = one(self);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &trusted, &err), MTK_E_KS_REPLY);
	assert_string_equal(err.detail,
			    "Certificate reply and certificate in keystore are identical");
	sk_X509_free(reply);

	reply = one(signed_cert);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &trusted, &err), MTK_E_KS_REPLY);
	/* keytool's words first, then the issuer it could not find */
	assert_non_null(strstr(err.detail, "Failed to establish chain from reply: the issuer "
					   "'CN=ca.example.com,O=Test' of 'CN=leaf.example.com'"));
	/* With the CA as a trusted entry, the chain is built from it. */
	assert_int_equal(mtk_keystore_add_trusted(ks, "ca", ca, 0, &err), MTK_OK);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &trusted, &err), MTK_OK);
	assert_true(trusted);
	assert_int_equal(sk_X509_num(ks->entries[0].chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(ks->entries[0].chain, 1), ca), 0);
	sk_X509_free(reply);

	/* A multi-certificate reply in the wrong order is reordered. */
	reply = sk_X509_new_null();
	sk_X509_push(reply, ca);
	sk_X509_push(reply, signed_cert);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &trusted, &err), MTK_OK);
	assert_int_equal(X509_cmp(sk_X509_value(ks->entries[0].chain, 0), signed_cert), 0);
	sk_X509_free(reply);

	mtk_keystore_free(ks);
	sk_X509_pop_free(chain, X509_free);
	X509_free(ca);
	X509_free(signed_cert);
	X509_free(wrong);
	X509_free(oself);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(other);
}

/* The alias table: case-insensitive lookups at 3,000 entries, a replaced
 * alias keeps its place, removal renumbers, and a JKS and a PKCS12 round
 * trip find every alias again. */
static void test_alias_table(void **state)
{
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_JKS), *back = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};
	char alias[32];
	const size_t n = 3000;

	(void)state;
	make_pair("Alias Table", &key, &cert);
	for (size_t i = 0; i < n; i++) {
		snprintf(alias, sizeof(alias), "Entry-%zu", i);
		assert_int_equal(mtk_keystore_add_trusted(ks, alias, cert, 0, &err), MTK_OK);
	}
	assert_int_equal(ks->count, n);
	assert_int_equal(mtk_keystore_find(ks, "ENTRY-0"), 0);
	assert_int_equal(mtk_keystore_find(ks, "entry-2999"), 2999);
	assert_int_equal(mtk_keystore_find(ks, "entry-3000"), -1);
	/* Replacing keeps the place. */
	assert_int_equal(mtk_keystore_add_trusted(ks, "ENTRY-10", cert, 5, &err), MTK_OK);
	assert_int_equal(ks->count, n);
	assert_int_equal(mtk_keystore_find(ks, "entry-10"), 10);
	assert_int_equal(ks->entries[10].date_ms, 5);
	/* Removal moves the later entries down by one. */
	mtk_keystore_remove(ks, 5);
	assert_int_equal(mtk_keystore_find(ks, "entry-5"), -1);
	assert_int_equal(mtk_keystore_find(ks, "entry-6"), 5);
	assert_int_equal(mtk_keystore_find(ks, "entry-2999"), (long)n - 2);
	/* Many removals (the table is mended in place, not rebuilt): every
	 * alias left is found at its new place, none removed is found. */
	{
		mtk_keystore *m = mtk_keystore_new(MTK_KS_JKS);
		size_t left;
		for (size_t i = 0; i < 1000; i++) {
			snprintf(alias, sizeof(alias), "m-%zu", i);
			assert_int_equal(mtk_keystore_add_trusted(m, alias, cert, 0, &err), MTK_OK);
		}
		for (size_t k = 0; k < 300; k++)
			mtk_keystore_remove(m, (k * 7919) % m->count);
		left = m->count;
		assert_int_equal(left, 700);
		for (size_t i = 0; i < left; i++)
			assert_int_equal(mtk_keystore_find(m, m->entries[i].alias), (long)i);
		for (size_t i = 0, found = 0; i < 1000; i++) {
			snprintf(alias, sizeof(alias), "M-%zu", i);
			found += mtk_keystore_find(m, alias) >= 0;
			if (i == 999)
				assert_int_equal(found, left);
		}
		mtk_keystore_free(m);
	}
	/* Round trips. */
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_JKS, &CHANGEIT, NULL, &out, &err), MTK_OK);
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "t.jks", &CHANGEIT, NULL, 0, &back, &err),
			 MTK_OK);
	assert_int_equal(back->count, n - 1);
	assert_int_equal(mtk_keystore_find(back, "Entry-1234"), 1233);
	mtk_keystore_free(back);
	back = NULL;
	out.len = 0;
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_PKCS12, &CHANGEIT, NULL, &out, &err), MTK_OK);
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "t.p12", &CHANGEIT, NULL, 0, &back, &err),
			 MTK_OK);
	assert_int_equal(back->count, n - 1);
	assert_true(mtk_keystore_find(back, "entry-1234") >= 0);
	assert_int_equal(mtk_keystore_find(back, "entry-5"), -1);
	mtk_keystore_free(back);
	mtk_buf_free(&out);
	mtk_keystore_free(ks);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* A store read lazily keeps its certificates as bytes: keytool's own files
 * (JKS with a key and a trusted entry, JCEKS with a secret key) come back
 * byte for byte when written unchanged; after a removal the rest is still
 * the same bytes, and fingerprints from the bytes equal OpenSSL's. */
static void test_lazy_byte_for_byte(void **state)
{
	static const struct {
		const char *file;
		mtk_secret *pw;
	} stores[] = {
	    {"tests/fuzz/corpus/jks/keytool-rsa-trusted.jks", &CHANGEIT},
	    {"tests/fuzz/corpus/jks/keytool-ec.jks", &CHANGEIT},
	};
	(void)state;
	for (size_t k = 0; k < sizeof(stores) / sizeof(stores[0]); k++) {
		mtk_buf in = MTK_BUF_INIT, out = MTK_BUF_SECRET_INIT;
		mtk_keystore *lazy = NULL, *full = NULL;
		mtk_err err = {0};

		read_src(stores[k].file, &in);
		assert_int_equal(mtk_keystore_decode(in.data, in.len, "t", stores[k].pw, NULL,
						     MTK_KS_READ_LAZY | MTK_KS_READ_NO_KEYS, &lazy,
						     &err),
				 MTK_OK);
		assert_int_equal(mtk_keystore_decode(in.data, in.len, "t", stores[k].pw, NULL, 0,
						     &full, &err),
				 MTK_OK);
		assert_int_equal(lazy->count, full->count);
		for (size_t i = 0; i < lazy->count; i++) {
			mtk_ks_entry *e = &lazy->entries[i];
			unsigned char a[32], b[32];
			unsigned int n = 0;

			assert_null(e->chain);
			assert_int_equal(mtk_ks_entry_ncerts(e), sk_X509_num(full->entries[i].chain));
			if (mtk_ks_entry_ncerts(e) == 0)
				continue;
			assert_int_equal(mtk_ks_entry_sha256(e, 0, a), MTK_OK);
			assert_int_equal(X509_digest(sk_X509_value(full->entries[i].chain, 0),
						     EVP_sha256(), b, &n),
					 1);
			assert_memory_equal(a, b, 32);
		}
		/* Unchanged: the very same file (version 2 as keytool writes). */
		assert_int_equal(mtk_keystore_encode(lazy, lazy->type, stores[k].pw, NULL, &out, &err),
				 MTK_OK);
		assert_int_equal(out.len, in.len);
		assert_memory_equal(out.data, in.data, in.len);
		/* Decoding one entry on demand changes nothing written. */
		assert_non_null(mtk_keystore_chain(lazy, 0, &err));
		out.len = 0;
		assert_int_equal(mtk_keystore_encode(lazy, lazy->type, stores[k].pw, NULL, &out, &err),
				 MTK_OK);
		assert_memory_equal(out.data, in.data, in.len);
		mtk_buf_free(&out);
		mtk_buf_free(&in);
		mtk_keystore_free(lazy);
		mtk_keystore_free(full);
	}
}

/* SHA-1(UTF-16BE password || "Mighty Aphrodite" || body): re-seals a JKS
 * body patched by hand. */
static void reseal(uint8_t *data, size_t len, const char *pw)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t p16[64];
	size_t n = strlen(pw);

	for (size_t i = 0; i < n; i++) {
		p16[2 * i] = 0;
		p16[2 * i + 1] = (uint8_t)pw[i];
	}
	assert_true(EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1 &&
		    EVP_DigestUpdate(md, p16, 2 * n) == 1 &&
		    EVP_DigestUpdate(md, "Mighty Aphrodite", 16) == 1 &&
		    EVP_DigestUpdate(md, data, len - 20) == 1 &&
		    EVP_DigestFinal_ex(md, data + len - 20, NULL) == 1);
	EVP_MD_CTX_free(md);
}

/* Encodes ks to a fresh buffer. */
static void enc(const mtk_keystore *ks, mtk_buf *out)
{
	mtk_err err = {0};

	mtk_buf_free(out);
	*out = (mtk_buf)MTK_BUF_SECRET_INIT;
	assert_int_equal(mtk_keystore_encode(ks, ks->type, &CHANGEIT, NULL, out, &err), MTK_OK);
}

/* A store over 512 KiB has its digest taken on a second thread while the
 * entries are walked: the outcome is the one-thread outcome in every case.
 * Verified with the right password, refused with a wrong one or one byte
 * changed, and still verified with bytes after the digest (which every
 * reader ignores, so the digest is not at the end of the file). */
static void test_big_store_digest(void **state)
{
	static mtk_secret wrong = {(char *)"changeme", 8};
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_JKS), *got = NULL;
	mtk_buf a = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};
	char alias[32];

	(void)state;
	make_pair("Big store", &key, &cert);
	for (size_t i = 0; a.len < (600u << 10); i++) {
		for (size_t j = 0; j < 500; j++) {
			snprintf(alias, sizeof(alias), "ca-%06zu", i * 500 + j);
			assert_int_equal(mtk_keystore_add_trusted(ks, alias, cert, 1, &err),
					 MTK_OK);
		}
		enc(ks, &a);
	}
	for (int lazy = 0; lazy < 2; lazy++) {
		unsigned fl = lazy ? MTK_KS_READ_LAZY | MTK_KS_READ_NO_KEYS : MTK_KS_READ_NO_KEYS;
		mtk_buf t = MTK_BUF_INIT;

		assert_int_equal(
		    mtk_keystore_decode(a.data, a.len, "big", &CHANGEIT, NULL, fl, &got, &err),
		    MTK_OK);
		assert_true(got->verified);
		assert_int_equal(got->count, ks->count);
		mtk_keystore_free(got);
		got = NULL;
		assert_int_equal(
		    mtk_keystore_decode(a.data, a.len, "big", &wrong, NULL, fl, &got, &err),
		    MTK_E_INTEGRITY);
		assert_null(got);
		/* One byte of an entry's date (the first entry's, at 12 + 4 + 2 + 9). */
		assert_int_equal(mtk_buf_append(&t, a.data, a.len), MTK_OK);
		t.data[12 + 4 + 2 + 9 + 7] ^= 1;
		assert_int_equal(
		    mtk_keystore_decode(t.data, t.len, "big", &CHANGEIT, NULL, fl, &got, &err),
		    MTK_E_INTEGRITY);
		t.data[12 + 4 + 2 + 9 + 7] ^= 1;
		assert_int_equal(mtk_buf_append(&t, "tail", 4), MTK_OK);
		assert_int_equal(
		    mtk_keystore_decode(t.data, t.len, "big", &CHANGEIT, NULL, fl, &got, &err),
		    MTK_OK);
		assert_true(got->verified);
		mtk_keystore_free(got);
		got = NULL;
		mtk_buf_free(&t);
	}
	mtk_buf_free(&a);
	mtk_keystore_free(ks);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* The encoder that writes unchanged entries as their stored bytes (a lazily
 * read store) gives exactly what the field-by-field encoder gives (the same
 * store read in full, every entry rewritten from its fields): stores of 0,
 * 1, 10 and 1,000 trusted entries plus a key entry, JKS and JCEKS,
 * unchanged, after a removal and an addition, and through
 * mtk_keystore_save to a file.  A stored alias with capitals, which the
 * encoder writes lower-cased, is not taken as is. */
static void test_exact_encoder(void **state)
{
	static const size_t sizes[] = {0, 1, 10, 1000};
	static const mtk_ks_type types[] = {MTK_KS_JKS, MTK_KS_JCEKS};
	EVP_PKEY *key[2] = {NULL, NULL};
	X509 *cert[2] = {NULL, NULL};
	char dir[] = "/tmp/mtk-jks-XXXXXX", path[64], alias[32];
	mtk_err err = {0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	make_pair("Exact A", &key[0], &cert[0]);
	make_pair("Exact B", &key[1], &cert[1]);
	for (size_t t = 0; t < 2; t++) {
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			mtk_keystore *ks = mtk_keystore_new(types[t]), *lazy = NULL, *full = NULL;
			mtk_buf a = MTK_BUF_SECRET_INIT, b = MTK_BUF_SECRET_INIT,
				c = MTK_BUF_SECRET_INIT, in = MTK_BUF_INIT;
			STACK_OF(X509) *chain = one(cert[1]);
			size_t n = sizes[k];

			for (size_t i = 0; i < n; i++) {
				snprintf(alias, sizeof(alias), "ca-%05zu", i);
				assert_int_equal(mtk_keystore_add_trusted(ks, alias, cert[i % 2],
									  (int64_t)i, &err),
						 MTK_OK);
				if (i == n / 2)
					assert_int_equal(mtk_keystore_add_key(ks, "the key", key[1],
									      chain, 7, &err),
							 MTK_OK);
			}
			enc(ks, &a); /* every entry new: field by field */
			/* The lazy reader takes the buffer it is given. */
			assert_int_equal(mtk_buf_append(&in, a.data, a.len), MTK_OK);
			assert_int_equal(mtk_keystore_decode_buf(
					     &in, "t", &CHANGEIT, NULL,
					     MTK_KS_READ_LAZY | MTK_KS_READ_NO_KEYS, &lazy, &err),
					 MTK_OK);
			assert_null(in.data);
			assert_int_equal(mtk_keystore_decode(a.data, a.len, "t", &CHANGEIT, NULL, 0,
							     &full, &err),
					 MTK_OK);
			if (n == 1000) {
				/* Unchanged: the header, one run of the file; then the
				 * digest, which the saver writes after them: that of the
				 * pieces is the file's. */
				mtk_ks_piece *pc = NULL;
				size_t np = 0;
				mtk_buf side = MTK_BUF_SECRET_INIT;
				uint8_t d[20];
				assert_int_equal(mtk_jks_encode_pieces(lazy, lazy->type, &CHANGEIT,
								       NULL, &side, &pc, &np, &err),
						 MTK_OK);
				assert_int_equal(np, 2);
				assert_non_null(pc[1].p);
				assert_int_equal(pc[1].len, a.len - 12 - 20);
				assert_int_equal(side.len, 12);
				assert_int_equal(
				    mtk_jks_pieces_digest(&CHANGEIT, pc, np, side.data, d, &err),
				    MTK_OK);
				assert_memory_equal(d, a.data + a.len - 20, 20);
				free(pc);
				mtk_buf_free(&side);
			}
			enc(lazy, &b);
			enc(full, &c);
			assert_int_equal(b.len, a.len);
			assert_memory_equal(b.data, a.data, a.len);
			assert_int_equal(c.len, a.len);
			assert_memory_equal(c.data, a.data, a.len);
			if (n > 0) {
				/* The same edit on both. */
				mtk_keystore_remove(lazy, n / 3);
				mtk_keystore_remove(full, n / 3);
				assert_int_equal(
				    mtk_keystore_add_trusted(lazy, "new", cert[0], 9, &err),
				    MTK_OK);
				assert_int_equal(
				    mtk_keystore_add_trusted(full, "new", cert[0], 9, &err),
				    MTK_OK);
				enc(lazy, &b);
				enc(full, &c);
				assert_int_equal(b.len, c.len);
				assert_memory_equal(b.data, c.data, c.len);
			}
			/* Saved in pieces: the same bytes on disk. */
			snprintf(path, sizeof(path), "%s/s%zu-%zu", dir, t, k);
			assert_int_equal(
			    mtk_keystore_save(lazy, path, &CHANGEIT, NULL, MTK_WRITE_SECRET, &err),
			    MTK_OK);
			assert_int_equal(mtk_file_read(path, 0, &in, &err), MTK_OK);
			assert_int_equal(in.len, b.len);
			assert_memory_equal(in.data, b.data, b.len);
			mtk_keystore_free(lazy);
			mtk_keystore_free(full);
			lazy = full = NULL;
			/* A wrong password: the buffer stays the caller's. */
			assert_int_equal(mtk_keystore_decode_buf(&in, "t", &OTHER, NULL,
								 MTK_KS_READ_LAZY, &lazy, &err),
					 MTK_E_INTEGRITY);
			mtk_err_clear(&err);
			assert_non_null(in.data);
			if (n == 10) {
				/* "ca-00003" stored as "CA-00003": the encoder lower-cases
				 * it, so the lazy store writes the field-by-field bytes. */
				uint8_t *hit = memmem(a.data, a.len, "ca-00003", 8);
				assert_non_null(hit);
				hit[0] = 'C';
				hit[1] = 'A';
				reseal(a.data, a.len, "changeit");
				assert_int_equal(mtk_keystore_decode(a.data, a.len, "t", &CHANGEIT,
								     NULL, MTK_KS_READ_LAZY, &lazy,
								     &err),
						 MTK_OK);
				assert_int_equal(mtk_keystore_decode(a.data, a.len, "t", &CHANGEIT,
								     NULL, 0, &full, &err),
						 MTK_OK);
				enc(lazy, &b);
				enc(full, &c);
				assert_int_equal(b.len, c.len);
				assert_memory_equal(b.data, c.data, c.len);
				assert_memory_not_equal(b.data, a.data, a.len);
				mtk_keystore_free(lazy);
				mtk_keystore_free(full);
			}
			sk_X509_free(chain);
			mtk_buf_free(&a);
			mtk_buf_free(&b);
			mtk_buf_free(&c);
			mtk_buf_free(&in);
			mtk_keystore_free(ks);
		}
	}
	for (int i = 0; i < 2; i++) {
		X509_free(cert[i]);
		EVP_PKEY_free(key[i]);
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* Removing from, and adding to, a lazily read store of 200 entries: what
 * is written reads back in full (every certificate decodes) with the same
 * fingerprints, and a PKCS12 written from it too. */
static void test_lazy_edit(void **state)
{
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_JKS), *lazy = NULL, *back = NULL;
	mtk_buf out = MTK_BUF_SECRET_INIT, out2 = MTK_BUF_SECRET_INIT;
	EVP_PKEY *key[3] = {NULL, NULL, NULL};
	X509 *cert[3] = {NULL, NULL, NULL};
	mtk_err err = {0};
	char alias[32];

	(void)state;
	make_pair("Lazy A", &key[0], &cert[0]);
	make_pair("Lazy B", &key[1], &cert[1]);
	make_pair("Lazy C", &key[2], &cert[2]);
	for (int i = 0; i < 200; i++) {
		snprintf(alias, sizeof(alias), "ca-%d", i);
		assert_int_equal(mtk_keystore_add_trusted(ks, alias, cert[i % 2], 0, &err), MTK_OK);
	}
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_JKS, &CHANGEIT, NULL, &out, &err), MTK_OK);
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "t", &CHANGEIT, NULL,
					     MTK_KS_READ_LAZY | MTK_KS_READ_NO_KEYS, &lazy, &err),
			 MTK_OK);
	mtk_keystore_remove(lazy, (size_t)mtk_keystore_find(lazy, "ca-7"));
	assert_int_equal(mtk_keystore_add_trusted(lazy, "new", cert[2], 0, &err), MTK_OK);
	assert_int_equal(mtk_keystore_encode(lazy, MTK_KS_JKS, &CHANGEIT, NULL, &out2, &err), MTK_OK);
	assert_int_equal(mtk_keystore_decode(out2.data, out2.len, "t", &CHANGEIT, NULL, 0, &back, &err),
			 MTK_OK);
	assert_int_equal(back->count, 200);
	assert_int_equal(mtk_keystore_find(back, "ca-7"), -1);
	assert_int_equal(X509_cmp(sk_X509_value(back->entries[mtk_keystore_find(back, "ca-8")].chain, 0),
				  cert[0]),
			 0);
	assert_int_equal(X509_cmp(sk_X509_value(back->entries[mtk_keystore_find(back, "new")].chain, 0),
				  cert[2]),
			 0);
	mtk_keystore_free(back);
	back = NULL;
	out2.len = 0;
	assert_int_equal(mtk_keystore_encode(lazy, MTK_KS_PKCS12, &CHANGEIT, NULL, &out2, &err), MTK_OK);
	assert_int_equal(mtk_keystore_decode(out2.data, out2.len, "t.p12", &CHANGEIT, NULL, 0, &back, &err),
			 MTK_OK);
	assert_int_equal(back->count, 200);
	mtk_keystore_free(back);
	mtk_keystore_free(lazy);
	mtk_keystore_free(ks);
	mtk_buf_free(&out);
	mtk_buf_free(&out2);
	for (int i = 0; i < 3; i++) {
		X509_free(cert[i]);
		EVP_PKEY_free(key[i]);
	}
}

static void test_load_set(void **state)
{
	EVP_PKEY *key;
	X509 *cert, *ca;
	EVP_PKEY *cakey;
	STACK_OF(X509) * chain;
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_JKS);
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_set set = MTK_SET_INIT;
	mtk_container_info info;
	mtk_err err = {0};
	(void)state;

	make_pair("ls.example.com", &key, &cert);
	make_pair("ca.example.com", &cakey, &ca);
	chain = one(cert);
	assert_int_equal(
	    mtk_keystore_add_key(ks, "defaultsecuritykeypairhandle", key, chain, 0, &err), MTK_OK);
	assert_int_equal(mtk_keystore_add_trusted(ks, "ca", ca, 0, &err), MTK_OK);
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_JKS, &CHANGEIT, NULL, &out, &err), MTK_OK);

	/* No password, any other name: nothing is guessed. */
	memset(&info, 0, sizeof(info));
	assert_int_equal(
	    mtk_keystore_load_set(&set, "a.jks", out.data, out.len, NULL, NULL, NULL, &info, &err),
	    MTK_E_PASSWORD_NEEDED);
	assert_true(info.needs_password);
	assert_int_equal(info.ks_entries, 2);
	assert_int_equal(set.count, 0);
	mtk_err_clear(&err);
	/* The reader guesses nothing from the name: an agent keystore with no
	 * default given is refused like any other. */
	memset(&info, 0, sizeof(info));
	assert_int_equal(mtk_keystore_load_set(&set, "agent/security/agent_keystore.jks", out.data,
					       out.len, NULL, NULL, NULL, &info, &err),
			 MTK_E_PASSWORD_NEEDED);
	assert_int_equal(set.count, 0);
	mtk_err_clear(&err);
	/* The default the caller passes (mid.h's, for an agent keystore) is tried. */
	memset(&info, 0, sizeof(info));
	assert_int_equal(mtk_keystore_load_set(&set, "agent/security/agent_keystore.jks", out.data,
					       out.len, NULL,
					       mtk_mid_default_for(MTK_MID_READ,
								   "agent/security/agent_keystore.jks"),
					       NULL, &info, &err),
			 MTK_OK);
	assert_int_equal(info.format, MTK_FMT_JKS);
	assert_int_equal(info.ks_version, 2);
	assert_int_equal(info.ks_entries, 2);
	assert_int_equal(set.count, 3);
	assert_int_equal(set.objs[0].kind, MTK_OBJ_KEY);
	assert_int_equal(set.objs[0].key_form, MTK_KEY_CONTAINER);
	assert_true(set.objs[0].encrypted);
	assert_string_equal(set.objs[0].alias, "defaultsecuritykeypairhandle");
	assert_non_null(set.objs[0].key);
	assert_int_equal(set.objs[1].kind, MTK_OBJ_CERT);
	assert_string_equal(set.objs[1].alias, "defaultsecuritykeypairhandle");
	assert_int_equal(set.objs[2].kind, MTK_OBJ_CERT);
	assert_string_equal(set.objs[2].alias, "ca");
	mtk_set_free(&set);

	/* Another password: needed, and the header facts are still given. */
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_JKS, &OTHER, NULL, &out, &err), MTK_OK);
	memset(&info, 0, sizeof(info));
	assert_int_equal(mtk_keystore_load_set(&set, "agent_keystore.jks", out.data, out.len, NULL,
					       mtk_mid_default_pass(), NULL, &info, &err),
			 MTK_E_PASSWORD_NEEDED);
	assert_int_equal(set.count, 0);
	assert_int_equal(info.ks_entries, 2);
	assert_true(info.needs_password);
	mtk_err_clear(&err);
	assert_int_equal(
	    mtk_keystore_load_set(&set, "b.jks", out.data, out.len, &CHANGEIT, NULL, NULL, &info, &err),
	    MTK_E_INTEGRITY);
	assert_string_equal(err.detail,
			    "b.jks: keystore password is incorrect or the file was altered");
	/* A key password that opens no key is an error, not silently ignored. */
	mtk_err_clear(&err);
	assert_int_equal(
	    mtk_keystore_load_set(&set, "b.jks", out.data, out.len, &OTHER, NULL, &KEYPW, &info, &err),
	    MTK_OK); /* the store password opens the key */
	assert_non_null(set.objs[0].key);
	mtk_set_free(&set);

	mtk_keystore_free(ks);
	mtk_buf_free(&out);
	sk_X509_pop_free(chain, X509_free);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_jks),
	    cmocka_unit_test(test_wrong_store_password),
	    cmocka_unit_test(test_key_password_differs),
	    cmocka_unit_test(test_version1_by_hand),
	    cmocka_unit_test(test_bad_inputs),
	    cmocka_unit_test(test_keytool_jceks),
	    cmocka_unit_test(test_convert_and_pkcs12),
	    cmocka_unit_test(test_install_reply),
	    cmocka_unit_test(test_load_set),
	    cmocka_unit_test(test_alias_table),
	    cmocka_unit_test(test_lazy_byte_for_byte),
	    cmocka_unit_test(test_lazy_edit),
	    cmocka_unit_test(test_exact_encoder),
	    cmocka_unit_test(test_big_store_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
