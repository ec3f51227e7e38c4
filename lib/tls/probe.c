/*
 * probe.c - connect to a TLS server and record what a client sees.
 *
 * Every stage (resolve, connect, proxy, handshake, http) runs through
 * connect.h: each wait gets what is left of one deadline for the whole
 * operation, computed once, so a server that says nothing, or trickles a
 * byte a second, cannot hold us past it.
 *
 * The chain is verified with SSL_VERIFY_NONE: a probe must finish the
 * handshake with an untrusted server to show what it sent; the verification
 * result is read afterwards, and the host name is checked separately so the
 * two answers stay distinct.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mtlskit/describe.h"
#include "mtlskit/hostport.h"
#include "mtlskit/probe.h"
#include "mtlskit/tlspolicy.h"

#include "connect.h"

const char *mtk_stage_name(mtk_stage s)
{
	static const char *const names[] = {"resolve", "connect", "proxy", "handshake", "http",
					    "done"};
	return (unsigned)s <= MTK_STAGE_DONE ? names[s] : "unknown";
}

const char *mtk_client_auth_name(mtk_client_auth a)
{
	static const char *const names[] = {"none", "requested", "required", "accepted",
					    "rejected"};
	return (unsigned)a <= MTK_CLIENT_AUTH_REJECTED ? names[a] : "unknown";
}

/* ---- proxy URL (host:port: hostport.h) ---- */

mtk_rc mtk_proxy_url_parse(const char *url, char *host, size_t host_cap, char *port,
			   size_t port_cap, mtk_err *err)
{
	char hp[300];
	const char *rest;
	size_t n;

	if (url == NULL || strncasecmp(url, "http://", 7) != 0)
		return mtk_err_set(err, MTK_E_INVALID_ARG,
				   "%s: the proxy must be given as http://HOST:PORT", url ? url : "");
	rest = url + 7;
	n = strcspn(rest, "/");
	if (rest[n] == '/' && rest[n + 1] != '\0')
		return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: a proxy URL has no path", url);
	if (n == 0 || n >= sizeof(hp))
		return mtk_err_set(err, MTK_E_INVALID_ARG, "%s: no proxy host", url);
	if (memchr(rest, '@', n) != NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG,
				   "%s: proxy credentials in the URL are not supported", url);
	memcpy(hp, rest, n);
	hp[n] = '\0';
	return mtk_hostport_parse(hp, "8080", host, host_cap, port, port_cap, err);
}

/* ---- TLS ---- */

typedef struct tls_state {
	mtk_probe_result *r;
	bool identity;
	bool ticket;
	mtk_rc cb_rc;
} tls_state;

static int state_index = -1;

static tls_state *state_of(const SSL *ssl)
{
	return SSL_get_ex_data(ssl, state_index);
}

/* OpenSSL 3.0 names only the alerts of TLS 1.2 and earlier. */
static const char *alert_name(int desc)
{
	switch (desc) {
	case 109: return "missing extension";
	case 116: return "certificate required";
	case 120: return "no application protocol";
	default: return SSL_alert_desc_string_long(desc);
	}
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	tls_state *st;
	int desc = ret & 0xff;

	/* SSL_CB_READ_ALERT and SSL_CB_WRITE_ALERT share the SSL_CB_ALERT bit:
	 * test both bits, or an alert this client sends looks like the
	 * server's. */
	if ((where & SSL_CB_ALERT) == 0)
		return;
	st = state_of(ssl);
	/* The first alert is the reason; a close_notify after it is not. */
	if (st == NULL || desc == SSL_AD_CLOSE_NOTIFY)
		return;
	if ((where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT && st->r->alert_received < 0) {
		st->r->alert_received = desc;
		snprintf(st->r->alert_text, sizeof(st->r->alert_text), "%s", alert_name(desc));
	} else if ((where & SSL_CB_WRITE_ALERT) == SSL_CB_WRITE_ALERT && st->r->alert_sent < 0) {
		st->r->alert_sent = desc;
		snprintf(st->r->alert_sent_text, sizeof(st->r->alert_sent_text), "%s",
			 alert_name(desc));
	}
}

/* Called when a CertificateRequest arrives, whether or not we have a
 * certificate to send (the client_cert_cb runs only when none is set). */
static int cert_cb(SSL *ssl, void *arg)
{
	tls_state *st = state_of(ssl);
	const STACK_OF(X509_NAME) *names;

	(void)arg;
	if (st == NULL)
		return 1;
	st->r->cert_requested = true;
	st->r->cert_sent = st->identity;
	names = SSL_get0_peer_CA_list(ssl);
	if (names == NULL)
		names = SSL_get_client_CA_list(ssl);
	if (st->r->ca_names == NULL && names != NULL) {
		st->r->ca_names = sk_X509_NAME_deep_copy(names, X509_NAME_dup, X509_NAME_free);
		if (st->r->ca_names == NULL)
			st->cb_rc = MTK_E_NOMEM;
	}
	return 1;
}

static int client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	(void)ssl;
	(void)x509;
	(void)pkey;
	return 0; /* no certificate: the probe then sees whether one is required */
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	tls_state *st = state_of(ssl);

	(void)sess;
	if (st != NULL)
		st->ticket = true;
	return 0; /* not kept */
}

