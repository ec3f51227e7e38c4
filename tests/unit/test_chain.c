/* test_chain.c - mtk_chain_build (chain.h): leaf → intermediate → root from
 * any order, the leaf chosen by key or by position, a missing issuer, an
 * issuer from extra, duplicates, cross-signed intermediates, a broken link,
 * an issuer loop, and mtk_cert_issued_by. */
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

#include "mtlskit/chain.h"
#include "mtlskit/load.h"

#include "pki_fixture.h"

static void build_ok(const mtk_set *s, STACK_OF(X509) *extra, mtk_chain *c)
{
	mtk_err err = {0};

	assert_int_equal(mtk_chain_build(s, extra, 0, c, &err), MTK_OK);
	assert_int_equal(err.code, MTK_OK);
}

static void test_shuffled(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	mtk_chain c;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	put_cert(&s, "c.pem", p.root);
	put_cert(&s, "c.pem", p.leaf);
	put_cert(&s, "c.pem", p.inter);
	build_ok(&s, NULL, &c);
	assert_ptr_equal(c.leaf, p.leaf);
	assert_ptr_equal(c.leaf_obj, &s.objs[1]);
	assert_int_equal(sk_X509_num(c.cas), 2);
	assert_ptr_equal(sk_X509_value(c.cas, 0), p.inter);
	assert_ptr_equal(sk_X509_value(c.cas, 1), p.root);
	assert_true(c.complete);
	assert_false(c.input_order_ok);
	assert_false(c.broken);
	assert_false(c.loop);
	assert_false(c.key_matches);
	assert_null(c.key);
	assert_int_equal(c.nkeys, 0);
	assert_int_equal(sk_X509_num(c.unused), 0);
	mtk_chain_free(&c);
	assert_null(c.leaf);
	mtk_set_free(&s);

	/* the same certificates leaf → root: in order */
	put_cert(&s, "c.pem", p.leaf);
	put_cert(&s, "c.pem", p.inter);
	put_cert(&s, "c.pem", p.root);
	build_ok(&s, NULL, &c);
	assert_true(c.input_order_ok);
	assert_true(c.complete);
	assert_int_equal(sk_X509_num(c.cas), 2);
	mtk_chain_free(&c);
	mtk_set_free(&s);
	pki_free(&p);
}

static void test_leaf_by_key(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	mtk_chain c;
	EVP_PKEY *stray;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	/* the key of the intermediate makes it the leaf */
	put_cert(&s, "c.pem", p.leaf);
	put_cert(&s, "c.pem", p.inter);
	put_cert(&s, "c.pem", p.root);
	put_key(&s, "k.pem", p.ik, MTK_KEY_PKCS8);
	build_ok(&s, NULL, &c);
	assert_ptr_equal(c.leaf, p.inter);
	assert_ptr_equal(c.key, p.ik);
	assert_ptr_equal(c.key_obj, &s.objs[3]);
	assert_true(c.key_matches);
	assert_int_equal(c.nkeys, 1);
	assert_int_equal(c.nkeys_matching, 1);
	assert_int_equal(sk_X509_num(c.cas), 1);
	assert_ptr_equal(sk_X509_value(c.cas, 0), p.root);
	assert_int_equal(sk_X509_num(c.unused), 1);
	assert_ptr_equal(sk_X509_value(c.unused, 0), p.leaf);
	mtk_chain_free(&c);
	mtk_set_free(&s);

	/* a key of nothing here: not an error, the leaf by position */
	stray = ec_key();
	put_key(&s, "k.pem", stray, MTK_KEY_SEC1);
	put_cert(&s, "c.pem", p.inter);
	put_cert(&s, "c.pem", p.leaf);
	build_ok(&s, NULL, &c);
	assert_ptr_equal(c.leaf, p.leaf);
	assert_false(c.key_matches);
	assert_null(c.key);
	assert_int_equal(c.nkeys, 1);
	assert_int_equal(c.nkeys_matching, 0);
	assert_false(c.complete);
	mtk_chain_free(&c);
	mtk_set_free(&s);
	EVP_PKEY_free(stray);
	pki_free(&p);
}

