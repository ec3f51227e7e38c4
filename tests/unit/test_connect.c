/*
 * test_connect.c - lib/tls/connect.c: deadlines are totals for a stage, not
 * per read; connect, proxy CONNECT and TLS I/O end at them against peers
 * that trickle bytes; a proxy's words come back escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../../lib/tls/connect.h"

static uint64_t mono_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const mtk_clock clk = {mono_ms, NULL};

/* A fake clock the test moves by hand. */
static uint64_t fake_now;
static uint64_t fake_ms(void *ctx)
{
	(void)ctx;
	return fake_now;
}

/* Writes data to fd one byte every period_ms (bounded by len), or all at
 * once when period_ms is 0, then keeps fd open until told to stop. */
struct trickler {
	int fd;
	const uint8_t *data;
	size_t len;
	int period_ms;
	volatile int stop;
	pthread_t th;
};

static void *trickle_main(void *arg)
{
	struct trickler *t = arg;
	struct timespec ts = {0, 0};

	if (t->period_ms == 0) {
		(void)!write(t->fd, t->data, t->len);
	} else {
		ts.tv_nsec = (long)t->period_ms * 1000000L;
		for (size_t i = 0; i < t->len && !t->stop; i++) {
			if (write(t->fd, t->data + i, 1) != 1)
				break;
			nanosleep(&ts, NULL);
		}
	}
	while (!t->stop) {
		ts.tv_nsec = 10 * 1000000L;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void trickle_start(struct trickler *t, int fd, const void *data, size_t len, int period)
{
	memset(t, 0, sizeof(*t));
	t->fd = fd;
	t->data = data;
	t->len = len;
	t->period_ms = period;
	assert_int_equal(pthread_create(&t->th, NULL, trickle_main, t), 0);
}

static void trickle_stop(struct trickler *t)
{
	t->stop = 1;
	pthread_join(t->th, NULL);
}

static void nonblocking_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
}

static void test_deadline_start(void **state)
{
	mtk_deadline d, inner;
	mtk_clock fake = {fake_ms, NULL};
	mtk_err e = {0};
	(void)state;

	assert_int_equal(mtk_deadline_start(&d, NULL, 1000, NULL, &e), MTK_E_INVALID_ARG);
	mtk_err_clear(&e);
	assert_int_equal(mtk_deadline_start(&d, &clk, 0, NULL, &e), MTK_E_INVALID_ARG);

	fake_now = 10000;
	assert_int_equal(mtk_deadline_start(&d, &fake, 3000, NULL, NULL), MTK_OK);
	assert_int_equal(mtk_deadline_left(&d, 0), 3000);
	assert_int_equal(mtk_deadline_left(&d, 500), 500);
	fake_now += 1200;
	/* Computed once: time spent counts against it. */
	assert_int_equal(mtk_deadline_left(&d, 0), 1800);
	/* A stage inside a shorter outer one ends with it. */
	assert_int_equal(mtk_deadline_start(&inner, &fake, 5000, &d, NULL), MTK_OK);
	assert_int_equal(mtk_deadline_left(&inner, 0), 1800);
	assert_int_equal(inner.budget_ms, 3000);
	assert_int_equal(mtk_deadline_start(&inner, &fake, 500, &d, NULL), MTK_OK);
	assert_int_equal(mtk_deadline_left(&inner, 0), 500);
	fake_now += 5000;
	assert_int_equal(mtk_deadline_left(&d, 0), 0);
	assert_int_equal(mtk_deadline_left(&inner, 0), 0);
}

/* The old bug: each poll() got the whole budget, so a peer sending a byte
 * more often than that kept the wait alive forever.  Here a byte every
 * 50 ms against a 400 ms deadline must still end at 400 ms. */
static void test_wait_total_not_per_read(void **state)
{
	static const uint8_t bytes[200] = {0};
	struct trickler t;
	mtk_deadline d;
	uint8_t buf[8];
	uint64_t start;
	int sv[2], r, reads = 0;
	(void)state;

	nonblocking_pair(sv);
	trickle_start(&t, sv[1], bytes, sizeof(bytes), 50);
	start = mono_ms(NULL);
	assert_int_equal(mtk_deadline_start(&d, &clk, 400, NULL, NULL), MTK_OK);
	while ((r = mtk_deadline_wait(&d, sv[0], POLLIN, 0)) == 1 && reads < 1000)
		reads += read(sv[0], buf, sizeof(buf)) > 0;
	assert_int_equal(r, 0);
	assert_true(reads >= 3);
	assert_in_range(mono_ms(NULL) - start, 390, 700);
	trickle_stop(&t);
	close(sv[0]);
	close(sv[1]);
}

/* A TLS "server" that sends the start of a ServerHello record a byte every
 * 50 ms: the handshake ends at the deadline, timed out, and the message
 * says the peer sent something, too slowly. */
static void test_handshake_trickle(void **state)
{
	static const uint8_t hello[] = {0x16, 0x03, 0x03, 0x40, 0x00, 0x02, 0x00, 0x3f, 0xfc,
					0x03, 0x03, 0,    0,    0,    0,    0,    0,    0,
					0,    0,    0,    0,    0,    0,    0,    0,    0};
	struct trickler t;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	mtk_deadline d;
	mtk_err e = {0};
	uint64_t start;
	int sv[2], ret = 0, err;
	bool to = false;
	(void)state;

	assert_non_null(ctx);
	nonblocking_pair(sv);
	ssl = SSL_new(ctx);
	assert_non_null(ssl);
	assert_int_equal(SSL_set_fd(ssl, sv[0]), 1);
	trickle_start(&t, sv[1], hello, sizeof(hello), 50);
	start = mono_ms(NULL);
	assert_int_equal(mtk_deadline_start(&d, &clk, 500, NULL, NULL), MTK_OK);
	err = mtk_tls_io(&d, ssl, sv[0], mtk_tls_op_connect, NULL, 0, 0, &ret, &to);
	assert_true(to);
	assert_int_equal(err, SSL_ERROR_WANT_READ);
	assert_in_range(mono_ms(NULL) - start, 490, 800);
	assert_int_equal(mtk_tls_timeout(&e, &d, ssl, "TLS handshake", "127.0.0.1:1"),
			 MTK_E_TIMEOUT);
	assert_non_null(strstr(e.detail, "TLS handshake: 127.0.0.1:1: not finished within 500 ms"));
	trickle_stop(&t);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(sv[0]);
	close(sv[1]);
	ERR_clear_error();
}

/* A silent peer: "no TLS answer", and a cap shorter than the deadline ends
 * the wait at the cap. */
static void test_handshake_silent_cap(void **state)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	mtk_deadline d;
	mtk_err e = {0};
	uint64_t start;
	int sv[2], ret = 0;
	bool to = false;
	(void)state;

	nonblocking_pair(sv);
	assert_int_equal(SSL_set_fd(ssl, sv[0]), 1);
	assert_int_equal(mtk_deadline_start(&d, &clk, 5000, NULL, NULL), MTK_OK);
	start = mono_ms(NULL);
	(void)mtk_tls_io(&d, ssl, sv[0], mtk_tls_op_connect, NULL, 0, 200, &ret, &to);
	assert_true(to);
	assert_in_range(mono_ms(NULL) - start, 190, 600);
	assert_int_equal(mtk_tls_timeout(&e, &d, ssl, "TLS handshake", NULL), MTK_E_TIMEOUT);
	assert_string_equal(e.detail, "TLS handshake: no TLS answer within 5000 ms");
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(sv[0]);
	close(sv[1]);
	ERR_clear_error();
}

