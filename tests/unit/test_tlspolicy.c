/* test_tlspolicy.c - the server and client TLS profiles: what the default
 * server list holds (ECDHE + AEAD on TLS 1.2, nothing else), overrides
 * checked name by name, the client profile's versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/ssl.h>

#include "mtlskit/tlspolicy.h"

static void test_server_default(void **state)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const mtk_tls_server_policy p = {12, NULL, NULL};
	STACK_OF(SSL_CIPHER) *sk;
	mtk_err e = {0};
	int n12 = 0;
	(void)state;

	assert_int_equal(mtk_tls_policy_server(ctx, &p, &e), MTK_OK);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	sk = SSL_CTX_get_ciphers(ctx);
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
		if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any)
			continue; /* TLS 1.3 suites: all AEAD, key exchange separate */
		n12++;
		assert_true(SSL_CIPHER_is_aead(c));
		assert_int_equal(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe);
	}
	assert_int_equal(n12, 6);
	SSL_CTX_free(ctx);
}

static void test_server_overrides(void **state)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	mtk_tls_server_policy p = {13, "ECDHE-RSA-AES128-SHA", "TLS_CHACHA20_POLY1305_SHA256"};
	mtk_err e = {0};
	(void)state;

	assert_int_equal(mtk_tls_policy_server(ctx, &p, &e), MTK_OK);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
	p.ciphers = "ECDHE-RSA-AES128-GCM-SHA256:NOT-A-CIPHER";
	assert_int_equal(mtk_tls_policy_server(ctx, &p, &e), MTK_E_CONFIG);
	assert_non_null(strstr(e.detail, "tls_ciphers: 'NOT-A-CIPHER'"));
	mtk_err_clear(&e);
	p.ciphers = "HIGH:!aNULL:-kRSA:+AES256:@STRENGTH";
	assert_int_equal(mtk_tls_policy_server(ctx, &p, &e), MTK_OK);
	p.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_8_SHA256:TLS_NOPE";
	assert_int_equal(mtk_tls_policy_server(ctx, &p, &e), MTK_E_CONFIG);
	assert_non_null(strstr(e.detail, "tls_ciphersuites: 'TLS_NOPE'"));
	SSL_CTX_free(ctx);
}

static void test_client(void **state)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	mtk_err e = {0};
	(void)state;

	assert_int_equal(mtk_tls_policy_client(ctx, &e), MTK_OK);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_VERSION);
	SSL_CTX_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_default),
	    cmocka_unit_test(test_server_overrides),
	    cmocka_unit_test(test_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
