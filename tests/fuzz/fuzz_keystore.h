/* fuzz_keystore.h - the body shared by the JKS and JCEKS targets: a reader
 * must refuse any malformed bytes cleanly (naming a reason), never take them
 * for PKCS12, and what it accepts must encode again; then the same bytes
 * without a password, structure only. */
#ifndef MTLSKIT_FUZZ_KEYSTORE_H
#define MTLSKIT_FUZZ_KEYSTORE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/keystore.h"

static void fuzz_keystore(const uint8_t *data, size_t size, const char *password, unsigned flags)
{
	mtk_secret pass = {(char *)password, strlen(password)};
	mtk_keystore *ks = NULL;
	mtk_err err = {0};

	if (mtk_keystore_decode(data, size, "fuzz", &pass, NULL, flags, &ks, &err) == MTK_OK) {
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
	if (mtk_keystore_decode(data, size, "fuzz", NULL, NULL, MTK_KS_READ_UNVERIFIED, &ks,
				NULL) == MTK_OK)
		mtk_keystore_free(ks);
}

#endif
