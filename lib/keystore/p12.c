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

#include "formats/p12bags.h"
#include "formats/pbe.h"
#include "formats/pkcs8.h"
#include "ks_int.h"

#define P12_ITER	   10000

/* The MAC's digest as Java names it in lower case ("sha256"). */
static void mac_name(int nid, char *out, size_t cap)
{
	snprintf(out, cap, "%s", nid != NID_undef ? OBJ_nid2sn(nid) : "");
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
}

/* Java's "Time <ms>" localKeyID as the entry date, else now_ms. */
static int64_t kid_date(const mtk_p12_bag *b, int64_t now_ms)
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

/* The decoder's failure in Java's words. */
static mtk_rc decode_refused(const mtk_p12_bags *bs, mtk_rc rc, const char *name,
			     const mtk_secret *store_pass, mtk_err *err)
{
	switch (bs->fail) {
	case MTK_P12F_DER:
		return mtk_err_set(err, MTK_E_PKCS12, "%s: not a valid PKCS12 file", name);
	case MTK_P12F_MAC_BUDGET:
		return mtk_pbe_budget_refused(&bs->budget, err, name, "MAC");
	case MTK_P12F_MAC:
		if (store_pass == NULL)
			return mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
					   "%s: the keystore password is needed", name);
		return mtk_err_set(err, MTK_E_INTEGRITY,
				   "%s: keystore password is incorrect or the file was altered",
				   name);
	case MTK_P12F_AUTHSAFE:
		return mtk_err_set(err, MTK_E_PKCS12, "%s: malformed authenticated safe", name);
	case MTK_P12F_SAFE_BUDGET:
		return mtk_pbe_budget_refused(&bs->budget, err, name, "certificate encryption");
	case MTK_P12F_SAFE_DECRYPT:
	case MTK_P12F_SAFE_DECODE:
		if (store_pass == NULL && !bs->has_mac)
			return mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
					   "%s: the keystore password is needed", name);
		return mtk_err_set(err, MTK_E_PKCS12,
				   "%s: cannot decrypt the certificates (wrong password or "
				   "unsupported algorithm)",
				   name);
	case MTK_P12F_BAG_BUDGET:
		return mtk_pbe_budget_refused(&bs->budget, err, name, "private key");
	default:
		return mtk_err_set(err,
				   rc == MTK_E_NOMEM		? MTK_E_NOMEM
				   : rc != MTK_E_BAD_PASSWORD ? MTK_E_PKCS12
				   : store_pass == NULL	? MTK_E_PASSWORD_NEEDED
								: MTK_E_KEY_PASSWORD,
				   "%s: cannot read a key or certificate bag", name);
	}
}

static void *arena(void *ks, size_t n)
{
	return mtk_ks_arena_alloc(ks, n);
}

/* A trusted entry of a lazily read store: its certificate's bytes and its
 * alias in the keystore's arena (no allocation of its own). */
static mtk_rc trusted_lazy(mtk_keystore *ks, const mtk_p12_bag *cb, const char *a, int64_t date_ms)
{
	size_t n = strlen(a);
	char *low = mtk_ks_arena_alloc(ks, n + 1);
	struct mtk_ks_der *der = mtk_ks_arena_alloc(ks, sizeof(*der));
	mtk_ks_entry *e;
	mtk_rc rc;

	if (low == NULL || der == NULL)
		return MTK_E_NOMEM;
	for (size_t i = 0; i <= n; i++)
		low[i] = mtk_ks_lower_c(a[i]);
	if ((rc = mtk_ks_slot(ks, low, &e)) != MTK_OK)
		return rc;
	der->p = cb->der;
	der->len = cb->der_len;
	e->alias = low;
	e->kind = MTK_KSE_TRUSTED;
	e->date_ms = date_ms;
	e->der = der;
	e->nder = 1;
	e->borrowed = true;
	/* Written back as it was read when that is what the encoder would
	 * write: a named bag, without a localKeyId (which a new key entry's
	 * could repeat). */
	if (cb->name != NULL && cb->kid_len < 0) {
		e->p12_bag.p = cb->bag_der;
		e->p12_bag.len = cb->bag_der_len;
	}
	mtk_ks_slot_named(ks, e);
	return MTK_OK;
}

