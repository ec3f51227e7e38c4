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

/* True when alg (a PKCS#5/PKCS#12 password-based encryption) needs OpenSSL's
 * legacy provider: RC2, RC4 or single DES. */
bool mtk_pbe_needs_legacy(const X509_ALGOR *alg);

/* The most key-derivation iterations a PFX/PKCS12 MAC or PBE may ask for:
 * Java's PKCS12 keystore refuses more, and real files use 2,048 (OpenSSL)
 * to 10,000 (Java, Windows).  A crafted count of 2^31 would otherwise keep
 * the process busy for minutes before any password could be checked. */
#define MTK_PBE_MAX_ITER 5000000L

/* True when the password-based encryption alg asks for more than
 * MTK_PBE_MAX_ITER iterations, or for a count that is not a number
 * (negative, huge); false when it has no count this can read. */
bool mtk_pbe_iter_excessive(const X509_ALGOR *alg);
/* The same for a PFX MAC's iterations (NULL: absent, which means 1). */
bool mtk_mac_iter_excessive(const ASN1_INTEGER *iter);
/* Sets err to MTK_E_TOO_LARGE (exit 3) saying that name's `what` (the MAC,
 * the private key...) asks for too many iterations; returns the code. */
mtk_rc mtk_pbe_iter_refused(mtk_err *err, const char *name, const char *what);

/*
 * The key-derivation work one PFX/PKCS12 file may ask for in all: its MAC,
 * every encrypted safe and every shrouded key, each at most
 * MTK_PBE_MAX_ITER.  Every PKCS#12 read path (the loader's load_p12, the
 * keystore's mtk_p12_decode) takes each derivation from one budget per
 * file before running it.  The budget grows with the file: one derivation
 * at the cap plus MTK_PBE_ITER_PER_BYTE iterations per byte.  A real store
 * spends far less per byte (a Java PKCS12 key entry, ~700 bytes for EC and
 * ~2,300 for RSA with its certificate, costs 10,000 iterations: 4-15 per
 * byte), so a store of thousands of keys opens; a small file with many bags
 * at the cap (7.5 KB with 20 of them took 25 s before) is refused after
 * about one derivation at the cap, whatever it asks for: the work an input
 * can cause stays proportional to its size, as for any other parser.
 */
#define MTK_PBE_FILE_BUDGET MTK_PBE_MAX_ITER
#define MTK_PBE_ITER_PER_BYTE 100

typedef struct mtk_pbe_budget {
	uint64_t left;	 /* iterations still allowed */
	bool exhausted;	 /* the last refusal was the file's total, not one count */
	uint64_t total;	 /* what the file was allowed, for the message */
} mtk_pbe_budget;

/* One derivation at the cap (a single encrypted key). */
#define MTK_PBE_BUDGET_INIT {(uint64_t)MTK_PBE_FILE_BUDGET, false, (uint64_t)MTK_PBE_FILE_BUDGET}
/* The budget of a PKCS#12 file of len bytes. */
mtk_pbe_budget mtk_pbe_budget_for(size_t len);

/* Takes the iterations alg asks for (1 when it has no count this can read)
 * from b.  False, taking nothing, when one count is excessive
 * (mtk_pbe_iter_excessive) or more than is left. */
bool mtk_pbe_budget_take(mtk_pbe_budget *b, const X509_ALGOR *alg);
/* The same for a MAC's iterations (NULL: absent, which means 1). */
bool mtk_pbe_budget_take_mac(mtk_pbe_budget *b, const ASN1_INTEGER *iter);
/* MTK_E_TOO_LARGE for the refusal b last made (what: "MAC", "private
 * key"...): over the file's total, or mtk_pbe_iter_refused. */
mtk_rc mtk_pbe_budget_refused(const mtk_pbe_budget *b, mtk_err *err, const char *name,
			      const char *what);

/* "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC" or the algorithm's short name,
 * and the KDF iteration count (0 when unknown) of a password-based
 * encryption algorithm. */
void mtk_pbe_describe(const X509_ALGOR *alg, char *out, size_t cap, long *iter);

/* True when data starts like DER (a SEQUENCE) whose header declares more
 * bytes than there are: a truncated certificate, key or PFX.  *declared
 * receives the total size the header announces. */
bool mtk_der_truncated(const uint8_t *data, size_t len, size_t *declared);

#endif
