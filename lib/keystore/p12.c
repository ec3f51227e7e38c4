/*
 * p12.c - PKCS12 keystores as Java 17 reads and writes them (spec section 3),
 * through OpenSSL's PKCS12 API.
 *
 * Reading follows Java's loader: alias = friendlyName lower-cased; a cert bag
 * carrying Oracle's trusted-key-usage attribute is a trusted entry; other
 * certificates only serve as chain candidates (end-entity matched by
 * localKeyID, then issuers by name).  Legacy PFX (RC2-40, RC4) needs
 * OpenSSL's legacy provider: it is loaded on demand, only when decryption
 * with the default provider fails.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include "formats/pbe.h"
#include "formats/pkcs8.h"
#include "ks_int.h"

#define ORACLE_TRUSTED_OID "2.16.840.1.113894.746875.1.1"
#define P12_ITER	   10000

typedef struct p12bag {
	X509 *cert;
	EVP_PKEY *key;
	char *name; /* friendlyName (UTF-8) or NULL */
	uint8_t kid[64];
	int kid_len; /* -1: none */
	bool trusted;
	bool used;
	uint8_t *secret_p8; /* a secret key: its decrypted {0, algorithm, key} DER */
	size_t secret_len;
} p12bag;

typedef struct bagset {
	p12bag *b;
	size_t n, cap;
} bagset;

static void bagset_free(bagset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		X509_free(s->b[i].cert);
		EVP_PKEY_free(s->b[i].key);
		OPENSSL_free(s->b[i].name);
		OPENSSL_clear_free(s->b[i].secret_p8, s->b[i].secret_len);
	}
	free(s->b);
}

static p12bag *bagset_add(bagset *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		p12bag *p = realloc(s->b, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		s->b = p;
		s->cap = cap;
	}
	memset(&s->b[s->n], 0, sizeof(p12bag));
	s->b[s->n].kid_len = -1;
	return &s->b[s->n++];
}

static bool bag_trusted(const PKCS12_SAFEBAG *bag)
{
	const STACK_OF(X509_ATTRIBUTE) *attrs = PKCS12_SAFEBAG_get0_attrs(bag);
	ASN1_OBJECT *oid = OBJ_txt2obj(ORACLE_TRUSTED_OID, 1);
	bool found = false;

	for (int i = 0; oid != NULL && i < sk_X509_ATTRIBUTE_num(attrs); i++)
		if (OBJ_cmp(X509_ATTRIBUTE_get0_object(sk_X509_ATTRIBUTE_value(attrs, i)), oid) ==
		    0)
			found = true;
	ASN1_OBJECT_free(oid);
	return found;
}

static void bag_attrs(const PKCS12_SAFEBAG *bag, p12bag *b)
{
	const ASN1_TYPE *kid = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);

	b->name = PKCS12_get_friendlyname((PKCS12_SAFEBAG *)bag);
	if (kid != NULL && kid->type == V_ASN1_OCTET_STRING) {
		int n = ASN1_STRING_length(kid->value.octet_string);
		if (n >= 0 && n <= (int)sizeof(b->kid)) {
			memcpy(b->kid, ASN1_STRING_get0_data(kid->value.octet_string), (size_t)n);
			b->kid_len = n;
		}
	}
}

/* A SecretBag as Java 17 writes it (secretTypeId pkcs8ShroudedKeyBag, the
 * value an EncryptedPrivateKeyInfo of {0, algorithm, OCTET STRING key});
 * others are skipped. */
