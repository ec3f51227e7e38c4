/* test_describe.c - describe.h: printable strings, extensions of
 * certificates and CSRs, CSR signature and attributes, CRL entries, key
 * facts, PKCS#12 self-description and truncated-DER naming, over objects
 * made in-process with OpenSSL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include "formats/pbe.h"
#include "mtlskit/describe.h"
#include "mtlskit/load.h"

static EVP_PKEY *kca, *kleaf;
static X509 *ca, *leaf;

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

/* A self-signed CA certificate. */
static X509 *make(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, bool is_ca)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), is_ca ? 1 : 0x1234);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 30);
	X509_set_pubkey(c, key);
	if (is_ca) {
		add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:1");
		add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(c, c, NID_subject_key_identifier, "hash");
	}
	assert_true(X509_sign(c, ikey ? ikey : key, EVP_sha256()) > 0);
	return c;
}

/* dirName:dn_sect needs a config section; give X509V3 one. */
static X509 *make_leaf(void)
{
	CONF *conf = NCONF_new(NULL);
	long eline = 0;
	BIO *b = BIO_new_mem_buf("[dn_sect]\nCN=Dir Name\nO=Example\n", -1);
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	const char *exts[][2] = {
		{"basicConstraints", "CA:FALSE"},
		{"keyUsage", "digitalSignature,keyAgreement,decipherOnly"},
		{"extendedKeyUsage", "clientAuth,1.3.6.1.4.1.99999.1"},
		{"subjectAltName", "DNS:a.example.com,IP:192.0.2.7,IP:2001:db8::1,email:x@example.com,"
				   "URI:https://example.com/p,otherName:msUPN;UTF8:user@corp.example,"
				   "RID:1.2.3.4,dirName:dn_sect"},
		{"subjectKeyIdentifier", "hash"},
		{"authorityKeyIdentifier", "keyid"},
	};

	assert_true(NCONF_load_bio(conf, b, &eline) == 1);
	BIO_free(b);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 0x1234);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"leaf", -1, -1, 0);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, X509_get_subject_name(ca));
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 30);
	X509_set_pubkey(c, kleaf);
	X509V3_set_ctx(&ctx, ca, c, NULL, NULL, 0);
	X509V3_set_nconf(&ctx, conf);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		X509_EXTENSION *e = X509V3_EXT_nconf(conf, &ctx, exts[i][0], exts[i][1]);
		assert_non_null(e);
		X509_add_ext(c, e, -1);
		X509_EXTENSION_free(e);
	}
	NCONF_free(conf);
	assert_true(X509_sign(c, kca, EVP_sha256()) > 0);
	return c;
}

static int setup(void **state)
{
	(void)state;
	kca = EVP_EC_gen("P-256");
	kleaf = EVP_RSA_gen(2048);
	ca = make("CA", kca, NULL, NULL, true);
	leaf = make_leaf();
	return !(kca && kleaf && ca && leaf);
}

static int teardown(void **state)
{
	(void)state;
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(kca);
	EVP_PKEY_free(kleaf);
	mtk_load_cleanup();
	return 0;
}

static void test_printable(void **state)
{
	char out[64];
	(void)state;
	assert_string_equal(mtk_str_printable("plain", 5, out, sizeof(out)), "plain");
	assert_string_equal(mtk_str_printable("a\033[31mb", 7, out, sizeof(out)), "a\\x1B[31mb");
	assert_string_equal(mtk_str_printable("caf\xc3\xa9", 5, out, sizeof(out)), "caf\xc3\xa9");
	/* invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate */
	assert_string_equal(mtk_str_printable("\x80", 1, out, sizeof(out)), "\\x80");
	assert_string_equal(mtk_str_printable("\xc0\xaf", 2, out, sizeof(out)), "\\xC0\\xAF");
	assert_string_equal(mtk_str_printable("\xed\xa0\x80", 3, out, sizeof(out)), "\\xED\\xA0\\x80");
	/* an embedded NUL is shown, not a terminator */
	assert_string_equal(mtk_str_printable("a\0b", 3, out, sizeof(out)), "a\\x00b");
	/* truncation never splits an escape or a character */
	assert_string_equal(mtk_str_printable("\x01\x02", 2, out, 6), "\\x01");
	assert_string_equal(mtk_str_printable("ab\xc3\xa9", 4, out, 4), "ab");
	assert_string_equal(mtk_str_printable(NULL, 3, out, sizeof(out)), "");
}

