/*
 * probe.h - see a TLS server as its clients see it.
 *
 * mtk_probe_run() resolves the host, connects (directly or through an HTTP
 * CONNECT proxy), performs the TLS handshake with or without a client
 * certificate, and records what a client observes: protocol, cipher, ALPN,
 * the certificate chain exactly as sent, its verification against a trust
 * store, the host name match, OCSP stapling, whether the server asked for a
 * client certificate and which CA names it accepts, and the alert it sent
 * when it refused one.  With http_path it then sends one HTTP/1.1 request and
 * parses the response.
 *
 * Every stage runs on a non-blocking socket under two limits: the connect
 * timeout (per address) and one deadline for the whole operation, computed
 * once; every wait gets only what is left of it.  The library reads no clock
 * of its own: the caller passes a monotonic clock (required) and the current
 * time for certificate validity.
 *
 * OpenSSL writes to the socket with write(): the caller must ignore SIGPIPE
 * (the library does not change signal dispositions).
 *
 * Ownership: the result owns everything it points to; mtk_probe_result_free()
 * releases it.  Options only borrow.
 */
#ifndef MTLSKIT_PROBE_H
#define MTLSKIT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/hostport.h"

/* The stages of a probe, in order.  A failure names the stage it hit. */
typedef enum {
	MTK_STAGE_RESOLVE = 0,
	MTK_STAGE_CONNECT,
	MTK_STAGE_PROXY,
	MTK_STAGE_HANDSHAKE,
	MTK_STAGE_HTTP,
	MTK_STAGE_DONE,
} mtk_stage;

const char *mtk_stage_name(mtk_stage s); /* "resolve", "connect", ... */

/* What the server did about client certificates. */
typedef enum {
	MTK_CLIENT_AUTH_NONE = 0,  /* no CertificateRequest */
	MTK_CLIENT_AUTH_REQUESTED, /* requested; the handshake completed without one */
	MTK_CLIENT_AUTH_REQUIRED,  /* requested; refused when none was sent */
	MTK_CLIENT_AUTH_ACCEPTED,  /* our certificate was sent and accepted */
	MTK_CLIENT_AUTH_REJECTED,  /* our certificate was sent and refused */
} mtk_client_auth;

const char *mtk_client_auth_name(mtk_client_auth a); /* "none", "requested", ... */

/* ---- parsing of what the user types ---- */

/* host:port operands: mtk_hostport_parse (hostport.h). */

/* Parses "http://HOST:PORT" (port defaults to 8080 when absent, a trailing
 * "/" is allowed).  Userinfo and other schemes are refused: MTK_E_INVALID_ARG. */
MTK_WUR mtk_rc mtk_proxy_url_parse(const char *url, char *host, size_t host_cap, char *port,
				   size_t port_cap, mtk_err *err);

/* ---- HTTP/1.x responses (CONNECT replies and --http) ---- */

typedef struct mtk_http_header {
	char *name;
	char *value;
} mtk_http_header;

typedef struct mtk_http_response {
	int status;           /* 0 until the status line is read */
	int major, minor;     /* HTTP version */
	char reason[128];
	mtk_http_header *headers;
	size_t nheaders;
	mtk_buf body;         /* the first MTK_HTTP_BODY_KEEP bytes */
	size_t body_len;      /* all body bytes seen */
	bool headers_done;
	bool complete;        /* the whole message was read */
} mtk_http_response;

#define MTK_HTTP_MAX_HEADERS 100
#define MTK_HTTP_HEADER_BYTES (32u << 10) /* status line and headers */
#define MTK_HTTP_BODY_KEEP (16u << 10)

typedef struct mtk_http_reader mtk_http_reader;

/* A streaming response reader.  head: the request was HEAD, or a CONNECT
 * reply (no body follows).  headers_only: stop after the headers (CONNECT). */
mtk_http_reader *mtk_http_reader_new(bool head, bool headers_only);
/* Feeds bytes; *used tells how many were consumed (fewer than n only when the
 * message ended).  n == 0 means end of stream.  Errors: MTK_E_MALFORMED (not
 * HTTP, with the reason), MTK_E_TOO_LARGE (headers over the limit),
 * MTK_E_TRUNCATED (end of stream inside the message). */
MTK_WUR mtk_rc mtk_http_reader_feed(mtk_http_reader *r, const uint8_t *data, size_t n,
				    size_t *used, mtk_err *err);
/* The response read so far (borrowed from r). */
const mtk_http_response *mtk_http_reader_response(const mtk_http_reader *r);
/* Moves the response out (caller frees it with mtk_http_response_free). */
void mtk_http_reader_take(mtk_http_reader *r, mtk_http_response *out);
void mtk_http_reader_free(mtk_http_reader *r);

