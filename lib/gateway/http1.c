/*
 * http1.c - the gateway's request reader: http-parser, with the RFC 9112
 * rules it does not enforce checked on top, and the request the backend
 * gets written from the parsed fields.
 *
 * Three passes agree or the request is refused:
 *   1. check_head(): the request line and every field line, byte by byte
 *      (tokens, no whitespace before the colon, CRLF only, no obs-fold, no
 *      control bytes), then the framing and Host rules;
 *   2. http-parser over the same head must report the same method, target,
 *      fields, version and framing;
 *   3. chunked bodies: chunk_check() follows the framing strictly beside
 *      http-parser (which decodes the data); both must end the message at
 *      the same byte.
 */
#include "mtlskit/gwhttp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { PH_HEAD, PH_BODY, PH_DONE, PH_ERR };
enum {
	CS_SIZE0,
	CS_SIZE,
	CS_EXT,
	CS_SIZE_LF,
	CS_DATA,
	CS_DATA_CR,
	CS_DATA_LF,
	CS_TRAILER,
	CS_TRAILER_LINE,
	CS_TRAILER_LF,
	CS_END_LF,
	CS_END,
};

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* A field value byte: HTAB, SP, VCHAR or obs-text. */
static bool is_vbyte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool name_is(const mtk_http_field *f, const char *s)
{
	return strlen(s) == f->nlen && strncasecmp(f->name, s, f->nlen) == 0;
}

static bool value_is(const char *v, size_t n, const char *s)
{
	return strlen(s) == n && strncasecmp(v, s, n) == 0;
}

static size_t fail(mtk_http_req *r, int status, const char *why, size_t used)
{
	r->st = MTK_HTTP_ERROR;
	r->phase = PH_ERR;
	r->status = status;
	r->why = why;
	return used;
}

/* ------------------------------------------------------------ http-parser */

static int hp_url(http_parser *p, const char *at, size_t n)
{
	mtk_http_req *r = p->data;

	if (r->phase != PH_HEAD || n != r->target_len || memcmp(at, r->target, n) != 0)
		r->hp_mismatch = true;
	return 0;
}

static int hp_field(http_parser *p, const char *at, size_t n)
{
	mtk_http_req *r = p->data;
	const mtk_http_field *f;

	if (r->phase != PH_HEAD)
		return 0; /* trailer fields: dropped */
	if (r->hp_field >= r->n_fields) {
		r->hp_mismatch = true;
		return 0;
	}
	f = &r->fields[r->hp_field++];
	if (n != f->nlen || memcmp(at, f->name, n) != 0)
		r->hp_mismatch = true;
	return 0;
}

static int hp_value(http_parser *p, const char *at, size_t n)
{
	mtk_http_req *r = p->data;
	const mtk_http_field *f;

	if (r->phase != PH_HEAD)
		return 0;
	if (r->hp_field == 0) {
		r->hp_mismatch = true;
		return 0;
	}
	f = &r->fields[r->hp_field - 1];
	while (n > 0 && is_ows((unsigned char)at[n - 1]))
		n--;
	if (n != f->vlen || memcmp(at, f->value, n) != 0)
		r->hp_mismatch = true;
	return 0;
}

static int hp_headers_complete(http_parser *p)
{
	mtk_http_req *r = p->data;
	const char *m = http_method_str((enum http_method)p->method);

	if (r->phase != PH_HEAD)
		return 0;
	if (r->hp_field != r->n_fields || strlen(m) != r->method_len ||
	    memcmp(m, r->method, r->method_len) != 0 || p->http_major != 1 ||
	    p->http_minor != r->minor ||
	    ((p->flags & F_CHUNKED) != 0) != (r->framing == MTK_HTTP_BODY_CHUNKED) ||
	    (r->framing == MTK_HTTP_BODY_LENGTH && p->content_length != r->content_length))
		r->hp_mismatch = true;
	return 0;
}

static int hp_body(http_parser *p, const char *at, size_t n)
{
	mtk_http_req *r = p->data;

	if (r->body_total + n > r->lim.max_body) {
		fail(r, 413, "body larger than max_body", 0);
		return -1;
	}
	if (mtk_buf_append(&r->body, at, n) != MTK_OK) {
		fail(r, 503, "out of memory", 0);
		return -1;
	}
	r->body_total += n;
	return 0;
}

