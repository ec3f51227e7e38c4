/*
 * keystore.c - the keystore model shared by JKS, JCEKS and PKCS12: entries,
 * lookup by alias, edits, and dispatch to the codecs.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/sha.h>

#include "ks_int.h"
#include "mtlskit/file.h"
#include "mtlskit/pem.h"

const char *mtk_ks_type_name(mtk_ks_type t)
{
	switch (t) {
	case MTK_KS_JKS:
		return "jks";
	case MTK_KS_JCEKS:
		return "jceks";
	case MTK_KS_PKCS12:
		return "pkcs12";
	default:
		return "unknown";
	}
}

const char *mtk_ks_type_java_name(mtk_ks_type t)
{
	switch (t) {
	case MTK_KS_JKS:
		return "JKS";
	case MTK_KS_JCEKS:
		return "JCEKS";
	case MTK_KS_PKCS12:
		return "PKCS12";
	default:
		return "unknown";
	}
}

mtk_rc mtk_ks_type_from_name(const char *name, mtk_ks_type *out)
{
	if (name == NULL)
		return MTK_E_INVALID_ARG;
	if (strcasecmp(name, "jks") == 0)
		*out = MTK_KS_JKS;
	else if (strcasecmp(name, "jceks") == 0)
		*out = MTK_KS_JCEKS;
	else if (strcasecmp(name, "pkcs12") == 0 || strcasecmp(name, "p12") == 0 ||
		 strcasecmp(name, "pfx") == 0)
		*out = MTK_KS_PKCS12;
	else
		return MTK_E_INVALID_ARG;
	return MTK_OK;
}

mtk_ks_type mtk_ks_detect(const uint8_t *data, size_t len)
{
	switch (mtk_detect(data, len)) {
	case MTK_FMT_JKS:
		return MTK_KS_JKS;
	case MTK_FMT_JCEKS:
		return MTK_KS_JCEKS;
	case MTK_FMT_PKCS12:
		return MTK_KS_PKCS12;
	default:
		return MTK_KS_UNKNOWN;
	}
}

const char *mtk_kse_kind_name(mtk_kse_kind k)
{
	switch (k) {
	case MTK_KSE_KEY:
		return "PrivateKeyEntry";
	case MTK_KSE_TRUSTED:
		return "trustedCertEntry";
	case MTK_KSE_SECRET:
		return "SecretKeyEntry";
	default:
		return "unknown";
	}
}

mtk_keystore *mtk_keystore_new(mtk_ks_type type)
{
	mtk_keystore *ks = calloc(1, sizeof(*ks));

	if (ks != NULL) {
		ks->type = type;
		ks->version = 2;
	}
	return ks;
}

/* The arena: blocks of at least 64 KiB, each used from the front. */
struct mtk_ks_arena {
	struct mtk_ks_arena *next;
	size_t used, cap;
	uint64_t data[]; /* 8-aligned */
};

#define KS_ARENA_BLOCK ((size_t)64 << 10)

void *mtk_ks_arena_alloc(mtk_keystore *ks, size_t n)
{
	struct mtk_ks_arena *a = ks->arena;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (n == 0)
		n = 8;
	if (a == NULL || a->cap - a->used < n) {
		size_t cap = n > KS_ARENA_BLOCK ? n : KS_ARENA_BLOCK;
		if (cap > SIZE_MAX - sizeof(*a) || (a = malloc(sizeof(*a) + cap)) == NULL)
			return NULL;
		a->used = 0;
		a->cap = cap;
		a->next = ks->arena;
		ks->arena = a;
	}
	p = (uint8_t *)a->data + a->used;
	a->used += n;
	return p;
}

void mtk_ks_entry_clear(mtk_ks_entry *e)
{
	if (!e->borrowed) {
		free(e->alias);
		free(e->alias_raw);
		if (e->protected_key != NULL) {
			mtk_cleanse(e->protected_key, e->protected_len);
			free(e->protected_key);
		}
		free(e->der);
	}
	EVP_PKEY_free(e->key);
	sk_X509_pop_free(e->chain, X509_free);
	if (e->secret_plain != NULL) {
		mtk_cleanse(e->secret_plain, e->secret_plain_len);
		free(e->secret_plain);
	}
	if (e->secret_raw != NULL) {
		mtk_cleanse(e->secret_raw, e->secret_raw_len);
		free(e->secret_raw);
	}
	memset(e, 0, sizeof(*e));
}

