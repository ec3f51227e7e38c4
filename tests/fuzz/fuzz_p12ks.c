/* fuzz_p12ks.c - the PKCS12 keystore reader (p12.c: key, certificate and
 * Java secret-key bags, Java's trusted attribute) with the password
 * "changeit": malformed bytes are refused with a reason; what it accepts
 * encodes again as PKCS12 and reads back with the same entries.  Seeds
 * without a MAC let mutations reach the bag parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/keystore.h"
#include "mtlskit/pem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_secret pass = {(char *)"changeit", 8};
	mtk_keystore *ks = NULL, *again = NULL;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};

	/* PEM too: a PFX in armour (GnuTLS, certutil -encode) is read as one. */
	if (mtk_ks_detect(data, size) != MTK_KS_PKCS12 && !mtk_pem_looks_like(data, size))
		return 0;
	if (mtk_keystore_decode(data, size, "fuzz", &pass, NULL, 0, &ks, &err) != MTK_OK) {
		if (err.code == MTK_OK)
			abort(); /* a refusal always says why */
		return 0;
	}
	if (mtk_keystore_encode(ks, MTK_KS_PKCS12, &pass, NULL, &out, NULL) == MTK_OK) {
		if (mtk_keystore_decode(out.data, out.len, "again", &pass, NULL, 0, &again, NULL) !=
			MTK_OK ||
		    again->count != ks->count)
			abort();
		for (size_t i = 0; i < ks->count; i++)
			if (mtk_keystore_find(again, ks->entries[i].alias) < 0)
				abort();
	}
	mtk_keystore_free(again);
	mtk_keystore_free(ks);
	mtk_buf_free(&out);
	return 0;
}
