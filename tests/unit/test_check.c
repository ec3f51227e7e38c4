/* test_check.c - the diagnosis rules (check.h) on sets built in memory:
 * each case asserts the exact set of finding ids a profile produces. */
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

#include "mtlskit/check.h"
#include "mtlskit/mid.h"
#include "mtlskit/load.h"

#include "pki_fixture.h"

/* Runs the check and returns the sorted, unique ids joined by spaces. */
static char *ids(const mtk_set *set, mtk_profile p, const mtk_check_opts *base)
{
	mtk_check_opts o = {0};
	mtk_findings fs = MTK_FINDINGS_INIT;
	mtk_err err = {0};
	static char out[1024];
	const char *names[64];
	size_t n = 0;

	if (base)
		o = *base;
	o.profile = p;
	o.now = NOW;
	assert_int_equal(mtk_check_set(set, &o, &fs, &err), MTK_OK);
	for (size_t i = 0; i < fs.count && n < 64; i++) {
		const char *nm = mtk_finding_name(fs.items[i].id);
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			seen = seen || strcmp(names[k], nm) == 0;
		if (!seen)
			names[n++] = nm;
		assert_non_null(fs.items[i].message);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			if (strcmp(names[k], names[i]) < 0) {
				const char *t = names[i];
				names[i] = names[k];
				names[k] = t;
			}
	out[0] = '\0';
	for (size_t i = 0, len = 0; i < n; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? " " : "", names[i]);
	mtk_findings_free(&fs);
	return out;
}

static void test_profile_names(void **state)
{
	mtk_profile p;
	(void)state;
	assert_int_equal(mtk_profile_from_name("mid", &p), MTK_OK);
	assert_int_equal(p, MTK_PROFILE_MID);
	assert_int_equal(mtk_profile_from_name("upload-ca", &p), MTK_OK);
	assert_int_equal(p, MTK_PROFILE_UPLOAD_CA);
	assert_string_equal(mtk_profile_name(MTK_PROFILE_TRUST_STORE), "trust-store");
	assert_int_equal(mtk_profile_from_name("pkcs12", &p), MTK_E_INVALID_ARG);
	assert_true(mtk_check_rule_applies(MTK_PROFILE_UPLOAD_USER, MTK_F_KEY_IN_UPLOAD));
	assert_false(mtk_check_rule_applies(MTK_PROFILE_MID, MTK_F_KEY_IN_UPLOAD));
}

static void test_mid_clean_and_variants(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	put_cert(&s, "b.pem", p.leaf);
	put_cert(&s, "b.pem", p.inter);
	put_cert(&s, "b.pem", p.root);
	put_key(&s, "b.pem", p.lk, MTK_KEY_PKCS8);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "");
	assert_string_equal(ids(&s, MTK_PROFILE_AUTO, NULL), "");
	mtk_set_free(&s);

	/* key right after the leaf: accepted */
	put_cert(&s, "b.pem", p.leaf);
	put_key(&s, "b.pem", p.lk, MTK_KEY_PKCS8);
	put_cert(&s, "b.pem", p.inter);
	put_cert(&s, "b.pem", p.root);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "");
	mtk_set_free(&s);

	/* PKCS#1 key, root first */
	put_cert(&s, "b.pem", p.root);
	put_cert(&s, "b.pem", p.inter);
	put_cert(&s, "b.pem", p.leaf);
	put_key(&s, "b.pem", p.lk, MTK_KEY_SEC1);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "chain-order key-not-pkcs8");
	/* auto: key form is informational, order a warning */
	assert_string_equal(ids(&s, MTK_PROFILE_AUTO, NULL), "chain-order key-not-pkcs8");
	mtk_set_free(&s);

	/* encrypted, not decrypted */
	put_cert(&s, "b.pem", p.leaf);
	put_cert(&s, "b.pem", p.inter);
	put_cert(&s, "b.pem", p.root);
	put_key(&s, "b.pem", NULL, MTK_KEY_PKCS8_ENCRYPTED);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "key-encrypted");
	mtk_set_free(&s);

	/* no root; no key */
	put_cert(&s, "b.pem", p.leaf);
	put_cert(&s, "b.pem", p.inter);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "chain-incomplete key-missing");
	/* the same for the server profile: incomplete is only informational */
	assert_string_equal(ids(&s, MTK_PROFILE_SERVER, NULL), "chain-incomplete key-missing leaf-no-server-auth");
	mtk_set_free(&s);

	/* the intermediate missing: a gap */
	put_cert(&s, "b.pem", p.leaf);
	put_cert(&s, "b.pem", p.root);
	put_key(&s, "b.pem", p.lk, MTK_KEY_PKCS8);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "chain-broken");
	mtk_set_free(&s);

	/* parts in separate files, any file order: fine */
	put_key(&s, "key.pem", p.lk, MTK_KEY_PKCS8);
	put_cert(&s, "root.pem", p.root);
	put_cert(&s, "leaf.pem", p.leaf);
	put_cert(&s, "inter.pem", p.inter);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "");
	mtk_set_free(&s);
	pki_free(&p);
}

