/*
 * detect.c - what is this file?  Decided from the bytes, never the name.
 *
 * Binary inputs are told apart by their DER shape, walked through the
 * bounds-checked reader: a PKCS#12 PFX is SEQUENCE { INTEGER 3, SEQUENCE {
 * OID pkcs7-data ...}}, a certificate / CRL / CSR is SEQUENCE { SEQUENCE
 * (to-be-signed), SEQUENCE (algorithm), BIT STRING } and the to-be-signed
 * part's first fields tell them apart; keys start with SEQUENCE { INTEGER
 * version ...}.
 */
#include <string.h>

#include "mtlskit/buf.h"
#include "mtlskit/detect.h"
#include "mtlskit/pem.h"
#include "formats/der.h"

const char *mtk_format_name(mtk_format f)
{
	switch (f) {
	case MTK_FMT_PEM:
		return "pem";
	case MTK_FMT_DER_CERT:
		return "der-certificate";
	case MTK_FMT_DER_CSR:
		return "der-csr";
	case MTK_FMT_DER_CRL:
		return "der-crl";
	case MTK_FMT_DER_PKCS7:
		return "pkcs7";
	case MTK_FMT_DER_KEY:
		return "der-key";
	case MTK_FMT_PKCS12:
		return "pkcs12";
	case MTK_FMT_JKS:
		return "jks";
	case MTK_FMT_JCEKS:
		return "jceks";
	default:
		return "unknown";
	}
}

static bool der_skip(mtk_reader *r, uint8_t *tag)
{
	size_t len;

	return mtk_der_header(r, tag, &len) && mtk_reader_skip(r, len) == MTK_OK;
}

static const uint8_t OID_PKCS7_DATA[] = {MTK_OID_P7_DATA};
static const uint8_t OID_PKCS7_SIGNED[] = {MTK_OID_P7_SIGNED};

/* The next TLV is the OID oid. */
static bool oid_is(mtk_reader *r, const uint8_t *oid, size_t n)
{
	mtk_reader v;

	return mtk_der_enter(r, 0x06, &v) && mtk_der_value_is(&v, oid, n);
}

