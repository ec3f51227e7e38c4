/*
 * http.c - HTTP mode: requests read by the strict reader (lib/gateway/
 * http1.c), written anew for the backend with the identity headers, and
 * responses re-framed for the client.
 *
 * Nothing the client sends reaches a backend as it was sent, and nothing a
 * backend sends reaches a client unframed: the response is re-framed by
 * the library's mtk_http_resp (fields rebuilt, hop-by-hop ones dropped;
 * Content-Length, chunked for HTTP/1.1, close-delimited for HTTP/1.0);
 * this file only moves the bytes.  A backend connection that sent anything
 * past its response, or anything malformed, is closed, never pooled.
 *
 * Memory, per connection and direction, about max_buffer: a request body
 * that fits in max_buffer is kept whole (so a failed backend can be retried
 * with it); a larger one is streamed as it is decoded — Content-Length as
 * the client declared it, or chunked when the client sent chunks — and the
 * client is not read while max_buffer waits for a slow backend.  Likewise
 * a backend is not read while max_buffer waits for a client that does not
 * read.  max_body bounds the total body, not what is held.
 */
#include "conn.h"

#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "mtlskit/gwhttp.h"

typedef enum { H_IDLE, H_REQUEST, H_BACKEND, H_CLOSING } hphase;

struct gw_bconn {
	gw_worker *w;
	struct bufferevent *bev;
	size_t idx;
	gw_conn *c;	/* NULL while idle in the pool */
	bool reused;	/* taken from the pool: a failure may just mean it went stale */
	gw_bconn *next; /* pool link */
};

typedef struct gw_http {
	hphase ph;
	mtk_http_req rq;
	mtk_buf req; /* what the backend is sent, kept for a retry */
	gw_bconn *b;
	int attempts, tries;
	size_t bstart;
	struct timespec t_req;
	mtk_http_resp resp; /* the response, re-framed for the client */
	bool client_eof;    /* the client closed its sending side after the request */
	bool throttled;	    /* the client is not reading: the backend is paused */
	bool upstream;	    /* the request body is being streamed to the backend */
	bool up_chunked;
	bool up_paused; /* the backend is not reading: the client is paused */
	bool streamed;	/* some of the body is gone: no retry */
} gw_http;

static void http_pump(gw_conn *c);
static void backend_try(gw_conn *c);
static void backend_read_cb(struct bufferevent *bev, void *arg);
static void backend_event_cb(struct bufferevent *bev, short events, void *arg);
static void backend_write_cb(struct bufferevent *bev, void *arg);