static SSL_CTX *make_ctx(const mtk_probe_opts *o, mtk_err *err)
{
	static const unsigned char alpn_both[] = "\x02h2\x08http/1.1";
	static const unsigned char alpn_http1[] = "\x08http/1.1";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_VERIFY_PARAM *vp;

	if (ctx == NULL || mtk_tls_policy_client(ctx, err) != MTK_OK)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (o->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
			SSL_CTX_free(ctx);
			return mtk_err_set(err, MTK_E_IO, "%s: cannot load CA certificates", o->ca_file),
			       NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		goto fail;
	}
	vp = SSL_CTX_get0_param(ctx);
	if (o->now != 0)
		X509_VERIFY_PARAM_set_time(vp, o->now);
	/* With --http the request is HTTP/1.1, so h2 must not be chosen. */
	if (o->http_path != NULL)
		SSL_CTX_set_alpn_protos(ctx, alpn_http1, sizeof(alpn_http1) - 1);
	else
		SSL_CTX_set_alpn_protos(ctx, alpn_both, sizeof(alpn_both) - 1);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
	if (o->cert == NULL)
		SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	if (o->cert != NULL) {
		if (SSL_CTX_use_certificate(ctx, o->cert) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, o->key) != 1 ||
		    (o->chain != NULL && SSL_CTX_set1_chain(ctx, o->chain) != 1)) {
			SSL_CTX_free(ctx);
			return mtk_err_set(err, MTK_E_KEY_MISMATCH,
					   "handshake: the client certificate and key cannot be used together"),
			       NULL;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	mtk_err_set(err, MTK_E_CRYPTO, "handshake: cannot set up TLS");
	return NULL;
}

/* Why the handshake failed, for a human: the OpenSSL reason is kept in
 * err->ossl, this names the likely situation. */
static mtk_rc handshake_error(SSL *ssl, int sslerr, mtk_probe_result *r, mtk_err *err)
{
	unsigned long e = ERR_peek_error();
	int reason = ERR_GET_REASON(e);

	if (r->alert_received >= 0)
		return mtk_err_set(err, MTK_E_TLS, "TLS handshake: %s: the server sent alert '%s'",
				   r->address, r->alert_text);
	if (sslerr == SSL_ERROR_SSL && (reason == SSL_R_WRONG_VERSION_NUMBER ||
					reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
					reason == SSL_R_RECORD_LENGTH_MISMATCH))
		return mtk_err_set(err, MTK_E_TLS,
				   "TLS handshake: %s does not speak TLS on this port (a plain-HTTP "
				   "port?)",
				   r->address);
	if (sslerr == SSL_ERROR_SYSCALL ||
	    (sslerr == SSL_ERROR_SSL && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		if (errno != 0 && sslerr == SSL_ERROR_SYSCALL && e == 0)
			return mtk_err_set(err, MTK_E_TLS, "TLS handshake: %s: %s", r->address,
					   strerror(errno));
		return mtk_err_set(err, MTK_E_TLS,
				   "TLS handshake: %s closed the connection during the handshake",
				   r->address);
	}
	/* This side decided: OpenSSL refused what the server sent (its reason
	 * goes to err->ossl) and told the server so with an alert. */
	if (r->alert_sent >= 0)
		return mtk_err_set(err, MTK_E_TLS,
				   "TLS handshake: %s: this client refused the server's handshake "
				   "and sent alert '%s'",
				   r->address, r->alert_sent_text);
	(void)ssl;
	return mtk_err_set(err, MTK_E_TLS, "TLS handshake: %s: the handshake failed", r->address);
}

static void record_session(const mtk_probe_opts *o, SSL *ssl, mtk_probe_result *r)
{
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);
	X509 *leaf;
	const char *name;
	long vr;

	snprintf(r->protocol, sizeof(r->protocol), "%s", SSL_get_version(ssl));
	snprintf(r->cipher, sizeof(r->cipher), "%s", SSL_get_cipher_name(ssl));
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	if (alpn_len > 0 && alpn_len < sizeof(r->alpn)) {
		memcpy(r->alpn, alpn, alpn_len);
		r->alpn[alpn_len] = '\0';
	}
	if (r->chain == NULL && sent != NULL)
		r->chain = X509_chain_up_ref(sent);
	vr = SSL_get_verify_result(ssl);
	r->verify_code = vr;
	r->verified = vr == X509_V_OK && r->chain != NULL;
	snprintf(r->verify_error, sizeof(r->verify_error), "%s",
		 r->chain == NULL ? "no certificate" : X509_verify_cert_error_string(vr));
	leaf = r->chain && sk_X509_num(r->chain) > 0 ? sk_X509_value(r->chain, 0) : NULL;
	name = o->verify_name ? o->verify_name : (o->sni && o->sni[0]) ? o->sni : o->host;
	if (leaf != NULL) {
		struct in6_addr a6;
		struct in_addr a4;
		bool ip = inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;

		snprintf(r->host_checked, sizeof(r->host_checked), "%s", name);
		r->host_match = (ip ? X509_check_ip_asc(leaf, name, 0)
				    : X509_check_host(leaf, name, 0, 0, NULL)) == 1;
	}
}

static void record_ocsp(SSL *ssl, mtk_probe_result *r)
{
	const unsigned char *p = NULL;
	long len = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *basic = NULL;
	int st;

	if (len <= 0 || p == NULL)
		return;
	r->ocsp_stapled = true;
	resp = d2i_OCSP_RESPONSE(NULL, &p, len);
	if (resp == NULL) {
		snprintf(r->ocsp_status, sizeof(r->ocsp_status), "malformed");
		ERR_clear_error();
		return;
	}
	st = OCSP_response_status(resp);
	snprintf(r->ocsp_status, sizeof(r->ocsp_status), "%s", OCSP_response_status_str(st));
	if (st == OCSP_RESPONSE_STATUS_SUCCESSFUL && r->chain != NULL && sk_X509_num(r->chain) >= 2 &&
	    (basic = OCSP_response_get1_basic(resp)) != NULL) {
		X509 *leaf = sk_X509_value(r->chain, 0);
		X509 *issuer = NULL;
		OCSP_CERTID *id;
		int status = -1, reason = 0;

		for (int i = 1; i < sk_X509_num(r->chain); i++)
			if (X509_check_issued(sk_X509_value(r->chain, i), leaf) == X509_V_OK)
				issuer = sk_X509_value(r->chain, i);
		id = issuer ? OCSP_cert_to_id(NULL, leaf, issuer) : NULL;
		if (id != NULL && OCSP_resp_find_status(basic, id, &status, &reason, NULL, NULL, NULL))
			snprintf(r->ocsp_cert_status, sizeof(r->ocsp_cert_status), "%s",
				 OCSP_cert_status_str(status));
		OCSP_CERTID_free(id);
		OCSP_BASICRESP_free(basic);
	}
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
}

/* After a TLS 1.3 handshake the server judges our Certificate (or its
 * absence) only once it has read our Finished: a refusal arrives as an
 * alert after SSL_connect returned.  A short read collects it; a session
 * ticket or any data means the server went on, i.e. accepted. */
static void await_verdict(const mtk_deadline *d, const mtk_probe_opts *o, SSL *ssl, int fd,
			  tls_state *st)
{
	long cap = o->verdict_wait_ms > 0 ? o->verdict_wait_ms : 1500;
	mtk_deadline vd;
	uint8_t buf[512];

	if (mtk_deadline_start(&vd, &d->clock, cap, d, NULL) != MTK_OK)
		return;
	while (!st->ticket && st->r->alert_received < 0) {
		int ret, e;

		ret = SSL_read(ssl, buf, sizeof(buf));
		if (ret > 0)
			break; /* data: the server is talking to us */
		e = SSL_get_error(ssl, ret);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		if (st->ticket)
			break;
		if (mtk_deadline_wait(&vd, fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0) <= 0)
			break;
	}
	ERR_clear_error();
}

static void classify_client_auth(mtk_probe_result *r, bool identity)
{
	if (!r->cert_requested) {
		r->client_auth = MTK_CLIENT_AUTH_NONE;
		return;
	}
	if (r->alert_received >= 0 && r->alert_received != SSL_AD_CLOSE_NOTIFY) {
		r->client_auth = identity ? MTK_CLIENT_AUTH_REJECTED : MTK_CLIENT_AUTH_REQUIRED;
		return;
	}
	r->client_auth = identity ? MTK_CLIENT_AUTH_ACCEPTED : MTK_CLIENT_AUTH_REQUESTED;
}

/* The HTTP stage's failure: a network error code (exit 5), the stage, the
 * peer, and the reason (the reader's detail after its "http: " prefix). */
static mtk_rc http_error(mtk_err *err, const mtk_probe_result *r, const char *why)
{
	mtk_err inner = *err;
	const char *d = inner.detail;

	if (strncmp(d, "http: ", 6) == 0)
		d += 6;
	mtk_err_clear(err);
	return mtk_err_set(err, MTK_E_HTTP, "HTTP: %s: %s", r->address, why ? why : d);
}

static mtk_rc http_exchange(const mtk_deadline *d, const mtk_probe_opts *o, SSL *ssl, int fd,
			    mtk_probe_result *r, mtk_err *err)
{
	const char *method = o->http_method ? o->http_method : "HEAD";
	const char *name = (o->sni && o->sni[0]) ? o->sni : o->host;
	char hostport[300], host_hdr[300];
	mtk_buf req = MTK_BUF_INIT;
	mtk_http_reader *hr = NULL;
	uint8_t buf[8192];
	int ret = 0, e;
	bool to = false;
	mtk_rc rc;

	mtk_net_authority(name, o->port, hostport, sizeof(hostport));
	if (strcmp(o->port, "443") == 0)
		snprintf(host_hdr, sizeof(host_hdr), "%s", strchr(name, ':') ? hostport : name);
	else
		snprintf(host_hdr, sizeof(host_hdr), "%s", hostport);
	if (strpbrk(o->http_path, " \r\n") != NULL || o->http_path[0] != '/')
		return mtk_err_set(err, MTK_E_INVALID_ARG, "HTTP: %s: the path must start with '/'",
				   o->http_path);
	rc = mtk_buf_printf(&req,
			    "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mtlskit-probe\r\n"
			    "Accept: */*\r\nConnection: close\r\n\r\n",
			    method, o->http_path, host_hdr);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "HTTP");
	e = mtk_tls_io(d, ssl, fd, mtk_tls_op_write, req.data, (int)req.len, 0, &ret, &to);
	mtk_buf_free(&req);
	if (e != SSL_ERROR_NONE)
		goto io_fail;
	hr = mtk_http_reader_new(strcmp(method, "HEAD") == 0, false);
	if (hr == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "HTTP");
	while (!mtk_http_reader_response(hr)->complete) {
		size_t used = 0;

		e = mtk_tls_io(d, ssl, fd, mtk_tls_op_read, buf, sizeof(buf), 0, &ret, &to);
		if (e == SSL_ERROR_ZERO_RETURN) {
			rc = mtk_http_reader_feed(hr, buf, 0, &used, err);
			break;
		}
		if (e != SSL_ERROR_NONE)
			goto io_fail;
		rc = mtk_http_reader_feed(hr, buf, (size_t)ret, &used, err);
		if (rc != MTK_OK)
			break;
		/* Enough for a probe: stop reading a large body early. */
		if (mtk_http_reader_response(hr)->body_len > ((size_t)1 << 20))
			break;
	}
	mtk_http_reader_take(hr, &r->http);
	mtk_http_reader_free(hr);
	if (rc != MTK_OK && r->http.status == 0)
		return rc == MTK_E_NOMEM ? rc : http_error(err, r, NULL);
	mtk_err_clear(err);
	r->http_done = true;
	return MTK_OK;
io_fail:
	if (hr != NULL) {
		mtk_http_reader_take(hr, &r->http);
		mtk_http_reader_free(hr);
	}
	if (to)
		return mtk_err_set(err, MTK_E_TIMEOUT, "HTTP: %s: %s within %ld ms", r->address,
				   r->http.status != 0 ? "the response did not end"
						       : "no complete response",
				   d->budget_ms);
	if (r->alert_received >= 0) {
		char why[128];

		snprintf(why, sizeof(why), "the server sent alert '%s'", r->alert_text);
		return http_error(err, r, why);
	}
	return http_error(err, r, "the connection failed before a response");
}

