/*
 * csr.h - certificate requests: the subject and its validation, subject
 * alternative names, key usage and EKU by intended use, the PKCS#10 request
 * itself, the Windows `certreq` INF for the same request, and the renewal
 * request that carries an existing certificate's identity.
 *
 * Validation produces findings (findings.h), not errors: the request can
 * still be made with --force.  `subject-invalid` covers the country (ISO
 * 3166-1 alpha-2, officially assigned codes), empty and over-long fields
 * (RFC 5280 upper bounds), abbreviated state or locality (warning), a CN that
 * is not a host name; `subject-servicenow-domain` a CN or SAN on
 * service-now.com / servicenow.com.
 */
#ifndef MTLSKIT_CSR_H
#define MTLSKIT_CSR_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/findings.h"
#include "mtlskit/pass.h"

typedef enum {
	MTK_SUBJ_C,
	MTK_SUBJ_ST,
	MTK_SUBJ_L,
	MTK_SUBJ_O,
	MTK_SUBJ_OU,
	MTK_SUBJ_CN,
	MTK_SUBJ_EMAIL,
	MTK_SUBJ__COUNT
} mtk_subj_field;

typedef struct mtk_subj_entry {
	mtk_subj_field field;
	char *value; /* UTF-8, owned */
} mtk_subj_entry;

/* An ordered list of subject attributes (order kept in the request). */
typedef struct mtk_subject {
	mtk_subj_entry *items;
	size_t count;
	size_t cap;
} mtk_subject;

#define MTK_SUBJECT_INIT {NULL, 0, 0}

/* "CN", "O", "OU", "L", "ST", "C", "emailAddress". */
const char *mtk_subj_field_name(mtk_subj_field f);
/* RFC 5280 upper bound of the field, in characters. */
size_t mtk_subj_field_max(mtk_subj_field f);

/* Appends one attribute (value copied). */
MTK_WUR mtk_rc mtk_subject_add(mtk_subject *s, mtk_subj_field f, const char *value,
			       mtk_err *err);
/* The one subject parser: the OpenSSL one-line form "/CN=host/O=Example
 * Corp/C=US" (attributes in the order given) or the RFC 4514 / keytool
 * -dname form "CN=host, O=Example Corp, C=US" (most specific first, so
 * appended in reverse; spaces around names and values trimmed), and
 * appends its attributes.  A backslash escapes the next character ("\/",
 * "\,", "\\").  Attribute names: C, ST (S), L, O, OU, CN, emailAddress (E, email),
 * case-insensitive.  Errors: MTK_E_INVALID_ARG (empty, unknown
 * attribute, missing '=', NUL byte, a dangling backslash); s is unchanged
 * on error. */
MTK_WUR mtk_rc mtk_subject_parse(mtk_subject *s, const char *text, size_t len, mtk_err *err);
/* The attributes of name that are in mtk_subj_field (others skipped). */
MTK_WUR mtk_rc mtk_subject_from_name(mtk_subject *s, const X509_NAME *name, mtk_err *err);
/* Builds an X509_NAME (UTF8String values; PrintableString for C). *out is
 * owned by the caller. */
MTK_WUR mtk_rc mtk_subject_to_name(const mtk_subject *s, X509_NAME **out, mtk_err *err);
/* The first value of f, or NULL. Borrowed. */
const char *mtk_subject_get(const mtk_subject *s, mtk_subj_field f);
void mtk_subject_free(mtk_subject *s);

/* True when code is an officially assigned ISO 3166-1 alpha-2 code
 * (upper case, exactly two letters). */
bool mtk_country_code_valid(const char *code);
/* True for a DNS host name (letters, digits, hyphens; two labels or more;
 * "*." first label allowed when wildcard is set). */
bool mtk_fqdn_valid(const char *name, bool wildcard);
/* True when name is service-now.com / servicenow.com or below it. */
bool mtk_servicenow_domain(const char *name);