void mtk_keystore_free(mtk_keystore *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->count; i++)
		mtk_ks_entry_clear(&ks->entries[i]);
	free(ks->entries);
	free(ks->slots);
	free(ks->raw);
	while (ks->arena != NULL) {
		struct mtk_ks_arena *next = ks->arena->next;
		free(ks->arena);
		ks->arena = next;
	}
	free(ks);
}

int mtk_ks_entry_ncerts(const mtk_ks_entry *e)
{
	return e->chain != NULL ? sk_X509_num(e->chain) : e->nder;
}

mtk_rc mtk_ks_entry_sha256(const mtk_ks_entry *e, int j, unsigned char md[32])
{
	unsigned char *der = NULL;
	int n;

	if (j < 0 || j >= mtk_ks_entry_ncerts(e))
		return MTK_E_INVALID_ARG;
	/* SHA256() directly: the EVP interface fetches the algorithm from the
	 * provider on every call, which costs more than hashing a certificate. */
	if (e->chain == NULL) {
		SHA256(e->der[j].p, e->der[j].len, md);
		return MTK_OK;
	}
	if ((n = i2d_X509(sk_X509_value(e->chain, j), &der)) <= 0)
		return MTK_E_CRYPTO;
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	return MTK_OK;
}

mtk_rc mtk_ks_entry_decode_chain(const mtk_ks_entry *e, STACK_OF(X509) * *out, mtk_err *err)
{
	STACK_OF(X509) *c = sk_X509_new_null();

	if (c == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "alias %s", e->alias);
	for (int j = 0; j < mtk_ks_entry_ncerts(e); j++) {
		X509 *x;

		if (e->chain != NULL) {
			x = sk_X509_value(e->chain, j);
			X509_up_ref(x);
		} else {
			const unsigned char *q = e->der[j].p;
			x = d2i_X509(NULL, &q, (long)e->der[j].len);
			if (x == NULL || q != e->der[j].p + e->der[j].len) {
				X509_free(x);
				ERR_clear_error();
				sk_X509_pop_free(c, X509_free);
				return mtk_err_set(err, MTK_E_KEYSTORE,
						   "alias %s: certificate is not valid DER", e->alias);
			}
		}
		if (!sk_X509_push(c, x)) {
			X509_free(x);
			sk_X509_pop_free(c, X509_free);
			return mtk_err_set(err, MTK_E_NOMEM, "alias %s", e->alias);
		}
	}
	*out = c;
	return MTK_OK;
}

STACK_OF(X509) * mtk_keystore_chain(mtk_keystore *ks, size_t index, mtk_err *err)
{
	mtk_ks_entry *e;

	if (index >= ks->count) {
		mtk_err_set(err, MTK_E_INVALID_ARG, "no entry %zu", index);
		return NULL;
	}
	e = &ks->entries[index];
	if (e->chain == NULL && e->nder > 0 && mtk_ks_entry_decode_chain(e, &e->chain, err) != MTK_OK)
		return NULL;
	return e->chain;
}

char *mtk_ks_lower(const char *s)
{
	char *d = strdup(s);

	if (d != NULL)
		for (char *p = d; *p; p++)
			*p = mtk_ks_lower_c(*p);
	return d;
}

/* --- aliases by hash --- */

#define KS_SLOT_POS(s) ((size_t)((s) & 0xffffffffu))
#define KS_SLOT_TAG(h) ((h) >> 32)

/* FNV-1a of the alias lower-cased (ASCII, as the lookups compare). */
uint64_t mtk_ks_alias_hash(const char *a)
{
	uint64_t h = MTK_FNV1A_INIT;
	char low[64];
	size_t n = 0;

	/* Aliases are mostly lower-case already: hashed in place. */
	while (a[n] != '\0' && !(a[n] >= 'A' && a[n] <= 'Z'))
		n++;
	if (a[n] == '\0')
		return mtk_fnv1a(h, a, n);
	n = 0;
	for (; *a; a++) {
		low[n++] = mtk_ks_lower_c(*a);
		if (n == sizeof(low)) {
			h = mtk_fnv1a(h, low, n);
			n = 0;
		}
	}
	return mtk_fnv1a(h, low, n);
}

