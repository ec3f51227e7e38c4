/* fuzz_jks.c - the JKS reader, with the password: digest check and Sun
 * KeyProtector recovery (fuzz_keystore.h). */
#include "fuzz_keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_keystore(data, size, "changeit", 0);
	return 0;
}
