/* test_convert.c - the PFX writer (pkcs12.h) and the conversion selection
 * and encoders (convert.h), over fixtures made in-process: every profile
 * read back by the loader, Java attributes where they belong, two keys in
 * one PFX, key-missing / key-mismatch findings, the specific error codes. */
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
#include "mtlskit/cert.h"
#include "mtlskit/convert.h"
#include "mtlskit/load.h"
#include "mtlskit/pkcs12.h"

static EVP_PKEY *kroot, *kint, *kleaf, *kleaf2;
static X509 *root, *inter, *leaf, *leaf2;
static mtk_secret pw = {(char *)"changeit", 8};

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

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, bool ca,
		       long serial)
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
	X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 30);
	X509_set_pubkey(c, key);
	add_ext(c, issuer ? issuer : c, NID_basic_constraints,
		ca ? "critical,CA:TRUE" : "CA:FALSE");
	assert_true(X509_sign(c, ikey ? ikey : key, EVP_sha256()) > 0);
	return c;
}

static int setup(void **state)
{
	(void)state;
	kroot = EVP_EC_gen("P-256");
	kint = EVP_EC_gen("P-256");
	kleaf = EVP_EC_gen("P-256");
	kleaf2 = EVP_EC_gen("P-384");
	root = make_cert("Test Root", kroot, NULL, NULL, true, 1);
	inter = make_cert("Test Intermediate", kint, root, kroot, true, 2);
	leaf = make_cert("mid01.example.com", kleaf, inter, kint, false, 3);
	leaf2 = make_cert("mid02.example.com", kleaf2, inter, kint, false, 4);
	return !(kroot && kint && kleaf && kleaf2 && root && inter && leaf && leaf2);
}

static int teardown(void **state)
{
	(void)state;
	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	X509_free(leaf2);
	EVP_PKEY_free(kroot);
	EVP_PKEY_free(kint);
	EVP_PKEY_free(kleaf);
	EVP_PKEY_free(kleaf2);
	mtk_load_cleanup();
	return 0;
}

static STACK_OF(X509) * stack_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	if (a)
		sk_X509_push(sk, a);
	if (b)
		sk_X509_push(sk, b);
	return sk;
}

/* Writes a PFX with one profile and returns the loaded set and its info. */
static void write_and_load(mtk_p12_compat compat, const mtk_p12_trusted *tr, size_t ntr,
			   mtk_set *set, mtk_container_info *info, mtk_buf *out)
{
	STACK_OF(X509) *chain = stack_of(inter, root);
	mtk_p12_spec s = {.compat = compat,
			  .key = kleaf,
			  .leaf = leaf,
			  .chain = chain,
			  .trusted = tr,
			  .ntrusted = ntr,
			  .alias = "My Key",
			  .pass = &pw,
			  .now_ms = 1700000000123LL};
	mtk_load_opts lo = {.pass = &pw, .require_decrypt = true};
	mtk_err e = {0};

	out->secret = true;
	assert_int_equal(mtk_p12_write(&s, out, &e), MTK_OK);
	sk_X509_free(chain);
	assert_int_equal(mtk_detect(out->data, out->len), MTK_FMT_PKCS12);
	assert_int_equal(mtk_load_mem(set, "w.p12", out->data, out->len, &lo, info, NULL, &e),
			 MTK_OK);
}

