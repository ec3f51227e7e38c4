/* test_load.c - the object loader, certificate facts and chain builder over
 * fixtures made in-process with OpenSSL: PEM in any order, DER, PKCS#1/SEC1/
 * PKCS#8/encrypted keys, modern and legacy PFX, wrong passwords, damage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "formats/pbe.h"
#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "mtlskit/load.h"
#include "mtlskit/pem.h"

static EVP_PKEY *kroot, *kint, *kleaf;
static X509 *root, *inter, *leaf;

static void add_ext(X509 *c, X509 *issuer, int nid, const char *v)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	X509V3_set_ctx(&ctx, issuer, c, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, v);
	assert_non_null(e);
	X509_add_ext(c, e, -1);
	X509_EXTENSION_free(e);
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, bool ca, long serial)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 365);
	X509_set_pubkey(c, key);
	add_ext(c, issuer ? issuer : c, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (!ca)
		add_ext(c, issuer, NID_ext_key_usage, "clientAuth");
	assert_true(X509_sign(c, ikey ? ikey : key, EVP_sha256()) > 0);
	return c;
}

static int setup(void **state)
{
	(void)state;
	kroot = EVP_EC_gen("P-256");
	kint = EVP_EC_gen("P-256");
	kleaf = EVP_RSA_gen(2048);
	root = make_cert("Test Root", kroot, NULL, NULL, true, 1);
	inter = make_cert("Test Intermediate", kint, root, kroot, true, 2);
	leaf = make_cert("mid01.example.com", kleaf, inter, kint, false, 3);
	return !(kroot && kint && kleaf && root && inter && leaf);
}

static int teardown(void **state)
{
	(void)state;
	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	EVP_PKEY_free(kroot);
	EVP_PKEY_free(kint);
	EVP_PKEY_free(kleaf);
	mtk_load_cleanup();
	return 0;
}

static void append_cert(mtk_buf *b, X509 *c)
{
	unsigned char *der = NULL;
	int n = i2d_X509(c, &der);
	assert_true(n > 0);
	assert_int_equal(mtk_pem_encode(b, "CERTIFICATE", der, (size_t)n), MTK_OK);
	OPENSSL_free(der);
}

static void append_key(mtk_buf *b, EVP_PKEY *k, const char *label)
{
	unsigned char *der = NULL;
	int n;
	if (strcmp(label, "PRIVATE KEY") == 0) {
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
		n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
		PKCS8_PRIV_KEY_INFO_free(p8);
	} else {
		n = i2d_PrivateKey(k, &der); /* PKCS#1 for RSA, SEC1 for EC */
	}
	assert_true(n > 0);
	assert_int_equal(mtk_pem_encode(b, label, der, (size_t)n), MTK_OK);
	OPENSSL_free(der);
}

static void test_shuffled_bundle_chain(void **state)
{
	mtk_buf b = MTK_BUF_INIT;
	mtk_set set = MTK_SET_INIT;
	mtk_chain ch;
	mtk_err e = {0};
	mtk_load_opts o = {0};
	(void)state;

	long root_lines = 0;

	append_cert(&b, root);
	for (size_t i = 0; i < b.len; i++)
		root_lines += b.data[i] == '\n';
	append_key(&b, kleaf, "RSA PRIVATE KEY");
	append_cert(&b, leaf);
	append_cert(&b, inter);
	assert_int_equal(mtk_load_mem(&set, "b.pem", b.data, b.len, &o, NULL, NULL, &e), MTK_OK);
	assert_int_equal(set.count, 4);
	assert_int_equal(set.objs[1].kind, MTK_OBJ_KEY);
	assert_int_equal(set.objs[1].key_form, MTK_KEY_PKCS1);
	assert_int_equal(set.objs[1].line, root_lines + 1);
	assert_int_equal(mtk_chain_build(&set, NULL, 0, &ch, &e), MTK_OK);
	assert_true(ch.key_matches);
	assert_int_equal(X509_cmp(ch.leaf, leaf), 0);
	assert_int_equal(sk_X509_num(ch.cas), 2);
	assert_int_equal(X509_cmp(sk_X509_value(ch.cas, 0), inter), 0);
	assert_int_equal(X509_cmp(sk_X509_value(ch.cas, 1), root), 0);
	assert_true(ch.complete);
	assert_false(ch.input_order_ok);
	assert_int_equal(sk_X509_num(ch.unused), 0);
	mtk_chain_free(&ch);
	mtk_set_free(&set);
	mtk_buf_free(&b);
}

