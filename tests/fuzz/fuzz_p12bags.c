/* fuzz_p12bags.c - the one PKCS#12 decoder (formats/p12bags.c) under the
 * loader's, the keystore's and describe's options, with the password
 * "changeit" and with none: a refusal always says where it stopped, a bag
 * that is kept holds what its kind says, and the budget is never overspent.
 * With certificates kept as bytes (lazy_certs: its own walk of the
 * SafeContents) it reads what the full decode reads, bag for bag, and
 * refuses what it refuses, except a certificate damaged inside its outer
 * SEQUENCE, which it leaves to mtk_p12_bag_cert.  And the lazy read's
 * outer layers from the bytes (MAC, AuthenticatedSafe, EncryptedData)
 * give exactly what OpenSSL's PFX objects give: the same verdict, the same
 * bags (bytes and all), the same description and budget. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/p12bags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* lazy_certs storage: every block, freed after the read. */
static void *blocks[4096];
static size_t nblocks;

static void *keep(void *ctx, size_t n)
{
	(void)ctx;
	if (nblocks == sizeof(blocks) / sizeof(blocks[0]))
		return NULL; /* the decoder must fail cleanly (MTK_E_NOMEM) */
	return blocks[nblocks++] = malloc(n ? n : 1);
}

static void one(const uint8_t *data, size_t size, const mtk_p12_read_opts *o)
{
	mtk_p12_bags bs;
	mtk_pbe_budget full = mtk_pbe_budget_for(size);
	mtk_rc rc = mtk_p12_bags_read(data, size, o, &bs);

	if ((rc == MTK_OK) != (bs.fail == MTK_P12F_NONE))
		abort(); /* a refusal says where, a success does not */
	if (bs.budget.left > full.left)
		abort();
	for (size_t i = 0; i < bs.n; i++) {
		const mtk_p12_bag *b = &bs.b[i];
		bool last = i + 1 == bs.n && rc != MTK_OK; /* may be the bag that failed */

		if (b->locked && (b->kind != MTK_P12B_KEY || b->key != NULL || o->pass != NULL))
			abort();
		if (o->structure_only && (b->key != NULL || b->cert != NULL || b->crl != NULL ||
					  b->secret != NULL || (b->shrouded && !b->locked)))
			abort(); /* nothing decoded, nothing decrypted */
		if (last || o->structure_only)
			continue;
		if ((b->kind == MTK_P12B_KEY && b->key == NULL && !b->locked) ||
		    (b->kind == MTK_P12B_CERT && b->cert == NULL && b->der == NULL) ||
		    (b->der != NULL && (o->alloc == NULL || b->cert != NULL)) ||
		    (b->kind == MTK_P12B_CRL && b->crl == NULL) ||
		    (b->kind == MTK_P12B_SECRET && (b->secret == NULL || !o->secrets)))
			abort();
	}
	/* A kept certificate decodes, or says it does not, the same way twice. */
	for (size_t i = 0; i < bs.n; i++)
		if (bs.b[i].der != NULL &&
		    (mtk_p12_bag_cert(&bs.b[i]) == NULL) != (mtk_p12_bag_cert(&bs.b[i]) == NULL))
			abort();
	mtk_p12_bags_free(&bs);
	while (nblocks > 0)
		free(blocks[--nblocks]);
}

static bool same_bag(mtk_p12_bag *e, mtk_p12_bag *l)
{
	unsigned char *der = NULL;
	int n;
	bool same;

	if (e->kind != l->kind || e->trusted != l->trusted || e->kid_len != l->kid_len ||
	    (e->kid_len > 0 && memcmp(e->kid, l->kid, (size_t)e->kid_len) != 0) ||
	    (e->name == NULL) != (l->name == NULL) ||
	    (e->name != NULL && strcmp(e->name, l->name) != 0) || e->locked != l->locked ||
	    e->secret_len != l->secret_len ||
	    (e->secret_len > 0 && memcmp(e->secret, l->secret, e->secret_len) != 0) ||
	    (e->key == NULL) != (l->key == NULL) ||
	    (e->key != NULL && EVP_PKEY_eq(e->key, l->key) != 1))
		return false;
	if (e->kind != MTK_P12B_CERT || l->der == NULL)
		return e->kind != MTK_P12B_CERT || l->cert != NULL;
	/* Kept as bytes: the bytes the decoded certificate came from. */
	n = i2d_X509(e->cert, &der);
	same = n > 0 && (size_t)n == l->der_len && memcmp(der, l->der, l->der_len) == 0 &&
	       l->bag_der != NULL && l->der >= l->bag_der &&
	       l->der + l->der_len <= l->bag_der + l->bag_der_len;
	OPENSSL_free(der);
	return same;
}

