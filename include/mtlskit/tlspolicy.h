/*
 * tlspolicy.h - the one place where mtlskit decides what TLS it speaks.
 *
 * Server profile (mtlskit-gateway): TLS 1.2 or later; on TLS 1.2 only
 * ECDHE key exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305) -- no
 * static RSA key exchange, no CBC, no DHE; TLS 1.3 suites as OpenSSL
 * ships them; no renegotiation; the server's cipher order.  The two cipher
 * settings may be overridden; every name in an override must be one
 * OpenSSL knows (OpenSSL itself skips unknown names silently, so a typo
 * in "!CBC" would leave CBC on).
 *
 * Client profile (probe, expiry): they diagnose servers, old ones too, so
 * TLS 1.0 and up with OpenSSL's default ciphers; verification is theirs.
 */
#ifndef MTLSKIT_TLSPOLICY_H
#define MTLSKIT_TLSPOLICY_H

#include <openssl/ssl.h>

#include "mtlskit/err.h"

/* The server's TLS 1.2 list: forward secrecy and AEAD only. */
#define MTK_TLS_SERVER_CIPHERS                                                                     \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

typedef struct mtk_tls_server_policy {
	int tls_min;		  /* 12 or 13 (0 = 12) */
	const char *ciphers;	  /* TLS 1.2 cipher list; NULL = MTK_TLS_SERVER_CIPHERS */
	const char *ciphersuites; /* TLS 1.3 suites; NULL = OpenSSL's default */
} mtk_tls_server_policy;

/* Applies the server profile to ctx.  A bad override is MTK_E_CONFIG naming
 * the setting ("tls_ciphers: 'AES128-SHAX' is not a cipher OpenSSL knows"). */
MTK_WUR mtk_rc mtk_tls_policy_server(SSL_CTX *ctx, const mtk_tls_server_policy *p, mtk_err *err);

/* Applies the client profile to ctx. */
MTK_WUR mtk_rc mtk_tls_policy_client(SSL_CTX *ctx, mtk_err *err);

#endif