static void test_incomplete_chain_and_extra(void **state)
{
	mtk_buf b = MTK_BUF_INIT;
	mtk_set set = MTK_SET_INIT;
	mtk_chain ch;
	mtk_err e = {0};
	STACK_OF(X509) *extra = sk_X509_new_null();
	(void)state;

	append_cert(&b, leaf);
	append_cert(&b, inter);
	assert_int_equal(mtk_load_mem(&set, "c.pem", b.data, b.len, NULL, NULL, NULL, &e), MTK_OK);
	assert_int_equal(mtk_chain_build(&set, NULL, 0, &ch, &e), MTK_OK);
	assert_false(ch.complete);
	assert_true(ch.input_order_ok);
	assert_false(ch.key_matches);
	assert_int_equal(X509_cmp(ch.leaf, leaf), 0);
	mtk_chain_free(&ch);
	sk_X509_push(extra, root);
	assert_int_equal(mtk_chain_build(&set, extra, 0, &ch, &e), MTK_OK);
	assert_true(ch.complete);
	assert_int_equal(sk_X509_num(ch.cas), 2);
	mtk_chain_free(&ch);
	sk_X509_free(extra);
	mtk_set_free(&set);
	mtk_buf_free(&b);
}

static void test_cert_summary(void **state)
{
	mtk_cert_summary s;
	mtk_err e = {0};
	(void)state;
	assert_int_equal(mtk_cert_summarize(leaf, &s, &e), MTK_OK);
	assert_string_equal(s.subject, "CN=mid01.example.com");
	assert_string_equal(s.issuer, "CN=Test Intermediate");
	assert_string_equal(s.serial, "03");
	assert_string_equal(s.key_type, "RSA");
	assert_int_equal(s.key_bits, 2048);
	assert_true(s.client_auth);
	assert_false(s.server_auth);
	assert_false(s.is_ca);
	assert_false(s.self_signed);
	assert_int_equal(strlen(s.sha256), 95);
	assert_int_equal(mtk_cert_summarize(root, &s, &e), MTK_OK);
	assert_true(s.self_signed);
	assert_true(s.is_ca);
	assert_string_equal(s.curve, "P-256");
	assert_int_equal(mtk_days_left(1000, 1000), 0);
	assert_int_equal(mtk_days_left(999, 1000), -1);
	assert_int_equal(mtk_days_left(1000 + 86400 * 3, 1000), 3);
}

static mtk_secret pw(const char *s)
{
	mtk_secret x = {(char *)s, strlen(s)};
	return x;
}

static OSSL_PROVIDER *fixture_prov[2];

