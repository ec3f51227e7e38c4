/*
 * ca.h - a private CA kept in a directory (layout in docs/ca.md):
 *
 *   DIR/ca.conf          settings, "key = value" lines
 *   DIR/root.crt         the root certificate; DIR/root.key its key (0600)
 *   DIR/issuing.crt      the issuing intermediate, when there is one;
 *   DIR/issuing.key      its key (0600)
 *   DIR/index.txt        one line per issued certificate (status, serial,
 *                        expiry, revocation time and reason, profile, subject)
 *   DIR/certs/SERIAL.pem every issued certificate
 *   DIR/crlnumber        the last CRL number the signing CA issued (decimal)
 *   DIR/root.crlnumber   the root's, when an intermediate signs (absent in
 *                        directories made before: counts as 0)
 *   DIR/.lock            flock(2) target: sign, revoke and crl hold it
 *                        exclusively, so parallel runs never share a serial
 *                        or lose an index line
 *
 * The CA that signs leaves and CRLs is the intermediate when there is one,
 * otherwise the root.  Time comes in as an argument; the library never
 * reads the clock.
 */
#ifndef MTLSKIT_CA_H
#define MTLSKIT_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/pass.h"

/* --- the state files (also what fuzz_caindex exercises) --- */

typedef enum {
	MTK_REASON_UNSPECIFIED = 0,
	MTK_REASON_KEY_COMPROMISE = 1,
	MTK_REASON_CA_COMPROMISE = 2,
	MTK_REASON_AFFILIATION_CHANGED = 3,
	MTK_REASON_SUPERSEDED = 4,
	MTK_REASON_CESSATION = 5,
	MTK_REASON_HOLD = 6,
	MTK_REASON_PRIVILEGE_WITHDRAWN = 9,
} mtk_reason;

/* "keyCompromise" etc. (RFC 5280 names, case-insensitive) -> code. */
MTK_WUR mtk_rc mtk_reason_parse(const char *s, mtk_reason *out, mtk_err *err);
const char *mtk_reason_name(mtk_reason r);

typedef struct mtk_ca_entry {
	char status;         /* 'V' valid, 'R' revoked */
	char serial[68];     /* upper-case hex, no separators */
	time_t not_after;
	time_t revoked_at;   /* 0 when valid */
	mtk_reason reason;
	char profile[16];    /* "client", "server" */
	char *subject;       /* RFC 2253, owned */
	long line;           /* private: its line in the text it was parsed from */
} mtk_ca_entry;

typedef struct mtk_ca_index {
	mtk_ca_entry *items;
	size_t count;
	size_t cap;
	/* Private: a hash table of item positions + 1 (low 32 bits; 0: empty)
	 * and hash tags keyed on the serial's value, kept by the functions
	 * below; NULL means "scan". */
	uint64_t *slots;
	size_t nslots;
} mtk_ca_index;

#define MTK_CA_INDEX_INIT {NULL, 0, 0, NULL, 0}

/* Parses index.txt in one pass.  Lines are only ever appended: a serial's
 * revocation is a revoked entry line after its valid one, and the later
 * line is the entry's state (the entry keeps its place).  Bytes after the
 * last newline that are not a whole entry are an append that was
 * interrupted, and are not read.  Errors: MTK_E_CA_STATE naming the line
 * for anything that is not a well-formed entry (or a '#' comment / blank
 * line), and naming both lines for a serial written twice otherwise. */
MTK_WUR mtk_rc mtk_ca_index_parse(const uint8_t *data, size_t len, mtk_ca_index *out,
				  mtk_err *err);
/* The position in idx->items of the first entry (in file order) whose
 * serial has the value of serial (any form mtk_serial_normalize reads:
 * "0A", "a", "00:0a" all find "0A").  False when there is none or serial
 * is not a serial.  Constant time on average. */
bool mtk_ca_index_find(const mtk_ca_index *idx, const char *serial, size_t *at);
/* Appends the text form of idx to out (what mtk_ca_index_parse reads). */
MTK_WUR mtk_rc mtk_ca_index_format(const mtk_ca_index *idx, mtk_buf *out);
void mtk_ca_index_free(mtk_ca_index *idx);

typedef struct mtk_ca_conf {
	int version;
	char name[128];         /* root CA common name */
	char issuing[128];      /* intermediate CN; "" when the root signs */
	char key_type[24];
	char crl_url[512];      /* "" when none */
} mtk_ca_conf;

/* Parses ca.conf.  Errors: MTK_E_CA_STATE (unknown key, missing '=',
 * over-long value, no name). */
MTK_WUR mtk_rc mtk_ca_conf_parse(const uint8_t *data, size_t len, mtk_ca_conf *out, mtk_err *err);
MTK_WUR mtk_rc mtk_ca_conf_format(const mtk_ca_conf *conf, mtk_buf *out);

/* Parses "2024-01-01T00:00:00Z", "2024-01-01" (midnight UTC) or
 * "20240101000000Z" into seconds since the epoch.  Years 1950-9999.
 * Errors: MTK_E_INVALID_ARG. */
MTK_WUR mtk_rc mtk_time_parse(const char *s, time_t *out, mtk_err *err);

/* --- operations --- */

typedef struct mtk_ca_init_opts {
	const char *name;          /* root CN, required */
	const char *intermediate;  /* issuing CA CN, or NULL for root only */
	const char *key_type;      /* keygen.h names; NULL = "rsa:2048" */
	long days;                 /* root validity; 0 = 3650; intermediate: half */
	const char *crl_url;       /* CRL distribution point put in leaves; may be NULL */
	const mtk_secret *out_pass; /* encrypt the CA keys; may be NULL */
	time_t now;
} mtk_ca_init_opts;