/* Subject alternative names as "DNS:host", "IP:10.0.0.1", "email:a@b",
 * "URI:https://...": a list of owned strings. */
typedef struct mtk_sans {
	char **items;
	size_t count;
	size_t cap;
} mtk_sans;

#define MTK_SANS_INIT {NULL, 0, 0}

/* Splits "DNS:a,IP:b" and appends each entry, the type normalised to DNS,
 * IP, email or URI (case-insensitive input; "dns", "ip", "EMAIL", "uri").
 * Errors: MTK_E_INVALID_ARG for an unknown type, an empty value or an IP
 * address that does not parse; sans unchanged on error. */
MTK_WUR mtk_rc mtk_sans_parse(mtk_sans *sans, const char *spec, mtk_err *err);
/* The DNS, IP, email and URI names of a certificate or request extension
 * (others, e.g. otherName, are skipped). */
MTK_WUR mtk_rc mtk_sans_from_names(mtk_sans *sans, const GENERAL_NAMES *gens, mtk_err *err);
void mtk_sans_free(mtk_sans *sans);

typedef enum {
	MTK_USAGE_NONE = 0,
	MTK_USAGE_CLIENT = 1,
	MTK_USAGE_SERVER = 2,
	MTK_USAGE_BOTH = 3,
} mtk_usage;

/* "client" / "server" / "both" -> usage; MTK_E_INVALID_ARG otherwise. */
MTK_WUR mtk_rc mtk_usage_parse(const char *s, mtk_usage *out, mtk_err *err);

/* Adds the findings for a request with this subject, SANs and usage to fs
 * (file names where they are reported).  Returns MTK_OK unless memory runs
 * out. */
MTK_WUR mtk_rc mtk_csr_validate(const mtk_subject *s, const mtk_sans *sans, mtk_usage usage,
				const char *file, mtk_findings *fs);

/* Builds and signs a request: subject name, the SAN extension (if any),
 * keyUsage (critical; digitalSignature, + keyEncipherment for RSA) and
 * extendedKeyUsage by usage (none for MTK_USAGE_NONE), signed with
 * mtk_key_sign_md(key).  *out owned by the caller. */
MTK_WUR mtk_rc mtk_csr_build(EVP_PKEY *key, const X509_NAME *name, const mtk_sans *sans,
			     mtk_usage usage, X509_REQ **out, mtk_err *err);

/* Builds the renewal request for cert, signed by key: the same subject,
 * and copies of its subjectAltName, keyUsage and extendedKeyUsage
 * extensions.  Does not check that key matches cert (mtk_key_matches_cert). */
MTK_WUR mtk_rc mtk_csr_renew(X509 *cert, EVP_PKEY *key, X509_REQ **out, mtk_err *err);

/* The Windows certreq INF for the same request: subject, a key of the same
 * algorithm and size (RSA 2048..4096, ECDSA P-256/P-384; MTK_E_UNSUPPORTED
 * for Ed25519, which certreq cannot make), key usage, EKU and SANs.
 * Appended to out, CRLF line endings (Notepad, certreq). */
MTK_WUR mtk_rc mtk_csr_inf(const mtk_subject *s, const mtk_sans *sans, mtk_usage usage,
			   EVP_PKEY *key, mtk_buf *out, mtk_err *err);

/* PEM of a request appended to out. */
MTK_WUR mtk_rc mtk_csr_pem(X509_REQ *req, mtk_buf *out, mtk_err *err);

/* Reads the first CSR in path (PEM or DER).  *out owned by the caller.
 * Errors: MTK_E_NOT_FOUND when the file holds no CSR, file/format errors. */
MTK_WUR mtk_rc mtk_csr_load(const char *path, X509_REQ **out, mtk_err *err);
/* Reads the first certificate in path (any format).  *out is a new
 * reference.  Errors: MTK_E_NOT_FOUND, file/format errors. */
MTK_WUR mtk_rc mtk_cert_load_first(const char *path, const mtk_secret *pass, X509 **out,
				   mtk_err *err);

#endif