static void test_leaf_rules(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	EVP_PKEY *other = ec_key();
	(void)state;

	pki_make(&p, "serverAuth", 10);
	put_cert(&s, "b.pem", p.leaf);
	put_cert(&s, "b.pem", p.inter);
	put_cert(&s, "b.pem", p.root);
	put_key(&s, "b.pem", p.lk, MTK_KEY_PKCS8);
	put_key(&s, "b.pem", other, MTK_KEY_PKCS8);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL),
			    "cert-expiring key-mismatch leaf-no-client-auth");
	assert_string_equal(ids(&s, MTK_PROFILE_SERVER, NULL), "cert-expiring key-mismatch");
	{
		mtk_check_opts o = {.within_days = 5};
		assert_string_equal(ids(&s, MTK_PROFILE_SERVER, &o), "key-mismatch");
	}
	mtk_set_free(&s);
	pki_free(&p);

	/* self-signed leaf, country UK, CN not an FQDN, on service-now.com SAN */
	{
		struct certspec ss = {"my mid", "UK", false, "clientAuth", "DNS:acme.service-now.com", -1,
				      100, NULL};
		X509 *c = mk_cert(&ss, other, NULL, NULL);
		put_cert(&s, "self.pem", c);
		put_key(&s, "self.pem", other, MTK_KEY_PKCS8);
		assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL),
				    "leaf-self-signed subject-invalid subject-servicenow-domain");
		X509_free(c);
		mtk_set_free(&s);
	}
	EVP_PKEY_free(other);
}

static void test_validity_and_weak(void **state)
{
	EVP_PKEY *rk = ec_key(), *lk = EVP_RSA_gen(1024);
	struct certspec rs = {"Old Root", NULL, true, NULL, NULL, -1000, -5, NULL};
	struct certspec ls = {"m.example.com", NULL, false, "clientAuth", NULL, 3, 30, EVP_sha1()};
	X509 *root = mk_cert(&rs, rk, NULL, NULL);
	X509 *leaf = mk_cert(&ls, lk, root, rk);
	mtk_set s = MTK_SET_INIT;
	(void)state;

	put_cert(&s, "v.pem", leaf);
	put_cert(&s, "v.pem", root);
	put_key(&s, "v.pem", lk, MTK_KEY_PKCS8);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "cert-expired cert-not-yet-valid weak-crypto");
	mtk_set_free(&s);
	X509_free(root);
	X509_free(leaf);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(lk);
}