static void test_profiles_read_back(void **state)
{
	static const struct {
		mtk_p12_compat c;
		const char *mac, *key_enc, *cert_enc;
		long iter;
	} want[] = {
	    {MTK_P12_MODERN, "sha256", "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC",
	     "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC", 2048},
	    {MTK_P12_LEGACY, "sha1", "PBE-SHA1-3DES", "PBE-SHA1-3DES", 2048},
	    {MTK_P12_JAVA, "sha256", "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC",
	     "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC", 10000},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		mtk_set set = MTK_SET_INIT;
		mtk_container_info info;
		mtk_buf out = MTK_BUF_SECRET_INIT;
		size_t keys = 0, certs = 0;

		write_and_load(want[i].c, NULL, 0, &set, &info, &out);
		assert_true(info.p12_has_mac);
		assert_string_equal(info.p12_mac_alg, want[i].mac);
		assert_int_equal(info.p12_mac_iter, want[i].iter);
		assert_string_equal(info.p12_key_enc, want[i].key_enc);
		assert_string_equal(info.p12_cert_enc, want[i].cert_enc);
		assert_false(info.p12_legacy && want[i].c != MTK_P12_LEGACY);
		for (size_t j = 0; j < set.count; j++) {
			if (set.objs[j].kind == MTK_OBJ_KEY) {
				keys++;
				assert_int_equal(EVP_PKEY_eq(set.objs[j].key, kleaf), 1);
				assert_string_equal(set.objs[j].alias, want[i].c == MTK_P12_JAVA
									   ? "my key"
									   : "My Key");
			}
			certs += set.objs[j].kind == MTK_OBJ_CERT;
		}
		assert_int_equal(keys, 1);
		assert_int_equal(certs, 3);
		mtk_set_free(&set);
		mtk_buf_free(&out);
	}
}

/* Java's attributes: localKeyID "Time <ms>" on key and leaf, the trusted
 * OID on the trusted entry only. */
static void test_java_attributes(void **state)
{
	mtk_p12_trusted tr[1] = {{root, "Root CA"}};
	mtk_set set = MTK_SET_INIT;
	mtk_container_info info;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	const unsigned char *p;
	PKCS12 *p12;
	STACK_OF(PKCS7) * safes;
	ASN1_OBJECT *trusted_oid = OBJ_txt2obj("2.16.840.1.113894.746875.1.1", 1);
	int ntrusted = 0, nkeyid = 0;
	(void)state;

	write_and_load(MTK_P12_JAVA, tr, 1, &set, &info, &out);
	p = out.data;
	p12 = d2i_PKCS12(NULL, &p, (long)out.len);
	assert_non_null(p12);
	safes = PKCS12_unpack_authsafes(p12);
	assert_non_null(safes);
	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags =
		    OBJ_obj2nid(p7->type) == NID_pkcs7_data
			? PKCS12_unpack_p7data(p7)
			: PKCS12_unpack_p7encdata(p7, pw.s, (int)pw.len);
		assert_non_null(bags);
		for (int j = 0; j < sk_PKCS12_SAFEBAG_num(bags); j++) {
			PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, j);
			const STACK_OF(X509_ATTRIBUTE) *attrs = PKCS12_SAFEBAG_get0_attrs(bag);
			const ASN1_TYPE *kid = PKCS12_get_attr_gen(attrs, NID_localKeyID);
			X509 *x = PKCS12_SAFEBAG_get_nid(bag) == NID_certBag
				      ? PKCS12_SAFEBAG_get1_cert(bag)
				      : NULL;
			bool has_trusted = X509at_get_attr_by_OBJ(attrs, trusted_oid, -1) >= 0;

			if (kid != NULL) {
				nkeyid++;
				assert_int_equal(kid->value.octet_string->length, 18);
				assert_memory_equal(kid->value.octet_string->data,
						    "Time 1700000000123", 18);
			}
			if (has_trusted) {
				ntrusted++;
				assert_non_null(x);
				assert_int_equal(X509_cmp(x, root), 0);
				char *fn = PKCS12_get_friendlyname(bag);
				assert_string_equal(fn, "root ca");
				OPENSSL_free(fn);
			}
			if (x != NULL && X509_cmp(x, leaf) == 0)
				assert_false(has_trusted);
			X509_free(x);
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	assert_int_equal(ntrusted, 1);
	assert_int_equal(nkeyid, 2); /* key bag and its certificate */
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	ASN1_OBJECT_free(trusted_oid);
	mtk_set_free(&set);
	mtk_buf_free(&out);
}

