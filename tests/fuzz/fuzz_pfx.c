/* fuzz_pfx.c - the PFX path of convert: load arbitrary bytes with a fixed
 * password, sort out key and chain, write them back as a PFX and reload it.
 * A PFX we wrote must always read back with the same key and leaf. */
#include <stdint.h>
#include <stdlib.h>

#include "mtlskit/convert.h"
#include "mtlskit/load.h"
#include "mtlskit/pkcs12.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mtk_secret pw = {(char *)"changeit", 8};
	mtk_load_opts lo = {.pass = &pw, .require_decrypt = true};
	mtk_set set = MTK_SET_INIT, back = MTK_SET_INIT;
	mtk_findings fs = MTK_FINDINGS_INIT;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_conv_sel sel = {0};
	mtk_err err = {0};
	STACK_OF(X509) *chain = NULL;

	/* The fixed password, then none (empty-password PFX). */
	if (mtk_load_mem(&set, "fuzz.p12", data, size, &lo, NULL, NULL, &err) != MTK_OK) {
		mtk_load_opts nopass = {.require_decrypt = true};
		if (set.count != 0)
			abort();
		mtk_err_clear(&err);
		if (mtk_load_mem(&set, "fuzz.p12", data, size, &nopass, NULL, NULL, &err) !=
		    MTK_OK) {
			if (set.count != 0)
				abort();
			goto out;
		}
	}
	if (mtk_conv_select(&set, NULL, MTK_CONV_NEED_KEY_AND_CERT, &sel, &fs, &err) != MTK_OK)
		goto out;
	chain = mtk_conv_sel_certs(&sel);
	if (chain == NULL)
		goto out;
	X509_free(sk_X509_shift(chain));
	{
		mtk_p12_spec spec = {.compat = (mtk_p12_compat)(size % 3),
				     .key = sel.key,
				     .leaf = sel.leaf,
				     .chain = chain,
				     .alias = "fuzz",
				     .pass = &pw,
				     .now_ms = 1};
		mtk_conv_sel again = {0};

		if (mtk_p12_write(&spec, &out, &err) != MTK_OK)
			goto out;
		if (mtk_load_mem(&back, "back.p12", out.data, out.len, &lo, NULL, NULL, &err) !=
		    MTK_OK)
			abort();
		if (mtk_conv_select(&back, NULL, MTK_CONV_NEED_KEY_AND_CERT, &again, &fs, &err) !=
		    MTK_OK)
			abort();
		if (EVP_PKEY_eq(again.key, sel.key) != 1 || X509_cmp(again.leaf, sel.leaf) != 0)
			abort();
		mtk_conv_sel_free(&again);
	}
out:
	sk_X509_pop_free(chain, X509_free);
	mtk_conv_sel_free(&sel);
	mtk_set_free(&set);
	mtk_set_free(&back);
	mtk_findings_free(&fs);
	mtk_buf_free(&out);
	return 0;
}