static int hp_complete(http_parser *p)
{
	mtk_http_req *r = p->data;

	r->hp_done = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings hp_settings = {
    .on_url = hp_url,
    .on_header_field = hp_field,
    .on_header_value = hp_value,
    .on_headers_complete = hp_headers_complete,
    .on_body = hp_body,
    .on_message_complete = hp_complete,
};

/* ------------------------------------------------------------ the head */

/* Host: uri-host [":" port], as the stricter backends (nginx) take it. */
static bool host_valid(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-._~!$&'()*+,;=%:[]", c) != NULL) ||
		    c == 0)
			return false;
		if (c == '.' && (i == 0 || v[i - 1] == '.'))
			return false;
	}
	return true;
}

/* Connection: a list of tokens.  Marks the fields it names as dropped and
 * notes "close".  0, or the phrase of the error. */
static const char *connection_tokens(mtk_http_req *r, const mtk_http_field *f, bool *close)
{
	size_t i = 0;

	while (i <= f->vlen) {
		size_t s, e;
		while (i < f->vlen && (is_ows((unsigned char)f->value[i]) || f->value[i] == ','))
			i++;
		if (i >= f->vlen)
			break;
		s = i;
		while (i < f->vlen && is_tchar((unsigned char)f->value[i]))
			i++;
		e = i;
		while (i < f->vlen && is_ows((unsigned char)f->value[i]))
			i++;
		if (e == s || (i < f->vlen && f->value[i] != ','))
			return "Connection is not a list of tokens";
		if (value_is(f->value + s, e - s, "close"))
			*close = true;
		else if (value_is(f->value + s, e - s, "host") ||
			 value_is(f->value + s, e - s, "content-length") ||
			 value_is(f->value + s, e - s, "transfer-encoding"))
			return "Connection names a framing field or Host";
		for (size_t k = 0; k < r->n_fields; k++)
			if (r->fields[k].nlen == e - s &&
			    strncasecmp(r->fields[k].name, f->value + s, e - s) == 0)
				r->fields[k].drop = true;
	}
	return NULL;
}

static bool hop_by_hop(const mtk_http_field *f)
{
	static const char *const hop[] = {
	    "connection", "keep-alive",	    "te",     "trailer",       "transfer-encoding",
	    "upgrade",	  "content-length", "expect", "http2-settings"};

	if (f->nlen >= 6 && strncasecmp(f->name, "proxy-", 6) == 0)
		return true;
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (name_is(f, hop[i]))
			return true;
	return false;
}

/* The rules over the parsed fields.  Returns the bytes used (all) or fails. */
static size_t check_fields(mtk_http_req *r, size_t used)
{
	int n_host = 0, n_cl = 0, n_te = 0;
	bool close = false;

	for (size_t k = 0; k < r->n_fields; k++) {
		mtk_http_field *f = &r->fields[k];
		f->drop = f->drop || hop_by_hop(f);
		if (name_is(f, "host")) {
			n_host++;
			if (!host_valid(f->value, f->vlen))
				return fail(r, 400, "malformed Host", used);
		} else if (name_is(f, "content-length")) {
			uint64_t v = 0;
			n_cl++;
			if (f->vlen == 0 || f->vlen > 18)
				return fail(r, 400, "malformed Content-Length", used);
			for (size_t i = 0; i < f->vlen; i++) {
				if (f->value[i] < '0' || f->value[i] > '9')
					return fail(r, 400, "malformed Content-Length", used);
				v = v * 10 + (uint64_t)(f->value[i] - '0');
			}
			r->content_length = v;
		} else if (name_is(f, "transfer-encoding")) {
			n_te++;
			if (!value_is(f->value, f->vlen, "chunked"))
				return fail(r, 400, "Transfer-Encoding other than chunked", used);
		} else if (name_is(f, "connection")) {
			const char *why = connection_tokens(r, f, &close);
			if (why != NULL)
				return fail(r, 400, why, used);
		} else if (f->nlen > 17 && strncasecmp(f->name, "transfer-encoding", 17) == 0) {
			/* http-parser 2.9 takes any name that starts so for
			 * Transfer-Encoding (it then refuses Content-Length) */
			return fail(r, 400, "field name http-parser misreads as Transfer-Encoding",
				    used);
		} else if (name_is(f, "expect")) {
			if (!value_is(f->value, f->vlen, "100-continue"))
				return fail(r, 417, "unsupported expectation", used);
			r->expect_continue = true;
		}
	}
	if (r->minor == 1 && n_host != 1)
		return fail(r, 400, n_host == 0 ? "no Host" : "several Host fields", used);
	if (n_host > 1)
		return fail(r, 400, "several Host fields", used);
	if (n_cl > 1)
		return fail(r, 400, "several Content-Length fields", used);
	if (n_te > 1)
		return fail(r, 400, "several Transfer-Encoding fields", used);
	if (n_te > 0 && r->minor == 0)
		return fail(r, 400, "Transfer-Encoding in HTTP/1.0", used);
	if (n_te > 0 && n_cl > 0)
		return fail(r, 400, "Transfer-Encoding with Content-Length", used);
	r->framing = n_te   ? MTK_HTTP_BODY_CHUNKED
		     : n_cl ? MTK_HTTP_BODY_LENGTH
			    : MTK_HTTP_BODY_NONE;
	if (r->framing == MTK_HTTP_BODY_LENGTH && r->content_length > r->lim.max_body)
		return fail(r, 413, "body larger than max_body", used);
	r->keep_alive = r->minor == 1 && !close;
	return used;
}

