/* admin.c - the gateway's JSON-lines log, its counters, and the admin
 * listener serving /metrics (Prometheus text format) and /healthz.
 *
 * The admin listener reads requests with the same strict reader as the
 * main one (lib/gateway/http1.c) under the same head limits and timeouts:
 * an oversized head is 431, a slow one 408, and at most ADMIN_MAX_CONNS
 * admin connections are open at once. */
#include "gw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "mtlskit/gwhttp.h"

gw_metrics gw_m;
bool gw_log_enabled = true;
static int log_fd = 2;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct evconnlistener *admin_listener;
static gw_accept_guard admin_guard;

const double gw_buckets[GW_NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					0.1,    0.25,  0.5,    1,     2.5,  5,     10};

static const char *const reason_names[] = {
#define GW_R_NAME(e, s) s,
	GW_REASONS(GW_R_NAME)
#undef GW_R_NAME
};

const char *gw_reason_name(gw_reason r)
{
	return (unsigned)r < R__COUNT ? reason_names[r] : "unknown";
}

void gw_hist_observe(gw_hist *h, double s)
{
	size_t i = 0;

	while (i < GW_NBUCKETS && s > gw_buckets[i])
		i++;
	atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint_fast64_t)(s * 1e6), memory_order_relaxed);
}