static void p12_roundtrip(int nid_key, int nid_cert, int mac_iter, const EVP_MD *md, bool legacy)
{
	STACK_OF(X509) *ca = sk_X509_new_null();
	PKCS12 *p12;
	unsigned char *der = NULL;
	int n;
	mtk_set set = MTK_SET_INIT;
	mtk_err e = {0};
	mtk_container_info info;
	mtk_secret good = pw("s3cret"), bad = pw("nope");
	mtk_load_opts o = {.pass = &good};

	sk_X509_push(ca, inter);
	sk_X509_push(ca, root);
	p12 = PKCS12_create("s3cret", "client", kleaf, leaf, ca, nid_key, nid_cert, 2048, mac_iter, 0);
	assert_non_null(p12);
	if (md != NULL)
		assert_int_equal(PKCS12_set_mac(p12, "s3cret", -1, NULL, 0, 2048, md), 1);
	n = i2d_PKCS12(p12, &der);
	assert_true(n > 0);
	for (int i = 0; i < 2; i++) {
		if (fixture_prov[i] != NULL)
			OSSL_PROVIDER_unload(fixture_prov[i]);
		fixture_prov[i] = NULL;
	}
	assert_int_equal(mtk_detect(der, (size_t)n), MTK_FMT_PKCS12);
	assert_int_equal(mtk_load_mem(&set, "a.pfx", der, (size_t)n, &o, &info, NULL, &e), MTK_OK);
	assert_int_equal(info.p12_legacy, legacy);
	assert_int_equal(set.count, 4);
	{
		size_t keys = 0, certs = 0;
		for (size_t i = 0; i < set.count; i++) {
			if (set.objs[i].kind == MTK_OBJ_KEY) {
				keys++;
				assert_non_null(set.objs[i].key);
				assert_string_equal(set.objs[i].alias, "client");
			}
			certs += set.objs[i].kind == MTK_OBJ_CERT;
		}
		assert_int_equal(keys, 1);
		assert_int_equal(certs, 3);
	}
	mtk_set_free(&set);
	/* wrong password: nothing added, exit-4 code */
	o.pass = &bad;
	mtk_err_clear(&e);
	assert_int_equal(mtk_load_mem(&set, "a.pfx", der, (size_t)n, &o, &info, NULL, &e),
			 MTK_E_BAD_PASSWORD);
	assert_int_equal(set.count, 0);
	/* no password: described, flagged as needing one */
	o.pass = NULL;
	mtk_err_clear(&e);
	assert_int_equal(mtk_load_mem(&set, "a.pfx", der, (size_t)n, &o, &info, NULL, &e), MTK_OK);
	assert_true(info.needs_password);
	o.require_decrypt = true;
	assert_int_equal(mtk_load_mem(&set, "a.pfx", der, (size_t)n, &o, &info, NULL, &e),
			 MTK_E_PASSWORD_NEEDED);
	/* truncated */
	mtk_err_clear(&e);
	o.pass = &good;
	assert_int_not_equal(mtk_load_mem(&set, "a.pfx", der, (size_t)n / 2, &o, &info, NULL, &e), MTK_OK);
	assert_int_equal(set.count, 0);
	OPENSSL_free(der);
	PKCS12_free(p12);
	sk_X509_free(ca);
}

/* What a label hides: PKCS#7 and a PFX under CERTIFICATE (ADCS certnew.p7b,
 * certutil -encode), a PFX under PKCS12 (GnuTLS); each read by content. */
