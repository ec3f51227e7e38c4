/* test_ksgen.c - lib/x509/ksgen.c (keystore.h, "what keytool does besides
 * storing"): genkeypair's keys and self-signed certificate, -dname parsing,
 * -certreq, and -importcert of a CA reply onto a key entry of an in-memory
 * keystore: ordering, completion from trusted entries, the missing issuer
 * named, and keytool's refusals.  test_jks.c has the first reply cases; this
 * file is the module's own. */
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
#include "mtlskit/cert.h"
#include "mtlskit/keystore.h"

#define PKI_FIXTURE_NO_SET
#include "pki_fixture.h"

static void test_genkey(void **state)
{
	EVP_PKEY *k = NULL;
	mtk_err err = {0};
	(void)state;

	assert_int_equal(mtk_ks_genkey("EC", 0, &k, &err), MTK_OK);
	assert_true(EVP_PKEY_is_a(k, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(k), 256);
	EVP_PKEY_free(k);
	assert_int_equal(mtk_ks_genkey("ec", 384, &k, &err), MTK_OK);
	assert_int_equal(EVP_PKEY_get_bits(k), 384);
	EVP_PKEY_free(k);
	assert_int_equal(mtk_ks_genkey("RSA", 1024, &k, &err), MTK_OK);
	assert_true(EVP_PKEY_is_a(k, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(k), 1024);
	EVP_PKEY_free(k);
	k = NULL;
	assert_int_equal(mtk_ks_genkey("EC", 255, &k, &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "EC key size 255: use 256, 384 or 521");
	assert_null(k);
	mtk_err_clear(&err);
	assert_int_equal(mtk_ks_genkey("RSA", 512, &k, &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "RSA key size 512 is out of range");
	mtk_err_clear(&err);
	assert_int_equal(mtk_ks_genkey("DSA", 0, &k, &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "key algorithm DSA: use RSA or EC");
	assert_null(k);
}

static void test_dname(void **state)
{
	X509_NAME *n = NULL;
	mtk_err err = {0};
	char buf[256];
	(void)state;

	assert_int_equal(mtk_ks_parse_dname("CN=mid01.example.com, OU=IT, O=Example\\, Inc, C=GB", &n, &err),
			 MTK_OK);
	mtk_name_string(n, buf, sizeof(buf));
	assert_string_equal(buf, "CN=mid01.example.com,OU=IT,O=Example\\, Inc,C=GB");
	assert_int_equal(X509_NAME_entry_count(n), 4);
	/* stored root-first, as keytool writes it; values UTF8String */
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 0))),
			 NID_countryName);
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 3))),
			 V_ASN1_UTF8STRING);
	X509_NAME_free(n);
	n = NULL;
	assert_int_equal(mtk_ks_parse_dname("CN=a, O=", &n, &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "dname: bad attribute O=");
	assert_null(n);
	mtk_err_clear(&err);
	assert_int_equal(mtk_ks_parse_dname("CN=a, X=b", &n, &err), MTK_E_INVALID_ARG);
	assert_non_null(strstr(err.detail, "unknown attribute 'X'"));
	assert_null(n);
}

static void test_selfsign_and_certreq(void **state)
{
	EVP_PKEY *k = NULL, *k384 = NULL;
	X509 *x = NULL, *y = NULL;
	X509_REQ *req = NULL;
	const ASN1_INTEGER *serial;
	BIGNUM *bn;
	time_t now = 1767225600; /* 2026-01-01 */
	int pday, psec;
	mtk_err err = {0};
	char buf[256];
	(void)state;

	assert_int_equal(mtk_ks_genkey("EC", 256, &k, &err), MTK_OK);
	assert_int_equal(mtk_ks_selfsign(k, "CN=mid01.example.com, O=Example", 90, now, &x, &err), MTK_OK);
	assert_int_equal(X509_get_version(x), 2);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	mtk_name_string(X509_get_subject_name(x), buf, sizeof(buf));
	assert_string_equal(buf, "CN=mid01.example.com,O=Example");
	assert_int_equal(X509_verify(x, k), 1);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), now), 0);
	assert_int_equal(ASN1_TIME_diff(&pday, &psec, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_int_equal(pday, 90);
	assert_int_equal(psec, 0);
	serial = X509_get0_serialNumber(x);
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	assert_false(BN_is_negative(bn));
	assert_true(BN_num_bits(bn) <= 63);
	BN_free(bn);
	/* the bigger curve signs with SHA-384 */
	assert_int_equal(mtk_ks_genkey("EC", 384, &k384, &err), MTK_OK);
	assert_int_equal(mtk_ks_selfsign(k384, "CN=b", 1, now, &y, &err), MTK_OK);
	assert_int_equal(X509_get_signature_nid(y), NID_ecdsa_with_SHA384);
	/* a bad dname makes no certificate */
	X509_free(y);
	y = NULL;
	assert_int_equal(mtk_ks_selfsign(k, "", 1, now, &y, &err), MTK_E_INVALID_ARG);
	assert_null(y);

	assert_int_equal(mtk_ks_certreq(k, x, &req, &err), MTK_OK);
	assert_int_equal(X509_REQ_get_version(req), 0);
	assert_int_equal(X509_NAME_cmp(X509_REQ_get_subject_name(req), X509_get_subject_name(x)), 0);
	assert_int_equal(X509_REQ_verify(req, k), 1);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), k), 1);
	X509_REQ_free(req);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k384);
}

