/* fuzz_subject.c - the --subject one-line parser, the --san parser and
 * subject validation on arbitrary bytes.  The input is split at the first
 * NUL: before it a subject, after it a SAN spec. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/csr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_subject s = MTK_SUBJECT_INIT;
	mtk_sans sans = MTK_SANS_INIT;
	mtk_findings fs = MTK_FINDINGS_INIT;
	const uint8_t *nul = memchr(data, 0, size);
	size_t slen = nul ? (size_t)(nul - data) : size;
	mtk_err err = {0};
	X509_NAME *n = NULL;

	if (mtk_subject_parse(&s, (const char *)data, slen, &err) == MTK_OK) {
		for (size_t i = 0; i < s.count; i++)
			if (s.items[i].value == NULL || (unsigned)s.items[i].field >= MTK_SUBJ__COUNT)
				abort();
		if (nul != NULL && size - slen - 1 < 4096) {
			char *spec = malloc(size - slen);
			if (spec == NULL)
				abort();
			memcpy(spec, nul + 1, size - slen - 1);
			spec[size - slen - 1] = '\0';
			if (mtk_sans_parse(&sans, spec, NULL) != MTK_OK && sans.count != 0)
				abort(); /* a failed parse adds nothing */
			free(spec);
		}
		if (mtk_csr_validate(&s, &sans, MTK_USAGE_BOTH, "fuzz.csr", &fs) != MTK_OK)
			abort();
		if (mtk_subject_to_name(&s, &n, NULL) == MTK_OK)
			X509_NAME_free(n);
	} else if (s.count != 0) {
		abort(); /* a failed parse leaves the subject unchanged */
	}
	mtk_findings_free(&fs);
	mtk_sans_free(&sans);
	mtk_subject_free(&s);
	return 0;
}
