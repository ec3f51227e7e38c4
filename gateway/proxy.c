/*
 * proxy.c - one client connection: the mTLS handshake, the identity of the
 * client certificate, then either HTTP reverse proxying (requests parsed by
 * http-parser, identity headers added, backend errors retried) or raw TCP
 * with a PROXY protocol v2 header.
 *
 * Each connection lives on one worker's event base and is touched only by
 * that thread.  Every bufferevent uses deferred callbacks, so a callback
 * never runs inside another one and freeing a connection is always safe at
 * the end of a callback.
 */
#include "gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

typedef enum { P_HANDSHAKE, P_IDLE, P_REQUEST, P_BACKEND, P_CLOSING, P_TCP } phase;

struct gw_bconn {
	gw_worker *w;
	struct bufferevent *bev;
	size_t idx;
	gw_conn *c;      /* NULL while idle in the pool */
	bool reused;     /* taken from the pool: a failure may just mean it went stale */
	gw_bconn *next;  /* pool link */
};

struct gw_conn {
	gw_worker *w;
	gw_conn *prev, *next;
	gw_state *st;
	struct bufferevent *bev;
	struct event *timer;
	phase ph;
	char peer[64];
	struct sockaddr_storage peer_ss, local_ss;
	struct timespec t_accept, t_req;
	bool hs_timed_out;
	/* identity */
	const mtk_usermap_entry *ent; /* borrowed from st->map */
	gw_reason deny;               /* R__COUNT when allowed */
	char fp[65];                  /* lower-case hex SHA-256 of the leaf */
	uint8_t md[32];
	char subject[512];
	/* request */
	http_parser rp;
	mtk_buf head, field, value, url, body, req;
	bool in_value, req_done, keepalive, is_head, expect_continue;
	size_t head_bytes;
	long n_headers;
	int err_status;
	/* backend */
	gw_bconn *b;
	struct bufferevent *tb; /* TCP mode backend */
	size_t bstart;
	int attempts, tries;
	bool resp_started, resp_done;
	http_parser sp;
	int status;
};

static http_parser_settings req_settings, resp_settings;

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void arm(gw_conn *c, const struct timeval *tv)
{
	evtimer_add(c->timer, tv);
}

/* ------------------------------------------------------------ backends */

static void bconn_free(gw_bconn *b)
{
	if (b == NULL)
		return;
	bufferevent_free(b->bev);
	free(b);
}

static void pool_remove(gw_bconn *b)
{
	for (gw_bconn **pp = &b->w->pool[b->idx]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			return;
		}
	}
}

void gw_worker_free_pool(gw_worker *w)
{
	for (size_t i = 0; w->pool != NULL && i < gw.n_backends; i++) {
		while (w->pool[i] != NULL) {
			gw_bconn *b = w->pool[i];
			w->pool[i] = b->next;
			bconn_free(b);
		}
	}
}

static void conn_free(gw_conn *c);
static void backend_read_cb(struct bufferevent *bev, void *arg);
static void backend_event_cb(struct bufferevent *bev, short events, void *arg);

static void pool_push(gw_bconn *b)
{
	b->c = NULL;
	b->next = b->w->pool[b->idx];
	b->w->pool[b->idx] = b;
	/* idle: any byte or close from the backend just ends it */
	bufferevent_set_timeouts(b->bev, &gw.idle_timeout, NULL);
}

static gw_bconn *bconn_connect(gw_worker *w, size_t idx)
{
	gw_bconn *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->w = w;
	b->idx = idx;
	b->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (b->bev == NULL) {
		free(b);
		return NULL;
	}
	bufferevent_setcb(b->bev, backend_read_cb, NULL, backend_event_cb, b);
	if (bufferevent_socket_connect(b->bev, (struct sockaddr *)&gw.backends[idx].ss,
				       (int)gw.backends[idx].len) != 0) {
		bconn_free(b);
		return NULL;
	}
	evutil_socket_t fd = bufferevent_getfd(b->bev);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return b;
}

/* ------------------------------------------------------------ logging */

