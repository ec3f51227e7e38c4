/* fuzz_jceks.c - the JCEKS reader, secret-key entries included, with the
 * password: digest check and secret-key description; private keys stay
 * locked (each costs 400,000 MD5 rounds).  See fuzz_keystore.h. */
#include "fuzz_keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_keystore(data, size, "storepw1", MTK_KS_READ_NO_KEYS);
	return 0;
}
