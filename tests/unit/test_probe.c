/* test_probe.c - the probe's parsers and tables: HOST[:PORT], proxy URLs,
 * HTTP responses (CONNECT replies and --http), the interception matcher,
 * alert explanations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mtlskit/probe.h"

static void test_hostport(void **state)
{
	char h[256], p[16];
	mtk_err e = {0};
	(void)state;

	assert_int_equal(mtk_hostport_parse("example.com", "443", h, sizeof(h), p, sizeof(p), &e), MTK_OK);
	assert_string_equal(h, "example.com");
	assert_string_equal(p, "443");
	assert_int_equal(mtk_hostport_parse("example.com:8443", "443", h, sizeof(h), p, sizeof(p), &e), MTK_OK);
	assert_string_equal(p, "8443");
	assert_int_equal(mtk_hostport_parse("[::1]:9443", "443", h, sizeof(h), p, sizeof(p), &e), MTK_OK);
	assert_string_equal(h, "::1");
	assert_string_equal(p, "9443");
	assert_int_equal(mtk_hostport_parse("[2001:db8::5]", "443", h, sizeof(h), p, sizeof(p), &e), MTK_OK);
	assert_string_equal(h, "2001:db8::5");
	assert_string_equal(p, "443");
	assert_int_equal(mtk_hostport_parse("2001:db8::5", "443", h, sizeof(h), p, sizeof(p), &e), MTK_OK);
	assert_string_equal(h, "2001:db8::5");
	assert_int_equal(mtk_hostport_parse("host:0", "443", h, sizeof(h), p, sizeof(p), &e), MTK_E_INVALID_ARG);
	mtk_err_clear(&e);
	assert_int_equal(mtk_hostport_parse("host:65536", "443", h, sizeof(h), p, sizeof(p), &e), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse("host:", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	/* Digits only: strtol would have taken a sign or a leading space. */
	assert_int_equal(mtk_hostport_parse("host:+443", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse("host: 443", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse("host:000443", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse(":443", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse("[::1", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse("[::1]x", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse("a/b:443", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse("user@host", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse("", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_hostport_parse("host:12x", "443", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
}

static void test_proxy_url(void **state)
{
	char h[256], p[16];
	(void)state;

	assert_int_equal(mtk_proxy_url_parse("http://proxy.corp:3128", h, sizeof(h), p, sizeof(p), NULL), MTK_OK);
	assert_string_equal(h, "proxy.corp");
	assert_string_equal(p, "3128");
	assert_int_equal(mtk_proxy_url_parse("HTTP://10.0.0.1/", h, sizeof(h), p, sizeof(p), NULL), MTK_OK);
	assert_string_equal(h, "10.0.0.1");
	assert_string_equal(p, "8080");
	assert_int_equal(mtk_proxy_url_parse("http://[::1]:3128", h, sizeof(h), p, sizeof(p), NULL), MTK_OK);
	assert_string_equal(h, "::1");
	assert_int_equal(mtk_proxy_url_parse("https://p:1", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_proxy_url_parse("p:3128", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_proxy_url_parse("http://u:pw@p:3128", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_proxy_url_parse("http://p:3128/path", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_proxy_url_parse("http://", h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_proxy_url_parse(NULL, h, sizeof(h), p, sizeof(p), NULL), MTK_E_INVALID_ARG);
}

/* Feeds s to a reader in pieces of step bytes, then end of stream. */
static mtk_rc feed_all(mtk_http_reader *r, const char *s, size_t step, bool eof, mtk_err *e)
{
	size_t n = strlen(s), off = 0;
	mtk_rc rc = MTK_OK;

	while (off < n && !mtk_http_reader_response(r)->complete) {
		size_t k = n - off < step ? n - off : step, used = 0;
		rc = mtk_http_reader_feed(r, (const uint8_t *)s + off, k, &used, e);
		if (rc != MTK_OK)
			return rc;
		off += k;
	}
	if (eof && !mtk_http_reader_response(r)->complete) {
		size_t used;
		rc = mtk_http_reader_feed(r, NULL, 0, &used, e);
	}
	return rc;
}

static void test_http_response(void **state)
{
	const char *resp = "HTTP/1.1 200 OK\r\nServer: snow_adc\r\nContent-Type: text/plain\r\n"
			   "Content-Length: 5\r\n\r\ntrue\n";
	(void)state;

	for (size_t step = 1; step <= strlen(resp); step += 7) {
		mtk_http_reader *r = mtk_http_reader_new(false, false);
		const mtk_http_response *h;
		mtk_err e = {0};

		assert_non_null(r);
		assert_int_equal(feed_all(r, resp, step, false, &e), MTK_OK);
		h = mtk_http_reader_response(r);
		assert_true(h->complete);
		assert_int_equal(h->status, 200);
		assert_int_equal(h->minor, 1);
		assert_string_equal(h->reason, "OK");
		assert_string_equal(mtk_http_header_get(h, "server"), "snow_adc");
		assert_string_equal(mtk_http_header_get(h, "CONTENT-TYPE"), "text/plain");
		assert_null(mtk_http_header_get(h, "Location"));
		assert_int_equal(h->body.len, 5);
		assert_memory_equal(h->body.data, "true\n", 5);
		mtk_http_reader_free(r);
	}
}

static void test_http_chunked_and_eof(void **state)
{
	mtk_http_reader *r;
	mtk_http_response out;
	mtk_err e = {0};
	(void)state;

	r = mtk_http_reader_new(false, false);
	assert_int_equal(feed_all(r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "4\r\nmixe\r\n1\r\nd\r\n0\r\n\r\n", 3, false, &e), MTK_OK);
	mtk_http_reader_take(r, &out);
	mtk_http_reader_free(r);
	assert_true(out.complete);
	assert_int_equal(out.body.len, 5);
	assert_memory_equal(out.body.data, "mixed", 5);
	mtk_http_response_free(&out);

	/* HTTP/1.0 without Content-Length: the body ends with the stream. */
	r = mtk_http_reader_new(false, false);
	assert_int_equal(feed_all(r, "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n<html>", 4, true, &e), MTK_OK);
	assert_true(mtk_http_reader_response(r)->complete);
	assert_int_equal(mtk_http_reader_response(r)->body_len, 6);
	mtk_http_reader_free(r);

	/* HEAD: a Content-Length with no body following. */
	r = mtk_http_reader_new(true, false);
	assert_int_equal(feed_all(r, "HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\n", 5, false, &e), MTK_OK);
	assert_true(mtk_http_reader_response(r)->complete);
	assert_int_equal(mtk_http_reader_response(r)->status, 404);
	mtk_http_reader_free(r);
}

static void test_http_connect_reply_stops_at_headers(void **state)
{
	const char *s = "HTTP/1.1 200 Connection established\r\nProxy-agent: tinyproxy\r\n\r\n\x16\x03\x03";
	mtk_http_reader *r = mtk_http_reader_new(true, true);
	size_t used = 0;
	mtk_err e = {0};
	(void)state;

	assert_int_equal(mtk_http_reader_feed(r, (const uint8_t *)s, strlen(s), &used, &e), MTK_OK);
	assert_true(mtk_http_reader_response(r)->complete);
	/* The TLS bytes after the reply are left for the tunnel. */
	assert_int_equal(used, strlen(s) - 3);
	assert_string_equal(mtk_http_reader_response(r)->reason, "Connection established");
	mtk_http_reader_free(r);
}

static void test_http_errors(void **state)
{
	mtk_http_reader *r;
	mtk_err e = {0};
	size_t used;
	char big[MTK_HTTP_HEADER_BYTES + 64];
	(void)state;

	r = mtk_http_reader_new(false, false);
	assert_int_equal(feed_all(r, "SSH-2.0-OpenSSH_9.2\r\n", 64, false, &e), MTK_E_MALFORMED);
	mtk_http_reader_free(r);

	mtk_err_clear(&e);
	r = mtk_http_reader_new(false, false);
	assert_int_equal(feed_all(r, "HTTP/1.1 200 OK\r\nContent-Le", 64, true, &e), MTK_E_TRUNCATED);
	mtk_http_reader_free(r);

	mtk_err_clear(&e);
	r = mtk_http_reader_new(false, false);
	assert_int_equal(feed_all(r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 64, true, &e), MTK_E_TRUNCATED);
	mtk_http_reader_free(r);

	/* Endless headers stop at the budget. */
	mtk_err_clear(&e);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', sizeof(big) - 21);
	big[sizeof(big) - 1] = '\0';
	r = mtk_http_reader_new(false, false);
	assert_int_equal(feed_all(r, big, 4096, false, &e), MTK_E_TOO_LARGE);
	mtk_http_reader_free(r);

	/* Too many headers. */
	mtk_err_clear(&e);
	r = mtk_http_reader_new(false, false);
	assert_int_equal(mtk_http_reader_feed(r, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17, &used, &e), MTK_OK);
	{
		mtk_rc rc = MTK_OK;
		for (int i = 0; i <= MTK_HTTP_MAX_HEADERS + 1 && rc == MTK_OK; i++)
			rc = mtk_http_reader_feed(r, (const uint8_t *)"A: b\r\n", 6, &used, &e);
		if (rc == MTK_OK)
			rc = mtk_http_reader_feed(r, (const uint8_t *)"\r\n", 2, &used, &e);
		assert_int_equal(rc, MTK_E_TOO_LARGE);
	}
	mtk_http_reader_free(r);
}

static void test_intercept_matcher(void **state)
{
	(void)state;
	assert_string_equal(mtk_intercept_match("CN=Zscaler Root CA,OU=Zscaler Inc.,O=Zscaler Inc."), "Zscaler");
	assert_string_equal(mtk_intercept_match("zscaler intermediate root ca"), "Zscaler");
	assert_string_equal(mtk_intercept_match("O=Palo Alto Networks,CN=Forward-Trust"), "Palo Alto Networks");
	assert_string_equal(mtk_intercept_match("CN=Blue Coat SG-S500 Series"), "Blue Coat / Symantec SSL Visibility");
	assert_string_equal(mtk_intercept_match("O=Fortinet,CN=FortiGate CA"), "Fortinet FortiGate");
	assert_string_equal(mtk_intercept_match("CN=caadmin.netskope.com,O=Netskope Inc"), "Netskope");
	assert_string_equal(mtk_intercept_match("CN=Cisco Umbrella Secondary SubCA ord-SG"), "Cisco Umbrella");
	assert_string_equal(mtk_intercept_match("CN=Sophos SSL CA_C0123"), "Sophos");
	assert_string_equal(mtk_intercept_match("O=Check Point Software"), "Check Point");
	assert_string_equal(mtk_intercept_match("CN=Websense Public Primary Certificate Authority"), "Forcepoint / Websense");
	assert_string_equal(mtk_intercept_match("CN=McAfee Web Gateway"), "McAfee / Skyhigh Web Gateway");
	assert_string_equal(mtk_intercept_match("CN=Kaspersky Anti-Virus Personal Root Certificate"), "Kaspersky");
	assert_string_equal(mtk_intercept_match("CN=ESET SSL Filter CA"), "ESET");
	assert_string_equal(mtk_intercept_match("CN=Avast Web/Mail Shield Root"), "Avast / AVG");
	assert_string_equal(mtk_intercept_match("CN=AVG Web/Mail Shield Root"), "Avast / AVG");
	assert_string_equal(mtk_intercept_match("CN=Bitdefender Personal CA.Net-Defender"), "Bitdefender");
	assert_string_equal(mtk_intercept_match("O=Menlo Security"), "Menlo Security");
	assert_string_equal(mtk_intercept_match("CN=iboss Cloud CA"), "iboss");
	assert_string_equal(mtk_intercept_match("O=Barracuda Networks"), "Barracuda");
	/* Public CAs and near misses are not inspection products. */
	assert_null(mtk_intercept_match("CN=DigiCert Global Root G2,OU=www.digicert.com,O=DigiCert Inc,C=US"));
	assert_null(mtk_intercept_match("CN=GlobalSign Root CA - R3"));
	assert_null(mtk_intercept_match("CN=Entrust Root Certification Authority - G2"));
	assert_null(mtk_intercept_match("CN=R3,O=Let's Encrypt"));
	assert_null(mtk_intercept_match("CN=Preset Services CA"));   /* "ESET" inside a word */
	assert_null(mtk_intercept_match("CN=Zscalerish Root"));      /* whole words only */
	assert_null(mtk_intercept_match("CN=ServiceNow Sophosphate")); /* idem */
	assert_null(mtk_intercept_match(""));
	assert_null(mtk_intercept_match(NULL));
}

static void test_intercept_name(void **state)
{
	X509_NAME *n = X509_NAME_new();
	(void)state;

	assert_non_null(n);
	assert_null(mtk_intercept_name(n));
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
						    (const unsigned char *)"Corp Proxy CA", -1, -1, 0), 1);
	assert_null(mtk_intercept_name(n));
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
						    (const unsigned char *)"Netskope Inc", -1, -1, 0), 1);
	assert_string_equal(mtk_intercept_name(n), "Netskope");
	assert_null(mtk_intercept_name(NULL));
	X509_NAME_free(n);
}

static void test_names_and_alerts(void **state)
{
	(void)state;
	assert_string_equal(mtk_stage_name(MTK_STAGE_RESOLVE), "resolve");
	assert_string_equal(mtk_stage_name(MTK_STAGE_PROXY), "proxy");
	assert_string_equal(mtk_stage_name(MTK_STAGE_HTTP), "http");
	assert_string_equal(mtk_client_auth_name(MTK_CLIENT_AUTH_REQUIRED), "required");
	assert_string_equal(mtk_client_auth_name(MTK_CLIENT_AUTH_REJECTED), "rejected");
	assert_non_null(strstr(mtk_alert_explain(SSL_AD_UNKNOWN_CA, true), "does not trust the CA"));
	assert_non_null(strstr(mtk_alert_explain(SSL_AD_CERTIFICATE_EXPIRED, true), "expired"));
	assert_non_null(strstr(mtk_alert_explain(116, false), "requires a client certificate"));
	assert_non_null(strstr(mtk_alert_explain(SSL_AD_HANDSHAKE_FAILURE, false), "required"));
	assert_non_null(mtk_alert_explain(250, false));
}

static uint64_t mono_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_probe_bad_input(void **state)
{
	mtk_probe_opts o = {0};
	mtk_probe_result r;
	mtk_err e = {0};
	(void)state;

	/* A literal address that nothing listens on: refused, stage connect. */
	o.host = "127.0.0.1";
	o.port = "1";
	o.timeout_ms = 2000;
	/* No clock: no deadline can be computed, so nothing is attempted. */
	assert_int_equal(mtk_probe_run(&o, &r, &e), MTK_E_INVALID_ARG);
	mtk_probe_result_free(&r);
	mtk_err_clear(&e);
	o.clock_ms = mono_ms;
	assert_int_equal(mtk_probe_run(&o, &r, &e), MTK_E_CONNECT);
	assert_int_equal(r.stage, MTK_STAGE_CONNECT);
	assert_non_null(strstr(e.detail, "connect: 127.0.0.1:1"));
	mtk_probe_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_proxy_url),
		cmocka_unit_test(test_http_response),
		cmocka_unit_test(test_http_chunked_and_eof),
		cmocka_unit_test(test_http_connect_reply_stops_at_headers),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_intercept_matcher),
		cmocka_unit_test(test_intercept_name),
		cmocka_unit_test(test_names_and_alerts),
		cmocka_unit_test(test_probe_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