static void test_cert_extensions(void **state)
{
	mtk_ext_desc d;
	mtk_err e = {0};
	(void)state;

	assert_int_equal(mtk_ext_describe(X509_get0_extensions(leaf), &d, &e), MTK_OK);
	assert_int_equal(d.count, 6);
	assert_int_equal(d.san.n, 8);
	assert_string_equal(d.san.v[0], "DNS:a.example.com");
	assert_string_equal(d.san.v[1], "IP:192.0.2.7");
	assert_string_equal(d.san.v[2], "IP:2001:db8::1");
	assert_string_equal(d.san.v[3], "email:x@example.com");
	assert_string_equal(d.san.v[4], "URI:https://example.com/p");
	assert_string_equal(d.san.v[5], "UPN:user@corp.example");
	assert_string_equal(d.san.v[6], "RID:1.2.3.4");
	assert_string_equal(d.san.v[7], "DirName:O=Example,CN=Dir Name");
	assert_true(d.has_key_usage);
	assert_false(d.key_usage_critical);
	assert_int_equal(d.key_usage.n, 3);
	assert_string_equal(d.key_usage.v[0], "digitalSignature");
	assert_string_equal(d.key_usage.v[1], "keyAgreement");
	assert_string_equal(d.key_usage.v[2], "decipherOnly");
	assert_true(d.has_eku);
	assert_int_equal(d.eku.n, 2);
	assert_string_equal(d.eku.v[0], "clientAuth");
	assert_string_equal(d.eku.v[1], "1.3.6.1.4.1.99999.1");
	assert_true(d.has_basic_constraints);
	assert_false(d.ca);
	assert_int_equal(d.path_len, -1);
	assert_int_equal(strlen(d.ski), 59); /* 20 bytes, SHA-1 of the key */
	assert_int_equal(d.malformed.n, 0);
	mtk_ext_desc_free(&d);

	assert_int_equal(mtk_ext_describe(X509_get0_extensions(ca), &d, &e), MTK_OK);
	assert_true(d.ca);
	assert_true(d.basic_constraints_critical);
	assert_int_equal(d.path_len, 1);
	assert_true(d.key_usage_critical);
	assert_false(d.has_eku);
	assert_int_equal(d.san.n, 0);
	assert_string_equal(d.aki, "");
	mtk_ext_desc_free(&d);

	/* the leaf's AKI is the CA's SKI */
	{
		mtk_ext_desc a, b;
		assert_int_equal(mtk_ext_describe(X509_get0_extensions(leaf), &a, &e), MTK_OK);
		assert_int_equal(mtk_ext_describe(X509_get0_extensions(ca), &b, &e), MTK_OK);
		assert_string_equal(a.aki, b.ski);
		mtk_ext_desc_free(&a);
		mtk_ext_desc_free(&b);
	}
	/* no extensions at all */
	assert_int_equal(mtk_ext_describe(NULL, &d, &e), MTK_OK);
	assert_int_equal(d.count, 0);
	assert_false(d.has_basic_constraints);
	mtk_ext_desc_free(&d);
	mtk_ext_desc_free(NULL);
}

static void test_malformed_extension(void **state)
{
	STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;
	mtk_ext_desc d;
	mtk_err e = {0};
	(void)state;

	/* a SAN whose value is not a GeneralNames SEQUENCE */
	ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x04\x02hi", 4);
	ext = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, os);
	sk_X509_EXTENSION_push(sk, ext);
	assert_int_equal(mtk_ext_describe(sk, &d, &e), MTK_OK);
	assert_int_equal(d.malformed.n, 1);
	assert_string_equal(d.malformed.v[0], "subjectAltName");
	assert_int_equal(d.san.n, 0);
	mtk_ext_desc_free(&d);
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	ASN1_OCTET_STRING_free(os);
}

