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
	mtk_keystore *ks = NULL, *lazy = NULL;
	mtk_err err = {0}, lerr = {0};
	mtk_rc lrc;

	/* The lazy reader (certificates kept as bytes) on the same input: a
	 * failure names its reason; what it accepts encodes, and every
	 * certificate it kept either decodes or is refused with a reason. */
	/* It reads a buffer it takes on success (the keystore verbs' path)
	 * and leaves it alone on failure. */
	mtk_buf in = MTK_BUF_INIT;
	if (mtk_buf_append(&in, data, size) != MTK_OK)
		abort();
	lrc = mtk_keystore_decode_buf(&in, "fuzz", &pass, NULL,
				      flags | MTK_KS_READ_LAZY | MTK_KS_READ_NO_KEYS, &lazy, &lerr);
	if (lrc != MTK_OK && lerr.code == MTK_OK)
		abort();
	if (lrc != MTK_OK && (in.len != size || memcmp(in.data, data, size) != 0))
		abort();
	mtk_buf_free(&in);
	if (lrc == MTK_OK) {
		mtk_buf out = MTK_BUF_SECRET_INIT;
		if (mtk_keystore_encode(lazy, lazy->type, &pass, NULL, &out, NULL) == MTK_OK) {
			/* What it writes reads back, entry for entry. */
			mtk_keystore *again = NULL;
			if (mtk_keystore_decode(out.data, out.len, "again", &pass, NULL,
						MTK_KS_READ_LAZY | MTK_KS_READ_NO_KEYS, &again,
						NULL) != MTK_OK ||
			    again->count != lazy->count)
				abort();
			mtk_keystore_free(again);
		}
		mtk_buf_free(&out);
		for (size_t i = 0; i < lazy->count; i++) {
			mtk_err cerr = {0};
			if (mtk_ks_entry_ncerts(&lazy->entries[i]) > 0 &&
			    mtk_keystore_chain(lazy, i, &cerr) == NULL && cerr.code == MTK_OK)
				abort();
		}
	}
	if (mtk_keystore_decode(data, size, "fuzz", &pass, NULL, flags, &ks, &err) == MTK_OK) {
		mtk_buf out = MTK_BUF_SECRET_INIT;
		if (ks->type == MTK_KS_PKCS12)
			abort();
		/* Whatever the full reader takes, the lazy one takes too, with the
		 * same entries. */
		if (lazy == NULL || lazy->count != ks->count)
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
	mtk_keystore_free(lazy);
	if (mtk_keystore_decode(data, size, "fuzz", NULL, NULL, MTK_KS_READ_UNVERIFIED, &ks,
				NULL) == MTK_OK)
		mtk_keystore_free(ks);
}

#endif