mtk_rc mtk_p12_decode(const uint8_t *data, size_t len, const char *name,
		      const mtk_secret *store_pass, unsigned flags, mtk_keystore **out,
		      mtk_err *err)
{
	/* No password: the empty one (both encodings), as the PFX files of
	 * openssl -passout pass:, certtool --empty-password/--null-password,
	 * python's NoEncryption and Java's password-less trust stores have. */
	mtk_p12_read_opts ro = {.pass = store_pass != NULL ? store_pass->s : "",
				.passlen = store_pass != NULL ? store_pass->len : 0,
				.secrets = true};
	mtk_p12_bags bs;
	bool *used = NULL;
	mtk_keystore *ks = NULL;
	/* PKCS#12 keeps no entry dates (only Java's "Time <ms>" localKeyID):
	 * like Java's loader, the others get the time the store is read. */
	int64_t now_ms = (int64_t)time(NULL) * 1000;
	mtk_rc rc;

	/* The keystore first: lazily, the certificates' bytes go straight
	 * into its arena. */
	memset(&bs, 0, sizeof(bs));
	if ((ks = mtk_keystore_new(MTK_KS_PKCS12)) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
		goto out;
	}
	if (flags & MTK_KS_READ_LAZY) {
		ro.alloc = arena;
		ro.alloc_ctx = ks;
	}
	if ((rc = mtk_p12_bags_read(data, len, &ro, &bs)) != MTK_OK) {
		rc = decode_refused(&bs, rc, name, store_pass, err);
		goto out;
	}
	if ((used = calloc(bs.n + 1, sizeof(*used))) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
		goto out;
	}
	mtk_ks_reserve(ks, bs.n);
	if (bs.has_mac)
		mac_name(bs.mac_nid, ks->p12_mac, sizeof(ks->p12_mac));
	ks->verified = true;
	ks->p12_legacy = bs.legacy;
	/* Key entries, then trusted ones, in bag order. */
	for (size_t i = 0; i < bs.n; i++) {
		mtk_p12_bag *kb = &bs.b[i];
		STACK_OF(X509) * chain;
		X509 *ee = NULL;
		char alias[32];
		const char *a;
		mtk_ks_entry *e;

		if (kb->key == NULL)
			continue;
		for (size_t j = 0; j < bs.n && ee == NULL; j++) {
			mtk_p12_bag *cb = &bs.b[j];
			if (mtk_p12_bag_has_cert(cb) && kb->kid_len >= 0 &&
			    cb->kid_len == kb->kid_len &&
			    memcmp(cb->kid, kb->kid, (size_t)kb->kid_len) == 0) {
				if ((ee = mtk_p12_bag_cert(cb)) == NULL)
					goto bad_cert;
				used[j] = true;
			}
		}
		for (size_t j = 0; j < bs.n && ee == NULL; j++) {
			mtk_p12_bag *cb = &bs.b[j];
			if (mtk_p12_bag_has_cert(cb) && !cb->trusted) {
				X509 *c = mtk_p12_bag_cert(cb);
				if (c == NULL)
					goto bad_cert;
				if (X509_check_private_key(c, kb->key) == 1) {
					ee = c;
					used[j] = true;
				}
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
				X509 *c;
				if (!mtk_p12_bag_has_cert(&bs.b[j]))
					continue;
				if ((c = mtk_p12_bag_cert(&bs.b[j])) == NULL) {
					sk_X509_pop_free(chain, X509_free);
					goto bad_cert;
				}
				if (c != cur && X509_check_issued(c, cur) == X509_V_OK) {
					next = c;
					used[j] = true;
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
		mtk_p12_bag *cb = &bs.b[i];
		char alias[32];
		mtk_ks_entry *e;
		char *low;

		if (!mtk_p12_bag_has_cert(cb))
			continue;
		if (!cb->trusted) {
			if (!used[i])
				ks->p12_loose_certs++;
			continue;
		}
		snprintf(alias, sizeof(alias), "%zu", ks->count + 1);
		if (cb->cert == NULL) {
			rc = trusted_lazy(ks, cb, cb->name ? cb->name : alias, now_ms);
			if (rc != MTK_OK) {
				rc = mtk_err_set(err, rc, "%s", name);
				goto out;
			}
			continue;
		}
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
		mtk_p12_bag *sb = &bs.b[i];
		char alias[32];
		mtk_ks_entry *e;
		char *low;

		if (sb->secret == NULL)
			continue;
		snprintf(alias, sizeof(alias), "%zu", ks->count + 1);
		low = mtk_ks_lower(sb->name ? sb->name : alias);
		if (low == NULL || (rc = mtk_ks_slot(ks, low, &e)) != MTK_OK) {
			free(low);
			rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
			goto out;
		}
		e->alias = low;
		mtk_ks_slot_named(ks, e);
		e->kind = MTK_KSE_SECRET;
		e->date_ms = kid_date(sb, now_ms);
		secret_describe(sb->secret, sb->secret_len, e);
		e->secret_plain = sb->secret; /* secret_raw NULL: the PKCS#12 form */
		e->secret_plain_len = sb->secret_len;
		sb->secret = NULL;
		sb->secret_len = 0;
	}
	*out = ks;
	ks = NULL;
	rc = MTK_OK;
	goto out;
bad_cert:
	/* As the certificate bag's decoding failure is told when read eagerly. */
	rc = mtk_err_set(err, MTK_E_PKCS12, "%s: cannot read a key or certificate bag", name);
out:
	ERR_clear_error();
	mtk_p12_bags_free(&bs);
	free(used);
	mtk_keystore_free(ks);
	return rc;
}

static const char *secret_alg_oid(const char *alg, size_t n)
{
	for (size_t i = 0; i < sizeof(secret_algs) / sizeof(secret_algs[0]); i++)
		if (strlen(secret_algs[i].name) == n && memcmp(secret_algs[i].name, alg, n) == 0)
			return secret_algs[i].oid;
	return NULL;
}

/* A secret key as Java's PKCS12 keeps it (the encoder shrouds it into a
 * SecretBag): the DER of { 0, AlgorithmIdentifier, OCTET STRING key }.  Read
 * from a PKCS12 it is that already (borrowed, *owned NULL); from a JCEKS it
 * is built here (*owned, to be wiped and freed by the caller). */
static mtk_rc secret_der(const mtk_ks_entry *e, const uint8_t **der, size_t *len,
			 uint8_t **owned, mtk_err *err)
{
	jser_capture inner[] = {{"algorithm", NULL, 0, false}, {"key", NULL, 0, false}};
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	ASN1_OBJECT *obj = NULL;
	unsigned char *kb = NULL, *out = NULL;
	const char *oid;
	mtk_reader r;
	int n;
	mtk_rc rc = MTK_E_CRYPTO;

	*owned = NULL;
	if (e->secret_raw == NULL && e->secret_plain != NULL) {
		*der = e->secret_plain;
		*len = e->secret_plain_len;
		return MTK_OK;
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
	if ((n = i2d_PKCS8_PRIV_KEY_INFO(p8, &out)) <= 0)
		goto out;
	*der = *owned = out;
	*len = (size_t)n;
	rc = MTK_OK;
out:
	if (rc != MTK_OK)
		mtk_err_set(err, rc, "alias %s: cannot write the secret key", e->alias);
	ASN1_OBJECT_free(obj);
	OPENSSL_clear_free(kb, inner[1].len);
	PKCS8_PRIV_KEY_INFO_free(p8); /* wipes the key bytes it owns */
	return rc;
}

/* Bags of one store: grown as entries add them. */
struct bagv {
	mtk_p12_bag *b;
	size_t n, cap;
};

static mtk_p12_bag *bag_push(struct bagv *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		mtk_p12_bag *nb = realloc(v->b, cap * sizeof(*nb));
		if (nb == NULL)
			return NULL;
		v->b = nb;
		v->cap = cap;
	}
	memset(&v->b[v->n], 0, sizeof(v->b[0]));
	v->b[v->n].kid_len = -1;
	return &v->b[v->n++];
}

mtk_rc mtk_p12_encode(const mtk_keystore *ks, const mtk_secret *store_pass, mtk_buf *out,
		      mtk_err *err)
{
	/* Java 17's choices: PBES2 AES-256 (OpenSSL's default PRF and salt)
	 * for keys and secrets, an AES-256 certificate safe with 8-byte salt,
	 * an HMAC-SHA256 MAC, 10,000 iterations throughout. */
	mtk_p12_write_opts o = {.pass = store_pass->s, .passlen = store_pass->len,
				.key_pbe = -1, .key_cipher = EVP_aes_256_cbc(),
				.key_iter = P12_ITER, .key_salt_len = 0,
				.cert_pbe = NID_aes_256_cbc, .cert_iter = P12_ITER,
				.cert_salt_len = PKCS12_SALT_LEN,
				.mac_md = EVP_sha256(), .mac_iter = P12_ITER, .mac_salt_len = 0};
	struct bagv v = {0};
	struct {
		char *name;	      /* the alias lower-cased */
		STACK_OF(X509) *lazy; /* certificates decoded here */
		uint8_t *owned;	      /* a secret's DER built here */
		size_t owned_len;
	} *own = NULL;
	mtk_rc rc = MTK_OK;

	if (!mtk_ks_pass_ascii(store_pass))
		return mtk_err_set(
		    err, MTK_E_INVALID_ARG,
		    "a PKCS12 password must be printable ASCII (Java 17 refuses others)");
	if ((own = calloc(ks->count + 1, sizeof(*own))) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "writing PKCS12");
		goto done;
	}
	for (size_t i = 0; i < ks->count; i++) {
		const mtk_ks_entry *e = &ks->entries[i];
		STACK_OF(X509) *chain;
		mtk_p12_bag *b;
		char kid[48];
		bool as_read;

		if (e->kind == MTK_KSE_KEY && e->key == NULL) {
			rc = mtk_err_set(
			    err, MTK_E_KEY_PASSWORD,
			    "alias %s: the key is locked; give its password (--key-pass)",
			    e->alias);
			goto done;
		}
		if ((own[i].name = mtk_ks_lower(e->alias)) == NULL) {
			rc = mtk_err_set(err, MTK_E_NOMEM, "writing PKCS12");
			goto done;
		}
		/* Java's own localKeyID form; the index keeps equal dates apart. */
		snprintf(kid, sizeof(kid), "Time %lld", (long long)e->date_ms + (long long)i);
		if (e->kind == MTK_KSE_SECRET) {
			const uint8_t *der = NULL;
			size_t len = 0;
			if ((rc = secret_der(e, &der, &len, &own[i].owned, err)) != MTK_OK)
				goto done;
			own[i].owned_len = own[i].owned != NULL ? len : 0;
			if ((b = bag_push(&v)) == NULL) {
				rc = mtk_err_set(err, MTK_E_NOMEM, "writing PKCS12");
				goto done;
			}
			*b = (mtk_p12_bag){.kind = MTK_P12B_SECRET, .secret = (uint8_t *)der,
					   .secret_len = len, .name = own[i].name,
					   .kid_len = (int)strlen(kid)};
			memcpy(b->kid, kid, strlen(kid));
			continue;
		}
		/* An entry of a store read lazily: a PKCS12 store's certificates
		 * are written from their bytes as read; another type's are
		 * decoded here (checked before they go into a new format). */
		as_read = e->chain == NULL && e->nder > 0 && ks->type == MTK_KS_PKCS12;
		if (e->chain == NULL && !as_read &&
		    (rc = mtk_ks_entry_decode_chain(e, &own[i].lazy, err)) != MTK_OK)
			goto done;
		chain = e->chain != NULL ? e->chain : own[i].lazy;
		if (e->kind == MTK_KSE_KEY) {
			if ((b = bag_push(&v)) == NULL) {
				rc = mtk_err_set(err, MTK_E_NOMEM, "writing PKCS12");
				goto done;
			}
			*b = (mtk_p12_bag){.kind = MTK_P12B_KEY, .key = e->key, .name = own[i].name,
					   .kid_len = (int)strlen(kid)};
			memcpy(b->kid, kid, strlen(kid));
		}
		if (e->kind == MTK_KSE_TRUSTED && e->p12_bag.len > 0 && ks->type == MTK_KS_PKCS12) {
			/* Unchanged since read: its SafeBag as it was. */
			if ((b = bag_push(&v)) == NULL) {
				rc = mtk_err_set(err, MTK_E_NOMEM, "writing PKCS12");
				goto done;
			}
			b->kind = MTK_P12B_CERT;
			b->bag_der = e->p12_bag.p;
			b->bag_der_len = e->p12_bag.len;
			continue;
		}
		for (int j = 0; j < (as_read ? e->nder : sk_X509_num(chain)); j++) {
			if ((b = bag_push(&v)) == NULL) {
				rc = mtk_err_set(err, MTK_E_NOMEM, "writing PKCS12");
				goto done;
			}
			b->kind = MTK_P12B_CERT;
			if (as_read) {
				b->der = e->der[j].p;
				b->der_len = e->der[j].len;
			} else {
				b->cert = sk_X509_value(chain, j);
			}
			if (e->kind != MTK_KSE_KEY) {
				b->name = own[i].name;
				b->trusted = true;
				break;
			}
			if (j == 0) {
				b->name = own[i].name;
				b->kid_len = (int)strlen(kid);
				memcpy(b->kid, kid, strlen(kid));
			}
		}
	}
	out->secret = true;
	rc = mtk_p12_bags_write(v.b, v.n, &o, out, err);
done:
	for (size_t i = 0; own != NULL && i < ks->count; i++) {
		free(own[i].name);
		sk_X509_pop_free(own[i].lazy, X509_free);
		if (own[i].owned != NULL)
			OPENSSL_clear_free(own[i].owned, own[i].owned_len);
	}
	free(own);
	free(v.b);
	return rc;
}