static mtk_rc read_secret_bag(const PKCS12_SAFEBAG *bag, const char *pass, int plen,
			       mtk_pbe_budget *budget, bagset *out)
{
	const ASN1_TYPE *v = PKCS12_SAFEBAG_get0_bag_obj(bag);
	const ASN1_OBJECT *t = PKCS12_SAFEBAG_get0_bag_type(bag);
	const X509_ALGOR *alg = NULL;
	const unsigned char *p;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	p12bag *b;
	int n;
	mtk_rc rc = MTK_OK;

	if (t == NULL || OBJ_obj2nid(t) != NID_pkcs8ShroudedKeyBag || v == NULL ||
	    v->type != V_ASN1_OCTET_STRING)
		return MTK_OK;
	p = ASN1_STRING_get0_data(v->value.octet_string);
	if ((sig = d2i_X509_SIG(NULL, &p, ASN1_STRING_length(v->value.octet_string))) == NULL)
		return MTK_E_PKCS12;
	X509_SIG_get0(sig, &alg, NULL);
	if (!mtk_pbe_budget_take(budget, alg)) {
		rc = MTK_E_TOO_LARGE;
		goto out;
	}
	p8 = mtk_p8_decrypt(sig, pass, (size_t)plen);
	if (p8 == NULL && plen == 0)
		p8 = mtk_p8_decrypt(sig, NULL, 0);
	if (p8 == NULL) {
		rc = MTK_E_BAD_PASSWORD;
		goto out;
	}
	if ((n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0) {
		rc = MTK_E_PKCS12;
		goto out;
	}
	if ((b = bagset_add(out)) == NULL) {
		OPENSSL_clear_free(der, (size_t)n);
		rc = MTK_E_NOMEM;
		goto out;
	}
	bag_attrs(bag, b);
	b->secret_p8 = der;
	b->secret_len = (size_t)n;
out:
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rc;
}

static mtk_rc read_bags(const STACK_OF(PKCS12_SAFEBAG) * bags, const char *pass, int plen,
			mtk_pbe_budget *budget, bagset *out, int depth)
{
	for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
		int nid = PKCS12_SAFEBAG_get_nid(bag);
		p12bag *b;

		if (nid == NID_safeContentsBag) {
			mtk_rc rc;
			if (depth > 4)
				return MTK_E_PKCS12;
			rc = read_bags(PKCS12_SAFEBAG_get0_safes(bag), pass, plen, budget, out, depth + 1);
			if (rc != MTK_OK)
				return rc;
			continue;
		}
		if (nid == NID_secretBag) {
			mtk_rc rc = read_secret_bag(bag, pass, plen, budget, out);
			if (rc != MTK_OK)
				return rc;
			continue;
		}
		if (nid != NID_pkcs8ShroudedKeyBag && nid != NID_keyBag && nid != NID_certBag)
			continue; /* CRL bags: not keystore entries */
		if (nid == NID_certBag && PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
			continue;
		if ((b = bagset_add(out)) == NULL)
			return MTK_E_NOMEM;
		bag_attrs(bag, b);
		if (nid == NID_certBag) {
			b->cert = PKCS12_SAFEBAG_get1_cert(bag);
			if (b->cert == NULL)
				return MTK_E_PKCS12;
			b->trusted = bag_trusted(bag);
		} else {
			PKCS8_PRIV_KEY_INFO *p8 = NULL;
			if (nid == NID_keyBag) {
				b->key = mtk_p8_to_key(PKCS12_SAFEBAG_get0_p8inf(bag));
			} else {
				const X509_SIG *sig = PKCS12_SAFEBAG_get0_pkcs8(bag);
				const X509_ALGOR *alg = NULL;

				if (sig != NULL)
					X509_SIG_get0(sig, &alg, NULL);
				if (!mtk_pbe_budget_take(budget, alg))
					return MTK_E_TOO_LARGE;
				p8 = sig ? mtk_p8_decrypt(sig, pass, (size_t)plen) : NULL;
				if (p8 == NULL && mtk_legacy_provider())
					p8 = PKCS12_decrypt_skey(bag, pass, plen);
				if (p8 == NULL && plen == 0) /* the absent encoding */
					p8 = PKCS12_decrypt_skey(bag, NULL, 0);
				if (p8 == NULL)
					return MTK_E_BAD_PASSWORD;
				b->key = mtk_p8_to_key(p8);
				PKCS8_PRIV_KEY_INFO_free(p8);
			}
			if (b->key == NULL)
				return MTK_E_PKCS12;
		}
	}
	return MTK_OK;
}

static void mac_name(PKCS12 *p12, char *out, size_t cap)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;

	PKCS12_get0_mac(NULL, &alg, NULL, NULL, p12);
	out[0] = '\0';
	if (alg != NULL) {
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		snprintf(out, cap, "%s", OBJ_nid2sn(OBJ_obj2nid(obj)));
		for (char *p = out; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
	}
}

/* Java's "Time <ms>" localKeyID as the entry date, else now_ms. */
static int64_t kid_date(const p12bag *b, int64_t now_ms)
{
	char num[32];
	size_t n;

	if (b->kid_len <= 5 || memcmp(b->kid, "Time ", 5) != 0)
		return now_ms;
	n = (size_t)b->kid_len - 5 < sizeof(num) - 1 ? (size_t)b->kid_len - 5 : sizeof(num) - 1;
	memcpy(num, b->kid + 5, n);
	num[n] = '\0';
	return strtoll(num, NULL, 10);
}

static const struct {
	const char *name, *oid;
} secret_algs[] = {
	{"AES", "2.16.840.1.101.3.4.1"},      {"DESede", "1.2.840.113549.3.7"},
	{"DES", "1.3.14.3.2.7"},	      {"HmacSHA1", "1.2.840.113549.2.7"},
	{"HmacSHA224", "1.2.840.113549.2.8"}, {"HmacSHA256", "1.2.840.113549.2.9"},
	{"HmacSHA384", "1.2.840.113549.2.10"}, {"HmacSHA512", "1.2.840.113549.2.11"},
};

/* secret_alg and secret_bits of an entry from its {0, algorithm, key} DER. */
static void secret_describe(const uint8_t *der, size_t len, mtk_ks_entry *e)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	const ASN1_OBJECT *obj = NULL;
	const unsigned char *k = NULL;
	int klen = 0;
	char oid[64];

	if (p8 != NULL && PKCS8_pkey_get0(&obj, &k, &klen, NULL, p8) == 1 &&
	    OBJ_obj2txt(oid, sizeof(oid), obj, 1) > 0) {
		for (size_t i = 0; i < sizeof(secret_algs) / sizeof(secret_algs[0]); i++)
			if (strcmp(oid, secret_algs[i].oid) == 0)
				snprintf(e->secret_alg, sizeof(e->secret_alg), "%s", secret_algs[i].name);
		if (e->secret_alg[0] == '\0')
			snprintf(e->secret_alg, sizeof(e->secret_alg), "%.31s", oid);
		e->secret_bits = klen * 8;
	}
	PKCS8_PRIV_KEY_INFO_free(p8);
	ERR_clear_error();
}