static void test_san_escapes_control_chars(void **state)
{
	GENERAL_NAMES *gs = GENERAL_NAMES_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
	mtk_ext_desc d;
	mtk_err e = {0};
	(void)state;

	ASN1_STRING_set(s, "evil\033]0;x\007.example", 18);
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	sk_GENERAL_NAME_push(gs, g);
	assert_int_equal(X509V3_add1_i2d(&sk, NID_subject_alt_name, gs, 0, 0), 1);
	assert_int_equal(mtk_ext_describe(sk, &d, &e), MTK_OK);
	assert_string_equal(d.san.v[0], "DNS:evil\\x1B]0;x\\x07.example");
	mtk_ext_desc_free(&d);
	GENERAL_NAMES_free(gs);
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
}

static X509_REQ *make_csr(EVP_PKEY *k, bool with_pw)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *sk = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509_REQ_set_version(r, X509_REQ_VERSION_1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"req.example.com", -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_NAME_free(n);
	X509_REQ_set_pubkey(r, k);
	X509V3_set_ctx(&ctx, NULL, NULL, r, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:req.example.com");
	sk_X509_EXTENSION_push(sk = sk_X509_EXTENSION_new_null(), e);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage, "clientAuth");
	sk_X509_EXTENSION_push(sk, e);
	X509_REQ_add_extensions(r, sk);
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	if (with_pw) {
		X509_REQ_add1_attr_by_NID(r, NID_pkcs9_challengePassword, MBSTRING_ASC,
					  (const unsigned char *)"hunter2", -1);
		X509_REQ_add1_attr_by_NID(r, NID_pkcs9_unstructuredName, MBSTRING_ASC,
					  (const unsigned char *)"box 7", -1);
	}
	assert_true(X509_REQ_sign(r, k, EVP_sha1()) > 0);
	return r;
}

static void test_csr(void **state)
{
	X509_REQ *r = make_csr(kleaf, true);
	mtk_csr_desc d;
	mtk_err e = {0};
	(void)state;

	assert_int_equal(mtk_csr_describe(r, &d, &e), MTK_OK);
	assert_string_equal(d.subject, "CN=req.example.com");
	assert_int_equal(d.version, 1);
	assert_true(d.sig_valid);
	assert_true(d.sig_weak); /* signed with SHA-1 above */
	assert_string_equal(d.sig_alg, "sha1WithRSAEncryption");
	assert_string_equal(d.key.type, "RSA");
	assert_int_equal(d.key.bits, 2048);
	assert_int_equal(d.ext.san.n, 1);
	assert_string_equal(d.ext.san.v[0], "DNS:req.example.com");
	assert_string_equal(d.ext.eku.v[0], "clientAuth");
	assert_int_equal(d.attributes.n, 2);
	/* the challenge password is never shown */
	assert_string_equal(d.attributes.v[0], "challengePassword (present, not shown)");
	assert_null(strstr(d.attributes.v[0], "hunter2"));
	assert_string_equal(d.attributes.v[1], "unstructuredName: box 7");
	mtk_csr_desc_free(&d);

	/* a different key in the CSR: the self-signature no longer verifies */
	X509_REQ_set_pubkey(r, kca);
	assert_int_equal(mtk_csr_describe(r, &d, &e), MTK_OK);
	assert_false(d.sig_valid);
	assert_string_equal(d.key.type, "EC");
	assert_string_equal(d.key.curve, "P-256");
	mtk_csr_desc_free(&d);
	X509_REQ_free(r);
}