/* Puts entry i (alias set) in the table, which has room.  An entry with
 * an equal alias already there keeps its place (the first one is found). */
static void table_put(mtk_keystore *ks, size_t i)
{
	mtk_ks_entry *e = &ks->entries[i];
	uint64_t h;
	size_t mask = ks->nslots - 1;

	/* Computed once per alias: a removal rebuilds the table from these. */
	if (e->hash == 0)
		e->hash = mtk_ks_alias_hash(e->alias);
	h = e->hash;

	for (size_t s = (size_t)h & mask;; s = (s + 1) & mask) {
		uint64_t v = ks->slots[s];

		if (v == 0) {
			ks->slots[s] = (KS_SLOT_TAG(h) << 32) | (uint64_t)(i + 1);
			return;
		}
		if (KS_SLOT_TAG(v) == KS_SLOT_TAG(h) &&
		    strcasecmp(ks->entries[KS_SLOT_POS(v) - 1].alias, ks->entries[i].alias) == 0)
			return;
	}
}

/* Builds the table for every entry, sized for at least `want` entries.
 * Without memory it is dropped: lookups then scan, which is no error. */
static void table_build(mtk_keystore *ks, size_t want)
{
	size_t n = 16;

	free(ks->slots);
	ks->slots = NULL;
	ks->nslots = 0;
	while (n < want * 2)
		n *= 2;
	if (want >= UINT32_MAX / 2 || (ks->slots = calloc(n, sizeof(*ks->slots))) == NULL)
		return;
	ks->nslots = n;
	for (size_t i = 0; i < ks->count; i++)
		if (ks->entries[i].alias != NULL)
			table_put(ks, i);
}

static long find_h(const mtk_keystore *ks, const char *alias, uint64_t h)
{
	size_t mask;

	if (ks->slots == NULL) {
		for (size_t i = 0; i < ks->count; i++)
			if (ks->entries[i].alias != NULL &&
			    strcasecmp(ks->entries[i].alias, alias) == 0)
				return (long)i;
		return -1;
	}
	mask = ks->nslots - 1;
	for (size_t s = (size_t)h & mask; ks->slots[s] != 0; s = (s + 1) & mask) {
		uint64_t v = ks->slots[s];
		size_t i = KS_SLOT_POS(v) - 1;

		if (KS_SLOT_TAG(v) == KS_SLOT_TAG(h) && ks->entries[i].alias != NULL &&
		    strcasecmp(ks->entries[i].alias, alias) == 0)
			return (long)i;
	}
	return -1;
}

long mtk_keystore_find(const mtk_keystore *ks, const char *alias)
{
	return find_h(ks, alias, ks->slots != NULL ? mtk_ks_alias_hash(alias) : 0);
}

void mtk_ks_reserve(mtk_keystore *ks, size_t n)
{
	if (n > ks->cap) {
		mtk_ks_entry *p = realloc(ks->entries, n * sizeof(*p));
		if (p == NULL)
			return;
		ks->entries = p;
		ks->cap = n;
	}
	if (ks->slots == NULL || n * 2 > ks->nslots)
		table_build(ks, n);
}

void mtk_keystore_remove(mtk_keystore *ks, size_t index)
{
	if (index >= ks->count)
		return;
	mtk_ks_entry_clear(&ks->entries[index]);
	memmove(&ks->entries[index], &ks->entries[index + 1],
		(ks->count - index - 1) * sizeof(ks->entries[0]));
	ks->count--;
	if (ks->slots == NULL)
		return;
	/* One pass over the slots, no hashing: the removed entry's slot is
	 * emptied and the later positions move down by one; then the rest of
	 * its probe run is put again so that no lookup stops at the hole. */
	{
		size_t mask = ks->nslots - 1, hole = ks->nslots;

		for (size_t s = 0; s < ks->nslots; s++) {
			size_t pos = KS_SLOT_POS(ks->slots[s]);
			if (pos == index + 1) {
				ks->slots[s] = 0;
				hole = s;
			} else if (pos > index + 1) {
				ks->slots[s]--;
			}
		}
		if (hole == ks->nslots)
			return;
		for (size_t s = (hole + 1) & mask; ks->slots[s] != 0; s = (s + 1) & mask) {
			size_t i = KS_SLOT_POS(ks->slots[s]) - 1;
			ks->slots[s] = 0;
			table_put(ks, i);
		}
	}
}