/* The request line and field lines of the complete head in r->head. */
static size_t check_head(mtk_http_req *r, size_t used)
{
	const char *h = (const char *)r->head.data;
	size_t len = r->head.len, i = 0, t;

	while (i < len && is_tchar((unsigned char)h[i]))
		i++;
	if (i == 0 || i >= len || h[i] != ' ')
		return fail(r, 400, "malformed request line", used);
	r->method = h;
	r->method_len = i++;
	t = i;
	while (i < len && (unsigned char)h[i] > 0x20 && (unsigned char)h[i] < 0x7f)
		i++;
	if (i == t || i >= len || h[i] != ' ')
		return fail(r, 400, "malformed request target", used);
	r->target = h + t;
	r->target_len = i - t;
	i++;
	if (len - i < 10 || memcmp(h + i, "HTTP/", 5) != 0 || h[i + 6] != '.' || h[i + 5] < '0' ||
	    h[i + 5] > '9' || h[i + 7] < '0' || h[i + 7] > '9')
		return fail(r, 400, "malformed HTTP version", used);
	if (h[i + 5] != '1' || (h[i + 7] != '0' && h[i + 7] != '1'))
		return fail(r, 505, "HTTP version not supported", used);
	r->minor = h[i + 7] - '0';
	i += 8;
	if (h[i] != '\r' || h[i + 1] != '\n')
		return fail(r, 400, "request line not ended by CRLF", used);
	i += 2;
	if (r->target[0] != '/' && !(r->target_len == 1 && r->target[0] == '*' &&
				     r->method_len == 7 && memcmp(r->method, "OPTIONS", 7) == 0))
		return fail(r, 400, "target not in origin form", used);

	for (;;) {
		size_t ns, ne, vs, ve;
		mtk_http_field *f;

		if (h[i] == '\r') {
			if (i + 2 == len && h[i + 1] == '\n')
				break;
			return fail(r, 400, "bare CR", used);
		}
		if (h[i] == '\n')
			return fail(r, 400, "bare LF", used);
		if (is_ows((unsigned char)h[i]))
			return fail(r, 400, "obs-fold", used);
		ns = i;
		while (i < len && is_tchar((unsigned char)h[i]))
			i++;
		if (i < len && is_ows((unsigned char)h[i]) && i > ns)
			return fail(r, 400, "whitespace in or before the colon of a field name",
				    used);
		if (i == ns || i >= len || h[i] != ':')
			return fail(r, 400, "field name is not a token", used);
		ne = i++;
		while (i < len && is_ows((unsigned char)h[i]))
			i++;
		vs = i;
		while (i < len && h[i] != '\r') {
			if (h[i] == '\n')
				return fail(r, 400, "bare LF", used);
			if (!is_vbyte((unsigned char)h[i]))
				return fail(r, 400, "control byte in a field value", used);
			i++;
		}
		if (i + 1 >= len || h[i + 1] != '\n')
			return fail(r, 400, "bare CR", used);
		ve = i;
		while (ve > vs && is_ows((unsigned char)h[ve - 1]))
			ve--;
		if (r->n_fields >= r->cap_fields)
			return fail(r, 431, "too many header fields", used);
		f = &r->fields[r->n_fields++];
		f->name = h + ns;
		f->nlen = ne - ns;
		f->value = h + vs;
		f->vlen = ve - vs;
		f->drop = false;
		i += 2;
	}
	return check_fields(r, used);
}

