/*
 * jks.c - JKS and JCEKS, read and written by hand over mtk_reader (spec
 * sections 0-2): header, entries (private key, trusted certificate, JCEKS
 * secret key), Sun KeyProtector and PBEWithMD5AndTripleDES key protection,
 * and the trailing SHA-1 integrity digest.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "mtlskit/thread.h"
#include "formats/der.h"
#include "formats/pbe.h"
#include "formats/pkcs8.h"
#include "ks_int.h"

#define JKS_MAGIC      0xFEEDFEEDu
#define JCEKS_MAGIC    0xCECECECEu
#define DIGEST_LEN     20
#define JCEKS_ITER     200000u
#define JCEKS_MAX_ITER 5000000u
/* MD5-chain iterations one decode may spend on JCEKS keys: 100 keys at
 * Java's default count, a few seconds of CPU at worst. */
#define JCEKS_BUDGET 20000000u

/* DER of the two protection OIDs (tag, length, value). */
static const uint8_t OID_JKS[] = {0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04,
				  0x01, 0x2A, 0x02, 0x11, 0x01, 0x01};
static const uint8_t OID_JCEKS[] = {0x06, 0x09, 0x2B, 0x06, 0x01, 0x04,
				    0x01, 0x2A, 0x02, 0x13, 0x01};

/* ------------------------------------------------------------------ */
/* Passwords and modified UTF-8                                         */

bool mtk_ks_pass_ascii(const mtk_secret *pass)
{
	for (size_t i = 0; i < pass->len; i++) {
		unsigned char ch = (unsigned char)pass->s[i];
		if (ch < 0x20 || ch > 0x7E)
			return false;
	}
	return true;
}

/* Decodes one UTF-8 code point from s[*i..n); invalid bytes decode as
 * themselves (Latin-1), so any password still hashes deterministically. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	uint32_t cp;
	size_t need;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xE0) == 0xC0) {
		cp = c & 0x1F;
		need = 1;
	} else if ((c & 0xF0) == 0xE0) {
		cp = c & 0x0F;
		need = 2;
	} else if ((c & 0xF8) == 0xF0) {
		cp = c & 0x07;
		need = 3;
	} else {
		(*i)++;
		return c;
	}
	if (*i + need >= n) {
		(*i)++;
		return c;
	}
	for (size_t k = 1; k <= need; k++) {
		if ((s[*i + k] & 0xC0) != 0x80) {
			(*i)++;
			return c;
		}
		cp = (cp << 6) | (s[*i + k] & 0x3F);
	}
	*i += need + 1;
	return cp;
}

mtk_rc mtk_ks_pass_utf16(const mtk_secret *pass, mtk_buf *out)
{
	const unsigned char *s = (const unsigned char *)pass->s;
	size_t i = 0;
	mtk_rc rc = MTK_OK;

	out->len = 0;
	if ((rc = mtk_buf_reserve(out, pass->len * 2 + 4)) != MTK_OK)
		return rc;
	while (i < pass->len && rc == MTK_OK) {
		uint32_t cp = utf8_next(s, pass->len, &i);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			rc = mtk_buf_append_u16be(out, (uint16_t)(0xD800 | (cp >> 10)));
			if (rc == MTK_OK)
				rc = mtk_buf_append_u16be(out, (uint16_t)(0xDC00 | (cp & 0x3FF)));
		} else {
			rc = mtk_buf_append_u16be(out, (uint16_t)cp);
		}
	}
	return rc;
}

static mtk_rc append_utf8(mtk_buf *b, uint32_t cp)
{
	uint8_t x[4];
	size_t n;

	if (cp < 0x80) {
		x[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		x[0] = (uint8_t)(0xC0 | (cp >> 6));
		x[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		x[0] = (uint8_t)(0xE0 | (cp >> 12));
		x[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		x[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		x[0] = (uint8_t)(0xF0 | (cp >> 18));
		x[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		x[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		x[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return mtk_buf_append(b, x, n);
}

/* Modified UTF-8 (Java readUTF rules: 1-, 2- and 3-byte forms only) to
 * ordinary UTF-8: surrogate pairs combined, NUL and lone surrogates shown as
 * U+FFFD.  MTK_E_KEYSTORE for bytes Java's reader refuses. */
static mtk_rc mutf8_to_utf8(const uint8_t *p, size_t n, char **out)
{
	mtk_buf b = MTK_BUF_INIT;
	uint32_t *units = NULL;
	size_t nu = 0, i = 0;
	mtk_rc rc = MTK_OK;

	units = malloc((n + 1) * sizeof(*units));
	if (units == NULL)
		return MTK_E_NOMEM;
	while (i < n) {
		uint8_t c = p[i];
		if (c < 0x80) {
			units[nu++] = c;
			i++;
		} else if ((c & 0xE0) == 0xC0) {
			if (i + 1 >= n || (p[i + 1] & 0xC0) != 0x80) {
				rc = MTK_E_KEYSTORE;
				goto out;
			}
			units[nu++] = ((uint32_t)(c & 0x1F) << 6) | (p[i + 1] & 0x3F);
			i += 2;
		} else if ((c & 0xF0) == 0xE0) {
			if (i + 2 >= n || (p[i + 1] & 0xC0) != 0x80 || (p[i + 2] & 0xC0) != 0x80) {
				rc = MTK_E_KEYSTORE;
				goto out;
			}
			units[nu++] = ((uint32_t)(c & 0x0F) << 12) |
				      ((uint32_t)(p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F);
			i += 3;
		} else {
			/* 10xxxxxx as a lead byte, or a 4-byte (or longer) form. */
			rc = MTK_E_KEYSTORE;
			goto out;
		}
	}
	for (i = 0; i < nu && rc == MTK_OK; i++) {
		uint32_t u = units[i];
		if (u >= 0xD800 && u <= 0xDBFF && i + 1 < nu && units[i + 1] >= 0xDC00 &&
		    units[i + 1] <= 0xDFFF) {
			u = 0x10000 + ((u - 0xD800) << 10) + (units[i + 1] - 0xDC00);
			i++;
		} else if (u == 0 || (u >= 0xD800 && u <= 0xDFFF)) {
			u = 0xFFFD;
		}
		rc = append_utf8(&b, u);
	}
	if (rc == MTK_OK && (rc = mtk_buf_append(&b, "", 0)) == MTK_OK)
		*out = (char *)mtk_buf_steal(&b, NULL);
out:
	free(units);
	mtk_buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Key protection                                                        */

static mtk_rc sha1_parts(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
			 uint8_t out[20])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	mtk_rc rc = MTK_E_CRYPTO;

	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, a, alen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &n) == 1)
		rc = MTK_OK;
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* The Sun KeyProtector: E = salt(20) || K xor keystream || SHA1(P || K). */
static mtk_rc jks_protect(const mtk_buf *p16, const uint8_t *k, size_t klen, mtk_buf *e)
{
	uint8_t salt[20], d[20], chk[20];
	mtk_rc rc;

	if (mtk_random(salt, sizeof(salt)) != MTK_OK)
		return MTK_E_CRYPTO;
	e->len = 0;
	if ((rc = mtk_buf_append(e, salt, sizeof(salt))) != MTK_OK)
		return rc;
	memcpy(d, salt, sizeof(d));
	for (size_t off = 0; off < klen; off += 20) {
		size_t n = klen - off < 20 ? klen - off : 20;
		uint8_t x[20];
		if ((rc = sha1_parts(p16->data, p16->len, d, sizeof(d), d)) != MTK_OK)
			return rc;
		for (size_t i = 0; i < n; i++)
			x[i] = k[off + i] ^ d[i];
		if ((rc = mtk_buf_append(e, x, n)) != MTK_OK)
			return rc;
	}
	if ((rc = sha1_parts(p16->data, p16->len, k, klen, chk)) != MTK_OK)
		return rc;
	rc = mtk_buf_append(e, chk, sizeof(chk));
	mtk_cleanse(d, sizeof(d));
	return rc;
}