mtk_rc mtk_ks_slot(mtk_keystore *ks, const char *alias, mtk_ks_entry **out)
{
	uint64_t h = alias ? mtk_ks_alias_hash(alias) : 0;
	long i = alias ? find_h(ks, alias, h) : -1;

	if (i >= 0) {
		mtk_ks_entry *e = &ks->entries[i];
		if (e->kind == MTK_KSE_KEY && e->key_locked && ks->locked_keys > 0)
			ks->locked_keys--;
		mtk_ks_entry_clear(e);
		e->hash = h;
		*out = e;
		return MTK_OK;
	}
	if (ks->count == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 8;
		mtk_ks_entry *p = realloc(ks->entries, cap * sizeof(*p));
		if (p == NULL)
			return MTK_E_NOMEM;
		ks->entries = p;
		ks->cap = cap;
	}
	*out = &ks->entries[ks->count++];
	memset(*out, 0, sizeof(**out));
	(*out)->hash = h;
	return MTK_OK;
}

void mtk_ks_slot_named(mtk_keystore *ks, mtk_ks_entry *e)
{
	size_t i = (size_t)(e - ks->entries);

	if (e->alias == NULL || i >= ks->count)
		return;
	if (ks->slots == NULL || ks->count * 2 > ks->nslots)
		table_build(ks, ks->cap);
	else
		table_put(ks, i);
}

mtk_rc mtk_keystore_check_alias(const char *alias, mtk_err *err)
{
	size_t n = alias ? strlen(alias) : 0;

	if (n == 0)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "an alias must not be empty");
	if (n > 255)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "alias is longer than 255 characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)alias[i];
		if (c < 0x20 || c > 0x7E)
			return mtk_err_set(
			    err, MTK_E_INVALID_ARG,
			    "alias \"%s\": only printable ASCII aliases can be written "
			    "(Java lower-cases aliases with full Unicode rules)",
			    alias);
	}
	return MTK_OK;
}

static STACK_OF(X509) * chain_dup(STACK_OF(X509) * chain)
{
	STACK_OF(X509) *c = sk_X509_new_null();

	if (c == NULL)
		return NULL;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		if (!sk_X509_push(c, x)) {
			sk_X509_pop_free(c, X509_free);
			return NULL;
		}
		X509_up_ref(x);
	}
	return c;
}

mtk_rc mtk_keystore_add_key(mtk_keystore *ks, const char *alias, EVP_PKEY *key,
			    STACK_OF(X509) * chain, int64_t date_ms, mtk_err *err)
{
	mtk_ks_entry *e;
	STACK_OF(X509) * c;
	char *a;
	mtk_rc rc;

	if (key == NULL || chain == NULL || sk_X509_num(chain) < 1)
		return mtk_err_set(err, MTK_E_INVALID_ARG,
				   "a key entry needs a key and a certificate");
	if ((rc = mtk_keystore_check_alias(alias, err)) != MTK_OK)
		return rc;
	a = mtk_ks_lower(alias);
	c = chain_dup(chain);
	if (a == NULL || c == NULL || (rc = mtk_ks_slot(ks, a, &e)) != MTK_OK) {
		free(a);
		sk_X509_pop_free(c, X509_free);
		return mtk_err_set(err, MTK_E_NOMEM, "adding %s", alias);
	}
	e->kind = MTK_KSE_KEY;
	e->alias = a;
	mtk_ks_slot_named(ks, e);
	e->date_ms = date_ms;
	EVP_PKEY_up_ref(key);
	e->key = key;
	e->chain = c;
	return MTK_OK;
}

mtk_rc mtk_keystore_add_trusted(mtk_keystore *ks, const char *alias, X509 *cert, int64_t date_ms,
				mtk_err *err)
{
	mtk_ks_entry *e;
	STACK_OF(X509) * c;
	char *a;
	mtk_rc rc;

	if (cert == NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "no certificate");
	if ((rc = mtk_keystore_check_alias(alias, err)) != MTK_OK)
		return rc;
	a = mtk_ks_lower(alias);
	c = sk_X509_new_null();
	if (a == NULL || c == NULL || !sk_X509_push(c, cert) ||
	    (rc = mtk_ks_slot(ks, a, &e)) != MTK_OK) {
		free(a);
		sk_X509_free(c);
		return mtk_err_set(err, MTK_E_NOMEM, "adding %s", alias);
	}
	X509_up_ref(cert);
	e->kind = MTK_KSE_TRUSTED;
	e->alias = a;
	mtk_ks_slot_named(ks, e);
	e->date_ms = date_ms;
	e->chain = c;
	return MTK_OK;
}

