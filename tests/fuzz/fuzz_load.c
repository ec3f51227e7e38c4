/* fuzz_load.c - the object loader (format detection, PEM, DER, PKCS#7, keys,
 * PFX) on arbitrary bytes, without and with a password, then the chain
 * builder on whatever it found. */
#include <stdint.h>
#include <stdlib.h>

#include "mtlskit/chain.h"
#include "mtlskit/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mtk_secret pw = {(char *)"changeit", 8};
	mtk_load_opts opts[2] = {{.findings = true}, {.pass = &pw, .findings = true}};

	for (int i = 0; i < 2; i++) {
		mtk_set set = MTK_SET_INIT;
		mtk_findings fs = MTK_FINDINGS_INIT;
		mtk_container_info info;
		mtk_err err = {0};

		if (mtk_load_mem(&set, "fuzz", data, size, &opts[i], &info, &fs, &err) == MTK_OK) {
			mtk_chain ch;
			if (mtk_chain_build(&set, NULL, 0, &ch, &err) == MTK_OK)
				mtk_chain_free(&ch);
		} else if (set.count != 0) {
			abort(); /* a failed load must leave the set unchanged */
		}
		mtk_set_free(&set);
		mtk_findings_free(&fs);
	}
	return 0;
}
