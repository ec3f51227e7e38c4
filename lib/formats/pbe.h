/*
 * pbe.h - password-based decryption and MACs of PKCS#12 and PKCS#8, fast.
 *
 * OpenSSL 3.0 runs every iteration of PBKDF2 and of the PKCS#12 KDF through
 * the EVP/provider layer (an HMAC context copy, with allocations, per
 * iteration): about 7,000 instructions where the two SHA-256 compressions
 * themselves cost a few hundred.  A PFX that OpenSSL 3 writes costs three
 * 2,048-iteration derivations, a Java keystore three of 10,000, and that was
 * most of the time of `mid install` and of keystore conversion.
 *
 * These functions run the same derivations over OpenSSL's digest block
 * functions with the HMAC pads hashed once, then decrypt with OpenSSL's AES
 * and DES block functions (an EVP cipher fetch would first build OpenSSL's
 * whole cipher table).  They cover the algorithms that real files use:
 *
 *   PBES2 with PBKDF2 (hmacWithSHA1/224/256/384/512) and AES-128/192/256-CBC
 *   or DES-EDE3-CBC;  pbeWithSHAAnd3-KeyTripleDES-CBC (PKCS#12 KDF);
 *   PKCS#12 MACs (HMAC with SHA-1/224/256/384/512, key from the PKCS#12 KDF).
 *
 * Everything else (RC2, RC4, single DES, GOST, BER-only encodings) answers
 * MTK_E_UNSUPPORTED, and the caller uses OpenSSL's own function: the result
 * is the same either way, only the time differs.  Passwords are converted
 * to BMPString exactly as OpenSSL does (OPENSSL_utf82uni), so a password
 * that works with `openssl pkcs12` works here.
 *
 * Errors never print; derived keys are wiped.
 */
#ifndef MTLSKIT_PBE_H
#define MTLSKIT_PBE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"

/*
 * PBKDF2 (RFC 8018 §5.2) with HMAC over the digest md_nid (NID_sha1,
 * NID_sha224, NID_sha256, NID_sha384, NID_sha512).  MTK_E_UNSUPPORTED for
 * another digest; MTK_E_INVALID_ARG for iter == 0.
 */
MTK_WUR mtk_rc mtk_pbkdf2(int md_nid, const void *pass, size_t passlen, const uint8_t *salt,
			  size_t saltlen, uint64_t iter, uint8_t *out, size_t outlen);

/*
 * The PKCS#12 key derivation (RFC 7292 appendix B.2): id 1 key, 2 IV,
 * 3 MAC key.  bmp is the password already in BMPString form (NULL, 0 for
 * the absent password).  Same digests as mtk_pbkdf2.
 */
MTK_WUR mtk_rc mtk_pkcs12_kdf(int md_nid, int id, const uint8_t *bmp, size_t bmplen,
			      const uint8_t *salt, size_t saltlen, uint64_t iter, uint8_t *out,
			      size_t outlen);

/*
 * CBC with PKCS#7 padding: nid is NID_aes_128_cbc, NID_aes_192_cbc,
 * NID_aes_256_cbc, NID_des_ede3_cbc or NID_des_ede_cbc (two-key 3DES); key
 * and iv are that cipher's sizes.  out receives the result (mark it secret
 * when it is the plaintext).  MTK_E_UNSUPPORTED: another cipher;
 * MTK_E_BAD_PASSWORD: decrypting, the input is not whole blocks or the
 * padding does not check; MTK_E_NOMEM, MTK_E_TOO_LARGE, MTK_E_CRYPTO.
 */
MTK_WUR mtk_rc mtk_cbc_crypt(int nid, bool decrypt, const uint8_t *key, const uint8_t *iv,
			     const uint8_t *in, size_t inlen, mtk_buf *out);

/*
 * Decrypts in with the password-based algorithm alg; the password is pass
 * of passlen bytes, or absent when pass is NULL (PKCS#12's second encoding
 * of "no password").  out receives the plaintext (mark it secret).
 * MTK_E_UNSUPPORTED: not one of the algorithms above, use OpenSSL;
 * MTK_E_BAD_PASSWORD: the padding does not check (wrong password or
 * altered data); MTK_E_NOMEM, MTK_E_CRYPTO.
 */
MTK_WUR mtk_rc mtk_pbe_decrypt(const X509_ALGOR *alg, const char *pass, size_t passlen,
			       const uint8_t *in, size_t inlen, mtk_buf *out);