static mtk_rc jks_recover(const mtk_buf *p16, const uint8_t *e, size_t elen, mtk_buf *k)
{
	uint8_t d[20], chk[20];
	mtk_rc rc;
	size_t klen;

	if (elen < 40)
		return MTK_E_KEYSTORE;
	klen = elen - 40;
	memcpy(d, e, 20);
	k->len = 0;
	for (size_t off = 0; off < klen; off += 20) {
		size_t n = klen - off < 20 ? klen - off : 20;
		uint8_t x[20];
		if ((rc = sha1_parts(p16->data, p16->len, d, sizeof(d), d)) != MTK_OK)
			return rc;
		for (size_t i = 0; i < n; i++)
			x[i] = e[20 + off + i] ^ d[i];
		if ((rc = mtk_buf_append(k, x, n)) != MTK_OK)
			return rc;
		mtk_cleanse(x, sizeof(x));
	}
	mtk_cleanse(d, sizeof(d));
	if ((rc = sha1_parts(p16->data, p16->len, k->data, klen, chk)) != MTK_OK)
		return rc;
	if (mtk_memcmp_ct(chk, e + 20 + klen, 20) != 0)
		return MTK_E_KEY_PASSWORD;
	return MTK_OK;
}

mtk_rc mtk_jceks_pbe(const mtk_secret *pass, const uint8_t salt_in[8], uint32_t iter, bool decrypt,
		     const uint8_t *in, size_t len, mtk_buf *out)
{
	uint8_t salt[8], dk[32];
	mtk_rc rc;

	if (iter == 0 || iter > JCEKS_MAX_ITER)
		return MTK_E_KEYSTORE;
	memcpy(salt, salt_in, 8);
	if (memcmp(salt, salt + 4, 4) == 0) {
		/* Java reverses the first half when both halves are equal. */
		uint8_t t = salt[0];
		salt[0] = salt[3];
		salt[3] = t;
		t = salt[1];
		salt[1] = salt[2];
		salt[2] = t;
	}
	for (int h = 0; h < 2; h++)
		mtk_md5_chain(salt + 4 * h, 4, pass->s, pass->len, iter, dk + 16 * h);
	rc = mtk_cbc_crypt(NID_des_ede3_cbc, decrypt, dk, dk + 24, in, len, out);
	if (rc == MTK_E_BAD_PASSWORD)
		rc = MTK_E_KEY_PASSWORD;
	mtk_cleanse(dk, sizeof(dk));
	return rc;
}