static void test_hidden_by_label(void **state)
{
	mtk_secret good = {(char *)"pw-label", 8};
	mtk_load_opts o = {.pass = &good, .require_decrypt = true};
	mtk_set set = MTK_SET_INIT;
	mtk_err e = {0};
	STACK_OF(X509) *certs = sk_X509_new_null();
	PKCS7 *p7 = PKCS7_new();
	PKCS12 *p12;
	unsigned char *der = NULL;
	mtk_buf pem = MTK_BUF_INIT;
	int n;
	(void)state;

	/* certnew.p7b: PKCS#7 signed-data, no signers, under CERTIFICATE */
	assert_true(PKCS7_set_type(p7, NID_pkcs7_signed));
	assert_true(PKCS7_content_new(p7, NID_pkcs7_data));
	assert_true(PKCS7_add_certificate(p7, leaf) && PKCS7_add_certificate(p7, inter));
	n = i2d_PKCS7(p7, &der);
	assert_true(n > 0);
	assert_int_equal(mtk_pem_encode(&pem, "CERTIFICATE", der, (size_t)n), MTK_OK);
	OPENSSL_free(der);
	der = NULL;
	assert_int_equal(mtk_load_mem(&set, "certnew.p7b", pem.data, pem.len, &o, NULL, NULL, &e),
			 MTK_OK);
	assert_int_equal(set.count, 2);
	assert_int_equal(set.objs[0].kind, MTK_OBJ_CERT);
	assert_int_equal(X509_cmp(set.objs[0].cert, leaf), 0);
	assert_non_null(strstr(set.objs[1].note, "PKCS#7"));
	mtk_set_free(&set);

	/* a PFX under CERTIFICATE and under PKCS12 */
	assert_true(sk_X509_push(certs, inter));
	p12 = PKCS12_create("pw-label", "client", kleaf, leaf, certs, 0, 0, 0, 0, 0);
	assert_non_null(p12);
	n = i2d_PKCS12(p12, &der);
	assert_true(n > 0);
	for (int i = 0; i < 2; i++) {
		size_t keys = 0;
		pem.len = 0;
		assert_int_equal(mtk_pem_encode(&pem, i ? "PKCS12" : "CERTIFICATE", der, (size_t)n),
				 MTK_OK);
		mtk_err_clear(&e);
		assert_int_equal(mtk_load_mem(&set, "pfx.txt", pem.data, pem.len, &o, NULL, NULL, &e),
				 MTK_OK);
		assert_int_equal(set.count, 3);
		for (size_t j = 0; j < set.count; j++) {
			keys += set.objs[j].kind == MTK_OBJ_KEY && set.objs[j].key != NULL;
			assert_non_null(set.objs[j].note);
		}
		assert_int_equal(keys, 1);
		mtk_set_free(&set);
		/* the wrong password: exit-4 code, nothing added */
		o.pass = &(mtk_secret){(char *)"wrong", 5};
		mtk_err_clear(&e);
		assert_int_equal(mtk_load_mem(&set, "pfx.txt", pem.data, pem.len, &o, NULL, NULL, &e),
				 MTK_E_BAD_PASSWORD);
		assert_int_equal(set.count, 0);
		o.pass = &good;
	}
	OPENSSL_free(der);
	PKCS12_free(p12);
	PKCS7_free(p7);
	sk_X509_free(certs);
	mtk_buf_free(&pem);
}

/* An EC key with explicit curve parameters is re-encoded with the curve's name. */
static void test_ec_explicit(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	mtk_set set = MTK_SET_INIT;
	mtk_err e = {0};
	unsigned char *der = NULL;
	char enc[32] = "";
	int n;
	(void)state;

	assert_non_null(k);
	assert_true(EVP_PKEY_set_utf8_string_param(k, "encoding", "explicit"));
	n = i2d_PrivateKey(k, &der);
	assert_true(n > 0);
	assert_int_equal(mtk_load_mem(&set, "ec.der", der, (size_t)n, NULL, NULL, NULL, &e), MTK_OK);
	assert_int_equal(set.count, 1);
	assert_true(EVP_PKEY_get_utf8_string_param(set.objs[0].key, "encoding", enc, sizeof(enc), NULL));
	assert_string_equal(enc, "named_curve");
	assert_true(EVP_PKEY_eq(set.objs[0].key, k) == 1);
	mtk_set_free(&set);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

static void test_pfx_modern(void **state)
{
	(void)state;
	p12_roundtrip(NID_aes_256_cbc, NID_aes_256_cbc, 2048, EVP_sha256(), false);
}

static void test_pfx_legacy(void **state)
{
	/* making the fixture needs RC2; reading it must not (the loader loads
	 * the provider itself) - so unload it again before the read */
	(void)state;
	fixture_prov[0] = OSSL_PROVIDER_load(NULL, "default");
	fixture_prov[1] = OSSL_PROVIDER_load(NULL, "legacy");
	assert_non_null(fixture_prov[1]);
	/* what Windows certutil and old Java write: 3DES keys, RC2-40 certs, SHA-1 MAC */
	p12_roundtrip(NID_pbe_WithSHA1And3_Key_TripleDES_CBC, NID_pbe_WithSHA1And40BitRC2_CBC, 2048,
		      NULL, true);
}

static void test_encrypted_pkcs8(void **state)
{
	BIO *bio = BIO_new(BIO_s_mem());
	BUF_MEM *bm;
	mtk_set set = MTK_SET_INIT;
	mtk_err e = {0};
	mtk_secret good = pw("pw1234"), bad = pw("wrong");
	mtk_load_opts o = {0};
	(void)state;

	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, kleaf, EVP_aes_256_cbc(), NULL, 0, NULL,
						       (void *)"pw1234"),
			 1);
	BIO_get_mem_ptr(bio, &bm);
	assert_int_equal(mtk_load_mem(&set, "k.pem", (uint8_t *)bm->data, bm->length, &o, NULL, NULL, &e),
			 MTK_OK);
	assert_int_equal(set.objs[0].key_form, MTK_KEY_PKCS8_ENCRYPTED);
	assert_null(set.objs[0].key);
	assert_non_null(strstr(set.objs[0].enc_desc, "AES-256-CBC"));
	mtk_set_free(&set);
	o.pass = &good;
	assert_int_equal(mtk_load_mem(&set, "k.pem", (uint8_t *)bm->data, bm->length, &o, NULL, NULL, &e),
			 MTK_OK);
	assert_true(mtk_key_matches_cert(set.objs[0].key, leaf));
	mtk_set_free(&set);
	o.pass = &bad;
	assert_int_equal(mtk_load_mem(&set, "k.pem", (uint8_t *)bm->data, bm->length, &o, NULL, NULL, &e),
			 MTK_E_BAD_PASSWORD);
	BIO_free(bio);
}