mtk_rc mtk_p12_decode(const uint8_t *data, size_t len, const char *name,
		      const mtk_secret *store_pass, mtk_keystore **out, mtk_err *err)
{
	const unsigned char *p = data;
	PKCS12 *p12 = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	bagset bs = {NULL, 0, 0};
	mtk_pbe_budget budget = mtk_pbe_budget_for(len); /* the file's key-derivation work */
	mtk_keystore *ks = NULL;
	const char *pass;
	int plen;
	/* PKCS#12 keeps no entry dates (only Java's "Time <ms>" localKeyID):
	 * like Java's loader, the others get the time the store is read. */
	int64_t now_ms = (int64_t)time(NULL) * 1000;
	mtk_rc rc;

	if (len > LONG_MAX || (p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
		rc = mtk_err_set(err, MTK_E_PKCS12, "%s: not a valid PKCS12 file", name);
		goto out;
	}
	/* No password: the empty one (both encodings), as the PFX files of
	 * openssl -passout pass:, certtool --empty-password/--null-password,
	 * python's NoEncryption and Java's password-less trust stores have. */
	pass = store_pass != NULL ? store_pass->s : "";
	plen = store_pass != NULL ? (int)store_pass->len : 0;
	if ((ks = mtk_keystore_new(MTK_KS_PKCS12)) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
		goto out;
	}
	if (PKCS12_mac_present(p12)) {
		const ASN1_INTEGER *mac_iter = NULL;
		bool ok;

		PKCS12_get0_mac(NULL, NULL, NULL, &mac_iter, p12);
		if (!mtk_pbe_budget_take_mac(&budget, mac_iter)) {
			rc = mtk_pbe_budget_refused(&budget, err, name, "MAC");
			goto out;
		}
		ok = mtk_p12_verify_mac(p12, data, len, pass, (size_t)plen);
		if (!ok && plen == 0)
			ok = mtk_p12_verify_mac(p12, data, len, NULL, 0);
		if (!ok && store_pass == NULL) {
			rc = mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
					 "%s: the keystore password is needed", name);
			goto out;
		}
		if (!ok) {
			rc = mtk_err_set(
			    err, MTK_E_INTEGRITY,
			    "%s: keystore password is incorrect or the file was altered", name);
			goto out;
		}
		mac_name(p12, ks->p12_mac, sizeof(ks->p12_mac));
	}
	ks->verified = true;
	if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
		rc = mtk_err_set(err, MTK_E_PKCS12, "%s: malformed authenticated safe", name);
		goto out;
	}
	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
		int nid = OBJ_obj2nid(p7->type);

		if (nid == NID_pkcs7_data) {
			bags = PKCS12_unpack_p7data(p7);
		} else if (nid == NID_pkcs7_encrypted) {
			if (p7->d.encrypted != NULL && p7->d.encrypted->enc_data != NULL &&
			    !mtk_pbe_budget_take(&budget, p7->d.encrypted->enc_data->algorithm)) {
				rc = mtk_pbe_budget_refused(&budget, err, name, "certificate encryption");
				goto out;
			}
			bags = mtk_p7_decrypt_bags(p7, pass, (size_t)plen);
			if (bags == NULL && mtk_legacy_provider()) {
				bags = PKCS12_unpack_p7encdata(p7, pass, plen);
				if (bags == NULL && plen == 0) /* the absent encoding */
					bags = PKCS12_unpack_p7encdata(p7, NULL, 0);
				if (bags != NULL)
					ks->p12_legacy = true;
			}
		} else {
			continue;
		}
		if (bags == NULL && store_pass == NULL && !PKCS12_mac_present(p12)) {
			rc = mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
					 "%s: the keystore password is needed", name);
			goto out;
		}
		if (bags == NULL) {
			rc = mtk_err_set(err, MTK_E_PKCS12,
					 "%s: cannot decrypt the certificates (wrong password or "
					 "unsupported algorithm)",
					 name);
			goto out;
		}
		rc = read_bags(bags, pass, plen, &budget, &bs, 0);
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		if (rc == MTK_E_TOO_LARGE) {
			rc = mtk_pbe_budget_refused(&budget, err, name, "private key");
			goto out;
		}
		if (rc != MTK_OK) {
			rc = mtk_err_set(err,
					 rc != MTK_E_BAD_PASSWORD ? rc
					 : store_pass == NULL	  ? MTK_E_PASSWORD_NEEDED
								  : MTK_E_KEY_PASSWORD,
					 "%s: cannot read a key or certificate bag", name);
			goto out;
		}
	}
	/* Key entries, then trusted ones, in bag order. */
	for (size_t i = 0; i < bs.n; i++) {
		p12bag *kb = &bs.b[i];
		STACK_OF(X509) * chain;
		X509 *ee = NULL;
		char alias[32];
		const char *a;
		mtk_ks_entry *e;

		if (kb->key == NULL)
			continue;
		for (size_t j = 0; j < bs.n && ee == NULL; j++) {
			p12bag *cb = &bs.b[j];
			if (cb->cert != NULL && kb->kid_len >= 0 && cb->kid_len == kb->kid_len &&
			    memcmp(cb->kid, kb->kid, (size_t)kb->kid_len) == 0) {
				ee = cb->cert;
				cb->used = true;
			}
		}
		for (size_t j = 0; j < bs.n && ee == NULL; j++) {
			p12bag *cb = &bs.b[j];
			if (cb->cert != NULL && !cb->trusted &&
			    X509_check_private_key(cb->cert, kb->key) == 1) {
				ee = cb->cert;
				cb->used = true;
			}
		}
		ERR_clear_error();
		if ((chain = sk_X509_new_null()) == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
			goto out;
		}
		/* Issuers by name (and signature), up to a self-signed certificate. */
		for (X509 *cur = ee; cur != NULL && sk_X509_num(chain) < 16;) {
			X509 *next = NULL;
			if (!sk_X509_push(chain, cur)) {
				sk_X509_free(chain);
				rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
				goto out;
			}
			X509_up_ref(cur);
			if (X509_check_issued(cur, cur) == X509_V_OK)
				break;
			for (size_t j = 0; j < bs.n && next == NULL; j++) {
				X509 *c = bs.b[j].cert;
				if (c != NULL && c != cur &&
				    X509_check_issued(c, cur) == X509_V_OK) {
					next = c;
					bs.b[j].used = true;
				}
			}
			cur = next;
		}
		snprintf(alias, sizeof(alias), "%zu", ks->count + 1);
		a = kb->name ? kb->name : alias;
		{
			char *low = mtk_ks_lower(a);
			if (low == NULL || (rc = mtk_ks_slot(ks, low, &e)) != MTK_OK) {
				free(low);
				sk_X509_pop_free(chain, X509_free);
				rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
				goto out;
			}
			e->alias = low;
			mtk_ks_slot_named(ks, e);
		}
		e->kind = MTK_KSE_KEY;
		e->key = kb->key;
		kb->key = NULL;
		e->chain = chain;
		e->date_ms = now_ms;
		if (kb->kid_len > 5 && memcmp(kb->kid, "Time ", 5) == 0) {
			char num[32];
			size_t n = (size_t)kb->kid_len - 5 < sizeof(num) - 1
				       ? (size_t)kb->kid_len - 5
				       : sizeof(num) - 1;
			memcpy(num, kb->kid + 5, n);
			num[n] = '\0';
			e->date_ms = strtoll(num, NULL, 10);
		}
	}
	for (size_t i = 0; i < bs.n; i++) {
		p12bag *cb = &bs.b[i];
		char alias[32];
		mtk_ks_entry *e;
		char *low;

		if (cb->cert == NULL)
			continue;
		if (!cb->trusted) {
			if (!cb->used)
				ks->p12_loose_certs++;
			continue;
		}
		snprintf(alias, sizeof(alias), "%zu", ks->count + 1);
		low = mtk_ks_lower(cb->name ? cb->name : alias);
		if (low == NULL || (rc = mtk_ks_slot(ks, low, &e)) != MTK_OK) {
			free(low);
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
			goto out;
		}
		e->alias = low;
		mtk_ks_slot_named(ks, e);
		e->kind = MTK_KSE_TRUSTED;
		e->date_ms = now_ms;
		if ((e->chain = sk_X509_new_null()) == NULL || !sk_X509_push(e->chain, cb->cert)) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
			goto out;
		}
		X509_up_ref(cb->cert);
	}
	for (size_t i = 0; i < bs.n; i++) {
		p12bag *sb = &bs.b[i];
		char alias[32];
		mtk_ks_entry *e;
		char *low;

		if (sb->secret_p8 == NULL)
			continue;
		snprintf(alias, sizeof(alias), "%zu", ks->count + 1);
		low = mtk_ks_lower(sb->name ? sb->name : alias);
		if (low == NULL || (rc = mtk_ks_slot(ks, low, &e)) != MTK_OK) {
			free(low);
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
			goto out;
		}
		e->alias = low;
		e->kind = MTK_KSE_SECRET;
		e->date_ms = kid_date(sb, now_ms);
		secret_describe(sb->secret_p8, sb->secret_len, e);
		e->secret_plain = sb->secret_p8; /* secret_raw NULL: the PKCS#12 form */
		e->secret_plain_len = sb->secret_len;
		sb->secret_p8 = NULL;
		sb->secret_len = 0;
	}
	*out = ks;
	ks = NULL;
	rc = MTK_OK;