mtk_rc mtk_keystore_set_chain(mtk_keystore *ks, size_t index, STACK_OF(X509) * chain, mtk_err *err)
{
	STACK_OF(X509) * c;

	if (index >= ks->count || ks->entries[index].kind != MTK_KSE_KEY)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "not a key entry");
	if ((c = chain_dup(chain)) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "chain");
	sk_X509_pop_free(ks->entries[index].chain, X509_free);
	ks->entries[index].chain = c;
	if (!ks->entries[index].borrowed)
		free(ks->entries[index].der);
	ks->entries[index].der = NULL;
	ks->entries[index].nder = 0;
	ks->entries[index].span_len = 0;
	ks->entries[index].p12_bag.len = 0;
	return MTK_OK;
}

mtk_rc mtk_keystore_reprotect(mtk_keystore *ks, size_t index, mtk_err *err)
{
	mtk_ks_entry *e;

	if (index >= ks->count || ks->entries[index].kind != MTK_KSE_KEY)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "not a key entry");
	e = &ks->entries[index];
	if (e->key == NULL)
		return mtk_err_set(err, MTK_E_KEY_PASSWORD,
				   "alias %s: the key is locked; give its password (--key-pass)",
				   e->alias);
	if (e->protected_key != NULL && !e->borrowed) {
		mtk_cleanse(e->protected_key, e->protected_len);
		free(e->protected_key);
	}
	e->protected_key = NULL;
	e->protected_len = 0;
	e->protection = MTK_KSP_NONE;
	e->span_len = 0;
	e->p12_bag.len = 0;
	return MTK_OK;
}

mtk_rc mtk_keystore_unlock(mtk_keystore *ks, size_t index, const mtk_secret *pass, mtk_err *err)
{
	mtk_ks_entry *e;
	mtk_rc rc;

	if (index >= ks->count || ks->entries[index].kind != MTK_KSE_KEY)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "not a key entry");
	e = &ks->entries[index];
	if (e->key != NULL)
		return MTK_OK;
	if (pass == NULL)
		return mtk_err_set(err, MTK_E_KEY_PASSWORD, "alias %s: the key password is needed",
				   e->alias);
	rc = mtk_jks_unlock(e, pass, err);
	if (rc == MTK_OK && ks->locked_keys > 0)
		ks->locked_keys--;
	return rc;
}

mtk_rc mtk_keystore_decode(const uint8_t *data, size_t len, const char *name,
			   const mtk_secret *store_pass, const mtk_secret *key_pass, unsigned flags,
			   mtk_keystore **out, mtk_err *err)
{
	if (name == NULL)
		name = "keystore";
	switch (mtk_ks_detect(data, len)) {
	case MTK_KS_JKS:
	case MTK_KS_JCEKS:
		return mtk_jks_decode(data, len, NULL, name, store_pass, key_pass, flags, out, err);
	case MTK_KS_PKCS12:
		return mtk_p12_decode(data, len, name, store_pass, flags, out, err);
	default:
		if (mtk_pem_looks_like(data, len)) {
			/* A PFX in PEM armour, every kind the object loader reads
			 * (mtk_pem_single_pfx): read as the PFX it is; a store
			 * saved after an edit is written in DER. */
			uint8_t *der = NULL;
			size_t n = 0;
			mtk_rc rc = mtk_pem_single_pfx(data, len, &der, &n, NULL);

			if (rc == MTK_OK) {
				rc = mtk_p12_decode(der, n, name, store_pass, flags, out, err);
				OPENSSL_cleanse(der, n);
				free(der);
				return rc;
			}
			if (rc == MTK_E_PKCS12)
				return mtk_err_set(
				    err, MTK_E_UNKNOWN_FORMAT,
				    "%s: a PKCS12 PEM block that does not hold a PFX", name);
			if (rc == MTK_E_NOMEM)
				return mtk_err_set(err, rc, "%s", name);
		}
		if (len >= 4 && data[0] == 0xFE && data[1] == 0xED)
			return mtk_err_set(err, MTK_E_KEYSTORE, "%s: not a JKS keystore", name);
		return mtk_err_set(err, MTK_E_UNKNOWN_FORMAT,
				   "%s: not a JKS, JCEKS or PKCS12 keystore", name);
	}
}

