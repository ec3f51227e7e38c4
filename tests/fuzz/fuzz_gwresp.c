/* fuzz_gwresp.c - the gateway's response re-framer on arbitrary backend
 * bytes.  Whatever it passes on whole must read back, under http-parser, as
 * a response with the same status and the same body bytes that http-parser
 * finds in the backend's own bytes; an HTTP/1.0 client never gets chunked
 * framing and no hop-by-hop field reaches a client.  First byte: HEAD
 * request (bit 0), client HTTP/1.1 (bit 1); second: the piece size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtlskit/gwhttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void emit(void *ctx, const void *p, size_t n)
{
	if (mtk_buf_append(ctx, p, n) != MTK_OK)
		abort();
}

struct seen {
	mtk_buf body;
	bool is_head, done, final;
	int status;
	bool bad_field; /* a field no client may get */
	bool chunked_field;
	const char *field;
	size_t flen;
	bool in_value;
};

static int on_field(http_parser *p, const char *at, size_t n)
{
	struct seen *s = p->data;
	static const char *const hop[] = {
	    "keep-alive", "te", "trailer", "upgrade", "proxy-connection", "proxy-authenticate"};

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strlen(hop[i]) == n && strncasecmp(at, hop[i], n) == 0)
			s->bad_field = true;
	if (n == 17 && strncasecmp(at, "transfer-encoding", 17) == 0)
		s->chunked_field = true;
	return 0;
}

static int on_headers(http_parser *p)
{
	struct seen *s = p->data;

	s->status = p->status_code;
	/* as a client must: no body after HEAD, 204 or 304 */
	return (s->is_head && p->status_code >= 200) || p->status_code == 204 ||
		       p->status_code == 304
		   ? 1
		   : 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct seen *s = p->data;

	return mtk_buf_append(&s->body, at, n) == MTK_OK ? 0 : -1;
}

static int on_complete(http_parser *p)
{
	struct seen *s = p->data;

	if (p->status_code < 200)
		return 0;
	s->done = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings st = {
    .on_header_field = on_field,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

/* http-parser alone over bytes (then EOF when it wants one). */
static bool plain(const uint8_t *p, size_t n, bool is_head, struct seen *s)
{
	http_parser hp;
	enum http_errno e;

	http_parser_init(&hp, HTTP_RESPONSE);
	hp.data = s;
	s->is_head = is_head;
	http_parser_execute(&hp, &st, (const char *)p, n);
	e = HTTP_PARSER_ERRNO(&hp);
	if (!s->done && e == HPE_OK)
		http_parser_execute(&hp, &st, NULL, 0);
	return s->done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_http_resp r;
	mtk_buf out = MTK_BUF_INIT;
	struct seen in_s = {0}, out_s = {0};
	bool is_head, v11;
	size_t step, off = 0;

	if (size < 2)
		return 0;
	is_head = data[0] & 1;
	v11 = (data[0] & 2) != 0;
	step = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	mtk_http_resp_init(&r);
	mtk_http_resp_start(&r, is_head, v11 ? 1 : 0, emit, &out);
	while (off < size && !r.done && !r.bad) {
		size_t k = size - off < step ? size - off : step;
		size_t used = mtk_http_resp_feed(&r, data + off, k);
		if (used > k)
			abort();
		off += used;
		if (used < k && !r.done && !r.bad)
			abort(); /* only the end of the response stops it */
	}
	if (!r.done && !r.bad)
		mtk_http_resp_feed(&r, NULL, 0);
	if (r.bad && r.why == NULL)
		abort();
	if (r.done && !r.bad) {
		if (!plain(data, off, is_head, &in_s))
			abort(); /* accepted what http-parser alone would not finish */
		if (!plain(out.data, out.len, is_head, &out_s) || out_s.status != r.status ||
		    out_s.status != in_s.status || out_s.body.len != in_s.body.len ||
		    (in_s.body.len && memcmp(out_s.body.data, in_s.body.data, in_s.body.len) != 0))
			abort();
		if (out_s.bad_field || (!v11 && out_s.chunked_field))
			abort();
	}
	mtk_buf_free(&in_s.body);
	mtk_buf_free(&out_s.body);
	mtk_buf_free(&out);
	mtk_http_resp_free(&r);
	return 0;
}