static json_t *conn_json(const gw_conn *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "peer", json_string(c->peer));
	if (c->fp[0])
		json_object_set_new(o, "sha256", json_string(c->fp));
	if (c->subject[0])
		json_object_set_new(o, "subject", json_string(c->subject));
	if (c->ent != NULL)
		json_object_set_new(o, "user", json_string(c->ent->user));
	return o;
}

/* ------------------------------------------------------------ responses */

static const char *status_text(int s)
{
	switch (s) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

static void write_done_cb(struct bufferevent *bev, void *arg)
{
	conn_free(arg);
}

static void close_after_write(gw_conn *c)
{
	c->ph = P_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, write_done_cb, NULL, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	arm(c, &gw.idle_timeout);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

static void log_request(gw_conn *c, int status, const char *why)
{
	json_t *o;

	if (status >= 100 && status < 600)
		atomic_fetch_add_explicit(&gw_m.requests[status / 100], 1, memory_order_relaxed);
	if (!gw_log_enabled)
		return;
	o = conn_json(c);
	json_object_set_new(o, "method", json_string(http_method_str((enum http_method)c->rp.method)));
	if (c->url.len)
		json_object_set_new(o, "path", json_stringn((const char *)c->url.data, c->url.len));
	json_object_set_new(o, "status", json_integer(status));
	if (why != NULL)
		json_object_set_new(o, "reason", json_string(why));
	if (c->b != NULL)
		json_object_set_new(o, "backend", json_string(gw.backends[c->b->idx].name));
	gw_log("request", o);
}

/* Our own error response; the connection closes after it. */
static void respond_error(gw_conn *c, int status, const char *why)
{
	char body[96];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, status_text(status));

	evbuffer_add_printf(bufferevent_get_output(c->bev),
			    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
			    "Connection: close\r\n\r\n%s",
			    status, status_text(status), n, body);
	log_request(c, status, why);
	if (c->b != NULL) {
		bconn_free(c->b);
		c->b = NULL;
	}
	close_after_write(c);
}

/* ------------------------------------------------------------ request parsing */

static bool drop_header(const uint8_t *name, size_t n)
{
	static const char *const hop[] = {"connection", "keep-alive", "proxy-connection", "te",
					  "trailer", "transfer-encoding", "upgrade",
					  "content-length", "expect"};

	/* Anything the client claims about its certificate is ours to say. */
	if (n >= 9 && strncasecmp((const char *)name, "x-client-", 9) == 0)
		return true;
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strlen(hop[i]) == n && strncasecmp((const char *)name, hop[i], n) == 0)
			return true;
	return false;
}

static int commit_header(gw_conn *c)
{
	if (c->field.len == 0)
		return 0;
	if (c->field.len == 6 && strncasecmp((char *)c->field.data, "expect", 6) == 0 &&
	    c->value.len == 12 && strncasecmp((char *)c->value.data, "100-continue", 12) == 0)
		c->expect_continue = true;
	if (!drop_header(c->field.data, c->field.len)) {
		if (mtk_buf_append(&c->head, c->field.data, c->field.len) != MTK_OK ||
		    mtk_buf_append(&c->head, ": ", 2) != MTK_OK ||
		    mtk_buf_append(&c->head, c->value.data, c->value.len) != MTK_OK ||
		    mtk_buf_append(&c->head, "\r\n", 2) != MTK_OK)
			return -1;
	}
	c->field.len = c->value.len = 0;
	c->in_value = false;
	return 0;
}

static int count_head(gw_conn *c, size_t n)
{
	c->head_bytes += n;
	if (c->head_bytes > (size_t)gw.cfg.max_header_size) {
		c->err_status = 431;
		return -1;
	}
	return 0;
}