/* Collects the head; at its end checks it and runs http-parser over it. */
static size_t take_head(mtk_http_req *r, const uint8_t *p, size_t n)
{
	size_t used, old = r->head.len, room, take, end = 0, strip = 0;
	bool expect_done;

	room = r->lim.max_head + 1 - old;
	take = n < room ? n : room;
	if (mtk_buf_append(&r->head, p, take) != MTK_OK)
		return fail(r, 503, "out of memory", 0);
	/* Empty lines before a request line are ignored (RFC 9112 §2.2),
	 * however the bytes arrive. */
	while (r->head.len >= 2 && r->head.data[0] == '\r' && r->head.data[1] == '\n') {
		memmove(r->head.data, r->head.data + 2, r->head.len - 2);
		r->head.len -= 2;
		strip += 2;
	}
	if (r->head.len == 0 || (r->head.len == 1 && r->head.data[0] == '\r')) {
		r->st = MTK_HTTP_NEED_MORE;
		return take;
	}
	for (size_t i = old >= strip + 2 ? old - strip - 2 : 0; i < r->head.len;) {
		const uint8_t *h = r->head.data;
		const uint8_t *q = memchr(h + i, '\n', r->head.len - i);
		if (q == NULL)
			break;
		i = (size_t)(q - h);
		if (i + 1 < r->head.len && h[i + 1] == '\n') {
			end = i + 2;
			break;
		}
		if (i + 2 < r->head.len && h[i + 1] == '\r' && h[i + 2] == '\n') {
			end = i + 3;
			break;
		}
		i++;
	}
	if (end == 0) {
		if (r->head.len > r->lim.max_head)
			return fail(r, 431, "request head larger than max_header_size", take);
		r->st = MTK_HTTP_NEED_MORE;
		return take;
	}
	used = end + strip - old; /* this call's bytes up to the end of the head */
	r->head.len = end;
	check_head(r, used);
	if (r->st == MTK_HTTP_ERROR)
		return used;

	/* http-parser over the same bytes must see the same request. */
	http_parser_init(&r->hp, HTTP_REQUEST);
	r->hp.data = r;
	r->hp_field = 0;
	r->hp_mismatch = r->hp_done = false;
	if (http_parser_execute(&r->hp, &hp_settings, (const char *)r->head.data, r->head.len) !=
		r->head.len ||
	    HTTP_PARSER_ERRNO(&r->hp) != (r->hp_done ? HPE_PAUSED : HPE_OK))
		return fail(r, 400, "refused by http-parser", used);
	/* An Upgrade request is an ordinary one here: Upgrade and Connection
	 * never reach the backend.  http-parser then ends the message at the
	 * head, which the framing check below holds to "no body". */
	expect_done = r->framing == MTK_HTTP_BODY_NONE ||
		      (r->framing == MTK_HTTP_BODY_LENGTH && r->content_length == 0);
	if (r->hp_mismatch || r->hp_done != expect_done)
		return fail(r, 400, "http-parser disagrees with the strict reading", used);
	if (r->hp_done)
		http_parser_pause(&r->hp, 0);
	r->phase = PH_BODY;
	r->st = MTK_HTTP_HEAD;
	r->cs = CS_SIZE0;
	r->chunk_left = 0;
	r->digits = 0;
	r->trailer_bytes = 0;
	return used;
}

/* ------------------------------------------------------------ chunked framing */

/* Follows the chunked framing over p; returns the bytes up to and with the
 * end of the message (r->cs == CS_END), or all of them; on a framing error
 * fails r. */
static size_t chunk_check(mtk_http_req *r, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && r->cs != CS_END && r->st != MTK_HTTP_ERROR) {
		unsigned char c = p[i];
		int v;

		switch (r->cs) {
		case CS_SIZE0:
		case CS_SIZE:
			if ((v = mtk_hexval((char)c)) >= 0) {
				if (++r->digits > 16)
					return fail(r, 400, "chunk size too long", i);
				r->chunk_left = r->chunk_left * 16 + (uint64_t)v;
				if (r->chunk_left > r->lim.max_body)
					return fail(r, 413, "body larger than max_body", i);
				r->cs = CS_SIZE;
			} else if (r->cs == CS_SIZE && c == ';') {
				r->cs = CS_EXT;
			} else if (r->cs == CS_SIZE && c == '\r') {
				r->cs = CS_SIZE_LF;
			} else {
				return fail(r, 400, "malformed chunk size", i);
			}
			i++;
			break;
		case CS_EXT:
			if (c == '\r')
				r->cs = CS_SIZE_LF;
			else if (!is_vbyte(c) || c >= 0x80)
				return fail(r, 400, "malformed chunk extension", i);
			i++;
			break;
		case CS_SIZE_LF:
			if (c != '\n')
				return fail(r, 400, "bare CR", i);
			r->cs = r->chunk_left == 0 ? CS_TRAILER : CS_DATA;
			r->digits = 0;
			i++;
			break;
		case CS_DATA: {
			size_t k = n - i;
			if ((uint64_t)k > r->chunk_left)
				k = (size_t)r->chunk_left;
			r->chunk_left -= k;
			i += k;
			if (r->chunk_left == 0)
				r->cs = CS_DATA_CR;
			break;
		}
		case CS_DATA_CR:
		case CS_DATA_LF:
			if (c != (r->cs == CS_DATA_CR ? '\r' : '\n'))
				return fail(r, 400, "chunk data not followed by CRLF", i);
			r->cs = r->cs == CS_DATA_CR ? CS_DATA_LF : CS_SIZE0;
			i++;
			break;
		case CS_TRAILER:
			if (c == '\r')
				r->cs = CS_END_LF;
			else if (is_tchar(c))
				r->cs = CS_TRAILER_LINE;
			else
				return fail(r, 400, "malformed trailer field", i);
			i++;
			break;
		case CS_TRAILER_LINE:
			if (++r->trailer_bytes > r->lim.max_head)
				return fail(r, 431, "trailer fields larger than max_header_size",
					    i);
			if (c == '\r')
				r->cs = CS_TRAILER_LF;
			else if (!is_vbyte(c))
				return fail(r, 400, "control byte in a trailer field", i);
			i++;
			break;
		case CS_TRAILER_LF:
		case CS_END_LF:
			if (c != '\n')
				return fail(r, 400, "bare CR", i);
			r->cs = r->cs == CS_END_LF ? CS_END : CS_TRAILER;
			i++;
			break;
		default:
			return fail(r, 400, "chunked framing", i);
		}
	}
	return i;
}