static void test_uploads_and_trust(void **state)
{
	struct pki p, q;
	mtk_set s = MTK_SET_INIT;
	STACK_OF(X509) *tr = sk_X509_new_null();
	mtk_check_opts o = {0};
	(void)state;

	pki_make(&p, "clientAuth", 0);
	pki_make(&q, "clientAuth", 0);
	put_cert(&s, "u.pem", p.leaf);
	assert_string_equal(ids(&s, MTK_PROFILE_UPLOAD_USER, NULL), "");
	put_key(&s, "u.pem", p.lk, MTK_KEY_PKCS8);
	assert_string_equal(ids(&s, MTK_PROFILE_UPLOAD_USER, NULL), "key-in-upload");
	assert_string_equal(ids(&s, MTK_PROFILE_TRUST_STORE, NULL), "key-in-upload");
	mtk_set_free(&s);

	put_cert(&s, "u.pem", p.leaf);
	put_cert(&s, "u.pem", p.inter);
	assert_string_equal(ids(&s, MTK_PROFILE_UPLOAD_USER, NULL), "chain-order");
	mtk_set_free(&s);

	put_cert(&s, "ca.pem", p.inter);
	put_cert(&s, "ca.pem", p.root);
	assert_string_equal(ids(&s, MTK_PROFILE_UPLOAD_CA, NULL), "");
	put_cert(&s, "ca.pem", q.root);
	assert_string_equal(ids(&s, MTK_PROFILE_UPLOAD_CA, NULL), "chain-broken");
	mtk_set_free(&s);
	put_cert(&s, "ca.pem", p.leaf);
	put_cert(&s, "ca.pem", p.inter);
	put_cert(&s, "ca.pem", p.root);
	assert_string_equal(ids(&s, MTK_PROFILE_UPLOAD_CA, NULL), "chain-order");
	mtk_set_free(&s);
	put_cert(&s, "ca.pem", p.inter);
	assert_string_equal(ids(&s, MTK_PROFILE_UPLOAD_CA, NULL), "chain-incomplete");

	/* --ca */
	sk_X509_push(tr, q.root);
	o.trusted = tr;
	o.trusted_name = "q-root.pem";
	assert_string_equal(ids(&s, MTK_PROFILE_UPLOAD_CA, &o), "chain-incomplete chain-untrusted");
	(void)sk_X509_pop(tr);
	sk_X509_push(tr, p.root);
	assert_string_equal(ids(&s, MTK_PROFILE_UPLOAD_CA, &o), "chain-incomplete");
	sk_X509_free(tr);
	mtk_set_free(&s);
	pki_free(&p);
	pki_free(&q);
}

static void test_containers_and_alias(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	mtk_container_info info = {0};
	mtk_check_opts o = {0};
	mtk_obj ko = {0};
	(void)state;

	pki_make(&p, "clientAuth", 0);
	put_cert(&s, "ks.p12", p.leaf);
	put_cert(&s, "ks.p12", p.inter);
	put_cert(&s, "ks.p12", p.root);
	ko.kind = MTK_OBJ_KEY;
	ko.source = (char *)"ks.p12";
	ko.alias = (char *)"mykey";
	ko.key_form = MTK_KEY_CONTAINER;
	EVP_PKEY_up_ref(p.lk);
	ko.key = p.lk;
	assert_int_equal(mtk_set_add(&s, &ko), MTK_OK);
	info.format = MTK_FMT_PKCS12;
	o.container = &info;
	assert_string_equal(ids(&s, MTK_PROFILE_OUTBOUND, &o), "keystore-type");
	assert_string_equal(ids(&s, MTK_PROFILE_MID, &o), "keystore-type");
	info.format = MTK_FMT_JKS;
	assert_string_equal(ids(&s, MTK_PROFILE_OUTBOUND, &o), "");
	o.expected_alias = MTK_MID_ALIAS;
	assert_string_equal(ids(&s, MTK_PROFILE_MID, &o), "keystore-alias");
	o.expected_alias = "mykey";
	assert_string_equal(ids(&s, MTK_PROFILE_MID, &o), "");
	mtk_set_free(&s);
	pki_free(&p);
}

static void put_alias(mtk_set *set, const char *alias, X509 *c, EVP_PKEY *k)
{
	mtk_obj o = {0};
	o.source = (char *)"store.jks";
	o.alias = (char *)alias;
	o.index = (int)set->count;
	if (k != NULL) {
		o.kind = MTK_OBJ_KEY;
		o.key_form = MTK_KEY_CONTAINER;
		EVP_PKEY_up_ref(k);
		o.key = k;
	} else {
		o.kind = MTK_OBJ_CERT;
		X509_up_ref(c);
		o.cert = c;
	}
	assert_int_equal(mtk_set_add(set, &o), MTK_OK);
}

