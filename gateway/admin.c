/* admin.c - the gateway's JSON-lines log, its counters, and the admin
 * listener serving /metrics (Prometheus text format) and /healthz. */
#include "gw.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

gw_metrics gw_m;
bool gw_log_enabled = true;
static int log_fd = 2;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct evhttp *admin_http;

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

static void metrics_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *o = evbuffer_new();
	gw_state *st = gw_state_current();
	static const char *const classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};

	if (o == NULL) {
		gw_state_unref(st);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(o, "# HELP mtlskit_gateway_handshakes_total Completed mTLS handshakes.\n"
			       "# TYPE mtlskit_gateway_handshakes_total counter\n"
			       "mtlskit_gateway_handshakes_total %llu\n",
			    (unsigned long long)atomic_load(&gw_m.handshakes_ok));
	evbuffer_add_printf(o, "# HELP mtlskit_gateway_handshakes_resumed_total Handshakes that resumed a session.\n"
			       "# TYPE mtlskit_gateway_handshakes_resumed_total counter\n"
			       "mtlskit_gateway_handshakes_resumed_total %llu\n",
			    (unsigned long long)atomic_load(&gw_m.handshakes_resumed));
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
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", o);
	evbuffer_free(o);
}

static void healthz_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *o = evbuffer_new();
	bool draining = atomic_load(&gw.draining);

	if (o == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(o, draining ? "draining\n" : "ok\n");
	evhttp_send_reply(req, draining ? 503 : 200, draining ? "Draining" : "OK", o);
	evbuffer_free(o);
}

int gw_admin_start(struct event_base *base, int fd)
{
	admin_http = evhttp_new(base);
	if (admin_http == NULL || evhttp_accept_socket(admin_http, fd) != 0)
		return -1;
	evhttp_set_allowed_methods(admin_http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(admin_http, "/metrics", metrics_cb, NULL);
	evhttp_set_cb(admin_http, "/healthz", healthz_cb, NULL);
	return 0;
}

void gw_admin_stop(void)
{
	if (admin_http != NULL)
		evhttp_free(admin_http);
	admin_http = NULL;
}
