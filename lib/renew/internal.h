/* internal.h - what the files of lib/renew share.  Private to lib/renew. */
#ifndef MTK_RENEW_INTERNAL_H
#define MTK_RENEW_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/renew.h"

/* RFC 3339 UTC, or "-" for 0. */
/* mtk_time_parse (ca.h), for files that cannot include ca.h beside check.h. */
MTK_WUR mtk_rc trk_time_parse(const char *s, time_t *out);
void trk_time_str(time_t t, char *out, size_t cap);
MTK_WUR mtk_rc trk_state_save(const char *dir, const char *name, const mtk_track_state *s,
			      mtk_err *err);

/* Runs a program: argv split on blanks from cmd (or /bin/sh -c cmd with
 * shell), environment envp plus extra ("K=V", NULL-terminated; may be NULL),
 * stdin /dev/null, stdout captured into out (at most 1 MiB; may be NULL:
 * then discarded), stderr inherited.  Killed after timeout_s.  *status is
 * the exit status, or 128+signal.  Errors: MTK_E_INTERNAL (fork/pipe),
 * MTK_E_TIMEOUT. */
MTK_WUR mtk_rc trk_spawn(const char *cmd, bool shell, char *const *envp, char *const *extra,
			 long timeout_s, const mtk_track_env *env, int *status, mtk_buf *out,
			 mtk_err *err);

/* What an issuer answers. */
typedef enum { TRK_ISSUED, TRK_WAIT } trk_answer;

/* Issues csr through c's issuer.  TRK_ISSUED: *leaf and *cas (new
 * references; *cas may be empty) set.  TRK_WAIT: cookie holds what to poll
 * with.  cookie in: a pending request to poll ("" submits). */
MTK_WUR mtk_rc trk_issue(const mtk_track_conf *c, const mtk_track_env *env, X509_REQ *csr,
			 X509 *old, char *cookie, size_t cookie_cap, trk_answer *ans,
			 time_t *poll_after, X509 **leaf, STACK_OF(X509) **cas, mtk_err *err);

/* The acme issuer (acme.c): synchronous, polls up to a minute. */
MTK_WUR mtk_rc trk_acme_issue(const mtk_track_conf *c, const mtk_track_env *env, X509_REQ *csr,
			      X509 *old, X509 **leaf, STACK_OF(X509) **cas, mtk_err *err);

#endif
