/*
 * gw.h - internals of mtlskit-gateway shared by its files:
 *   main.c   arguments, startup, workers, signals, reload, drain
 *   state.c  the reloadable state: SSL_CTX, trust, CRLs, user map
 *   conn.c   one client connection: accept, limits, handshake, identity (conn.h)
 *   http.c   HTTP mode: strict requests written anew, responses re-framed
 *   tcp.c    TCP mode: bytes both ways after a PROXY v2 header
 *   admin.c  JSON-lines log, metrics, the admin listener
 */
#ifndef MTK_GW_H
#define MTK_GW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "mtlskit/gateway.h"
#include "mtlskit/gwhttp.h"

/* Everything SIGHUP replaces.  Connections hold a reference for their whole
 * life, so a reload never changes the trust or the map under a live
 * connection; the old state goes when its last connection does. */
typedef struct gw_state {
	atomic_int refs;
	long generation;
	SSL_CTX *ctx;
	mtk_usermap *map;
	_Atomic int64_t *map_not_after; /* per map entry; 0 until the cert is seen */
	char *require_role;
	bool require_eku;
	size_t n_own;
	char **own_subject;             /* server certificates, for /metrics */
	int64_t *own_not_after;
	struct gw_crl *crls;            /* every CRL, signature verified at load */
	size_t n_crls;
	struct gw_vcache *vcache;       /* verified client chains; NULL: off */
} gw_state;

/* A CRL whose signature was verified once, at load, with issuer_key (the
 * key of a configured CA named as its issuer).  Per handshake only the
 * time and the serial are looked at (state.c, verify_cb). */
typedef struct gw_crl {
	X509_CRL *crl;
	EVP_PKEY *issuer_key;
	int64_t last_update, next_update; /* next_update 0: none given */
	char *file;                      /* where it was read, for logs and /metrics */
	long line;                       /* its BEGIN line; 0 in a DER file */
	char *issuer;                    /* RFC 2253 */
} gw_crl;

/* Logs (or, with out, prints) one warning per CRL of st already past its
 * nextUpdate: every certificate it covers is refused until it is renewed. */
void gw_state_warn(const gw_state *st, FILE *out);

/* Builds a state from the TLS/identity settings of cfg.  Errors name the
 * file; the caller logs and keeps the previous state. */
mtk_rc gw_state_new(const mtk_gwconfig *cfg, long generation, gw_state **out, mtk_err *err);
gw_state *gw_state_ref(gw_state *st);
void gw_state_unref(gw_state *st);
/* The current state with a new reference (thread-safe). */
gw_state *gw_state_current(void);
/* Installs st as current (takes the caller's reference). */
void gw_state_install(gw_state *st);

/* Rejection reasons: metrics labels and log values. */
#define GW_REASONS(X)                                                                           \
	X(R_UNKNOWN_CA, "unknown-ca")                                                               \
	X(R_EXPIRED, "expired")                                                                     \
	X(R_NOT_YET_VALID, "not-yet-valid")                                                         \
	X(R_REVOKED, "revoked")                                                                     \
	X(R_CRL, "crl-unavailable")                                                                 \
	X(R_EKU, "no-client-auth-eku")                                                              \
	X(R_CA_CERT, "ca-certificate")                                                              \
	X(R_CERT_INVALID, "certificate-invalid")                                                    \
	X(R_NO_CERT, "no-certificate")                                                              \
	X(R_HS_TIMEOUT, "handshake-timeout")                                                        \
	X(R_TLS, "tls-error")                                                                       \
	X(R_UNMAPPED, "unmapped")                                                                   \
	X(R_ROLE, "role-missing")                                                                   \
	X(R_CONN_LIMIT, "connection-limit")                                                         \
	X(R_IP_LIMIT, "address-connection-limit")

typedef enum {
#define GW_R_ENUM(e, s) e,
	GW_REASONS(GW_R_ENUM)
#undef GW_R_ENUM
	R__COUNT
} gw_reason;

const char *gw_reason_name(gw_reason r);
/* Maps an X509_V_ERR_* verify result to a reason. */
gw_reason gw_reason_from_verify(long v);

#define GW_NBUCKETS 14
extern const double gw_buckets[GW_NBUCKETS];

typedef struct gw_hist {
	atomic_uint_fast64_t b[GW_NBUCKETS + 1]; /* last: +Inf */
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_us;
} gw_hist;

typedef struct gw_metrics {
	atomic_uint_fast64_t handshakes_ok;
	atomic_uint_fast64_t handshakes_resumed;
	atomic_uint_fast64_t verify_cache_hits;
	atomic_uint_fast64_t rejections[R__COUNT];
	atomic_uint_fast64_t requests[6]; /* by status class 1xx..5xx; [0] unused */
	atomic_uint_fast64_t backend_errors;
	atomic_uint_fast64_t backend_retries;
	atomic_uint_fast64_t reloads_ok, reloads_failed;
	atomic_long active;
	atomic_long lingering; /* refused handshakes closing slowly (counted in the limit) */
	atomic_long accepted;
	gw_hist hs_latency;
	gw_hist req_latency;
} gw_metrics;

extern gw_metrics gw_m;
void gw_hist_observe(gw_hist *h, double seconds);