static void test_duplicates_and_truncated_pfx(void **state)
{
	mtk_buf b = MTK_BUF_INIT;
	mtk_set set = MTK_SET_INIT;
	mtk_chain ch;
	mtk_err e = {0};
	static const uint8_t trunc_p12[] = {0x30, 0x82, 0x09, 0x99, 0x02, 0x01, 0x03, 0x30, 0x82};
	(void)state;

	append_cert(&b, leaf);
	append_cert(&b, inter);
	append_cert(&b, inter);
	append_cert(&b, root);
	append_key(&b, kleaf, "PRIVATE KEY");
	assert_int_equal(mtk_load_mem(&set, "d.pem", b.data, b.len, NULL, NULL, NULL, &e), MTK_OK);
	assert_int_equal(mtk_chain_build(&set, NULL, 0, &ch, &e), MTK_OK);
	assert_int_equal(sk_X509_num(ch.unused), 0); /* the repeat is not "unrelated" */
	assert_int_equal(ch.nkeys_matching, 1);
	assert_true(ch.complete);
	mtk_chain_free(&ch);
	mtk_set_free(&set);
	mtk_buf_free(&b);
	/* a PFX cut short is still called a PFX, and reported as damaged */
	assert_int_equal(mtk_detect(trunc_p12, sizeof(trunc_p12)), MTK_FMT_PKCS12);
	assert_int_equal(mtk_load_mem(&set, "t.pfx", trunc_p12, sizeof(trunc_p12), NULL, NULL, NULL, &e),
			 MTK_E_TRUNCATED);
}

