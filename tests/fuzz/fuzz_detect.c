/* fuzz_detect.c - format detection must classify any bytes without reading
 * past them. */
#include <stdint.h>
#include <stdlib.h>

#include "mtlskit/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_format f = mtk_detect(data, size);

	if (mtk_format_name(f) == NULL)
		abort();
	return 0;
}