static void test_crl(void **state)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	mtk_crl_desc d;
	mtk_err e = {0};
	(void)state;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	X509_gmtime_adj(t, 0);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, 86400);
	X509_CRL_set1_nextUpdate(crl, t);
	for (int i = 0; i < 3; i++) {
		X509_REVOKED *rv = X509_REVOKED_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();
		ASN1_INTEGER_set(sn, 0xA0 + i);
		X509_REVOKED_set_serialNumber(rv, sn);
		X509_REVOKED_set_revocationDate(rv, t);
		if (i == 1) {
			ASN1_ENUMERATED *why = ASN1_ENUMERATED_new();
			ASN1_ENUMERATED_set(why, 1); /* keyCompromise */
			X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, why, 0, 0);
			ASN1_ENUMERATED_free(why);
		}
		X509_CRL_add0_revoked(crl, rv);
		ASN1_INTEGER_free(sn);
	}
	{
		ASN1_INTEGER *num = ASN1_INTEGER_new();
		ASN1_INTEGER_set(num, 4096);
		X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
		ASN1_INTEGER_free(num);
	}
	X509_CRL_sort(crl);
	assert_true(X509_CRL_sign(crl, kca, EVP_sha256()) > 0);

	assert_int_equal(mtk_crl_describe(crl, &d, &e), MTK_OK);
	assert_string_equal(d.issuer, "CN=CA");
	assert_int_equal(d.version, 2);
	assert_true(d.has_next_update);
	assert_int_equal(d.next_update - d.this_update, 86400);
	assert_string_equal(d.crl_number, "4096");
	assert_int_equal(d.revoked_count, 3);
	assert_string_equal(d.revoked[0].serial, "a0");
	assert_string_equal(d.revoked[1].serial, "a1");
	assert_string_equal(d.revoked[1].reason, "keyCompromise");
	assert_string_equal(d.revoked[2].reason, "");
	assert_string_equal(d.sig_alg, "ecdsa-with-SHA256");
	assert_false(d.sig_weak);
	mtk_crl_desc_free(&d);
	mtk_crl_desc_free(NULL);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

static void test_key_facts(void **state)
{
	EVP_PKEY *small = EVP_RSA_gen(1024);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	mtk_key_facts f;
	(void)state;

	mtk_key_facts_get(small, &f);
	assert_string_equal(f.type, "RSA");
	assert_int_equal(f.bits, 1024);
	assert_true(f.weak);
	mtk_key_facts_get(kleaf, &f);
	assert_false(f.weak);
	mtk_key_facts_get(kca, &f);
	assert_string_equal(f.curve, "P-256");
	assert_false(f.weak);
	mtk_key_facts_get(ed, &f);
	assert_string_equal(f.type, "Ed25519");
	assert_string_equal(f.curve, "");
	mtk_key_facts_get(NULL, &f);
	assert_string_equal(f.type, "unknown");
	assert_true(mtk_sig_nid_weak(NID_sha1WithRSAEncryption));
	assert_true(mtk_sig_nid_weak(NID_md5WithRSAEncryption));
	assert_true(mtk_sig_nid_weak(NID_ecdsa_with_SHA1));
	assert_false(mtk_sig_nid_weak(NID_sha256WithRSAEncryption));
	assert_false(mtk_sig_nid_weak(NID_ED25519));
	EVP_PKEY_free(small);
	EVP_PKEY_free(ed);
}

