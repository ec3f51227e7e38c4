/*
 * connect.c - resolve, connect, proxy CONNECT and TLS I/O under deadlines
 * (see connect.h).  Sockets are non-blocking; every wait is a poll() with
 * the time left of the stage, so the limit holds for the stage as a whole
 * and not for each read.
 */
#include "connect.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "mtlskit/describe.h"
#include "mtlskit/probe.h"

/* ---- deadlines ---- */

mtk_rc mtk_deadline_start(mtk_deadline *d, const mtk_clock *clock, long budget_ms,
			  const mtk_deadline *outer, mtk_err *err)
{
	uint64_t now;

	if (clock == NULL || clock->ms == NULL || budget_ms <= 0)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "a network deadline needs a clock and a "
				   "positive time limit");
	now = clock->ms(clock->ctx);
	d->clock = *clock;
	d->end = now + (uint64_t)budget_ms;
	d->budget_ms = budget_ms;
	if (outer != NULL && outer->end < d->end) {
		d->end = outer->end;
		d->budget_ms = outer->budget_ms;
	}
	return MTK_OK;
}

long mtk_deadline_left(const mtk_deadline *d, long cap)
{
	uint64_t now = d->clock.ms(d->clock.ctx);
	uint64_t left = now >= d->end ? 0 : d->end - now;
	long l = left > (uint64_t)INT32_MAX ? INT32_MAX : (long)left;

	if (cap > 0 && cap < l)
		l = cap;
	return l;
}

int mtk_deadline_wait(const mtk_deadline *d, int fd, short events, long cap)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	do {
		long ms = mtk_deadline_left(d, cap);

		if (ms <= 0)
			return 0;
		r = poll(&p, 1, (int)ms);
		/* A cap shorter than the deadline ends the wait too. */
	} while (r < 0 && errno == EINTR);
	return r > 0 ? 1 : r;
}

/* ---- addresses ---- */

void mtk_net_authority(const char *host, const char *port, char *out, size_t cap)
{
	snprintf(out, cap, strchr(host, ':') != NULL ? "[%s]:%s" : "%s:%s", host, port);
}

static void addr_string(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
	} else {
		snprintf(out, cap, "?");
	}
}

/* ---- resolve ---- */

/* The parts of an asynchronous lookup that must outlive a timed-out call:
 * when glibc cannot cancel a lookup in progress it will still write here,
 * so on that path the block is deliberately left allocated. */
struct lookup {
	struct gaicb cb;
	struct addrinfo hints;
	char host[256];
	char port[16];
};

mtk_rc mtk_net_resolve(const mtk_deadline *d, const char *host, const char *port,
		       const char *what, struct addrinfo **out, mtk_err *err)
{
	struct addrinfo hints = {0}, *res = NULL;
	struct lookup *lk;
	struct gaicb *list[1];
	char shown[300];
	int r;

	mtk_str_printable(host, strlen(host), shown, sizeof(shown));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* An address literal needs no lookup (and no helper thread). */
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) == 0) {
		*out = res;
		return MTK_OK;
	}
	if (strlen(host) >= sizeof(lk->host) || strlen(port) >= sizeof(lk->port))
		return mtk_err_set(err, MTK_E_INVALID_ARG, "resolve: %s: name too long", shown);
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "resolve: %s", shown);
	memcpy(lk->host, host, strlen(host) + 1);
	memcpy(lk->port, port, strlen(port) + 1);
	lk->hints = hints;
	lk->hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	lk->cb.ar_name = lk->host;
	lk->cb.ar_service = lk->port;
	lk->cb.ar_request = &lk->hints;
	list[0] = &lk->cb;
	r = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (r != 0) {
		free(lk);
		return mtk_err_set(err, MTK_E_DNS, "resolve: %s%s: %s", what, shown, gai_strerror(r));
	}
	for (;;) {
		long ms = mtk_deadline_left(d, 0);
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

		r = gai_error(&lk->cb);
		if (r != EAI_INPROGRESS)
			break;
		if (ms <= 0) {
			if (gai_cancel(&lk->cb) == EAI_CANCELED || gai_error(&lk->cb) != EAI_INPROGRESS) {
				if (gai_error(&lk->cb) == 0)
					freeaddrinfo(lk->cb.ar_result);
				free(lk);
			}
			return mtk_err_set(err, MTK_E_TIMEOUT, "resolve: %s%s: no answer within %ld ms",
					   what, shown, d->budget_ms);
		}
		r = gai_suspend((const struct gaicb *const *)list, 1, &ts);
		if (r != 0 && r != EAI_AGAIN && r != EAI_INTR && r != EAI_ALLDONE)
			break;
	}
	r = gai_error(&lk->cb);
	if (r != 0) {
		free(lk);
		return mtk_err_set(err, MTK_E_DNS, "resolve: %s%s: %s", what, shown,
				   r == EAI_NONAME ? "no such host" : gai_strerror(r));
	}
	*out = lk->cb.ar_result;
	free(lk);
	return MTK_OK;
}

