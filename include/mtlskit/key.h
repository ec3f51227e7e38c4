/*
 * key.h - what the formats layer says about keys that every layer above
 * needs (lib/formats/pkcs8.c).
 */
#ifndef MTLSKIT_KEY_H
#define MTLSKIT_KEY_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* True when key (private or public) is the public key of cert. */
bool mtk_key_matches_cert(EVP_PKEY *key, X509 *cert);

#endif
