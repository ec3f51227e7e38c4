/*
 * http.c - reading one HTTP/1.x response (a proxy's CONNECT reply, or the
 * answer to probe --http) with http-parser, bounded: headers at most
 * MTK_HTTP_HEADER_BYTES and MTK_HTTP_MAX_HEADERS, the body kept up to
 * MTK_HTTP_BODY_KEEP bytes and counted beyond.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "mtlskit/probe.h"

struct mtk_http_reader {
	http_parser parser;
	http_parser_settings settings;
	mtk_http_response resp;
	mtk_buf field;       /* header name being read */
	mtk_buf value;       /* header value being read */
	bool in_value;       /* the last piece was a value */
	bool head;
	bool headers_only;
	size_t header_bytes; /* bytes fed before the headers ended */
	mtk_rc cb_error;     /* set by a callback that failed */
};

static mtk_http_reader *reader_of(http_parser *p)
{
	return (mtk_http_reader *)p->data;
}

/* Stores the header completed so far (field + value) in the response. */
static int flush_header(mtk_http_reader *r)
{
	mtk_http_header *h;
	mtk_http_header *grown;

	if (r->field.len == 0)
		return 0;
	if (r->resp.nheaders >= MTK_HTTP_MAX_HEADERS) {
		r->cb_error = MTK_E_TOO_LARGE;
		return -1;
	}
	grown = realloc(r->resp.headers, (r->resp.nheaders + 1) * sizeof(*grown));
	if (grown == NULL) {
		r->cb_error = MTK_E_NOMEM;
		return -1;
	}
	r->resp.headers = grown;
	h = &grown[r->resp.nheaders];
	h->name = strndup(r->field.len ? (const char *)r->field.data : "", r->field.len);
	h->value = strndup(r->value.len ? (const char *)r->value.data : "", r->value.len);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		r->cb_error = MTK_E_NOMEM;
		return -1;
	}
	r->resp.nheaders++;
	r->field.len = 0;
	r->value.len = 0;
	r->in_value = false;
	return 0;
}