mtk_rc mtk_probe_run(const mtk_probe_opts *o, mtk_probe_result *r, mtk_err *err)
{
	mtk_clock clock = {o->clock_ms, o->clock_ctx};
	mtk_deadline d;
	struct addrinfo *ai = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	tls_state st = {0};
	int fd = -1, ret = 0, e;
	bool to = false, identity = o->cert != NULL && o->key != NULL;
	long cto = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000;
	uint64_t t0 = 0;
	const char *sni;
	mtk_rc rc;

	memset(r, 0, sizeof(*r));
	r->alert_received = -1;
	r->alert_sent = -1;
	r->host_match = -1;
	r->handshake_ms = -1;
	/* One deadline for the whole probe, computed once: every stage and
	 * every wait in it gets what is left of it. */
	r->stage = MTK_STAGE_RESOLVE;
	rc = mtk_deadline_start(&d, &clock, o->timeout_ms > 0 ? o->timeout_ms : 30000, NULL, err);
	if (rc != MTK_OK)
		goto out;

	/* resolve (the proxy resolves the target itself) */
	if (o->proxy_host != NULL)
		rc = mtk_net_resolve(&d, o->proxy_host, o->proxy_port, "proxy ", &ai, err);
	else
		rc = mtk_net_resolve(&d, o->host, o->port, "", &ai, err);
	if (rc != MTK_OK)
		goto out;

	r->stage = MTK_STAGE_CONNECT;
	if (o->proxy_host != NULL) {
		rc = mtk_net_connect(&d, ai, "proxy ", cto, &fd, r->proxy_address,
				     sizeof(r->proxy_address), err);
		if (rc != MTK_OK)
			goto out;
		r->stage = MTK_STAGE_PROXY;
		rc = mtk_net_proxy_connect(&d, fd, r->proxy_address, o->host, o->port, err);
		if (rc != MTK_OK)
			goto out;
		mtk_net_authority(o->host, o->port, r->address, sizeof(r->address));
	} else {
		rc = mtk_net_connect(&d, ai, "", cto, &fd, r->address, sizeof(r->address), err);
		if (rc != MTK_OK)
			goto out;
	}

	r->stage = MTK_STAGE_HANDSHAKE;
	if (state_index < 0)
		state_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ctx = make_ctx(o, err);
	if (ctx == NULL) {
		rc = err ? err->code : MTK_E_CRYPTO;
		goto out;
	}
	ssl = SSL_new(ctx);
	st.r = r;
	st.identity = identity;
	if (ssl == NULL || SSL_set_ex_data(ssl, state_index, &st) != 1 || SSL_set_fd(ssl, fd) != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "TLS handshake: cannot set up TLS");
		goto out;
	}
	sni = o->sni;
	if (sni == NULL) {
		struct in6_addr a6;
		struct in_addr a4;
		/* SNI carries host names only, never address literals. */
		if (inet_pton(AF_INET, o->host, &a4) != 1 && inet_pton(AF_INET6, o->host, &a6) != 1)
			sni = o->host;
	}
	if (sni != NULL && sni[0] != '\0' && SSL_set_tlsext_host_name(ssl, sni) != 1) {
		char shown[300];

		mtk_str_printable(sni, strlen(sni), shown, sizeof(shown));
		rc = mtk_err_set(err, MTK_E_INVALID_ARG, "TLS handshake: %s: not a valid SNI name",
				 shown);
		goto out;
	}
	SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
	t0 = clock.ms(clock.ctx);
	ERR_clear_error();
	e = mtk_tls_io(&d, ssl, fd, mtk_tls_op_connect, NULL, 0, 0, &ret, &to);
	if (st.cb_rc != MTK_OK) {
		rc = mtk_err_set(err, st.cb_rc, "handshake");
		goto out;
	}
	if (e != SSL_ERROR_NONE) {
		record_session(o, ssl, r);
		if (to) {
			rc = mtk_tls_timeout(err, &d, ssl, "TLS handshake", r->address);
			goto out;
		}
		/* A refusal of the client certificate (TLS 1.2 and earlier) is an
		 * answer, not a failure of the probe. */
		if (r->cert_requested && r->alert_received >= 0) {
			classify_client_auth(r, identity);
			r->protocol[0] = r->cipher[0] = '\0';
			ERR_clear_error();
			rc = MTK_OK;
			r->stage = MTK_STAGE_DONE;
			goto out;
		}
		rc = handshake_error(ssl, e, r, err);
		goto out;
	}
	r->handshake_ms = (long)(clock.ms(clock.ctx) - t0);
	r->handshake_done = true;
	record_session(o, ssl, r);
	record_ocsp(ssl, r);
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (r->cert_requested && SSL_version(ssl) >= TLS1_3_VERSION && o->http_path == NULL)
		await_verdict(&d, o, ssl, fd, &st);

	if (o->http_path != NULL && r->alert_received < 0) {
		long hto = o->http_timeout_ms > 0 ? o->http_timeout_ms : 5000;
		mtk_deadline hd;

		r->stage = MTK_STAGE_HTTP;
		/* The stage's own limit, unless what is left of the whole
		 * probe is shorter (then that one binds, and is named). */
		if (mtk_deadline_left(&d, 0) <= hto)
			rc = http_exchange(&d, o, ssl, fd, r, err);
		else if ((rc = mtk_deadline_start(&hd, &clock, hto, &d, err)) == MTK_OK)
			rc = http_exchange(&hd, o, ssl, fd, r, err);
		classify_client_auth(r, identity);
		/* A refusal seen while waiting for the response is still the
		 * answer about the certificate. */
		if (rc != MTK_OK && r->cert_requested && r->alert_received >= 0) {
			mtk_err_clear(err);
			rc = MTK_OK;
		}
		if (rc != MTK_OK)
			goto out;
	}
	classify_client_auth(r, identity);
	r->stage = MTK_STAGE_DONE;
	if (r->alert_received < 0) {
		/* A polite close; the server may already be gone. */
		(void)SSL_shutdown(ssl);
	}
	rc = MTK_OK;
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	if (ai != NULL)
		freeaddrinfo(ai);
	return rc;
}

