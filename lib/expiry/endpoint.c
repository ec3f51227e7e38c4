/*
 * endpoint.c - the chain a TLS server sends, for `mtlskit expiry HOST:PORT`.
 *
 * A deliberately small client over the library's one connection path
 * (lib/tls/connect.h): resolve and connect within the connect timeout,
 * handshake within the handshake timeout (each a total for its stage, so a
 * server trickling bytes cannot hold a scan), without verification (an
 * expiry report must list an expired or untrusted chain too), and take the
 * certificates exactly as sent.  The probe verb has the full client.
 */
#include "internal.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "mtlskit/hostport.h"
#include "mtlskit/probe.h"
#include "mtlskit/tlspolicy.h"

#include "../tls/connect.h"

static bool is_ip(const char *host)
{
	unsigned char b[16];

	return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

mtk_rc exp_tls_chain(const char *host, const char *port, const mtk_clock *clock, int connect_ms,
		     int handshake_ms, STACK_OF(X509) * *chain, mtk_err *err)
{
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	STACK_OF(X509) * peer, *copy = NULL;
	struct addrinfo *ai = NULL;
	mtk_deadline dl;
	char addr[64];
	int fd = -1, ret = 0, e;
	bool to = false;
	mtk_rc rc;

	/* Two stages, each with its own total deadline: resolving and
	 * connecting (every address) within connect_ms, then the handshake
	 * within handshake_ms however the server paces its bytes. */
	rc = mtk_deadline_start(&dl, clock, connect_ms, NULL, err);
	if (rc == MTK_OK)
		rc = mtk_net_resolve(&dl, host, port, "", &ai, err);
	if (rc == MTK_OK)
		rc = mtk_net_connect(&dl, ai, "", 0, &fd, addr, sizeof(addr), err);
	if (ai != NULL)
		freeaddrinfo(ai);
	if (rc != MTK_OK)
		return rc;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || mtk_tls_policy_client(ctx, err) != MTK_OK || (ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(ssl, fd) != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "TLS setup");
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (!is_ip(host))
		(void)SSL_set_tlsext_host_name(ssl, host);
	rc = mtk_deadline_start(&dl, clock, handshake_ms, NULL, err);
	if (rc != MTK_OK)
		goto out;
	e = mtk_tls_io(&dl, ssl, fd, mtk_tls_op_connect, NULL, 0, 0, &ret, &to);
	if (to) {
		rc = mtk_tls_timeout(err, &dl, ssl, "TLS handshake", NULL);
		goto out;
	}
	if (e != SSL_ERROR_NONE) {
		int reason = ERR_GET_REASON(ERR_peek_error());

		/* Say which side ended it: OpenSSL files an alert received from
		 * the server under SSL_AD_REASON_OFFSET + its description. */
		if (e == SSL_ERROR_SSL && reason >= SSL_AD_REASON_OFFSET)
			rc = mtk_err_set(err, MTK_E_TLS, "TLS handshake: the server sent alert '%s'",
					 SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET));
		else if (e == SSL_ERROR_SSL && reason != 0 &&
			 reason != SSL_R_UNEXPECTED_EOF_WHILE_READING)
			rc = mtk_err_set(err, MTK_E_TLS,
					 "TLS handshake: this client refused the server's handshake "
					 "(%s)", ERR_reason_error_string(ERR_peek_error()));
		else
			rc = mtk_err_set(err, MTK_E_TLS,
					 "TLS handshake: the server closed the connection");
		goto out;
	}
	peer = SSL_get_peer_cert_chain(ssl);
	if (peer == NULL || sk_X509_num(peer) == 0) {
		rc = mtk_err_set(err, MTK_E_TLS, "the server sent no certificate");
		goto out;
	}
	copy = sk_X509_new_null();
	for (int i = 0; copy != NULL && i < sk_X509_num(peer); i++) {
		X509 *c = sk_X509_value(peer, i);
		if (!X509_up_ref(c) || !sk_X509_push(copy, c)) {
			sk_X509_pop_free(copy, X509_free);
			copy = NULL;
		}
	}
	if (copy == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "the server's chain");
		goto out;
	}
	*chain = copy;
	(void)SSL_shutdown(ssl);
	rc = MTK_OK;
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	mtk_err_drain_openssl();
	return rc;
}

bool mtk_expiry_parse_endpoint(const char *s, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *h = s, *def = "";
	char buf[300];
	size_t n;

	if (strncmp(s, "tls://", 6) == 0) {
		h = s + 6;
		def = "443";
	} else if (strncmp(s, "https://", 8) == 0) {
		h = s + 8;
		def = "443";
	}
	n = strlen(h);
	if (def[0] != '\0' && n > 0 && h[n - 1] == '/')
		n--; /* "https://host/" */
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	/* An operand names an endpoint only with a port or a scheme (without a
	 * default port the parser refuses it), and an IPv6 address only in
	 * brackets: "a::b:443" could be either. */
	if (buf[0] != '[' && strchr(buf, ':') != strrchr(buf, ':'))
		return false;
	return mtk_hostport_parse(buf, def, host, hcap, port, pcap, NULL) == MTK_OK;
}

mtk_rc mtk_expiry_scan_endpoint(mtk_expiry *x, const char *host, const char *port,
				const mtk_expiry_opts *opts, mtk_err *err)
{
	struct exp_sink *s = exp_sink_new(x);
	STACK_OF(X509) *chain = NULL;
	int cms = opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
	int hms = opts && opts->handshake_timeout_ms > 0 ? opts->handshake_timeout_ms : 5000;
	mtk_clock clock = {opts ? opts->clock_ms : NULL, opts ? opts->clock_ctx : NULL};
	char where[600];
	const char *path;
	mtk_err e = {0};
	mtk_rc rc;

	if (s == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s:%s", host, port);
	snprintf(where, sizeof(where), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	rc = exp_tls_chain(host, port, &clock, cms, hms, &chain, &e);
	if (rc != MTK_OK) {
		if (exp_add_error(s, where, 0, rc, "%s", e.detail) != MTK_OK)
			return MTK_E_NOMEM;
		if (err != NULL && err->code == MTK_OK)
			*err = e;
		return rc;
	}
	s->st.endpoints++;
	path = exp_strdup(&s->arena, where);
	rc = path ? MTK_OK : MTK_E_NOMEM;
	for (int i = 0; rc == MTK_OK && i < sk_X509_num(chain); i++)
		rc = exp_add_x509(s, sk_X509_value(chain, i), path, 0, i, NULL,
				  MTK_EXP_SRC_ENDPOINT);
	sk_X509_pop_free(chain, X509_free);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "%s", where);
	return MTK_OK;
}
