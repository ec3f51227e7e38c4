/*
 * keygen.h - new private keys and their PEM forms.
 *
 * Key types are named as on the command line: "rsa:2048", "rsa:3072",
 * "rsa:4096", "ec:P-256", "ec:P-384", "ed25519".  Private keys are written
 * as PKCS#8 (BEGIN PRIVATE KEY), or encrypted PKCS#8 (PBES2, PBKDF2 with
 * HMAC-SHA256, AES-256-CBC) when a password is given: the form the MID
 * Server and Java read.
 */
#ifndef MTLSKIT_KEYGEN_H
#define MTLSKIT_KEYGEN_H

#include <stdbool.h>

#include <openssl/evp.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/pass.h"

/* The accepted type names, for usage messages. */
#define MTK_KEY_TYPES "rsa:2048|rsa:3072|rsa:4096|ec:P-256|ec:P-384|ed25519"

/* True when type is one of MTK_KEY_TYPES (case-insensitive; "ec:prime256v1"
 * and "ec:secp384r1" are accepted as aliases). */
bool mtk_key_type_valid(const char *type);

/* Generates a key of type.  *out (owned by the caller, EVP_PKEY_free) is
 * written only on success.  Errors: MTK_E_INVALID_ARG for an unknown type,
 * MTK_E_CRYPTO. */
MTK_WUR mtk_rc mtk_key_generate(const char *type, EVP_PKEY **out, mtk_err *err);

/* Appends the PKCS#8 PEM of key to out; encrypted when pass is not NULL.
 * The bytes never pass through non-wiping memory: make out a secret buffer
 * (MTK_BUF_SECRET_INIT). */
MTK_WUR mtk_rc mtk_key_pem_private(EVP_PKEY *key, const mtk_secret *pass, mtk_buf *out,
				   mtk_err *err);

/* Appends the SubjectPublicKeyInfo PEM (BEGIN PUBLIC KEY) of key to out. */
MTK_WUR mtk_rc mtk_key_pem_public(EVP_PKEY *key, mtk_buf *out, mtk_err *err);

/* The digest to sign with this key: SHA-384 for P-384 (and larger curves
 * or RSA >= 7680 bits, not generated here), SHA-256 otherwise; NULL for
 * Ed25519/Ed448, which have no separate digest. */
const EVP_MD *mtk_key_sign_md(EVP_PKEY *key);

/* The type name of key in MTK_KEY_TYPES form ("rsa:2048", "ec:P-256",
 * "ed25519"), or "" when it is something else; into out. */
void mtk_key_type_name(EVP_PKEY *key, char *out, size_t cap);

/* Reads the first private key in path (any format the loader reads: PKCS#8,
 * encrypted PKCS#8, PKCS#1, SEC1, PFX, ...), decrypting with pass.  *out is
 * a new reference.  Errors: MTK_E_PASSWORD_NEEDED, MTK_E_BAD_PASSWORD,
 * MTK_E_NOT_FOUND (no private key in the file), file and format errors. */
MTK_WUR mtk_rc mtk_key_load(const char *path, const mtk_secret *pass, EVP_PKEY **out,
			    mtk_err *err);

#endif