int gw_log_open(const char *dest)
{
	if (dest == NULL || strcmp(dest, "-") == 0) {
		log_fd = 2;
		return 0;
	}
	if (strcmp(dest, "off") == 0) {
		gw_log_enabled = false;
		return 0;
	}
	log_fd = open(dest, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	return log_fd < 0 ? -1 : 0;
}

void gw_log(const char *event, json_t *obj)
{
	struct timeval tv;
	struct tm tm;
	char ts[96];
	char *line;
	size_t n;

	if (!gw_log_enabled || obj == NULL) {
		json_decref(obj);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(tv.tv_usec / 1000));
	json_object_set_new(obj, "ts", json_string(ts));
	json_object_set_new(obj, "event", json_string(event));
	line = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	if (line == NULL)
		return;
	n = strlen(line);
	line[n] = '\n'; /* json_dumps NUL is replaced: write n + 1 bytes, then free */
	pthread_mutex_lock(&log_lock);
	for (size_t off = 0; off < n + 1;) {
		ssize_t w = write(log_fd, line + off, n + 1 - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	pthread_mutex_unlock(&log_lock);
	free(line);
}

static void hist_out(struct evbuffer *o, const char *name, const char *help, gw_hist *h)
{
	uint_fast64_t cum = 0;

	evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < GW_NBUCKETS; i++) {
		cum += atomic_load_explicit(&h->b[i], memory_order_relaxed);
		evbuffer_add_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, gw_buckets[i],
				    (unsigned long long)cum);
	}
	cum += atomic_load_explicit(&h->b[GW_NBUCKETS], memory_order_relaxed);
	evbuffer_add_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	evbuffer_add_printf(o, "%s_sum %.6f\n%s_count %llu\n", name,
			    (double)atomic_load(&h->sum_us) / 1e6, name,
			    (unsigned long long)atomic_load(&h->count));
}

/* Label values are escaped as the exposition format asks: \ " and newline. */
static void label(struct evbuffer *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(o, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(o, "\\n", 2);
		else
			evbuffer_add(o, v, 1);
	}
}

static void metrics_body(struct evbuffer *o)
{
	gw_state *st = gw_state_current();
	static const char *const classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};

	evbuffer_add_printf(o, "# HELP mtlskit_gateway_handshakes_total Completed mTLS handshakes.\n"
			       "# TYPE mtlskit_gateway_handshakes_total counter\n"
			       "mtlskit_gateway_handshakes_total %llu\n",
			    (unsigned long long)atomic_load(&gw_m.handshakes_ok));
	evbuffer_add_printf(o, "# HELP mtlskit_gateway_handshakes_resumed_total Handshakes that resumed a session.\n"
			       "# TYPE mtlskit_gateway_handshakes_resumed_total counter\n"
			       "mtlskit_gateway_handshakes_resumed_total %llu\n",
			    (unsigned long long)atomic_load(&gw_m.handshakes_resumed));
	evbuffer_add_printf(o, "# HELP mtlskit_gateway_verify_cache_hits_total Client chains accepted as already verified under the current configuration (verify_cache).\n"
			       "# TYPE mtlskit_gateway_verify_cache_hits_total counter\n"
			       "mtlskit_gateway_verify_cache_hits_total %llu\n",
			    (unsigned long long)atomic_load(&gw_m.verify_cache_hits));
	evbuffer_add_printf(o, "# HELP mtlskit_gateway_rejections_total Connections refused, by reason.\n"
			       "# TYPE mtlskit_gateway_rejections_total counter\n");
	for (int r = 0; r < R__COUNT; r++)
		evbuffer_add_printf(o, "mtlskit_gateway_rejections_total{reason=\"%s\"} %llu\n",
				    gw_reason_name((gw_reason)r),
				    (unsigned long long)atomic_load(&gw_m.rejections[r]));
	evbuffer_add_printf(o, "# HELP mtlskit_gateway_requests_total Proxied HTTP requests by status class.\n"
			       "# TYPE mtlskit_gateway_requests_total counter\n");
	for (int c = 1; c <= 5; c++)
		evbuffer_add_printf(o, "mtlskit_gateway_requests_total{code=\"%s\"} %llu\n", classes[c],
				    (unsigned long long)atomic_load(&gw_m.requests[c]));
	evbuffer_add_printf(o, "# HELP mtlskit_gateway_backend_errors_total Failed backend attempts.\n"
			       "# TYPE mtlskit_gateway_backend_errors_total counter\n"
			       "mtlskit_gateway_backend_errors_total %llu\n",
			    (unsigned long long)atomic_load(&gw_m.backend_errors));
	evbuffer_add_printf(o, "# HELP mtlskit_gateway_reloads_total Configuration reloads by result.\n"
			       "# TYPE mtlskit_gateway_reloads_total counter\n"
			       "mtlskit_gateway_reloads_total{result=\"ok\"} %llu\n"
			       "mtlskit_gateway_reloads_total{result=\"failed\"} %llu\n",
			    (unsigned long long)atomic_load(&gw_m.reloads_ok),
			    (unsigned long long)atomic_load(&gw_m.reloads_failed));
	evbuffer_add_printf(o, "# HELP mtlskit_gateway_active_connections Open client connections.\n"
			       "# TYPE mtlskit_gateway_active_connections gauge\n"
			       "mtlskit_gateway_active_connections %ld\n",
			    atomic_load(&gw_m.active));
	hist_out(o, "mtlskit_gateway_handshake_seconds", "Time from accept to completed handshake.",
		 &gw_m.hs_latency);
	hist_out(o, "mtlskit_gateway_request_seconds", "Time from complete request to complete response.",
		 &gw_m.req_latency);
	if (st != NULL) {
		evbuffer_add_printf(o, "# HELP mtlskit_gateway_config_generation Reload generation in use.\n"
				       "# TYPE mtlskit_gateway_config_generation gauge\n"
				       "mtlskit_gateway_config_generation %ld\n",
				    st->generation);
		evbuffer_add_printf(o, "# HELP mtlskit_gateway_server_cert_not_after_seconds notAfter of the gateway's own certificates.\n"
				       "# TYPE mtlskit_gateway_server_cert_not_after_seconds gauge\n");
		for (size_t i = 0; i < st->n_own; i++) {
			evbuffer_add_printf(o, "mtlskit_gateway_server_cert_not_after_seconds{subject=\"");
			label(o, st->own_subject[i] ? st->own_subject[i] : "");
			evbuffer_add_printf(o, "\"} %lld\n", (long long)st->own_not_after[i]);
		}
		evbuffer_add_printf(o, "# HELP mtlskit_gateway_crl_next_update_seconds nextUpdate "
				       "of every loaded CRL (0: none).\n"
				       "# TYPE mtlskit_gateway_crl_next_update_seconds gauge\n");
		for (size_t i = 0; i < st->n_crls; i++) {
			evbuffer_add_printf(o, "mtlskit_gateway_crl_next_update_seconds{file=\"");
			label(o, st->crls[i].file);
			evbuffer_add_printf(o, "\",line=\"%ld\",issuer=\"", st->crls[i].line);
			label(o, st->crls[i].issuer);
			evbuffer_add_printf(o, "\"} %lld\n", (long long)st->crls[i].next_update);
		}
		evbuffer_add_printf(o, "# HELP mtlskit_gateway_client_cert_not_after_seconds notAfter of mapped client certificates seen since the last reload.\n"
				       "# TYPE mtlskit_gateway_client_cert_not_after_seconds gauge\n");
		for (size_t i = 0; i < mtk_usermap_count(st->map); i++) {
			int64_t na = atomic_load_explicit(&st->map_not_after[i], memory_order_relaxed);
			const mtk_usermap_entry *e = mtk_usermap_get(st->map, i);
			if (na == 0)
				continue;
			evbuffer_add_printf(o, "mtlskit_gateway_client_cert_not_after_seconds{user=\"");
			label(o, e->user);
			evbuffer_add_printf(o, "\",line=\"%ld\"} %lld\n", e->line, (long long)na);
		}
		gw_state_unref(st);
	}
}

