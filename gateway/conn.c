/*
 * conn.c - the life of one client connection: accept (global and
 * per-address limits), the mTLS handshake, the identity decision, the timer,
 * and freeing.  What happens after the handshake belongs to the mode
 * (http.c or tcp.c), reached through c->ops.
 *
 * Each connection lives on one worker's event base and is touched only by
 * that thread.  Every bufferevent uses deferred callbacks, so a callback
 * never runs inside another one and freeing a connection is always safe at
 * the end of a callback.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

double gw_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

void gw_conn_arm(gw_conn *c, const struct timeval *tv)
{
	evtimer_add(c->timer, tv);
}

json_t *gw_conn_json(const gw_conn *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "peer", json_string(c->peer));
	if (c->fp[0])
		json_object_set_new(o, "sha256", json_string(c->fp));
	if (c->subject != NULL)
		json_object_set_new(o, "subject", json_string(c->subject));
	if (c->ent != NULL)
		json_object_set_new(o, "user", json_string(c->ent->user));
	return o;
}

static void write_done_cb(struct bufferevent *bev, void *arg)
{
	/* A deferred write callback queued before the last bytes were added
	 * runs with this callback too: free only once everything is out. */
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		gw_conn_free(arg);
}

void gw_conn_close_after_write(gw_conn *c)
{
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, write_done_cb, NULL, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	gw_conn_arm(c, &gw.idle_timeout);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		gw_conn_free(c);
}

static void peer_text(gw_conn *c, const struct sockaddr *sa);

/* ------------------------------------------------------------ per-address limit */

/* Open connections per client address, over every worker.  Exact (a
 * chained hash table under one lock): a hashed counter array would let an
 * attacker lock out the addresses that share its buckets. */
typedef struct ip_count {
	struct ip_count *next;
	uint8_t addr[16];
	long n;
} ip_count;

#define IP_BUCKETS 4096
static ip_count *ip_tab[IP_BUCKETS];
static pthread_mutex_t ip_lock = PTHREAD_MUTEX_INITIALIZER;

static void ip_key(const struct sockaddr_storage *ss, uint8_t key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		key[10] = key[11] = 0xff; /* v4-mapped */
		memcpy(key + 12, &a->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, 16);
	}
}

static size_t ip_hash(const uint8_t key[16])
{
	return (size_t)(mtk_fnv1a(MTK_FNV1A_INIT, key, 16) % IP_BUCKETS);
}

static bool ip_acquire(const struct sockaddr_storage *ss)
{
	uint8_t key[16];
	ip_count *e;
	size_t h;
	bool ok = true;

	if (gw.cfg.max_connections_per_ip <= 0)
		return true;
	ip_key(ss, key);
	h = ip_hash(key);
	pthread_mutex_lock(&ip_lock);
	for (e = ip_tab[h]; e != NULL && memcmp(e->addr, key, 16) != 0; e = e->next)
		;
	if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
		memcpy(e->addr, key, 16);
		e->next = ip_tab[h];
		ip_tab[h] = e;
	}
	if (e == NULL || e->n >= gw.cfg.max_connections_per_ip)
		ok = false;
	else
		e->n++;
	pthread_mutex_unlock(&ip_lock);
	return ok;
}

static void ip_release(const struct sockaddr_storage *ss)
{
	uint8_t key[16];
	ip_count **pp, *e;

	ip_key(ss, key);
	pthread_mutex_lock(&ip_lock);
	for (pp = &ip_tab[ip_hash(key)]; (e = *pp) != NULL; pp = &e->next) {
		if (memcmp(e->addr, key, 16) == 0) {
			if (--e->n <= 0) {
				*pp = e->next;
				free(e);
			}
			break;
		}
	}
	pthread_mutex_unlock(&ip_lock);
}

/* ------------------------------------------------------------ identity */

static void tohex(const uint8_t *md, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = '\0';
}

/* x is the leaf of this connection's handshake: its digest comes from the
 * verify step when that ran (gw_leaf_md), else is worked out here, once. */
static void conn_set_cert(gw_conn *c, X509 *x)
{
	unsigned int n = 0;

	if (!c->leaf.known && X509_digest(x, gw_sha256(), c->leaf.md, &n) == 1 && n == 32)
		c->leaf.known = true;
	if (c->leaf.known)
		tohex(c->leaf.md, c->fp);
	free(c->subject);
	c->subject = gw_name(X509_get_subject_name(x));
}

static void reject(gw_conn *c, gw_reason r, const char *verify_err, const char *tls_err)
{
	json_t *o;

	atomic_fetch_add_explicit(&gw_m.rejections[r], 1, memory_order_relaxed);
	if (!gw_log_enabled)
		return;
	o = gw_conn_json(c);
	json_object_set_new(o, "reason", json_string(gw_reason_name(r)));
	if (verify_err)
		json_object_set_new(o, "verify_error", json_string(verify_err));
	if (tls_err)
		json_object_set_new(o, "tls_error", json_string(tls_err));
	gw_log("reject", o);
}

