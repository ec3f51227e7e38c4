/* fuzz_fastcert.c - the minimal X.509 walker and its name and serial
 * renderers on arbitrary bytes: never a crash, never a read past the end,
 * and whatever it accepts is self-consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "x509/fastcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mtk_fastcert fc;
	char buf[2048];
	mtk_rc r;

	/* The renderers alone, on the raw bytes. */
	r = mtk_fastcert_name(data, size, buf, sizeof(buf));
	r = mtk_fastcert_name(data, size, buf, 8);
	if (size > 0)
		r = mtk_fastcert_serial_hex(data, size < 300 ? size : 300, buf, sizeof(buf));
	if (size >= 1)
		r = mtk_fastcert_time(data[0], data + 1, size - 1 > 15 ? 15 : size - 1,
				      &fc.not_after);
	(void)r;
	if (mtk_fastcert_parse(data, size, &fc) != MTK_OK)
		return 0;
	if (fc.der_len > size || fc.serial_len == 0 || fc.issuer_len < 2 || fc.subject_len < 2 ||
	    fc.serial < data || fc.serial + fc.serial_len > data + size || fc.issuer < data ||
	    fc.issuer + fc.issuer_len > data + size || fc.subject < data ||
	    fc.subject + fc.subject_len > data + size)
		abort();
	r = mtk_fastcert_name(fc.subject, fc.subject_len, buf, sizeof(buf));
	r = mtk_fastcert_name(fc.issuer, fc.issuer_len, buf, sizeof(buf));
	if (mtk_fastcert_serial_hex(fc.serial, fc.serial_len, buf, sizeof(buf)) == MTK_OK &&
	    strlen(buf) == 0)
		abort();
	(void)r;
	return 0;
}
