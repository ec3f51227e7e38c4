/* test_gwhttp.c - the gateway's request reader and writer (lib/gateway/
 * http1.c): what is refused and why, what is kept, what reaches a backend,
 * byte at a time as well as whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/gwhttp.h"

static const mtk_http_limits lim = {1024, 16, 64};
static const mtk_http_identity id = {"alice", "mid_server", "ab12", "CN=alice,O=Example",
				     "192.0.2.7"};

/* Feeds s in pieces of step bytes; returns the final state and how much
 * was consumed in *used. */
static mtk_http_state feed(mtk_http_req *r, const char *s, size_t n, size_t step, size_t *used)
{
	size_t off = 0;

	for (;;) {
		size_t k = n - off < step ? n - off : step;
		off += mtk_http_req_feed(r, (const uint8_t *)s + off, k);
		switch (mtk_http_req_state(r)) {
		case MTK_HTTP_HEAD:
			continue;
		case MTK_HTTP_NEED_MORE:
			if (off < n)
				continue;
			/* fall through */
		default:
			*used = off;
			return mtk_http_req_state(r);
		}
	}
}

struct refusal {
	const char *req;
	int status;
	const char *why; /* a part of r->why */
};

static void test_refused(void **state)
{
	static const struct refusal t[] = {
	    {"POST /x HTTP/1.1\r\nHost: x\r\nX-Pad : 1\r\nContent-Length: 1\r\n\r\nx", 400,
	     "colon"},
	    {"GET /x HTTP/1.1\r\nHost: x\r\nX Pad: 1\r\n\r\n", 400, "colon"},
	    {"GET /x HTTP/1.1\r\nHost: x\r\nX@Pad: 1\r\n\r\n", 400, "token"},
	    {"GET /x HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", 400, "obs-fold"},
	    {"GET /x HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400, "bare CR"},
	    {"GET /x HTTP/1.1\nHost: x\n\n", 400, "CRLF"},
	    {"GET /x HTTP/1.1\r\nHost: x\nA: b\r\n\r\n", 400, "bare LF"},
	    {"GET /x HTTP/1.1\r\nHost: x\r\nA: b\001c\r\n\r\n", 400, "control"},
	    {"GET /x HTTP/1.1\r\nHost: x\r\nA: b\177\r\n\r\n", 400, "control"},
	    {"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400,
	     "several Content-Length"},
	    {"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\nx", 400, "Content-Length"},
	    {"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\nx", 400, "Content-Length"},
	    {"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400,
	     "chunked"},
	    {"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
	     "3\r\n\r\n",
	     400, "with Content-Length"},
	    {"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0"},
	    {"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encodingx: chunked\r\n\r\n", 400, "misreads"},
	    {"GET /x HTTP/1.1\r\n\r\n", 400, "no Host"},
	    {"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "several Host"},
	    {"GET /x HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "Host"},
	    {"GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "origin form"},
	    {"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "origin form"},
	    {"GET /x HTTP/2.0\r\nHost: a\r\n\r\n", 505, "version"},
	    {"GET /x http/1.1\r\nHost: a\r\n\r\n", 400, "version"},
	    {"GET  /x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "target"},
	    {"FOO /x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "http-parser"},
	    {"GET /x HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n", 400, "Host"},
	    {"GET /x HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417, "expectation"},
	    {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 65\r\n\r\n", 413, "max_body"},
	    {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", 413,
	     "max_body"},
	    {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n",
	     400, "CRLF"},
	    {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
	     400, "chunk size"},
	    {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n "
	     "5\r\nhello\r\n0\r\n\r\n",
	     400, "chunk size"},
	    {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
	     400, "chunk size"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (size_t step = 1; step <= 4096; step *= 4096) {
			mtk_http_req r;
			size_t used;
			mtk_http_req_init(&r, &lim);
			if (feed(&r, t[i].req, strlen(t[i].req), step, &used) != MTK_HTTP_ERROR ||
			    r.status != t[i].status || strstr(r.why, t[i].why) == NULL)
				fail_msg("request %zu (step %zu): state %d status %d why '%s'", i,
					 step, mtk_http_req_state(&r), r.status,
					 r.why ? r.why : "");
			mtk_http_req_free(&r);
		}
	}
}

static void test_too_large(void **state)
{
	mtk_http_req r;
	char big[2048];
	size_t used;

	(void)state;
	mtk_http_req_init(&r, &lim);
	snprintf(big, sizeof(big), "GET /x HTTP/1.1\r\nHost: x\r\nA: %01500d\r\n\r\n", 0);
	assert_int_equal(feed(&r, big, strlen(big), 7, &used), MTK_HTTP_ERROR);
	assert_int_equal(r.status, 431);
	mtk_http_req_free(&r);
	mtk_http_req_init(&r, &lim);
	big[0] = '\0';
	strcat(big, "GET /x HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 17; i++)
		strcat(big, "A: 1\r\n");
	strcat(big, "\r\n");
	assert_int_equal(feed(&r, big, strlen(big), 4096, &used), MTK_HTTP_ERROR);
	assert_int_equal(r.status, 431);
	mtk_http_req_free(&r);
}

/* What a backend gets: the gateway's fields, not the client's. */
static void test_written(void **state)
{
	const char *in =
	    "\r\nPOST /up?a=1 HTTP/1.1\r\nHost: example.com:8443\r\n"
	    "X-Client-User: admin\r\nX_Client_Roles: admin\r\nx-client-cert-sha256: 00\r\n"
	    "X-Forwarded-For: 6.6.6.6\r\nx_forwarded_proto: http\r\n"
	    "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
	    "Proxy-Authorization: x\r\nUpgrade: h2c\r\nAccept:  */* \r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-Field: x\r\n\r\n"
	    "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
	const char *want =
	    "POST /up?a=1 HTTP/1.1\r\nHost: example.com:8443\r\nAccept: */*\r\n"
	    "X-Client-User: alice\r\nX-Client-Roles: mid_server\r\n"
	    "X-Client-Cert-Sha256: ab12\r\nX-Client-Cert-Subject: CN=alice,O=Example\r\n"
	    "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
	    "Content-Length: 5\r\n\r\nabcde";
	mtk_buf out = MTK_BUF_INIT;
	mtk_http_req r;
	size_t used = 0;

	(void)state;
	for (size_t step = 1; step <= 8192; step *= 8192) {
		const char *p = in;
		size_t left = strlen(in);
		mtk_http_req_init(&r, &lim);
		/* the first request */
		while (mtk_http_req_state(&r) != MTK_HTTP_DONE) {
			size_t k = left < step ? left : step;
			used = mtk_http_req_feed(&r, (const uint8_t *)p, k);
			p += used;
			left -= used;
			assert_int_not_equal(mtk_http_req_state(&r), MTK_HTTP_ERROR);
		}
		assert_true(r.keep_alive);
		assert_int_equal(r.framing, MTK_HTTP_BODY_CHUNKED);
		out.len = 0;
		assert_int_equal(mtk_http_req_write(&r, &id, &out, NULL), MTK_OK);
		assert_int_equal(out.len, strlen(want));
		assert_memory_equal(out.data, want, out.len);
		/* the pipelined one after it */
		mtk_http_req_reset(&r);
		assert_int_equal(feed(&r, p, left, step, &used), MTK_HTTP_DONE);
		assert_int_equal(used, left);
		assert_int_equal(r.target_len, 5);
		mtk_http_req_free(&r);
	}
	mtk_buf_free(&out);
}

static void test_http10_and_head(void **state)
{
	const char *in = "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	mtk_buf out = MTK_BUF_INIT;
	mtk_http_req r;
	size_t used;

	(void)state;
	mtk_http_req_init(&r, &lim);
	assert_int_equal(feed(&r, in, strlen(in), 4096, &used), MTK_HTTP_DONE);
	assert_false(r.keep_alive); /* a 1.0 client is answered and closed */
	assert_int_equal(mtk_http_req_write(&r, &id, &out, NULL), MTK_OK);
	assert_non_null(strstr((char *)out.data, "GET /old HTTP/1.0\r\n"));
	assert_null(strstr((char *)out.data, "Content-Length"));
	assert_null(strstr((char *)out.data, "keep-alive"));
	out.len = 0;
	mtk_http_req_reset(&r);
	in = "PUT /h HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nxyz";
	assert_int_equal(feed(&r, in, strlen(in), 4096, &used), MTK_HTTP_DONE);
	assert_true(r.expect_continue);
	assert_int_equal(mtk_http_req_write_head(&r, &id, true, 0, &out, NULL), MTK_OK);
	assert_non_null(strstr((char *)out.data, "Transfer-Encoding: chunked\r\n\r\n"));
	assert_null(strstr((char *)out.data, "Expect"));
	mtk_http_req_free(&r);
	mtk_buf_free(&out);
}

static void test_helpers(void **state)
{
	mtk_buf b = MTK_BUF_INIT;
	mtk_http_identity bad = id;

	(void)state;
	assert_true(mtk_http_name_is_identity("X_CLIENT_user", 13));
	assert_true(mtk_http_name_is_identity("x-client-", 9));
	assert_false(mtk_http_name_is_identity("x-clientuser", 12));
	assert_false(mtk_http_name_is_identity("x-clien", 7));
	assert_int_equal(mtk_http_escape(&b, "/a\\b\xc3\xa9\x1b", 7), MTK_OK);
	assert_int_equal(b.len, strlen("/a\\x5cb\\xc3\\xa9\\x1b"));
	assert_memory_equal(b.data, "/a\\x5cb\\xc3\\xa9\\x1b", b.len);
	assert_true(mtk_http_resp_field_dropped("Transfer-Encoding", 17));
	assert_true(mtk_http_resp_field_dropped("proxy-authenticate", 18));
	assert_false(mtk_http_resp_field_dropped("Content-Type", 12));
	assert_true(mtk_http_field_valid("A", 1, "b\tc", 3));
	assert_false(mtk_http_field_valid("A B", 3, "c", 1));
	assert_false(mtk_http_field_valid("A", 1, "b\r\nX: y", 7));
	/* an identity value with a line break is never written */
	b.len = 0;
	bad.subject = "CN=a\r\nX-Client-User: root";
	{
		mtk_http_req r;
		size_t used;
		mtk_http_req_init(&r, &lim);
		assert_int_equal(feed(&r, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, 4096, &used),
				 MTK_HTTP_DONE);
		assert_int_equal(mtk_http_req_write(&r, &bad, &b, NULL), MTK_E_MALFORMED);
		mtk_http_req_free(&r);
	}
	mtk_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refused), cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_written), cmocka_unit_test(test_http10_and_head),
	    cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