/* ------------------------------------------------------------ accept errors */

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_accept_guard *g = arg;

	if (g->l != NULL)
		evconnlistener_enable(g->l);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	gw_accept_guard *g = arg;
	int e = EVUTIL_SOCKET_ERROR();
	bool pause = e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
	time_t now = time(NULL);
	json_t *o;

	if (pause) {
		struct timeval tv = {0, 100000};
		evconnlistener_disable(l);
		evtimer_add(g->resume, &tv);
	}
	if (now == g->logged) {
		g->quiet++;
		return;
	}
	o = json_object();
	json_object_set_new(o, "error", json_string(strerror(e)));
	if (pause)
		json_object_set_new(o, "paused_ms", json_integer(100));
	if (g->quiet > 0)
		json_object_set_new(o, "not_logged", json_integer((json_int_t)g->quiet));
	g->logged = now;
	g->quiet = 0;
	gw_log("accept_error", o);
}

int gw_accept_guard_init(gw_accept_guard *g, struct event_base *base, void *owner)
{
	memset(g, 0, sizeof(*g));
	g->owner = owner;
	g->resume = evtimer_new(base, accept_resume_cb, g);
	return g->resume != NULL ? 0 : -1;
}

int gw_accept_guard_listen(gw_accept_guard *g, struct event_base *base, evconnlistener_cb cb,
			   int fd)
{
	g->l = evconnlistener_new(base, cb, g, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (g->l == NULL)
		return -1;
	evconnlistener_set_error_cb(g->l, accept_error_cb);
	return 0;
}

void gw_accept_guard_free(gw_accept_guard *g)
{
	if (g->resume != NULL)
		event_free(g->resume);
	g->resume = NULL;
	g->l = NULL;
}

void gw_libevent_log(int severity, const char *msg)
{
	json_t *o = json_object();
	static const char *const sev[] = {"debug", "info", "warning", "error"};

	json_object_set_new(o, "severity",
			    json_string(severity >= 0 && severity < 4 ? sev[severity] : "error"));
	json_object_set_new(o, "message", json_string(msg));
	gw_log("libevent", o);
}

/* ------------------------------------------------------------ admin listener */

#define ADMIN_MAX_CONNS 64

typedef struct admin_conn {
	struct admin_conn *prev, *next; /* every open admin connection, freed at stop */
	struct bufferevent *bev;
	struct event *timer;
	mtk_http_req rq;
	bool closing;
} admin_conn;

static atomic_int admin_open;
static admin_conn *admin_conns; /* touched only by the main thread */

static void admin_free(admin_conn *a)
{
	if (a->prev)
		a->prev->next = a->next;
	else
		admin_conns = a->next;
	if (a->next)
		a->next->prev = a->prev;
	bufferevent_free(a->bev);
	event_free(a->timer);
	mtk_http_req_free(&a->rq);
	free(a);
	atomic_fetch_sub(&admin_open, 1);
}

static void admin_arm(admin_conn *a, const struct timeval *tv)
{
	evtimer_add(a->timer, tv);
}

static void admin_reply(admin_conn *a, int status, const char *text, const char *type,
			struct evbuffer *body, bool head_only, bool close)
{
	struct evbuffer *out = bufferevent_get_output(a->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
			    status, text, type, evbuffer_get_length(body),
			    close ? "Connection: close\r\n" : "");
	if (head_only)
		evbuffer_drain(body, evbuffer_get_length(body));
	else
		evbuffer_add_buffer(out, body);
	if (close) {
		a->closing = true;
		bufferevent_disable(a->bev, EV_READ);
	}
}

static void admin_answer(admin_conn *a)
{
	mtk_http_req *r = &a->rq;
	struct evbuffer *body = evbuffer_new();
	bool head = r->method_len == 4 && memcmp(r->method, "HEAD", 4) == 0;
	bool get = r->method_len == 3 && memcmp(r->method, "GET", 3) == 0;
	size_t plen = r->target_len;
	const char *q = memchr(r->target, '?', r->target_len);

	if (body == NULL) {
		admin_free(a);
		return;
	}
	if (q != NULL)
		plen = (size_t)(q - r->target);
	if (!get && !head) {
		evbuffer_add_printf(body, "405 Method Not Allowed\n");
		admin_reply(a, 405, mtk_http_status_text(405), "text/plain", body, false,
			    !r->keep_alive);
	} else if (plen == 8 && memcmp(r->target, "/metrics", 8) == 0) {
		metrics_body(body);
		admin_reply(a, 200, mtk_http_status_text(200), "text/plain; version=0.0.4", body, head,
			    !r->keep_alive);
	} else if (plen == 8 && memcmp(r->target, "/healthz", 8) == 0) {
		bool draining = atomic_load(&gw.draining);
		evbuffer_add_printf(body, draining ? "draining\n" : "ok\n");
		admin_reply(a, draining ? 503 : 200, draining ? "Draining" : mtk_http_status_text(200),
			    "text/plain", body,
			    head, !r->keep_alive);
	} else {
		evbuffer_add_printf(body, "404 Not Found\n");
		admin_reply(a, 404, mtk_http_status_text(404), "text/plain", body, head,
			    !r->keep_alive);
	}
	evbuffer_free(body);
	mtk_http_req_reset(r);
	admin_arm(a, &gw.idle_timeout);
}

static void admin_refuse(admin_conn *a, int status, const char *why)
{
	struct evbuffer *body = evbuffer_new();
	json_t *o = json_object();

	json_object_set_new(o, "status", json_integer(status));
	json_object_set_new(o, "reason", json_string(why));
	gw_log("admin_request", o);
	if (body == NULL) {
		admin_free(a);
		return;
	}
	evbuffer_add_printf(body, "%d\n", status);
	admin_reply(a, status, mtk_http_status_text(status), "text/plain", body, false, true);
	evbuffer_free(body);
}

static void admin_read(struct bufferevent *bev, void *arg)
{
	admin_conn *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!a->closing) {
		if (mtk_http_req_state(&a->rq) == MTK_HTTP_NEED_MORE && a->rq.head.len == 0 &&
		    evbuffer_get_length(in) > 0)
			admin_arm(a, &gw.header_timeout);
		if (!gw_http_feed(in, &a->rq))
			return;
		switch (mtk_http_req_state(&a->rq)) {
		case MTK_HTTP_NEED_MORE:
		case MTK_HTTP_HEAD:
			break;
		case MTK_HTTP_DONE:
			admin_answer(a);
			break;
		case MTK_HTTP_ERROR:
			admin_refuse(a, a->rq.status, a->rq.why);
			return;
		}
	}
}

