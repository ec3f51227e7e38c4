/* fuzz_bundle.c - the bundle path on arbitrary bytes: load (with PEM
 * hygiene findings), every check profile, assemble, encode, and the check
 * again on the encoded result (which must read back). */
#include <stdint.h>
#include <stdlib.h>

#include "mtlskit/bundle.h"
#include "mtlskit/check.h"
#include "mtlskit/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mtk_secret pw = {(char *)"secret", 6};
	mtk_load_opts lo = {.pass = &pw, .findings = true};
	mtk_set set = MTK_SET_INIT;
	mtk_findings fs = MTK_FINDINGS_INIT;
	mtk_err err = {0};

	if (mtk_load_mem(&set, "fuzz.pem", data, size, &lo, NULL, &fs, &err) != MTK_OK) {
		if (set.count != 0)
			abort();
		goto out;
	}
	for (int p = MTK_PROFILE_AUTO; p <= MTK_PROFILE_SERVER; p++) {
		mtk_check_opts co = {.profile = (mtk_profile)p, .now = 1800000000, .expected_alias = "a"};
		if (mtk_check_set(&set, &co, &fs, &err) != MTK_OK)
			abort(); /* only allocation failure may stop a check */
	}
	{
		mtk_bundle b;
		mtk_buf out = MTK_BUF_SECRET_INIT;
		if (mtk_bundle_assemble(&set, NULL, &b, &err) == MTK_OK) {
			if (mtk_bundle_encode(&b, MTK_BUNDLE_ALL, &out, &err) == MTK_OK) {
				mtk_set again = MTK_SET_INIT;
				mtk_findings fs2 = MTK_FINDINGS_INIT;
				mtk_check_opts co = {.profile = MTK_PROFILE_MID, .now = 1800000000};
				/* What we write, we read. */
				if (mtk_load_mem(&again, "out.pem", out.data, out.len, &lo, NULL, &fs2, &err) != MTK_OK)
					abort();
				/* ... and it has no PEM hygiene problem. */
				for (size_t i = 0; i < fs2.count; i++)
					if (fs2.items[i].id == MTK_F_PEM_CRLF || fs2.items[i].id == MTK_F_PEM_STRAY_BYTES ||
					    fs2.items[i].id == MTK_F_PEM_BLANK_LINES)
						abort();
				if (mtk_check_set(&again, &co, &fs2, &err) != MTK_OK)
					abort();
				mtk_set_free(&again);
				mtk_findings_free(&fs2);
			}
			mtk_bundle_free(&b);
		}
		mtk_buf_free(&out);
	}
out:
	mtk_set_free(&set);
	mtk_findings_free(&fs);
	return 0;
}
