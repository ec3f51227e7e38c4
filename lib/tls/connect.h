/*
 * connect.h - the library's one TLS client connection path, shared by
 * `probe` (lib/tls/probe.c) and `expiry` endpoints (lib/expiry/endpoint.c):
 * resolve, TCP connect, HTTP CONNECT through a proxy, TLS handshake and the
 * reads and writes after it.
 *
 * Every stage runs under a total deadline: a point in monotonic time,
 * computed once when the stage starts.  Each poll() gets what is left of it,
 * never the whole budget, so a peer that trickles one byte a second cannot
 * stretch a stage past its limit.  The library reads no clock of its own:
 * the caller passes one (mtk_clock).
 *
 * Error details start with the stage ("resolve", "connect", "proxy CONNECT",
 * "TLS handshake", "HTTP") and carry no byte the peer chose unescaped.
 *
 * Internal to the library (not in include/mtlskit/).
 */
#ifndef MTLSKIT_TLS_CONNECT_H
#define MTLSKIT_TLS_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netdb.h>

#include <openssl/ssl.h>

#include "mtlskit/err.h"

/* A monotonic clock in milliseconds (CLOCK_MONOTONIC in the CLI). */
typedef struct mtk_clock {
	uint64_t (*ms)(void *ctx);
	void *ctx;
} mtk_clock;

/* The end of one stage.  budget_ms is kept for messages. */
typedef struct mtk_deadline {
	mtk_clock clock;
	uint64_t end;     /* monotonic ms */
	long budget_ms;   /* what the stage was given (after capping by outer) */
} mtk_deadline;

/* Starts a stage of budget_ms (> 0) now; with outer, the stage also ends no
 * later than outer does.  MTK_E_INVALID_ARG without a clock. */
MTK_WUR mtk_rc mtk_deadline_start(mtk_deadline *d, const mtk_clock *clock, long budget_ms,
				  const mtk_deadline *outer, mtk_err *err);
/* Milliseconds left (>= 0), capped at cap when cap > 0. */
long mtk_deadline_left(const mtk_deadline *d, long cap);
/* poll() for events on fd until ready or the deadline (or cap, when > 0)
 * passes; EINTR restarts with the time then left.  1 ready, 0 timed out,
 * -1 error (errno). */
int mtk_deadline_wait(const mtk_deadline *d, int fd, short events, long cap);

/* "host:port", or "[v6]:port" for an address with a colon. */
void mtk_net_authority(const char *host, const char *port, char *out, size_t cap);

/* Resolves host:port before d (getaddrinfo_a for names, so the deadline
 * holds there too; address literals need no lookup).  what prefixes the host
 * in messages ("proxy " or "").  The list is freed with freeaddrinfo().
 * Errors: MTK_E_DNS, MTK_E_TIMEOUT, MTK_E_INVALID_ARG, MTK_E_NOMEM. */
MTK_WUR mtk_rc mtk_net_resolve(const mtk_deadline *d, const char *host, const char *port,
			       const char *what, struct addrinfo **out, mtk_err *err);

/* Connects to the first address of ai that answers before d; each attempt
 * is also bounded by attempt_ms (<= 0: only by d).  On success *fd is a
 * connected non-blocking socket and addr the address ("[::1]:443").
 * Errors: MTK_E_CONNECT, MTK_E_TIMEOUT. */
MTK_WUR mtk_rc mtk_net_connect(const mtk_deadline *d, const struct addrinfo *ai,
			       const char *what, long attempt_ms, int *fd, char *addr,
			       size_t addr_cap, mtk_err *err);

/* Sends all n bytes on the non-blocking socket fd before d.  stage names
 * the stage in messages.  MTK_E_TIMEOUT, MTK_E_CONNECT. */
MTK_WUR mtk_rc mtk_net_send_all(const mtk_deadline *d, int fd, const char *stage,
				const void *p, size_t n, mtk_err *err);

/* Asks the HTTP proxy on fd (proxy_addr for messages) to open a tunnel to
 * host:port and reads its answer up to the end of its headers, leaving the
 * tunnel's first bytes unread.  A non-2xx answer: MTK_E_PROXY with the status
 * and the reason phrase escaped.  Also MTK_E_TIMEOUT, MTK_E_INVALID_ARG. */
MTK_WUR mtk_rc mtk_net_proxy_connect(const mtk_deadline *d, int fd, const char *proxy_addr,
				     const char *host, const char *port, mtk_err *err);

/* One TLS operation (SSL_connect, SSL_read, SSL_write) retried until it
 * completes, waiting on fd as OpenSSL asks, never past d (or cap, when
 * > 0).  Returns the SSL_ERROR_* of the last call (SSL_ERROR_NONE on
 * success), *ret the call's return value, *timed_out when time ran out. */
typedef int (*mtk_tls_op)(SSL *ssl, void *buf, int n);
int mtk_tls_io(const mtk_deadline *d, SSL *ssl, int fd, mtk_tls_op op, void *buf, int n,
	       long cap, int *ret, bool *timed_out);
int mtk_tls_op_connect(SSL *ssl, void *buf, int n);
int mtk_tls_op_read(SSL *ssl, void *buf, int n);
int mtk_tls_op_write(SSL *ssl, void *buf, int n);

/* The message for a TLS stage that ran out of time: the stage, the peer
 * (addr; NULL when the caller names it), the limit, and whether the peer
 * sent nothing or only part of what was needed (bytes read from ssl's
 * socket).  Returns MTK_E_TIMEOUT. */
MTK_WUR mtk_rc mtk_tls_timeout(mtk_err *err, const mtk_deadline *d, SSL *ssl,
			       const char *stage, const char *addr);

#endif
