/*
 * internal.h - what scan.c, endpoint.c and prom.c of lib/expiry share.
 */
#ifndef MTLSKIT_EXPIRY_INTERNAL_H
#define MTLSKIT_EXPIRY_INTERNAL_H

#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mtlskit/expiry.h"

/* Strings of the records live in chunked arenas that never move. */
struct exp_chunk;
struct exp_arena {
	struct exp_chunk *head;
	size_t bytes; /* allocated, for the memory budget */
};
void exp_arena_free(struct exp_arena *a);

/* Records spilled to a temporary file, sorted (runs.c). */
struct exp_run {
	struct exp_run *next;
	int fd;
	uint64_t len; /* bytes */
	size_t count; /* records */
};

/* What one worker collects; merged in mtk_expiry_finish(). */
struct exp_sink {
	mtk_expiry_cert *certs;
	size_t ncerts, capcerts;
	mtk_expiry_error *errs;
	size_t nerrs, caperrs;
	struct exp_arena arena;	 /* the records' strings */
	struct exp_arena earena; /* the errors' strings (never spilled) */
	size_t budget;		 /* bytes of records before a spill; 0: none */
	struct exp_run *runs;
	size_t spilled; /* records in runs */
	mtk_expiry_stats st;
	bool times_only;     /* mtk_expiry_opts.times_only */
	EVP_MD_CTX *md;      /* the fingerprints' digest, reused */
};

struct mtk_expiry {
	struct exp_sink **sinks;
	size_t nsinks, capsinks;
	mtk_expiry_cert *certs; /* merged and sorted by mtk_expiry_finish() */
	size_t ncerts;
	mtk_expiry_error *errs;
	size_t nerrs;
	mtk_expiry_stats st;
	struct exp_run *runs; /* every sink's runs, gathered by finish() */
	size_t spilled;
	bool finished;
};

/* Sorts the sink's records, writes them as one run to an unlinked file in
 * $TMPDIR (or /tmp) and empties the records and their arena; MTK_E_WRITE /
 * MTK_E_NOMEM. */
MTK_WUR mtk_rc exp_spill(struct exp_sink *s);
/* True when the sink is over its budget. */
bool exp_over_budget(const struct exp_sink *s);
void exp_runs_free(struct exp_run *r);
int exp_cmp_cert(const void *a, const void *b);

struct exp_sink *exp_sink_new(mtk_expiry *x);
char *exp_strdup(struct exp_arena *a, const char *s);
char *exp_strndup(struct exp_arena *a, const char *s, size_t n);
MTK_WUR mtk_rc exp_add_error(struct exp_sink *s, const char *path, long line, mtk_rc code,
			     const char *fmt, ...) MTK_PRINTF(5, 6);
/* Records cert (borrowed) decoded by OpenSSL.  path must already be in the
 * sink's arena. */
MTK_WUR mtk_rc exp_add_x509(struct exp_sink *s, X509 *cert, const char *path, long line, int index,
			    const char *alias, mtk_expiry_src src);

/* Connects (lib/tls/connect.h, each stage under its own total deadline)
 * and returns the peer chain as sent (caller frees with
 * sk_X509_pop_free). */
struct mtk_clock;
MTK_WUR mtk_rc exp_tls_chain(const char *host, const char *port, const struct mtk_clock *clock,
			     int connect_ms, int handshake_ms, STACK_OF(X509) * *chain,
			     mtk_err *err);

#endif
