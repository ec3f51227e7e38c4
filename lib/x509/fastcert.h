/*
 * fastcert.h - the minimal X.509 walker behind `mtlskit expiry`.
 *
 * OpenSSL's d2i_X509 decodes everything (extensions, key, signature) and
 * costs 100+ microseconds per certificate; an expiry scan needs five fields.
 * mtk_fastcert_parse() walks the DER through the bounds-checked mtk_reader
 * only as far as tbsCertificate's subject, checking the outer shape
 * (Certificate = SEQUENCE { tbs SEQUENCE, algorithm SEQUENCE, BIT STRING }),
 * and borrows pointers to serial, issuer and subject.  Times are converted
 * to seconds since the epoch for the strict DER forms (UTCTime
 * YYMMDDHHMMSSZ, GeneralizedTime YYYYMMDDHHMMSSZ); any other form, and any
 * encoding the walker does not accept, is an error, so the caller falls
 * back to OpenSSL for the odd input.  tests/unit/test_fastcert.c checks the
 * walker against OpenSSL's parse.
 *
 * Ownership: an mtk_fastcert borrows the DER it was parsed from; it owns
 * nothing and is valid while those bytes are.
 */
#ifndef MTLSKIT_FASTCERT_H
#define MTLSKIT_FASTCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtlskit/err.h"

typedef struct mtk_fastcert {
	const uint8_t *serial; /* INTEGER contents (two's complement, minimal) */
	size_t serial_len;
	const uint8_t *issuer; /* the whole Name TLV (SEQUENCE OF RDN) */
	size_t issuer_len;
	const uint8_t *subject; /* the whole Name TLV */
	size_t subject_len;
	int64_t not_before; /* seconds since 1970-01-01T00:00:00Z */
	int64_t not_after;
	size_t der_len; /* bytes of the Certificate TLV (trailing bytes
			   after it are not part of it) */
} mtk_fastcert;

/* Walks one DER certificate at the start of der.  Bytes after the
 * Certificate TLV are allowed (TRUSTED CERTIFICATE carries auxiliary data
 * there); out->der_len tells where it ends.  Errors: MTK_E_DER (not the shape
 * of a certificate), MTK_E_TRUNCATED, MTK_E_UNSUPPORTED (a valid but
 * non-strict time form: use OpenSSL).  out is written only on success. */
MTK_WUR mtk_rc mtk_fastcert_parse(const uint8_t *der, size_t len, mtk_fastcert *out);

/* Serial as OpenSSL's BN_bn2hex prints it, lower case: two hex digits per
 * byte of the magnitude, "-" in front when negative, "0" for zero.  Fails
 * with MTK_E_TOO_LARGE when it does not fit in cap (with its NUL). */
MTK_WUR mtk_rc mtk_fastcert_serial_hex(const uint8_t *serial, size_t len, char *out, size_t cap);

/* Renders a Name TLV in RFC 2253 order and escaping, the way OpenSSL's
 * X509_NAME_print_ex(XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) prints it, for
 * the common attributes (CN, O, OU, L, ST, C, emailAddress, DC, serialNumber,
 * street, title, SN, GN, UID) held in ASCII string types.  Anything else
 * (other attributes, non-ASCII text, BMPString) gives MTK_E_UNSUPPORTED: the
 * caller renders that name with OpenSSL.  MTK_E_TOO_LARGE when out is too
 * small; MTK_E_DER when the bytes are not a Name. */
MTK_WUR mtk_rc mtk_fastcert_name(const uint8_t *name, size_t len, char *out, size_t cap);

/* Converts a DER UTCTime (tag 0x17) or GeneralizedTime (0x18) value in its
 * strict form to seconds since the epoch; MTK_E_UNSUPPORTED for other forms,
 * MTK_E_DER for impossible dates. */
MTK_WUR mtk_rc mtk_fastcert_time(uint8_t tag, const uint8_t *v, size_t len, int64_t *out);

#endif