static void admin_write(struct bufferevent *bev, void *arg)
{
	admin_conn *a = arg;

	if (a->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		admin_free(a);
}

static void admin_event(struct bufferevent *bev, short events, void *arg)
{
	admin_free(arg);
}

static void admin_timeout(evutil_socket_t fd, short what, void *arg)
{
	admin_free(arg);
}

static void admin_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			 int socklen, void *arg)
{
	struct event_base *base = ((gw_accept_guard *)arg)->owner;
	admin_conn *a;
	mtk_http_limits lim = {(size_t)gw.cfg.max_header_size, (size_t)gw.cfg.max_headers, 0};

	if (atomic_load(&admin_open) >= ADMIN_MAX_CONNS || (a = calloc(1, sizeof(*a))) == NULL) {
		close(fd);
		return;
	}
	atomic_fetch_add(&admin_open, 1);
	mtk_http_req_init(&a->rq, &lim);
	a->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	a->timer = evtimer_new(base, admin_timeout, a);
	if (a->bev == NULL || a->timer == NULL || a->rq.fields == NULL) {
		if (a->bev == NULL)
			close(fd);
		else
			bufferevent_free(a->bev);
		a->bev = NULL;
		if (a->timer != NULL)
			event_free(a->timer);
		mtk_http_req_free(&a->rq);
		free(a);
		atomic_fetch_sub(&admin_open, 1);
		return;
	}
	a->next = admin_conns;
	if (admin_conns != NULL)
		admin_conns->prev = a;
	admin_conns = a;
	bufferevent_setcb(a->bev, admin_read, admin_write, admin_event, a);
	bufferevent_setwatermark(a->bev, EV_READ, 0, (size_t)gw.cfg.max_header_size + 4096);
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
	admin_arm(a, &gw.header_timeout);
}

int gw_admin_start(struct event_base *base, int fd)
{
	if (gw_accept_guard_init(&admin_guard, base, base) != 0 ||
	    gw_accept_guard_listen(&admin_guard, base, admin_accept, fd) != 0)
		return -1;
	admin_listener = admin_guard.l;
	return 0;
}

void gw_admin_stop(void)
{
	if (admin_listener != NULL)
		evconnlistener_free(admin_listener);
	admin_listener = NULL;
	gw_accept_guard_free(&admin_guard);
	while (admin_conns != NULL)
		admin_free(admin_conns);
}