static int on_message_begin(http_parser *p)
{
	gw_conn *c = p->data;

	c->ph = P_REQUEST;
	c->head.len = c->field.len = c->value.len = c->url.len = c->body.len = c->req.len = 0;
	c->in_value = c->req_done = c->expect_continue = false;
	c->head_bytes = 0;
	c->n_headers = 0;
	c->err_status = 0;
	arm(c, &gw.header_timeout);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	gw_conn *c = p->data;

	if (count_head(c, n) != 0)
		return -1;
	return mtk_buf_append(&c->url, at, n) == MTK_OK ? 0 : -1;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	gw_conn *c = p->data;

	if (count_head(c, n) != 0)
		return -1;
	if (c->in_value) {
		if (commit_header(c) != 0)
			return -1;
	}
	if (c->field.len == 0 && ++c->n_headers > gw.cfg.max_headers) {
		c->err_status = 431;
		return -1;
	}
	return mtk_buf_append(&c->field, at, n) == MTK_OK ? 0 : -1;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	gw_conn *c = p->data;

	if (count_head(c, n) != 0)
		return -1;
	c->in_value = true;
	return mtk_buf_append(&c->value, at, n) == MTK_OK ? 0 : -1;
}

static int on_headers_complete(http_parser *p)
{
	gw_conn *c = p->data;

	if (commit_header(c) != 0)
		return -1;
	c->keepalive = http_should_keep_alive(p);
	c->is_head = p->method == HTTP_HEAD;
	if (c->deny != R__COUNT) {
		http_parser_pause(p, 1);
		return 0;
	}
	if (c->expect_continue)
		evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	gw_conn *c = p->data;

	if (c->body.len + n > (size_t)gw.cfg.max_body) {
		c->err_status = 413;
		return -1;
	}
	return mtk_buf_append(&c->body, at, n) == MTK_OK ? 0 : -1;
}

static int on_message_complete(http_parser *p)
{
	gw_conn *c = p->data;

	c->req_done = true;
	http_parser_pause(p, 1);
	return 0;
}

/* ------------------------------------------------------------ response parsing */

static int on_resp_headers_complete(http_parser *p)
{
	gw_conn *c = p->data;

	c->status = p->status_code;
	/* a response to HEAD has no body whatever its headers say */
	return c->is_head ? 1 : 0;
}

static int on_resp_message_complete(http_parser *p)
{
	gw_conn *c = p->data;

	if (p->status_code >= 100 && p->status_code < 200)
		return 0; /* interim response: the real one follows */
	c->resp_done = true;
	http_parser_pause(p, 1);
	return 0;
}

/* ------------------------------------------------------------ HTTP flow */

static void http_pump(gw_conn *c);
static void backend_try(gw_conn *c);

static void response_finished(gw_conn *c, bool backend_reusable)
{
	gw_bconn *b = c->b;
	bool keep;

	gw_hist_observe(&gw_m.req_latency, since(&c->t_req));
	log_request(c, c->status, NULL);
	keep = backend_reusable && http_should_keep_alive(&c->sp) &&
	       evbuffer_get_length(bufferevent_get_input(b->bev)) == 0 && !c->w->draining;
	c->b = NULL;
	if (keep)
		pool_push(b);
	else
		bconn_free(b);
	if (!c->keepalive || !http_should_keep_alive(&c->sp) || c->w->draining) {
		close_after_write(c);
		return;
	}
	c->ph = P_IDLE;
	http_parser_init(&c->rp, HTTP_REQUEST);
	c->rp.data = c;
	arm(c, &gw.idle_timeout);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		http_pump(c);
}

