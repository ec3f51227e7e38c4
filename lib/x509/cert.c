/*
 * cert.c - facts about one certificate (cert.h).
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1 /* SHA256(): see mtk_cert_fingerprint */

#include "mtlskit/cert.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "mtlskit/chain.h"

mtk_rc mtk_asn1_time_to_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return MTK_E_DER;
	*out = timegm(&tm);
	return MTK_OK;
}

long mtk_days_left(time_t t, time_t now)
{
	long long d = (long long)t - (long long)now;

	/* floor division, so one second past expiry is day -1 */
	if (d >= 0)
		return (long)(d / 86400);
	return (long)(-((-d + 86399) / 86400));
}

mtk_rc mtk_fingerprint_hex(const unsigned char *dg, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";

	if (n == 0 || cap < n * 3)
		return MTK_E_INTERNAL;
	for (size_t i = 0; i < n; i++) {
		out[i * 3] = hex[dg[i] >> 4];
		out[i * 3 + 1] = hex[dg[i] & 15];
		out[i * 3 + 2] = ':';
	}
	out[n * 3 - 1] = '\0';
	return MTK_OK;
}

mtk_rc mtk_cert_fingerprint(X509 *cert, const EVP_MD *md, char *out, size_t cap)
{
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_MD_get_type(md) == NID_sha256) {
		/* The block function directly: X509_digest re-fetches SHA-256
		 * from the provider on every call (~75,000 instructions), and a
		 * summary asks for this fingerprint of every certificate. */
		unsigned char *der = NULL;
		int len = i2d_X509(cert, &der);

		if (len <= 0)
			return MTK_E_CRYPTO;
		SHA256(der, (size_t)len, dg);
		OPENSSL_free(der);
		n = SHA256_DIGEST_LENGTH;
	} else if (X509_digest(cert, md, dg, &n) != 1) { /* SHA-1 is cached on the X509 */
		return MTK_E_CRYPTO;
	}
	return mtk_fingerprint_hex(dg, n, out, cap);
}

void mtk_name_string(const X509_NAME *name, char *out, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	out[0] = '\0';
	if (b == NULL)
		return;
	/* RFC 2253 order reversed to the familiar most-specific-first form,
	 * UTF-8 kept as UTF-8. */
	if (X509_NAME_print_ex(b, name, 0, (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)) >= 0) {
		n = BIO_read(b, out, (int)cap - 1);
		out[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
}

void mtk_key_describe(EVP_PKEY *key, char *out, size_t cap)
{
	char curve[64] = "";
	size_t clen = 0;

	if (key == NULL) {
		snprintf(out, cap, "unknown");
		return;
	}
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		snprintf(out, cap, "RSA %d", EVP_PKEY_get_bits(key));
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve),
						   &clen) != 1)
			snprintf(curve, sizeof(curve), "%d-bit", EVP_PKEY_get_bits(key));
		{
			int nid = OBJ_sn2nid(curve);
			const char *nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
			snprintf(out, cap, "EC %s", nist ? nist : curve);
		}
		break;
	case EVP_PKEY_ED25519:
		snprintf(out, cap, "Ed25519");
		break;
	case EVP_PKEY_ED448:
		snprintf(out, cap, "Ed448");
		break;
	case EVP_PKEY_DSA:
		snprintf(out, cap, "DSA %d", EVP_PKEY_get_bits(key));
		break;
	default:
		snprintf(out, cap, "%s %d", OBJ_nid2sn(EVP_PKEY_get_base_id(key)), EVP_PKEY_get_bits(key));
	}
}

mtk_rc mtk_cert_summarize(X509 *cert, mtk_cert_summary *o, mtk_err *err)
{
	const ASN1_INTEGER *serial;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	EVP_PKEY *pub;
	int sig_nid = NID_undef, md_nid = NID_undef, pk_nid = NID_undef;
	uint32_t xflags, xku;
	mtk_rc rc = MTK_OK;

	memset(o, 0, sizeof(*o));
	o->path_len = -1;
	mtk_name_string(X509_get_subject_name(cert), o->subject, sizeof(o->subject));
	mtk_name_string(X509_get_issuer_name(cert), o->issuer, sizeof(o->issuer));
	serial = X509_get0_serialNumber(cert);
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL) {
		rc = mtk_err_set(err, MTK_E_DER, "certificate serial number");
		goto out;
	}
	{
		/* lower case, as keytool prints serials */
		size_t k = 0;
		for (const char *p = hex; *p && k + 1 < sizeof(o->serial); p++)
			o->serial[k++] = (char)((*p >= 'A' && *p <= 'F') ? *p - 'A' + 'a' : *p);
		o->serial[k] = '\0';
	}
	if (mtk_asn1_time_to_time(X509_get0_notBefore(cert), &o->not_before) != MTK_OK ||
	    mtk_asn1_time_to_time(X509_get0_notAfter(cert), &o->not_after) != MTK_OK) {
		rc = mtk_err_set(err, MTK_E_DER, "certificate validity");
		goto out;
	}
	if ((rc = mtk_cert_fingerprint(cert, EVP_sha1(), o->sha1, sizeof(o->sha1))) != MTK_OK ||
	    (rc = mtk_cert_fingerprint(cert, EVP_sha256(), o->sha256, sizeof(o->sha256))) != MTK_OK) {
		mtk_err_set(err, rc, "certificate fingerprint");
		goto out;
	}
	pub = X509_get0_pubkey(cert);
	if (pub != NULL) {
		char desc[96];
		mtk_key_describe(pub, desc, sizeof(desc));
		sscanf(desc, "%15s", o->key_type);
		o->key_bits = EVP_PKEY_get_bits(pub);
		if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC) {
			const char *sp = strchr(desc, ' ');
			snprintf(o->curve, sizeof(o->curve), "%s", sp ? sp + 1 : "");
		}
	} else {
		snprintf(o->key_type, sizeof(o->key_type), "unknown");
	}
	sig_nid = X509_get_signature_nid(cert);
	snprintf(o->sig_alg, sizeof(o->sig_alg), "%s", OBJ_nid2ln(sig_nid));
	if (OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid) == 1)
		o->sig_weak = md_nid == NID_sha1 || md_nid == NID_md5 || md_nid == NID_md2 ||
			      md_nid == NID_md4;
	o->version = (int)X509_get_version(cert) + 1;
	xflags = X509_get_extension_flags(cert);
	xku = X509_get_extended_key_usage(cert);
	o->is_ca = (xflags & EXFLAG_CA) != 0;
	if (o->is_ca)
		o->path_len = X509_get_pathlen(cert);
	o->has_eku = (xflags & EXFLAG_XKUSAGE) != 0;
	o->client_auth = !o->has_eku || (xku & XKU_SSL_CLIENT);
	o->server_auth = !o->has_eku || (xku & XKU_SSL_SERVER);
	o->self_issued = X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0;
	o->self_signed = o->self_issued && pub != NULL && mtk_cert_issued_by(cert, cert);
	ERR_clear_error();
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}