/* ------------------------------------------------------------ refused handshakes */

/* Lingering close after a refused handshake.  The alert is already on the
 * wire; closing now with the client's next bytes unread would make the
 * kernel send a reset that can overtake the alert, and the client would
 * report "connection reset" instead of "unknown ca".  So: keep a duplicate
 * of the socket, send FIN, discard what the client still sends, and close
 * at its FIN or after a few seconds.  Lingering sockets count against
 * max_connections, and none linger when the gateway is near its limit. */
#define LINGER_ROUNDS 16

static void linger_cb(evutil_socket_t fd, short what, void *arg);
/* The worker's base, for re-arming from inside a once-callback. */
static _Thread_local struct event_base *linger_base;

static void linger_close(int fd)
{
	close(fd);
	atomic_fetch_sub_explicit(&gw_m.lingering, 1, memory_order_relaxed);
}

static void linger_arm(struct event_base *base, int fd, intptr_t rounds)
{
	struct timeval tv = {2, 0};

	if (rounds <= 0 || event_base_once(base, fd, EV_READ, linger_cb, (void *)rounds, &tv) != 0)
		linger_close(fd);
}

static void linger_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[4096];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		linger_close(fd);
		return;
	}
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		linger_close(fd);
		return;
	}
	linger_arm(linger_base, fd, (intptr_t)arg - 1);
}

static void linger_start(gw_conn *c)
{
	long open = atomic_load(&gw_m.active) + atomic_load(&gw_m.lingering);
	int fd;

	if (open >= gw.cfg.max_connections * 3 / 4)
		return;
	if ((fd = dup(bufferevent_getfd(c->bev))) < 0)
		return;
	atomic_fetch_add_explicit(&gw_m.lingering, 1, memory_order_relaxed);
	shutdown(fd, SHUT_WR);
	linger_base = c->w->base;
	linger_arm(c->w->base, fd, LINGER_ROUNDS);
}

static void handshake_failed(gw_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	long vr = SSL_get_verify_result(ssl);
	unsigned long e, first = 0;
	gw_reason r = R_TLS;
	char tls_err[256] = "";
	X509 *refused = gw_state_rejected_leaf(ssl);

	if (refused != NULL && c->fp[0] == '\0') /* the log names who was turned away */
		conn_set_cert(c, refused);

	while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
		if (first == 0)
			first = e;
		if (ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
			r = R_NO_CERT;
	}
	/* A TCP probe (port check, load balancer health check) connects and
	 * closes without a byte: not a TLS client, not a rejection. */
	if (!c->hs_timed_out && vr == X509_V_OK && SSL_get_state(ssl) == TLS_ST_BEFORE &&
	    (first == 0 || ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		gw_conn_free(c);
		return;
	}
	if (first != 0)
		ERR_error_string_n(first, tls_err, sizeof(tls_err));
	if (c->hs_timed_out)
		r = R_HS_TIMEOUT;
	else if (vr != X509_V_OK && r != R_NO_CERT)
		r = gw_reason_from_verify(vr);
	else if (first == 0)
		snprintf(tls_err, sizeof(tls_err), "connection closed during handshake");
	reject(c, r, vr != X509_V_OK ? X509_verify_cert_error_string(vr) : NULL,
	       tls_err[0] ? tls_err : NULL);
	if (!c->hs_timed_out)
		linger_start(c);
	gw_conn_free(c);
}

static void handshake_done(gw_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	mtk_gw_verdict v;

	atomic_fetch_add_explicit(&gw_m.handshakes_ok, 1, memory_order_relaxed);
	if (SSL_session_reused(ssl))
		atomic_fetch_add_explicit(&gw_m.handshakes_resumed, 1, memory_order_relaxed);
	gw_hist_observe(&gw_m.hs_latency, gw_since(&c->t_accept));
	if (peer == NULL) { /* cannot happen with FAIL_IF_NO_PEER_CERT; be sure */
		reject(c, R_NO_CERT, NULL, NULL);
		gw_conn_free(c);
		return;
	}
	conn_set_cert(c, peer);
	v = mtk_gw_identify(c->st->map, c->leaf.md, c->subject, X509_check_ca(peer) != 0,
			    c->st->require_role);
	c->ent = v.entry;
	if (v.entry != NULL)
		atomic_store_explicit(&c->st->map_not_after[v.index],
				      gw_asn1_time(X509_get0_notAfter(peer)), memory_order_relaxed);
	switch (v.verdict) {
	case MTK_GW_ALLOW:
		break;
	case MTK_GW_DENY_UNMAPPED:
		c->deny = R_UNMAPPED;
		break;
	case MTK_GW_DENY_ROLE:
		c->deny = R_ROLE;
		break;
	case MTK_GW_DENY_CA:
		c->deny = R_CA_CERT;
		break;
	}
	if (c->deny != R__COUNT)
		reject(c, c->deny, NULL, NULL);
	c->ops = gw.cfg.mode == MTK_GW_MODE_TCP ? &gw_tcp_ops : &gw_http_ops;
	c->ops->start(c);
}

static void hs_event(struct bufferevent *bev, short events, void *arg)
{
	gw_conn *c = arg;

	if (events & BEV_EVENT_CONNECTED)
		handshake_done(c);
	else
		handshake_failed(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_conn *c = arg;

	if (c->ops == NULL) {
		c->hs_timed_out = true;
		handshake_failed(c);
		return;
	}
	c->ops->timeout(c);
}

/* ------------------------------------------------------------ lifecycle */

void gw_conn_free(gw_conn *c)
{
	gw_worker *w = c->w;

	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->ops != NULL)
		c->ops->release(c);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		if (ssl != NULL && c->ops != NULL)
			SSL_shutdown(ssl); /* close_notify, best effort */
		bufferevent_free(c->bev);
	}
	if (c->ip_counted)
		ip_release(&c->peer_ss);
	free(c->subject);
	gw_state_unref(c->st);
	free(c);
	atomic_fetch_sub_explicit(&gw_m.active, 1, memory_order_relaxed);
	if (w->draining && w->conns == NULL)
		event_base_loopexit(w->base, NULL);
}

