/*
 * renew.h - certificates under management (`mtlskit track`, docs/renewal.md).
 *
 * A managed certificate is NAME.conf in a directory; its state is NAME.state
 * beside it.  mtk_track_run() does one renewal run for one NAME: lock, due?,
 * key, CSR, issue, check, stage, verify with the relying party, install with
 * backups and a journal, hook, post-check, rollback.  The library never
 * reads the clock or the environment: the time and a clock for network
 * deadlines come in mtk_track_env; helper and hook processes inherit envp.
 */
#ifndef MTLSKIT_RENEW_H
#define MTLSKIT_RENEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mtlskit/csr.h"
#include "mtlskit/err.h"
#include "mtlskit/findings.h"
#include "mtlskit/pass.h"

typedef enum {
	MTK_TRK_PEM = 1, /* cert, key, optional chain files */
	MTK_TRK_BUNDLE,  /* one PEM: leaf, chain, key (a MID bundle) */
	MTK_TRK_MID,     /* agent keystore, alias defaultsecuritykeypairhandle */
	MTK_TRK_KEYSTORE, /* one entry of a JKS/JCEKS/PKCS12 */
	MTK_TRK_GATEWAY, /* the gateway's server certificate (PEM files) */
} mtk_trk_target;

typedef enum {
	MTK_TRK_CA_DIR = 1,
	MTK_TRK_HELPER,
	MTK_TRK_ACME,
} mtk_trk_issuer;

const char *mtk_trk_target_name(mtk_trk_target t);
const char *mtk_trk_issuer_name(mtk_trk_issuer i);

/* NAME.conf, parsed.  Strings owned; mtk_track_conf_free releases them. */
typedef struct mtk_track_conf {
	char *name;
	mtk_trk_target target;
	mtk_trk_issuer issuer;
	char *cert, *key, *chain, *bundle, *agent, *keystore, *alias, *store_pass;
	mtk_usage usage;          /* 0 until set: the target's default */
	int profile;              /* check.h mtk_profile (not included here: ca.h has
	                             its own MTK_PROFILE_* names); 0 = the target's default */
	char *ca_dir, *ca_pass;
	long days;                /* 0: the old certificate's lifetime */
	char *helper;             /* argv, split on blanks */
	char *acme_directory, *acme_account_key, *acme_http_listen, *acme_webroot, *acme_ca;
	char *acme_eab_kid, *acme_eab_hmac; /* hmac: env:VAR / file:PATH of the base64url key */
	char *chain_ca;           /* CA certificates that complete an issued chain */
	long renew_num, renew_den; /* 2/3 */
	long within_s;            /* > 0 replaces renew_at */
	long jitter_s;
	bool keep_key;
	char *key_type;
	char *verify, *verify_ca, *verify_path;
	char *hook;
	bool hook_shell;
	char *post_check;
} mtk_track_conf;

/* Valid NAME: [A-Za-z0-9._-]{1,64}, not starting with '.'. */
bool mtk_track_name_valid(const char *name);
/* Parses NAME.conf bytes (file is used in messages).  Errors: MTK_E_CONFIG
 * with file:line, or a missing required setting. */
MTK_WUR mtk_rc mtk_track_conf_parse(mtk_track_conf *c, const char *name, const char *file,
				    const uint8_t *data, size_t len, mtk_err *err);
/* Reads DIR/NAME.conf. */
MTK_WUR mtk_rc mtk_track_conf_load(const char *dir, const char *name, mtk_track_conf *c,
				   mtk_err *err);
void mtk_track_conf_free(mtk_track_conf *c);

typedef struct mtk_track_state {
	time_t last_attempt, last_success, not_after, next_renewal; /* 0: never / unknown */
	char last_error[384];     /* "" after a success */
	char cookie[512];         /* pending helper answer; "" none */
	bool staged;              /* NAME.staged-* wait for the relying party */
	bool pending;             /* the issuer said "wait" */
	time_t poll_after;        /* the issuer asked to wait this long (helper exit 5) */
} mtk_track_state;

/* Parses NAME.state bytes; unknown keys are skipped (the file is ours). */
MTK_WUR mtk_rc mtk_track_state_parse(mtk_track_state *s, const char *file, const uint8_t *data,
				     size_t len, mtk_err *err);
/* Reads DIR/NAME.state; a missing file is an empty state (MTK_OK). */
MTK_WUR mtk_rc mtk_track_state_load(const char *dir, const char *name, mtk_track_state *s,
				    mtk_err *err);

/* When cert (notBefore nb, notAfter na) is due under c: see docs/renewal.md. */
time_t mtk_track_due(const mtk_track_conf *c, time_t nb, time_t na);

typedef struct mtk_track_env {
	time_t now;
	uint64_t (*clock_ms)(void *ctx); /* monotonic, for the verify handshake */
	void *clock_ctx;
	const mtk_pass_io *pass_io;      /* env:/file: specs in the config */
	char *const *envp;               /* environment of helpers and hooks */
	bool dry_run;                    /* decide and report, write nothing */
	bool force;                      /* renew even when not due */
} mtk_track_env;

typedef enum {
	MTK_TRK_NOT_DUE = 0,
	MTK_TRK_WOULD_RENEW, /* dry run */
	MTK_TRK_RENEWED,
	MTK_TRK_PENDING,     /* the issuer will answer later */
	MTK_TRK_STAGED,      /* issued, the relying party does not accept it yet */
	MTK_TRK_FAILED,
} mtk_track_outcome;

const char *mtk_track_outcome_name(mtk_track_outcome o);

typedef struct mtk_track_result {
	mtk_track_outcome outcome;
	time_t not_after;         /* of the certificate installed after the run */
	time_t due;
	bool expired;             /* the installed certificate had expired */
	bool rolled_back;
	char serial[80];          /* installed before the run */
	char new_serial[80];      /* issued in this run (or the staged one) */
	char message[384];        /* what happened, one line */
	mtk_findings findings;    /* check findings on an issued certificate */
} mtk_track_result;

void mtk_track_result_free(mtk_track_result *r);

/* One run for DIR/NAME.  Returns MTK_OK when the run did what it should
 * (including NOT_DUE, PENDING and STAGED); an error (with r->outcome FAILED)
 * otherwise: MTK_E_REJECTED, MTK_E_UNREACHABLE, MTK_E_FINDINGS, MTK_E_HOOK,
 * MTK_E_CONFIG, file and crypto errors.  r is always filled. */
MTK_WUR mtk_rc mtk_track_run(const char *dir, const char *name, const mtk_track_env *env,
			     mtk_track_result *r, mtk_err *err);

/* The installed certificate's notBefore/notAfter/serial for status. */
MTK_WUR mtk_rc mtk_track_installed(const mtk_track_conf *c, const mtk_track_env *env,
				   time_t *nb, time_t *na, char *serial, size_t cap,
				   mtk_err *err);

#endif
