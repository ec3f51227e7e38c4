/*
 * check.h - diagnosis: the rules of each target (MID Server bundle, outbound
 * "Java Key Store" record, sys_user_certificate upload, sys_ca_certificate
 * upload, trust-store record, server) applied to what was loaded, reported
 * as findings with stable ids (findings.h) and the fix as a command.
 */
#ifndef MTLSKIT_CHECK_H
#define MTLSKIT_CHECK_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "mtlskit/err.h"
#include "mtlskit/findings.h"
#include "mtlskit/load.h"

typedef enum {
	MTK_PROFILE_AUTO = 0,    /* every rule that applies to what the input holds */
	MTK_PROFILE_MID,         /* MID Server bundle / agent keystore */
	MTK_PROFILE_OUTBOUND,    /* ServiceNow "Java Key Store" certificate record */
	MTK_PROFILE_UPLOAD_USER, /* sys_user_certificate: the leaf only */
	MTK_PROFILE_UPLOAD_CA,   /* sys_ca_certificate: CA chain only */
	MTK_PROFILE_TRUST_STORE, /* "Trust Store Cert" record */
	MTK_PROFILE_SERVER,      /* a server's certificate, key and chain */
} mtk_profile;

const char *mtk_profile_name(mtk_profile p);
/* "mid", "outbound", ... ; MTK_E_INVALID_ARG for an unknown name. */
MTK_WUR mtk_rc mtk_profile_from_name(const char *name, mtk_profile *out);

typedef struct mtk_check_opts {
	mtk_profile profile;
	time_t now;                 /* the library never reads the clock */
	long within_days;           /* cert-expiring window (0 means the default, 30) */
	STACK_OF(X509) *trusted;    /* --ca: chain-untrusted unless the chain leads here; may be NULL */
	const char *trusted_name;   /* the --ca file, for messages */
	const mtk_container_info *container; /* format facts of the input (keystore-type); may be NULL */
	const char *expected_alias; /* keystore-alias: this alias must hold a key entry; may be NULL */
	/* Added with issue 6 (zero-initialised callers keep the old meaning). */
	const char *container_file; /* the file container describes, for messages; may be NULL */
	const char *fix_inputs;     /* the inputs as fix commands should name them, shell-quoted
	                               ("leaf.pem key.pem"); NULL: the sources of set */
} mtk_check_opts;

/* The default cert-expiring window. */
#define MTK_CHECK_WITHIN_DEFAULT 30L

/* Adds to fs every finding the profile's rules produce for set.  Returns an
 * error only when it cannot run (allocation failure); findings are not
 * errors.  The rules, per profile:
 *   keys   key-not-pkcs8, key-encrypted, key-mismatch, key-missing, key-in-upload
 *   chain  chain-incomplete, chain-order, chain-broken (bad signature, a gap,
 *          a loop, a certificate that belongs to no chain), chain-untrusted
 *   leaf   leaf-self-signed, leaf-no-client-auth, leaf-no-server-auth (server)
 *   every certificate  cert-expired, cert-not-yet-valid, cert-expiring,
 *          weak-crypto, subject-invalid, subject-servicenow-domain
 *   container  keystore-type, keystore-alias (when opts->container /
 *          opts->expected_alias are given)
 * PEM hygiene findings (pem-*) come from the loader (mtk_load_opts.findings).
 * When the set holds several keystore entries (objects with aliases), the
 * rules look at one key entry: opts->expected_alias, else the first key with
 * an alias, plus every object without an alias (a PFX's CA certificates).
 * set is borrowed; findings are appended to fs (their strings are copies).
 * Chain completeness is judged on set alone: opts->trusted is only the
 * reference for chain-untrusted. */
MTK_WUR mtk_rc mtk_check_set(const mtk_set *set, const mtk_check_opts *opts, mtk_findings *fs,
			     mtk_err *err);

/* keystore-type alone: whether a file of this container format suits the
 * profile (a PFX for a MID bundle or an outbound "Java Key Store" record, a
 * keystore for an upload...).  file names it in the finding.  mtk_check_set
 * calls it when opts->container is set. */
MTK_WUR mtk_rc mtk_check_container(const char *file, const mtk_container_info *info,
				   mtk_profile profile, mtk_findings *fs, mtk_err *err);

/* The loader rates PEM hygiene for the MID Server, whose parser is strict.
 * For other targets CRLF line ends and blank lines are read fine by OpenSSL,
 * Java and the instance: this lowers pem-crlf and pem-blank-lines in
 * fs->items[from..] to warnings for every profile but mid and auto. */
void mtk_check_pem_severity(mtk_findings *fs, size_t from, mtk_profile profile);

/* True when id can be produced by mtk_check_set for profile (the rule table);
 * documentation and tests use it. */
bool mtk_check_rule_applies(mtk_profile profile, mtk_finding_id id);

/* Appends word to out (after a space when out is not empty) as one shell
 * word, quoted when it needs to be: fix commands run as printed. */
void mtk_check_quote_append(char *out, size_t cap, const char *word);

#endif