out:
	ERR_clear_error();
	bagset_free(&bs);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	mtk_keystore_free(ks);
	return rc;
}

static mtk_rc add_cert_bag(STACK_OF(PKCS12_SAFEBAG) * *bags, X509 *x, const char *name,
			   const char *kid, bool trusted)
{
	PKCS12_SAFEBAG *bag = PKCS12_add_cert(bags, x);

	if (bag == NULL)
		return MTK_E_CRYPTO;
	if (name != NULL && !PKCS12_add_friendlyname_utf8(bag, name, -1))
		return MTK_E_CRYPTO;
	if (kid != NULL && !PKCS12_add_localkeyid(bag, (unsigned char *)kid, (int)strlen(kid)))
		return MTK_E_CRYPTO;
	if (trusted) {
		/* Oracle's trusted-key-usage attribute: SET { anyExtendedKeyUsage }.
		 * OpenSSL 3.0 has no NID for it, hence the text form. */
		ASN1_OBJECT *any = OBJ_nid2obj(NID_anyExtendedKeyUsage);
		if (any == NULL || !PKCS12_add1_attr_by_txt(bag, ORACLE_TRUSTED_OID, V_ASN1_OBJECT,
							    (const unsigned char *)any, -1))
			return MTK_E_CRYPTO;
	}
	return MTK_OK;
}

