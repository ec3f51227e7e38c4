/* fuzz_track.c - `track`'s NAME.conf and NAME.state parsers on arbitrary
 * bytes: a success yields a usable configuration, a failure says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/renew.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_track_conf c;
	mtk_track_state s;
	mtk_err err = {0};

	if (mtk_track_conf_parse(&c, "fuzz", "fuzz.conf", data, size, &err) == MTK_OK) {
		if (c.target == 0 || c.issuer == 0 || c.renew_den <= 0 || c.renew_num >= c.renew_den)
			abort();
		if ((c.target == MTK_TRK_PEM && (c.cert == NULL || c.key == NULL)) ||
		    (c.issuer == MTK_TRK_HELPER && c.helper == NULL))
			abort();
		(void)mtk_track_due(&c, 0, 86400);
		mtk_track_conf_free(&c);
	} else if (err.code == MTK_OK) {
		abort();
	}
	mtk_err_clear(&err);
	if (mtk_track_state_parse(&s, "fuzz.state", data, size, &err) == MTK_OK) {
		if (memchr(s.last_error, '\0', sizeof(s.last_error)) == NULL ||
		    memchr(s.cookie, '\0', sizeof(s.cookie)) == NULL)
			abort();
	} else if (err.code == MTK_OK) {
		abort();
	}
	return 0;
}
