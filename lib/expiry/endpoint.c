/*
 * endpoint.c - the chain a TLS server sends, for `mtlskit expiry HOST:PORT`.
 *
 * A deliberately small client: resolve, connect without blocking (each
 * address gets the connect timeout), handshake without verification (an
 * expiry report must list an expired or untrusted chain too), take the
 * certificates exactly as sent.  The probe verb has the full client.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "mtlskit/tlspolicy.h"

static int wait_fd(int fd, short events, int ms)
{
	struct pollfd p = {fd, events, 0};
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r;
}

static mtk_rc tcp_connect(const char *host, const char *port, int ms, int *out, mtk_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char why[160] = "no address";
	mtk_rc rc = MTK_E_CONNECT;
	int g;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	g = getaddrinfo(host, port, &hints, &res);
	if (g != 0)
		return mtk_err_set(err, MTK_E_DNS, "%s:%s: %s", host, port, gai_strerror(g));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				ai->ai_protocol);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			*out = fd;
			freeaddrinfo(res);
			return MTK_OK;
		}
		if (errno == EINPROGRESS) {
			int r = wait_fd(fd, POLLOUT, ms);

			if (r == 0) {
				snprintf(why, sizeof(why), "no answer within %d ms", ms);
				rc = MTK_E_TIMEOUT;
			} else if (r > 0 &&
				   getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
				   soerr == 0) {
				*out = fd;
				freeaddrinfo(res);
				return MTK_OK;
			} else {
				snprintf(why, sizeof(why), "%s", strerror(soerr ? soerr : errno));
				rc = MTK_E_CONNECT;
			}
		} else {
			snprintf(why, sizeof(why), "%s", strerror(errno));
		}
		close(fd);
	}
	freeaddrinfo(res);
	return mtk_err_set(err, rc, "%s:%s: %s", host, port, why);
}

static bool is_ip(const char *host)
{
	unsigned char b[16];

	return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

mtk_rc exp_tls_chain(const char *host, const char *port, int connect_ms, int handshake_ms,
		     STACK_OF(X509) * *chain, mtk_err *err)
{
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	STACK_OF(X509) * peer, *copy = NULL;
	int fd = -1;
	mtk_rc rc;

	if ((rc = tcp_connect(host, port, connect_ms, &fd, err)) != MTK_OK)
		return rc;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || mtk_tls_policy_client(ctx, err) != MTK_OK || (ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(ssl, fd) != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "%s:%s: TLS setup", host, port);
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (!is_ip(host))
		(void)SSL_set_tlsext_host_name(ssl, host);
	for (;;) {
		int r = SSL_connect(ssl), e, w;

		if (r == 1)
			break;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			w = wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, handshake_ms);
			if (w > 0)
				continue;
			rc = mtk_err_set(err, MTK_E_TIMEOUT,
					 "%s:%s: TLS handshake: no answer within %d ms", host, port,
					 handshake_ms);
			goto out;
		}
		rc = mtk_err_set(err, MTK_E_TLS, "%s:%s: TLS handshake failed", host, port);
		goto out;
	}
	peer = SSL_get_peer_cert_chain(ssl);
	if (peer == NULL || sk_X509_num(peer) == 0) {
		rc = mtk_err_set(err, MTK_E_TLS, "%s:%s: the server sent no certificate", host,
				 port);
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
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s:%s", host, port);
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
	const char *h = s, *p = NULL, *def = NULL, *hend;
	size_t hl;

	if (strncmp(s, "tls://", 6) == 0) {
		h = s + 6;
		def = "443";
	} else if (strncmp(s, "https://", 8) == 0) {
		h = s + 8;
		def = "443";
	}
	if (h[0] == '[') {
		const char *close = strchr(h, ']');

		if (close == NULL)
			return false;
		hend = close;
		h++;
		if (close[1] == ':')
			p = close + 2;
		else if (close[1] != '\0' && !(def && close[1] == '/' && close[2] == '\0'))
			return false;
	} else {
		const char *colon = strrchr(h, ':');

		if (colon != NULL && strchr(h, ':') != colon)
			return false; /* bare IPv6 needs brackets */
		hend = colon ? colon : h + strlen(h);
		if (colon)
			p = colon + 1;
		if (def && hend > h && hend[-1] == '/')
			hend--;
	}
	if (p == NULL && def == NULL)
		return false;
	hl = (size_t)(hend - h);
	if (hl == 0 || hl >= hcap || memchr(h, '/', hl) != NULL)
		return false;
	if (p != NULL) {
		size_t pl = strlen(p);
		long v = 0;

		if (def && pl > 0 && p[pl - 1] == '/')
			pl--;
		if (pl == 0 || pl >= pcap || pl > 5)
			return false;
		for (size_t i = 0; i < pl; i++) {
			if (p[i] < '0' || p[i] > '9')
				return false;
			v = v * 10 + (p[i] - '0');
		}
		if (v < 1 || v > 65535)
			return false;
		memcpy(port, p, pl);
		port[pl] = '\0';
	} else {
		snprintf(port, pcap, "%s", def);
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	return true;
}

mtk_rc mtk_expiry_scan_endpoint(mtk_expiry *x, const char *host, const char *port,
				const mtk_expiry_opts *opts, mtk_err *err)
{
	struct exp_sink *s = exp_sink_new(x);
	STACK_OF(X509) *chain = NULL;
	int cms = opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
	int hms = opts && opts->handshake_timeout_ms > 0 ? opts->handshake_timeout_ms : 5000;
	char where[600];
	const char *path;
	mtk_err e = {0};
	mtk_rc rc;

	if (s == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s:%s", host, port);
	snprintf(where, sizeof(where), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	rc = exp_tls_chain(host, port, cms, hms, &chain, &e);
	if (rc != MTK_OK) {
		const char *d = e.detail;
		size_t wl = strlen(where);

		/* The detail starts with host:port; the error names it already. */
		if (strncmp(d, where, wl) == 0 && d[wl] == ':' && d[wl + 1] == ' ')
			d += wl + 2;
		if (exp_add_error(s, where, 0, rc, "%s", d) != MTK_OK)
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