/* ---- connect ---- */

mtk_rc mtk_net_connect(const mtk_deadline *d, const struct addrinfo *ai, const char *what,
		       long attempt_ms, int *fd_out, char *addr, size_t addr_cap, mtk_err *err)
{
	char tried[64] = "";
	int last_errno = 0;
	bool timed_out = false;

	for (; ai != NULL; ai = ai->ai_next) {
		int fd, soerr = 0, r, one = 1;
		socklen_t sl = sizeof(soerr);

		addr_string(ai->ai_addr, tried, sizeof(tried));
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				last_errno = errno;
				close(fd);
				continue;
			}
			r = mtk_deadline_wait(d, fd, POLLOUT, attempt_ms);
			if (r == 0) {
				timed_out = true;
				close(fd);
				if (mtk_deadline_left(d, 0) <= 0)
					break;
				continue;
			}
			if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
			    soerr != 0) {
				last_errno = r < 0 ? errno : soerr;
				close(fd);
				continue;
			}
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		snprintf(addr, addr_cap, "%s", tried);
		*fd_out = fd;
		return MTK_OK;
	}
	if (timed_out && last_errno == 0) {
		long limit = d->budget_ms;

		if (attempt_ms > 0 && attempt_ms < limit && mtk_deadline_left(d, 0) > 0)
			limit = attempt_ms;
		return mtk_err_set(err, MTK_E_TIMEOUT, "connect: %s%s: no answer within %ld ms",
				   what, tried, limit);
	}
	return mtk_err_set(err, MTK_E_CONNECT, "connect: %s%s: %s", what, tried,
			   strerror(last_errno ? last_errno : ECONNREFUSED));
}

mtk_rc mtk_net_send_all(const mtk_deadline *d, int fd, const char *stage, const void *p, size_t n,
			mtk_err *err)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (mtk_deadline_wait(d, fd, POLLOUT, 0) <= 0)
				return mtk_err_set(err, MTK_E_TIMEOUT, "%s: no progress within %ld ms",
						   stage, d->budget_ms);
			continue;
		}
		return mtk_err_set(err, MTK_E_CONNECT, "%s: %s", stage, strerror(errno));
	}
	return MTK_OK;
}

/* ---- HTTP CONNECT ---- */

