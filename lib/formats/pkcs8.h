/*
 * pkcs8.h - private keys to and from PKCS#8 PrivateKeyInfo, keeping the
 * bytes a key was read from.
 *
 * A key read from PKCS#8 (a PFX bag, a JKS/JCEKS entry, a PEM "PRIVATE
 * KEY") keeps a copy of that DER on the EVP_PKEY (OpenSSL ex_data, wiped
 * when the key is freed).  Writing it as PKCS#8 again then uses those bytes,
 * as keytool does (Java keeps a key's encoding), instead of OpenSSL 3.0's
 * encoder, whose first use per process builds OpenSSL's whole encoder table
 * (about 4 million instructions and 40 page faults, most of `mid install`'s
 * write).  Only plain version-0 PrivateKeyInfo without attributes is kept:
 * the bytes a fresh encoding would give, up to optional fields.
 */
#ifndef MTLSKIT_PKCS8_H
#define MTLSKIT_PKCS8_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"

/* EVP_PKCS82PKEY, remembering p8's encoding on the key; NULL when OpenSSL
 * cannot read the key.  An rsaEncryption key is read with OpenSSL's
 * RSAPrivateKey parser directly (the decoder context costs ~2.7 million
 * instructions per key in OpenSSL 3.0); it behaves as the decoder's key. */
EVP_PKEY *mtk_p8_to_key(const PKCS8_PRIV_KEY_INFO *p8);

/* An EC key with explicit curve parameters that are a named curve's is set
 * to encode with the curve's name (Java, keytool and GnuTLS refuse explicit
 * parameters; OpenSSL recognises the named curve).  True when it changed
 * the key; false for every other key, and for explicit parameters of no
 * named curve (left as they are). */
bool mtk_key_named_curve(EVP_PKEY *key);
/* True when key is an EC key still encoded with explicit curve parameters:
 * mtk_key_named_curve found no named curve with those parameters.  PKIX
 * (RFC 5480) requires a named curve; Java, keytool and GnuTLS refuse it. */
bool mtk_key_explicit_curve(EVP_PKEY *key);

/* Appends key's PKCS#8 PrivateKeyInfo DER to out (mark out secret): the
 * remembered bytes, else OpenSSL's encoding.  MTK_E_CRYPTO when the key has
 * no PKCS#8 form; MTK_E_NOMEM. */
MTK_WUR mtk_rc mtk_key_p8_der(EVP_PKEY *key, mtk_buf *out);

#endif