/* The reply scenario: a key entry "mid" holding pki.lk with keytool's
 * placeholder self-signed certificate. */
static mtk_keystore *store_with_key(struct pki *p)
{
	mtk_keystore *ks = mtk_keystore_new(MTK_KS_JKS);
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *self = NULL;
	mtk_err err = {0};

	assert_non_null(ks);
	assert_int_equal(mtk_ks_selfsign(p->lk, "CN=mid01.example.com, C=GB", 90, NOW, &self, &err), MTK_OK);
	assert_true(sk_X509_push(chain, self) > 0);
	assert_int_equal(mtk_keystore_add_key(ks, "mid", p->lk, chain, 0, &err), MTK_OK);
	sk_X509_pop_free(chain, X509_free);
	return ks;
}

static STACK_OF(X509) *certs(X509 *a, X509 *b, X509 *c)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	assert_non_null(sk);
	if (a)
		sk_X509_push(sk, a);
	if (b)
		sk_X509_push(sk, b);
	if (c)
		sk_X509_push(sk, c);
	return sk;
}

static void test_reply_completed_from_trusted(void **state)
{
	struct pki p;
	mtk_keystore *ks;
	STACK_OF(X509) *reply, *got;
	mtk_err err = {0};
	bool top = true;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	ks = store_with_key(&p);
	/* the leaf alone, with the root and the intermediate trusted */
	assert_int_equal(mtk_keystore_add_trusted(ks, "root", p.root, 0, &err), MTK_OK);
	assert_int_equal(mtk_keystore_add_trusted(ks, "issuing", p.inter, 0, &err), MTK_OK);
	reply = certs(p.leaf, NULL, NULL);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_OK);
	assert_true(top);
	got = ks->entries[0].chain;
	assert_int_equal(sk_X509_num(got), 3);
	assert_int_equal(X509_cmp(sk_X509_value(got, 0), p.leaf), 0);
	assert_int_equal(X509_cmp(sk_X509_value(got, 1), p.inter), 0);
	assert_int_equal(X509_cmp(sk_X509_value(got, 2), p.root), 0);
	sk_X509_free(reply);
	mtk_keystore_free(ks);

	/* a full reply, shuffled, its root not in the store: installed, top
	 * not trusted (keytool would ask) */
	ks = store_with_key(&p);
	reply = certs(p.root, p.leaf, p.inter);
	top = true;
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_OK);
	assert_false(top);
	got = ks->entries[0].chain;
	assert_int_equal(sk_X509_num(got), 3);
	assert_int_equal(X509_cmp(sk_X509_value(got, 1), p.inter), 0);
	assert_int_equal(X509_cmp(sk_X509_value(got, 2), p.root), 0);
	/* the same root added as trusted: now the top is trusted */
	assert_int_equal(mtk_keystore_add_trusted(ks, "root", p.root, 0, &err), MTK_OK);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_OK);
	assert_true(top);
	sk_X509_free(reply);

	/* leaf + intermediate; the root from the trusted entry */
	reply = certs(p.inter, p.leaf, NULL);
	top = false;
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_OK);
	assert_true(top);
	assert_int_equal(sk_X509_num(ks->entries[0].chain), 3);
	sk_X509_free(reply);
	mtk_keystore_free(ks);
	pki_free(&p);
}

static void test_reply_issuer_from_key_entry(void **state)
{
	struct pki p;
	mtk_keystore *ks;
	STACK_OF(X509) *reply, *ca_chain;
	mtk_err err = {0};
	bool top = false;
	(void)state;

	/* the intermediate is the end-entity of another key entry (a CA's own
	 * store): keytool looks there too, but only at end-entities, so the
	 * root in that entry's chain does not count */
	pki_make(&p, "clientAuth", 0);
	ks = store_with_key(&p);
	ca_chain = certs(p.inter, p.root, NULL);
	assert_int_equal(mtk_keystore_add_key(ks, "issuing", p.ik, ca_chain, 0, &err), MTK_OK);
	reply = certs(p.leaf, NULL, NULL);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_E_KS_REPLY);
	assert_non_null(strstr(err.detail, "the issuer 'CN=Example Root CA,C=GB' of 'CN=Example Issuing CA,C=GB'"));
	assert_int_equal(sk_X509_num(ks->entries[0].chain), 1);
	assert_int_equal(mtk_keystore_add_trusted(ks, "root", p.root, 0, &err), MTK_OK);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_OK);
	assert_int_equal(sk_X509_num(ks->entries[0].chain), 3);
	assert_int_equal(X509_cmp(sk_X509_value(ks->entries[0].chain, 1), p.inter), 0);
	assert_true(top);
	sk_X509_free(reply);
	sk_X509_free(ca_chain);
	mtk_keystore_free(ks);
	pki_free(&p);
}