static void test_missing_issuer_and_extra(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	mtk_chain c;
	STACK_OF(X509) *extra = sk_X509_new_null();
	(void)state;

	pki_make(&p, "clientAuth", 0);
	put_cert(&s, "c.pem", p.root);
	put_cert(&s, "c.pem", p.leaf);
	build_ok(&s, NULL, &c);
	assert_ptr_equal(c.leaf, p.leaf);
	assert_int_equal(sk_X509_num(c.cas), 0);
	assert_false(c.complete);
	assert_false(c.broken); /* nothing by the issuer's name: missing, not broken */
	assert_int_equal(sk_X509_num(c.unused), 1);
	assert_ptr_equal(sk_X509_value(c.unused, 0), p.root);
	mtk_chain_free(&c);

	/* extra supplies the intermediate; the root then comes from the set */
	assert_true(mtk_sk_x509_push_ref(extra, p.inter));
	build_ok(&s, extra, &c);
	assert_int_equal(sk_X509_num(c.cas), 2);
	assert_ptr_equal(sk_X509_value(c.cas, 0), p.inter);
	assert_ptr_equal(sk_X509_value(c.cas, 1), p.root);
	assert_true(c.complete);
	assert_false(c.input_order_ok); /* root (first) came before the leaf; the extra has no position */
	assert_int_equal(sk_X509_num(c.unused), 0);
	mtk_chain_free(&c);
	mtk_set_free(&s);
	sk_X509_pop_free(extra, X509_free);
	pki_free(&p);
}

static void test_duplicates_and_self_signed(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	mtk_chain c;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	put_cert(&s, "a.pem", p.leaf);
	put_cert(&s, "a.pem", p.inter);
	put_cert(&s, "b.pem", p.inter);
	put_cert(&s, "b.pem", p.root);
	put_cert(&s, "b.pem", p.leaf);
	build_ok(&s, NULL, &c);
	assert_ptr_equal(c.leaf, p.leaf);
	assert_int_equal(sk_X509_num(c.cas), 2);
	assert_true(c.complete);
	assert_int_equal(sk_X509_num(c.unused), 0); /* a copy is not "unused" */
	mtk_chain_free(&c);
	mtk_set_free(&s);

	/* a lone self-signed certificate is a complete chain of one */
	put_cert(&s, "r.pem", p.root);
	build_ok(&s, NULL, &c);
	assert_ptr_equal(c.leaf, p.root);
	assert_int_equal(sk_X509_num(c.cas), 0);
	assert_true(c.complete);
	assert_true(c.input_order_ok);
	mtk_chain_free(&c);
	mtk_set_free(&s);
	pki_free(&p);
}

static void test_cross_signed(void **state)
{
	struct pki p;
	struct certspec bs = {"Other Root CA", "US", true, NULL, NULL, -100, 3650, NULL};
	struct certspec xs = {"Example Issuing CA", "GB", true, NULL, NULL, -100, 1825, NULL};
	EVP_PKEY *bk;
	X509 *rootb, *cross;
	mtk_set s = MTK_SET_INIT;
	mtk_chain c;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	bk = ec_key();
	rootb = mk_cert(&bs, bk, NULL, NULL);
	/* the same intermediate (name and key) signed by another root */
	cross = mk_cert(&xs, p.ik, rootb, bk);
	assert_true(mtk_cert_issued_by(p.leaf, cross));
	assert_true(mtk_cert_issued_by(p.leaf, p.inter));

	/* the first issuer in the input wins; the other path stays unused */
	put_cert(&s, "c.pem", p.leaf);
	put_cert(&s, "c.pem", cross);
	put_cert(&s, "c.pem", p.inter);
	put_cert(&s, "c.pem", p.root);
	put_cert(&s, "c.pem", rootb);
	build_ok(&s, NULL, &c);
	assert_int_equal(sk_X509_num(c.cas), 2);
	assert_ptr_equal(sk_X509_value(c.cas, 0), cross);
	assert_ptr_equal(sk_X509_value(c.cas, 1), rootb);
	assert_true(c.complete);
	assert_false(c.broken);
	assert_int_equal(sk_X509_num(c.unused), 2);
	assert_ptr_equal(sk_X509_value(c.unused, 0), p.inter);
	assert_ptr_equal(sk_X509_value(c.unused, 1), p.root);
	mtk_chain_free(&c);
	mtk_set_free(&s);

	/* without the other root, the cross-signed copy ends the chain open */
	put_cert(&s, "c.pem", p.leaf);
	put_cert(&s, "c.pem", cross);
	build_ok(&s, NULL, &c);
	assert_int_equal(sk_X509_num(c.cas), 1);
	assert_false(c.complete);
	mtk_chain_free(&c);
	mtk_set_free(&s);
	X509_free(cross);
	X509_free(rootb);
	EVP_PKEY_free(bk);
	pki_free(&p);
}

