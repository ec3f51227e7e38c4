/* fuzz_caindex.c - the CA state files: index.txt and ca.conf parsers, the
 * index round trip (what is parsed is formatted and parses again to the
 * same entries), serial lookups (every entry is found by its serial), and
 * the one-pass reading of `ca sign`/`revoke`/`crl` (x509/ca_index.h)
 * against the strict parse: on an index that parses, it sees the same
 * state for every serial and the same revoked entries. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/ca.h"
#include "x509/ca_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_ca_index idx = MTK_CA_INDEX_INIT, again = MTK_CA_INDEX_INIT;
	mtk_ca_conf conf;
	mtk_buf b = MTK_BUF_INIT;
	mtk_err err = {0};

	if (mtk_ca_index_parse(data, size, &idx, &err) == MTK_OK) {
		if (mtk_ca_index_format(&idx, &b) != MTK_OK)
			abort();
		if (mtk_ca_index_parse(b.data, b.len, &again, &err) != MTK_OK || again.count != idx.count)
			abort();
		for (size_t i = 0; i < idx.count; i++)
			if (strcmp(idx.items[i].serial, again.items[i].serial) != 0 ||
			    idx.items[i].status != again.items[i].status ||
			    idx.items[i].not_after != again.items[i].not_after)
				abort();
		/* every serial is found, at its first spelling of that value */
		for (size_t i = 0; i < idx.count; i++) {
			size_t at = SIZE_MAX;
			char a[80], z[80];
			if (!mtk_ca_index_find(&idx, idx.items[i].serial, &at) || at > i ||
			    mtk_serial_normalize(idx.items[at].serial, a, sizeof(a), NULL) != MTK_OK ||
			    mtk_serial_normalize(idx.items[i].serial, z, sizeof(z), NULL) != MTK_OK ||
			    strcmp(a, z) != 0)
				abort();
		}
		{
			const char *raw = (const char *)data;
			size_t len = mtk_ca_index_content(raw, size), revoked = 0, nrev = 0;

			if (mtk_ca_index_revoked(raw, len, &revoked, NULL) != MTK_OK)
				abort();
			for (size_t i = 0; i < idx.count; i++) {
				size_t at = SIZE_MAX;
				char st = 0;

				nrev += idx.items[i].status == 'R';
				if (mtk_ca_index_state(raw, len, idx.items[i].serial, &st, NULL) != MTK_OK)
					abort();
				/* a value written in one spelling only: its state */
				if (mtk_ca_index_find(&idx, idx.items[i].serial, &at) && at == i) {
					bool alone = true;
					for (size_t j = i + 1; j < idx.count && alone; j++) {
						char a[80], z[80];
						alone = !(mtk_serial_normalize(idx.items[j].serial, a, sizeof(a), NULL) == MTK_OK &&
							  mtk_serial_normalize(idx.items[i].serial, z, sizeof(z), NULL) == MTK_OK &&
							  strcmp(a, z) == 0);
					}
					if (alone && st != idx.items[i].status)
						abort();
				}
			}
			if (revoked != nrev)
				abort();
		}
	} else if (err.code != MTK_E_CA_STATE && err.code != MTK_E_NOMEM) {
		abort();
	}
	if (mtk_ca_conf_parse(data, size, &conf, NULL) == MTK_OK) {
		b.len = 0;
		if (conf.name[0] == '\0' || mtk_ca_conf_format(&conf, &b) != MTK_OK)
			abort();
	}
	mtk_ca_index_free(&idx);
	mtk_ca_index_free(&again);
	mtk_buf_free(&b);
	return 0;
}