/*
 * Encryption with alg, for a writer that chose it (salt, IV, iterations)
 * and wants the ciphertext in its own buffer: mtk_pbe_block_size is the
 * cipher's block size (the ciphertext of n bytes is n / bs * bs + bs
 * bytes), 0 when the fast path does not cover alg (then OpenSSL's
 * PKCS12_pbe_crypt_ex); mtk_pbe_encrypt_tail encrypts b->data[off..len) in
 * place, the padding appended.  The same derivations as mtk_pbe_decrypt.
 */
size_t mtk_pbe_block_size(const X509_ALGOR *alg);
MTK_WUR mtk_rc mtk_pbe_encrypt_tail(const X509_ALGOR *alg, const char *pass, size_t passlen,
				    mtk_buf *b, size_t off);

/*
 * The PKCS#12 MAC over data/dlen: HMAC with the digest md_nid (as for
 * mtk_pbkdf2), keyed by the PKCS#12 KDF (id 3) from the password (NULL: the
 * absent one), salt and iter.  mac receives *maclen bytes (the digest's
 * size).  MTK_E_UNSUPPORTED: another digest, iter 0 or more than the fast
 * path runs (then OpenSSL's PKCS12_verify_mac or PKCS12_set_mac).
 */
#define MTK_P12_MAC_MAX 64
MTK_WUR mtk_rc mtk_p12_mac(int md_nid, const char *pass, size_t passlen, const uint8_t *salt,
			   size_t saltlen, uint64_t iter, const uint8_t *data, size_t dlen,
			   uint8_t mac[MTK_P12_MAC_MAX], size_t *maclen);

/*
 * Checks the MAC of the PFX p12 whose DER encoding is der/len.  MTK_OK: the
 * MAC matches; MTK_E_BAD_PASSWORD: it was computed and does not match;
 * MTK_E_UNSUPPORTED: use PKCS12_verify_mac (no MAC, an unknown digest, an
 * indefinite-length encoding).
 */
MTK_WUR mtk_rc mtk_p12_mac_check(PKCS12 *p12, const uint8_t *der, size_t len, const char *pass,
				 size_t passlen);

/*
 * The three operations with OpenSSL's functions behind them: the fast path
 * first, OpenSSL's when the fast path does not cover the algorithm.  When
 * it does, its answer is final (the same derivation and cipher: a wrong
 * password is wrong for both).  pass NULL is the absent password; passlen
 * is ignored then.
 */
bool mtk_p12_verify_mac(PKCS12 *p12, const uint8_t *der, size_t len, const char *pass,
			size_t passlen);
PKCS8_PRIV_KEY_INFO *mtk_p8_decrypt(const X509_SIG *sig, const char *pass, size_t passlen);
STACK_OF(PKCS12_SAFEBAG) * mtk_p7_decrypt_bags(PKCS7 *p7, const char *pass, size_t passlen);
/* The fast path alone: the encrypted safe's plaintext (the SafeContents
 * DER) in out, a secret buffer.  MTK_E_UNSUPPORTED when it does not cover
 * the algorithm (then mtk_p7_decrypt_bags, which also tries OpenSSL's),
 * MTK_E_BAD_PASSWORD for a computed mismatch. */
MTK_WUR mtk_rc mtk_p7_decrypt_plain(PKCS7 *p7, const char *pass, size_t passlen, mtk_buf *out);

/*
 * JCEKS's PBEWithMD5AndTripleDES chain: d = MD5(d || pass) repeated, the
 * first round over seed.  out is 16 bytes.  Sun's derivation, a fast MD5.
 */
void mtk_md5_chain(const uint8_t *seed, size_t seedlen, const void *pass, size_t passlen,
		   uint32_t iter, uint8_t out[16]);

/* ---- What a PKCS#12/PKCS#8 file may ask for (every reader uses these) ---- */

/* An OID as its short name, or dotted when OpenSSL has no name for it. */
void mtk_oid_text(const ASN1_OBJECT *obj, char *out, size_t cap);

/* True when alg (a PKCS#5/PKCS#12 password-based encryption) needs OpenSSL's
 * legacy provider: RC2, RC4 or single DES. */
bool mtk_pbe_needs_legacy(const X509_ALGOR *alg);

