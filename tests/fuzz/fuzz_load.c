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
	/* The strict reading (gateway trust files): what it accepts is whole
	 * and of the allowed kinds, and never more than the lenient read. */
	{
		const unsigned allowed = MTK_OBJ_BIT(MTK_OBJ_CERT) | MTK_OBJ_BIT(MTK_OBJ_CRL);
		mtk_set strict = MTK_SET_INIT, lenient = MTK_SET_INIT;
		mtk_err err = {0};

		if (mtk_load_mem_strict(&strict, "fuzz", data, size, allowed, MTK_OBJ_CERT, NULL, &err) ==
		    MTK_OK) {
			size_t certs = 0;
			for (size_t i = 0; i < strict.count; i++) {
				if (!(allowed & MTK_OBJ_BIT(strict.objs[i].kind)))
					abort();
				certs += strict.objs[i].kind == MTK_OBJ_CERT;
			}
			if (certs == 0 ||
			    mtk_load_mem(&lenient, "fuzz", data, size, NULL, NULL, NULL, &err) != MTK_OK ||
			    lenient.count != strict.count)
				abort();
		} else if (strict.count != 0) {
			abort();
		}
		mtk_set_free(&strict);
		mtk_set_free(&lenient);
	}
	return 0;
}
