/* fuzz_pem.c - the PEM scanner and its hygiene findings on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/pem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_pem_doc doc;
	mtk_findings fs = MTK_FINDINGS_INIT;
	mtk_err err = {0};

	(void)mtk_pem_looks_like(data, size);
	if (mtk_pem_scan(data, size, &doc, &err) == MTK_OK) {
		for (size_t i = 0; i < doc.count; i++) {
			const mtk_pem_block *b = &doc.blocks[i];
			if (b->begin_off > size || b->end_off > size || b->line <= 0 ||
			    b->end_line < b->line || (b->der == NULL) != (b->bad || b->der_len == 0))
				abort();
		}
		if (mtk_pem_hygiene_findings(&doc, "fuzz.pem", &fs) != MTK_OK)
			abort();
		mtk_pem_doc_free(&doc);
	}
	mtk_findings_free(&fs);
	return 0;
}