/* Creates DIR (or uses an empty existing one) with a new root and optional
 * intermediate.  Errors: MTK_E_EXISTS when DIR already holds a CA or other
 * files, MTK_E_INVALID_ARG, MTK_E_CRYPTO, file errors. */
MTK_WUR mtk_rc mtk_ca_init(const char *dir, const mtk_ca_init_opts *opts, mtk_err *err);

typedef struct mtk_ca mtk_ca;

/* Which CA keys mtk_ca_open reads (flags; 0: none). */
#define MTK_CA_KEY_SIGNER 1u /* the signing CA's: sign, crl */
#define MTK_CA_KEY_ROOT 2u   /* the root's too, when an intermediate signs: a chain-scope CRL */

/* Opens DIR, takes its lock (exclusive, waits), reads its state and the
 * keys asked for in keys (MTK_CA_KEY_*; both encrypted with the same pass).
 * Errors: MTK_E_CA_STATE for a missing or half-initialised directory,
 * MTK_E_PASSWORD_NEEDED / MTK_E_BAD_PASSWORD for a key, MTK_E_LOCKED. */
MTK_WUR mtk_rc mtk_ca_open(const char *dir, const mtk_secret *pass, unsigned keys, mtk_ca **out,
			   mtk_err *err);
/* Releases the lock, wipes the key; NULL-safe. */
void mtk_ca_close(mtk_ca *ca);

/* The signing CA's certificate, and the chain above a leaf (signing CA
 * first, root last).  Borrowed from ca. */
X509 *mtk_ca_signer(const mtk_ca *ca);
STACK_OF(X509) *mtk_ca_chain(const mtk_ca *ca);
const mtk_ca_conf *mtk_ca_get_conf(const mtk_ca *ca);
/* Every entry of the index, each line read whole (mtk_ca_index_parse);
 * borrowed from ca.  Errors: MTK_E_CA_STATE, MTK_E_NOMEM. */
MTK_WUR mtk_rc mtk_ca_get_index(mtk_ca *ca, const mtk_ca_index **out, mtk_err *err);

typedef enum {
	MTK_PROFILE_CLIENT = 1,
	MTK_PROFILE_SERVER = 2,
} mtk_ca_profile;

MTK_WUR mtk_rc mtk_ca_profile_parse(const char *s, mtk_ca_profile *out, mtk_err *err);

typedef struct mtk_ca_sign_opts {
	mtk_ca_profile profile;
	time_t not_before;
	time_t not_after;
} mtk_ca_sign_opts;

/* Verifies csr's signature (MTK_E_CSR_SIGNATURE), refuses a request for a
 * CA certificate and a server request without a SAN (MTK_E_CSR_POLICY),
 * issues a certificate with a fresh 128-bit random serial, records it in
 * the index and certs/, and returns it in *out (owned by the caller). */
MTK_WUR mtk_rc mtk_ca_sign(mtk_ca *ca, X509_REQ *csr, const mtk_ca_sign_opts *opts, X509 **out,
			   mtk_err *err);

/* Normalises a serial ("0A:1b:..", "0x0a1b", "a1b", keytool's form without
 * leading zeros) to the form openssl prints and the index keeps: upper-case
 * hex, no separators, whole bytes ("A1B" -> "0A1B").  MTK_E_INVALID_ARG if
 * not hex or longer than cap allows. */
MTK_WUR mtk_rc mtk_serial_normalize(const char *in, char *out, size_t cap, mtk_err *err);

/* Marks serial revoked at now for reason.  Errors: MTK_E_NOT_FOUND (not
 * issued by this CA), MTK_E_INVALID_ARG (already revoked). */
MTK_WUR mtk_rc mtk_ca_revoke(mtk_ca *ca, const char *serial, mtk_reason reason, time_t now,
			     mtk_err *err);

/* Issues the signing CA's next CRL (every revoked index entry, CRL number
 * from DIR/crlnumber, AKI), valid from now for days.  Needs
 * MTK_CA_KEY_SIGNER.  *out owned by the caller.  Errors: MTK_E_INVALID_ARG
 * (days not 1-3650), MTK_E_INTERNAL (no key), MTK_E_CA_STATE (crlnumber). */
MTK_WUR mtk_rc mtk_ca_crl(mtk_ca *ca, time_t now, long days, X509_CRL **out, mtk_err *err);

typedef enum {
	/* A CRL for every CA of the chain: what a relying party that checks
	 * the whole chain (OpenSSL's CRL_CHECK_ALL, the gateway) needs. */
	MTK_CRL_SCOPE_CHAIN = 0,
	/* Only the signing CA's CRL (the leaves). */
	MTK_CRL_SCOPE_LEAF = 1,
} mtk_ca_crl_scope;

/* One CRL as issued: its DER, its CRL number, the entries it lists. */
typedef struct mtk_ca_crl_der {
	mtk_buf der;
	long long number;
	size_t revoked;
} mtk_ca_crl_der;

/* The CRLs of scope, each with its own CRL number, in out[0..*n): the
 * signing CA's first (as mtk_ca_crl), then, for MTK_CRL_SCOPE_CHAIN with an
 * intermediate, the root's (numbered from DIR/root.crlnumber; it lists no
 * entries, since the index records only what the signing CA issued).  A
 * root-only CA gives one CRL either way.  Chain scope with an intermediate
 * needs MTK_CA_KEY_ROOT too, checked before any counter moves.  Given as DER
 * (what is written out, never decoded on the way); free each out[i].der.
 * Errors: as mtk_ca_crl. */
MTK_WUR mtk_rc mtk_ca_crls(mtk_ca *ca, mtk_ca_crl_scope scope, time_t now, long days,
			   mtk_ca_crl_der out[2], size_t *n, mtk_err *err);

#endif
