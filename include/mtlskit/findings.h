/*
 * findings.h - diagnostics with stable ids (DESIGN.md "Findings").
 *
 * A finding is not an error: the operation ran and noticed something.  Each
 * has a stable id (the contract scripts rely on), a severity, where it is
 * (file and line, or an alias / endpoint), a message a non-specialist can act
 * on, and the fix as a command.  Text and JSON output render the same list.
 */
#ifndef MTLSKIT_FINDINGS_H
#define MTLSKIT_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "mtlskit/err.h"

/* F(enum suffix, stable id) */
#define MTK_FINDING_LIST(F)                                                                    \
	F(KEY_NOT_PKCS8, "key-not-pkcs8")                                                          \
	F(KEY_ENCRYPTED, "key-encrypted")                                                          \
	F(KEY_MISMATCH, "key-mismatch")                                                            \
	F(KEY_MISSING, "key-missing")                                                              \
	F(KEY_IN_UPLOAD, "key-in-upload")                                                          \
	F(CHAIN_INCOMPLETE, "chain-incomplete")                                                    \
	F(CHAIN_ORDER, "chain-order")                                                              \
	F(CHAIN_BROKEN, "chain-broken")                                                            \
	F(CHAIN_UNTRUSTED, "chain-untrusted")                                                      \
	F(LEAF_SELF_SIGNED, "leaf-self-signed")                                                    \
	F(LEAF_NO_CLIENT_AUTH, "leaf-no-client-auth")                                              \
	F(CERT_EXPIRED, "cert-expired")                                                            \
	F(CERT_NOT_YET_VALID, "cert-not-yet-valid")                                                \
	F(CERT_EXPIRING, "cert-expiring")                                                          \
	F(PEM_CRLF, "pem-crlf")                                                                    \
	F(PEM_STRAY_BYTES, "pem-stray-bytes")                                                      \
	F(PEM_BLANK_LINES, "pem-blank-lines")                                                      \
	F(KEYSTORE_ALIAS, "keystore-alias")                                                        \
	F(KEYSTORE_TYPE, "keystore-type")                                                          \
	F(SUBJECT_INVALID, "subject-invalid")                                                      \
	F(SUBJECT_SERVICENOW_DOMAIN, "subject-servicenow-domain")                                  \
	F(WEAK_CRYPTO, "weak-crypto")                                                              \
	F(TLS_INTERCEPTED, "tls-intercepted")                                                      \
	F(INSTANCE_NOT_READY, "instance-not-ready")                                                \
	/* added by check (issue 6): appended so existing values do not move */                  \
	F(LEAF_NO_SERVER_AUTH, "leaf-no-server-auth")

typedef enum {
#define MTK_F_ENUM(name, id) MTK_F_##name,
	MTK_FINDING_LIST(MTK_F_ENUM)
#undef MTK_F_ENUM
	MTK_F__COUNT
} mtk_finding_id;

typedef enum {
	MTK_SEV_INFO = 0,
	MTK_SEV_WARNING = 1,
	MTK_SEV_ERROR = 2,
} mtk_severity;

typedef struct mtk_finding {
	mtk_finding_id id;
	mtk_severity severity;
	char *file;    /* may be NULL */
	long line;     /* 1-based; 0 when not applicable */
	char *where;   /* alias, block, endpoint; may be NULL */
	char *message; /* never NULL */
	char *fix;     /* a command that fixes it, runnable as printed; may be NULL */
	char *advice;  /* what to do when the remedy is outside the tool (your CA,
	                  the instance) or needs a file only the user has; may be NULL */
} mtk_finding;

typedef struct mtk_findings {
	mtk_finding *items;
	size_t count;
	size_t cap;
} mtk_findings;

#define MTK_FINDINGS_INIT {NULL, 0, 0}

const char *mtk_finding_name(mtk_finding_id id);
/* Looks a stable id up; returns MTK_F__COUNT when unknown. */
mtk_finding_id mtk_finding_from_name(const char *name);
const char *mtk_severity_name(mtk_severity s);

/* Adds a finding; strings are copied.  fix may be NULL. */
MTK_WUR mtk_rc mtk_findings_add(mtk_findings *fs, mtk_finding_id id, mtk_severity sev,
				const char *file, long line, const char *where, const char *fix,
				const char *fmt, ...) MTK_PRINTF(8, 9);
/* The same, with advice instead of (or beside) a command; either may be NULL. */
MTK_WUR mtk_rc mtk_findings_add_advice(mtk_findings *fs, mtk_finding_id id, mtk_severity sev,
				       const char *file, long line, const char *where,
				       const char *fix, const char *advice, const char *fmt, ...)
	MTK_PRINTF(9, 10);
/* Moves every finding of src to the end of dst; src is left empty. */
MTK_WUR mtk_rc mtk_findings_move(mtk_findings *dst, mtk_findings *src);
bool mtk_findings_has(const mtk_findings *fs, mtk_finding_id id);
size_t mtk_findings_count_at_least(const mtk_findings *fs, mtk_severity min);
void mtk_findings_free(mtk_findings *fs);

#endif