static void test_proxy_refusal_escaped(void **state)
{
	static const char reply[] = "HTTP/1.1 407 \x1b[31mEvil\x1b]0;T\x07 reason\r\n"
				    "Content-Length: 0\r\n\r\n";
	struct trickler t;
	mtk_deadline d;
	mtk_err e = {0};
	int sv[2];
	(void)state;

	nonblocking_pair(sv);
	trickle_start(&t, sv[1], reply, sizeof(reply) - 1, 0);
	assert_int_equal(mtk_deadline_start(&d, &clk, 2000, NULL, NULL), MTK_OK);
	assert_int_equal(mtk_net_proxy_connect(&d, sv[0], "127.0.0.1:3128", "example.com", "443",
					       &e),
			 MTK_E_PROXY);
	assert_null(strchr(e.detail, '\x1b'));
	assert_null(strchr(e.detail, '\x07'));
	assert_non_null(strstr(e.detail, "proxy CONNECT: 127.0.0.1:3128 refused CONNECT "
					  "example.com:443: 407 \\x1B[31mEvil\\x1B]0;T\\x07 reason"));
	trickle_stop(&t);
	close(sv[0]);
	close(sv[1]);
}

static void test_proxy_trickle(void **state)
{
	static const char reply[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct trickler t;
	mtk_deadline d;
	mtk_err e = {0};
	uint64_t start;
	int sv[2];
	(void)state;

	nonblocking_pair(sv);
	trickle_start(&t, sv[1], reply, sizeof(reply) - 1, 60);
	start = mono_ms(NULL);
	assert_int_equal(mtk_deadline_start(&d, &clk, 400, NULL, NULL), MTK_OK);
	assert_int_equal(mtk_net_proxy_connect(&d, sv[0], "127.0.0.1:3128", "::1", "8443", &e),
			 MTK_E_TIMEOUT);
	assert_in_range(mono_ms(NULL) - start, 390, 700);
	assert_non_null(strstr(e.detail, "proxy CONNECT: 127.0.0.1:3128 did not finish its "
					  "answer within 400 ms"));
	trickle_stop(&t);
	close(sv[0]);
	close(sv[1]);
}

static void test_connect_local(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	struct addrinfo *ai = NULL;
	mtk_deadline d;
	mtk_err e = {0};
	char port[16], addr[64];
	int lfd, fd = -1;
	(void)state;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(port, sizeof(port), "%u", (unsigned)ntohs(sa.sin_port));

	assert_int_equal(mtk_deadline_start(&d, &clk, 2000, NULL, NULL), MTK_OK);
	assert_int_equal(mtk_net_resolve(&d, "127.0.0.1", port, "", &ai, &e), MTK_OK);
	assert_int_equal(mtk_net_connect(&d, ai, "", 1000, &fd, addr, sizeof(addr), &e), MTK_OK);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	freeaddrinfo(ai);
	ai = NULL;

	/* Nothing listens once it is closed: refused, named. */
	close(lfd);
	assert_int_equal(mtk_net_resolve(&d, "127.0.0.1", port, "", &ai, &e), MTK_OK);
	assert_int_equal(mtk_net_connect(&d, ai, "proxy ", 1000, &fd, addr, sizeof(addr), &e),
			 MTK_E_CONNECT);
	assert_non_null(strstr(e.detail, "connect: proxy 127.0.0.1:"));
	freeaddrinfo(ai);

	/* A host name with a control character is escaped in the message. */
	mtk_err_clear(&e);
	assert_int_not_equal(mtk_net_resolve(&d, "bad\x1bname.invalid", "443", "", &ai, &e),
			     MTK_OK);
	assert_null(strchr(e.detail, '\x1b'));
}

static void test_authority(void **state)
{
	char out[64];
	(void)state;

	mtk_net_authority("::1", "443", out, sizeof(out));
	assert_string_equal(out, "[::1]:443");
	mtk_net_authority("example.com", "8443", out, sizeof(out));
	assert_string_equal(out, "example.com:8443");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline_start),
		cmocka_unit_test(test_wait_total_not_per_read),
		cmocka_unit_test(test_handshake_trickle),
		cmocka_unit_test(test_handshake_silent_cap),
		cmocka_unit_test(test_proxy_refusal_escaped),
		cmocka_unit_test(test_proxy_trickle),
		cmocka_unit_test(test_connect_local),
		cmocka_unit_test(test_authority),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
