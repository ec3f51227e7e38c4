/* fuzz_gwconfig.c - the gateway configuration parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "mtlskit/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_gwconfig c;
	mtk_err err = {0};

	mtk_gwconfig_init(&c);
	if (mtk_gwconfig_parse(&c, "fuzz.conf", data, size, &err) == MTK_OK) {
		mtk_err_clear(&err);
		if (mtk_gwconfig_check(&c, &err) != MTK_OK && err.code != MTK_E_CONFIG)
			abort();
		if (c.certs.n > 1024 || c.max_header_size < 256 || c.tls_min < 12)
			abort();
	} else if (err.code == MTK_OK) {
		abort(); /* a failure always says why */
	}
	mtk_gwconfig_free(&c);
	return 0;
}