/* ------------------------------------------------------------ the body */

static size_t take_body(mtk_http_req *r, const uint8_t *p, size_t n)
{
	size_t want, got;
	bool end;
	enum http_errno e;

	if (r->hp_done) { /* no body, or Content-Length: 0 */
		r->phase = PH_DONE;
		r->st = MTK_HTTP_DONE;
		return 0;
	}
	if (r->framing == MTK_HTTP_BODY_LENGTH) {
		uint64_t left = r->content_length - r->body_total;
		want = (uint64_t)n < left ? n : (size_t)left;
		end = (uint64_t)want == left;
	} else {
		want = chunk_check(r, p, n);
		if (r->st == MTK_HTTP_ERROR)
			return want;
		end = r->cs == CS_END;
	}
	if (want == 0) {
		r->st = MTK_HTTP_NEED_MORE;
		return 0;
	}
	got = http_parser_execute(&r->hp, &hp_settings, (const char *)p, want);
	if (r->st == MTK_HTTP_ERROR) /* a body callback refused */
		return got;
	e = HTTP_PARSER_ERRNO(&r->hp);
	if (got != want || r->hp_done != end || e != (end ? HPE_PAUSED : HPE_OK))
		return fail(r, 400,
			    e != HPE_OK && e != HPE_PAUSED
				? "refused by http-parser"
				: "http-parser disagrees on the body framing",
			    got);
	if (end) {
		http_parser_pause(&r->hp, 0);
		r->phase = PH_DONE;
		r->st = MTK_HTTP_DONE;
	} else {
		r->st = MTK_HTTP_NEED_MORE;
	}
	return want;
}

/* ------------------------------------------------------------ API */

void mtk_http_req_init(mtk_http_req *r, const mtk_http_limits *lim)
{
	memset(r, 0, sizeof(*r));
	r->lim = *lim;
	r->cap_fields = lim->max_fields;
	r->fields = calloc(r->cap_fields ? r->cap_fields : 1, sizeof(*r->fields));
	if (r->fields == NULL)
		r->cap_fields = 0;
	mtk_http_req_reset(r);
}

void mtk_http_req_reset(mtk_http_req *r)
{
	r->method = r->target = NULL;
	r->method_len = r->target_len = 0;
	r->minor = 1;
	r->n_fields = 0;
	r->framing = MTK_HTTP_BODY_NONE;
	r->content_length = 0;
	r->keep_alive = r->expect_continue = false;
	r->body.len = 0;
	r->body_total = 0;
	/* an idle keep-alive connection keeps no large buffer */
	if (r->head.cap > 8192)
		mtk_buf_free(&r->head);
	if (r->body.cap > 65536)
		mtk_buf_free(&r->body);
	r->status = 0;
	r->why = NULL;
	r->st = MTK_HTTP_NEED_MORE;
	r->phase = PH_HEAD;
	r->head.len = 0;
	r->hp_done = r->hp_mismatch = false;
}

void mtk_http_req_free(mtk_http_req *r)
{
	mtk_buf_free(&r->head);
	mtk_buf_free(&r->body);
	free(r->fields);
	r->fields = NULL;
	r->cap_fields = 0;
}