static void test_reply_errors(void **state)
{
	struct pki p;
	mtk_keystore *ks;
	STACK_OF(X509) *reply, *before;
	EVP_PKEY *ok = ec_key();
	struct certspec os = {"Unrelated CA", NULL, true, NULL, NULL, -100, 3650, NULL};
	X509 *other;
	mtk_err err = {0};
	bool top = false;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	other = mk_cert(&os, ok, NULL, NULL);
	ks = store_with_key(&p);
	assert_int_equal(mtk_keystore_add_trusted(ks, "root", p.root, 0, &err), MTK_OK);
	before = ks->entries[0].chain;

	/* the intermediate missing and not trusted: the error names it */
	reply = certs(p.leaf, NULL, NULL);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_E_KS_REPLY);
	assert_string_equal(err.detail,
			    "Failed to establish chain from reply: the issuer 'CN=Example Issuing CA,C=GB' "
			    "of 'CN=mid01.example.com,C=GB' is neither in the reply nor a trusted entry of "
			    "the keystore (add it with keystore add-trusted, or install the reply with its chain)");
	assert_ptr_equal(ks->entries[0].chain, before); /* untouched */
	assert_int_equal(sk_X509_num(before), 1);
	sk_X509_free(reply);

	/* a certificate in the reply that does not belong to the chain */
	reply = certs(p.leaf, other, NULL);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_E_KS_REPLY);
	assert_string_equal(err.detail, "Incomplete certificate chain in reply");
	sk_X509_free(reply);

	/* no certificate of the entry's key */
	reply = certs(p.inter, p.root, NULL);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_E_KEY_MISMATCH);
	assert_string_equal(err.detail, "Public keys in reply and keystore don't match");
	sk_X509_free(reply);

	/* an empty reply; a trusted entry; an index past the end */
	reply = certs(NULL, NULL, NULL);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_E_NOT_FOUND);
	assert_string_equal(err.detail, "the reply holds no certificate");
	sk_X509_free(reply);
	reply = certs(p.leaf, p.inter, NULL);
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_install_reply(ks, 1, reply, &top, &err), MTK_E_INVALID_ARG);
	assert_string_equal(err.detail, "not a key entry");
	mtk_err_clear(&err);
	assert_int_equal(mtk_keystore_install_reply(ks, 7, reply, &top, &err), MTK_E_INVALID_ARG);
	assert_ptr_equal(ks->entries[0].chain, before);
	sk_X509_free(reply);

	mtk_keystore_free(ks);
	X509_free(other);
	EVP_PKEY_free(ok);
	pki_free(&p);
}

static void test_reply_survives_encoding(void **state)
{
	struct pki p;
	mtk_keystore *ks, *back = NULL;
	STACK_OF(X509) *reply;
	mtk_secret pw = {(char *)"changeit", 8};
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};
	bool top = false;
	(void)state;

	pki_make(&p, "clientAuth", 0);
	ks = store_with_key(&p);
	assert_int_equal(mtk_keystore_add_trusted(ks, "root", p.root, 0, &err), MTK_OK);
	reply = certs(p.leaf, p.inter, NULL);
	assert_int_equal(mtk_keystore_install_reply(ks, 0, reply, &top, &err), MTK_OK);
	assert_int_equal(mtk_keystore_encode(ks, MTK_KS_JKS, &pw, NULL, &out, &err), MTK_OK);
	assert_int_equal(mtk_keystore_decode(out.data, out.len, "t.jks", &pw, NULL, 0, &back, &err), MTK_OK);
	assert_true(back->verified);
	assert_int_equal(back->count, 2);
	assert_int_equal(mtk_keystore_find(back, "MID"), 0);
	assert_int_equal(sk_X509_num(back->entries[0].chain), 3);
	assert_int_equal(X509_cmp(sk_X509_value(back->entries[0].chain, 0), p.leaf), 0);
	assert_int_equal(EVP_PKEY_eq(back->entries[0].key, p.lk), 1);
	mtk_keystore_free(back);
	mtk_buf_free(&out);
	sk_X509_free(reply);
	mtk_keystore_free(ks);
	pki_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genkey),
		cmocka_unit_test(test_dname),
		cmocka_unit_test(test_selfsign_and_certreq),
		cmocka_unit_test(test_reply_completed_from_trusted),
		cmocka_unit_test(test_reply_issuer_from_key_entry),
		cmocka_unit_test(test_reply_errors),
		cmocka_unit_test(test_reply_survives_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