static const char *secret_alg_oid(const char *alg, size_t n)
{
	for (size_t i = 0; i < sizeof(secret_algs) / sizeof(secret_algs[0]); i++)
		if (strlen(secret_algs[i].name) == n && memcmp(secret_algs[i].name, alg, n) == 0)
			return secret_algs[i].oid;
	return NULL;
}

/* A JCEKS secret key as Java's PKCS12 keeps it: a SecretBag whose value is
 * an EncryptedPrivateKeyInfo of { 0, AlgorithmIdentifier, OCTET STRING key }. */
static mtk_rc add_secret_bag(STACK_OF(PKCS12_SAFEBAG) * *bags, const mtk_ks_entry *e,
			     const char *pass, int plen, const char *name, const char *kid,
			     mtk_err *err)
{
	jser_capture inner[] = {{"algorithm", NULL, 0, false}, {"key", NULL, 0, false}};
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	PKCS12_SAFEBAG *bag = NULL;
	ASN1_OBJECT *obj = NULL;
	unsigned char *kb = NULL, *der = NULL;
	const char *oid;
	mtk_reader r;
	int n;
	mtk_rc rc = MTK_E_CRYPTO;

	if (e->secret_raw == NULL && e->secret_plain != NULL) {
		/* Read from a PKCS12: already {0, algorithm, key}. */
		const unsigned char *p = e->secret_plain;
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)e->secret_plain_len);
		if (p8 == NULL)
			goto out;
		goto seal;
	}
	mtk_reader_init(&r, e->secret_plain, e->secret_plain_len);
	if (e->secret_plain == NULL || mtk_jser_read(&r, inner, 2) != MTK_OK || !inner[0].found ||
	    !inner[1].found || inner[1].len == 0 || inner[1].len > 1024)
		return mtk_err_set(err, MTK_E_KEY_PASSWORD,
				   "alias %s: the secret key could not be opened with the password "
				   "given; give its password (--key-pass)",
				   e->alias);
	if ((oid = secret_alg_oid((const char *)inner[0].p, inner[0].len)) == NULL)
		return mtk_err_set(err, MTK_E_UNSUPPORTED,
				   "alias %s: a %.*s secret key has no PKCS12 form here (AES, DESede, "
				   "DES and HmacSHA* have)",
				   e->alias, (int)(inner[0].len < 32 ? inner[0].len : 32),
				   (const char *)inner[0].p);
	if ((p8 = PKCS8_PRIV_KEY_INFO_new()) == NULL || (obj = OBJ_txt2obj(oid, 1)) == NULL ||
	    (kb = OPENSSL_malloc(inner[1].len)) == NULL)
		goto out;
	memcpy(kb, inner[1].p, inner[1].len);
	if (!PKCS8_pkey_set0(p8, obj, 0, V_ASN1_UNDEF, NULL, kb, (int)inner[1].len))
		goto out;
	obj = NULL;
	kb = NULL;