static void test_bad_inputs(void **state)
{
	mtk_set set = MTK_SET_INIT;
	mtk_err e = {0};
	static const uint8_t junk[] = {0x00, 0x01, 0x02, 0x03, 0xff, 0xfe};
	static const char text[] = "hello world\n";
	static const char badpem[] = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
	static const uint8_t jks[] = {0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 3};
	mtk_container_info info;
	(void)state;

	assert_int_equal(mtk_load_mem(&set, "e", junk, 0, NULL, NULL, NULL, &e), MTK_E_EMPTY);
	mtk_err_clear(&e);
	assert_int_equal(mtk_load_mem(&set, "j", junk, sizeof(junk), NULL, NULL, NULL, &e),
			 MTK_E_UNKNOWN_FORMAT);
	mtk_err_clear(&e);
	assert_int_equal(mtk_load_mem(&set, "t", (const uint8_t *)text, strlen(text), NULL, NULL, NULL, &e),
			 MTK_E_UNKNOWN_FORMAT);
	mtk_err_clear(&e);
	assert_int_equal(mtk_load_mem(&set, "p", (const uint8_t *)badpem, strlen(badpem), NULL, NULL, NULL,
				      &e),
			 MTK_E_DER);
	assert_non_null(strstr(e.detail, "p:1"));
	mtk_err_clear(&e);
	assert_int_equal(mtk_load_mem(&set, "ks", jks, sizeof(jks), NULL, &info, NULL, &e), MTK_OK);
	assert_int_equal(info.format, MTK_FMT_JKS);
	assert_int_equal(info.ks_version, 2);
	assert_int_equal(info.ks_entries, 3);
	assert_int_equal(set.count, 0);
}