static void dispatch(gw_conn *c)
{
	const mtk_usermap_entry *e = c->ent;
	mtk_buf *r = &c->req;
	enum http_method m = (enum http_method)c->rp.method;
	mtk_rc rc;

	/* The client's read side stays enabled while the backend answers:
	 * pipelined bytes wait in the input buffer (bounded by its read
	 * watermark), and no epoll_ctl is spent per request toggling it. */
	c->ph = P_BACKEND;
	clock_gettime(CLOCK_MONOTONIC, &c->t_req);
	r->len = 0;
	rc = mtk_buf_printf(r, "%s ", http_method_str(m));
	if (rc == MTK_OK)
		rc = mtk_buf_append(r, c->url.data, c->url.len);
	if (rc == MTK_OK)
		rc = mtk_buf_append_str(r, " HTTP/1.1\r\n");
	if (rc == MTK_OK)
		rc = mtk_buf_append(r, c->head.data, c->head.len);
	if (rc == MTK_OK)
		rc = mtk_buf_printf(r,
				    "X-Client-User: %s\r\nX-Client-Roles: %s\r\n"
				    "X-Client-Cert-Sha256: %s\r\nX-Client-Cert-Subject: %s\r\n",
				    e->user, e->roles, c->fp, c->subject);
	if (rc == MTK_OK && (c->body.len > 0 || m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH))
		rc = mtk_buf_printf(r, "Content-Length: %zu\r\n", c->body.len);
	if (rc == MTK_OK)
		rc = mtk_buf_append(r, "\r\n", 2);
	if (rc == MTK_OK)
		rc = mtk_buf_append(r, c->body.data, c->body.len);
	if (rc != MTK_OK) {
		respond_error(c, 503, "out of memory");
		return;
	}
	c->attempts = c->tries = 0;
	c->bstart = c->w->rr++ % gw.n_backends;
	arm(c, &gw.backend_timeout);
	backend_try(c);
}

static void backend_try(gw_conn *c)
{
	gw_bconn *b = NULL;

	while (b == NULL) {
		size_t idx;
		/* each backend once, plus a few retries of stale pooled connections */
		if ((size_t)c->attempts >= gw.n_backends || c->tries > (int)gw.n_backends + 4) {
			respond_error(c, 502, "no backend answered");
			return;
		}
		idx = (c->bstart + (size_t)c->attempts) % gw.n_backends;
		c->tries++;
		if ((b = c->w->pool[idx]) != NULL) {
			c->w->pool[idx] = b->next;
			b->reused = true;
			bufferevent_set_timeouts(b->bev, NULL, NULL);
		} else if ((b = bconn_connect(c->w, idx)) == NULL) {
			atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
			c->attempts++;
		}
	}
	b->c = c;
	b->next = NULL;
	c->b = b;
	c->resp_started = c->resp_done = false;
	c->status = 0;
	http_parser_init(&c->sp, HTTP_RESPONSE);
	c->sp.data = c;
	if (b->reused) {
		/* Connected and idle: send directly.  Going through the
		 * bufferevent would add and remove a write event (two epoll_ctl
		 * calls) for a request that almost always fits the socket
		 * buffer.  Whatever does not fit, or an error on a stale
		 * connection, goes the bufferevent way and is handled there. */
		ssize_t n = send(bufferevent_getfd(b->bev), c->req.data, c->req.len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		size_t sent = n > 0 ? (size_t)n : 0;
		if (sent < c->req.len)
			bufferevent_write(b->bev, c->req.data + sent, c->req.len - sent);
		return;
	}
	bufferevent_enable(b->bev, EV_READ | EV_WRITE);
	bufferevent_write(b->bev, c->req.data, c->req.len);
}

static void http_pump(gw_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (c->ph == P_IDLE || c->ph == P_REQUEST) {
		struct evbuffer_iovec v;
		size_t n;
		enum http_errno e;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			return;
		n = http_parser_execute(&c->rp, &req_settings, v.iov_base, v.iov_len);
		evbuffer_drain(in, n);
		e = HTTP_PARSER_ERRNO(&c->rp);
		if (e == HPE_PAUSED) {
			/* paused after the head of a denied request, or at its end */
			if (c->deny != R__COUNT)
				respond_error(c, 403, gw_reason_name(c->deny));
			else if (c->req_done)
				dispatch(c);
			return;
		}
		if (e != HPE_OK) {
			respond_error(c, c->err_status ? c->err_status : 400, http_errno_name(e));
			return;
		}
	}
}

static void backend_read_cb(struct bufferevent *bev, void *arg)
{
	gw_bconn *b = arg;
	gw_conn *c = b->c;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c == NULL) { /* idle in the pool: unexpected bytes, drop it */
		pool_remove(b);
		bconn_free(b);
		return;
	}
	while (!c->resp_done && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		size_t n;
		enum http_errno e;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		n = http_parser_execute(&c->sp, &resp_settings, v.iov_base, v.iov_len);
		c->resp_started = true;
		evbuffer_remove_buffer(in, bufferevent_get_output(c->bev), n);
		e = HTTP_PARSER_ERRNO(&c->sp);
		if (e != HPE_OK && e != HPE_PAUSED) {
			/* a broken response: nothing sane can follow on either side */
			atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
			log_request(c, 502, http_errno_name(e));
			conn_free(c);
			return;
		}
	}
	if (c->resp_done) {
		response_finished(c, true);
		return;
	}
	arm(c, &gw.backend_timeout);
}

