/* test_bundle.c - assembly (bundle.h): leaf by key, issuers by signature,
 * the root from extra CAs, encoding order, aliases, renewals, errors. */
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

#include "mtlskit/bundle.h"
#include "mtlskit/chain.h"
#include "mtlskit/load.h"

#include "pki_fixture.h"


/* The PEM labels of buf, space-separated. */
static const char *labels(const mtk_buf *b)
{
	static char out[512];
	size_t len = 0;
	const char *p = (const char *)b->data, *end = p + b->len;

	out[0] = '\0';
	while (p < end && (p = strstr(p, "-----BEGIN ")) != NULL) {
		const char *e = strstr(p + 11, "-----");
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%.*s", len ? "," : "",
					(int)(e - p - 11), p + 11);
		p = e;
	}
	return out;
}

static void test_assemble_shuffled(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	mtk_bundle b;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};
	(void)state;

	pki_make(&p, "clientAuth", 0);
	put_key(&s, "k.pem", p.lk, MTK_KEY_PKCS1);
	put_cert(&s, "c.pem", p.root);
	put_cert(&s, "c.pem", p.inter);
	put_cert(&s, "c.pem", p.leaf);
	put_cert(&s, "c.pem", p.inter); /* a duplicate */
	assert_int_equal(mtk_bundle_assemble(&s, NULL, &b, &err), MTK_OK);
	assert_ptr_equal(b.chain.leaf, p.leaf);
	assert_int_equal(sk_X509_num(b.chain.cas), 2);
	assert_ptr_equal(sk_X509_value(b.chain.cas, 0), p.inter);
	assert_ptr_equal(sk_X509_value(b.chain.cas, 1), p.root);
	assert_true(b.chain.complete);
	assert_int_equal(b.dropped, 0);
	assert_ptr_equal(b.key_obj, &s.objs[0]);
	assert_int_equal(mtk_bundle_encode(&b, MTK_BUNDLE_ALL, &out, &err), MTK_OK);
	assert_string_equal(labels(&out), "CERTIFICATE,CERTIFICATE,CERTIFICATE,PRIVATE KEY");
	assert_null(memchr(out.data, '\r', out.len));
	assert_null(strstr((const char *)out.data, "\n\n"));
	out.len = 0;
	assert_int_equal(mtk_bundle_encode(&b, MTK_BUNDLE_ALL | MTK_BUNDLE_KEY_AFTER_LEAF, &out, &err), MTK_OK);
	assert_string_equal(labels(&out), "CERTIFICATE,PRIVATE KEY,CERTIFICATE,CERTIFICATE");
	out.len = 0;
	assert_int_equal(mtk_bundle_encode(&b, MTK_BUNDLE_CAS, &out, &err), MTK_OK);
	assert_string_equal(labels(&out), "CERTIFICATE,CERTIFICATE");
	mtk_buf_free(&out);
	mtk_bundle_free(&b);
	mtk_set_free(&s);
	pki_free(&p);
}

static void test_root_from_extra_and_dropped(void **state)
{
	struct pki p, q;
	mtk_set s = MTK_SET_INIT;
	mtk_bundle b;
	mtk_bundle_opts o = {0};
	mtk_err err = {0};
	STACK_OF(X509) *extra = sk_X509_new_null();
	EVP_PKEY *stray = ec_key();
	(void)state;

	pki_make(&p, "clientAuth", 0);
	pki_make(&q, "clientAuth", 0);
	put_cert(&s, "c.pem", p.leaf);
	put_cert(&s, "c.pem", p.inter);
	put_cert(&s, "c.pem", q.leaf); /* unrelated */
	put_key(&s, "k.pem", p.lk, MTK_KEY_PKCS8);
	put_key(&s, "k.pem", stray, MTK_KEY_PKCS8);
	sk_X509_push(extra, q.root);
	sk_X509_push(extra, p.root);
	o.extra_cas = extra;
	assert_int_equal(mtk_bundle_assemble(&s, &o, &b, &err), MTK_OK);
	assert_int_equal(sk_X509_num(b.chain.cas), 2);
	assert_ptr_equal(sk_X509_value(b.chain.cas, 1), p.root);
	assert_int_equal(b.from_extra, 1);
	assert_int_equal(b.dropped, 1);
	assert_int_equal(b.dropped_keys, 1);
	mtk_bundle_free(&b);
	sk_X509_free(extra);
	EVP_PKEY_free(stray);
	mtk_set_free(&s);
	pki_free(&p);
	pki_free(&q);
}