static void test_broken_link(void **state)
{
	struct pki p;
	struct certspec is = {"Example Issuing CA", "GB", true, NULL, NULL, -100, 1825, NULL};
	EVP_PKEY *fk;
	X509 *fake;
	mtk_set s = MTK_SET_INIT;
	mtk_chain c;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	/* the intermediate's name with another key: named, not the signer */
	fk = ec_key();
	fake = mk_cert(&is, fk, p.root, p.rk);
	assert_false(mtk_cert_issued_by(p.leaf, fake));
	assert_false(mtk_cert_issued_by(p.leaf, fake)); /* asked again: the memo agrees */
	assert_false(mtk_cert_issued_by(p.leaf, p.root)); /* other name */
	put_cert(&s, "c.pem", p.leaf);
	put_cert(&s, "c.pem", fake);
	put_cert(&s, "c.pem", p.root);
	build_ok(&s, NULL, &c);
	assert_ptr_equal(c.leaf, p.leaf);
	assert_int_equal(sk_X509_num(c.cas), 0);
	assert_true(c.broken);
	assert_false(c.complete);
	assert_int_equal(sk_X509_num(c.unused), 2);
	mtk_chain_free(&c);
	mtk_set_free(&s);
	X509_free(fake);
	EVP_PKEY_free(fk);
	pki_free(&p);
}

static void test_loop(void **state)
{
	struct certspec as = {"CA A", NULL, true, NULL, NULL, -100, 3650, NULL};
	struct certspec bs = {"CA B", NULL, true, NULL, NULL, -100, 3650, NULL};
	struct certspec ls = {"leaf.example.com", NULL, false, NULL, NULL, -1, 365, NULL};
	EVP_PKEY *ka = ec_key(), *kb = ec_key(), *kl = ec_key();
	X509 *b0, *a, *b, *leaf;
	mtk_set s = MTK_SET_INIT;
	mtk_chain c;
	(void)state;

	/* A issued by B and B by A: neither is self-signed */
	b0 = mk_cert(&bs, kb, NULL, NULL);
	a = mk_cert(&as, ka, b0, kb);
	b = mk_cert(&bs, kb, a, ka);
	leaf = mk_cert(&ls, kl, a, ka);
	put_cert(&s, "c.pem", leaf);
	put_cert(&s, "c.pem", a);
	put_cert(&s, "c.pem", b);
	build_ok(&s, NULL, &c);
	assert_ptr_equal(c.leaf, leaf);
	assert_true(c.loop);
	assert_false(c.complete);
	assert_int_equal(sk_X509_num(c.cas), 2);
	assert_ptr_equal(sk_X509_value(c.cas, 0), a);
	assert_ptr_equal(sk_X509_value(c.cas, 1), b);
	mtk_chain_free(&c);
	mtk_set_free(&s);
	X509_free(b0);
	X509_free(a);
	X509_free(b);
	X509_free(leaf);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(kl);
}

static void test_no_certificate(void **state)
{
	mtk_set s = MTK_SET_INIT;
	mtk_chain c;
	mtk_err err = {0};
	EVP_PKEY *k;
	(void)state;

	assert_int_equal(mtk_chain_build(&s, NULL, 0, &c, &err), MTK_E_NOT_FOUND);
	assert_string_equal(err.detail, "no certificate in the input");
	k = ec_key();
	put_key(&s, "k.pem", k, MTK_KEY_PKCS8);
	memset(&err, 0, sizeof(err));
	assert_int_equal(mtk_chain_build(&s, NULL, 0, &c, &err), MTK_E_NOT_FOUND);
	assert_int_equal(err.code, MTK_E_NOT_FOUND);
	mtk_set_free(&s);
	EVP_PKEY_free(k);
	mtk_chain_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shuffled),
		cmocka_unit_test(test_leaf_by_key),
		cmocka_unit_test(test_missing_issuer_and_extra),
		cmocka_unit_test(test_duplicates_and_self_signed),
		cmocka_unit_test(test_cross_signed),
		cmocka_unit_test(test_broken_link),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_no_certificate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