static void backend_event_cb(struct bufferevent *bev, short events, void *arg)
{
	gw_bconn *b = arg;
	gw_conn *c = b->c;

	if (events & BEV_EVENT_CONNECTED)
		return;
	if (c == NULL) { /* idle connection closed or timed out */
		pool_remove(b);
		bconn_free(b);
		return;
	}
	if (c->resp_started) {
		if (events & BEV_EVENT_EOF) {
			/* a response delimited by the end of the connection */
			http_parser_execute(&c->sp, &resp_settings, NULL, 0);
			if (c->resp_done) {
				c->keepalive = false;
				response_finished(c, false);
				return;
			}
		}
		atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
		log_request(c, 502, "backend closed mid-response");
		conn_free(c);
		return;
	}
	/* Nothing came back: try the next backend.  A pooled connection that
	 * went stale is retried on a fresh one without counting. */
	c->b = NULL;
	if (!b->reused) {
		c->attempts++;
		atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
	}
	bconn_free(b);
	atomic_fetch_add_explicit(&gw_m.backend_retries, 1, memory_order_relaxed);
	backend_try(c);
}

/* ------------------------------------------------------------ TCP mode */

#define TCP_HIGH (256 * 1024)

static void tcp_forward(gw_conn *c, struct bufferevent *from, struct bufferevent *to)
{
	evbuffer_add_buffer(bufferevent_get_output(to), bufferevent_get_input(from));
	if (evbuffer_get_length(bufferevent_get_output(to)) >= TCP_HIGH) {
		/* back-pressure: stop reading until the other side drains */
		bufferevent_disable(from, EV_READ);
		bufferevent_setwatermark(to, EV_WRITE, TCP_HIGH / 2, 0);
	}
	arm(c, &gw.idle_timeout);
}

static void tcp_client_read(struct bufferevent *bev, void *arg)
{
	gw_conn *c = arg;

	if (c->tb != NULL)
		tcp_forward(c, c->bev, c->tb);
}

static void tcp_backend_read(struct bufferevent *bev, void *arg)
{
	gw_conn *c = arg;

	tcp_forward(c, c->tb, c->bev);
}

static void tcp_client_drained(struct bufferevent *bev, void *arg)
{
	gw_conn *c = arg;

	if (c->tb != NULL)
		bufferevent_enable(c->tb, EV_READ);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
}

