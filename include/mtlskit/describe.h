/*
 * describe.h - the details `inspect` shows that cert.h does not compute:
 * certificate and CSR extensions (SANs, key usage, extended key usage, basic
 * constraints, key identifiers), CSR attributes and signature, CRL entries,
 * key facts, and what a PKCS#12 file says about itself before any password
 * is given (MAC, iterations, how each part is encrypted).
 *
 * Every string these functions produce is printable: control characters and
 * bytes that are not valid UTF-8 are written as \xNN, so the strings are
 * safe on a terminal and valid in JSON whatever the certificate holds.
 *
 * Ownership: every *_desc owns what it points to; release it with its
 * *_free function (NULL-safe, idempotent).  Inputs are borrowed.
 */
#ifndef MTLSKIT_DESCRIBE_H
#define MTLSKIT_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mtlskit/err.h"

/* A list of owned strings. */
typedef struct mtk_strlist {
	char **v;
	size_t n;
} mtk_strlist;

MTK_WUR mtk_rc mtk_strlist_add(mtk_strlist *l, const char *s);
void mtk_strlist_free(mtk_strlist *l);

/* Copies s into out (cap >= 1) with control characters (C0 and C1), DEL and
 * invalid UTF-8 escaped as \xNN; truncates at a character boundary.  Text a
 * file or a peer chose goes through this before it reaches a terminal.
 * Returns out. */
char *mtk_str_printable(const char *s, size_t len, char *out, size_t cap);

/* The extensions both certificates and CSRs carry. */
typedef struct mtk_ext_desc {
	mtk_strlist san;       /* "DNS:a.example.com", "IP:10.0.0.1", "email:x@y", "URI:...",
	                          "UPN:user@corp", "DirName:CN=...", "otherName:1.2.3", "RID:1.2.3" */
	bool san_critical;
	bool has_key_usage;
	mtk_strlist key_usage; /* RFC 5280 names: "digitalSignature", "keyEncipherment", ... */
	bool key_usage_critical;
	bool has_eku;
	mtk_strlist eku;       /* "clientAuth", "serverAuth", ... or a dotted OID */
	bool eku_critical;
	bool has_basic_constraints;
	bool ca;
	long path_len;         /* -1 when absent */
	bool basic_constraints_critical;
	char ski[100];         /* "AB:CD:..."; "" when absent */
	char aki[100];         /* keyIdentifier of the AKI; "" when absent */
	mtk_strlist malformed; /* names of extensions that are present but do not decode */
	size_t count;          /* extensions in total */
} mtk_ext_desc;

/* Describes a list of extensions (borrowed; may be NULL = none).  Fails
 * only on allocation failure: an extension that does not decode is listed
 * in out->malformed. */
MTK_WUR mtk_rc mtk_ext_describe(const STACK_OF(X509_EXTENSION) *exts, mtk_ext_desc *out,
				mtk_err *err);
void mtk_ext_desc_free(mtk_ext_desc *d);

/* A key's facts: type ("RSA", "EC", "Ed25519", ...), size in bits, curve
 * ("P-256"; "" for non-EC), and weak (RSA or DSA under 2048 bits). */
typedef struct mtk_key_facts {
	char type[16];
	int bits;
	char curve[32];
	bool weak;
} mtk_key_facts;

void mtk_key_facts_get(EVP_PKEY *key, mtk_key_facts *out);

/* True for signatures made with MD2/MD4/MD5/SHA-1. */
bool mtk_sig_nid_weak(int sig_nid);

typedef struct mtk_csr_desc {
	char subject[512];
	int version;            /* 1 for the only defined version (0 on the wire) */
	mtk_key_facts key;
	bool has_key;
	char sig_alg[64];
	bool sig_weak;
	bool sig_valid;         /* the CSR's self-signature verifies with its key */
	mtk_ext_desc ext;       /* requested extensions */
	mtk_strlist attributes; /* "challengePassword (present)", "unstructuredName: x", or OID names */
} mtk_csr_desc;

MTK_WUR mtk_rc mtk_csr_describe(X509_REQ *req, mtk_csr_desc *out, mtk_err *err);
void mtk_csr_desc_free(mtk_csr_desc *d);

typedef struct mtk_crl_entry {
	char serial[128];  /* lower-case hex, as cert.h */
	time_t date;
	char reason[32];   /* "keyCompromise", ...; "" when absent */
} mtk_crl_entry;

typedef struct mtk_crl_desc {
	char issuer[512];
	int version;
	time_t this_update;
	bool has_next_update;
	time_t next_update;
	char sig_alg[64];
	bool sig_weak;
	char crl_number[80]; /* decimal; "" when absent */
	char aki[100];
	size_t revoked_count;
	mtk_crl_entry *revoked; /* revoked_count entries, in CRL order */
} mtk_crl_desc;

MTK_WUR mtk_rc mtk_crl_describe(X509_CRL *crl, mtk_crl_desc *out, mtk_err *err);
void mtk_crl_desc_free(mtk_crl_desc *d);

/* What a PKCS#12 file says about itself without its password: the MAC, and
 * how each part is protected.  Algorithm names are OpenSSL's short names
 * ("PBE-SHA1-RC2-40", "PBE-SHA1-3DES"), PBES2 as
 * "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC". */
typedef struct mtk_p12_desc {
	bool has_mac;
	char mac_alg[32];      /* "sha1", "sha256" (as `openssl pkcs12 -info` prints) */
	long mac_iter;
	int mac_salt_len;
	size_t safes;          /* authenticated safes */
	size_t encrypted_safes;
	char cert_enc[128];    /* first encrypted safe's algorithm; "none" */
	long cert_iter;        /* its KDF iterations; 0 when unknown */
	char key_enc[128];     /* first shrouded key bag's algorithm in a plain safe; "none"
	                          (a key inside an encrypted safe is not visible without the
	                          password) */
	long key_iter;
	size_t plain_keys;     /* key bags visible without the password */
	size_t plain_certs;    /* certificate bags visible without the password */
	bool legacy;           /* an algorithm that needs OpenSSL's legacy provider */
} mtk_p12_desc;

/* Parses data as PKCS#12 (only the parts that need no password).  Errors:
 * MTK_E_PKCS12 when it does not decode. */
MTK_WUR mtk_rc mtk_p12_describe(const uint8_t *data, size_t len, mtk_p12_desc *out, mtk_err *err);


/* True when data starts like DER (a SEQUENCE) whose header declares more
 * bytes than there are: a truncated certificate, key or PFX.  *declared
 * receives the total size the header announces. */
bool mtk_der_truncated(const uint8_t *data, size_t len, size_t *declared);

#endif
