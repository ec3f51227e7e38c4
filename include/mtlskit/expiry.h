/*
 * expiry.h - find every certificate under a set of paths and endpoints and
 * say when each one expires (`mtlskit expiry`).
 *
 * A scan walks directories with a small pool of threads sharing one work
 * list (directories and batches of file names), so opening and reading files
 * overlaps the walk; each file is read once into a per-thread buffer (a
 * large PEM bundle through a fixed window) and only a compact record per
 * certificate is kept: the bytes of a file are never kept.  Beyond a memory
 * budget, sorted runs of records wait in temporary files.  The records are
 * sorted by mtk_expiry_finish() (and merged by the cursor), so the order
 * does not depend on the number of threads.  PEM and DER certificates go
 * through the
 * minimal DER walker (fastcert.h); PFX, JKS and JCEKS through the object
 * loader (load.h); TLS endpoints through a small client that takes the peer
 * chain as sent, without verifying it.
 *
 * What is not a certificate (keys, CSRs, CRLs, text) is counted as skipped.
 * What should be read and cannot (permission, I/O, malformed certificate,
 * wrong password, too large) is recorded as a per-file error and the scan
 * goes on.
 *
 * The library does not read the clock: "now" comes in where it matters.
 *
 * Ownership: every string reachable from an mtk_expiry_cert or
 * mtk_expiry_error belongs to the mtk_expiry and lives until
 * mtk_expiry_free(); a record returned by a cursor lives until the cursor's
 * next call.
 */
#ifndef MTLSKIT_EXPIRY_H
#define MTLSKIT_EXPIRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/pass.h"

typedef enum {
	MTK_EXP_SRC_PEM = 0,
	MTK_EXP_SRC_DER,
	MTK_EXP_SRC_PKCS7,
	MTK_EXP_SRC_CONTAINER, /* PFX, JKS, JCEKS */
	MTK_EXP_SRC_ENDPOINT,
} mtk_expiry_src;

const char *mtk_expiry_src_name(mtk_expiry_src s);

typedef struct mtk_expiry_cert {
	int64_t not_before; /* seconds since the epoch, UTC */
	int64_t not_after;
	const char *subject; /* RFC 2253 */
	const char *issuer;
	const char *serial; /* lower-case hex, "-" when negative */
	const char *path;   /* file path as reached, or "host:port" */
	const char *alias;  /* keystore alias / PFX friendlyName; NULL if none */
	long line;	    /* PEM: line of the BEGIN line; 0 otherwise */
	int index;	    /* 0-based position in its file; depth in a TLS chain */
	mtk_expiry_src src;
	uint8_t sha256[32]; /* SHA-256 of the certificate's DER (its fingerprint) */
	bool self_issued; /* subject == issuer */
	bool slow_path;	  /* decoded by OpenSSL, not the walker (odd input) */
} mtk_expiry_cert;

typedef struct mtk_expiry_error {
	const char *path;
	long line; /* PEM line, 0 when it concerns the whole file */
	mtk_rc code;
	const char *detail; /* human text, e.g. "Permission denied" */
} mtk_expiry_error;

typedef struct mtk_expiry_stats {
	uint64_t files;	     /* regular files opened and read */
	uint64_t cert_files; /* files holding at least one certificate */
	uint64_t certs;
	uint64_t skipped_files;	 /* read, no certificate in them (keys, CSRs, text) */
	uint64_t skipped_blocks; /* PEM blocks that are not certificates */
	uint64_t slow_path;	 /* certificates decoded by OpenSSL */
	uint64_t dirs;
	uint64_t symlinked_dirs_skipped; /* without follow_symlinks */
	uint64_t endpoints;
	uint64_t errors;
} mtk_expiry_stats;

/* Reader threads by default: the walk is mostly waiting for open() and
 * read() on a cold or remote tree, so more than the cores. */
#define MTK_EXPIRY_WORKERS 4
/* The window a large PEM bundle is read through (grown only for a single
 * block larger than it, up to MTK_MAX_INPUT). */
#define MTK_EXPIRY_WINDOW ((size_t)1 << 20)

typedef struct mtk_expiry_opts {
	bool follow_symlinks;	  /* descend into symlinked directories (loops
				     detected by device and inode) */
	int threads;		  /* reader threads; 0 means MTK_EXPIRY_WORKERS */
	const mtk_secret *pass;	  /* PFX / keystore password; NULL: none, except
				     the MID default for an agent keystore,
				     by name (mid.h: mtk_mid_default_for) */
	size_t max_file;	  /* larger files are reported, not read; 0: MTK_MAX_INPUT.
				     PEM files (a BEGIN line in their first 16 KiB)
				     larger than the window are streamed through a
				     window of MTK_EXPIRY_WINDOW bytes instead, with
				     no size limit. */
	size_t mem_budget;	  /* bytes of records (and their strings) kept in
				     memory; beyond it, sorted runs of records go
				     to unlinked temporary files in $TMPDIR (or
				     /tmp) and are merged back by the cursor.  0: no
				     limit (everything in memory) */
	bool times_only;	  /* records carry their times and place only: no
				     subject, issuer, serial ("") or fingerprint
				     (zero), for a caller that wants an exit
				     status (`expiry -q`); decoding stays as
				     strict */
	int connect_timeout_ms;	  /* endpoints: resolve + connect, in total; 0: 5000 */
	int handshake_timeout_ms; /* the TLS handshake, in total; 0: 5000 */
	/* Monotonic milliseconds, required for endpoints (the deadlines are
	 * computed from it); without it an endpoint fails MTK_E_INVALID_ARG. */
	uint64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
	/* Called now and then from worker threads (serialise inside). */
	void (*progress)(void *ctx, uint64_t files, uint64_t certs);
	void *progress_ctx;
} mtk_expiry_opts;