static void tcp_backend_drained(struct bufferevent *bev, void *arg)
{
	gw_conn *c = arg;

	if (c->ph == P_CLOSING) { /* client is gone and its last bytes are out */
		conn_free(c);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
}

static void tcp_start(gw_conn *c);

static void tcp_backend_event(struct bufferevent *bev, short events, void *arg)
{
	gw_conn *c = arg;

	if (events & BEV_EVENT_CONNECTED) {
		c->resp_started = true; /* connected: from now on no retry */
		bufferevent_enable(c->bev, EV_READ);
		tcp_forward(c, c->bev, c->tb);
		return;
	}
	if (c->ph == P_TCP && !c->resp_started) {
		/* connect failed: next backend */
		atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
		bufferevent_free(c->tb);
		c->tb = NULL;
		c->attempts++;
		tcp_start(c);
		return;
	}
	/* backend closed: send the client what is left, then close */
	evbuffer_add_buffer(bufferevent_get_output(c->bev), bufferevent_get_input(c->tb));
	bufferevent_free(c->tb);
	c->tb = NULL;
	close_after_write(c);
}

static void tcp_client_event(struct bufferevent *bev, short events, void *arg)
{
	gw_conn *c = arg;

	if (c->tb != NULL && (events & BEV_EVENT_EOF)) {
		evbuffer_add_buffer(bufferevent_get_output(c->tb), bufferevent_get_input(c->bev));
		if (evbuffer_get_length(bufferevent_get_output(c->tb)) > 0) {
			c->ph = P_CLOSING;
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
			bufferevent_setwatermark(c->tb, EV_WRITE, 0, 0);
			return;
		}
	}
	conn_free(c);
}

static void key_alg(X509 *x, char *out, size_t cap)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	int id = k ? EVP_PKEY_get_base_id(k) : 0;

	snprintf(out, cap, "%s%d", id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC" : "KEY",
		 k ? EVP_PKEY_get_bits(k) : 0);
}

static void tcp_start(gw_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	mtk_pp2_info pi;
	mtk_buf hdr = MTK_BUF_INIT;
	char cn[256] = "", ka[32];
	size_t idx;

	if ((size_t)c->attempts >= gw.n_backends) {
		json_t *o = conn_json(c);
		json_object_set_new(o, "reason", json_string("no backend answered"));
		gw_log("tcp_error", o);
		conn_free(c);
		return;
	}
	idx = (c->bstart + (size_t)c->attempts) % gw.n_backends;
	c->ph = P_TCP;
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
	memcpy(pi.sha256, c->md, 32);
	pi.user = c->ent->user;
	pi.roles = c->ent->roles;
	pi.subject = c->subject;
	if (mtk_pp2_encode(&pi, &hdr, NULL) != MTK_OK) {
		conn_free(c);
		return;
	}
	c->tb = bufferevent_socket_new(c->w->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->tb == NULL) {
		mtk_buf_free(&hdr);
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->tb, tcp_backend_read, tcp_backend_drained, tcp_backend_event, c);
	bufferevent_setcb(c->bev, tcp_client_read, tcp_client_drained, tcp_client_event, c);
	bufferevent_disable(c->bev, EV_READ); /* until the backend is connected */
	bufferevent_write(c->tb, hdr.data, hdr.len);
	mtk_buf_free(&hdr);
	bufferevent_enable(c->tb, EV_READ | EV_WRITE);
	arm(c, &gw.backend_timeout);
	if (bufferevent_socket_connect(c->tb, (struct sockaddr *)&gw.backends[idx].ss,
				       (int)gw.backends[idx].len) != 0) {
		bufferevent_free(c->tb);
		c->tb = NULL;
		c->attempts++;
		tcp_start(c);
	}
}

/* ------------------------------------------------------------ handshake */

static void tohex(const uint8_t *md, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = '\0';
}

static void conn_set_cert(gw_conn *c, X509 *x)
{
	unsigned int n = 0;

	if (X509_digest(x, EVP_sha256(), c->md, &n) == 1 && n == 32)
		tohex(c->md, c->fp);
	gw_name(X509_get_subject_name(x), c->subject, sizeof(c->subject));
}

/* Called from the verify callback (state.c) when the chain is refused, so
 * the log can name the certificate that was turned away. */
void gw_conn_note_reject(void *conn, X509 *leaf)
{
	gw_conn *c = conn;

	if (c != NULL && leaf != NULL && c->fp[0] == '\0')
		conn_set_cert(c, leaf);
}

static void reject(gw_conn *c, gw_reason r, const char *verify_err, const char *tls_err)
{
	json_t *o;

	atomic_fetch_add_explicit(&gw_m.rejections[r], 1, memory_order_relaxed);
	if (!gw_log_enabled)
		return;
	o = conn_json(c);
	json_object_set_new(o, "reason", json_string(gw_reason_name(r)));
	if (verify_err)
		json_object_set_new(o, "verify_error", json_string(verify_err));
	if (tls_err)
		json_object_set_new(o, "tls_error", json_string(tls_err));
	gw_log("reject", o);
}