/* Lines in b so far: the next block begins on the line after. */
static long lines_of(const mtk_buf *b)
{
	long n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

static mtk_rc strict(const mtk_buf *b, unsigned allowed, mtk_obj_kind want, mtk_set *set,
		     mtk_err *e)
{
	mtk_err_clear(e);
	return mtk_load_mem_strict(set, "s.pem", b->data, b->len, allowed, want, NULL, e);
}

static void test_strict(void **state)
{
	mtk_buf b = MTK_BUF_INIT, bad = MTK_BUF_INIT;
	mtk_set set = MTK_SET_INIT;
	mtk_err e = {0};
	char where[32];
	long line;
	size_t mid;
	(void)state;

	/* A clean bundle: every certificate, in order. */
	append_cert(&b, root);
	append_cert(&b, inter);
	append_cert(&b, leaf);
	assert_int_equal(strict(&b, MTK_OBJ_BIT(MTK_OBJ_CERT), MTK_OBJ_CERT, &set, &e), MTK_OK);
	assert_int_equal(set.count, 3);
	mtk_set_free(&set);

	/* The lenient loader reads stray text; strict does too (comments in
	 * CA bundles are common)... */
	bad.len = 0;
	assert_int_equal(mtk_buf_printf(&bad, "# Issuer: CN=Test Root\n"), MTK_OK);
	append_cert(&bad, root);
	assert_int_equal(strict(&bad, MTK_OBJ_BIT(MTK_OBJ_CERT), MTK_OBJ_CERT, &set, &e), MTK_OK);
	mtk_set_free(&set);

	/* ...but a base64 error in the middle block is FILE:LINE of its BEGIN. */
	bad.len = 0;
	append_cert(&bad, root);
	line = lines_of(&bad) + 1;
	mid = bad.len;
	append_cert(&bad, inter);
	append_cert(&bad, leaf);
	bad.data[mid + 40] = '*';
	assert_int_equal(strict(&bad, MTK_OBJ_BIT(MTK_OBJ_CERT), MTK_OBJ_CERT, &set, &e),
			 MTK_E_PEM_SYNTAX);
	snprintf(where, sizeof(where), "s.pem:%ld:", line);
	assert_non_null(strstr(e.detail, where));
	assert_non_null(strstr(e.detail, "base64"));
	assert_int_equal(set.count, 0);

	/* Valid base64 of bytes that are not a certificate. */
	bad.data[mid + 40] = 'A';
	bad.data[mid + 41] = 'A';
	bad.data[mid + 42] = 'A';
	bad.data[mid + 43] = 'A';
	assert_int_equal(strict(&bad, MTK_OBJ_BIT(MTK_OBJ_CERT), MTK_OBJ_CERT, &set, &e),
			 MTK_E_DER);
	assert_non_null(strstr(e.detail, where));

	/* A BEGIN without END (the file was cut). */
	bad.len = 0;
	append_cert(&bad, root);
	line = lines_of(&bad) + 1;
	append_cert(&bad, inter);
	bad.len -= strlen("-----END CERTIFICATE-----\n");
	assert_int_equal(strict(&bad, MTK_OBJ_BIT(MTK_OBJ_CERT), MTK_OBJ_CERT, &set, &e),
			 MTK_E_PEM_SYNTAX);
	snprintf(where, sizeof(where), "s.pem:%ld:", line);
	assert_non_null(strstr(e.detail, where));
	assert_non_null(strstr(e.detail, "no END"));

	/* A damaged BEGIN line: the lenient scan sees stray text and an END
	 * with no BEGIN; strict names the BEGIN line. */
	bad.len = 0;
	append_cert(&bad, root);
	line = lines_of(&bad) + 1;
	mid = bad.len;
	append_cert(&bad, inter);
	bad.data[mid + 12] = '\t'; /* inside the label */
	assert_int_equal(mtk_load_mem(&set, "s.pem", bad.data, bad.len, NULL, NULL, NULL, &e),
			 MTK_OK);
	assert_int_equal(set.count, 1); /* what the old reader did: one dropped */
	mtk_set_free(&set);
	assert_int_equal(strict(&bad, MTK_OBJ_BIT(MTK_OBJ_CERT), MTK_OBJ_CERT, &set, &e),
			 MTK_E_PEM_SYNTAX);
	snprintf(where, sizeof(where), "s.pem:%ld:", line);
	assert_non_null(strstr(e.detail, where));
	/* BEGIN turned into plain text: the END line is the one named. */
	memcpy(bad.data + mid, "xxxxx", 5);
	assert_int_equal(strict(&bad, MTK_OBJ_BIT(MTK_OBJ_CERT), MTK_OBJ_CERT, &set, &e),
			 MTK_E_PEM_SYNTAX);
	assert_non_null(strstr(e.detail, "END line with no BEGIN"));

	/* A key where only certificates belong; allowed when asked for. */
	bad.len = 0;
	append_cert(&bad, leaf);
	line = lines_of(&bad) + 1;
	append_key(&bad, kleaf, "PRIVATE KEY");
	assert_int_equal(strict(&bad, MTK_OBJ_BIT(MTK_OBJ_CERT), MTK_OBJ_CERT, &set, &e),
			 MTK_E_MALFORMED);
	snprintf(where, sizeof(where), "s.pem:%ld:", line);
	assert_non_null(strstr(e.detail, where));
	assert_int_equal(strict(&bad, MTK_OBJ_BIT(MTK_OBJ_CERT) | MTK_OBJ_BIT(MTK_OBJ_KEY),
				MTK_OBJ_CERT, &set, &e),
			 MTK_OK);
	assert_int_equal(set.count, 2);
	mtk_set_free(&set);

	/* Nothing of the kind wanted: certificates where a CRL is expected. */
	assert_int_equal(
	    strict(&b, MTK_OBJ_BIT(MTK_OBJ_CERT) | MTK_OBJ_BIT(MTK_OBJ_CRL), MTK_OBJ_CRL, &set, &e),
	    MTK_E_NOT_FOUND);
	assert_non_null(strstr(e.detail, "no CRL"));
	mtk_buf_free(&bad);
	mtk_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shuffled_bundle_chain),
	    cmocka_unit_test(test_incomplete_chain_and_extra),
	    cmocka_unit_test(test_cert_summary),
	    cmocka_unit_test(test_pfx_modern),
	    cmocka_unit_test(test_pfx_legacy),
	    cmocka_unit_test(test_encrypted_pkcs8),
	    cmocka_unit_test(test_duplicates_and_truncated_pfx),
	    cmocka_unit_test(test_bad_inputs),
	    cmocka_unit_test(test_strict),
	    cmocka_unit_test(test_hidden_by_label),
	    cmocka_unit_test(test_ec_explicit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