static int on_status(http_parser *p, const char *at, size_t n)
{
	mtk_http_reader *r = reader_of(p);
	size_t have = strlen(r->resp.reason);
	size_t room = sizeof(r->resp.reason) - 1 - have;

	/* A longer reason phrase is cut: it is for display only. */
	if (n > room)
		n = room;
	memcpy(r->resp.reason + have, at, n);
	r->resp.reason[have + n] = '\0';
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	mtk_http_reader *r = reader_of(p);

	if (r->in_value && flush_header(r) != 0)
		return -1;
	if (mtk_buf_append(&r->field, at, n) != MTK_OK) {
		r->cb_error = MTK_E_NOMEM;
		return -1;
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	mtk_http_reader *r = reader_of(p);

	r->in_value = true;
	if (mtk_buf_append(&r->value, at, n) != MTK_OK) {
		r->cb_error = MTK_E_NOMEM;
		return -1;
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	mtk_http_reader *r = reader_of(p);

	if (flush_header(r) != 0)
		return -1;
	if (p->status_code < 100 || p->status_code > 999) {
		r->cb_error = MTK_E_MALFORMED;
		return -1;
	}
	r->resp.status = (int)p->status_code;
	r->resp.major = p->http_major;
	r->resp.minor = p->http_minor;
	r->resp.headers_done = true;
	/* 1: no body follows (HEAD, or a CONNECT reply after which the tunnel
	 * starts). */
	return (r->head || r->headers_only) ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	mtk_http_reader *r = reader_of(p);
	size_t keep = 0;

	if (r->resp.body.len < MTK_HTTP_BODY_KEEP)
		keep = MTK_HTTP_BODY_KEEP - r->resp.body.len;
	if (keep > n)
		keep = n;
	if (keep > 0 && mtk_buf_append(&r->resp.body, at, keep) != MTK_OK) {
		r->cb_error = MTK_E_NOMEM;
		return -1;
	}
	r->resp.body_len += n;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	mtk_http_reader *r = reader_of(p);

	r->resp.complete = true;
	/* Whatever follows (a tunnel, a pipelined response) is not ours. */
	http_parser_pause(p, 1);
	return 0;
}

mtk_http_reader *mtk_http_reader_new(bool head, bool headers_only)
{
	mtk_http_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	http_parser_init(&r->parser, HTTP_RESPONSE);
	r->parser.data = r;
	http_parser_settings_init(&r->settings);
	r->settings.on_status = on_status;
	r->settings.on_header_field = on_header_field;
	r->settings.on_header_value = on_header_value;
	r->settings.on_headers_complete = on_headers_complete;
	r->settings.on_body = on_body;
	r->settings.on_message_complete = on_message_complete;
	r->head = head;
	r->headers_only = headers_only;
	return r;
}

static mtk_rc execute(mtk_http_reader *r, const uint8_t *data, size_t n, size_t *done,
		      mtk_err *err)
{
	enum http_errno e;

	*done = http_parser_execute(&r->parser, &r->settings, (const char *)data, n);
	e = HTTP_PARSER_ERRNO(&r->parser);
	if (e == HPE_OK || e == HPE_PAUSED)
		return MTK_OK;
	if (r->cb_error != MTK_OK)
		return mtk_err_set(err, r->cb_error, "http: %s",
				   r->cb_error == MTK_E_TOO_LARGE ? "too many headers"
				   : r->cb_error == MTK_E_MALFORMED ? "bad status code"
								  : "out of memory");
	if (n == 0 || e == HPE_INVALID_EOF_STATE)
		return mtk_err_set(err, MTK_E_TRUNCATED,
				   "http: the connection closed inside the response");
	return mtk_err_set(err, MTK_E_MALFORMED, "http: not an HTTP response (%s)",
			   http_errno_description(e));
}

mtk_rc mtk_http_reader_feed(mtk_http_reader *r, const uint8_t *data, size_t n, size_t *used,
			    mtk_err *err)
{
	size_t off = 0;
	mtk_rc rc;

	*used = 0;
	if (r->resp.complete)
		return MTK_OK;
	if (n == 0) {
		size_t done;

		rc = execute(r, NULL, 0, &done, err);
		if (rc != MTK_OK)
			return rc;
		if (!r->resp.complete)
			return mtk_err_set(err, MTK_E_TRUNCATED,
					   "http: the connection closed inside the response");
		return MTK_OK;
	}
	while (off < n && !r->resp.complete) {
		size_t chunk = n - off, done;

		/* Before the headers end, feed no more than the header budget,
		 * so a server cannot make us hold an endless header block. */
		if (!r->resp.headers_done) {
			size_t room = MTK_HTTP_HEADER_BYTES - r->header_bytes;
			if (room == 0)
				return mtk_err_set(err, MTK_E_TOO_LARGE,
						   "http: response headers longer than %u bytes",
						   MTK_HTTP_HEADER_BYTES);
			if (chunk > room)
				chunk = room;
		}
		rc = execute(r, data + off, chunk, &done, err);
		if (rc != MTK_OK)
			return rc;
		if (!r->resp.headers_done)
			r->header_bytes += done;
		off += done;
		if (done < chunk && !r->resp.complete)
			return mtk_err_set(err, MTK_E_INTERNAL, "http: parser stopped early");
	}
	*used = off;
	return MTK_OK;
}

const mtk_http_response *mtk_http_reader_response(const mtk_http_reader *r)
{
	return &r->resp;
}

void mtk_http_reader_take(mtk_http_reader *r, mtk_http_response *out)
{
	*out = r->resp;
	memset(&r->resp, 0, sizeof(r->resp));
}

void mtk_http_reader_free(mtk_http_reader *r)
{
	if (r == NULL)
		return;
	mtk_http_response_free(&r->resp);
	mtk_buf_free(&r->field);
	mtk_buf_free(&r->value);
	free(r);
}

const char *mtk_http_header_get(const mtk_http_response *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

void mtk_http_response_free(mtk_http_response *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	mtk_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}
