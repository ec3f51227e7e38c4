/* fuzz_proxyv2.c - the PROXY v2 decoder on arbitrary bytes; whatever it
 * accepts must survive an encode/decode round trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_pp2_info a, b;
	mtk_buf enc = MTK_BUF_INIT;
	size_t used = 0, used2 = 0;

	if (mtk_pp2_decode(data, size, &a, &used, NULL) != MTK_OK)
		return 0;
	if (used > size)
		abort();
	if (a.src.ss_family != a.dst.ss_family) {
		mtk_pp2_info_free(&a);
		return 0;
	}
	if (mtk_pp2_encode(&a, &enc, NULL) == MTK_OK) {
		if (mtk_pp2_decode(enc.data, enc.len, &b, &used2, NULL) != MTK_OK || used2 != enc.len)
			abort();
		if (b.local != a.local || b.ssl != a.ssl || b.verify != a.verify ||
		    b.client_flags != a.client_flags || b.has_sha256 != a.has_sha256 ||
		    !same(a.cn, b.cn) || !same(a.user, b.user) || !same(a.subject, b.subject) ||
		    !same(a.version, b.version) || !same(a.roles, b.roles))
			abort();
		mtk_pp2_info_free(&b);
	}
	mtk_buf_free(&enc);
	mtk_pp2_info_free(&a);
	return 0;
}