static size_t max_buffer(void)
{
	return (size_t)gw.cfg.max_buffer;
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

static void pool_push(gw_bconn *b)
{
	b->c = NULL;
	b->next = b->w->pool[b->idx];
	b->w->pool[b->idx] = b;
	/* idle: any byte or close from the backend just ends it */
	bufferevent_enable(b->bev, EV_READ);
	bufferevent_set_timeouts(b->bev, &gw.idle_timeout, NULL);
}

static gw_bconn *bconn_connect(gw_worker *w, size_t idx)
{
	gw_bconn *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->w = w;
	b->idx = idx;
	b->bev =
	    bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (b->bev == NULL) {
		free(b);
		return NULL;
	}
	bufferevent_setcb(b->bev, backend_read_cb, backend_write_cb, backend_event_cb, b);
	bufferevent_setwatermark(b->bev, EV_READ, 0, max_buffer());
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

static void log_request(gw_conn *c, int status, const char *why)
{
	gw_http *h = c->mode;
	mtk_buf path = MTK_BUF_INIT;
	json_t *o;

	if (status >= 100 && status < 600)
		atomic_fetch_add_explicit(&gw_m.requests[status / 100], 1, memory_order_relaxed);
	if (!gw_log_enabled)
		return;
	o = gw_conn_json(c);
	if (h->rq.method != NULL)
		json_object_set_new(o, "method", json_stringn(h->rq.method, h->rq.method_len));
	/* the target as sent, escaped: present on every line, even refused ones */
	if (h->rq.target != NULL &&
	    mtk_http_escape(&path, h->rq.target, h->rq.target_len) != MTK_OK)
		path.len = 0;
	json_object_set_new(o, "path", json_stringn(path.data ? (char *)path.data : "", path.len));
	mtk_buf_free(&path);
	json_object_set_new(o, "status", json_integer(status));
	if (why != NULL)
		json_object_set_new(o, "reason", json_string(why));
	if (h->b != NULL)
		json_object_set_new(o, "backend", json_string(gw.backends[h->b->idx].name));
	gw_log("request", o);
}

/* ------------------------------------------------------------ our own answers */

/* An error of the gateway's own; the connection closes after it (pipelined
 * bytes after a refused request are never read). */
static void respond_error(gw_conn *c, int status, const char *why)
{
	gw_http *h = c->mode;
	char body[96];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, mtk_http_status_text(status));

	evbuffer_add_printf(bufferevent_get_output(c->bev),
			    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
			    "Connection: close\r\n\r\n%s",
			    status, mtk_http_status_text(status), n, body);
	log_request(c, status, why);
	bconn_free(h->b);
	h->b = NULL;
	h->ph = H_CLOSING;
	gw_conn_close_after_write(c);
}

/* ------------------------------------------------------------ the response */

static void emit_client(void *ctx, const void *p, size_t n)
{
	evbuffer_add(ctx, p, n);
}

/* ------------------------------------------------------------ the flow */

static void reset_response_keep_upstream(gw_conn *c)
{
	gw_http *h = c->mode;

	h->throttled = h->client_eof = false;
	mtk_http_resp_start(&h->resp, h->rq.method_len == 4 && memcmp(h->rq.method, "HEAD", 4) == 0,
			    h->rq.minor, emit_client, bufferevent_get_output(c->bev));
}

static void reset_response(gw_conn *c)
{
	gw_http *h = c->mode;

	reset_response_keep_upstream(c);
	h->upstream = h->up_chunked = h->up_paused = h->streamed = false;
}

static void response_finished(gw_conn *c, bool backend_reusable)
{
	gw_http *h = c->mode;
	gw_bconn *b = h->b;
	bool keep;

	gw_hist_observe(&gw_m.req_latency, gw_since(&h->t_req));
	log_request(c, h->resp.status, NULL);
	keep = backend_reusable && !h->upstream && mtk_http_resp_reusable(&h->resp) &&
	       h->rq.minor == 1 && evbuffer_get_length(bufferevent_get_input(b->bev)) == 0 &&
	       !c->w->draining;
	h->b = NULL;
	if (keep)
		pool_push(b);
	else
		bconn_free(b);
	if (h->resp.close_after || h->client_eof) {
		h->ph = H_CLOSING;
		gw_conn_close_after_write(c);
		return;
	}
	h->ph = H_IDLE;
	mtk_http_req_reset(&h->rq);
	reset_response(c);
	if (h->req.cap > 65536)
		mtk_buf_free(&h->req);
	gw_conn_arm(c, &gw.idle_timeout);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		http_pump(c);
}

/* The backend broke its side: 502 if the client has had nothing yet, else
 * the client connection goes too (its response cannot be finished). */
static void backend_broken(gw_conn *c, const char *why)
{
	gw_http *h = c->mode;

	atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
	if (!h->resp.head_sent) {
		respond_error(c, 502, why);
		return;
	}
	log_request(c, 502, why);
	gw_conn_free(c);
}

/* Sends the request: whole (stream == false), or its head only, the body
 * to follow through stream_body(). */
static void dispatch(gw_conn *c, bool stream)
{
	gw_http *h = c->mode;
	const mtk_usermap_entry *e = c->ent;
	mtk_http_identity id = {e->user, e->roles, c->fp, c->subject,
				gw.cfg.forwarded_headers ? c->ip : NULL};
	mtk_rc rc;

	h->ph = H_BACKEND;
	clock_gettime(CLOCK_MONOTONIC, &h->t_req);
	h->req.len = 0;
	if (stream) {
		h->upstream = h->streamed = true;
		h->up_chunked = h->rq.framing == MTK_HTTP_BODY_CHUNKED;
		rc = mtk_http_req_write_head(&h->rq, &id, h->up_chunked, h->rq.content_length,
					     &h->req, NULL);
	} else {
		rc = mtk_http_req_write(&h->rq, &id, &h->req, NULL);
	}
	if (rc != MTK_OK) {
		respond_error(c, 500, "request for the backend not writable");
		return;
	}
	h->attempts = h->tries = 0;
	h->bstart = c->w->rr++ % gw.n_backends;
	gw_conn_arm(c, &gw.backend_timeout);
	backend_try(c);
}

static void backend_try(gw_conn *c)
{
	gw_http *h = c->mode;
	gw_bconn *b = NULL;

	while (b == NULL) {
		size_t idx;
		/* each backend once, plus a few retries of stale pooled connections */
		if ((size_t)h->attempts >= gw.n_backends || h->tries > (int)gw.n_backends + 4 ||
		    (h->streamed && h->tries > 0)) {
			respond_error(c, 502, "no backend answered");
			return;
		}
		idx = (h->bstart + (size_t)h->attempts) % gw.n_backends;
		h->tries++;
		/* a streamed body cannot be sent twice: no pooled connection,
		 * which may turn out stale */
		if (!h->streamed && (b = c->w->pool[idx]) != NULL) {
			c->w->pool[idx] = b->next;
			b->reused = true;
			bufferevent_set_timeouts(b->bev, NULL, NULL);
		} else if ((b = bconn_connect(c->w, idx)) == NULL) {
			atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
			h->attempts++;
		}
	}
	b->c = c;
	b->next = NULL;
	h->b = b;
	reset_response_keep_upstream(c);
	if (b->reused) {
		/* Connected and idle: send directly.  Going through the
		 * bufferevent would add and remove a write event (two epoll_ctl
		 * calls) for a request that almost always fits the socket
		 * buffer.  Whatever does not fit, or an error on a stale
		 * connection, goes the bufferevent way and is handled there. */
		ssize_t n = send(bufferevent_getfd(b->bev), h->req.data, h->req.len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		size_t sent = n > 0 ? (size_t)n : 0;
		if (sent < h->req.len)
			bufferevent_write(b->bev, h->req.data + sent, h->req.len - sent);
		return;
	}
	bufferevent_enable(b->bev, EV_READ | EV_WRITE);
	bufferevent_write(b->bev, h->req.data, h->req.len);
}

/* The client stopped reading: stop reading the backend until what is
 * queued for the client is down to half of max_buffer. */
static void throttle(gw_conn *c)
{
	gw_http *h = c->mode;

	h->throttled = true;
	bufferevent_disable(h->b->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, max_buffer() / 2, 0);
	gw_conn_arm(c, &gw.idle_timeout);
}

static void backend_read_cb(struct bufferevent *bev, void *arg)
{
	gw_bconn *b = arg;
	gw_conn *c = b->c;
	gw_http *h;
	struct evbuffer *in = bufferevent_get_input(bev), *out;

	if (c == NULL) { /* idle in the pool: unexpected bytes, drop it */
		pool_remove(b);
		bconn_free(b);
		return;
	}
	h = c->mode;
	out = bufferevent_get_output(c->bev);
	while (!h->resp.done && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;

		if (evbuffer_get_length(out) >= max_buffer()) {
			throttle(c);
			return;
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		/* an answer before the whole request was sent: the rest of the
		 * client's stream cannot be told from the body; close after it */
		h->resp.force_close = !h->rq.keep_alive || c->w->draining || h->upstream;
		evbuffer_drain(in, mtk_http_resp_feed(&h->resp, v.iov_base, v.iov_len));
		if (h->resp.bad) {
			backend_broken(c, h->resp.why);
			return;
		}
	}
	if (h->resp.done) {
		response_finished(c, true);
		return;
	}
	gw_conn_arm(c, &gw.backend_timeout);
}

static void backend_event_cb(struct bufferevent *bev, short events, void *arg)
{
	gw_bconn *b = arg;
	gw_conn *c = b->c;
	gw_http *h;

	if (events & BEV_EVENT_CONNECTED)
		return;
	if (c == NULL) { /* idle connection closed or timed out */
		pool_remove(b);
		bconn_free(b);
		return;
	}
	h = c->mode;
	if (h->resp.started) {
		if ((events & BEV_EVENT_EOF) && !h->throttled) {
			/* a response delimited by the end of the connection */
			mtk_http_resp_feed(&h->resp, NULL, 0);
			if (h->resp.done && !h->resp.bad) {
				response_finished(c, false);
				return;
			}
		}
		backend_broken(c, "backend closed mid-response");
		return;
	}
	/* Nothing came back: try the next backend.  A pooled connection that
	 * went stale is retried on a fresh one without counting. */
	h->b = NULL;
	if (!b->reused) {
		h->attempts++;
		atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
	}
	bconn_free(b);
	atomic_fetch_add_explicit(&gw_m.backend_retries, 1, memory_order_relaxed);
	backend_try(c);
}

/* ------------------------------------------------------------ the client */

static void on_head(gw_conn *c)
{
	gw_http *h = c->mode;

	if (c->deny != R__COUNT) {
		respond_error(c, 403, gw_reason_name(c->deny));
		return;
	}
	if (h->rq.expect_continue && h->rq.minor == 1 && h->rq.framing != MTK_HTTP_BODY_NONE &&
	    !(h->rq.framing == MTK_HTTP_BODY_LENGTH && h->rq.content_length == 0))
		evbuffer_add_printf(bufferevent_get_output(c->bev),
				    "HTTP/1.1 100 Continue\r\n\r\n");
	gw_conn_arm(c, &gw.header_timeout);
}

/* Moves the decoded body to the backend (re-chunked when the client sent
 * chunks); the client is not read while max_buffer waits for the backend. */
static void stream_body(gw_conn *c)
{
	gw_http *h = c->mode;
	struct evbuffer *bo;
	mtk_buf *body = &h->rq.body;

	if (h->b == NULL || !h->upstream)
		return;
	bo = bufferevent_get_output(h->b->bev);
	if (body->len > 0) {
		if (h->up_chunked)
			evbuffer_add_printf(bo, "%zx\r\n", body->len);
		evbuffer_add(bo, body->data, body->len);
		if (h->up_chunked)
			evbuffer_add(bo, "\r\n", 2);
		body->len = 0;
	}
	if (mtk_http_req_state(&h->rq) == MTK_HTTP_DONE) {
		if (h->up_chunked)
			evbuffer_add(bo, "0\r\n\r\n", 5);
		h->upstream = false;
		gw_conn_arm(c, &gw.backend_timeout);
		return;
	}
	gw_conn_arm(c, &gw.idle_timeout);
	if (evbuffer_get_length(bo) >= max_buffer()) {
		h->up_paused = true;
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_setwatermark(h->b->bev, EV_WRITE, max_buffer() / 2, 0);
	}
}

static void backend_write_cb(struct bufferevent *bev, void *arg)
{
	gw_bconn *b = arg;
	gw_conn *c = b->c;
	gw_http *h;

	if (c == NULL || (h = c->mode) == NULL || !h->up_paused)
		return;
	h->up_paused = false;
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	http_pump(c);
}

static void http_pump(gw_conn *c)
{
	gw_http *h = c->mode;
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (h->ph == H_IDLE || h->ph == H_REQUEST ||
	       (h->ph == H_BACKEND && h->upstream && !h->up_paused)) {
		if (h->ph == H_IDLE && evbuffer_get_length(in) > 0) {
			h->ph = H_REQUEST;
			gw_conn_arm(c, &gw.header_timeout);
		}
		if (!gw_http_feed(in, &h->rq))
			return;
		switch (mtk_http_req_state(&h->rq)) {
		case MTK_HTTP_NEED_MORE:
			if (!h->upstream && h->ph == H_REQUEST && h->rq.body.len > max_buffer())
				dispatch(c, true); /* a chunked body past max_buffer */
			if (h->upstream)
				stream_body(c);
			break;
		case MTK_HTTP_HEAD:
			on_head(c);
			if (h->ph == H_REQUEST && h->rq.framing == MTK_HTTP_BODY_LENGTH &&
			    h->rq.content_length > max_buffer())
				dispatch(c, true);
			break;
		case MTK_HTTP_DONE:
			if (h->upstream) {
				stream_body(c);
				return;
			}
			dispatch(c, false);
			return;
		case MTK_HTTP_ERROR:
			respond_error(c, h->rq.status, h->rq.why);
			return;
		}
	}
}

static void http_client_read(struct bufferevent *bev, void *arg)
{
	http_pump(arg);
}

static void http_client_write(struct bufferevent *bev, void *arg)
{
	gw_conn *c = arg;
	gw_http *h = c->mode;

	if (!h->throttled || h->b == NULL)
		return;
	h->throttled = false;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(h->b->bev, EV_READ);
	gw_conn_arm(c, &gw.backend_timeout);
	backend_read_cb(h->b->bev, h->b); /* what is already read */
}

static void http_client_event(struct bufferevent *bev, short events, void *arg)
{
	gw_conn *c = arg;
	gw_http *h = c->mode;

	if ((events & BEV_EVENT_EOF) && !(events & BEV_EVENT_ERROR) && h->ph == H_BACKEND &&
	    !h->upstream) {
		/* The client closed its sending side after the request (a
		 * half-close): it still gets the answer, then the connection
		 * closes. */
		h->rq.keep_alive = false;
		h->client_eof = true;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	gw_conn_free(c); /* EOF or error otherwise: nothing to finish */
}

/* ------------------------------------------------------------ mode table */

static void http_start(gw_conn *c)
{
	gw_http *h = calloc(1, sizeof(*h));
	mtk_http_limits lim = {(size_t)gw.cfg.max_header_size, (size_t)gw.cfg.max_headers,
			       (size_t)gw.cfg.max_body};

	if (h == NULL) {
		gw_conn_free(c);
		return;
	}
	c->mode = h;
	mtk_http_req_init(&h->rq, &lim);
	if (h->rq.fields == NULL) {
		gw_conn_free(c);
		return;
	}
	h->ph = H_IDLE;
	bufferevent_setcb(c->bev, http_client_read, http_client_write, http_client_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, max_buffer());
	gw_conn_arm(c, &gw.idle_timeout);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		http_pump(c);
}

static void http_timeout(gw_conn *c)
{
	gw_http *h = c->mode;

	switch (h->ph) {
	case H_REQUEST:
		respond_error(c, 408, "request timeout");
		return;
	case H_BACKEND:
		if (h->upstream && !h->resp.started) {
			respond_error(c, h->up_paused ? 504 : 408,
				      h->up_paused ? "backend stopped reading the body"
						   : "request body timeout");
			return;
		}
		if (h->throttled) {
			log_request(c, h->resp.status, "client stopped reading");
		} else if (!h->resp.started) {
			atomic_fetch_add_explicit(&gw_m.backend_errors, 1, memory_order_relaxed);
			respond_error(c, 504, "backend timeout");
			return;
		} else {
			log_request(c, 504, "backend timeout mid-response");
		}
		gw_conn_free(c);
		return;
	default:
		gw_conn_free(c);
		return;
	}
}

static bool http_idle(const gw_conn *c)
{
	const gw_http *h = c->mode;

	return h == NULL || h->ph == H_IDLE;
}

static void http_release(gw_conn *c)
{
	gw_http *h = c->mode;

	if (h == NULL)
		return;
	bconn_free(h->b);
	mtk_http_req_free(&h->rq);
	mtk_buf_free(&h->req);
	mtk_http_resp_free(&h->resp);
	free(h);
	c->mode = NULL;
}

const gw_mode_ops gw_http_ops = {http_start, http_timeout, http_idle, http_release};