seal:
	sig = PKCS8_encrypt_ex(-1, EVP_aes_256_cbc(), pass, plen, NULL, 0, P12_ITER, p8, NULL, NULL);
	if (sig == NULL || (n = i2d_X509_SIG(sig, &der)) <= 0)
		goto out;
	bag = PKCS12_SAFEBAG_create_secret(NID_pkcs8ShroudedKeyBag, V_ASN1_OCTET_STRING, der, n);
	if (bag == NULL || !PKCS12_add_friendlyname_utf8(bag, name, -1) ||
	    !PKCS12_add_localkeyid(bag, (unsigned char *)kid, (int)strlen(kid)) ||
	    (*bags == NULL && (*bags = sk_PKCS12_SAFEBAG_new_null()) == NULL) ||
	    !sk_PKCS12_SAFEBAG_push(*bags, bag))
		goto out;
	bag = NULL;
	rc = MTK_OK;
out:
	if (rc != MTK_OK)
		mtk_err_set(err, rc, "alias %s: cannot write the secret key", e->alias);
	PKCS12_SAFEBAG_free(bag);
	OPENSSL_free(der);
	X509_SIG_free(sig);
	ASN1_OBJECT_free(obj);
	OPENSSL_clear_free(kb, inner[1].len);
	PKCS8_PRIV_KEY_INFO_free(p8); /* wipes the key bytes it owns */
	return rc;
}