/* PKCS#8 PrivateKeyInfo DER to EVP_PKEY. */
static mtk_rc p8_to_key(const uint8_t *der, size_t len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	EVP_PKEY *k = NULL;

	if (p8 != NULL && p == der + len)
		k = mtk_p8_to_key(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	ERR_clear_error();
	if (k == NULL)
		return MTK_E_KEY_PASSWORD;
	*out = k;
	return MTK_OK;
}

/* Which protection an EncryptedPrivateKeyInfo uses, and its parts. */
static mtk_rc parse_epki(const uint8_t *der, size_t len, mtk_ks_protection *prot,
			 const uint8_t **ct, size_t *ctlen, uint8_t salt[8], uint32_t *iter)
{
	const unsigned char *p = der;
	X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
	const X509_ALGOR *alg = NULL;
	const ASN1_OCTET_STRING *oct = NULL;
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	int ptype = 0;
	unsigned char oid[32];
	int oidlen;
	mtk_rc rc = MTK_E_KEYSTORE;

	if (sig == NULL || p != der + len)
		goto out;
	X509_SIG_get0(sig, &alg, &oct);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	oidlen = i2d_ASN1_OBJECT(obj, NULL);
	if (oidlen <= 0 || oidlen > (int)sizeof(oid))
		goto out;
	{
		unsigned char *q = oid;
		i2d_ASN1_OBJECT(obj, &q);
	}
	/* The OCTET STRING is the last element of the DER: its contents are the
	 * last n bytes of der (borrowed through the reader, and checked against
	 * OpenSSL's decoded copy). */
	{
		mtk_reader r;
		size_t n = (size_t)ASN1_STRING_length(oct);

		mtk_reader_init(&r, der, len);
		if (n > len || mtk_reader_skip(&r, len - n) != MTK_OK ||
		    mtk_reader_bytes(&r, n, ct) != MTK_OK ||
		    memcmp(*ct, ASN1_STRING_get0_data(oct), n) != 0)
			goto out;
		*ctlen = n;
	}
	if ((size_t)oidlen == sizeof(OID_JKS) && memcmp(oid, OID_JKS, sizeof(OID_JKS)) == 0) {
		*prot = MTK_KSP_JKS;
		rc = MTK_OK;
	} else if ((size_t)oidlen == sizeof(OID_JCEKS) &&
		   memcmp(oid, OID_JCEKS, sizeof(OID_JCEKS)) == 0) {
		const ASN1_STRING *seq = pval;
		const unsigned char *sp;
		PBEPARAM *pbe = NULL;
		long it;

		if (ptype != V_ASN1_SEQUENCE || seq == NULL)
			goto out;
		sp = ASN1_STRING_get0_data(seq);
		pbe = d2i_PBEPARAM(NULL, &sp, ASN1_STRING_length(seq));
		if (pbe == NULL || ASN1_STRING_length(pbe->salt) != 8) {
			PBEPARAM_free(pbe);
			goto out;
		}
		it = ASN1_INTEGER_get(pbe->iter);
		if (it <= 0 || it > (long)JCEKS_MAX_ITER) {
			PBEPARAM_free(pbe);
			goto out;
		}
		memcpy(salt, ASN1_STRING_get0_data(pbe->salt), 8);
		*iter = (uint32_t)it;
		PBEPARAM_free(pbe);
		*prot = MTK_KSP_JCEKS;
		rc = MTK_OK;
	} else {
		rc = MTK_E_UNSUPPORTED;
	}
out:
	X509_SIG_free(sig);
	ERR_clear_error();
	return rc;
}

static mtk_rc build_epki(const uint8_t *algid, size_t algid_len, const uint8_t *ct, size_t ctlen,
			 mtk_buf *out)
{
	mtk_buf body = MTK_BUF_INIT;
	mtk_rc rc;

	if ((rc = mtk_buf_append(&body, algid, algid_len)) == MTK_OK &&
	    (rc = mtk_der_put(&body, 0x04, ct, ctlen)) == MTK_OK) {
		out->len = 0;
		rc = mtk_der_put(out, 0x30, body.data, body.len);
	}
	mtk_buf_free(&body);
	return rc;
}

/* Protects key with pass: JKS KeyProtector or JCEKS PBE. */
static mtk_rc protect_key(EVP_PKEY *key, mtk_ks_protection prot, const mtk_secret *pass,
			  mtk_buf *out)
{
	mtk_buf p8 = MTK_BUF_SECRET_INIT, e = MTK_BUF_INIT, alg = MTK_BUF_INIT, tmp = MTK_BUF_INIT;
	mtk_rc rc;

	if ((rc = mtk_key_p8_der(key, &p8)) != MTK_OK)
		goto out;
	if (prot == MTK_KSP_JKS) {
		mtk_buf p16 = MTK_BUF_SECRET_INIT;
		static const uint8_t null_[] = {0x05, 0x00};
		if ((rc = mtk_ks_pass_utf16(pass, &p16)) == MTK_OK)
			rc = jks_protect(&p16, p8.data, p8.len, &e);
		mtk_buf_free(&p16);
		if (rc != MTK_OK)
			goto out;
		if ((rc = mtk_buf_append(&tmp, OID_JKS, sizeof(OID_JKS))) != MTK_OK ||
		    (rc = mtk_buf_append(&tmp, null_, sizeof(null_))) != MTK_OK ||
		    (rc = mtk_der_put(&alg, 0x30, tmp.data, tmp.len)) != MTK_OK)
			goto out;
	} else {
		uint8_t salt[8];
		static const uint8_t iter_der[] = {0x02, 0x03, 0x03, 0x0D, 0x40}; /* 200000 */
		mtk_buf params = MTK_BUF_INIT;

		do {
			if (mtk_random(salt, sizeof(salt)) != MTK_OK) {
				rc = MTK_E_CRYPTO;
				goto out;
			}
		} while (memcmp(salt, salt + 4, 4) == 0);
		if ((rc = mtk_jceks_pbe(pass, salt, JCEKS_ITER, false, p8.data, p8.len, &e)) !=
		    MTK_OK)
			goto out;
		if ((rc = mtk_der_put(&tmp, 0x04, salt, sizeof(salt))) == MTK_OK &&
		    (rc = mtk_buf_append(&tmp, iter_der, sizeof(iter_der))) == MTK_OK &&
		    (rc = mtk_der_put(&params, 0x30, tmp.data, tmp.len)) == MTK_OK) {
			tmp.len = 0;
			if ((rc = mtk_buf_append(&tmp, OID_JCEKS, sizeof(OID_JCEKS))) == MTK_OK &&
			    (rc = mtk_buf_append(&tmp, params.data, params.len)) == MTK_OK)
				rc = mtk_der_put(&alg, 0x30, tmp.data, tmp.len);
		}
		mtk_buf_free(&params);
		if (rc != MTK_OK)
			goto out;
	}
	rc = build_epki(alg.data, alg.len, e.data, e.len, out);
out:
	mtk_buf_free(&p8);
	mtk_buf_free(&e);
	mtk_buf_free(&alg);
	mtk_buf_free(&tmp);
	return rc;
}

/* Decrypts a stored key with pass. */
static mtk_rc recover_key(const uint8_t *der, size_t len, const mtk_secret *pass, EVP_PKEY **out)
{
	mtk_ks_protection prot = MTK_KSP_NONE;
	const uint8_t *ct = NULL;
	size_t ctlen = 0;
	uint8_t salt[8] = {0};
	uint32_t iter = 0;
	mtk_buf k = MTK_BUF_SECRET_INIT;
	mtk_rc rc;

	if ((rc = parse_epki(der, len, &prot, &ct, &ctlen, salt, &iter)) != MTK_OK)
		return rc;
	if (prot == MTK_KSP_JKS) {
		mtk_buf p16 = MTK_BUF_SECRET_INIT;
		if ((rc = mtk_ks_pass_utf16(pass, &p16)) == MTK_OK)
			rc = jks_recover(&p16, ct, ctlen, &k);
		mtk_buf_free(&p16);
	} else {
		/* Java refuses non-ASCII JCEKS key passwords outright. */
		if (!mtk_ks_pass_ascii(pass))
			rc = MTK_E_KEY_PASSWORD;
		else
			rc = mtk_jceks_pbe(pass, salt, iter, true, ct, ctlen, &k);
	}
	if (rc == MTK_OK)
		rc = p8_to_key(k.data, k.len, out);
	mtk_buf_free(&k);
	return rc;
}

/* A JCEKS secret key entry: SealedObject -> SecretKeySpec. */
static void describe_secret(mtk_ks_entry *e, const mtk_secret *pass, uint64_t *budget)
{
	jser_capture outer[] = {{"encodedParams", NULL, 0, false},
				{"encryptedContent", NULL, 0, false},
				{"sealAlg", NULL, 0, false}};
	jser_capture inner[] = {
	    {"algorithm", NULL, 0, false}, {"key", NULL, 0, false}, {"encoded", NULL, 0, false}};
	mtk_reader r;
	const unsigned char *p;
	PBEPARAM *pbe = NULL;
	mtk_buf plain = MTK_BUF_SECRET_INIT;
	long it;

	mtk_reader_init(&r, e->secret_raw, e->secret_raw_len);
	if (mtk_jser_read(&r, outer, 3) != MTK_OK || !outer[0].found || !outer[1].found)
		return;
	if (outer[2].found &&
	    (outer[2].len != 22 || memcmp(outer[2].p, "PBEWithMD5AndTripleDES", 22) != 0))
		return;
	if (!mtk_ks_pass_ascii(pass))
		return;
	p = outer[0].p;
	pbe = d2i_PBEPARAM(NULL, &p, (long)outer[0].len);
	if (pbe == NULL || ASN1_STRING_length(pbe->salt) != 8)
		goto out;
	it = ASN1_INTEGER_get(pbe->iter);
	if (it <= 0 || it > (long)JCEKS_MAX_ITER || (uint64_t)it > *budget)
		goto out;
	*budget -= (uint64_t)it;
	if (mtk_jceks_pbe(pass, ASN1_STRING_get0_data(pbe->salt), (uint32_t)it, true, outer[1].p,
			  outer[1].len, &plain) != MTK_OK)
		goto out;
	mtk_reader_init(&r, plain.data, plain.len);
	if (mtk_jser_read(&r, inner, 3) != MTK_OK || !inner[0].found)
		goto out;
	if (e->secret_plain == NULL && plain.len > 0 && (e->secret_plain = malloc(plain.len)) != NULL) {
		memcpy(e->secret_plain, plain.data, plain.len);
		e->secret_plain_len = plain.len;
	}
	{
		size_t n = inner[0].len < sizeof(e->secret_alg) - 1 ? inner[0].len
								    : sizeof(e->secret_alg) - 1;
		memcpy(e->secret_alg, inner[0].p, n);
		e->secret_alg[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)e->secret_alg[i] < 0x20 ||
			    (unsigned char)e->secret_alg[i] > 0x7E)
				e->secret_alg[i] = '?';
	}
	if (inner[1].found)
		e->secret_bits = (int)(inner[1].len * 8);
	else if (inner[2].found)
		e->secret_bits = (int)(inner[2].len * 8);
out:
	PBEPARAM_free(pbe);
	mtk_buf_free(&plain);
	ERR_clear_error();
}

/* The entry's sealed stream with its content sealed again under pass (same
 * salt and iteration count: under an unchanged password the bytes are the
 * same).  MTK_E_UNSUPPORTED when it cannot be done in place (the caller
 * keeps the stream as read). */
static mtk_rc reseal_secret(const mtk_ks_entry *e, const mtk_secret *pass, mtk_buf *out)
{
	jser_capture outer[] = {{"encodedParams", NULL, 0, false},
				{"encryptedContent", NULL, 0, false},
				{"sealAlg", NULL, 0, false}};
	mtk_reader r;
	const unsigned char *p;
	PBEPARAM *pbe = NULL;
	mtk_buf ct = MTK_BUF_SECRET_INIT;
	long it;
	mtk_rc rc = MTK_E_UNSUPPORTED;

	if (e->secret_plain == NULL || !mtk_ks_pass_ascii(pass))
		return MTK_E_UNSUPPORTED;
	mtk_reader_init(&r, e->secret_raw, e->secret_raw_len);
	if (mtk_jser_read(&r, outer, 3) != MTK_OK || !outer[0].found || !outer[1].found)
		return MTK_E_UNSUPPORTED;
	p = outer[0].p;
	pbe = d2i_PBEPARAM(NULL, &p, (long)outer[0].len);
	if (pbe == NULL || ASN1_STRING_length(pbe->salt) != 8)
		goto out;
	it = ASN1_INTEGER_get(pbe->iter);
	if (it <= 0 || it > (long)JCEKS_MAX_ITER)
		goto out;
	if (mtk_jceks_pbe(pass, ASN1_STRING_get0_data(pbe->salt), (uint32_t)it, false, e->secret_plain,
			  e->secret_plain_len, &ct) != MTK_OK ||
	    ct.len != outer[1].len)
		goto out;
	out->len = 0;
	if ((rc = mtk_buf_append(out, e->secret_raw, e->secret_raw_len)) == MTK_OK)
		memcpy(out->data + (outer[1].p - e->secret_raw), ct.data, ct.len);
out:
	PBEPARAM_free(pbe);
	mtk_buf_free(&ct);
	ERR_clear_error();
	return rc;
}

