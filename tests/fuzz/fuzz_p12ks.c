/* fuzz_p12ks.c - the PKCS12 keystore reader (p12.c: key, certificate and
 * Java secret-key bags, Java's trusted attribute) with the password
 * "changeit": malformed bytes are refused with a reason; what it accepts
 * encodes again as PKCS12 and reads back with the same entries; the same
 * read lazily (certificates kept as bytes, written back from them).  Seeds
 * without a MAC let mutations reach the bag parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/keystore.h"
#include "mtlskit/pem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read lazily (trusted certificates kept as bytes): accepted exactly when
 * the full read accepts (a certificate it kept may still fail to decode,
 * with a reason), writes back from the bytes, and reads back the same. */
static void lazy(const uint8_t *data, size_t size, const mtk_secret *pass)
{
	mtk_keystore *ks = NULL, *again = NULL;
	mtk_buf out = MTK_BUF_SECRET_INIT;
	mtk_err err = {0};

	if (mtk_keystore_decode(data, size, "fuzz", pass, NULL, MTK_KS_READ_LAZY, &ks, &err) !=
	    MTK_OK) {
		if (err.code == MTK_OK)
			abort();
		return;
	}
	if (mtk_keystore_encode(ks, MTK_KS_PKCS12, pass, NULL, &out, NULL) == MTK_OK) {
		if (mtk_keystore_decode(out.data, out.len, "again", pass, NULL, MTK_KS_READ_LAZY,
					&again, NULL) != MTK_OK ||
		    again->count != ks->count)
			abort();
		for (size_t i = 0; i < ks->count; i++) {
			long j = mtk_keystore_find(again, ks->entries[i].alias);
			unsigned char a[32], b[32];

			if (j < 0 || mtk_ks_entry_ncerts(&again->entries[j]) !=
					 mtk_ks_entry_ncerts(&ks->entries[i]))
				abort();
			/* Kept bytes are written back as they are. */
			if (ks->entries[i].chain == NULL && ks->entries[i].nder > 0 &&
			    (mtk_ks_entry_sha256(&ks->entries[i], 0, a) != MTK_OK ||
			     mtk_ks_entry_sha256(&again->entries[j], 0, b) != MTK_OK ||
			     memcmp(a, b, 32) != 0))
				abort();
		}
	}
	for (size_t i = 0; i < ks->count; i++) {
		mtk_err cerr = {0};
		if (mtk_ks_entry_ncerts(&ks->entries[i]) > 0 &&
		    mtk_keystore_chain(ks, i, &cerr) == NULL && cerr.code == MTK_OK)
			abort();
	}
	mtk_keystore_free(again);
	mtk_keystore_free(ks);
	mtk_buf_free(&out);
}

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
	lazy(data, size, &pass);
	return 0;
}
