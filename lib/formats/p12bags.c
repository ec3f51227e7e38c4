/*
 * p12bags.c - the one PKCS#12 decoder (p12bags.h).
 *
 * The fast derivations of pbe.c first, OpenSSL's functions (with the legacy
 * provider) when they do not cover the algorithm; every derivation is taken
 * from the file's budget before it runs.
 */
#include "formats/p12bags.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>

#include "formats/der.h"
#include "formats/pkcs8.h"

#define MAX_NESTING 4

void mtk_p12_bags_free(mtk_p12_bags *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		EVP_PKEY_free(b->b[i].key);
		X509_free(b->b[i].cert);
		X509_CRL_free(b->b[i].crl);
		OPENSSL_clear_free(b->b[i].secret, b->b[i].secret_len);
		OPENSSL_free(b->b[i].name);
	}
	free(b->b);
	b->b = NULL;
	b->n = b->cap = 0;
}

X509 *mtk_p12_bag_cert(mtk_p12_bag *b)
{
	if (b->kind != MTK_P12B_CERT)
		return NULL;
	if (b->cert == NULL && b->der != NULL && b->der_len <= LONG_MAX) {
		const unsigned char *q = b->der;
		X509 *x = d2i_X509(NULL, &q, (long)b->der_len);

		if (x == NULL || q != b->der + b->der_len) {
			X509_free(x);
			ERR_clear_error();
			return NULL;
		}
		b->cert = x;
	}
	return b->cert;
}

/* The password the MAC accepted (or the one given), as the decrypters
 * take it: pw NULL is the absent encoding. */
struct rd {
	const char *pw;
	size_t pwlen;
	const mtk_p12_read_opts *opts;
	mtk_p12_bags *out;
	int safe;
	bool safe_encrypted;
	ASN1_OBJECT *trusted_oid; /* MTK_P12_TRUSTED_OID, made once per file */
};

static bool pw_empty(const struct rd *r)
{
	return r->pw != NULL && r->pwlen == 0;
}

/* A new bag of the current safe, no name, no localKeyId. */
static mtk_p12_bag *bag_add(struct rd *r, mtk_p12_bag_kind kind)
{
	mtk_p12_bags *o = r->out;
	mtk_p12_bag *b;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		mtk_p12_bag *p = realloc(o->b, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		o->b = p;
		o->cap = cap;
	}
	b = &o->b[o->n++];
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->kid_len = -1;
	b->safe = r->safe;
	b->safe_encrypted = r->safe_encrypted;
	return b;
}

static mtk_p12_bag *bag_new(struct rd *r, mtk_p12_bag_kind kind, const PKCS12_SAFEBAG *sb)
{
	const ASN1_TYPE *kid = PKCS12_SAFEBAG_get0_attr(sb, NID_localKeyID);
	mtk_p12_bag *b = bag_add(r, kind);

	if (b == NULL)
		return NULL;
	b->name = PKCS12_get_friendlyname((PKCS12_SAFEBAG *)sb);
	if (kid != NULL && kid->type == V_ASN1_OCTET_STRING) {
		int n = ASN1_STRING_length(kid->value.octet_string);
		if (n >= 0 && n <= (int)sizeof(b->kid)) {
			memcpy(b->kid, ASN1_STRING_get0_data(kid->value.octet_string), (size_t)n);
			b->kid_len = n;
		}
	}
	return b;
}

static bool bag_trusted(struct rd *r, const PKCS12_SAFEBAG *bag)
{
	const STACK_OF(X509_ATTRIBUTE) *attrs = PKCS12_SAFEBAG_get0_attrs(bag);
	bool found = false;

	if (r->trusted_oid == NULL && sk_X509_ATTRIBUTE_num(attrs) > 0)
		r->trusted_oid = OBJ_txt2obj(MTK_P12_TRUSTED_OID, 1);
	for (int i = 0; r->trusted_oid != NULL && i < sk_X509_ATTRIBUTE_num(attrs); i++)
		if (OBJ_cmp(X509_ATTRIBUTE_get0_object(sk_X509_ATTRIBUTE_value(attrs, i)),
			    r->trusted_oid) == 0)
			found = true;
	return found;
}

/* DER of the OIDs pkcs-12 certBag and pkcs-9 x509Certificate (values). */
static const uint8_t OID_CERT_BAG[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
				       0x01, 0x0c, 0x0a, 0x01, 0x03};
static const uint8_t OID_X509_CERT[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01};

/* DER of the attribute types a certificate bag carries (values). */
static const uint8_t OID_FRIENDLY_NAME[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14};
static const uint8_t OID_LOCAL_KEY_ID[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15};
static const uint8_t OID_TRUSTED[] = {0x60, 0x86, 0x48, 0x01, 0x86, 0xf9,
				      0x66, 0xad, 0xca, 0x7b, 0x01, 0x01};
static const uint8_t OID_ANY_EKU[] = {0x55, 0x1d, 0x25, 0x00};

/* A certificate bag read from its bytes (lazy_certs): slices of the SafeBag. */
struct lazy_cert {
	const uint8_t *cert, *name, *kid;
	size_t cert_len, name_len, kid_len;
	bool trusted;
};

/*
 * One SafeBag's contents (bag: inside its SEQUENCE) when they are exactly
 * what certificate bags hold: { certBag, [0] { x509Certificate, [0] OCTET
 * STRING cert } } with the certificate one whole DER SEQUENCE, and at most
 * one each of friendlyName (one BMPString), localKeyId (one OCTET STRING)
 * and Java's trusted attribute (anyExtendedKeyUsage); nothing else, nothing
 * after.  Any other shape (more values, other attributes, BER lengths) is
 * false: OpenSSL decodes that bag, as when read eagerly.
 */