static void peer_text(gw_conn *c, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	}
	snprintf(c->ip, sizeof(c->ip), "%s", host);
	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
}

/* A connection refused at accept: counted, and logged at most once a
 * second per worker (a flood must not become a flood of log lines). */
static void refuse(gw_worker *w, int fd, const struct sockaddr *sa, gw_reason r)
{
	static _Thread_local time_t logged;
	static _Thread_local unsigned long quiet;
	time_t now = time(NULL);

	close(fd);
	atomic_fetch_add_explicit(&gw_m.rejections[r], 1, memory_order_relaxed);
	if (!gw_log_enabled)
		return;
	if (now == logged) {
		quiet++;
		return;
	}
	gw_conn tmp = {.w = w};
	json_t *o;
	peer_text(&tmp, sa);
	o = gw_conn_json(&tmp);
	json_object_set_new(o, "reason", json_string(gw_reason_name(r)));
	if (quiet > 0)
		json_object_set_new(o, "not_logged", json_integer((json_int_t)quiet));
	logged = now;
	quiet = 0;
	gw_log("reject", o);
}

void gw_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen,
	       void *arg)
{
	gw_worker *w = ((gw_accept_guard *)arg)->owner;
	gw_conn *c = NULL;
	SSL *ssl = NULL;
	socklen_t ll = sizeof(c->local_ss);
	int one = 1;

	/* Counted from accept(): sockets still in the handshake and
	 * lingering ones too. */
	if (atomic_load(&gw_m.active) + atomic_load(&gw_m.lingering) >= gw.cfg.max_connections ||
	    w->draining || (c = calloc(1, sizeof(*c))) == NULL) {
		refuse(w, fd, sa, R_CONN_LIMIT);
		return;
	}
	if ((size_t)socklen <= sizeof(c->peer_ss))
		memcpy(&c->peer_ss, sa, (size_t)socklen);
	if (!ip_acquire(&c->peer_ss)) {
		free(c);
		refuse(w, fd, sa, R_IP_LIMIT);
		return;
	}
	c->ip_counted = gw.cfg.max_connections_per_ip > 0;
	atomic_fetch_add_explicit(&gw_m.active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&gw_m.accepted, 1, memory_order_relaxed);
	clock_gettime(CLOCK_MONOTONIC, &c->t_accept);
	c->w = w;
	c->deny = R__COUNT;
	getsockname(fd, (struct sockaddr *)&c->local_ss, &ll);
	peer_text(c, sa);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	c->st = gw_state_current();
	c->timer = evtimer_new(w->base, timer_cb, c);
	ssl = c->st ? SSL_new(c->st->ctx) : NULL;
	if (ssl == NULL || c->timer == NULL || !gw_state_bind_leaf(ssl, &c->leaf)) {
		SSL_free(ssl);
		close(fd);
		gw_conn_free(c);
		return;
	}
	c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		SSL_free(ssl);
		close(fd);
		gw_conn_free(c);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, NULL, NULL, hs_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	gw_conn_arm(c, &gw.hs_timeout);
}

void gw_worker_drain(gw_worker *w)
{
	gw_conn *c, *next;

	w->draining = true;
	if (w->listener != NULL) {
		evconnlistener_free(w->listener);
		w->listener = NULL;
		w->guard.l = NULL;
		if (w->guard.resume != NULL)
			evtimer_del(w->guard.resume);
	}
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (c->ops != NULL && c->ops->idle(c))
			gw_conn_free(c);
	}
	if (w->conns == NULL)
		event_base_loopexit(w->base, NULL);
}

void gw_worker_close_all(gw_worker *w)
{
	w->draining = false; /* the loop is over: no loopexit from gw_conn_free */
	while (w->conns != NULL)
		gw_conn_free(w->conns);
}