typedef struct mtk_expiry mtk_expiry;

mtk_expiry *mtk_expiry_new(void);
void mtk_expiry_free(mtk_expiry *x);

/* Scans a file or a directory tree.  Per-file problems are recorded (see
 * mtk_expiry_error) and are not a failure; fails only when path itself
 * cannot be reached (MTK_E_NOENT, MTK_E_PERM, ...: also recorded as an
 * error), on allocation failure, or (MTK_E_WRITE) when records beyond the
 * memory budget cannot be written to a temporary file. */
MTK_WUR mtk_rc mtk_expiry_scan_path(mtk_expiry *x, const char *path, const mtk_expiry_opts *opts,
				    mtk_err *err);

/* Connects to host:port ("[v6]:port" too), takes the chain the server
 * sends (no verification; SNI is the host when it is a name) and records its
 * certificates.  Failures (MTK_E_DNS, MTK_E_CONNECT, MTK_E_TIMEOUT, MTK_E_TLS)
 * are recorded as an error and returned. */
MTK_WUR mtk_rc mtk_expiry_scan_endpoint(mtk_expiry *x, const char *host, const char *port,
					const mtk_expiry_opts *opts, mtk_err *err);

/* Splits "host:port", "[v6]:port", "tls://host[:port]", "https://host[:port]"
 * (default port 443 for the URL forms).  false when s is not one of those. */
bool mtk_expiry_parse_endpoint(const char *s, char *host, size_t hcap, char *port, size_t pcap);

/* Sorts the certificates soonest expiry first (then path, line, index) and
 * the errors by path.  Call once after the scans. */
MTK_WUR mtk_rc mtk_expiry_finish(mtk_expiry *x);

/* Records found (in memory and in runs). */
size_t mtk_expiry_count(const mtk_expiry *x);
/* Random access, only while no run went to disk (mem_budget 0, or a scan
 * under it): NULL otherwise.  The cursor always works. */
const mtk_expiry_cert *mtk_expiry_get(const mtk_expiry *x, size_t i);

/* Every record in the scan's order (soonest expiry first, then path, line,
 * index), merging the runs on disk with what is in memory.  The record
 * returned is valid until the next call; NULL at the end or on a read
 * error of a run (mtk_expiry_cursor_rc then says which).  Several cursors
 * may be used one after the other. */
typedef struct mtk_expiry_cursor mtk_expiry_cursor;
MTK_WUR mtk_rc mtk_expiry_cursor_new(const mtk_expiry *x, mtk_expiry_cursor **out);
const mtk_expiry_cert *mtk_expiry_cursor_next(mtk_expiry_cursor *c);
mtk_rc mtk_expiry_cursor_rc(const mtk_expiry_cursor *c);
void mtk_expiry_cursor_free(mtk_expiry_cursor *c);
size_t mtk_expiry_error_count(const mtk_expiry *x);
const mtk_expiry_error *mtk_expiry_error_get(const mtk_expiry *x, size_t i);
void mtk_expiry_get_stats(const mtk_expiry *x, mtk_expiry_stats *out);


/* The Prometheus text exposition (textfile-collector format) of the
 * finished scan, with x509-certificate-exporter's names: families
 * x509_cert_not_after, x509_cert_not_before, x509_cert_expired and
 * mtlskit_cert_expiring (within `within` seconds of now), then
 * x509_read_errors and the mtlskit_expiry_* scan totals; HELP/TYPE lines,
 * escaped labels.  Per-certificate labels: the exporter's filename,
 * filepath, serial_number (decimal), issuer_{C,CN,L,O,OU,ST},
 * subject_{C,CN,L,O,OU,ST}, then mtlskit's alias, keystore (the container's
 * path for a PFX/JKS/JCEKS entry), endpoint ("host:port") and sha256.  A
 * certificate seen twice at one place (same path, alias and fingerprint)
 * is written once.
 *
 * Streamed: write(ctx, family, bytes, n) receives the text in pieces, in
 * output order (family 0 whole, then family 1, ...; the totals come with
 * the last), one pass over the records per family.  A writer's failure is
 * returned as is. */
#define MTK_EXPIRY_PROM_FAMILIES 4
typedef mtk_rc (*mtk_expiry_writer)(void *ctx, int family, const void *p, size_t n);
MTK_WUR mtk_rc mtk_expiry_prometheus(const mtk_expiry *x, int64_t now, int64_t within,
				     mtk_expiry_writer write, void *ctx);

#endif
