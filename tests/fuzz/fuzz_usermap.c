/* fuzz_usermap.c - the user map parser and its lookups on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_usermap *m = NULL;
	mtk_err err = {0};

	if (mtk_usermap_parse("fuzz.map", data, size, &m, &err) != MTK_OK) {
		if (m != NULL || err.code == MTK_OK)
			abort();
		return 0;
	}
	/* every entry is found again by what it was mapped with */
	for (size_t i = 0; i < mtk_usermap_count(m); i++) {
		const mtk_usermap_entry *e = mtk_usermap_get(m, i), *f;
		size_t idx = (size_t)-1;
		uint8_t zero[32] = {0};
		f = e->by_subject ? mtk_usermap_lookup(m, zero, e->subject, &idx)
				  : mtk_usermap_lookup(m, e->sha256, NULL, &idx);
		if (f == NULL || e->user[0] == '\0')
			abort();
		if (!e->by_subject && f != e)
			abort();
		(void)mtk_usermap_has_role(e, "mid_server");
	}
	mtk_usermap_free(m);
	return 0;
}