static void test_renewal_and_mismatch(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	mtk_bundle b;
	mtk_err err = {0};
	EVP_PKEY *other = ec_key();
	struct certspec newer = {"mid01.example.com", "GB", false, "clientAuth", NULL, -1, 700, NULL};
	X509 *renewed;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	renewed = mk_cert(&newer, p.lk, p.inter, p.ik);
	put_cert(&s, "c.pem", p.leaf);
	put_cert(&s, "c.pem", renewed);
	put_cert(&s, "c.pem", p.inter);
	put_key(&s, "k.pem", p.lk, MTK_KEY_PKCS8);
	assert_int_equal(mtk_bundle_assemble(&s, NULL, &b, &err), MTK_OK);
	assert_ptr_equal(b.chain.leaf, renewed);
	assert_int_equal(b.dropped, 1);
	assert_false(b.chain.complete);
	mtk_bundle_free(&b);
	mtk_set_free(&s);

	/* a key that matches nothing still goes in (check names it) */
	put_cert(&s, "c.pem", p.leaf);
	put_key(&s, "k.pem", other, MTK_KEY_PKCS8);
	assert_int_equal(mtk_bundle_assemble(&s, NULL, &b, &err), MTK_OK);
	assert_ptr_equal(b.key, other);
	assert_false(b.chain.key_matches);
	mtk_bundle_free(&b);
	mtk_set_free(&s);
	X509_free(renewed);
	EVP_PKEY_free(other);
	pki_free(&p);
}

static void test_alias_and_errors(void **state)
{
	struct pki p;
	mtk_set s = MTK_SET_INIT;
	mtk_bundle b;
	mtk_bundle_opts o = {0};
	mtk_err err = {0};
	mtk_obj k = {0};
	size_t skipped = 99;
	(void)state;

	assert_int_equal(mtk_bundle_assemble(&s, NULL, &b, &err), MTK_E_NOT_FOUND);
	pki_make(&p, "clientAuth", 0);
	put_cert(&s, "c.p12", p.leaf);
	k.kind = MTK_OBJ_KEY;
	k.source = (char *)"c.p12";
	k.alias = (char *)"mid";
	k.key_form = MTK_KEY_CONTAINER;
	EVP_PKEY_up_ref(p.lk);
	k.key = p.lk;
	assert_int_equal(mtk_set_add(&s, &k), MTK_OK);
	o.alias = "nope";
	mtk_err_clear(&err);
	assert_int_equal(mtk_bundle_assemble(&s, &o, &b, &err), MTK_E_NOT_FOUND);
	assert_non_null(strstr(err.detail, "nope"));
	o.alias = "mid";
	assert_int_equal(mtk_bundle_assemble(&s, &o, &b, &err), MTK_OK);
	assert_ptr_equal(b.key, p.lk);
	mtk_bundle_free(&b);
	mtk_set_free(&s);
	pki_free(&p);

	mtk_err_clear(&err);
	assert_int_equal(mtk_load_dir(&s, "/nonexistent-mtlskit-dir", NULL, &skipped, &err), MTK_E_NOENT);
	assert_int_equal(skipped, 99);
}

/* mtk_cert_issued_by remembers its answers per issuer key: asked again, and
 * asked about an impostor with the issuer's name but another key (more
 * impostors than the memo holds), the answers stay right. */
static void test_issued_by_memo(void **state)
{
	(void)state;
	struct pki p;
	struct certspec is = {"Example Issuing CA", "GB", true, NULL, NULL, -100, 1825, NULL};
	EVP_PKEY *fk[6];
	X509 *fake[6];

	pki_make(&p, "clientAuth", 0);
	for (int i = 0; i < 6; i++) {
		fk[i] = ec_key();
		fake[i] = mk_cert(&is, fk[i], p.root, p.rk);
	}
	for (int round = 0; round < 3; round++) {
		assert_true(mtk_cert_issued_by(p.leaf, p.inter));
		assert_true(mtk_cert_issued_by(p.inter, p.root));
		assert_true(mtk_cert_issued_by(p.root, p.root));
		assert_false(mtk_cert_issued_by(p.leaf, p.root));  /* name differs */
		assert_false(mtk_cert_issued_by(p.inter, p.inter)); /* name differs */
		for (int i = 0; i < 6; i++) {
			assert_false(mtk_cert_issued_by(p.leaf, fake[i])); /* same name, other key */
			assert_true(mtk_cert_issued_by(fake[i], p.root));
		}
		assert_true(mtk_cert_issued_by(p.leaf, p.inter));
	}
	{
		/* a duplicate starts with its own (empty) memo; both free cleanly */
		X509 *d = X509_dup(p.leaf);

		assert_non_null(d);
		assert_true(mtk_cert_issued_by(d, p.inter));
		assert_false(mtk_cert_issued_by(d, fake[0]));
		X509_free(d);
	}
	for (int i = 0; i < 6; i++) {
		X509_free(fake[i]);
		EVP_PKEY_free(fk[i]);
	}
	pki_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_assemble_shuffled),
	    cmocka_unit_test(test_root_from_extra_and_dropped),
	    cmocka_unit_test(test_renewal_and_mismatch),
	    cmocka_unit_test(test_alias_and_errors),
	    cmocka_unit_test(test_issued_by_memo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