/* The most key-derivation iterations a PFX/PKCS12 MAC or PBE may ask for:
 * Java's PKCS12 keystore refuses more, and real files use 2,048 (OpenSSL)
 * to 10,000 (Java, Windows).  A crafted count of 2^31 would otherwise keep
 * the process busy for minutes before any password could be checked. */
#define MTK_PBE_MAX_ITER 5000000L

/* True when the password-based encryption alg asks for more than
 * MTK_PBE_MAX_ITER iterations, or for a count that is not a number
 * (negative, huge); false when it has no count this can read. */
bool mtk_pbe_iter_excessive(const X509_ALGOR *alg);
/* The same for a PFX MAC's iterations (NULL: absent, which means 1). */
bool mtk_mac_iter_excessive(const ASN1_INTEGER *iter);
/* Sets err to MTK_E_TOO_LARGE (exit 3) saying that name's `what` (the MAC,
 * the private key...) asks for too many iterations; returns the code. */
mtk_rc mtk_pbe_iter_refused(mtk_err *err, const char *name, const char *what);

/*
 * The key-derivation work one PFX/PKCS12 file may ask for in all: its MAC,
 * every encrypted safe and every shrouded key, each at most
 * MTK_PBE_MAX_ITER.  Every PKCS#12 read path (the loader's load_p12, the
 * keystore's mtk_p12_decode) takes each derivation from one budget per
 * file before running it.  The budget grows with the file: one derivation
 * at the cap plus MTK_PBE_ITER_PER_BYTE iterations per byte.  A real store
 * spends far less per byte (a Java PKCS12 key entry, ~700 bytes for EC and
 * ~2,300 for RSA with its certificate, costs 10,000 iterations: 4-15 per
 * byte), so a store of thousands of keys opens; a small file with many bags
 * at the cap (7.5 KB with 20 of them took 25 s before) is refused after
 * about one derivation at the cap, whatever it asks for: the work an input
 * can cause stays proportional to its size, as for any other parser.
 */
#define MTK_PBE_FILE_BUDGET MTK_PBE_MAX_ITER
#define MTK_PBE_ITER_PER_BYTE 100

typedef struct mtk_pbe_budget {
	uint64_t left;	 /* iterations still allowed */
	bool exhausted;	 /* the last refusal was the file's total, not one count */
	uint64_t total;	 /* what the file was allowed, for the message */
} mtk_pbe_budget;

/* One derivation at the cap (a single encrypted key). */
#define MTK_PBE_BUDGET_INIT {(uint64_t)MTK_PBE_FILE_BUDGET, false, (uint64_t)MTK_PBE_FILE_BUDGET}
/* The budget of a PKCS#12 file of len bytes. */
mtk_pbe_budget mtk_pbe_budget_for(size_t len);

/* Takes the iterations alg asks for (1 when it has no count this can read)
 * from b.  False, taking nothing, when one count is excessive
 * (mtk_pbe_iter_excessive) or more than is left. */
bool mtk_pbe_budget_take(mtk_pbe_budget *b, const X509_ALGOR *alg);
/* The same for a MAC's iterations (NULL: absent, which means 1). */
bool mtk_pbe_budget_take_mac(mtk_pbe_budget *b, const ASN1_INTEGER *iter);
/* The same for a MAC's iteration count read from the bytes (0 counts 1). */
bool mtk_pbe_budget_take_count(mtk_pbe_budget *b, uint64_t iter);
/* MTK_E_TOO_LARGE for the refusal b last made (what: "MAC", "private
 * key"...): over the file's total, or mtk_pbe_iter_refused. */
mtk_rc mtk_pbe_budget_refused(const mtk_pbe_budget *b, mtk_err *err, const char *name,
			      const char *what);

/* "PBES2/PBKDF2/hmacWithSHA256/AES-256-CBC" or the algorithm's short name,
 * and the KDF iteration count (0 when unknown) of a password-based
 * encryption algorithm. */
void mtk_pbe_describe(const X509_ALGOR *alg, char *out, size_t cap, long *iter);

/* Loads OpenSSL's legacy provider (RC2, RC4, single DES: old PFX files) with
 * the default one, once per process and thread-safely; true when available.
 * Every module that needs it calls this, so there is one copy of the
 * providers. */
bool mtk_legacy_provider(void);

/* Releases the providers mtk_legacy_provider() loaded.  Registered with
 * atexit when they are loaded; may be called earlier, after the last load. */
void mtk_load_cleanup(void);

#endif
