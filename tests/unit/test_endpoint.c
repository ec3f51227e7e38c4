/* test_endpoint.c - lib/expiry/endpoint.c: the operand forms of an endpoint,
 * and mtk_expiry_scan_endpoint against an OpenSSL server run in this process
 * on 127.0.0.1 (a chain of two as sent, a closed port, a server that hangs
 * up, one that says nothing, one that is not TLS).  No other network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mtlskit/expiry.h"

#define PKI_FIXTURE_NO_SET
#include "pki_fixture.h"

static void test_parse(void **state)
{
	char h[64], p[8];
	(void)state;

	assert_true(mtk_expiry_parse_endpoint("mid01.example.com:8443", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(h, "mid01.example.com");
	assert_string_equal(p, "8443");
	assert_true(mtk_expiry_parse_endpoint("tls://a.example.com", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(h, "a.example.com");
	assert_string_equal(p, "443");
	assert_true(mtk_expiry_parse_endpoint("https://a.example.com/", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(h, "a.example.com");
	assert_string_equal(p, "443");
	assert_true(mtk_expiry_parse_endpoint("https://a.example.com:4443", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(p, "4443");
	assert_true(mtk_expiry_parse_endpoint("[2001:db8::1]:636", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(h, "2001:db8::1");
	assert_string_equal(p, "636");
	assert_true(mtk_expiry_parse_endpoint("127.0.0.1:1", h, sizeof(h), p, sizeof(p)));
	assert_string_equal(h, "127.0.0.1");

	/* a file name, a bare host or an ambiguous IPv6 form is no endpoint */
	assert_false(mtk_expiry_parse_endpoint("mid01.example.com", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("certs/leaf.pem", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("2001:db8::1:443", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("tls://", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("https:///", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("host:", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("host:http", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("host:65536", h, sizeof(h), p, sizeof(p)));
	assert_false(mtk_expiry_parse_endpoint("[::1:443", h, sizeof(h), p, sizeof(p)));
	/* a host longer than the caller's buffer, an operand of 300 bytes */
	assert_false(mtk_expiry_parse_endpoint("a-rather-long-host.example.com:443", h, 8, p, sizeof(p)));
	{
		char big[320];
		memset(big, 'a', 300);
		strcpy(big + 300, ":443");
		assert_false(mtk_expiry_parse_endpoint(big, h, sizeof(h), p, sizeof(p)));
	}
}

/* ---- a server in a thread ---- */

enum mode { SERVE_TLS, SERVE_CLOSE, SERVE_SILENT, SERVE_GARBAGE };

struct server {
	int lfd;
	char port[8];
	enum mode mode;
	struct pki *pki;
	pthread_t th;
	int handshake_ok;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	struct pollfd pf = {s->lfd, POLLIN, 0};
	int fd;

	if (poll(&pf, 1, 10000) != 1 || (fd = accept(s->lfd, NULL, NULL)) < 0)
		return NULL;
	if (s->mode == SERVE_TLS) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
		SSL *ssl;
		X509_up_ref(s->pki->inter);
		if (ctx != NULL && SSL_CTX_use_certificate(ctx, s->pki->leaf) == 1 &&
		    SSL_CTX_use_PrivateKey(ctx, s->pki->lk) == 1 &&
		    SSL_CTX_add_extra_chain_cert(ctx, s->pki->inter) == 1 && (ssl = SSL_new(ctx)) != NULL) {
			SSL_set_fd(ssl, fd);
			s->handshake_ok = SSL_accept(ssl) == 1;
			if (s->handshake_ok)
				(void)SSL_shutdown(ssl);
			SSL_free(ssl);
		}
		SSL_CTX_free(ctx);
	} else if (s->mode == SERVE_GARBAGE) {
		static const char resp[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
		char buf[512];
		pf.fd = fd;
		if (poll(&pf, 1, 5000) == 1)
			(void)!read(fd, buf, sizeof(buf));
		(void)!write(fd, resp, sizeof(resp) - 1);
	} else if (s->mode == SERVE_SILENT) {
		char buf[512];
		/* read until the client gives up (bounded: 10 s) */
		pf.fd = fd;
		for (int i = 0; i < 100 && poll(&pf, 1, 100) >= 0; i++)
			if ((pf.revents & (POLLIN | POLLHUP)) && read(fd, buf, sizeof(buf)) <= 0)
				break;
	}
	close(fd);
	return NULL;
}

static void server_start(struct server *s, enum mode mode, struct pki *p)
{
	struct sockaddr_in a = {0};
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->pki = p;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	snprintf(s->port, sizeof(s->port), "%u", ntohs(a.sin_port));
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	assert_int_equal(pthread_join(s->th, NULL), 0);
	close(s->lfd);
}

static uint64_t mono_ms(void *ctx)
{
	struct timespec ts;
	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const mtk_expiry_opts OPTS = {
	.connect_timeout_ms = 3000, .handshake_timeout_ms = 3000, .clock_ms = mono_ms};

static void test_chain_as_sent(void **state)
{
	struct pki p;
	struct server s;
	mtk_expiry *x = mtk_expiry_new();
	mtk_expiry_stats st;
	mtk_err err = {0};
	char where[32];
	(void)state;

	pki_make(&p, "serverAuth", 0);
	server_start(&s, SERVE_TLS, &p);
	assert_int_equal(mtk_expiry_scan_endpoint(x, "127.0.0.1", s.port, &OPTS, &err), MTK_OK);
	server_stop(&s);
	assert_true(s.handshake_ok);
	assert_int_equal(mtk_expiry_finish(x), MTK_OK);
	assert_int_equal(mtk_expiry_count(x), 2);
	assert_int_equal(mtk_expiry_error_count(x), 0);
	snprintf(where, sizeof(where), "127.0.0.1:%s", s.port);
	for (size_t i = 0; i < 2; i++) {
		const mtk_expiry_cert *c = mtk_expiry_get(x, i);
		assert_non_null(c);
		assert_string_equal(c->path, where);
		assert_int_equal(c->src, MTK_EXP_SRC_ENDPOINT);
		/* the leaf (365 days) expires before the intermediate (1825) */
		if (i == 0) {
			assert_int_equal(c->index, 0);
			assert_non_null(strstr(c->subject, "CN=mid01.example.com"));
		} else {
			assert_int_equal(c->index, 1);
			assert_non_null(strstr(c->subject, "CN=Example Issuing CA"));
		}
	}
	mtk_expiry_get_stats(x, &st);
	assert_int_equal(st.endpoints, 1);
	assert_int_equal(st.certs, 2);
	mtk_expiry_free(x);
	pki_free(&p);
}

/* Scans an endpoint that fails; returns the one recorded error. */
static const mtk_expiry_error *scan_fail(mtk_expiry *x, const char *port, const mtk_expiry_opts *o,
					 mtk_rc want, mtk_err *err)
{
	char where[32];
	const mtk_expiry_error *e;

	mtk_err_clear(err);
	assert_int_equal(mtk_expiry_scan_endpoint(x, "127.0.0.1", port, o, err), want);
	assert_int_equal(err->code, want);
	assert_int_equal(mtk_expiry_finish(x), MTK_OK);
	assert_int_equal(mtk_expiry_count(x), 0);
	assert_int_equal(mtk_expiry_error_count(x), 1);
	e = mtk_expiry_error_get(x, 0);
	snprintf(where, sizeof(where), "127.0.0.1:%s", port);
	assert_string_equal(e->path, where);
	assert_int_equal(e->code, want);
	assert_string_equal(e->detail, err->detail);
	return e;
}

static void test_closed_port(void **state)
{
	struct sockaddr_in a = {0};
	socklen_t al = sizeof(a);
	mtk_expiry *x = mtk_expiry_new();
	mtk_err err = {0};
	char port[8];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	(void)state;

	/* a port that was just free: bound, never listened on, closed */
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
	close(fd);
	scan_fail(x, port, &OPTS, MTK_E_CONNECT, &err);
	mtk_expiry_free(x);
}

static void test_hangup_silence_garbage(void **state)
{
	struct pki p;
	struct server s;
	mtk_expiry *x;
	mtk_expiry_opts quick = OPTS;
	mtk_err err = {0};
	uint64_t t0;
	(void)state;

	pki_make(&p, "serverAuth", 0);
	x = mtk_expiry_new();
	server_start(&s, SERVE_CLOSE, &p);
	scan_fail(x, s.port, &OPTS, MTK_E_TLS, &err);
	server_stop(&s);
	assert_string_equal(err.detail, "TLS handshake: the server closed the connection");
	mtk_expiry_free(x);

	x = mtk_expiry_new();
	quick.handshake_timeout_ms = 300;
	server_start(&s, SERVE_SILENT, &p);
	t0 = mono_ms(NULL);
	scan_fail(x, s.port, &quick, MTK_E_TIMEOUT, &err);
	assert_true(mono_ms(NULL) - t0 < 2500); /* the deadline held */
	server_stop(&s);
	assert_non_null(strstr(err.detail, "TLS handshake"));
	mtk_expiry_free(x);

	x = mtk_expiry_new();
	server_start(&s, SERVE_GARBAGE, &p);
	scan_fail(x, s.port, &OPTS, MTK_E_TLS, &err);
	server_stop(&s);
	assert_non_null(strstr(err.detail, "TLS handshake: this client refused the server's handshake ("));
	mtk_expiry_free(x);
	pki_free(&p);
}

static void test_no_clock(void **state)
{
	mtk_expiry *x = mtk_expiry_new();
	mtk_expiry_opts o = OPTS;
	mtk_err err = {0};
	(void)state;

	o.clock_ms = NULL;
	assert_int_equal(mtk_expiry_scan_endpoint(x, "127.0.0.1", "9", &o, &err), MTK_E_INVALID_ARG);
	assert_int_equal(mtk_expiry_finish(x), MTK_OK);
	assert_int_equal(mtk_expiry_error_count(x), 1);
	mtk_expiry_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_chain_as_sent),
		cmocka_unit_test(test_closed_port),
		cmocka_unit_test(test_hangup_silence_garbage),
		cmocka_unit_test(test_no_clock),
	};
	/* OpenSSL's socket BIO writes with write(), on both ends: a peer that
	 * hangs up raises SIGPIPE in the writer (the client's alert to the
	 * server that closed, the test server's tickets after the client
	 * left).  The library leaves SIGPIPE to the program; probe and track
	 * ignore it the same way. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