static bool lazy_cert_parse(mtk_reader bag, struct lazy_cert *lc)
{
	mtk_reader oid, v, cb, cv, os, set;

	memset(lc, 0, sizeof(*lc));
	if (!mtk_der_enter(&bag, 0x06, &oid) ||
	    !mtk_der_value_is(&oid, OID_CERT_BAG, sizeof(OID_CERT_BAG)) ||
	    !mtk_der_enter(&bag, 0xa0, &v) || !mtk_der_enter(&v, 0x30, &cb) ||
	    mtk_reader_left(&v) != 0 || !mtk_der_enter(&cb, 0x06, &oid) ||
	    !mtk_der_value_is(&oid, OID_X509_CERT, sizeof(OID_X509_CERT)) ||
	    !mtk_der_enter(&cb, 0xa0, &cv) || mtk_reader_left(&cb) != 0 ||
	    !mtk_der_enter(&cv, 0x04, &os) || mtk_reader_left(&cv) != 0)
		return false;
	lc->cert = os.data + os.off;
	lc->cert_len = mtk_reader_left(&os);
	if (!mtk_der_seq_whole(lc->cert, lc->cert_len))
		return false;
	if (mtk_reader_left(&bag) == 0)
		return true; /* no attributes */
	if (!mtk_der_enter(&bag, 0x31, &set) || mtk_reader_left(&bag) != 0)
		return false;
	while (mtk_reader_left(&set) > 0) {
		mtk_reader attr, vals;
		uint8_t tag;
		size_t n;
		const uint8_t *p;

		if (!mtk_der_enter(&set, 0x30, &attr) || !mtk_der_enter(&attr, 0x06, &oid) ||
		    !mtk_der_enter(&attr, 0x31, &vals) || mtk_reader_left(&attr) != 0 ||
		    !mtk_der_header(&vals, &tag, &n) || n != mtk_reader_left(&vals))
			return false; /* one value exactly */
		p = vals.data + vals.off;
		if (mtk_der_value_is(&oid, OID_FRIENDLY_NAME, sizeof(OID_FRIENDLY_NAME))) {
			if (lc->name != NULL || tag != 0x1e)
				return false;
			lc->name = p;
			lc->name_len = n;
		} else if (mtk_der_value_is(&oid, OID_LOCAL_KEY_ID, sizeof(OID_LOCAL_KEY_ID))) {
			if (lc->kid != NULL || tag != 0x04)
				return false;
			lc->kid = p;
			lc->kid_len = n;
		} else if (mtk_der_value_is(&oid, OID_TRUSTED, sizeof(OID_TRUSTED))) {
			if (lc->trusted || tag != 0x06 || n != sizeof(OID_ANY_EKU) ||
			    memcmp(p, OID_ANY_EKU, n) != 0)
				return false;
			lc->trusted = true;
		} else {
			return false;
		}
	}
	return true;
}

/* An EncryptedPrivateKeyInfo: the fast path, OpenSSL's with the legacy
 * provider, then the absent password when the password is empty. */
static PKCS8_PRIV_KEY_INFO *p8_open(const struct rd *r, const X509_SIG *sig)
{
	const X509_ALGOR *alg = NULL;
	PKCS8_PRIV_KEY_INFO *p8;

	X509_SIG_get0(sig, &alg, NULL);
	/* Known-legacy algorithms get the provider first: a failed try would
	 * repeat the whole derivation. */
	if (alg != NULL && mtk_pbe_needs_legacy(alg))
		(void)mtk_legacy_provider();
	p8 = mtk_p8_decrypt(sig, r->pw, r->pwlen);
	if (p8 == NULL && mtk_legacy_provider())
		p8 = PKCS8_decrypt(sig, r->pw, (int)r->pwlen);
	if (p8 == NULL && pw_empty(r))
		p8 = mtk_p8_decrypt(sig, NULL, 0);
	ERR_clear_error();
	return p8;
}

/* Takes the shrouded bag's derivation from the budget, describes it. */
static mtk_rc shroud_take(struct rd *r, const X509_SIG *sig, mtk_p12_bag *b, mtk_p12_bag_kind k)
{
	const X509_ALGOR *alg = NULL;

	X509_SIG_get0(sig, &alg, NULL);
	b->shrouded = true;
	mtk_pbe_describe(alg, b->enc, sizeof(b->enc), &b->enc_iter);
	if (k == MTK_P12B_KEY)
		snprintf(r->out->key_enc, sizeof(r->out->key_enc), "%s", b->enc);
	if (alg != NULL && mtk_pbe_needs_legacy(alg))
		r->out->legacy = true;
	if (!mtk_pbe_budget_take(&r->out->budget, alg)) {
		r->out->fail = MTK_P12F_BAG_BUDGET;
		r->out->fail_kind = k;
		return MTK_E_TOO_LARGE;
	}
	return MTK_OK;
}

static mtk_rc bag_fail(struct rd *r, mtk_p12_bag_kind k, mtk_rc rc)
{
	r->out->fail = MTK_P12F_BAG;
	r->out->fail_kind = k;
	return rc;
}