/* Value of the first header named name (case-insensitive), or NULL. */
const char *mtk_http_header_get(const mtk_http_response *r, const char *name);
void mtk_http_response_free(mtk_http_response *r);

/* ---- TLS interception ---- */

/* The TLS-inspection product whose CA naming matches text (any attribute
 * value of a name, or an RFC 2253 string), matched case-insensitively on
 * whole words; NULL when none.  The result is a static string. */
const char *mtk_intercept_match(const char *text);
/* Same over every attribute value of a name. */
const char *mtk_intercept_name(const X509_NAME *name);

/* ---- the probe ---- */

typedef struct mtk_probe_opts {
	const char *host;           /* name or address literal (no brackets) */
	const char *port;           /* "443" */
	const char *sni;            /* NULL: host when it is a name; "": send none */
	const char *verify_name;    /* host name checked on the leaf; NULL: sni, else host */
	const char *proxy_host;     /* HTTP CONNECT proxy; NULL: direct */
	const char *proxy_port;
	long connect_timeout_ms;    /* per connection attempt; <= 0: 10000 */
	long timeout_ms;            /* the whole probe; <= 0: 30000 */
	/* Monotonic milliseconds, required: the deadline is computed from it.
	 * NULL: mtk_probe_run fails with MTK_E_INVALID_ARG. */
	uint64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
	time_t now;                 /* for certificate validity during verification */
	const char *ca_file;        /* trust for the server chain; NULL: system store */
	/* Client identity (borrowed); cert and key both set, or neither. */
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;      /* sent after cert; may be NULL */
	const char *http_method;    /* "HEAD" or "GET"; with http_path */
	const char *http_path;      /* NULL: no HTTP request */
	/* The HTTP stage's own limit (within timeout_ms), so a server that
	 * never answers the request does not use up the whole probe after a
	 * good handshake; <= 0: 5000. */
	long http_timeout_ms;
	/* After a TLS 1.3 handshake in which a certificate was requested, how
	 * long to wait for the server's verdict (an alert, or a session ticket,
	 * or data) when no HTTP request follows; <= 0: 1500. */
	long verdict_wait_ms;
} mtk_probe_opts;

typedef struct mtk_probe_result {
	mtk_stage stage;            /* the stage reached (failed in, or DONE) */
	char address[64];           /* the address connected to ("[::1]:443") */
	char proxy_address[64];     /* the proxy's, when one was used */
	bool handshake_done;
	char protocol[16];          /* "TLSv1.3" */
	char cipher[64];
	char alpn[32];              /* "" when none was negotiated */
	long handshake_ms;          /* -1 without a clock */
	STACK_OF(X509) *chain;      /* owned: the server's certificates as sent, leaf first */
	bool verified;              /* the chain verifies against the trust store */
	long verify_code;           /* X509_V_* */
	char verify_error[128];
	int host_match;             /* 1 matches, 0 does not, -1 not checked */
	char host_checked[256];
	bool ocsp_stapled;
	char ocsp_status[32];       /* "successful", "unauthorized", ... ("" when not stapled) */
	char ocsp_cert_status[16];  /* "good", "revoked", "unknown", "" */
	bool cert_requested;        /* a CertificateRequest arrived */
	STACK_OF(X509_NAME) *ca_names; /* owned: the acceptable CA list (may be empty) */
	bool cert_sent;             /* we had a certificate to send when asked */
	mtk_client_auth client_auth;
	int alert_received;         /* AlertDescription the server sent; -1 none */
	char alert_text[64];        /* SSL_alert_desc_string_long */
	int alert_sent;             /* AlertDescription this client sent (it refused
				     * something the server sent); -1 none */
	char alert_sent_text[64];
	bool http_done;
	mtk_http_response http;
} mtk_probe_result;

/* Runs the probe.  On success r describes the server, including a refused
 * client certificate (client_auth REJECTED/REQUIRED with the alert: that
 * is an answer, not an error).  Errors name the stage in err->detail
 * ("resolve", "connect", "proxy CONNECT", "TLS handshake", "HTTP") and in
 * r->stage: MTK_E_DNS, MTK_E_CONNECT, MTK_E_TIMEOUT, MTK_E_PROXY, MTK_E_TLS,
 * MTK_E_HTTP, MTK_E_INVALID_ARG (no clock), MTK_E_NOMEM.  Text the peer
 * chose is escaped in err->detail but kept as sent in r (r->http).  r is filled as far as the probe got
 * in either case and must be freed. */
MTK_WUR mtk_rc mtk_probe_run(const mtk_probe_opts *o, mtk_probe_result *r, mtk_err *err);
void mtk_probe_result_free(mtk_probe_result *r);

/* A plain-language explanation of an alert the server sent, given whether a
 * client certificate was sent.  Static string; never NULL. */
const char *mtk_alert_explain(int alert, bool cert_sent);

#endif