/* Lingering close after a refused handshake.  The alert is already on the
 * wire; closing now with the client's next bytes unread would make the
 * kernel send a reset that can overtake the alert, and the client would
 * report "connection reset" instead of "unknown ca".  So: keep a duplicate
 * of the socket, send FIN, discard what the client still sends, and close
 * at its FIN or after a few seconds. */
#define LINGER_ROUNDS 16

static void linger_cb(evutil_socket_t fd, short what, void *arg);
/* The worker's base, for re-arming from inside a once-callback. */
static _Thread_local struct event_base *linger_base;

static void linger_arm(struct event_base *base, int fd, intptr_t rounds)
{
	struct timeval tv = {2, 0};

	if (rounds <= 0 || event_base_once(base, fd, EV_READ, linger_cb, (void *)rounds, &tv) != 0)
		close(fd);
}

static void linger_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[4096];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		close(fd);
		return;
	}
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
		close(fd);
		return;
	}
	linger_arm(linger_base, fd, (intptr_t)arg - 1);
}

static void handshake_failed(gw_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	long vr = SSL_get_verify_result(ssl);
	unsigned long e, first = 0;
	gw_reason r = R_TLS;
	char tls_err[256] = "";

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
		conn_free(c);
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
	if (!c->hs_timed_out) {
		int fd = dup(bufferevent_getfd(c->bev));
		if (fd >= 0) {
			shutdown(fd, SHUT_WR);
			linger_base = c->w->base;
			linger_arm(c->w->base, fd, LINGER_ROUNDS);
		}
	}
	conn_free(c);
}

static void http_client_read(struct bufferevent *bev, void *arg)
{
	http_pump(arg);
}

static void http_client_event(struct bufferevent *bev, short events, void *arg)
{
	gw_conn *c = arg;

	if ((events & BEV_EVENT_EOF) && !(events & BEV_EVENT_ERROR) && c->ph == P_BACKEND) {
		/* The client closed its sending side after the request (a
		 * half-close): it still gets the answer, then the connection
		 * closes. */
		c->keepalive = false;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_free(c); /* EOF or error otherwise: nothing to finish */
}

static void handshake_done(gw_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	size_t idx = 0;

	atomic_fetch_add_explicit(&gw_m.handshakes_ok, 1, memory_order_relaxed);
	if (SSL_session_reused(ssl))
		atomic_fetch_add_explicit(&gw_m.handshakes_resumed, 1, memory_order_relaxed);
	gw_hist_observe(&gw_m.hs_latency, since(&c->t_accept));
	if (peer == NULL) { /* cannot happen with FAIL_IF_NO_PEER_CERT; be sure */
		reject(c, R_NO_CERT, NULL, NULL);
		conn_free(c);
		return;
	}
	conn_set_cert(c, peer);
	c->ent = mtk_usermap_lookup(c->st->map, c->md, c->subject, &idx);
	if (c->ent == NULL) {
		c->deny = R_UNMAPPED;
	} else {
		int64_t na = gw_asn1_time(X509_get0_notAfter(peer));
		atomic_store_explicit(&c->st->map_not_after[idx], na, memory_order_relaxed);
		if (c->st->require_role && !mtk_usermap_has_role(c->ent, c->st->require_role))
			c->deny = R_ROLE;
	}
	if (c->deny != R__COUNT)
		reject(c, c->deny, NULL, NULL);
	if (gw.cfg.mode == MTK_GW_MODE_TCP) {
		if (c->deny != R__COUNT) {
			conn_free(c);
			return;
		}
		c->bstart = c->w->rr++ % gw.n_backends;
		tcp_start(c);
		return;
	}
	c->ph = P_IDLE;
	bufferevent_setcb(c->bev, http_client_read, NULL, http_client_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, (size_t)gw.cfg.max_header_size + 65536);
	arm(c, &gw.idle_timeout);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		http_pump(c);
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

	switch (c->ph) {
	case P_HANDSHAKE:
		c->hs_timed_out = true;
		handshake_failed(c);
		return;
	case P_REQUEST:
		respond_error(c, 408, "header timeout");
		return;
	case P_BACKEND:
		if (!c->resp_started) {
			atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
			respond_error(c, 504, "backend timeout");
			return;
		}
		log_request(c, 504, "backend timeout mid-response");
		conn_free(c);
		return;
	default:
		conn_free(c);
		return;
	}
}

/* ------------------------------------------------------------ lifecycle */

static void conn_free(gw_conn *c)
{
	gw_worker *w = c->w;

	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bconn_free(c->b);
	if (c->tb != NULL)
		bufferevent_free(c->tb);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		if (ssl != NULL && c->ph != P_HANDSHAKE)
			SSL_shutdown(ssl); /* close_notify, best effort */
		bufferevent_free(c->bev);
	}
	mtk_buf_free(&c->head);
	mtk_buf_free(&c->field);
	mtk_buf_free(&c->value);
	mtk_buf_free(&c->url);
	mtk_buf_free(&c->body);
	mtk_buf_free(&c->req);
	gw_state_unref(c->st);
	free(c);
	atomic_fetch_sub_explicit(&gw_m.active, 1, memory_order_relaxed);
	if (w->draining && w->conns == NULL)
		event_base_loopexit(w->base, NULL);
}

