/* fuzz_javaser.c - the Java-serialization skipper (JCEKS secret keys) must
 * stay inside its input, its depth and its handle table. */
#include <stdint.h>
#include <stdlib.h>

#include "../../lib/keystore/ks_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jser_capture caps[] = {{"encodedParams", NULL, 0, false},
			       {"encryptedContent", NULL, 0, false},
			       {"algorithm", NULL, 0, false}};
	mtk_reader r;

	mtk_reader_init(&r, data, size);
	if (mtk_jser_read(&r, caps, 3) == MTK_OK) {
		if (r.off > size)
			abort();
		for (size_t i = 0; i < 3; i++)
			if (caps[i].found &&
			    (caps[i].p < data || caps[i].p + caps[i].len > data + size))
				abort();
	}
	return 0;
}