void mtk_probe_result_free(mtk_probe_result *r)
{
	if (r == NULL)
		return;
	sk_X509_pop_free(r->chain, X509_free);
	sk_X509_NAME_pop_free(r->ca_names, X509_NAME_free);
	mtk_http_response_free(&r->http);
	memset(r, 0, sizeof(*r));
	r->alert_received = -1;
	r->alert_sent = -1;
	r->host_match = -1;
}

const char *mtk_alert_explain(int alert, bool cert_sent)
{
	switch (alert) {
	case SSL_AD_UNKNOWN_CA:
		return "the server does not trust the CA that issued the client certificate: "
		       "the server's trusted CA list (sys_ca_certificate on a ServiceNow instance) "
		       "must hold that CA chain";
	case SSL_AD_CERTIFICATE_EXPIRED:
		return "the server says the client certificate (or a CA in its chain) has expired or "
		       "is not yet valid: renew it";
	case SSL_AD_BAD_CERTIFICATE:
		return "the server refused the client certificate as bad: its signature or chain did "
		       "not verify, or the key does not match it";
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
		return "the server does not accept this kind of certificate: check key usage "
		       "(digitalSignature) and extended key usage (clientAuth)";
	case SSL_AD_CERTIFICATE_REVOKED:
		return "the client certificate has been revoked";
	case SSL_AD_CERTIFICATE_UNKNOWN:
		return "the server could not accept the client certificate (often a missing "
		       "intermediate CA, or a missing clientAuth EKU)";
	case SSL_AD_CERTIFICATE_REQUIRED:
		return "the server requires a client certificate and none was sent";
	case SSL_AD_HANDSHAKE_FAILURE:
		return cert_sent ? "the server refused the handshake after the client certificate "
				   "was sent (it does not accept it)"
				 : "the server refused the handshake without a client certificate: "
				   "one is required";
	case SSL_AD_ACCESS_DENIED:
		return "the certificate verified, but the server does not allow it access";
	case SSL_AD_DECRYPT_ERROR:
		return "the signature made with the client key did not verify: the key may not match "
		       "the certificate";
	case SSL_AD_PROTOCOL_VERSION:
		return "the server does not support the TLS versions offered";
	case SSL_AD_INSUFFICIENT_SECURITY:
		return "the server wants stronger cipher suites than were offered";
	case SSL_AD_UNRECOGNIZED_NAME:
		return "the server does not know the host name sent in SNI (use --sni)";
	case SSL_AD_INTERNAL_ERROR:
		return "the server reported an internal error";
	default:
		return "the server ended the handshake with this alert";
	}
}