static void settings_init(void)
{
	req_settings.on_message_begin = on_message_begin;
	req_settings.on_url = on_url;
	req_settings.on_header_field = on_header_field;
	req_settings.on_header_value = on_header_value;
	req_settings.on_headers_complete = on_headers_complete;
	req_settings.on_body = on_body;
	req_settings.on_message_complete = on_message_complete;
	resp_settings.on_headers_complete = on_resp_headers_complete;
	resp_settings.on_message_complete = on_resp_message_complete;
}

void gw_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen,
	       void *arg)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	gw_worker *w = arg;
	gw_conn *c = NULL;
	SSL *ssl = NULL;
	socklen_t ll = sizeof(c->local_ss);
	int one = 1;
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	pthread_once(&once, settings_init);
	if (atomic_load(&gw_m.active) >= gw.cfg.max_connections || w->draining) {
		atomic_fetch_add_explicit(&gw_m.rejections[R_CONN_LIMIT], 1, memory_order_relaxed);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	atomic_fetch_add_explicit(&gw_m.active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&gw_m.accepted, 1, memory_order_relaxed);
	clock_gettime(CLOCK_MONOTONIC, &c->t_accept);
	c->w = w;
	c->deny = R__COUNT;
	c->ph = P_HANDSHAKE;
	if ((size_t)socklen <= sizeof(c->peer_ss))
		memcpy(&c->peer_ss, sa, (size_t)socklen);
	getsockname(fd, (struct sockaddr *)&c->local_ss, &ll);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	http_parser_init(&c->rp, HTTP_REQUEST);
	c->rp.data = c;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	c->st = gw_state_current();
	c->timer = evtimer_new(w->base, timer_cb, c);
	ssl = c->st ? SSL_new(c->st->ctx) : NULL;
	if (ssl == NULL || c->timer == NULL) {
		SSL_free(ssl);
		close(fd);
		conn_free(c);
		return;
	}
	SSL_set_app_data(ssl, c);
	c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		SSL_free(ssl);
		close(fd);
		conn_free(c);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, NULL, NULL, hs_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	arm(c, &gw.hs_timeout);
}

void gw_worker_drain(gw_worker *w)
{
	gw_conn *c, *next;

	w->draining = true;
	if (w->listener != NULL) {
		evconnlistener_free(w->listener);
		w->listener = NULL;
	}
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (c->ph == P_IDLE)
			conn_free(c);
	}
	if (w->conns == NULL)
		event_base_loopexit(w->base, NULL);
}

void gw_worker_close_all(gw_worker *w)
{
	w->draining = false; /* the loop is over: no loopexit from conn_free */
	while (w->conns != NULL)
		conn_free(w->conns);
}
