/*
 * tcp.c - TCP mode: the client's bytes to a backend and back, after a PROXY
 * protocol v2 header that carries the client's address and identity.
 * Backpressure both ways: a side is not read while more than max_buffer
 * waits to be written to the other.
 *
 * Half-close: when the client ends its sending side (TCP FIN, or a TLS
 * close_notify, which in TLS 1.3 closes one direction only), its last bytes
 * go to the backend, the backend's socket is shut for writing, and what the
 * backend still sends reaches the client until the backend closes (or
 * idle_timeout passes).
 */
#include "conn.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/x509v3.h>

typedef struct gw_tcp {
	struct bufferevent *tb; /* the backend */
	int attempts;
	size_t bstart;
	bool connected;
	bool client_eof;   /* the client sent its last byte (FIN or close_notify) */
	bool backend_shut; /* ... and the backend has been told (SHUT_WR) */
} gw_tcp;

static void tcp_connect(gw_conn *c);

static void backend_shut(gw_tcp *t)
{
	if (!t->backend_shut && t->tb != NULL) {
		shutdown(bufferevent_getfd(t->tb), SHUT_WR);
		t->backend_shut = true;
	}
}

static void tcp_forward(gw_conn *c, struct bufferevent *from, struct bufferevent *to)
{
	size_t high = (size_t)gw.cfg.max_buffer;

	evbuffer_add_buffer(bufferevent_get_output(to), bufferevent_get_input(from));
	if (evbuffer_get_length(bufferevent_get_output(to)) >= high) {
		/* back-pressure: stop reading until the other side drains */
		bufferevent_disable(from, EV_READ);
		bufferevent_setwatermark(to, EV_WRITE, high / 2, 0);
	}
	gw_conn_arm(c, &gw.idle_timeout);
}

static void tcp_client_read(struct bufferevent *bev, void *arg)
{
	gw_conn *c = arg;
	gw_tcp *t = c->mode;

	if (t->tb != NULL)
		tcp_forward(c, c->bev, t->tb);
}

static void tcp_backend_read(struct bufferevent *bev, void *arg)
{
	gw_conn *c = arg;
	gw_tcp *t = c->mode;

	tcp_forward(c, t->tb, c->bev);
}

static void tcp_client_drained(struct bufferevent *bev, void *arg)
{
	gw_conn *c = arg;
	gw_tcp *t = c->mode;

	if (t->tb != NULL)
		bufferevent_enable(t->tb, EV_READ);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
}

static void tcp_backend_drained(struct bufferevent *bev, void *arg)
{
	gw_conn *c = arg;
	gw_tcp *t = c->mode;

	if (t->client_eof) { /* the client's last bytes are out: pass on its FIN */
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			backend_shut(t);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
}

static void tcp_backend_event(struct bufferevent *bev, short events, void *arg)
{
	gw_conn *c = arg;
	gw_tcp *t = c->mode;

	if (events & BEV_EVENT_CONNECTED) {
		t->connected = true; /* from now on no retry */
		bufferevent_enable(c->bev, EV_READ);
		tcp_forward(c, c->bev, t->tb);
		return;
	}
	if (!t->connected) {
		/* connect failed: next backend */
		atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
		bufferevent_free(t->tb);
		t->tb = NULL;
		t->attempts++;
		tcp_connect(c);
		return;
	}
	/* backend closed: send the client what is left, then close */
	evbuffer_add_buffer(bufferevent_get_output(c->bev), bufferevent_get_input(t->tb));
	bufferevent_free(t->tb);
	t->tb = NULL;
	gw_conn_close_after_write(c);
}

static void tcp_client_event(struct bufferevent *bev, short events, void *arg)
{
	gw_conn *c = arg;
	gw_tcp *t = c->mode;

	if (t->tb != NULL && t->connected && (events & BEV_EVENT_EOF) &&
	    !(events & BEV_EVENT_ERROR)) {
		/* half-close: the backend may still answer */
		evbuffer_add_buffer(bufferevent_get_output(t->tb), bufferevent_get_input(c->bev));
		t->client_eof = true;
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_enable(c->bev, EV_WRITE);
		bufferevent_setwatermark(t->tb, EV_WRITE, 0, 0);
		if (evbuffer_get_length(bufferevent_get_output(t->tb)) == 0)
			backend_shut(t);
		gw_conn_arm(c, &gw.idle_timeout);
		return;
	}
	gw_conn_free(c);
}

static void key_alg(X509 *x, char *out, size_t cap)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	int id = k ? EVP_PKEY_get_base_id(k) : 0;

	snprintf(out, cap, "%s%d",
		 id == EVP_PKEY_RSA  ? "RSA"
		 : id == EVP_PKEY_EC ? "EC"
				     : "KEY",
		 k ? EVP_PKEY_get_bits(k) : 0);
}