static uint8_t *p12_der(int cert_nid, int key_nid, int iter, int mac_iter, const char *pw, size_t *len)
{
	STACK_OF(X509) *cas = sk_X509_new_null();
	PKCS12 *p12;
	unsigned char *der = NULL;
	int n;

	sk_X509_push(cas, ca);
	p12 = PKCS12_create(pw, "alias-1", kleaf, leaf, cas, key_nid, cert_nid, iter, mac_iter, 0);
	assert_non_null(p12);
	n = i2d_PKCS12(p12, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	PKCS12_free(p12);
	sk_X509_free(cas);
	return der;
}

static void test_p12(void **state)
{
	mtk_p12_desc d;
	mtk_err e = {0};
	size_t len;
	uint8_t *der;
	(void)state;

	der = p12_der(NID_aes_256_cbc, NID_aes_256_cbc, 3000, 4000, "pw", &len);
	assert_int_equal(mtk_p12_describe(der, len, &d, &e), MTK_OK);
	assert_true(d.has_mac);
	assert_string_equal(d.mac_alg, "sha256");
	assert_int_equal(d.mac_iter, 4000);
	assert_string_equal(d.cert_enc, "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC");
	assert_int_equal(d.cert_iter, 3000);
	assert_string_equal(d.key_enc, "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC");
	assert_int_equal(d.key_iter, 3000);
	assert_int_equal(d.safes, 2);
	assert_int_equal(d.encrypted_safes, 1);
	assert_int_equal(d.plain_certs, 0);
	assert_false(d.legacy);

	/* truncated: not a PFX any more, and named as truncated DER */
	{
		size_t declared = 0;
		mtk_err_clear(&e);
		assert_int_equal(mtk_p12_describe(der, len - 10, &d, &e), MTK_E_PKCS12);
		assert_true(mtk_der_truncated(der, len - 10, &declared));
		assert_int_equal(declared, len);
		assert_false(mtk_der_truncated(der, len, &declared));
	}
	OPENSSL_free(der);

	/* certificates not encrypted (-certpbe NONE), no MAC */
	der = p12_der(-1, NID_aes_128_cbc, 2048, -1, "pw", &len);
	assert_int_equal(mtk_p12_describe(der, len, &d, &e), MTK_OK);
	assert_false(d.has_mac);
	assert_string_equal(d.cert_enc, "none");
	assert_int_equal(d.plain_certs, 2);
	assert_string_equal(d.key_enc, "PBES2/PBKDF2/hmacWithSHA256/AES-128-CBC");
	OPENSSL_free(der);

	/* garbage */
	mtk_err_clear(&e);
	assert_int_equal(mtk_p12_describe((const uint8_t *)"\x30\x03\x02\x01\x03", 5, &d, &e),
			 MTK_E_PKCS12);
	assert_int_equal(e.code, MTK_E_PKCS12);
	assert_int_equal(mtk_p12_describe((const uint8_t *)"", 0, &d, &e), MTK_E_PKCS12);
}

static void test_der_truncated(void **state)
{
	size_t dl = 99;
	(void)state;
	assert_false(mtk_der_truncated((const uint8_t *)"", 0, &dl));
	assert_true(mtk_der_truncated((const uint8_t *)"\x30", 1, &dl));
	assert_int_equal(dl, 0);
	assert_true(mtk_der_truncated((const uint8_t *)"\x30\x82\x01", 3, &dl));
	assert_true(mtk_der_truncated((const uint8_t *)"\x30\x82\x01\x00\x00", 5, &dl));
	assert_int_equal(dl, 260);
	assert_false(mtk_der_truncated((const uint8_t *)"\x30\x01\x00", 3, &dl));
	assert_false(mtk_der_truncated((const uint8_t *)"\x31\x05", 2, &dl)); /* not a SEQUENCE */
	assert_false(mtk_der_truncated((const uint8_t *)"\x30\x80\x00", 3, &dl)); /* indefinite */
	assert_false(mtk_der_truncated((const uint8_t *)"\x30\x85\x01\x01\x01\x01\x01", 7, &dl));
}

static void test_pbe_describe(void **state)
{
	X509_ALGOR *a = PKCS5_pbe_set(NID_pbe_WithSHA1And40BitRC2_CBC, 1234, NULL, 8);
	char out[128];
	long iter = 0;
	(void)state;

	assert_non_null(a);
	mtk_pbe_describe(a, out, sizeof(out), &iter);
	assert_string_equal(out, "PBE-SHA1-RC2-40");
	assert_int_equal(iter, 1234);
	X509_ALGOR_free(a);
	mtk_pbe_describe(NULL, out, sizeof(out), &iter);
	assert_string_equal(out, "none");
	assert_int_equal(iter, 0);
}

static void test_strlist(void **state)
{
	mtk_strlist l = {0};
	(void)state;
	assert_int_equal(mtk_strlist_add(&l, "a"), MTK_OK);
	assert_int_equal(mtk_strlist_add(&l, "b"), MTK_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1], "b");
	mtk_strlist_free(&l);
	assert_int_equal(l.n, 0);
	mtk_strlist_free(&l); /* idempotent */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_cert_extensions),
		cmocka_unit_test(test_malformed_extension),
		cmocka_unit_test(test_san_escapes_control_chars),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_key_facts),
		cmocka_unit_test(test_p12),
		cmocka_unit_test(test_der_truncated),
		cmocka_unit_test(test_pbe_describe),
		cmocka_unit_test(test_strlist),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