mtk_rc mtk_net_proxy_connect(const mtk_deadline *d, int fd, const char *proxy_addr,
			     const char *host, const char *port, mtk_err *err)
{
	char auth[300], req[700], reason[4 * sizeof(((mtk_http_response *)0)->reason)];
	uint8_t buf[2048];
	mtk_http_reader *hr = NULL;
	const mtk_http_response *resp;
	size_t got_total = 0;
	mtk_rc rc;
	int n;

	mtk_net_authority(host, port, auth, sizeof(auth));
	n = snprintf(req, sizeof(req),
		     "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mtlskit-probe\r\n"
		     "Proxy-Connection: keep-alive\r\n\r\n",
		     auth, auth);
	if (n < 0 || (size_t)n >= sizeof(req))
		return mtk_err_set(err, MTK_E_INVALID_ARG, "proxy CONNECT: host name too long");
	rc = mtk_net_send_all(d, fd, "proxy CONNECT", req, (size_t)n, err);
	if (rc != MTK_OK)
		return rc;
	hr = mtk_http_reader_new(true, true);
	if (hr == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "proxy CONNECT");
	resp = mtk_http_reader_response(hr);
	while (!resp->complete) {
		size_t used = 0, end;
		ssize_t got;
		int w = mtk_deadline_wait(d, fd, POLLIN, 0);

		if (w <= 0) {
			rc = w < 0 ? mtk_err_set(err, MTK_E_PROXY, "proxy CONNECT: %s: %s", proxy_addr,
						 strerror(errno))
				   : mtk_err_set(err, MTK_E_TIMEOUT,
						 "proxy CONNECT: %s did not %s within %ld ms",
						 proxy_addr,
						 got_total ? "finish its answer" : "answer",
						 d->budget_ms);
			goto out;
		}
		/* Peek, and take only up to the end of the reply's headers: the
		 * bytes after it belong to the tunnel (TLS). */
		got = recv(fd, buf, sizeof(buf), MSG_PEEK);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0) {
			rc = mtk_err_set(err, MTK_E_PROXY, "proxy CONNECT: %s: %s", proxy_addr,
					 strerror(errno));
			goto out;
		}
		if (got == 0) {
			rc = mtk_err_set(err, MTK_E_PROXY,
					 "proxy CONNECT: %s closed the connection without answering",
					 proxy_addr);
			goto out;
		}
		rc = mtk_http_reader_feed(hr, buf, (size_t)got, &used, err);
		if (rc != MTK_OK) {
			mtk_err_clear(err);
			rc = mtk_err_set(err, MTK_E_PROXY, "proxy CONNECT: %s: the answer is not HTTP",
					 proxy_addr);
			goto out;
		}
		got_total += used;
		end = used;
		while (end > 0) {
			ssize_t r = recv(fd, buf, end, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			end -= (size_t)r;
		}
	}
	if (resp->status < 200 || resp->status > 299) {
		/* The reason phrase is the proxy's own text: shown escaped. */
		mtk_str_printable(resp->reason, strlen(resp->reason), reason, sizeof(reason));
		rc = mtk_err_set(err, MTK_E_PROXY, "proxy CONNECT: %s refused CONNECT %s: %d %s",
				 proxy_addr, auth, resp->status, reason);
		goto out;
	}
	rc = MTK_OK;
out:
	mtk_http_reader_free(hr);
	return rc;
}

/* ---- TLS ---- */

int mtk_tls_io(const mtk_deadline *d, SSL *ssl, int fd, mtk_tls_op op, void *buf, int n,
	       long cap, int *ret, bool *timed_out)
{
	*timed_out = false;
	for (;;) {
		int r, e;

		errno = 0;
		r = op(ssl, buf, n);
		*ret = r;
		if (r > 0)
			return SSL_ERROR_NONE;
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return e;
		if (mtk_deadline_wait(d, fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, cap) <= 0) {
			*timed_out = true;
			return e;
		}
	}
}

int mtk_tls_op_connect(SSL *ssl, void *buf, int n)
{
	(void)buf;
	(void)n;
	return SSL_connect(ssl);
}

int mtk_tls_op_read(SSL *ssl, void *buf, int n)
{
	return SSL_read(ssl, buf, n);
}

int mtk_tls_op_write(SSL *ssl, void *buf, int n)
{
	return SSL_write(ssl, buf, n);
}

mtk_rc mtk_tls_timeout(mtk_err *err, const mtk_deadline *d, SSL *ssl, const char *stage,
		       const char *addr)
{
	BIO *rb = ssl != NULL ? SSL_get_rbio(ssl) : NULL;
	uint64_t got = rb != NULL ? BIO_number_read(rb) : 0;
	const char *sep = addr != NULL ? ": " : "";

	if (addr == NULL)
		addr = "";
	if (got == 0)
		return mtk_err_set(err, MTK_E_TIMEOUT, "%s: %s%sno TLS answer within %ld ms", stage,
				   addr, sep, d->budget_ms);
	return mtk_err_set(err, MTK_E_TIMEOUT,
			   "%s: %s%snot finished within %ld ms (the peer sent %llu bytes, too "
			   "slowly)",
			   stage, addr, sep, d->budget_ms, (unsigned long long)got);
}
