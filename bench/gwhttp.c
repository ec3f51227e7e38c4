/* gwhttp.c - what the gateway's strict request reader costs over bare
 * http-parser, per request, on the requests clients really send.
 *
 *   build/bench/gwhttp [ROUNDS]
 *
 * Three ways over the same bytes, interleaved, best of 5 runs each:
 *   http-parser   http_parser_execute with empty callbacks (the floor);
 *   strict read   mtk_http_req_feed: the line checks, http-parser over the
 *                 same head, the agreement check, body decoding;
 *   read + write  the above plus the request written for the backend.
 * Prints ns per request and the ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <http_parser.h>

#include "mtlskit/gwhttp.h"

static const char *const reqs[] = {
    /* curl */
    "GET /api/now/table/incident?sysparm_limit=1 HTTP/1.1\r\nHost: instance.example.com:8443\r\n"
    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    /* a MID Server style POST with a JSON body */
    "POST /api/mid/ecc_queue HTTP/1.1\r\nHost: instance.example.com\r\nUser-Agent: Java/17.0.15\r\n"
    "Accept: application/json\r\nContent-Type: application/json; charset=UTF-8\r\n"
    "Authorization: Basic bWlkOnNlY3JldA==\r\nConnection: keep-alive\r\nContent-Length: 64\r\n\r\n"
    "{\"agent\":\"mid01\",\"topic\":\"heartbeat\",\"queue\":\"output\",\"x\":\"0123\"}",
    /* a browser-like GET */
    "GET /static/app.js HTTP/1.1\r\nHost: gw.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux "
    "x86_64)\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
    "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\nCache-Control: "
    "no-cache\r\n\r\n",
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int nop_cb(http_parser *p)
{
	return 0;
}

static int nop_data(http_parser *p, const char *a, size_t n)
{
	return 0;
}

static double run(int mode, long rounds, size_t *sink)
{
	static const mtk_http_limits lim = {16384, 100, 8 << 20};
	static const mtk_http_identity id = {
	    "alice", "mid_server,itil",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "O=Example Corp,CN=alice.example.com", "127.0.0.1"};
	http_parser_settings st = {.on_message_begin = nop_cb,
				   .on_url = nop_data,
				   .on_header_field = nop_data,
				   .on_header_value = nop_data,
				   .on_headers_complete = nop_cb,
				   .on_body = nop_data,
				   .on_message_complete = nop_cb};
	mtk_http_req r;
	mtk_buf out = MTK_BUF_INIT;
	double t0;

	mtk_http_req_init(&r, &lim);
	t0 = now();
	for (long i = 0; i < rounds; i++) {
		const char *q = reqs[i % 3];
		size_t n = strlen(q);
		if (mode == 0) {
			http_parser p;
			http_parser_init(&p, HTTP_REQUEST);
			*sink += http_parser_execute(&p, &st, q, n);
			continue;
		}
		mtk_http_req_reset(&r);
		size_t off = 0;
		while (mtk_http_req_state(&r) != MTK_HTTP_DONE &&
		       mtk_http_req_state(&r) != MTK_HTTP_ERROR)
			off += mtk_http_req_feed(&r, (const uint8_t *)q + off, n - off);
		if (mtk_http_req_state(&r) != MTK_HTTP_DONE) {
			fprintf(stderr, "request %ld refused: %s\n", i % 3, r.why);
			exit(1);
		}
		*sink += off;
		if (mode == 2) {
			out.len = 0;
			if (mtk_http_req_write(&r, &id, &out, NULL) != MTK_OK)
				exit(1);
			*sink += out.len;
		}
	}
	mtk_http_req_free(&r);
	mtk_buf_free(&out);
	return (now() - t0) / (double)rounds;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 300000;
	double best[3] = {1e30, 1e30, 1e30};
	size_t sink = 0;

	for (int k = 0; k < 5; k++)
		for (int m = 0; m < 3; m++) {
			double t = run(m, rounds, &sink);
			if (t < best[m])
				best[m] = t;
		}
	printf("requests: curl GET, MID POST with a JSON body, browser GET (rotating)\n");
	printf("http-parser alone      %8.0f ns/request\n", best[0]);
	printf("strict read            %8.0f ns/request  (%.2fx http-parser)\n", best[1],
	       best[1] / best[0]);
	printf("strict read + write    %8.0f ns/request  (%.2fx http-parser)\n", best[2],
	       best[2] / best[0]);
	return sink == 0;
}