/* A keystore with two key entries and a trusted certificate: the rules look
 * at the expected entry only. */
static void test_keystore_focus(void **state)
{
	struct pki p, q;
	mtk_set s = MTK_SET_INIT;
	mtk_check_opts o = {0};
	(void)state;

	pki_make(&p, "clientAuth", 0);
	pki_make(&q, "serverAuth", 0);
	put_alias(&s, MTK_MID_ALIAS, NULL, p.lk);
	put_alias(&s, MTK_MID_ALIAS, p.leaf, NULL);
	put_alias(&s, MTK_MID_ALIAS, p.inter, NULL);
	put_alias(&s, MTK_MID_ALIAS, p.root, NULL);
	put_alias(&s, "old", NULL, q.lk);
	put_alias(&s, "old", q.leaf, NULL);
	put_alias(&s, "trusted-ca", q.root, NULL);
	o.expected_alias = MTK_MID_ALIAS;
	assert_string_equal(ids(&s, MTK_PROFILE_MID, &o), "");
	o.expected_alias = "old";
	assert_string_equal(ids(&s, MTK_PROFILE_MID, &o), "chain-incomplete leaf-no-client-auth");
	o.expected_alias = NULL;
	/* outbound: one key entry expected; the first is checked */
	assert_string_equal(ids(&s, MTK_PROFILE_OUTBOUND, &o), "keystore-alias");
	mtk_set_free(&s);
	pki_free(&p);
	pki_free(&q);
}

static void test_loop_and_many(void **state)
{
	EVP_PKEY *ka = ec_key(), *kb = ec_key(), *kl = ec_key();
	struct certspec as = {"CA A", NULL, true, NULL, NULL, -10, 100, NULL};
	struct certspec bs = {"CA B", NULL, true, NULL, NULL, -10, 100, NULL};
	struct certspec ls = {"l.example.com", NULL, false, "clientAuth", NULL, -1, 100, NULL};
	X509 *tmp_b = mk_cert(&bs, kb, NULL, NULL); /* only for its name */
	X509 *a = mk_cert(&as, ka, tmp_b, kb);      /* A issued by B */
	X509 *b = mk_cert(&bs, kb, a, ka);          /* B issued by A */
	X509 *l = mk_cert(&ls, kl, a, ka);
	mtk_set s = MTK_SET_INIT;
	(void)state;

	put_cert(&s, "loop.pem", l);
	put_cert(&s, "loop.pem", a);
	put_cert(&s, "loop.pem", b);
	put_key(&s, "loop.pem", kl, MTK_KEY_PKCS8);
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "chain-broken");
	mtk_set_free(&s);

	/* 50 unrelated self-signed certificates: findings, no crash */
	for (int i = 0; i < 50; i++) {
		struct certspec cs = {"lots.example.com", NULL, false, "clientAuth", NULL, -1, 100, NULL};
		X509 *c = mk_cert(&cs, kl, NULL, NULL);
		put_cert(&s, "many.pem", c);
		X509_free(c);
	}
	assert_string_equal(ids(&s, MTK_PROFILE_MID, NULL), "chain-broken key-missing leaf-self-signed");
	mtk_set_free(&s);
	X509_free(tmp_b);
	X509_free(a);
	X509_free(b);
	X509_free(l);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(kl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profile_names),
	    cmocka_unit_test(test_mid_clean_and_variants),
	    cmocka_unit_test(test_leaf_rules),
	    cmocka_unit_test(test_validity_and_weak),
	    cmocka_unit_test(test_uploads_and_trust),
	    cmocka_unit_test(test_containers_and_alias),
	    cmocka_unit_test(test_keystore_focus),
	    cmocka_unit_test(test_loop_and_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
