/* fuzz_p12bags.c - the one PKCS#12 decoder (formats/p12bags.c) under the
 * loader's, the keystore's (also with certificates kept as bytes) and describe's options, with the password "changeit" and
 * with none: a refusal always says where it stopped, a bag that is kept
 * holds what its kind says, and the budget is never overspent. */
#include <stdint.h>
#include <stdlib.h>

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
	return 0;
}