mtk_rc mtk_p12_encode(const mtk_keystore *ks, const mtk_secret *store_pass, mtk_buf *out,
		      mtk_err *err)
{
	STACK_OF(PKCS12_SAFEBAG) *kbags = NULL, *cbags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	const char *pass = store_pass->s;
	int n;
	mtk_rc rc = MTK_OK;

	if (!mtk_ks_pass_ascii(store_pass))
		return mtk_err_set(
		    err, MTK_E_INVALID_ARG,
		    "a PKCS12 password must be printable ASCII (Java 17 refuses others)");
	for (size_t i = 0; i < ks->count; i++) {
		const mtk_ks_entry *e = &ks->entries[i];
		STACK_OF(X509) *lazy = NULL, *chain;
		char kid[48];
		char *low;

		if (e->kind == MTK_KSE_KEY && e->key == NULL) {
			rc = mtk_err_set(
			    err, MTK_E_KEY_PASSWORD,
			    "alias %s: the key is locked; give its password (--key-pass)",
			    e->alias);
			goto done;
		}
		if ((low = mtk_ks_lower(e->alias)) == NULL) {
			rc = MTK_E_NOMEM;
			goto fail;
		}
		/* Java's own localKeyID form; the index keeps equal dates apart. */
		snprintf(kid, sizeof(kid), "Time %lld", (long long)e->date_ms + (long long)i);
		if (e->kind == MTK_KSE_SECRET) {
			rc = add_secret_bag(&kbags, e, pass, (int)store_pass->len, low, kid, err);
			free(low);
			if (rc != MTK_OK)
				goto done;
			continue;
		}
		/* An entry of a store read lazily: its certificates decoded here. */
		if (e->chain == NULL && (rc = mtk_ks_entry_decode_chain(e, &lazy, err)) != MTK_OK) {
			free(low);
			goto done;
		}
		chain = e->chain != NULL ? e->chain : lazy;
		if (e->kind == MTK_KSE_KEY) {
			PKCS12_SAFEBAG *bag = PKCS12_add_key_ex(&kbags, e->key, 0, P12_ITER,
								NID_aes_256_cbc, pass, NULL, NULL);
			rc = MTK_E_CRYPTO;
			if (bag != NULL && PKCS12_add_friendlyname_utf8(bag, low, -1) &&
			    PKCS12_add_localkeyid(bag, (unsigned char *)kid, (int)strlen(kid)))
				rc = MTK_OK;
			for (int j = 0; rc == MTK_OK && j < sk_X509_num(chain); j++)
				rc = add_cert_bag(&cbags, sk_X509_value(chain, j),
						  j == 0 ? low : NULL, j == 0 ? kid : NULL, false);
		} else {
			rc = add_cert_bag(&cbags, sk_X509_value(chain, 0), low, NULL, true);
		}
		sk_X509_pop_free(lazy, X509_free);
		lazy = NULL;
		free(low);
		if (rc != MTK_OK)
			goto fail;
	}
	rc = MTK_E_CRYPTO;
	if (cbags != NULL &&
	    !PKCS12_add_safe_ex(&safes, cbags, NID_aes_256_cbc, P12_ITER, pass, NULL, NULL))
		goto fail;
	if (kbags != NULL && !PKCS12_add_safe_ex(&safes, kbags, -1, 0, NULL, NULL, NULL))
		goto fail;
	if (safes == NULL && (safes = sk_PKCS7_new_null()) == NULL)
		goto fail;
	if ((p12 = PKCS12_add_safes_ex(safes, 0, NULL, NULL)) == NULL)
		goto fail;
	if (!PKCS12_set_mac(p12, pass, (int)store_pass->len, NULL, 0, P12_ITER, EVP_sha256()))
		goto fail;
	if ((n = i2d_PKCS12(p12, &der)) <= 0)
		goto fail;
	out->len = 0;
	out->secret = true;
	rc = mtk_buf_append(out, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	if (rc != MTK_OK)
		goto fail;
	goto done;
fail:
	rc = mtk_err_set(err, rc == MTK_OK ? MTK_E_CRYPTO : rc, "writing PKCS12");
done:
	sk_PKCS12_SAFEBAG_pop_free(kbags, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(cbags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	return rc;
}