static mtk_format detect_der(const uint8_t *data, size_t len)
{
	mtk_reader top, outer, tbs, probe;
	uint8_t tag, t2;

	mtk_reader_init(&top, data, len);
	if (!mtk_der_enter(&top, 0x30, &outer)) {
		/* A truncated PFX still starts SEQUENCE { INTEGER 3, SEQUENCE
		 * { OID pkcs7-data: say "damaged PFX", not "unknown". */
		static const uint8_t p12_head[] = {0x02, 0x01, 0x03, 0x30};
		size_t hl = (len > 1 && data[1] > 0x80) ? 2 + (size_t)(data[1] & 0x7f) : 2;
		if (len >= hl + sizeof(p12_head) &&
		    memcmp(data + hl, p12_head, sizeof(p12_head)) == 0)
			return MTK_FMT_PKCS12;
		return MTK_FMT_UNKNOWN;
	}
	probe = outer;
	if (!mtk_der_header(&probe, &tag, &(size_t){0}))
		return MTK_FMT_UNKNOWN;
	if (tag == 0x02) {
		/* INTEGER first: PFX (version 3), PKCS#8 / PKCS#1 / SEC1 key. */
		mtk_reader v = outer;
		mtk_reader ival;
		uint8_t ver = 0xff;

		if (!mtk_der_enter(&v, 0x02, &ival) || mtk_reader_left(&ival) != 1 ||
		    mtk_reader_u8(&ival, &ver) != MTK_OK)
			return MTK_FMT_UNKNOWN;
		if (ver == 3) {
			mtk_reader auth;
			if (mtk_der_enter(&v, 0x30, &auth) && oid_is(&auth, OID_PKCS7_DATA,
								 sizeof(OID_PKCS7_DATA)))
				return MTK_FMT_PKCS12;
			return MTK_FMT_UNKNOWN;
		}
		if (ver <= 1)
			return MTK_FMT_DER_KEY;
		return MTK_FMT_UNKNOWN;
	}
	if (tag == 0x06) {
		mtk_reader v = outer;
		if (oid_is(&v, OID_PKCS7_SIGNED, sizeof(OID_PKCS7_SIGNED)))
			return MTK_FMT_DER_PKCS7;
		return MTK_FMT_UNKNOWN;
	}
	if (tag != 0x30)
		return MTK_FMT_UNKNOWN;
	/* SEQUENCE first: signed object (cert/CRL/CSR) or encrypted PKCS#8
	 * (SEQUENCE { AlgorithmIdentifier, OCTET STRING }). */
	{
		mtk_reader v = outer;
		mtk_reader first;

		if (!mtk_der_enter(&v, 0x30, &first))
			return MTK_FMT_UNKNOWN;
		if (!mtk_der_header(&v, &t2, &(size_t){0}))
			return MTK_FMT_UNKNOWN;
		if (t2 == 0x04)
			return MTK_FMT_DER_KEY; /* EncryptedPrivateKeyInfo */
		if (t2 != 0x30)
			return MTK_FMT_UNKNOWN;
		tbs = first;
	}
	/* tbs: Certificate has [0] version or INTEGER serial then SEQUENCE alg;
	 * CertificationRequestInfo has INTEGER 0 then SEQUENCE name then
	 * SEQUENCE spki; TBSCertList has optional INTEGER version, SEQUENCE alg,
	 * SEQUENCE issuer, UTCTime/GeneralizedTime. */
	if (!der_skip(&tbs, &tag))
		return MTK_FMT_UNKNOWN;
	if (tag == 0xa0)
		return MTK_FMT_DER_CERT;
	if (tag == 0x30) {
		/* v1 CRL without version: alg, issuer, thisUpdate */
		if (der_skip(&tbs, &t2) && t2 == 0x30 && der_skip(&tbs, &t2) &&
		    (t2 == 0x17 || t2 == 0x18))
			return MTK_FMT_DER_CRL;
		return MTK_FMT_UNKNOWN;
	}
	if (tag == 0x02) {
		if (!der_skip(&tbs, &t2) || t2 != 0x30)
			return MTK_FMT_UNKNOWN;
		/* second SEQUENCE: cert v1 (alg) or CSR (name) or CRL v2 (alg) */
		if (!der_skip(&tbs, &t2))
			return MTK_FMT_UNKNOWN;
		if (t2 == 0x30) {
			uint8_t t3;
			if (!der_skip(&tbs, &t3))
				return MTK_FMT_UNKNOWN;
			if (t3 == 0x30)
				return MTK_FMT_DER_CERT; /* v1: serial, alg, issuer, validity, ... */
			if (t3 == 0xa0 || t3 == 0x17 || t3 == 0x18)
				return t3 == 0xa0 ? MTK_FMT_DER_CSR : MTK_FMT_DER_CRL;
			return MTK_FMT_UNKNOWN;
		}
		return MTK_FMT_UNKNOWN;
	}
	return MTK_FMT_UNKNOWN;
}

mtk_format mtk_detect(const uint8_t *data, size_t len)
{
	if (data == NULL || len < 4)
		return MTK_FMT_UNKNOWN;
	if (data[0] == 0xFE && data[1] == 0xED && data[2] == 0xFE && data[3] == 0xED)
		return MTK_FMT_JKS;
	if (data[0] == 0xCE && data[1] == 0xCE && data[2] == 0xCE && data[3] == 0xCE)
		return MTK_FMT_JCEKS;
	if (data[0] == 0x30) {
		mtk_format f = detect_der(data, len);
		if (f != MTK_FMT_UNKNOWN)
			return f;
	}
	if (mtk_pem_looks_like(data, len))
		return MTK_FMT_PEM;
	return MTK_FMT_UNKNOWN;
}