mtk_rc mtk_jks_unlock(mtk_ks_entry *e, const mtk_secret *pass, mtk_err *err)
{
	EVP_PKEY *k = NULL;
	mtk_rc rc;

	if (e->kind != MTK_KSE_KEY || e->key != NULL)
		return MTK_OK;
	if (e->protected_key == NULL)
		return mtk_err_set(err, MTK_E_INTERNAL, "%s: no stored key", e->alias);
	rc = recover_key(e->protected_key, e->protected_len, pass, &k);
	if (rc == MTK_E_KEY_PASSWORD)
		return mtk_err_set(err, rc, "alias %s: Cannot recover key (wrong key password)",
				   e->alias);
	if (rc == MTK_E_UNSUPPORTED)
		return mtk_err_set(err, rc, "alias %s: unknown key protection algorithm", e->alias);
	if (rc != MTK_OK)
		return mtk_err_set(err, rc, "alias %s: malformed protected key", e->alias);
	e->key = k;
	e->key_locked = false;
	return MTK_OK;
}

/* ------------------------------------------------------------------ */
/* Reading                                                               */

/* The alias at r.  base != NULL (a lazily read store, r over the same
 * bytes as base): alias_raw is borrowed from base and the UTF-8 form is put
 * in ks's arena, so an entry costs no allocation of its own. */
static mtk_rc read_alias(mtk_reader *r, mtk_ks_entry *tmp, mtk_keystore *ks, const uint8_t *base)
{
	uint16_t n;
	const uint8_t *p;
	mtk_rc rc;

	if ((rc = mtk_reader_u16be(r, &n)) != MTK_OK || (rc = mtk_reader_bytes(r, n, &p)) != MTK_OK)
		return rc;
	if (base != NULL) {
		char *a;
		size_t i = 0;

		/* ASCII without NUL is the same in modified UTF-8 and UTF-8. */
		while (i < n && p[i] != 0 && p[i] < 0x80)
			i++;
		if (i == n) {
			if ((a = mtk_ks_arena_alloc(ks, (size_t)n + 1)) == NULL)
				return MTK_E_NOMEM;
			memcpy(a, p, n);
			a[n] = '\0';
		} else {
			char *u = NULL;
			size_t un;
			if ((rc = mutf8_to_utf8(p, n, &u)) != MTK_OK)
				return rc;
			un = strlen(u);
			a = mtk_ks_arena_alloc(ks, un + 1);
			if (a != NULL)
				memcpy(a, u, un + 1);
			free(u);
			if (a == NULL)
				return MTK_E_NOMEM;
		}
		tmp->alias = a;
		tmp->alias_raw = (uint8_t *)(uintptr_t)(base + (p - r->data));
		tmp->alias_raw_len = n;
		return MTK_OK;
	}
	if ((rc = mutf8_to_utf8(p, n, &tmp->alias)) != MTK_OK)
		return rc;
	tmp->alias_raw = malloc(n ? n : 1);
	if (tmp->alias_raw == NULL)
		return MTK_E_NOMEM;
	if (n)
		memcpy(tmp->alias_raw, p, n);
	tmp->alias_raw_len = n;
	return MTK_OK;
}

/* One certificate: decoded into *out, or with der set (lazy), its bytes
 * borrowed from the reader's data into *der. */
static mtk_rc read_cert(mtk_reader *r, uint32_t version, X509 **out, struct mtk_ks_der *der,
			const char **why)
{
	uint32_t n;
	const uint8_t *p;
	const unsigned char *q;
	X509 *x;
	mtk_rc rc;

	if (version == 2) {
		uint16_t tl;
		const uint8_t *t;
		if ((rc = mtk_reader_u16be(r, &tl)) != MTK_OK ||
		    (rc = mtk_reader_bytes(r, tl, &t)) != MTK_OK)
			return rc;
		if (tl != 5 || memcmp(t, "X.509", 5) != 0) {
			*why = "certificate type is not X.509";
			return MTK_E_KEYSTORE;
		}
	}
	if ((rc = mtk_reader_u32be(r, &n)) != MTK_OK)
		return rc;
	if (n > mtk_reader_left(r)) {
		*why = "certificate length exceeds the file";
		return MTK_E_TRUNCATED;
	}
	if ((rc = mtk_reader_bytes(r, n, &p)) != MTK_OK)
		return rc;
	/* Lazily: the outer shape is enough; anything else OpenSSL would take
	 * (a BER length) is still taken, as the full reader takes it. */
	if (der != NULL && mtk_der_seq_whole(p, n)) {
		der->p = p;
		der->len = n;
		return MTK_OK;
	}
	q = p;
	x = d2i_X509(NULL, &q, (long)n);
	if (x == NULL || q != p + n) {
		X509_free(x);
		ERR_clear_error();
		*why = "certificate is not valid DER";
		return MTK_E_KEYSTORE;
	}
	if (der != NULL) {
		X509_free(x);
		der->p = p;
		der->len = n;
		return MTK_OK;
	}
	*out = x;
	return MTK_OK;
}

static mtk_rc put_entry(mtk_keystore *ks, mtk_ks_entry *tmp)
{
	mtk_ks_entry *slot;
	mtk_rc rc = mtk_ks_slot(ks, tmp->alias, &slot);

	if (rc != MTK_OK)
		return rc;
	tmp->hash = slot->hash;
	*slot = *tmp;
	memset(tmp, 0, sizeof(*tmp));
	mtk_ks_slot_named(ks, slot);
	return MTK_OK;
}

/* True when the old field-by-field encoding of this version-2 entry is its
 * stored bytes: only the alias could differ (written lower-cased). */
static bool alias_lower(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] >= 'A' && a[i] <= 'Z')
			return false;
	return true;
}

/* One JKS/JCEKS file being read: where the entries' bytes live and what
 * the header said. */
struct jks_rd {
	mtk_reader r;
	const uint8_t *data; /* the bytes read */
	const uint8_t *base; /* lazy: the keystore's own copy (data itself when owned) */
	mtk_keystore *ks;
	uint32_t magic, version;
	bool lazy;
	const char *name;
	const char *why; /* what was cut short, for the truncation message */
};

/* Magic, version, entry count; the password rule; a count the file can
 * hold. */
static mtk_rc jks_header(struct jks_rd *rd, size_t len, bool have_pass, unsigned flags,
			 uint32_t *count, mtk_err *err)
{
	const char *name = rd->name;

	if (mtk_reader_u32be(&rd->r, &rd->magic) != MTK_OK ||
	    mtk_reader_u32be(&rd->r, &rd->version) != MTK_OK ||
	    mtk_reader_u32be(&rd->r, count) != MTK_OK)
		return mtk_err_set(err, MTK_E_TRUNCATED, "%s: keystore header is truncated", name);
	if (rd->magic != JKS_MAGIC && rd->magic != JCEKS_MAGIC)
		return mtk_err_set(err, MTK_E_KEYSTORE, "%s: not a JKS or JCEKS keystore", name);
	if (rd->version != 1 && rd->version != 2)
		return mtk_err_set(err, MTK_E_KEYSTORE, "%s: Invalid keystore format (version %u)",
				   name, rd->version);
	if (!have_pass && (flags & MTK_KS_READ_UNVERIFIED) == 0)
		return mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
				   "%s: the keystore password is needed", name);
	/* Every entry starts with a tag, an alias length and a date (14 bytes):
	 * a count the file cannot hold is refused before anything is read. */
	if (*count > mtk_reader_left(&rd->r) / 14)
		return mtk_err_set(err, MTK_E_KEYSTORE,
				   "%s: entry count %u is impossible for a file of %zu bytes", name,
				   *count, len);
	return MTK_OK;
}