mtk_rc mtk_keystore_decode_buf(mtk_buf *in, const char *name, const mtk_secret *store_pass,
			       const mtk_secret *key_pass, unsigned flags, mtk_keystore **out,
			       mtk_err *err)
{
	mtk_ks_type t = mtk_ks_detect(in->data, in->len);

	/* A secret buffer would be wiped when freed; the keystore frees its
	 * copy plainly, so it copies such a buffer instead of taking it. */
	if ((flags & MTK_KS_READ_LAZY) && !in->secret && (t == MTK_KS_JKS || t == MTK_KS_JCEKS))
		return mtk_jks_decode(in->data, in->len, in, name ? name : "keystore", store_pass,
				      key_pass, flags, out, err);
	return mtk_keystore_decode(in->data, in->len, name, store_pass, key_pass, flags, out, err);
}

mtk_rc mtk_keystore_save(const mtk_keystore *ks, const char *path, const mtk_secret *store_pass,
			 const mtk_secret *key_pass, unsigned wflags, mtk_err *err)
{
	mtk_buf side = MTK_BUF_INIT; /* grown by realloc; wiped when freed */
	mtk_ks_piece *pc = NULL;
	struct iovec *iov = NULL;
	mtk_outset *o = NULL;
	uint8_t d[20];
	size_t n = 0;
	mtk_rc rc;

	if (store_pass == NULL)
		return mtk_err_set(err, MTK_E_PASSWORD_NEEDED, "a keystore password is needed");
	if (ks->type != MTK_KS_JKS && ks->type != MTK_KS_JCEKS) {
		if ((rc = mtk_keystore_encode(ks, ks->type, store_pass, key_pass, &side, err)) ==
		    MTK_OK)
			rc = mtk_file_write(path, side.data, side.len, wflags, err);
		mtk_buf_cleanse_free(&side);
		return rc;
	}
	/* The body goes to the disk first; its digest, which ends the file, is
	 * taken while that IO runs. */
	if ((rc = mtk_jks_encode_pieces(ks, ks->type, store_pass, key_pass, &side, &pc, &n, err)) !=
	    MTK_OK)
		goto out;
	if (n > INT_MAX || (iov = calloc(n ? n : 1, sizeof(*iov))) == NULL ||
	    (o = mtk_outset_new()) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", path);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = (void *)(pc[i].p != NULL ? pc[i].p : side.data + pc[i].off);
		iov[i].iov_len = pc[i].len;
	}
	if ((rc = mtk_outset_addv(o, path, iov, (int)n, wflags | MTK_WRITE_MORE, err)) != MTK_OK ||
	    (rc = mtk_jks_pieces_digest(store_pass, pc, n, side.data, d, err)) != MTK_OK ||
	    (rc = mtk_outset_append(o, d, sizeof(d), err)) != MTK_OK)
		goto out;
	rc = mtk_outset_commit(o, err);
out:
	mtk_outset_free(o);
	free(iov);
	free(pc);
	mtk_buf_cleanse_free(&side);
	return rc;
}

mtk_rc mtk_keystore_encode(const mtk_keystore *ks, mtk_ks_type type, const mtk_secret *store_pass,
			   const mtk_secret *key_pass, mtk_buf *out, mtk_err *err)
{
	if (store_pass == NULL)
		return mtk_err_set(err, MTK_E_PASSWORD_NEEDED, "a keystore password is needed");
	switch (type) {
	case MTK_KS_JKS:
	case MTK_KS_JCEKS:
		return mtk_jks_encode(ks, type, store_pass, key_pass, out, err);
	case MTK_KS_PKCS12:
		return mtk_p12_encode(ks, store_pass, out, err);
	default:
		return mtk_err_set(err, MTK_E_INVALID_ARG, "unknown keystore type");
	}
}

