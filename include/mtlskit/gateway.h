/*
 * gateway.h - the pure pieces of mtlskit-gateway: its configuration file,
 * the certificate-to-user map, and the PROXY protocol v2 header.
 *
 * Everything here works on bytes handed in by the caller: the library reads
 * no file, no environment and no clock.  The gateway binary (gateway/) reads
 * the files and owns the event loop.
 *
 * Ownership: every struct filled here owns its strings; the matching _free
 * releases them and is NULL-safe.  Pointers returned by lookups borrow from
 * the map and live as long as it does.
 */
#ifndef MTLSKIT_GATEWAY_H
#define MTLSKIT_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"

/* ---------------------------------------------------------------------
 * Configuration: "key value" lines, '#' comments, blank lines ignored.
 * The same keys are accepted as command-line flags (--key value); keys
 * may be written with '-' or '_'.  docs/gateway.md lists them.
 * ------------------------------------------------------------------- */

typedef enum { MTK_GW_MODE_HTTP = 0, MTK_GW_MODE_TCP = 1 } mtk_gw_mode;

typedef struct mtk_strlist {
	char **v;
	size_t n;
} mtk_strlist;

typedef struct mtk_gwconfig {
	char *listen;           /* "127.0.0.1:8443" or "[::1]:8443" */
	char *admin_listen;     /* NULL: no admin listener */
	mtk_gw_mode mode;
	mtk_strlist certs;      /* server chain files (leaf first), one per key */
	mtk_strlist keys;       /* matching private keys (PEM, DER, PKCS#8, PFX) */
	mtk_strlist key_passes; /* key_pass: none, one for every key, or one per key */
	mtk_strlist cas;        /* trusted client CA chain files, one or more */
	mtk_strlist crls;       /* CRL files; when any is given, every certificate is checked */
	mtk_strlist backends;   /* "host:port", numeric addresses */
	char *usermap;          /* user map file */
	char *require_role;     /* NULL: any mapped user passes */
	bool require_client_auth_eku;
	bool session_tickets;
	long session_cache;     /* server-side session cache entries; 0 = off */
	long verify_cache;      /* verified client chains remembered; 0 = off */
	int tls_min;            /* 12 or 13 */
	char *tls_ciphers;      /* TLS 1.2 cipher list; NULL = tlspolicy.h's */
	char *tls_ciphersuites; /* TLS 1.3 suites; NULL = OpenSSL's */
	long workers;           /* 0: one per online CPU */
	long max_connections;
	long handshake_timeout_ms;
	long header_timeout_ms;
	long idle_timeout_ms;
	long backend_timeout_ms;
	long drain_timeout_ms;
	long max_header_size;   /* bytes of the request head */
	long max_headers;       /* header lines in a request */
	long max_body;          /* bytes of a request body (buffered for retries) */
	long max_buffer;        /* bytes queued per connection and direction before reading stops */
	long max_connections_per_ip; /* open connections per client address; 0 = no limit */
	bool forwarded_headers; /* X-Forwarded-For/-Proto set (replacing the client's) */
	char *user;             /* drop to this user after binding (when root) */
	char *access_log;       /* "-" = standard error, "off" = none */
	char *ready_file;       /* written once listening */
} mtk_gwconfig;

/* Fills cfg with the defaults (documented in docs/gateway.md). */
void mtk_gwconfig_init(mtk_gwconfig *cfg);
void mtk_gwconfig_free(mtk_gwconfig *cfg);
/* Applies one setting.  List keys (cert, key, ca, crl, backend) append.
 * Errors: MTK_E_CONFIG naming the key (unknown key, bad value). */
MTK_WUR mtk_rc mtk_gwconfig_set(mtk_gwconfig *cfg, const char *key, const char *value,
				mtk_err *err);
/* Parses a configuration file's bytes into cfg (on top of what it holds).
 * name is used in messages ("gw.conf:12: ...").  On error cfg may hold the
 * settings before the bad line; callers discard it. */
MTK_WUR mtk_rc mtk_gwconfig_parse(mtk_gwconfig *cfg, const char *name, const uint8_t *data,
				  size_t len, mtk_err *err);
/* Checks that the settings form a runnable gateway (listen, cert/key pairs,
 * key_pass count and form, at least one CA and backend, ...).  MTK_E_CONFIG
 * with the reason. */
MTK_WUR mtk_rc mtk_gwconfig_check(const mtk_gwconfig *cfg, mtk_err *err);

/* Parses "16k", "1m", "4096" into bytes. */
MTK_WUR mtk_rc mtk_parse_size(const char *s, long *out);
/* "ADDRESS:PORT" / "[v6]:PORT" (split by hostport.h's mtk_hostport_split;
 * port 0 and an empty or "*" address, meaning 0.0.0.0, allowed) as a
 * numeric socket address.  MTK_E_CONFIG when it is not a numeric address
 * with a port; a bare IPv6 address takes brackets to carry a port. */
MTK_WUR mtk_rc mtk_parse_sockaddr(const char *s, struct sockaddr_storage *ss, socklen_t *len,
				  mtk_err *err);

/* ---------------------------------------------------------------------
 * User map: one line per certificate,
 *     USER  ROLES  MATCH
 * USER is a token, ROLES a comma-separated list or "-", MATCH either
 * "sha256:HEX" (64 hex digits, colons allowed) or "subject:DN" where DN is
 * the rest of the line in RFC 2253 form (openssl -nameopt RFC2253).
 * Several lines may name the same user; one certificate maps to one user.
 * ------------------------------------------------------------------- */

typedef struct mtk_usermap_entry {
	char *user;
	char *roles;        /* "a,b" ("" when none) */
	bool by_subject;
	uint8_t sha256[32]; /* when !by_subject */
	char *subject;      /* when by_subject */
	long line;
} mtk_usermap_entry;