size_t mtk_http_req_feed(mtk_http_req *r, const uint8_t *p, size_t n)
{
	switch (r->phase) {
	case PH_HEAD:
		return take_head(r, p, n);
	case PH_BODY:
		return take_body(r, p, n);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------ writing */

static bool name_norm_eq(const char *name, size_t n, const char *want, size_t wn)
{
	if (n < wn)
		return false;
	for (size_t i = 0; i < wn; i++) {
		char a = name[i], b = want[i];
		if (a == '_')
			a = '-';
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

bool mtk_http_name_is_identity(const char *name, size_t n)
{
	return name_norm_eq(name, n, "x-client-", 9);
}

static bool is_forwarded(const char *name, size_t n)
{
	return (n == 15 && name_norm_eq(name, n, "x-forwarded-for", 15)) ||
	       (n == 17 && name_norm_eq(name, n, "x-forwarded-proto", 17));
}

static bool clean_value(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

enum { OUT_NONE, OUT_LENGTH, OUT_CHUNKED };

/* Appends "name: value\r\n". */
static mtk_rc put_field(mtk_buf *out, const char *name, size_t nlen, const char *value, size_t vlen)
{
	mtk_rc rc = mtk_buf_append(out, name, nlen);

	if (rc == MTK_OK)
		rc = mtk_buf_append(out, ": ", 2);
	if (rc == MTK_OK)
		rc = mtk_buf_append(out, value, vlen);
	if (rc == MTK_OK)
		rc = mtk_buf_append(out, "\r\n", 2);
	return rc;
}

static mtk_rc put_str_field(mtk_buf *out, const char *name, const char *value)
{
	return put_field(out, name, strlen(name), value, strlen(value));
}

static mtk_rc write_head(const mtk_http_req *r, const mtk_http_identity *id, int framing,
			 uint64_t length, mtk_buf *out, mtk_err *err)
{
	char num[24];
	mtk_rc rc;

	if (!clean_value(id->user) || !clean_value(id->roles) || !clean_value(id->sha256) ||
	    !clean_value(id->subject) || (id->client_ip && !clean_value(id->client_ip)))
		return mtk_err_set(err, MTK_E_MALFORMED, "identity value with a control byte");
	/* one allocation: the client's head bounds what is kept of it */
	rc = mtk_buf_reserve(out, r->head.len + strlen(id->user) + strlen(id->roles) +
					  strlen(id->sha256) + strlen(id->subject) + 256);
	if (rc == MTK_OK)
		rc = mtk_buf_append(out, r->method, r->method_len);
	if (rc == MTK_OK)
		rc = mtk_buf_append(out, " ", 1);
	if (rc == MTK_OK)
		rc = mtk_buf_append(out, r->target, r->target_len);
	/* The client's version: an HTTP/1.0 request may lack Host, and its
	 * answer must not be chunked. */
	if (rc == MTK_OK)
		rc = mtk_buf_append_str(out, r->minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
	for (size_t k = 0; rc == MTK_OK && k < r->n_fields; k++) {
		const mtk_http_field *f = &r->fields[k];
		if (f->drop || mtk_http_name_is_identity(f->name, f->nlen) ||
		    (id->client_ip != NULL && is_forwarded(f->name, f->nlen)))
			continue;
		rc = put_field(out, f->name, f->nlen, f->value, f->vlen);
	}
	if (rc == MTK_OK)
		rc = put_str_field(out, "X-Client-User", id->user);
	if (rc == MTK_OK)
		rc = put_str_field(out, "X-Client-Roles", id->roles);
	if (rc == MTK_OK)
		rc = put_str_field(out, "X-Client-Cert-Sha256", id->sha256);
	if (rc == MTK_OK)
		rc = put_str_field(out, "X-Client-Cert-Subject", id->subject);
	if (rc == MTK_OK && id->client_ip != NULL) {
		rc = put_str_field(out, "X-Forwarded-For", id->client_ip);
		if (rc == MTK_OK)
			rc = put_str_field(out, "X-Forwarded-Proto", "https");
	}
	if (rc == MTK_OK && framing == OUT_LENGTH) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)length);
		rc = put_str_field(out, "Content-Length", num);
	}
	if (rc == MTK_OK && framing == OUT_CHUNKED)
		rc = put_str_field(out, "Transfer-Encoding", "chunked");
	if (rc == MTK_OK)
		rc = mtk_buf_append(out, "\r\n", 2);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "request for the backend");
	return MTK_OK;
}

mtk_rc mtk_http_req_write_head(const mtk_http_req *r, const mtk_http_identity *id, bool chunked,
			       uint64_t length, mtk_buf *out, mtk_err *err)
{
	return write_head(r, id, chunked ? OUT_CHUNKED : OUT_LENGTH, length, out, err);
}

mtk_rc mtk_http_req_write(const mtk_http_req *r, const mtk_http_identity *id, mtk_buf *out,
			  mtk_err *err)
{
	bool want_cl = r->framing != MTK_HTTP_BODY_NONE || r->body.len > 0 ||
		       (r->method_len == 4 && memcmp(r->method, "POST", 4) == 0) ||
		       (r->method_len == 3 && memcmp(r->method, "PUT", 3) == 0) ||
		       (r->method_len == 5 && memcmp(r->method, "PATCH", 5) == 0);
	mtk_rc rc = write_head(r, id, want_cl ? OUT_LENGTH : OUT_NONE, r->body.len, out, err);

	if (rc == MTK_OK && r->body.len > 0 &&
	    mtk_buf_append(out, r->body.data, r->body.len) != MTK_OK)
		return mtk_err_set(err, MTK_E_NOMEM, "request for the backend");
	return rc;
}

mtk_rc mtk_http_escape(mtk_buf *out, const char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	mtk_rc rc = MTK_OK;

	for (size_t i = 0; rc == MTK_OK && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			rc = mtk_buf_append_u8(out, c);
		} else {
			char e[4] = {'\\', 'x', hx[c >> 4], hx[c & 15]};
			rc = mtk_buf_append(out, e, 4);
		}
	}
	return rc;
}

bool mtk_http_resp_field_dropped(const char *name, size_t n)
{
	mtk_http_field f = {.name = name, .nlen = n};

	return hop_by_hop(&f);
}

bool mtk_http_field_valid(const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (nlen == 0)
		return false;
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)name[i]))
			return false;
	for (size_t i = 0; i < vlen; i++)
		if (!is_vbyte((unsigned char)value[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------ responses */

#define RESP_HEAD_MAX (64 * 1024) /* a backend's response head */
#define REASON_MAX    512

const char *mtk_http_status_text(int s)
{
	switch (s) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

static int resp_bad(mtk_http_resp *r, const char *why)
{
	if (!r->bad) {
		r->bad = true;
		r->why = why;
	}
	return -1;
}

static void emit_str(mtk_http_resp *r, const char *s)
{
	r->emit(r->emit_ctx, s, strlen(s));
}

static int r_status(http_parser *p, const char *at, size_t n)
{
	mtk_http_resp *r = p->data;

	r->started = true;
	if (r->reason.len + n > REASON_MAX)
		return resp_bad(r, "backend reason phrase too long");
	return mtk_buf_append(&r->reason, at, n) == MTK_OK ? 0 : resp_bad(r, "out of memory");
}

static int r_commit(mtk_http_resp *r)
{
	size_t vl = r->value.len;
	const char *v = r->value.data ? (const char *)r->value.data : "";

	if (r->field.len == 0)
		return 0;
	while (vl > 0 && is_ows((unsigned char)v[vl - 1]))
		vl--;
	if (!mtk_http_field_valid((const char *)r->field.data, r->field.len, v, vl))
		return resp_bad(r, "malformed backend header field");
	if (!mtk_http_resp_field_dropped((const char *)r->field.data, r->field.len) &&
	    (mtk_buf_append(&r->rh, r->field.data, r->field.len) != MTK_OK ||
	     mtk_buf_append(&r->rh, ": ", 2) != MTK_OK || mtk_buf_append(&r->rh, v, vl) != MTK_OK ||
	     mtk_buf_append(&r->rh, "\r\n", 2) != MTK_OK))
		return resp_bad(r, "out of memory");
	r->field.len = r->value.len = 0;
	r->in_value = false;
	return 0;
}

static int r_field(http_parser *p, const char *at, size_t n)
{
	mtk_http_resp *r = p->data;

	if (r->in_value && r_commit(r) != 0)
		return -1;
	if (r->rh.len + r->field.len + n > RESP_HEAD_MAX)
		return resp_bad(r, "backend response head too large");
	return mtk_buf_append(&r->field, at, n) == MTK_OK ? 0 : resp_bad(r, "out of memory");
}

static int r_value(http_parser *p, const char *at, size_t n)
{
	mtk_http_resp *r = p->data;

	r->in_value = true;
	if (r->rh.len + r->value.len + n > RESP_HEAD_MAX)
		return resp_bad(r, "backend response head too large");
	return mtk_buf_append(&r->value, at, n) == MTK_OK ? 0 : resp_bad(r, "out of memory");
}

static int r_headers_complete(http_parser *p)
{
	mtk_http_resp *r = p->data;
	char line[64];
	bool no_body;

	if (r_commit(r) != 0)
		return -1;
	r->status = p->status_code;
	if (r->status == 101)
		return resp_bad(r, "backend switched protocols");
	if (r->status < 200) { /* interim: not passed on; the real one follows */
		r->rh.len = r->reason.len = 0;
		return 0;
	}
	no_body = r->is_head || r->status == 204 || r->status == 304;
	snprintf(line, sizeof(line), "HTTP/1.1 %d ", r->status);
	emit_str(r, line);
	if (r->reason.len > 0 &&
	    mtk_http_field_valid("r", 1, (const char *)r->reason.data, r->reason.len))
		r->emit(r->emit_ctx, r->reason.data, r->reason.len);
	else
		emit_str(r, mtk_http_status_text(r->status));
	emit_str(r, "\r\n");
	if (r->rh.len > 0)
		r->emit(r->emit_ctx, r->rh.data, r->rh.len);
	if (p->flags & F_CONTENTLENGTH) {
		if (r->status != 204) {
			snprintf(line, sizeof(line), "Content-Length: %llu\r\n",
				 (unsigned long long)p->content_length);
			emit_str(r, line);
		}
	} else if (!no_body) {
		if (r->client_minor == 1) {
			emit_str(r, "Transfer-Encoding: chunked\r\n");
			r->chunk_out = true;
		} else {
			r->close_after = true; /* HTTP/1.0: delimited by the close */
		}
	}
	if (r->force_close)
		r->close_after = true;
	if (r->close_after)
		emit_str(r, "Connection: close\r\n");
	emit_str(r, "\r\n");
	r->head_sent = true;
	/* no body, whatever the backend's fields say (a 204 or 304 "with" a
	 * chunked body would otherwise pass its bytes to the client unframed);
	 * anything the backend sends after it makes its connection unusable */
	return no_body ? 1 : 0;
}

static int r_body(http_parser *p, const char *at, size_t n)
{
	mtk_http_resp *r = p->data;
	char size[24];

	if (!r->head_sent)
		return resp_bad(r, "interim response with a body");
	if (r->chunk_out) {
		snprintf(size, sizeof(size), "%zx\r\n", n);
		emit_str(r, size);
	}
	r->emit(r->emit_ctx, at, n);
	if (r->chunk_out)
		emit_str(r, "\r\n");
	return 0;
}

static int r_complete(http_parser *p)
{
	mtk_http_resp *r = p->data;

	if (p->status_code < 200)
		return 0; /* interim response: the real one follows */
	if (r->chunk_out)
		emit_str(r, "0\r\n\r\n");
	r->done = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings resp_settings = {
    .on_status = r_status,
    .on_header_field = r_field,
    .on_header_value = r_value,
    .on_headers_complete = r_headers_complete,
    .on_body = r_body,
    .on_message_complete = r_complete,
};

void mtk_http_resp_init(mtk_http_resp *r)
{
	memset(r, 0, sizeof(*r));
}

void mtk_http_resp_start(mtk_http_resp *r, bool is_head, int client_minor, mtk_http_emit emit,
			 void *emit_ctx)
{
	r->is_head = is_head;
	r->client_minor = client_minor;
	r->force_close = false;
	r->emit = emit;
	r->emit_ctx = emit_ctx;
	r->status = 0;
	r->started = r->head_sent = r->done = r->close_after = r->bad = false;
	r->why = NULL;
	r->chunk_out = r->in_value = false;
	r->rh.len = r->field.len = r->value.len = r->reason.len = 0;
	if (r->rh.cap > 8192)
		mtk_buf_free(&r->rh);
	http_parser_init(&r->hp, HTTP_RESPONSE);
	r->hp.data = r;
}

size_t mtk_http_resp_feed(mtk_http_resp *r, const uint8_t *p, size_t n)
{
	size_t used;
	enum http_errno e;

	if (r->done || r->bad)
		return 0;
	if (n > 0)
		r->started = true;
	used = http_parser_execute(&r->hp, &resp_settings, (const char *)p, n);
	e = HTTP_PARSER_ERRNO(&r->hp);
	if (!r->bad && e != HPE_OK && e != HPE_PAUSED)
		resp_bad(r, http_errno_name(e));
	if (n == 0 && !r->done && !r->bad)
		resp_bad(r, "backend closed mid-response");
	return used;
}

bool mtk_http_resp_reusable(const mtk_http_resp *r)
{
	return r->done && !r->bad && http_should_keep_alive(&r->hp);
}

void mtk_http_resp_free(mtk_http_resp *r)
{
	mtk_buf_free(&r->rh);
	mtk_buf_free(&r->field);
	mtk_buf_free(&r->value);
	mtk_buf_free(&r->reason);
}
