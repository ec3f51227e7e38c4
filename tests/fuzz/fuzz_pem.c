/* fuzz_pem.c - the PEM scanner and its hygiene findings, and the block
 * iterator (whole and in windows, as the expiry scan streams a bundle) and
 * its base64 decoder, on arbitrary bytes; and the armoured-PFX helper,
 * which must agree with the scanner. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/pem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every block of data, whole; returns how many, checking each span. */
static size_t blocks_whole(const uint8_t *data, size_t size, long *lines, size_t max)
{
	mtk_pem_iter it;
	mtk_pem_span sp;
	mtk_pem_status st;
	size_t k = 0;

	mtk_pem_iter_init(&it, data, size, 1, false);
	while ((st = mtk_pem_next(&it, &sp)) != MTK_PEM_DONE) {
		uint8_t *out;
		size_t n = 0;

		if (st == MTK_PEM_MORE || sp.begin_off >= size || sp.end_off > size ||
		    sp.body < data || sp.body + sp.body_len > data + size || sp.label_len == 0 ||
		    sp.line < 1)
			abort();
		out = malloc(sp.body_len / 4 * 3 + 3);
		if (out == NULL)
			abort();
		if (mtk_pem_b64_decode(sp.body, sp.body_len, out, &n) && n > sp.body_len)
			abort();
		free(out);
		if (k < max)
			lines[k] = st == MTK_PEM_BLOCK ? sp.line : -sp.line;
		k++;
		if (st == MTK_PEM_NO_END)
			break;
	}
	return k;
}

/* The same through windows of w bytes (carrying what the iterator keeps):
 * the same blocks on the same lines. */
static void blocks_windowed(const uint8_t *data, size_t size, size_t w, const long *lines,
			    size_t nwhole, size_t max)
{
	uint8_t *buf = malloc(size + w + 1);
	size_t have = 0, fed = 0, k = 0;
	long line = 1;

	if (buf == NULL)
		abort();
	for (;;) {
		mtk_pem_iter it;
		mtk_pem_span sp;
		mtk_pem_status st;
		bool last;
		size_t take = size - fed < w ? size - fed : w, keep;

		memcpy(buf + have, data + fed, take);
		have += take;
		fed += take;
		last = fed == size;
		mtk_pem_iter_init(&it, buf, have, line, !last);
		while ((st = mtk_pem_next(&it, &sp)) != MTK_PEM_DONE && st != MTK_PEM_MORE) {
			if (k < max && k < nwhole &&
			    lines[k] != (st == MTK_PEM_BLOCK ? sp.line : -sp.line))
				abort();
			k++;
			if (st == MTK_PEM_NO_END)
				break;
		}
		if (last)
			break;
		keep = mtk_pem_iter_keep(&it, &line);
		if (keep > have)
			abort();
		memmove(buf, buf + keep, have - keep);
		have -= keep;
	}
	if (k != nwhole)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_pem_doc doc;
	mtk_findings fs = MTK_FINDINGS_INIT;
	mtk_err err = {0};

	long lines[64];
	size_t nb;

	(void)mtk_pem_looks_like(data, size);
	nb = blocks_whole(data, size, lines, 64);
	blocks_windowed(data, size, 7, lines, nb, 64);
	blocks_windowed(data, size, 100, lines, nb, 64);
	uint8_t *pfx = NULL;
	size_t pfx_len = 0;
	mtk_rc prc = mtk_pem_single_pfx(data, size, &pfx, &pfx_len, NULL);

	if (prc != MTK_OK && prc != MTK_E_NOT_FOUND && prc != MTK_E_PKCS12 && prc != MTK_E_NOMEM)
		abort();
	if (mtk_pem_scan(data, size, &doc, &err) == MTK_OK) {
		/* One armoured PFX for the keystore reader is the same one block,
		 * with the same bytes, for the loader's scanner. */
		if (prc == MTK_OK &&
		    (doc.count != 1 || doc.blocks[0].bad || doc.blocks[0].der_len != pfx_len ||
		     memcmp(doc.blocks[0].der, pfx, pfx_len) != 0 ||
		     mtk_pem_pfx_armour(doc.blocks[0].label, strlen(doc.blocks[0].label),
					doc.blocks[0].der, doc.blocks[0].der_len) == NULL))
			abort();
		for (size_t i = 0; i < doc.count; i++) {
			const mtk_pem_block *b = &doc.blocks[i];
			if (b->begin_off > size || b->end_off > size || b->line <= 0 ||
			    b->end_line < b->line || (b->der == NULL) != (b->bad || b->der_len == 0))
				abort();
		}
		if (mtk_pem_hygiene_findings(&doc, "fuzz.pem", &fs) != MTK_OK)
			abort();
		mtk_pem_doc_free(&doc);
	} else if (prc == MTK_OK)
		abort();
	free(pfx);
	mtk_findings_free(&fs);
	return 0;
}
