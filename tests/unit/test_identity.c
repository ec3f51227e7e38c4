/* test_identity.c - the gateway's identity decision (lib/gateway/identity.c)
 * after a real mTLS handshake, in process over memory BIOs: the server's
 * view of the client certificate goes through the same fingerprint and
 * RFC 2253 subject the gateway computes, then through the map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mtlskit/gateway.h"

#define PKI_FIXTURE_NO_SET
#include "pki_fixture.h"

struct peer_view {
	uint8_t md[32];
	char subject[1024];
	bool is_ca;
};

static SSL_CTX *server_ctx(struct pki *p)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	X509_STORE *st;

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate(ctx, p->leaf), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, p->lk), 1);
	st = SSL_CTX_get_cert_store(ctx);
	X509_STORE_add_cert(st, p->root);
	X509_STORE_add_cert(st, p->inter);
	X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), NOW);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
}

/* One handshake over a BIO pair; true when it completed, with what the
 * server saw of the client's certificate. */
static bool handshake(SSL_CTX *sctx, X509 *cert, EVP_PKEY *key, struct peer_view *v)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *s = SSL_new(sctx), *c;
	BIO *sb, *cb;
	bool done = false;
	X509 *peer;

	assert_non_null(cctx);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
	assert_int_equal(SSL_CTX_use_certificate(cctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(cctx, key), 1);
	c = SSL_new(cctx);
	assert_int_equal(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
	SSL_set_bio(s, sb, sb);
	SSL_set_bio(c, cb, cb);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	for (int i = 0; i < 20 && !done; i++) {
		int rc = SSL_do_handshake(c), rs = SSL_do_handshake(s);
		if (rc == 1 && rs == 1)
			done = true;
		else if ((rs <= 0 && SSL_get_error(s, rs) == SSL_ERROR_SSL) ||
			 (rc <= 0 && SSL_get_error(c, rc) == SSL_ERROR_SSL))
			break;
	}
	if (done && (peer = SSL_get0_peer_certificate(s)) != NULL) {
		BIO *b = BIO_new(BIO_s_mem());
		unsigned int n = 0;
		int len;
		X509_digest(peer, EVP_sha256(), v->md, &n);
		X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
		len = BIO_read(b, v->subject, (int)sizeof(v->subject) - 1);
		v->subject[len > 0 ? len : 0] = '\0';
		BIO_free(b);
		v->is_ca = X509_check_ca(peer) != 0;
	} else {
		done = false;
	}
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	return done;
}

static mtk_usermap *map_of(const char *text)
{
	mtk_usermap *m = NULL;
	mtk_err e = {0};

	assert_int_equal(mtk_usermap_parse("t.map", (const uint8_t *)text, strlen(text), &m, &e),
			 MTK_OK);
	return m;
}

static void hexcolons(const uint8_t *md, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 3 * i, "%02X%s", md[i], i < 31 ? ":" : "");
}

