/*
 * pkcs12.h - writing PFX / PKCS#12 files that the other side accepts.
 *
 * Reading is load.h's job (every flavour, legacy provider on demand).  This
 * module writes one private key with its certificate chain, plus optional
 * trusted-certificate entries, in one of three profiles:
 *
 *   MTK_P12_MODERN  PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for the key and
 *                   the certificate safe, HMAC-SHA256 MAC, 2048 iterations
 *                   (what `openssl pkcs12 -export` writes in OpenSSL 3).
 *   MTK_P12_LEGACY  pbeWithSHA1And3-KeyTripleDES-CBC for the key *and* the
 *                   certificates, SHA-1 MAC, 2048 iterations: what Windows
 *                   Server 2016, older macOS and many appliances import.
 *                   3DES rather than certutil's RC2-40 for the certificates
 *                   because RC2-40 is breakable in hours and needs OpenSSL's
 *                   legacy provider; every consumer of 3DES PFX reads it.
 *   MTK_P12_JAVA    exactly what Java 17 keytool writes (specs/java-
 *                   keystores.md §3): PBES2 PBKDF2-HMAC-SHA256 with 10000
 *                   iterations and 20-byte salts, AES-256-CBC, SHA-256 MAC
 *                   with 10000 iterations and a 20-byte salt, friendlyName =
 *                   lower-cased alias, localKeyID = "Time <ms>".
 *
 * Trusted certificates carry Java's trusted-usage attribute (OID
 * 2.16.840.1.113894.746875.1.1 = { anyExtendedKeyUsage }) so keytool lists
 * them as trustedCertEntry; it is never put on the key's own certificate.
 *
 * The library never reads the clock: now_ms comes in as an argument.
 */
#ifndef MTLSKIT_PKCS12_H
#define MTLSKIT_PKCS12_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/pass.h"

typedef enum {
	MTK_P12_MODERN = 0,
	MTK_P12_LEGACY,
	MTK_P12_JAVA,
} mtk_p12_compat;

/* "modern", "legacy", "java". */
const char *mtk_p12_compat_name(mtk_p12_compat c);
/* Parses one of those names; MTK_E_INVALID_ARG otherwise. */
MTK_WUR mtk_rc mtk_p12_compat_from_name(const char *name, mtk_p12_compat *out);

typedef struct mtk_p12_trusted {
	X509 *cert;	   /* borrowed */
	const char *alias; /* friendlyName (lower-cased for MTK_P12_JAVA); not NULL */
} mtk_p12_trusted;

typedef struct mtk_p12_spec {
	mtk_p12_compat compat;
	EVP_PKEY *key;		/* borrowed; may be NULL only when ntrusted > 0 */
	X509 *leaf;		/* borrowed; the certificate of key */
	STACK_OF(X509) * chain; /* borrowed; issuers of leaf, leaf-side first; may be NULL */
	const mtk_p12_trusted *trusted; /* borrowed array; may be NULL */
	size_t ntrusted;
	/* friendlyName of the key and its certificate.  NULL: none for modern
	 * and legacy (as openssl does), "mykey" (keytool's default) for java. */
	const char *alias;
	const mtk_secret *pass; /* the PFX password; required (may be empty) */
	int64_t now_ms;		/* java: localKeyID "Time <now_ms>" */
} mtk_p12_spec;

/*
 * Encodes the PFX described by spec into out (replacing its contents; pass
 * a secret buffer: it is wiped on free).  Errors: MTK_E_INVALID_ARG (no key
 * and no trusted certificate, key without its certificate, a key that does
 * not match leaf, a password Java cannot use in java mode), MTK_E_CRYPTO,
 * MTK_E_NOMEM.
 */
MTK_WUR mtk_rc mtk_p12_write(const mtk_p12_spec *spec, mtk_buf *out, mtk_err *err);

#endif