mtk_rc mtk_keystore_convert(const mtk_keystore *ks, mtk_ks_type to, const mtk_secret *store_pass,
			    const mtk_secret *key_pass, mtk_buf *out, mtk_err *err)
{
	mtk_keystore view;
	mtk_rc rc;

	/* Every key is protected afresh under the new password, also to the
	 * same type: the stored bytes are under the old one.  The view shares
	 * the entries, without their stored key bytes. */
	view = *ks;
	view.entries = NULL;
	if (ks->count > 0 && (view.entries = calloc(ks->count, sizeof(*view.entries))) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "keystore");
	for (size_t i = 0; i < ks->count; i++) {
		view.entries[i] = ks->entries[i];
		if (view.entries[i].kind == MTK_KSE_KEY && view.entries[i].key != NULL) {
			view.entries[i].protected_key = NULL;
			view.entries[i].protected_len = 0;
		}
	}
	rc = mtk_keystore_encode(&view, to, store_pass, key_pass, out, err);
	free(view.entries); /* the entries themselves belong to ks */
	return rc;
}

mtk_rc mtk_keystore_write_key(mtk_ks_type type, const char *alias, EVP_PKEY *key,
			      STACK_OF(X509) * chain, int64_t date_ms, const mtk_secret *store_pass,
			      const mtk_secret *key_pass, mtk_buf *out, mtk_err *err)
{
	mtk_keystore *ks = mtk_keystore_new(type);
	mtk_rc rc;

	if (ks == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "keystore");
	rc = mtk_keystore_add_key(ks, alias ? alias : "mykey", key, chain, date_ms, err);
	if (rc == MTK_OK)
		rc = mtk_keystore_encode(ks, type, store_pass, key_pass, out, err);
	mtk_keystore_free(ks);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The object loader's view                                              */

static mtk_rc add_obj(mtk_set *set, mtk_obj *o)
{
	mtk_rc rc = mtk_set_add(set, o);

	if (rc != MTK_OK) {
		X509_free(o->cert);
		EVP_PKEY_free(o->key);
	}
	o->cert = NULL;
	o->key = NULL;
	return rc;
}

static mtk_rc ks_to_set(const mtk_keystore *ks, const char *name, mtk_set *set)
{
	int index = 0;
	mtk_rc rc = MTK_OK;

	for (size_t i = 0; i < ks->count && rc == MTK_OK; i++) {
		const mtk_ks_entry *e = &ks->entries[i];
		mtk_obj o;
		char note[64];

		memset(&o, 0, sizeof(o));
		o.source = (char *)name;
		o.alias = e->alias;
		if (e->kind == MTK_KSE_KEY) {
			o.kind = MTK_OBJ_KEY;
			o.index = index++;
			o.key_form = MTK_KEY_CONTAINER;
			o.encrypted = true;
			o.enc_desc =
			    (char *)(e->protection == MTK_KSP_JKS
					 ? "JKS KeyProtector (SHA-1 stream)"
				     : e->protection == MTK_KSP_JCEKS ? "PBEWithMD5AndTripleDES"
				     : ks->type == MTK_KS_PKCS12      ? "PKCS12"
								      : NULL);
			if (e->key != NULL) {
				EVP_PKEY_up_ref(e->key);
				o.key = e->key;
			}
			if ((rc = add_obj(set, &o)) != MTK_OK)
				break;
			o.enc_desc = NULL;
			o.encrypted = false;
			o.key_form = MTK_KEY_NONE;
		}
		if (e->kind == MTK_KSE_KEY || e->kind == MTK_KSE_TRUSTED) {
			for (int j = 0; j < sk_X509_num(e->chain) && rc == MTK_OK; j++) {
				o.kind = MTK_OBJ_CERT;
				o.index = index++;
				o.cert = sk_X509_value(e->chain, j);
				X509_up_ref(o.cert);
				rc = add_obj(set, &o);
			}
		} else if (e->kind == MTK_KSE_SECRET) {
			o.kind = MTK_OBJ_SECRET_KEY;
			o.index = index++;
			if (e->secret_alg[0] != '\0')
				snprintf(note, sizeof(note), "%s %d-bit", e->secret_alg,
					 e->secret_bits);
			else
				snprintf(note, sizeof(note), "secret key");
			o.note = note;
			rc = add_obj(set, &o);
		}
	}
	return rc;
}

mtk_rc mtk_keystore_load_set(mtk_set *set, const char *name, const uint8_t *data, size_t len,
			     const mtk_secret *store_pass, const mtk_secret *default_pass,
			     const mtk_secret *key_pass, mtk_container_info *info, mtk_err *err)
{
	mtk_keystore *ks = NULL;
	mtk_set tmp = MTK_SET_INIT;
	const mtk_secret *deflt = NULL;
	mtk_ks_type type = mtk_ks_detect(data, len);
	mtk_rc rc;

	if (name == NULL)
		name = "keystore";
	if (store_pass == NULL) {
		/* default_pass is the caller's choice (mid.h decides when the
		 * MID default may be tried); nothing is guessed here. */
		mtk_err probe = {0};
		rc = MTK_E_INTEGRITY;
		if (type == MTK_KS_PKCS12) {
			/* A PKCS12 with the empty password (or none) opens with no flag. */
			rc = mtk_keystore_decode(data, len, name, NULL, key_pass, 0, &ks, &probe);
			if (rc == MTK_E_PASSWORD_NEEDED) {
				mtk_err_clear(&probe);
				rc = MTK_E_INTEGRITY;
			}
		} else if (default_pass != NULL) {
			deflt = default_pass;
			rc = mtk_keystore_decode(data, len, name, deflt, key_pass, 0, &ks, &probe);
		}
		if (rc == MTK_E_INTEGRITY) {
			/* Describe what we can without a password. */
			mtk_keystore *bare = NULL;
			if (type != MTK_KS_PKCS12 &&
			    mtk_keystore_decode(data, len, name, NULL, NULL, MTK_KS_READ_UNVERIFIED,
						&bare, NULL) == MTK_OK &&
			    info != NULL) {
				info->format = type == MTK_KS_JKS ? MTK_FMT_JKS : MTK_FMT_JCEKS;
				info->ks_version = bare->version;
				info->ks_entries = (uint32_t)bare->count;
				info->needs_password = true;
			}
			mtk_keystore_free(bare);
			rc = mtk_err_set(err, MTK_E_PASSWORD_NEEDED,
					 deflt ? "%s: the keystore password is needed (the default "
						 "\"changeit\" does not open it)"
					       : "%s: the keystore password is needed",
					 name);
			goto out;
		}
		if (rc != MTK_OK) {
			if (err != NULL && err->code == MTK_OK)
				*err = probe;
			goto out;
		}
	} else if ((rc = mtk_keystore_decode(data, len, name, store_pass, key_pass, 0, &ks, err)) !=
		   MTK_OK) {
		goto out;
	}
	if (key_pass != NULL && ks->locked_keys > 0) {
		size_t nkeys = 0;
		for (size_t i = 0; i < ks->count; i++)
			nkeys += ks->entries[i].kind == MTK_KSE_KEY;
		if (nkeys == ks->locked_keys) {
			rc = mtk_err_set(
			    err, MTK_E_KEY_PASSWORD,
			    "%s: the key password opens no key entry (Cannot recover key)", name);
			goto out;
		}
	}
	if (info != NULL) {
		info->format = type == MTK_KS_JKS     ? MTK_FMT_JKS
			       : type == MTK_KS_JCEKS ? MTK_FMT_JCEKS
						      : MTK_FMT_PKCS12;
		info->ks_version = ks->version;
		info->ks_entries = (uint32_t)ks->count;
	}
	if ((rc = ks_to_set(ks, name, &tmp)) != MTK_OK) {
		rc = mtk_err_set(err, rc, "%s", name);
		goto out;
	}
	for (size_t i = 0; i < tmp.count; i++) {
		if ((rc = mtk_set_add(set, &tmp.objs[i])) != MTK_OK) {
			/* Undo: the set is left as it was. */
			for (size_t j = 0; j < i; j++) {
				mtk_obj *o = &set->objs[--set->count];
				X509_free(o->cert);
				EVP_PKEY_free(o->key);
				free(o->source);
				free(o->alias);
				free(o->label);
				free(o->enc_desc);
				free(o->note);
			}
			rc = mtk_err_set(err, rc, "%s", name);
			goto out;
		}
		/* The set took the OpenSSL objects; tmp keeps only its strings. */
		tmp.objs[i].cert = NULL;
		tmp.objs[i].key = NULL;
	}
	rc = MTK_OK;
out:
	mtk_set_free(&tmp);
	mtk_keystore_free(ks);
	return rc;
}