static void test_write_refusals(void **state)
{
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_err e = {0};
	mtk_secret bad = {(char *)"caf\xc3\xa9", 5};
	mtk_p12_spec s = {.compat = MTK_P12_MODERN, .key = kleaf, .leaf = leaf2, .pass = &pw};
	(void)state;

	assert_int_equal(mtk_p12_write(&s, &out, &e), MTK_E_KEY_MISMATCH);
	s.leaf = NULL;
	mtk_err_clear(&e);
	assert_int_equal(mtk_p12_write(&s, &out, &e), MTK_E_INVALID_ARG);
	s.leaf = leaf;
	s.pass = NULL;
	mtk_err_clear(&e);
	assert_int_equal(mtk_p12_write(&s, &out, &e), MTK_E_INVALID_ARG);
	s.pass = &bad;
	s.compat = MTK_P12_JAVA;
	mtk_err_clear(&e);
	assert_int_equal(mtk_p12_write(&s, &out, &e), MTK_E_INVALID_ARG);
	s.pass = &pw;
	s.alias = "caf\xc3\xa9";
	mtk_err_clear(&e);
	assert_int_equal(mtk_p12_write(&s, &out, &e), MTK_E_INVALID_ARG);
	s.alias = NULL;
	s.key = NULL;
	mtk_err_clear(&e);
	assert_int_equal(mtk_p12_write(&s, &out, &e), MTK_E_INVALID_ARG);
	assert_int_equal(out.len, 0);
	mtk_buf_free(&out);
}

/* A PFX holding two keys (aliases "one" and "two"), built with OpenSSL. */
static void two_key_pfx(mtk_buf *out, bool second_cert)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	PKCS12_SAFEBAG *b;
	PKCS12 *p12;
	unsigned char *der = NULL;
	int n;

	b = PKCS12_add_key(&bags, kleaf, 0, 2048, NID_aes_256_cbc, pw.s);
	PKCS12_add_friendlyname(b, "one", -1);
	b = PKCS12_add_key(&bags, kleaf2, 0, 2048, NID_aes_256_cbc, pw.s);
	PKCS12_add_friendlyname(b, "two", -1);
	PKCS12_add_cert(&bags, leaf);
	if (second_cert)
		PKCS12_add_cert(&bags, leaf2);
	PKCS12_add_cert(&bags, inter);
	STACK_OF(PKCS7) *safes = NULL;
	assert_non_null(PKCS12_add_safe(&safes, bags, -1, 0, NULL));
	p12 = PKCS12_add_safes(safes, 0);
	assert_non_null(p12);
	assert_int_equal(PKCS12_set_mac(p12, pw.s, -1, NULL, 0, 2048, EVP_sha256()), 1);
	n = i2d_PKCS12(p12, &der);
	assert_true(n > 0);
	assert_int_equal(mtk_buf_append(out, der, (size_t)n), MTK_OK);
	OPENSSL_free(der);
	PKCS12_free(p12);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
}

