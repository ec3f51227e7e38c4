/*
 * cert.h - facts about one certificate, computed once, for every verb that
 * describes certificates (inspect, keystore list, check, probe, expiry).
 */
#ifndef MTLSKIT_CERT_H
#define MTLSKIT_CERT_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "mtlskit/key.h"
#include "mtlskit/err.h"

typedef struct mtk_cert_summary {
	char subject[512];     /* RFC 2253, e.g. "CN=mid01.example.com,O=Example" */
	char issuer[512];
	char serial[128];      /* lower-case hex, no separators (keytool prints it so) */
	time_t not_before;
	time_t not_after;
	char sha1[64];         /* upper-case hex with colons, as openssl/keytool print */
	char sha256[100];
	char key_type[16];     /* "RSA", "EC", "Ed25519", "Ed448", "DSA", ... */
	int key_bits;
	char curve[32];        /* "P-256" for EC; "" otherwise */
	char sig_alg[64];      /* OpenSSL long name, e.g. "sha256WithRSAEncryption" */
	bool sig_weak;         /* MD5 / SHA-1 signature */
	bool self_issued;      /* subject == issuer */
	bool self_signed;      /* self-issued and its signature verifies with its own key */
	bool is_ca;            /* basicConstraints CA:TRUE */
	long path_len;         /* -1 when absent */
	bool client_auth;      /* EKU clientAuth present (or no EKU at all: see has_eku) */
	bool server_auth;
	bool has_eku;
	int version;           /* 1..3 */
} mtk_cert_summary;

/* Fills out from cert (borrowed). */
MTK_WUR mtk_rc mtk_cert_summarize(X509 *cert, mtk_cert_summary *out, mtk_err *err);

/* Converts an ASN1_TIME to seconds since the epoch (UTC). */
MTK_WUR mtk_rc mtk_asn1_time_to_time(const ASN1_TIME *t, time_t *out);

/* Whole days from now to t, rounded toward negative infinity (-1 = expired
 * yesterday, 0 = expires within 24 hours). */
long mtk_days_left(time_t t, time_t now);

/* "AA:BB:..." of the DER with md into out (cap >= 3 * digest size). */
MTK_WUR mtk_rc mtk_cert_fingerprint(X509 *cert, const EVP_MD *md, char *out, size_t cap);
/* A digest as upper-case hex pairs with colons (what mtk_cert_fingerprint
 * prints), e.g. from mtk_ks_entry_sha256.  cap >= 3 * n. */
MTK_WUR mtk_rc mtk_fingerprint_hex(const unsigned char *dg, size_t n, char *out, size_t cap);

/* RFC 2253 one-line form of a name into out. */
void mtk_name_string(const X509_NAME *name, char *out, size_t cap);

/* Describes a key: "RSA 2048", "EC P-256", "Ed25519" into out. */
void mtk_key_describe(EVP_PKEY *key, char *out, size_t cap);

#endif