static void test_decisions(void **state)
{
	struct pki p;
	struct certspec alice_s = {
	    "alice.example.com", "GB", false, "clientAuth", NULL, -1, 365, NULL};
	struct certspec carol_s = {
	    "carol.example.com", "GB", false, "clientAuth", NULL, -1, 365, NULL};
	EVP_PKEY *ak, *ck;
	X509 *alice, *carol;
	SSL_CTX *sctx;
	struct peer_view va, vc;
	char fp[128], map[2048];
	mtk_usermap *m;
	mtk_gw_verdict v;

	(void)state;
	pki_make(&p, "serverAuth", 0);
	ak = ec_key();
	ck = ec_key();
	alice = mk_cert(&alice_s, ak, p.inter, p.ik);
	carol = mk_cert(&carol_s, ck, p.inter, p.ik);
	sctx = server_ctx(&p);
	assert_true(handshake(sctx, alice, ak, &va));
	assert_true(handshake(sctx, carol, ck, &vc));
	assert_false(va.is_ca);
	assert_string_equal(va.subject, "CN=alice.example.com,C=GB");

	hexcolons(va.md, fp);
	snprintf(map, sizeof(map), "alice mid_server,itil sha256:%s\ncarol - subject:%s\n", fp,
		 vc.subject);
	m = map_of(map);
	v = mtk_gw_identify(m, va.md, va.subject, va.is_ca, NULL);
	assert_int_equal(v.verdict, MTK_GW_ALLOW);
	assert_string_equal(v.entry->user, "alice");
	assert_int_equal(v.index, 0);
	v = mtk_gw_identify(m, va.md, va.subject, va.is_ca, "mid_server");
	assert_int_equal(v.verdict, MTK_GW_ALLOW);
	v = mtk_gw_identify(m, va.md, va.subject, va.is_ca, "admin");
	assert_int_equal(v.verdict, MTK_GW_DENY_ROLE);
	assert_string_equal(v.entry->user, "alice");
	/* by subject, whole */
	v = mtk_gw_identify(m, vc.md, vc.subject, vc.is_ca, NULL);
	assert_int_equal(v.verdict, MTK_GW_ALLOW);
	assert_string_equal(v.entry->user, "carol");
	/* the same certificate claiming to be a CA is never an identity */
	v = mtk_gw_identify(m, va.md, va.subject, true, NULL);
	assert_int_equal(v.verdict, MTK_GW_DENY_CA);
	assert_null(v.entry);
	/* the issuing CA's own certificate, mapped, is refused */
	{
		uint8_t md[32];
		unsigned int n;
		char line[256];
		mtk_usermap *m2;
		X509_digest(p.inter, EVP_sha256(), md, &n);
		hexcolons(md, fp);
		snprintf(line, sizeof(line), "ca - sha256:%s\n", fp);
		m2 = map_of(line);
		v = mtk_gw_identify(m2, md, "CN=Example Issuing CA,C=GB",
				    X509_check_ca(p.inter) != 0, NULL);
		assert_int_equal(v.verdict, MTK_GW_DENY_CA);
		mtk_usermap_free(m2);
	}
	mtk_usermap_free(m);
	/* unmapped */
	m = map_of("bob - sha256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		   "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\n");
	v = mtk_gw_identify(m, va.md, va.subject, va.is_ca, NULL);
	assert_int_equal(v.verdict, MTK_GW_DENY_UNMAPPED);
	mtk_usermap_free(m);
	X509_free(alice);
	X509_free(carol);
	EVP_PKEY_free(ak);
	EVP_PKEY_free(ck);
	SSL_CTX_free(sctx);
	pki_free(&p);
}

/* A subject far over the old 511-byte buffer maps and compares whole. */
static void test_long_subject(void **state)
{
	struct pki p;
	char cn[64], map[2048];
	X509 *x;
	X509_NAME *n;
	EVP_PKEY *k;
	struct certspec s = {"x", "GB", false, "clientAuth", NULL, -1, 365, NULL};
	SSL_CTX *sctx;
	struct peer_view v;
	mtk_usermap *m;
	mtk_gw_verdict d;

	(void)state;
	pki_make(&p, "serverAuth", 0);
	k = ec_key();
	x = mk_cert(&s, k, p.inter, p.ik);
	n = X509_NAME_new();
	for (int i = 0; i < 12; i++) {
		snprintf(cn, sizeof(cn), "unit-%02d-of-a-very-long-organisational-name", i);
		X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					   -1, 0);
	}
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"long", -1, -1,
				   0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	assert_true(X509_sign(x, p.ik, EVP_sha256()) > 0);
	sctx = server_ctx(&p);
	assert_true(handshake(sctx, x, k, &v));
	assert_true(strlen(v.subject) > 511);
	snprintf(map, sizeof(map), "longuser - subject:%s\n", v.subject);
	m = map_of(map);
	d = mtk_gw_identify(m, v.md, v.subject, v.is_ca, NULL);
	assert_int_equal(d.verdict, MTK_GW_ALLOW);
	assert_string_equal(d.entry->user, "longuser");
	mtk_usermap_free(m);
	X509_free(x);
	EVP_PKEY_free(k);
	SSL_CTX_free(sctx);
	pki_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decisions),
	    cmocka_unit_test(test_long_subject),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