static void test_two_keys(void **state)
{
	mtk_load_opts lo = {.pass = &pw, .require_decrypt = true};
	mtk_findings fs = MTK_FINDINGS_INIT;
	mtk_conv_sel sel;
	(void)state;

	for (int variant = 0; variant < 2; variant++) {
		mtk_buf b = MTK_BUF_SECRET_INIT;
		mtk_set set = MTK_SET_INIT;
		mtk_err e = {0};

		two_key_pfx(&b, variant == 0);
		assert_int_equal(mtk_load_mem(&set, "two.p12", b.data, b.len, &lo, NULL, NULL, &e),
				 MTK_OK);
		if (variant == 0) {
			/* both keys have their certificate: ambiguous without --alias */
			assert_int_equal(
			    mtk_conv_select(&set, NULL, MTK_CONV_NEED_KEY_AND_CERT, &sel, &fs, &e),
			    MTK_E_USAGE);
			assert_non_null(strstr(e.detail, "one, two"));
		} else {
			/* only "one" has its certificate: chosen */
			assert_int_equal(
			    mtk_conv_select(&set, NULL, MTK_CONV_NEED_KEY_AND_CERT, &sel, &fs, &e),
			    MTK_OK);
			assert_int_equal(EVP_PKEY_eq(sel.key, kleaf), 1);
			mtk_conv_sel_free(&sel);
		}
		mtk_err_clear(&e);
		assert_int_equal(mtk_conv_select(&set, "TWO", 0, &sel, &fs, &e), MTK_OK);
		assert_int_equal(EVP_PKEY_eq(sel.key, kleaf2), 1);
		assert_int_equal(sel.nkeys, 2);
		if (variant == 0) {
			assert_int_equal(X509_cmp(sel.leaf, leaf2), 0);
			assert_int_equal(sk_X509_num(sel.chain), 1);
		}
		mtk_conv_sel_free(&sel);
		mtk_err_clear(&e);
		assert_int_equal(mtk_conv_select(&set, "three", 0, &sel, &fs, &e), MTK_E_NOT_FOUND);
		/* "two" without its certificate (variant 1): a warning, not an error */
		assert_int_equal(fs.count, variant == 0 ? 0 : 1);
		if (variant == 1) {
			assert_int_equal(fs.items[0].id, MTK_F_KEY_MISMATCH);
			assert_int_equal(fs.items[0].severity, MTK_SEV_WARNING);
		}
		mtk_findings_free(&fs);
		mtk_set_free(&set);
		mtk_buf_free(&b);
	}
	mtk_findings_free(&fs);
}

static void add_cert(mtk_set *set, X509 *x)
{
	mtk_obj o = {.kind = MTK_OBJ_CERT, .source = (char *)"in.pem", .cert = x};
	X509_up_ref(x);
	assert_int_equal(mtk_set_add(set, &o), MTK_OK);
}

static void add_key(mtk_set *set, EVP_PKEY *k)
{
	mtk_obj o = {
	    .kind = MTK_OBJ_KEY, .source = (char *)"key.pem", .key = k, .key_form = MTK_KEY_PKCS8};
	EVP_PKEY_up_ref(k);
	assert_int_equal(mtk_set_add(set, &o), MTK_OK);
}

static void test_findings(void **state)
{
	mtk_set set = MTK_SET_INIT;
	mtk_findings fs = MTK_FINDINGS_INIT;
	mtk_conv_sel sel;
	mtk_err e = {0};
	(void)state;

	add_cert(&set, root);
	add_cert(&set, leaf);
	add_cert(&set, inter);
	add_cert(&set, leaf); /* the same certificate twice counts once */
	assert_int_equal(mtk_conv_select(&set, NULL, MTK_CONV_NEED_KEY_AND_CERT, &sel, &fs, &e),
			 MTK_E_FINDINGS);
	assert_int_equal(fs.count, 1);
	assert_int_equal(fs.items[0].id, MTK_F_KEY_MISSING);
	assert_int_equal(fs.items[0].severity, MTK_SEV_ERROR);
	assert_non_null(strstr(fs.items[0].message, "never exportable"));
	mtk_findings_free(&fs);

	/* no key needed: the chain in order, duplicates dropped */
	assert_int_equal(mtk_conv_select(&set, NULL, 0, &sel, &fs, &e), MTK_OK);
	assert_int_equal(sel.ncerts, 3);
	assert_int_equal(X509_cmp(sel.leaf, leaf), 0);
	assert_int_equal(sk_X509_num(sel.chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sel.chain, 1), root), 0);
	assert_int_equal(sk_X509_num(sel.unrelated), 0);
	assert_true(sel.complete);
	mtk_conv_sel_free(&sel);

	add_key(&set, kroot); /* only the root's key: matches, so not a mismatch */
	mtk_err_clear(&e);
	assert_int_equal(mtk_conv_select(&set, NULL, MTK_CONV_NEED_KEY_AND_CERT, &sel, &fs, &e),
			 MTK_OK);
	assert_int_equal(X509_cmp(sel.leaf, root), 0);
	mtk_conv_sel_free(&sel);
	mtk_set_free(&set);

	add_key(&set, kleaf2);
	add_cert(&set, leaf);
	mtk_err_clear(&e);
	assert_int_equal(mtk_conv_select(&set, NULL, MTK_CONV_NEED_KEY_AND_CERT, &sel, &fs, &e),
			 MTK_E_FINDINGS);
	assert_int_equal(fs.count, 1);
	assert_int_equal(fs.items[0].id, MTK_F_KEY_MISMATCH);
	mtk_findings_free(&fs);
	/* for PEM output the same is a warning and the conversion goes on */
	mtk_err_clear(&e);
	assert_int_equal(mtk_conv_select(&set, NULL, 0, &sel, &fs, &e), MTK_OK);
	assert_int_equal(fs.items[0].severity, MTK_SEV_WARNING);
	mtk_conv_sel_free(&sel);
	mtk_findings_free(&fs);
	mtk_set_free(&set);

	add_cert(&set, leaf);
	mtk_err_clear(&e);
	assert_int_equal(mtk_conv_select(&set, NULL, MTK_CONV_KEY_ONLY, &sel, &fs, &e),
			 MTK_E_USAGE);
	mtk_set_free(&set);
	add_key(&set, kleaf);
	mtk_err_clear(&e);
	assert_int_equal(mtk_conv_select(&set, NULL, MTK_CONV_NEED_KEY_AND_CERT, &sel, &fs, &e),
			 MTK_E_USAGE);
	mtk_set_free(&set);
}