/* Logging: one JSON object per line, "ts" and "event" added.  Steals obj. */
void gw_log(const char *event, json_t *obj);
/* Opens the log destination ("-" = stderr, "off" = none). */
int gw_log_open(const char *dest);
extern bool gw_log_enabled;

/* Out of descriptors (EMFILE, ENFILE) or memory on accept: one JSON log
 * line a second at most, the listener paused 100 ms (no busy loop). */
typedef struct gw_accept_guard {
	void *owner;            /* the listener's callback argument is the guard */
	struct evconnlistener *l;
	struct event *resume;
	time_t logged;
	unsigned long quiet; /* errors not logged since the last line */
} gw_accept_guard;
int gw_accept_guard_init(gw_accept_guard *g, struct event_base *base, void *owner);
/* Creates the listener on fd with cb, its argument being g. */
int gw_accept_guard_listen(gw_accept_guard *g, struct event_base *base, evconnlistener_cb cb,
			   int fd);
void gw_accept_guard_free(gw_accept_guard *g);
/* libevent's own warnings, as JSON log lines */
void gw_libevent_log(int severity, const char *msg);

/* Gives the strict request reader what the client's input holds (one
 * contiguous piece) and drains what it took.  False when there was nothing
 * to give (and no pending head to pass on): wait for more input. */
static inline bool gw_http_feed(struct evbuffer *in, mtk_http_req *rq)
{
	struct evbuffer_iovec v = {NULL, 0};

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		v.iov_len = 0;
	if (v.iov_len == 0 && mtk_http_req_state(rq) != MTK_HTTP_HEAD)
		return false;
	evbuffer_drain(in, mtk_http_req_feed(rq, v.iov_base, v.iov_len));
	return true;
}

/* Admin listener (/metrics, /healthz) on base; fd is already bound. */
int gw_admin_start(struct event_base *base, int fd);
void gw_admin_stop(void);

/* One worker thread: its event base, listener and connections. */
typedef struct gw_conn gw_conn;
typedef struct gw_bconn gw_bconn;

typedef struct gw_worker {
	int id;
	pthread_t thread;
	struct event_base *base;
	struct evconnlistener *listener;
	gw_accept_guard guard;
	int listen_fd;
	struct event *ctl;        /* activated by main: drain */
	gw_conn *conns;           /* doubly linked list */
	gw_bconn **pool;          /* idle backend connections per backend */
	unsigned rr;              /* round-robin position */
	bool draining;
	atomic_bool done;
} gw_worker;

typedef struct gw_backend {
	struct sockaddr_storage ss;
	socklen_t len;
	char *name;
} gw_backend;

/* Process-wide settings fixed at startup. */
typedef struct gw_global {
	mtk_gwconfig cfg;
	gw_backend *backends;
	size_t n_backends;
	atomic_bool draining;
	struct timeval hs_timeout, header_timeout, idle_timeout, backend_timeout;
} gw_global;

extern gw_global gw;

/* conn.c, http.c */
void gw_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen,
	       void *arg);
void gw_worker_drain(gw_worker *w);
void gw_worker_free_pool(gw_worker *w);
/* Frees every connection still open (after the loop ended). */
void gw_worker_close_all(gw_worker *w);
/* state.c: the leaf of a chain the verify callback refused (borrowed from
 * the SSL), for the log; NULL when none was refused. */
X509 *gw_state_rejected_leaf(SSL *ssl);
/* Converts an ASN1_TIME to seconds since the epoch; 0 when unreadable. */
int64_t gw_asn1_time(const ASN1_TIME *t);

/* The SHA-256 of a connection's client leaf, worked out once per handshake:
 * by the verify step when it hashes the presented chain for the cache
 * (state.c app_verify), else on first use by conn.c (verify_cache 0, a
 * resumed session). */
typedef struct gw_leaf_md {
	bool known;
	uint8_t md[32];
} gw_leaf_md;
/* state.c: where the verify step of ssl leaves the leaf's digest (the
 * connection's, which outlives the SSL); false when out of memory. */
bool gw_state_bind_leaf(SSL *ssl, gw_leaf_md *lm);

/* vcache.c: client chains verified under one state (see there). */
typedef struct gw_vcache gw_vcache;
gw_vcache *gw_vcache_new(long entries); /* NULL when entries <= 0 or out of memory */
void gw_vcache_free(gw_vcache *vc);
/* SHA-256, fetched once (the first call, at startup): EVP_sha256() would
 * fetch the algorithm by name in every digest.  NULL when unavailable. */
const EVP_MD *gw_sha256(void);
/* The cache key of a presented chain: SHA-256 over the leaf's SHA-256
 * (left in leaf[32]) and the other certificates in order, each with its
 * length. */
bool gw_vcache_key(STACK_OF(X509) *presented, unsigned char leaf[32], unsigned char key[32]);
bool gw_vcache_hit(gw_vcache *vc, const unsigned char key[32], int64_t now);
void gw_vcache_put(gw_vcache *vc, const unsigned char key[32], int64_t now, int64_t valid_until);
/* RFC 2253 form of a name (non-ASCII escaped), whole, malloc'd; NULL
 * only when out of memory. */
char *gw_name(const X509_NAME *n);

#endif