static void tcp_connect(gw_conn *c)
{
	gw_tcp *t = c->mode;
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	mtk_pp2_info pi;
	mtk_buf hdr = MTK_BUF_INIT;
	char cn[256] = "", ka[32];
	size_t idx;

	if ((size_t)t->attempts >= gw.n_backends) {
		json_t *o = gw_conn_json(c);
		json_object_set_new(o, "reason", json_string("no backend answered"));
		gw_log("tcp_error", o);
		gw_conn_free(c);
		return;
	}
	idx = (t->bstart + (size_t)t->attempts) % gw.n_backends;
	memset(&pi, 0, sizeof(pi));
	pi.src = c->peer_ss;
	pi.dst = c->local_ss;
	pi.ssl = true;
	pi.client_flags = MTK_PP2_CLIENT_SSL | MTK_PP2_CLIENT_CERT_CONN |
			  (SSL_session_reused(ssl) ? MTK_PP2_CLIENT_CERT_SESS : 0);
	pi.verify = 0;
	pi.version = (char *)SSL_get_version(ssl);
	X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
	pi.cn = cn[0] ? cn : NULL;
	pi.cipher = (char *)SSL_get_cipher_name(ssl);
	pi.sig_alg = (char *)OBJ_nid2sn(X509_get_signature_nid(peer));
	key_alg(peer, ka, sizeof(ka));
	pi.key_alg = ka;
	pi.has_sha256 = true;
	memcpy(pi.sha256, c->leaf.md, 32);
	pi.user = c->ent->user;
	pi.roles = c->ent->roles;
	pi.subject = c->subject;
	if (mtk_pp2_encode(&pi, &hdr, NULL) != MTK_OK) {
		gw_conn_free(c);
		return;
	}
	t->tb =
	    bufferevent_socket_new(c->w->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (t->tb == NULL) {
		mtk_buf_free(&hdr);
		gw_conn_free(c);
		return;
	}
	bufferevent_setcb(t->tb, tcp_backend_read, tcp_backend_drained, tcp_backend_event, c);
	bufferevent_setcb(c->bev, tcp_client_read, tcp_client_drained, tcp_client_event, c);
	bufferevent_disable(c->bev, EV_READ); /* until the backend is connected */
	bufferevent_write(t->tb, hdr.data, hdr.len);
	mtk_buf_free(&hdr);
	bufferevent_enable(t->tb, EV_READ | EV_WRITE);
	gw_conn_arm(c, &gw.backend_timeout);
	if (bufferevent_socket_connect(t->tb, (struct sockaddr *)&gw.backends[idx].ss,
				       (int)gw.backends[idx].len) != 0) {
		bufferevent_free(t->tb);
		t->tb = NULL;
		t->attempts++;
		tcp_connect(c);
	}
}

/* ------------------------------------------------------------ mode table */

static void tcp_start(gw_conn *c)
{
	gw_tcp *t;

	if (c->deny != R__COUNT || (t = calloc(1, sizeof(*t))) == NULL) {
		gw_conn_free(c);
		return;
	}
	c->mode = t;
	t->bstart = c->w->rr++ % gw.n_backends;
	tcp_connect(c);
}

static void tcp_timeout(gw_conn *c)
{
	gw_conn_free(c);
}

static bool tcp_idle(const gw_conn *c)
{
	return false; /* a byte stream has no "between requests" */
}

static void tcp_release(gw_conn *c)
{
	gw_tcp *t = c->mode;

	if (t == NULL)
		return;
	if (t->tb != NULL)
		bufferevent_free(t->tb);
	free(t);
	c->mode = NULL;
}

const gw_mode_ops gw_tcp_ops = {tcp_start, tcp_timeout, tcp_idle, tcp_release};