static void test_pkcs8(void **state)
{
	mtk_buf b = MTK_BUF_SECRET_INIT;
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {.pass = &pw, .require_decrypt = true};
	mtk_secret wrong = {(char *)"nope", 4};
	mtk_err e = {0};
	(void)state;

	assert_int_equal(mtk_key_to_pkcs8(kleaf, NULL, true, &b, &e), MTK_OK);
	assert_memory_equal(b.data, "-----BEGIN PRIVATE KEY-----\n", 28);
	mtk_buf_free(&b);
	assert_int_equal(mtk_key_to_pkcs8(kleaf, &pw, true, &b, &e), MTK_OK);
	assert_memory_equal(b.data, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 38);
	assert_int_equal(mtk_load_mem(&set, "k.pem", b.data, b.len, &lo, NULL, NULL, &e), MTK_OK);
	assert_int_equal(set.objs[0].key_form, MTK_KEY_PKCS8_ENCRYPTED);
	assert_string_equal(set.objs[0].enc_desc, "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC");
	assert_int_equal(EVP_PKEY_eq(set.objs[0].key, kleaf), 1);
	mtk_set_free(&set);
	lo.pass = &wrong;
	assert_int_equal(mtk_load_mem(&set, "k.pem", b.data, b.len, &lo, NULL, NULL, &e),
			 MTK_E_BAD_PASSWORD);
	mtk_buf_free(&b);
	mtk_err_clear(&e);
	assert_int_equal(mtk_key_to_pkcs8(NULL, NULL, false, &b, &e), MTK_E_INVALID_ARG);
}

static void test_names(void **state)
{
	mtk_conv_target t;
	mtk_p12_compat c;
	(void)state;
	assert_int_equal(mtk_conv_target_from_name("PFX", &t), MTK_OK);
	assert_int_equal(t, MTK_CONV_PKCS12);
	assert_int_equal(mtk_conv_target_from_name("jceks", &t), MTK_OK);
	assert_string_equal(mtk_conv_target_name(t), "jceks");
	assert_int_equal(mtk_conv_target_from_name("xml", &t), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_p12_compat_from_name("java", &c), MTK_OK);
	assert_int_equal(c, MTK_P12_JAVA);
	assert_int_equal(mtk_p12_compat_from_name("windows", &c), MTK_E_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profiles_read_back),
	    cmocka_unit_test(test_java_attributes),
	    cmocka_unit_test(test_write_refusals),
	    cmocka_unit_test(test_two_keys),
	    cmocka_unit_test(test_findings),
	    cmocka_unit_test(test_pkcs8),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
