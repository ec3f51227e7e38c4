/* fuzz_jceks.c - the JCEKS reader (secret-key entries included) must refuse any malformed bytes
 * cleanly, and what it accepts must encode again. */
#include <stdint.h>
#include <stdlib.h>

#include "mtlskit/keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_secret pass = {(char *)"storepw1", 8};
	mtk_keystore *ks = NULL;
	mtk_err err = {0};

	/* With the password: digest check and JCEKS secret-key description; private keys are left
	 * locked (each costs 400,000 MD5 rounds). */
	if (mtk_keystore_decode(data, size, "fuzz", &pass, NULL, MTK_KS_READ_NO_KEYS, &ks, &err) ==
	    MTK_OK) {
		mtk_buf out = MTK_BUF_SECRET_INIT;
		if (ks->type == MTK_KS_PKCS12)
			abort();
		if (mtk_keystore_encode(ks, ks->type, &pass, NULL, &out, NULL) == MTK_OK &&
		    out.len < 32)
			abort();
		mtk_buf_free(&out);
		mtk_keystore_free(ks);
		ks = NULL;
	} else if (err.code == MTK_OK) {
		abort(); /* every failure names its reason */
	}
	/* Without: structure only. */
	if (mtk_keystore_decode(data, size, "fuzz", NULL, NULL, MTK_KS_READ_UNVERIFIED, &ks,
				NULL) == MTK_OK)
		mtk_keystore_free(ks);
	return 0;
}