typedef struct mtk_usermap mtk_usermap;

#define MTK_USERMAP_MAX_ENTRIES 1000000

/* Parses the map; *out is new and owned by the caller (mtk_usermap_free).
 * Errors: MTK_E_MALFORMED ("name:LINE: ..."), MTK_E_TOO_LARGE, MTK_E_NOMEM.
 * The same certificate (fingerprint or subject) twice is MTK_E_MALFORMED. */
MTK_WUR mtk_rc mtk_usermap_parse(const char *name, const uint8_t *data, size_t len,
				 mtk_usermap **out, mtk_err *err);
void mtk_usermap_free(mtk_usermap *m);
size_t mtk_usermap_count(const mtk_usermap *m);
/* Entry i (0 <= i < count) in file order; borrowed. */
const mtk_usermap_entry *mtk_usermap_get(const mtk_usermap *m, size_t i);
/* Finds the entry for a certificate: by fingerprint first, then by subject
 * (may be NULL).  Returns NULL when unmapped; *index (may be NULL) gets
 * the entry's position for mtk_usermap_get. */
const mtk_usermap_entry *mtk_usermap_lookup(const mtk_usermap *m, const uint8_t sha256[32],
					    const char *subject, size_t *index);
/* True when role is one of e's comma-separated roles. */
bool mtk_usermap_has_role(const mtk_usermap_entry *e, const char *role);

/* The identity decision, for a client whose chain has already verified:
 * a CA certificate is never an identity; then the map (fingerprint first,
 * then subject); then the required role, when one is set.  Pure: the
 * caller logs and counts. */
typedef enum {
	MTK_GW_ALLOW = 0,
	MTK_GW_DENY_CA,       /* basicConstraints CA:TRUE (or a v1 self-signed root) */
	MTK_GW_DENY_UNMAPPED, /* in no map line */
	MTK_GW_DENY_ROLE,     /* mapped, without the required role */
} mtk_gw_verdict_kind;

typedef struct mtk_gw_verdict {
	mtk_gw_verdict_kind verdict;
	const mtk_usermap_entry *entry; /* the map line, when one matched */
	size_t index;                   /* its index, for per-entry state */
} mtk_gw_verdict;

mtk_gw_verdict mtk_gw_identify(const mtk_usermap *map, const uint8_t sha256[32],
			       const char *subject, bool is_ca, const char *require_role);

/* ---------------------------------------------------------------------
 * PROXY protocol v2 (haproxy's proxy-protocol.txt, section 2.2).
 * The gateway sends PROXY/TCP with the client and listener addresses and
 * these TLVs: PP2_TYPE_SSL (client flags, verify result, and sub-TLVs
 * VERSION, CN, CIPHER, SIG_ALG, KEY_ALG), and custom TLVs in the range
 * reserved for private use:
 *     0xE0  MTK_PP2_TYPE_SHA256  32 raw bytes, SHA-256 of the client cert DER
 *     0xE1  MTK_PP2_TYPE_USER    mapped user (UTF-8)
 *     0xE2  MTK_PP2_TYPE_ROLES   comma-separated roles
 *     0xE3  MTK_PP2_TYPE_SUBJECT client certificate subject, RFC 2253
 * ------------------------------------------------------------------- */

enum {
	MTK_PP2_TYPE_SSL = 0x20,
	MTK_PP2_SUBTYPE_SSL_VERSION = 0x21,
	MTK_PP2_SUBTYPE_SSL_CN = 0x22,
	MTK_PP2_SUBTYPE_SSL_CIPHER = 0x23,
	MTK_PP2_SUBTYPE_SSL_SIG_ALG = 0x24,
	MTK_PP2_SUBTYPE_SSL_KEY_ALG = 0x25,
	MTK_PP2_CLIENT_SSL = 0x01,
	MTK_PP2_CLIENT_CERT_CONN = 0x02,
	MTK_PP2_CLIENT_CERT_SESS = 0x04,
	MTK_PP2_TYPE_SHA256 = 0xE0,
	MTK_PP2_TYPE_USER = 0xE1,
	MTK_PP2_TYPE_ROLES = 0xE2,
	MTK_PP2_TYPE_SUBJECT = 0xE3,
};

/* What a header carries.  For encoding, strings are borrowed (NULL =
 * omitted); after mtk_pp2_decode they are owned (mtk_pp2_info_free). */
typedef struct mtk_pp2_info {
	bool local;                   /* LOCAL command: no addresses */
	struct sockaddr_storage src;  /* AF_INET or AF_INET6; AF_UNSPEC = unknown */
	struct sockaddr_storage dst;
	bool ssl;                     /* emit/saw PP2_TYPE_SSL */
	uint8_t client_flags;
	uint32_t verify;              /* 0 = client certificate verified */
	char *version, *cn, *cipher, *sig_alg, *key_alg;
	bool has_sha256;
	uint8_t sha256[32];
	char *user, *roles, *subject;
} mtk_pp2_info;

/* Appends a complete header for info to out.  MTK_E_INVALID_ARG when src and
 * dst families differ or a value is longer than a TLV can hold. */
MTK_WUR mtk_rc mtk_pp2_encode(const mtk_pp2_info *info, mtk_buf *out, mtk_err *err);
/* Parses a header at the start of data.  *consumed gets its length.  Unknown
 * TLVs are skipped.  Errors: MTK_E_TRUNCATED (need more bytes),
 * MTK_E_MALFORMED (not a valid v2 header).  out is filled only on success. */
MTK_WUR mtk_rc mtk_pp2_decode(const uint8_t *data, size_t len, mtk_pp2_info *out,
			      size_t *consumed, mtk_err *err);
void mtk_pp2_info_free(mtk_pp2_info *info);

#endif