static mtk_rc read_key(struct rd *r, const PKCS12_SAFEBAG *sb, int nid)
{
	mtk_p12_bag *b = bag_new(r, MTK_P12B_KEY, sb);
	PKCS8_PRIV_KEY_INFO *p8;
	const X509_SIG *sig;
	mtk_rc rc;

	if (b == NULL)
		return bag_fail(r, MTK_P12B_KEY, MTK_E_NOMEM);
	if (nid == NID_keyBag) {
		const PKCS8_PRIV_KEY_INFO *in = PKCS12_SAFEBAG_get0_p8inf(sb);
		if (in == NULL || (b->key = mtk_p8_to_key(in)) == NULL)
			return bag_fail(r, MTK_P12B_KEY, MTK_E_KEY);
		return MTK_OK;
	}
	if ((sig = PKCS12_SAFEBAG_get0_pkcs8(sb)) == NULL)
		return bag_fail(r, MTK_P12B_KEY, MTK_E_PKCS12);
	if ((rc = shroud_take(r, sig, b, MTK_P12B_KEY)) != MTK_OK)
		return rc;
	if ((p8 = p8_open(r, sig)) == NULL) {
		if (r->opts->keep_locked && r->opts->pass == NULL && !r->out->has_mac) {
			b->locked = true;
			return MTK_OK;
		}
		return bag_fail(r, MTK_P12B_KEY, MTK_E_BAD_PASSWORD);
	}
	b->key = mtk_p8_to_key(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return b->key != NULL ? MTK_OK : bag_fail(r, MTK_P12B_KEY, MTK_E_KEY);
}

/* A SecretBag as Java 17 writes it (secretTypeId pkcs8ShroudedKeyBag, the
 * value an EncryptedPrivateKeyInfo of {0, algorithm, OCTET STRING key});
 * other secret bags are skipped. */
static mtk_rc read_secret(struct rd *r, const PKCS12_SAFEBAG *sb)
{
	const ASN1_TYPE *v = PKCS12_SAFEBAG_get0_bag_obj(sb);
	const ASN1_OBJECT *t = PKCS12_SAFEBAG_get0_bag_type(sb);
	const unsigned char *p;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	mtk_p12_bag *b;
	int n;
	mtk_rc rc = MTK_OK;

	if (!r->opts->secrets || t == NULL || OBJ_obj2nid(t) != NID_pkcs8ShroudedKeyBag ||
	    v == NULL || v->type != V_ASN1_OCTET_STRING)
		return MTK_OK;
	p = ASN1_STRING_get0_data(v->value.octet_string);
	if ((sig = d2i_X509_SIG(NULL, &p, ASN1_STRING_length(v->value.octet_string))) == NULL)
		return bag_fail(r, MTK_P12B_SECRET, MTK_E_PKCS12);
	if ((b = bag_new(r, MTK_P12B_SECRET, sb)) == NULL) {
		rc = bag_fail(r, MTK_P12B_SECRET, MTK_E_NOMEM);
		goto out;
	}
	if ((rc = shroud_take(r, sig, b, MTK_P12B_SECRET)) != MTK_OK)
		goto out;
	if ((p8 = p8_open(r, sig)) == NULL) {
		rc = bag_fail(r, MTK_P12B_SECRET, MTK_E_BAD_PASSWORD);
		goto out;
	}
	if ((n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0) {
		rc = bag_fail(r, MTK_P12B_SECRET, MTK_E_PKCS12);
		goto out;
	}
	b->secret = der;
	b->secret_len = (size_t)n;
out:
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rc;
}

static mtk_rc read_bags(struct rd *r, const STACK_OF(PKCS12_SAFEBAG) * bags, int depth);

/* A certificate bag, decoded. */
static mtk_rc read_cert(struct rd *r, const PKCS12_SAFEBAG *sb)
{
	mtk_p12_bag *b = bag_new(r, MTK_P12B_CERT, sb);

	if (b == NULL)
		return bag_fail(r, MTK_P12B_CERT, MTK_E_NOMEM);
	b->trusted = bag_trusted(r, sb);
	if ((b->cert = PKCS12_SAFEBAG_get1_cert(sb)) == NULL)
		return bag_fail(r, MTK_P12B_CERT, MTK_E_DER);
	return MTK_OK;
}

/* A certificate bag kept as its bytes (whole: the SafeBag, len bytes), with
 * the name and localKeyId read as bag_new reads them. */
static mtk_rc keep_cert(struct rd *r, const uint8_t *whole, size_t len, const struct lazy_cert *lc)
{
	mtk_p12_bag *b = bag_add(r, MTK_P12B_CERT);
	uint8_t *copy;

	if (b == NULL || (copy = r->opts->alloc(r->opts->alloc_ctx, len)) == NULL)
		return bag_fail(r, MTK_P12B_CERT, MTK_E_NOMEM);
	memcpy(copy, whole, len);
	b->bag_der = copy;
	b->bag_der_len = len;
	b->der = copy + (lc->cert - whole);
	b->der_len = lc->cert_len;
	b->trusted = lc->trusted;
	/* OPENSSL_uni2utf8 is what PKCS12_get_friendlyname returns. */
	if (lc->name != NULL && lc->name_len <= INT_MAX &&
	    (b->name = OPENSSL_uni2utf8(lc->name, (int)lc->name_len)) == NULL)
		ERR_clear_error(); /* an odd length: no name, as when decoded */
	if (lc->kid != NULL && lc->kid_len <= sizeof(b->kid)) {
		memcpy(b->kid, lc->kid, lc->kid_len);
		b->kid_len = (int)lc->kid_len;
	}
	return MTK_OK;
}

/* structure_only: a bag listed as it is, nothing decoded or decrypted. */
static mtk_rc list_bag(struct rd *r, const PKCS12_SAFEBAG *sb, int nid, int depth)
{
	mtk_p12_bag *b = NULL;
	const X509_SIG *sig;
	const X509_ALGOR *alg = NULL;

	switch (nid) {
	case NID_keyBag:
		b = bag_new(r, MTK_P12B_KEY, sb);
		break;
	case NID_pkcs8ShroudedKeyBag:
		if ((sig = PKCS12_SAFEBAG_get0_pkcs8(sb)) == NULL)
			return MTK_OK;
		if ((b = bag_new(r, MTK_P12B_KEY, sb)) == NULL)
			break;
		X509_SIG_get0(sig, &alg, NULL);
		b->shrouded = b->locked = true;
		mtk_pbe_describe(alg, b->enc, sizeof(b->enc), &b->enc_iter);
		if (alg != NULL && mtk_pbe_needs_legacy(alg))
			r->out->legacy = true;
		return MTK_OK;
	case NID_certBag:
		b = bag_new(r, MTK_P12B_CERT, sb);
		break;
	case NID_crlBag:
		b = bag_new(r, MTK_P12B_CRL, sb);
		break;
	case NID_safeContentsBag:
		return depth < MAX_NESTING ? read_bags(r, PKCS12_SAFEBAG_get0_safes(sb), depth + 1)
					   : MTK_OK;
	default:
		return MTK_OK;
	}
	return b != NULL ? MTK_OK : bag_fail(r, MTK_P12B_KEY, MTK_E_NOMEM);
}

/* One bag, decoded (not structure_only). */
static mtk_rc read_one(struct rd *r, const PKCS12_SAFEBAG *sb, int depth)
{
	mtk_p12_bag *b;

	switch (PKCS12_SAFEBAG_get_nid(sb)) {
	case NID_keyBag:
		return read_key(r, sb, NID_keyBag);
	case NID_pkcs8ShroudedKeyBag:
		return read_key(r, sb, NID_pkcs8ShroudedKeyBag);
	case NID_certBag:
		if (PKCS12_SAFEBAG_get_bag_nid(sb) != NID_x509Certificate)
			return MTK_OK; /* SDSI certificates: not ours */
		return read_cert(r, sb);
	case NID_crlBag:
		if ((b = bag_new(r, MTK_P12B_CRL, sb)) == NULL)
			return bag_fail(r, MTK_P12B_CRL, MTK_E_NOMEM);
		if ((b->crl = PKCS12_SAFEBAG_get1_crl(sb)) == NULL)
			return bag_fail(r, MTK_P12B_CRL, MTK_E_DER);
		return MTK_OK;
	case NID_secretBag:
		return read_secret(r, sb);
	case NID_safeContentsBag:
		if (depth > MAX_NESTING) {
			r->out->fail = MTK_P12F_NESTED;
			return MTK_E_PKCS12;
		}
		return read_bags(r, PKCS12_SAFEBAG_get0_safes(sb), depth + 1);
	default:
		return MTK_OK; /* unknown bags are skipped */
	}
}

static mtk_rc read_bags(struct rd *r, const STACK_OF(PKCS12_SAFEBAG) * bags, int depth)
{
	for (int i = 0; bags != NULL && i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		const PKCS12_SAFEBAG *sb = sk_PKCS12_SAFEBAG_value(bags, i);
		mtk_rc rc = r->opts->structure_only
				? list_bag(r, sb, PKCS12_SAFEBAG_get_nid(sb), depth)
				: read_one(r, sb, depth);

		if (rc != MTK_OK)
			return rc;
	}
	return MTK_OK;
}

/*
 * lazy_certs: a safe's SafeContents DER (sc, len) read without decoding it
 * whole: certificate bags of the usual shape (lazy_cert_parse) are kept as
 * their bytes, every other bag is decoded by OpenSSL on its own and read as
 * usual, in order.  Every element is checked before any is read: false
 * (nothing read, *rc untouched) when the SafeContents is not a SEQUENCE of
 * SEQUENCEs with definite lengths or a bag does not decode, and the caller
 * reads the safe as without lazy_certs, which gives the same verdict as
 * before.  True with *rc the result otherwise.
 */
static bool read_safe_lazy(struct rd *r, const uint8_t *sc, size_t len, mtk_rc *rc)
{
	mtk_reader all, seq, scan, in;
	PKCS12_SAFEBAG **sbs = NULL;
	struct lazy_cert lc;
	size_t n = 0, i;
	bool ok = false;

	mtk_reader_init(&all, sc, len);
	if (sc == NULL || !mtk_der_enter(&all, 0x30, &seq))
		return false;
	for (scan = seq; mtk_reader_left(&scan) > 0; n++)
		if (!mtk_der_enter(&scan, 0x30, &in))
			return false;
	if ((sbs = calloc(n + 1, sizeof(*sbs))) == NULL)
		return false;
	/* First pass: which bags OpenSSL decodes, decoded. */
	for (scan = seq, i = 0; i < n; i++) {
		const uint8_t *whole = scan.data + scan.off, *p = whole;
		size_t el;

		(void)mtk_der_enter(&scan, 0x30, &in);
		el = (size_t)(scan.data + scan.off - whole);
		if (lazy_cert_parse(in, &lc))
			continue;
		if ((sbs[i] = d2i_PKCS12_SAFEBAG(NULL, &p, (long)el)) == NULL || p != whole + el)
			goto out;
	}
	ok = true;
	*rc = MTK_OK;
	for (scan = seq, i = 0; i < n && *rc == MTK_OK; i++) {
		const uint8_t *whole = scan.data + scan.off;

		(void)mtk_der_enter(&scan, 0x30, &in);
		if (sbs[i] != NULL)
			*rc = read_one(r, sbs[i], 0);
		else if (lazy_cert_parse(in, &lc))
			*rc = keep_cert(r, whole, (size_t)(scan.data + scan.off - whole), &lc);
	}
out:
	for (i = 0; i < n; i++)
		PKCS12_SAFEBAG_free(sbs[i]);
	free(sbs);
	ERR_clear_error();
	return ok;
}

static const X509_ALGOR *safe_alg(const PKCS7 *p7)
{
	return p7->d.encrypted != NULL && p7->d.encrypted->enc_data != NULL
		   ? p7->d.encrypted->enc_data->algorithm
		   : NULL;
}

/* An encrypted safe's bags: the fast path, OpenSSL's with the legacy
 * provider, then the absent password when the password is empty. */
static STACK_OF(PKCS12_SAFEBAG) * safe_open(PKCS7 *p7, const char *pw, size_t pwlen)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = mtk_p7_decrypt_bags(p7, pw, pwlen);

	if (bags == NULL && mtk_legacy_provider())
		bags = PKCS12_unpack_p7encdata(p7, pw, (int)pwlen);
	if (bags == NULL && pw != NULL && pwlen == 0)
		bags = PKCS12_unpack_p7encdata(p7, NULL, 0);
	return bags;
}

/* True when every encrypted part of the PFX (safes, shrouded keys) opens
 * with the empty password, and there is at least one. */
static bool opens_empty(PKCS12 *p12, mtk_pbe_budget *budget)
{
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	struct rd r = {.pw = ""};
	int tried = 0;
	bool ok = safes != NULL;

	for (int i = 0; ok && i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
		int nid = OBJ_obj2nid(p7->type);

		if (nid == NID_pkcs7_data) {
			bags = PKCS12_unpack_p7data(p7);
		} else if (nid == NID_pkcs7_encrypted) {
			const X509_ALGOR *alg = safe_alg(p7);
			if (alg == NULL || !mtk_pbe_budget_take(budget, alg)) {
				ok = false;
				break;
			}
			tried++;
			bags = safe_open(p7, "", 0);
		} else {
			continue;
		}
		if (bags == NULL) {
			ok = false;
			break;
		}
		for (int j = 0; ok && j < sk_PKCS12_SAFEBAG_num(bags); j++) {
			const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, j);
			const X509_SIG *sig = PKCS12_SAFEBAG_get0_pkcs8(bag);
			const X509_ALGOR *alg = NULL;
			PKCS8_PRIV_KEY_INFO *p8;

			if (PKCS12_SAFEBAG_get_nid(bag) != NID_pkcs8ShroudedKeyBag || sig == NULL)
				continue;
			X509_SIG_get0(sig, &alg, NULL);
			tried++;
			ok = mtk_pbe_budget_take(budget, alg) && (p8 = p8_open(&r, sig)) != NULL;
			if (ok)
				PKCS8_PRIV_KEY_INFO_free(p8);
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		if (!ok)
			break;
	}
	sk_PKCS7_pop_free(safes, PKCS7_free);
	ERR_clear_error();
	return ok && tried > 0;
}

static mtk_rc check_mac(PKCS12 *p12, const uint8_t *data, size_t len, struct rd *r)
{
	mtk_p12_bags *o = r->out;
	const X509_ALGOR *alg = NULL;
	const ASN1_INTEGER *iter = NULL;
	const ASN1_OBJECT *obj = NULL;

	PKCS12_get0_mac(NULL, &alg, NULL, &iter, p12);
	if (alg != NULL) {
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		o->mac_nid = OBJ_obj2nid(obj);
	}
	o->mac_iter = iter ? ASN1_INTEGER_get(iter) : 1;
	{
		const ASN1_OCTET_STRING *salt = NULL;

		PKCS12_get0_mac(NULL, NULL, &salt, NULL, p12);
		o->mac_salt_len = salt ? ASN1_STRING_length(salt) : 0;
	}
	if (r->opts->structure_only)
		return MTK_OK;
	if (!mtk_pbe_budget_take_mac(&o->budget, iter)) {
		o->fail = MTK_P12F_MAC_BUDGET;
		return MTK_E_TOO_LARGE;
	}
	if (mtk_p12_verify_mac(p12, data, len, r->pw, r->pwlen)) {
		o->mac_ok = true;
	} else if (r->pwlen == 0 && mtk_p12_verify_mac(p12, data, len, NULL, 0)) {
		o->mac_ok = true;
		o->absent_pw = true;
		r->pw = NULL;
	}
	if (o->mac_ok)
		return MTK_OK;
	if (r->opts->pass == NULL && r->opts->check_damage && opens_empty(p12, &o->budget))
		o->mac_damaged = true;
	o->fail = MTK_P12F_MAC;
	return MTK_E_BAD_PASSWORD;
}

/* One safe of the authenticated safe as read_safe takes it: from the PFX
 * that OpenSSL decoded (p7), or from the bytes (elem, the ContentInfo,
 * decoded by OpenSSL on its own only when the fast path does not finish
 * the safe). */
struct safe {
	int nid;
	const X509_ALGOR *alg;	/* encrypted: the algorithm */
	const uint8_t *content; /* data: the SafeContents; encrypted: the
				 * ciphertext; NULL: none */
	size_t content_len;
	const uint8_t *elem;
	size_t elem_len;
	PKCS7 *p7;
	bool own_p7;
};

static PKCS7 *safe_p7(struct safe *s)
{
	if (s->p7 == NULL && s->elem != NULL && s->elem_len <= LONG_MAX) {
		const unsigned char *p = s->elem;

		s->p7 = d2i_PKCS7(NULL, &p, (long)s->elem_len);
		s->own_p7 = true;
	}
	return s->p7;
}

static void safe_from_p7(struct safe *s, PKCS7 *p7)
{
	memset(s, 0, sizeof(*s));
	s->p7 = p7;
	s->nid = OBJ_obj2nid(p7->type);
	if (s->nid == NID_pkcs7_data && p7->d.data != NULL && p7->d.data->data != NULL) {
		s->content = p7->d.data->data;
		s->content_len = (size_t)p7->d.data->length;
	} else if (s->nid == NID_pkcs7_encrypted) {
		s->alg = safe_alg(p7);
		if (p7->d.encrypted != NULL && p7->d.encrypted->enc_data != NULL &&
		    p7->d.encrypted->enc_data->enc_data != NULL &&
		    p7->d.encrypted->enc_data->enc_data->data != NULL) {
			s->content = p7->d.encrypted->enc_data->enc_data->data;
			s->content_len = (size_t)p7->d.encrypted->enc_data->enc_data->length;
		}
	}
}

/* The safe r->safe: its bags into r->out. */
static mtk_rc read_safe(struct rd *r, struct safe *s, bool lazy)
{
	mtk_p12_bags *out = r->out;
	const mtk_p12_read_opts *opts = r->opts;
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	PKCS7 *p7;
	mtk_rc rc = MTK_OK;

	r->safe_encrypted = s->nid == NID_pkcs7_encrypted;
	out->safes++;
	if (s->nid == NID_pkcs7_data) {
		if (lazy && s->content != NULL &&
		    read_safe_lazy(r, s->content, s->content_len, &rc))
			return rc;
		if ((p7 = safe_p7(s)) != NULL)
			bags = PKCS12_unpack_p7data(p7);
		if (bags == NULL && opts->structure_only)
			return MTK_OK;
		if (bags == NULL) {
			out->fail = MTK_P12F_SAFE_DECODE;
			return MTK_E_PKCS12;
		}
	} else if (s->nid == NID_pkcs7_encrypted) {
		long iter;

		mtk_pbe_describe(s->alg, out->cert_enc, sizeof(out->cert_enc), &iter);
		if (out->enc_safes++ == 0) {
			snprintf(out->first_safe_enc, sizeof(out->first_safe_enc), "%s",
				 out->cert_enc);
			out->first_safe_iter = iter;
		}
		if (s->alg != NULL && mtk_pbe_needs_legacy(s->alg)) {
			out->legacy = true;
			if (!opts->structure_only)
				(void)mtk_legacy_provider();
		}
		if (opts->structure_only)
			return MTK_OK; /* its contents need the password */
		if (!mtk_pbe_budget_take(&out->budget, s->alg)) {
			out->fail = MTK_P12F_SAFE_BUDGET;
			return MTK_E_TOO_LARGE;
		}
		if (lazy && s->content != NULL) {
			/* The fast path's plaintext; anything else is read as
			 * without lazy_certs. */
			mtk_buf plain = MTK_BUF_SECRET_INIT;
			bool done = mtk_pbe_decrypt(s->alg, r->pw, r->pwlen, s->content,
						    s->content_len, &plain) == MTK_OK &&
				    read_safe_lazy(r, plain.data, plain.len, &rc);

			mtk_buf_cleanse_free(&plain);
			if (done)
				return rc;
		}
		if ((p7 = safe_p7(s)) == NULL || (bags = safe_open(p7, r->pw, r->pwlen)) == NULL) {
			out->fail = MTK_P12F_SAFE_DECRYPT;
			return MTK_E_BAD_PASSWORD;
		}
	} else {
		return MTK_OK; /* enveloped data: public-key protected, unsupported */
	}
	rc = read_bags(r, bags, 0);
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	return rc;
}

/* ---- the PFX's outer layers from the bytes (lazy_certs) ---- */

/* DER of the OIDs pkcs7-data and pkcs7-encryptedData (values). */
static const uint8_t OID_DATA[] = {MTK_OID_P7_DATA};
static const uint8_t OID_ENC_DATA[] = {MTK_OID_P7_ENCRYPTED};

/* A non-negative DER INTEGER of at most 8 value bytes, minimally encoded
 * (OpenSSL refuses the padded ones). */
static bool der_uint(mtk_reader *r, uint64_t *v)
{
	mtk_reader in;
	size_t n;

	if (!mtk_der_enter(r, 0x02, &in) || (n = mtk_reader_left(&in)) == 0 ||
	    (in.data[in.off] & 0x80) != 0 ||
	    (n > 1 && in.data[in.off] == 0 && (in.data[in.off + 1] & 0x80) == 0) ||
	    n > (in.data[in.off] == 0 ? 9u : 8u))
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = (*v << 8) | in.data[in.off + i];
	return true;
}

/* An AlgorithmIdentifier's DER (one whole SEQUENCE), decoded by OpenSSL. */
static X509_ALGOR *algor_of(const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	X509_ALGOR *a = n <= LONG_MAX ? d2i_X509_ALGOR(NULL, &q, (long)n) : NULL;

	if (a != NULL && q != p + n) {
		X509_ALGOR_free(a);
		a = NULL;
	}
	return a;
}

/* The next ContentInfo of an AuthenticatedSafe (as), when it is strict DER
 * of one of the two shapes a PFX's safes have: { id-data, [0] { OCTET
 * STRING } } or { id-encryptedData, [0] { SEQUENCE { version, { id-data,
 * algorithm, [0] IMPLICIT OCTET STRING (primitive) } } } }, nothing after.
 * s->alg stays NULL (alg, alg_len: the algorithm's DER). */
static bool outer_safe(mtk_reader *as, struct safe *s, const uint8_t **alg, size_t *alg_len)
{
	const uint8_t *start = as->data + as->off;
	mtk_reader ci, oid, ctx, in, eci, a, ct;
	uint64_t v;

	memset(s, 0, sizeof(*s));
	if (!mtk_der_enter(as, 0x30, &ci) || !mtk_der_enter(&ci, 0x06, &oid) ||
	    !mtk_der_enter(&ci, 0xa0, &ctx) || mtk_reader_left(&ci) != 0)
		return false;
	s->elem = start;
	s->elem_len = (size_t)(as->data + as->off - start);
	if (mtk_der_value_is(&oid, OID_DATA, sizeof(OID_DATA))) {
		if (!mtk_der_enter(&ctx, 0x04, &in) || mtk_reader_left(&ctx) != 0)
			return false;
		s->nid = NID_pkcs7_data;
		s->content = in.data + in.off;
		s->content_len = mtk_reader_left(&in);
		return true;
	}
	if (!mtk_der_value_is(&oid, OID_ENC_DATA, sizeof(OID_ENC_DATA)) ||
	    !mtk_der_enter(&ctx, 0x30, &in) || mtk_reader_left(&ctx) != 0 || !der_uint(&in, &v) ||
	    !mtk_der_enter(&in, 0x30, &eci) || mtk_reader_left(&in) != 0 ||
	    !mtk_der_enter(&eci, 0x06, &oid) || !mtk_der_value_is(&oid, OID_DATA, sizeof(OID_DATA)))
		return false;
	*alg = eci.data + eci.off;
	if (!mtk_der_enter(&eci, 0x30, &a))
		return false;
	*alg_len = (size_t)(eci.data + eci.off - *alg);
	if (!mtk_der_enter(&eci, 0x80, &ct) || mtk_reader_left(&eci) != 0)
		return false;
	s->nid = NID_pkcs7_encrypted;
	s->content = ct.data + ct.off;
	s->content_len = mtk_reader_left(&ct);
	return true;
}

/* The PFX read from its bytes. */
struct outer {
	mtk_reader safes;  /* inside the AuthenticatedSafe SEQUENCE */
	const uint8_t *as; /* the authSafe's content octets (what the MAC covers) */
	size_t as_len;
	bool has_mac;
	const uint8_t *mac_alg, *mac, *salt;
	size_t mac_alg_len, mac_len, salt_len;
	uint64_t iter;
};

/*
 * PFX { version 3, { id-data, [0] { OCTET STRING AuthenticatedSafe } },
 * MacData { { algorithm, OCTET STRING }, OCTET STRING salt, iterations
 * (1 to MTK_PBE_MAX_ITER) OPTIONAL } OPTIONAL } in strict DER, every
 * element of the AuthenticatedSafe an outer_safe and every algorithm one
 * OpenSSL decodes, nothing after any of it.  False for anything else.
 */
static bool outer_parse(const uint8_t *data, size_t len, struct outer *o)
{
	mtk_reader r, pfx, ci, oid, ctx, os, md, di, a, m, salt, scan;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	mtk_reader_init(&r, data, len);
	if (!mtk_der_enter(&r, 0x30, &pfx) || mtk_reader_left(&r) != 0 || !der_uint(&pfx, &v) ||
	    v != 3 || !mtk_der_enter(&pfx, 0x30, &ci) || !mtk_der_enter(&ci, 0x06, &oid) ||
	    !mtk_der_value_is(&oid, OID_DATA, sizeof(OID_DATA)) ||
	    !mtk_der_enter(&ci, 0xa0, &ctx) || mtk_reader_left(&ci) != 0 ||
	    !mtk_der_enter(&ctx, 0x04, &os) || mtk_reader_left(&ctx) != 0)
		return false;
	o->as = os.data + os.off;
	o->as_len = mtk_reader_left(&os);
	if (mtk_reader_left(&pfx) > 0) {
		o->has_mac = true;
		o->iter = 1;
		if (!mtk_der_enter(&pfx, 0x30, &md) || mtk_reader_left(&pfx) != 0 ||
		    !mtk_der_enter(&md, 0x30, &di))
			return false;
		o->mac_alg = di.data + di.off;
		if (!mtk_der_enter(&di, 0x30, &a))
			return false;
		o->mac_alg_len = (size_t)(di.data + di.off - o->mac_alg);
		if (!mtk_der_enter(&di, 0x04, &m) || mtk_reader_left(&di) != 0 ||
		    !mtk_der_enter(&md, 0x04, &salt))
			return false;
		o->mac = m.data + m.off;
		o->mac_len = mtk_reader_left(&m);
		o->salt = salt.data + salt.off;
		o->salt_len = mtk_reader_left(&salt);
		if (mtk_reader_left(&md) > 0 &&
		    (!der_uint(&md, &o->iter) || mtk_reader_left(&md) != 0))
			return false;
		if (o->iter == 0 || o->iter > (uint64_t)MTK_PBE_MAX_ITER)
			return false;
	}
	if (!mtk_der_enter(&os, 0x30, &o->safes) || mtk_reader_left(&os) != 0)
		return false;
	for (scan = o->safes; mtk_reader_left(&scan) > 0;) {
		struct safe s;
		const uint8_t *alg = NULL;
		size_t alg_len = 0;
		X509_ALGOR *x;

		if (!outer_safe(&scan, &s, &alg, &alg_len))
			return false;
		if (alg != NULL) {
			if ((x = algor_of(alg, alg_len)) == NULL)
				return false;
			X509_ALGOR_free(x);
		}
	}
	return true;
}

/* The MAC of o with the password pw (NULL: absent): MTK_OK when it
 * matches, MTK_E_BAD_PASSWORD when it does not, else unsupported. */
static mtk_rc outer_mac(const struct outer *o, int nid, const char *pw, size_t pwlen)
{
	uint8_t calc[MTK_P12_MAC_MAX];
	size_t clen = 0;
	mtk_rc rc = mtk_p12_mac(nid, pw, pwlen, o->salt, o->salt_len, o->iter, o->as, o->as_len,
				calc, &clen);

	if (rc != MTK_OK)
		return rc;
	if (clen != o->mac_len)
		return MTK_E_UNSUPPORTED;
	rc = CRYPTO_memcmp(calc, o->mac, clen) == 0 ? MTK_OK : MTK_E_BAD_PASSWORD;
	OPENSSL_cleanse(calc, sizeof(calc));
	return rc;
}

/*
 * lazy_certs: the PFX read without OpenSSL's PFX objects, which copy the
 * whole authenticated safe several times (d2i_PKCS12, the unpacking of the
 * safes and of each encrypted content).  The MAC is checked over the
 * authSafe's octets in place and each encrypted safe decrypted from the
 * input.  False, with nothing read (out as the caller set it up, apart
 * from the MAC's description and budget, which the caller sets up again),
 * when the PFX is not outer_parse's shape or the MAC does not check out
 * (wrong password, unknown digest): the caller reads it the usual way,
 * with the usual verdict.  True with *rc the result otherwise.
 */
static bool read_outer(const uint8_t *data, size_t len, struct rd *r, mtk_rc *rc)
{
	mtk_p12_bags *out = r->out;
	struct outer o;
	mtk_reader scan;
	int nid = NID_undef;

	if (!outer_parse(data, len, &o))
		return false;
	out->has_mac = o.has_mac;
	if (o.has_mac) {
		X509_ALGOR *a = algor_of(o.mac_alg, o.mac_alg_len);
		mtk_rc m;

		if (a == NULL)
			return false;
		nid = OBJ_obj2nid(a->algorithm);
		X509_ALGOR_free(a);
		out->mac_nid = nid;
		out->mac_iter = (long)o.iter;
		out->mac_salt_len = o.salt_len <= INT_MAX ? (int)o.salt_len : INT_MAX;
		if (!mtk_pbe_budget_take_count(&out->budget, o.iter))
			return false;
		if ((m = outer_mac(&o, nid, r->pw, r->pwlen)) == MTK_OK) {
			out->mac_ok = true;
		} else if (m == MTK_E_BAD_PASSWORD && r->pwlen == 0 &&
			   outer_mac(&o, nid, NULL, 0) == MTK_OK) {
			out->mac_ok = true;
			out->absent_pw = true;
			r->pw = NULL;
		} else {
			return false;
		}
	}
	*rc = MTK_OK;
	for (scan = o.safes; mtk_reader_left(&scan) > 0 && *rc == MTK_OK; r->safe++) {
		struct safe s;
		const uint8_t *alg = NULL;
		size_t alg_len = 0;
		X509_ALGOR *x = NULL;

		(void)outer_safe(&scan, &s, &alg, &alg_len);
		if (alg != NULL)
			s.alg = x = algor_of(alg, alg_len);
		*rc = read_safe(r, &s, true);
		X509_ALGOR_free(x);
		if (s.own_p7)
			PKCS7_free(s.p7);
	}
	return true;
}

static void bags_init(mtk_p12_bags *out, size_t len)
{
	memset(out, 0, sizeof(*out));
	out->budget = mtk_pbe_budget_for(len);
	snprintf(out->cert_enc, sizeof(out->cert_enc), "none");
	snprintf(out->key_enc, sizeof(out->key_enc), "none");
	snprintf(out->first_safe_enc, sizeof(out->first_safe_enc), "none");
}

mtk_rc mtk_p12_bags_read(const uint8_t *data, size_t len, const mtk_p12_read_opts *opts,
			 mtk_p12_bags *out)
{
	const unsigned char *p = data;
	PKCS12 *p12 = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	struct rd r = {.pw = opts->pass != NULL ? opts->pass : "",
		       .pwlen = opts->pass != NULL ? opts->passlen : 0,
		       .opts = opts,
		       .out = out};
	bool lazy = opts->alloc != NULL && !opts->structure_only;
	mtk_rc rc = MTK_OK;

	bags_init(out, len);
	if (lazy && !opts->outer_openssl && data != NULL) {
		if (read_outer(data, len, &r, &rc))
			goto out;
		bags_init(out, len);
		r.pw = opts->pass != NULL ? opts->pass : "";
		r.safe = 0;
	}
	if (len > LONG_MAX || (p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
		out->fail = MTK_P12F_DER;
		rc = MTK_E_PKCS12;
		goto out;
	}
	out->has_mac = PKCS12_mac_present(p12) == 1;
	if (out->has_mac && (rc = check_mac(p12, data, len, &r)) != MTK_OK)
		goto out;
	if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
		out->fail = MTK_P12F_AUTHSAFE;
		rc = MTK_E_PKCS12;
		goto out;
	}
	for (int i = 0; i < sk_PKCS7_num(safes) && rc == MTK_OK; i++) {
		struct safe s;

		r.safe = i;
		safe_from_p7(&s, sk_PKCS7_value(safes, i));
		rc = read_safe(&r, &s, lazy);
	}
out:
	ASN1_OBJECT_free(r.trusted_oid);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	ERR_clear_error();
	return rc;
}