static void lazy_vs_full(const uint8_t *data, size_t size)
{
	mtk_p12_read_opts full = {.pass = "changeit", .passlen = 8, .secrets = true};
	mtk_p12_read_opts lazy = full;
	mtk_p12_bags be, bl;
	mtk_rc re, rl;
	/* The full decode's refusal of a certificate's contents. */
	bool cert_der;

	lazy.alloc = keep;
	re = mtk_p12_bags_read(data, size, &full, &be);
	rl = mtk_p12_bags_read(data, size, &lazy, &bl);
	cert_der = re == MTK_E_DER && be.fail == MTK_P12F_BAG && be.fail_kind == MTK_P12B_CERT;
	if (rl == MTK_E_NOMEM)
		goto out;
	if (rl != MTK_OK || re != MTK_OK) {
		bool undecodable = false;

		for (size_t i = 0; i < bl.n; i++)
			if (bl.b[i].der != NULL && mtk_p12_bag_cert(&bl.b[i]) == NULL)
				undecodable = true;
		if (!(rl == re && bl.fail == be.fail) && !(cert_der && undecodable))
			abort();
		goto out;
	}
	if (be.n != bl.n || be.budget.left != bl.budget.left || be.mac_ok != bl.mac_ok ||
	    be.legacy != bl.legacy || be.safes != bl.safes)
		abort();
	for (size_t i = 0; i < be.n; i++)
		if (!same_bag(&be.b[i], &bl.b[i]))
			abort();
out:
	mtk_p12_bags_free(&be);
	mtk_p12_bags_free(&bl);
	while (nblocks > 0)
		free(blocks[--nblocks]);
}

/* Everything a read reports, bag by bag; kept certificates by their bytes. */
static bool same_read(mtk_rc ra, mtk_p12_bags *a, mtk_rc rb, mtk_p12_bags *b)
{
	if (ra != rb || a->fail != b->fail || a->fail_kind != b->fail_kind || a->n != b->n ||
	    a->has_mac != b->has_mac || a->mac_nid != b->mac_nid || a->mac_iter != b->mac_iter ||
	    a->mac_ok != b->mac_ok || a->mac_damaged != b->mac_damaged ||
	    a->absent_pw != b->absent_pw || a->legacy != b->legacy ||
	    a->mac_salt_len != b->mac_salt_len || a->safes != b->safes ||
	    a->enc_safes != b->enc_safes || a->first_safe_iter != b->first_safe_iter ||
	    strcmp(a->cert_enc, b->cert_enc) != 0 || strcmp(a->key_enc, b->key_enc) != 0 ||
	    strcmp(a->first_safe_enc, b->first_safe_enc) != 0 || a->budget.left != b->budget.left ||
	    a->budget.exhausted != b->budget.exhausted)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		mtk_p12_bag *x = &a->b[i], *y = &b->b[i];

		if (x->safe != y->safe || x->safe_encrypted != y->safe_encrypted ||
		    x->shrouded != y->shrouded || strcmp(x->enc, y->enc) != 0 ||
		    x->enc_iter != y->enc_iter || (x->der == NULL) != (y->der == NULL) ||
		    x->bag_der_len != y->bag_der_len ||
		    (x->bag_der != NULL && memcmp(x->bag_der, y->bag_der, x->bag_der_len) != 0))
			return false;
		if (x->kind != y->kind || x->trusted != y->trusted || x->kid_len != y->kid_len ||
		    (x->kid_len > 0 && memcmp(x->kid, y->kid, (size_t)x->kid_len) != 0) ||
		    (x->name == NULL) != (y->name == NULL) ||
		    (x->name != NULL && strcmp(x->name, y->name) != 0) || x->locked != y->locked ||
		    x->secret_len != y->secret_len ||
		    (x->secret_len > 0 && memcmp(x->secret, y->secret, x->secret_len) != 0) ||
		    (x->key == NULL) != (y->key == NULL) ||
		    (x->key != NULL && EVP_PKEY_eq(x->key, y->key) != 1) ||
		    (x->cert == NULL) != (y->cert == NULL) || x->der_len != y->der_len ||
		    (x->der != NULL && memcmp(x->der, y->der, x->der_len) != 0))
			return false;
		if (x->cert != NULL && y->cert != NULL && X509_cmp(x->cert, y->cert) != 0)
			return false;
	}
	return true;
}

static void outer_vs_openssl(const uint8_t *data, size_t size, const char *pass)
{
	mtk_p12_read_opts bytes = {.pass = pass,
				   .passlen = pass != NULL ? strlen(pass) : 0,
				   .secrets = true,
				   .alloc = keep};
	mtk_p12_read_opts objs = bytes;
	mtk_p12_bags bb, bo;
	mtk_rc rb, ro;

	objs.outer_openssl = true;
	rb = mtk_p12_bags_read(data, size, &bytes, &bb);
	ro = mtk_p12_bags_read(data, size, &objs, &bo);
	if (rb != MTK_E_NOMEM && ro != MTK_E_NOMEM && !same_read(rb, &bb, ro, &bo))
		abort();
	mtk_p12_bags_free(&bb);
	mtk_p12_bags_free(&bo);
	while (nblocks > 0)
		free(blocks[--nblocks]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_p12_read_opts loader = {.keep_locked = true, .check_damage = true};
	mtk_p12_read_opts keystore = {.pass = "changeit", .passlen = 8, .secrets = true};

	one(data, size, &loader);
	mtk_p12_read_opts structure = {.structure_only = true};

	one(data, size, &keystore);
	one(data, size, &structure);
	keystore.alloc = keep;
	one(data, size, &keystore);
	lazy_vs_full(data, size);
	outer_vs_openssl(data, size, "changeit");
	outer_vs_openssl(data, size, "");
	return 0;
}