/* A certificate of entry tmp at the cursor: decoded, or (lazy) a slice of
 * the keystore's bytes.  MTK_E_TRUNCATED with rd->why set is left to the
 * caller's message; other faults are set in err. */
static mtk_rc jks_cert(struct jks_rd *rd, const mtk_ks_entry *tmp, X509 **x, struct mtk_ks_der *der,
		       mtk_err *err)
{
	mtk_rc rc = read_cert(&rd->r, rd->version, x, der, &rd->why);

	if (rc == MTK_OK || rc == MTK_E_TRUNCATED)
		return rc;
	return mtk_err_set(err, rc, "%s: alias %s: %s", rd->name, tmp->alias, rd->why);
}

/* Tag 1: the protected key and its chain. */
static mtk_rc jks_key_entry(struct jks_rd *rd, uint32_t i, mtk_ks_entry *tmp, mtk_err *err)
{
	const char *name = rd->name;
	uint32_t klen, n;
	const uint8_t *kp;
	mtk_rc rc;

	if ((rc = mtk_reader_u32be(&rd->r, &klen)) != MTK_OK)
		return MTK_E_TRUNCATED;
	if (klen > mtk_reader_left(&rd->r)) {
		rd->why = "key length exceeds the file";
		return MTK_E_TRUNCATED;
	}
	if ((rc = mtk_reader_bytes(&rd->r, klen, &kp)) != MTK_OK)
		return MTK_E_TRUNCATED;
	if (rd->lazy) {
		tmp->protected_key = (uint8_t *)(uintptr_t)(rd->base + (kp - rd->data));
	} else {
		tmp->protected_key = malloc(klen ? klen : 1);
		if (tmp->protected_key == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
		memcpy(tmp->protected_key, kp, klen);
	}
	tmp->protected_len = klen;
	{
		mtk_ks_protection prot;
		const uint8_t *ct;
		size_t ctlen;
		uint8_t salt[8];
		uint32_t iter;
		rc = parse_epki(kp, klen, &prot, &ct, &ctlen, salt, &iter);
		tmp->protection = rc == MTK_OK ? prot : MTK_KSP_NONE;
		if (rc == MTK_OK && prot == MTK_KSP_JCEKS && rd->magic == JKS_MAGIC) {
			/* The JKS reader only knows the Sun KeyProtector. */
			tmp->protection = MTK_KSP_NONE;
		}
	}
	if ((rc = mtk_reader_u32be(&rd->r, &n)) != MTK_OK)
		return MTK_E_TRUNCATED;
	if (n > mtk_reader_left(&rd->r) / 4)
		return mtk_err_set(err, MTK_E_KEYSTORE,
				   "%s: entry %u: chain length %u is impossible", name, i + 1, n);
	if (rd->lazy)
		tmp->der = mtk_ks_arena_alloc(rd->ks, (n ? n : 1) * sizeof(*tmp->der));
	else
		tmp->chain = sk_X509_new_null();
	if (tmp->chain == NULL && tmp->der == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	for (uint32_t j = 0; j < n; j++) {
		X509 *x = NULL;

		if ((rc = jks_cert(rd, tmp, &x, rd->lazy ? &tmp->der[j] : NULL, err)) != MTK_OK)
			return rc;
		if (rd->lazy) {
			tmp->der[j].p = rd->base + (tmp->der[j].p - rd->data);
			tmp->nder++;
			continue;
		}
		if (!sk_X509_push(tmp->chain, x)) {
			X509_free(x);
			return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
		}
	}
	tmp->key_locked = true;
	return MTK_OK;
}

/* Tag 2: one trusted certificate. */
static mtk_rc jks_trusted_entry(struct jks_rd *rd, mtk_ks_entry *tmp, mtk_err *err)
{
	X509 *x = NULL;
	struct mtk_ks_der d = {NULL, 0};
	mtk_rc rc;

	if ((rc = jks_cert(rd, tmp, &x, rd->lazy ? &d : NULL, err)) != MTK_OK)
		return rc;
	if (rd->lazy) {
		if ((tmp->der = mtk_ks_arena_alloc(rd->ks, sizeof(*tmp->der))) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", rd->name);
		tmp->der[0].p = rd->base + (d.p - rd->data);
		tmp->der[0].len = d.len;
		tmp->nder = 1;
		return MTK_OK;
	}
	tmp->chain = sk_X509_new_null();
	if (tmp->chain == NULL || !sk_X509_push(tmp->chain, x)) {
		X509_free(x);
		return mtk_err_set(err, MTK_E_NOMEM, "%s", rd->name);
	}
	return MTK_OK;
}

/* Tag 3 (JCEKS): a secret key, a Java serialization stream kept as bytes. */
static mtk_rc jks_secret_entry(struct jks_rd *rd, mtk_ks_entry *tmp, mtk_err *err)
{
	/* No length prefix: parse a copy of the cursor to find the end. */
	mtk_reader probe = rd->r;
	const uint8_t *sp;
	mtk_rc rc = mtk_jser_read(&probe, NULL, 0);

	if (rc == MTK_E_TRUNCATED)
		return rc;
	if (rc != MTK_OK)
		return mtk_err_set(
		    err, rc,
		    "%s: alias %s: secret key entry is not a valid Java serialization stream",
		    rd->name, tmp->alias);
	tmp->secret_raw_len = probe.off - rd->r.off;
	if ((rc = mtk_reader_bytes(&rd->r, tmp->secret_raw_len, &sp)) != MTK_OK)
		return MTK_E_TRUNCATED;
	tmp->secret_raw = malloc(tmp->secret_raw_len ? tmp->secret_raw_len : 1);
	if (tmp->secret_raw == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", rd->name);
	memcpy(tmp->secret_raw, sp, tmp->secret_raw_len);
	return MTK_OK;
}

/* Entry i at the cursor, into the keystore.  MTK_E_TRUNCATED (rd->why
 * may say what) is left to the caller's message. */
static mtk_rc jks_entry(struct jks_rd *rd, uint32_t i, mtk_ks_entry *tmp, mtk_err *err)
{
	const char *name = rd->name;
	size_t entry_off = rd->r.off;
	uint32_t tag;
	uint64_t date;
	mtk_rc rc;

	if (mtk_reader_u32be(&rd->r, &tag) != MTK_OK)
		return MTK_E_TRUNCATED;
	if (tag != 1 && tag != 2 && !(tag == 3 && rd->magic == JCEKS_MAGIC))
		return mtk_err_set(err, MTK_E_KEYSTORE_TAG,
				   "%s: Unrecognized keystore entry: %u (at byte %zu)", name, tag,
				   entry_off);
	tmp->borrowed = rd->lazy;
	if ((rc = read_alias(&rd->r, tmp, rd->ks, rd->lazy ? rd->base : NULL)) != MTK_OK) {
		if (rc == MTK_E_KEYSTORE)
			return mtk_err_set(err, rc,
					   "%s: entry %u: alias is not valid modified UTF-8 "
					   "(4-byte UTF-8 is not allowed)",
					   name, i + 1);
		if (rc == MTK_E_TRUNCATED)
			return rc;
		return mtk_err_set(err, rc, "%s", name);
	}
	if (mtk_reader_u64be(&rd->r, &date) != MTK_OK)
		return MTK_E_TRUNCATED;
	tmp->date_ms = (int64_t)date;
	tmp->kind = (mtk_kse_kind)tag;
	rc = tag == 1	? jks_key_entry(rd, i, tmp, err)
	     : tag == 2 ? jks_trusted_entry(rd, tmp, err)
			: jks_secret_entry(rd, tmp, err);
	if (rc != MTK_OK)
		return rc;
	/* What the encoder would write for this entry is these bytes
	 * (version 2, alias already lower-case): kept as a span. */
	if (rd->lazy && tag != 3 && rd->version == 2 &&
	    alias_lower(tmp->alias_raw, tmp->alias_raw_len)) {
		tmp->span_off = entry_off;
		tmp->span_len = rd->r.off - entry_off;
	}
	if ((rc = put_entry(rd->ks, tmp)) != MTK_OK)
		return mtk_err_set(err, rc, "%s", name);
	return MTK_OK;
}

/* The integrity digest: SHA-1 of the password (UTF-16BE), "Mighty
 * Aphrodite" and the body, given as pieces (bytes at p, or at side + off). */
static bool jks_digest(const mtk_buf *p16, const mtk_ks_piece *pc, size_t n, const uint8_t *side,
		       uint8_t d[DIGEST_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	/* One explicit fetch: EVP_sha1() is fetched again by every init. */
	EVP_MD *sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	bool ok = md != NULL && sha1 != NULL && EVP_DigestInit_ex(md, sha1, NULL) == 1 &&
		  EVP_DigestUpdate(md, p16->data, p16->len) == 1 &&
		  EVP_DigestUpdate(md, "Mighty Aphrodite", 16) == 1;

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(md, pc[i].p != NULL ? pc[i].p : side + pc[i].off,
				      pc[i].len) == 1;
	ok = ok && EVP_DigestFinal_ex(md, d, NULL) == 1;
	EVP_MD_CTX_free(md);
	EVP_MD_free(sha1);
	return ok;
}

/* A big store's digest is taken on another thread while its entries are
 * walked, over the body it has when the file ends with the digest (as
 * every writer leaves it); the walk then says whether that was the body. */
#define JKS_VERIFY_ASIDE ((size_t)512 << 10)

struct jks_verify {
	mtk_buf p16; /* the password as the digest takes it */
	mtk_ks_piece body;
	uint8_t d[DIGEST_LEN];
	bool ok, running;
	pthread_t t;
};

static void *jks_verify_run(void *arg)
{
	struct jks_verify *v = arg;

	v->ok = jks_digest(&v->p16, &v->body, 1, NULL, v->d);
	return NULL;
}

static void jks_verify_start(struct jks_verify *v, const uint8_t *data, size_t len,
			     const mtk_secret *store_pass)
{
	if (store_pass == NULL || len < DIGEST_LEN + JKS_VERIFY_ASIDE ||
	    mtk_ks_pass_utf16(store_pass, &v->p16) != MTK_OK)
		return;
	v->body.p = data;
	v->body.len = len - DIGEST_LEN;
	v->running = mtk_thread_spawn(&v->t, jks_verify_run, v) == 0;
}

static void jks_verify_join(struct jks_verify *v)
{
	if (v->running)
		pthread_join(v->t, NULL);
	v->running = false;
}

/* The digest over data[0..body_end) against dig: the one taken aside when
 * it covered exactly that. */
static mtk_rc jks_check_digest(struct jks_verify *v, const uint8_t *data, size_t body_end,
			       const uint8_t *dig, const mtk_secret *store_pass, const char *name,
			       mtk_err *err)
{
	bool aside = v->running && v->body.len == body_end;
	mtk_ks_piece body = {data, 0, body_end};
	uint8_t own[DIGEST_LEN];
	const uint8_t *d = own;
	bool ok;

	jks_verify_join(v);
	if (aside) {
		ok = v->ok;
		d = v->d;
	} else {
		ok = (v->p16.data != NULL || mtk_ks_pass_utf16(store_pass, &v->p16) == MTK_OK) &&
		     jks_digest(&v->p16, &body, 1, NULL, own);
	}
	if (!ok)
		return mtk_err_set(err, MTK_E_CRYPTO, "%s: SHA-1", name);
	if (mtk_memcmp_ct(d, dig, DIGEST_LEN) != 0)
		return mtk_err_set(err, MTK_E_INTEGRITY,
				   "%s: keystore password is incorrect or the file was altered",
				   name);
	return MTK_OK;
}

/* Keys: the key password if given, else (or then) the store password.
 * JCEKS decryption costs its iteration count in MD5 rounds (up to
 * 5,000,000 each, set by the file): a budget keeps a hostile store from
 * buying minutes of CPU; what is over it stays locked (mtk_keystore_unlock
 * still works entry by entry). */
static void jks_unlock_keys(mtk_keystore *ks, const mtk_secret *store_pass,
			    const mtk_secret *key_pass, unsigned flags)
{
	uint64_t budget = JCEKS_BUDGET;

	for (size_t i = 0; i < ks->count; i++) {
		mtk_ks_entry *e = &ks->entries[i];
		if (e->kind == MTK_KSE_KEY) {
			uint64_t cost = 0;
			if (flags & MTK_KS_READ_NO_KEYS) {
				ks->locked_keys++;
				continue;
			}
			{
				mtk_ks_protection prot;
				const uint8_t *ct;
				size_t ctlen;
				uint8_t salt[8];
				uint32_t iter = 0;
				if (parse_epki(e->protected_key, e->protected_len, &prot, &ct,
					       &ctlen, salt, &iter) == MTK_OK &&
				    prot == MTK_KSP_JCEKS)
					cost = iter;
			}
			if (key_pass != NULL && cost <= budget) {
				budget -= cost;
				if (mtk_jks_unlock(e, key_pass, NULL) == MTK_OK)
					continue;
			}
			if (store_pass != NULL && cost <= budget) {
				budget -= cost;
				if (mtk_jks_unlock(e, store_pass, NULL) == MTK_OK)
					continue;
			}
			ks->locked_keys++;
		} else if (e->kind == MTK_KSE_SECRET) {
			if (key_pass != NULL)
				describe_secret(e, key_pass, &budget);
			if (e->secret_alg[0] == '\0' && store_pass != NULL)
				describe_secret(e, store_pass, &budget);
		}
	}
}

mtk_rc mtk_jks_decode(const uint8_t *data, size_t len, mtk_buf *own, const char *name,
		      const mtk_secret *store_pass, const mtk_secret *key_pass, unsigned flags,
		      mtk_keystore **out, mtk_err *err)
{
	struct jks_rd rd = {.data = data, .lazy = (flags & MTK_KS_READ_LAZY) != 0, .name = name};
	struct jks_verify v = {.p16 = MTK_BUF_SECRET_INIT};
	mtk_keystore *ks = NULL;
	mtk_ks_entry tmp;
	const uint8_t *dig;
	uint32_t count = 0;
	size_t body_end;
	mtk_rc rc;

	memset(&tmp, 0, sizeof(tmp));
	mtk_reader_init(&rd.r, data, len);
	if ((rc = jks_header(&rd, len, store_pass != NULL, flags, &count, err)) != MTK_OK)
		goto out;
	ks = rd.ks = mtk_keystore_new(rd.magic == JKS_MAGIC ? MTK_KS_JKS : MTK_KS_JCEKS);
	if (ks == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
		goto out;
	}
	ks->version = rd.version;
	/* The count is the file's claim: room for what it can hold, at most
	 * 65,536 entries ahead (more grow as they come). */
	mtk_ks_reserve(ks, count < 65536 ? count : 65536);
	if (rd.lazy && own != NULL && own->data == data) {
		/* The entries point into the caller's buffer, taken on success. */
		ks->raw = (uint8_t *)(uintptr_t)data;
		ks->raw_len = len;
	} else if (rd.lazy) {
		/* The entries' certificates point into this copy. */
		own = NULL;
		if ((ks->raw = malloc(len ? len : 1)) == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
			goto out;
		}
		memcpy(ks->raw, data, len);
		ks->raw_len = len;
	} else {
		own = NULL;
	}
	rd.base = ks->raw;
	jks_verify_start(&v, data, len, store_pass);
	for (uint32_t i = 0; i < count; i++)
		if ((rc = jks_entry(&rd, i, &tmp, err)) != MTK_OK)
			goto fail;
	body_end = rd.r.off;
	if (mtk_reader_bytes(&rd.r, DIGEST_LEN, &dig) != MTK_OK) {
		rd.why = "the integrity digest is missing";
		rc = MTK_E_TRUNCATED;
		goto fail;
	}
	if (store_pass != NULL) {
		if ((rc = jks_check_digest(&v, data, body_end, dig, store_pass, name, err)) !=
		    MTK_OK)
			goto out;
		ks->verified = true;
	}
	jks_unlock_keys(ks, store_pass, key_pass, flags);
	if (own != NULL)
		(void)mtk_buf_steal(own, NULL); /* now ks->raw */
	*out = ks;
	ks = NULL;
	rc = MTK_OK;
	goto out;
fail:
	if (rc == MTK_E_TRUNCATED)
		rc =
		    mtk_err_set(err, MTK_E_TRUNCATED, "%s: keystore is truncated%s%s (at byte %zu)",
				name, rd.why ? ": " : "", rd.why ? rd.why : "", rd.r.off);
out:
	jks_verify_join(&v);
	mtk_buf_free(&v.p16);
	mtk_ks_entry_clear(&tmp);
	if (ks != NULL && own != NULL)
		ks->raw = NULL; /* still the caller's */
	mtk_keystore_free(ks);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Writing                                                               */

static mtk_rc write_alias(mtk_buf *b, const mtk_ks_entry *e, mtk_err *err)
{
	mtk_rc rc;

	if (e->alias_raw != NULL) {
		/* Lower-case the ASCII letters: one byte each in modified UTF-8. */
		if ((rc = mtk_buf_append_u16be(b, (uint16_t)e->alias_raw_len)) != MTK_OK)
			return rc;
		for (size_t i = 0; i < e->alias_raw_len; i++) {
			uint8_t c = (uint8_t)mtk_ks_lower_c((char)e->alias_raw[i]);
			if ((rc = mtk_buf_append_u8(b, c)) != MTK_OK)
				return rc;
		}
		return MTK_OK;
	}
	if ((rc = mtk_keystore_check_alias(e->alias, err)) != MTK_OK)
		return rc;
	if ((rc = mtk_buf_append_u16be(b, (uint16_t)strlen(e->alias))) != MTK_OK)
		return rc;
	for (const char *p = e->alias; *p; p++) {
		if ((rc = mtk_buf_append_u8(b, (uint8_t)mtk_ks_lower_c(*p))) != MTK_OK)
			return rc;
	}
	return MTK_OK;
}

static mtk_rc write_der(mtk_buf *b, const uint8_t *der, size_t n)
{
	mtk_rc rc;

	if ((rc = mtk_buf_append_u16be(b, 5)) == MTK_OK &&
	    (rc = mtk_buf_append(b, "X.509", 5)) == MTK_OK &&
	    (rc = mtk_buf_append_u32be(b, (uint32_t)n)) == MTK_OK)
		rc = mtk_buf_append(b, der, n);
	return rc;
}

/* Certificate j of e: as stored when it was never decoded (byte for byte),
 * else OpenSSL's encoding (the original bytes for a decoded certificate). */
static mtk_rc write_cert(mtk_buf *b, const mtk_ks_entry *e, int j)
{
	unsigned char *der = NULL;
	int n;
	mtk_rc rc;

	if (e->chain == NULL)
		return write_der(b, e->der[j].p, e->der[j].len);
	if ((n = i2d_X509(sk_X509_value(e->chain, j), &der)) <= 0)
		return MTK_E_CRYPTO;
	rc = write_der(b, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

/* The pieces being planned: each a slice of ks->raw or a range of side. */
struct plan {
	mtk_buf *side;
	mtk_ks_piece *v;
	size_t n, cap;
};

static mtk_rc plan_push(struct plan *pl, const uint8_t *p, size_t off, size_t len)
{
	mtk_ks_piece *last = pl->n > 0 ? &pl->v[pl->n - 1] : NULL;

	if (len == 0)
		return MTK_OK;
	/* Adjacent runs of the file (untouched neighbours), or of side, are
	 * one piece: a removal leaves the store in three. */
	if (last != NULL && p != NULL && last->p != NULL && last->p + last->len == p) {
		last->len += len;
		return MTK_OK;
	}
	if (last != NULL && p == NULL && last->p == NULL && last->off + last->len == off) {
		last->len += len;
		return MTK_OK;
	}
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 16;
		mtk_ks_piece *v = realloc(pl->v, cap * sizeof(*v));
		if (v == NULL)
			return MTK_E_NOMEM;
		pl->v = v;
		pl->cap = cap;
	}
	pl->v[pl->n].p = p;
	pl->v[pl->n].off = off;
	pl->v[pl->n].len = len;
	pl->n++;
	return MTK_OK;
}

/* Whether e's stored bytes (its span) are what the field-by-field writer
 * below would produce for it in a store of `type`: the same conditions
 * under which it keeps the stored key, and certificates never decoded. */
static bool span_usable(const mtk_keystore *ks, const mtk_ks_entry *e, mtk_ks_type type)
{
	mtk_ks_protection want = type == MTK_KS_JKS ? MTK_KSP_JKS : MTK_KSP_JCEKS;

	if (e->span_len == 0 || ks->raw == NULL || type != ks->type || e->chain != NULL ||
	    e->span_off > ks->raw_len || e->span_len > ks->raw_len - e->span_off)
		return false;
	if (e->kind == MTK_KSE_TRUSTED)
		return e->nder == 1;
	if (e->kind == MTK_KSE_KEY)
		return e->protected_key != NULL &&
		       (e->protection == want ||
			(type == MTK_KS_JCEKS && e->protection == MTK_KSP_JKS));
	return false;
}

/* One entry, field by field, appended to b. */
static mtk_rc write_entry(mtk_buf *b, const mtk_keystore *ks, const mtk_ks_entry *e,
			  mtk_ks_type type, const mtk_secret *kp, mtk_buf *pk, mtk_err *err)
{
	mtk_ks_protection want = type == MTK_KS_JKS ? MTK_KSP_JKS : MTK_KSP_JCEKS;
	mtk_rc rc;

	if (e->kind == MTK_KSE_SECRET && e->secret_raw == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG,
				   "alias %s: a secret key read from PKCS12 cannot be written to "
				   "%s (only to PKCS12)",
				   e->alias, type == MTK_KS_JCEKS ? "JCEKS" : "JKS");
	if (e->kind == MTK_KSE_SECRET && type != MTK_KS_JCEKS)
		return mtk_err_set(err, MTK_E_INVALID_ARG,
				   "alias %s: a secret key entry can only be stored in JCEKS",
				   e->alias);
	if ((rc = mtk_buf_append_u32be(b, (uint32_t)e->kind)) != MTK_OK)
		goto nomem;
	if ((rc = write_alias(b, e, err)) != MTK_OK)
		return rc;
	if ((rc = mtk_buf_append_u64be(b, (uint64_t)e->date_ms)) != MTK_OK)
		goto nomem;
	if (e->kind == MTK_KSE_KEY) {
		const uint8_t *kd;
		size_t kl;
		bool keep = e->protected_key != NULL && type == ks->type &&
			    (e->protection == want ||
			     (type == MTK_KS_JCEKS && e->protection == MTK_KSP_JKS));
		if (keep) {
			kd = e->protected_key;
			kl = e->protected_len;
		} else {
			if (e->key == NULL)
				return mtk_err_set(err, MTK_E_KEY_PASSWORD,
						   "alias %s: the key is locked; give its password "
						   "(--key-pass) to rewrite it",
						   e->alias);
			if (want == MTK_KSP_JCEKS && !mtk_ks_pass_ascii(kp))
				return mtk_err_set(
				    err, MTK_E_INVALID_ARG,
				    "alias %s: a JCEKS key password must be printable "
				    "ASCII (Java: Password is not ASCII)",
				    e->alias);
			if ((rc = protect_key(e->key, want, kp, pk)) != MTK_OK)
				return mtk_err_set(err, rc, "alias %s: cannot protect the key",
						   e->alias);
			kd = pk->data;
			kl = pk->len;
		}
		if ((rc = mtk_buf_append_u32be(b, (uint32_t)kl)) != MTK_OK ||
		    (rc = mtk_buf_append(b, kd, kl)) != MTK_OK ||
		    (rc = mtk_buf_append_u32be(b, (uint32_t)mtk_ks_entry_ncerts(e))) != MTK_OK)
			goto nomem;
		for (int j = 0; j < mtk_ks_entry_ncerts(e); j++)
			if ((rc = write_cert(b, e, j)) != MTK_OK)
				goto nomem;
	} else if (e->kind == MTK_KSE_TRUSTED) {
		if (mtk_ks_entry_ncerts(e) != 1)
			return mtk_err_set(err, MTK_E_INTERNAL, "alias %s: no certificate",
					   e->alias);
		if ((rc = write_cert(b, e, 0)) != MTK_OK)
			goto nomem;
	} else {
		/* Sealed under the password the store is written with. */
		mtk_buf sealed = MTK_BUF_SECRET_INIT;
		if (reseal_secret(e, kp, &sealed) == MTK_OK)
			rc = mtk_buf_append(b, sealed.data, sealed.len);
		else
			rc = mtk_buf_append(b, e->secret_raw, e->secret_raw_len);
		mtk_buf_cleanse_free(&sealed);
		if (rc != MTK_OK)
			goto nomem;
	}
	return MTK_OK;
nomem:
	return mtk_err_set(err, rc == MTK_OK ? MTK_E_NOMEM : rc, "writing keystore");
}

mtk_rc mtk_jks_pieces_digest(const mtk_secret *store_pass, const mtk_ks_piece *pc, size_t n,
			     const uint8_t *side, uint8_t d[20], mtk_err *err)
{
	mtk_buf p16 = MTK_BUF_SECRET_INIT;
	bool ok = mtk_ks_pass_utf16(store_pass, &p16) == MTK_OK && jks_digest(&p16, pc, n, side, d);

	mtk_buf_free(&p16);
	return ok ? MTK_OK : mtk_err_set(err, MTK_E_CRYPTO, "integrity digest");
}

mtk_rc mtk_jks_encode_pieces(const mtk_keystore *ks, mtk_ks_type type, const mtk_secret *store_pass,
			     const mtk_secret *key_pass, mtk_buf *side, mtk_ks_piece **pieces,
			     size_t *npieces, mtk_err *err)
{
	struct plan pl = {side, NULL, 0, 0};
	mtk_buf pk = MTK_BUF_INIT;
	const mtk_secret *kp = key_pass ? key_pass : store_pass;
	size_t start;
	mtk_rc rc;

	if (store_pass == NULL)
		return mtk_err_set(err, MTK_E_PASSWORD_NEEDED, "a keystore password is needed");
	side->len = 0;
	if ((rc = mtk_buf_append_u32be(side, type == MTK_KS_JKS ? JKS_MAGIC : JCEKS_MAGIC)) !=
		MTK_OK ||
	    (rc = mtk_buf_append_u32be(side, 2)) != MTK_OK ||
	    (rc = mtk_buf_append_u32be(side, (uint32_t)ks->count)) != MTK_OK ||
	    (rc = plan_push(&pl, NULL, 0, side->len)) != MTK_OK)
		goto nomem;
	for (size_t i = 0; i < ks->count; i++) {
		const mtk_ks_entry *e = &ks->entries[i];

		if (span_usable(ks, e, type)) {
			if ((rc = plan_push(&pl, ks->raw + e->span_off, 0, e->span_len)) != MTK_OK)
				goto nomem;
			continue;
		}
		start = side->len;
		if ((rc = write_entry(side, ks, e, type, kp, &pk, err)) != MTK_OK)
			goto out;
		if ((rc = plan_push(&pl, NULL, start, side->len - start)) != MTK_OK)
			goto nomem;
	}
	*pieces = pl.v;
	*npieces = pl.n;
	pl.v = NULL;
	rc = MTK_OK;
	goto out;
nomem:
	rc = mtk_err_set(err, rc == MTK_OK ? MTK_E_NOMEM : rc, "writing keystore");
out:
	free(pl.v);
	mtk_buf_cleanse_free(&pk);
	return rc;
}

mtk_rc mtk_jks_encode(const mtk_keystore *ks, mtk_ks_type type, const mtk_secret *store_pass,
		      const mtk_secret *key_pass, mtk_buf *out, mtk_err *err)
{
	/* side grows by realloc (a secret buffer would move by copy at every
	 * doubling); the store it becomes is marked secret, as before. */
	mtk_buf side = MTK_BUF_INIT, b = MTK_BUF_SECRET_INIT;
	mtk_ks_piece *pc = NULL;
	size_t n = 0, total = 0;
	uint8_t d[DIGEST_LEN];
	mtk_rc rc;

	if ((rc = mtk_jks_encode_pieces(ks, type, store_pass, key_pass, &side, &pc, &n, err)) !=
		MTK_OK ||
	    (rc = mtk_jks_pieces_digest(store_pass, pc, n, side.data, d, err)) != MTK_OK)
		goto out;
	if (n == 1 && pc[0].p == NULL && pc[0].off == 0 && pc[0].len == side.len) {
		/* Nothing kept from the file: side is the store but its digest. */
		b = side;
		b.secret = true;
		side.data = NULL;
		if ((rc = mtk_buf_append(&b, d, sizeof(d))) != MTK_OK) {
			rc = mtk_err_set(err, rc, "writing keystore");
			goto out;
		}
	} else {
		/* One allocation of the exact size (and its NUL), filled once. */
		for (size_t i = 0; i < n; i++)
			total += pc[i].len;
		if ((b.data = malloc(total + sizeof(d) + 1)) == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "writing keystore");
			goto out;
		}
		b.cap = total + sizeof(d) + 1;
		for (size_t i = 0; i < n; i++) {
			memcpy(b.data + b.len, pc[i].p != NULL ? pc[i].p : side.data + pc[i].off,
			       pc[i].len);
			b.len += pc[i].len;
		}
		memcpy(b.data + b.len, d, sizeof(d));
		b.len += sizeof(d);
		b.data[b.len] = 0;
	}
	mtk_buf_free(out);
	*out = b;
	b.data = NULL;
	rc = MTK_OK;
out:
	free(pc);
	mtk_buf_cleanse_free(&side);
	mtk_buf_free(&b);
	return rc;
}
