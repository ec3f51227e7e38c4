/*
 * keystore.h - Java keystores without Java: JKS, JCEKS and PKCS12 as Java 17
 * keytool reads and writes them (docs: /work/shared/specs/java-keystores.md).
 *
 * The model: an mtk_keystore holds entries in file order.  An entry is a
 * private key with its certificate chain, a trusted certificate, or (JCEKS)
 * a secret key.  Decoding keeps what is needed to write the store back
 * byte-faithfully: the stored (encrypted) form of every private key and the
 * raw Java-serialization stream of every secret key, so a store can be
 * edited (add, remove, replace one alias) without knowing every key
 * password.  Keys whose password is known are also decrypted into EVP_PKEY.
 *
 * Ownership: the keystore owns every entry and every OpenSSL object in it;
 * mtk_keystore_free() releases them.  Functions that take OpenSSL objects
 * take their own reference (X509_up_ref / EVP_PKEY_up_ref); the caller keeps
 * its own.  Passwords are never stored in the model.
 *
 * The library never reads the clock: entry dates (milliseconds since the
 * epoch, as Java stores them) come in as arguments.
 */
#ifndef MTLSKIT_KEYSTORE_H
#define MTLSKIT_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"
#include "mtlskit/load.h"
#include "mtlskit/pass.h"

typedef enum {
	MTK_KS_UNKNOWN = 0,
	MTK_KS_JKS,
	MTK_KS_JCEKS,
	MTK_KS_PKCS12,
} mtk_ks_type;

/* "jks", "jceks", "pkcs12" (and "unknown"). */
const char *mtk_ks_type_name(mtk_ks_type t);
/* keytool's spelling: "JKS", "JCEKS", "PKCS12". */
const char *mtk_ks_type_java_name(mtk_ks_type t);
/* Case-insensitive "jks" / "jceks" / "pkcs12" (also "p12", "pfx");
 * MTK_E_INVALID_ARG otherwise. */
MTK_WUR mtk_rc mtk_ks_type_from_name(const char *name, mtk_ks_type *out);
/* From the bytes: magic FEEDFEED, CECECECE, or a DER PFX. */
mtk_ks_type mtk_ks_detect(const uint8_t *data, size_t len);

typedef enum {
	MTK_KSE_KEY = 1,     /* PrivateKeyEntry */
	MTK_KSE_TRUSTED = 2, /* trustedCertEntry */
	MTK_KSE_SECRET = 3,  /* SecretKeyEntry (JCEKS) */
} mtk_kse_kind;

/* Keytool's names: "PrivateKeyEntry", "trustedCertEntry", "SecretKeyEntry". */
const char *mtk_kse_kind_name(mtk_kse_kind k);

/* How the stored form of a private key is protected. */
typedef enum {
	MTK_KSP_NONE = 0, /* no stored form (new entry, or from PKCS12) */
	MTK_KSP_JKS,	  /* Sun KeyProtector (1.3.6.1.4.1.42.2.17.1.1) */
	MTK_KSP_JCEKS,	  /* PBEWithMD5AndTripleDES (1.3.6.1.4.1.42.2.19.1) */
} mtk_ks_protection;

typedef struct mtk_ks_entry {
	mtk_kse_kind kind;
	/* UTF-8 for display and lookup (a NUL or an unpaired surrogate in the
	 * stored alias shows as U+FFFD). */
	char *alias;
	/* The modified UTF-8 bytes as stored in a JKS/JCEKS file, kept to write
	 * the alias back exactly; NULL for new entries and PKCS12. */
	uint8_t *alias_raw;
	size_t alias_raw_len;
	int64_t date_ms; /* creation date, ms since the epoch */

	/* MTK_KSE_KEY */
	EVP_PKEY *key;		/* decrypted key; NULL while locked */
	bool key_locked;	/* stored key present but not decrypted (password) */
	uint8_t *protected_key; /* stored EncryptedPrivateKeyInfo DER; may be NULL */
	size_t protected_len;
	mtk_ks_protection protection;
	/* MTK_KSE_KEY: the chain, end-entity first.  MTK_KSE_TRUSTED: the one
	 * certificate. */
	STACK_OF(X509) * chain;

	/* The certificates as stored (DER, borrowed from the keystore's copy
	 * of the file, ks->raw, or for PKCS12 from its arena) when the store
	 * was read with MTK_KS_READ_LAZY;
	 * chain is then NULL until mtk_keystore_chain() decodes them, and an
	 * entry never decoded is written back from these bytes. */
	struct mtk_ks_der {
		const uint8_t *p;
		size_t len;
	} *der;
	int nder;

	/* MTK_KSE_SECRET: the Java serialization stream, kept verbatim. */
	uint8_t *secret_raw;
	size_t secret_raw_len;
	char secret_alg[32]; /* "AES" when it could be decrypted, else "" */
	int secret_bits;     /* key size in bits when decrypted, else 0 */
	/* JCEKS: the decrypted SecretKeySpec stream when the password opened
	 * it (so it can be sealed again under a new password), else NULL.
	 * Read from PKCS12 (secret_raw NULL): the decrypted {0, algorithm,
	 * key} DER of Java's SecretBag. */
	uint8_t *secret_plain;
	size_t secret_plain_len;

	/* Private (keystore.c, jks.c).  borrowed: alias, alias_raw, der and
	 * protected_key belong to the keystore (its copy of the file and its
	 * arena), not to the entry.  span_len > 0: the entry is the bytes
	 * raw[span_off, span_off + span_len) of a lazily read JKS/JCEKS,
	 * exactly what the encoder would write for it, so they are written
	 * as they are (any edit clears the entry, and with it the span).
	 * hash: the alias's table hash, 0 until computed.  p12_bag: a
	 * trusted entry of a lazily read PKCS12, the SafeBag it was read
	 * from (in the arena), written as it is while the entry is unchanged
	 * (cleared with the span). */
	bool borrowed;
	size_t span_off, span_len;
	uint64_t hash;
	struct mtk_ks_der p12_bag;
} mtk_ks_entry;

typedef struct mtk_keystore {
	mtk_ks_type type;
	uint32_t version; /* JKS/JCEKS: 1 or 2 */
	/* JKS/JCEKS: the integrity digest was checked with the store password.
	 * PKCS12: the MAC (if any) was checked. */
	bool verified;
	bool p12_legacy;	/* needed OpenSSL's legacy provider */
	char p12_mac[16];	/* "sha256", "sha1", "" when no MAC */
	size_t locked_keys;	/* key entries left undecrypted */
	size_t p12_loose_certs; /* PKCS12 certificates in no entry (Java ignores them) */
	mtk_ks_entry *entries;
	size_t count;
	size_t cap;
	/* Private: aliases by hash (keystore.c): entry index + 1 in the low
	 * 32 bits (0: empty), the hash's top half above; at most half full.
	 * NULL: lookups scan. */
	uint64_t *slots;
	size_t nslots;
	/* Private: the file's bytes, kept when read with MTK_KS_READ_LAZY
	 * (entries' der point into them). */
	uint8_t *raw;
	size_t raw_len;
	/* Private: blocks holding the lazily read entries' aliases and
	 * certificate slices (one allocation per 64 KiB, not per entry). */
	struct mtk_ks_arena *arena;
} mtk_keystore;

/* A new empty keystore of the given type; NULL on allocation failure. */
mtk_keystore *mtk_keystore_new(mtk_ks_type type);
/* NULL-safe; wipes the stored key forms and frees every object. */
void mtk_keystore_free(mtk_keystore *ks);

enum {
	/* JKS/JCEKS: with no store password, read the entries without checking
	 * the integrity digest (verified stays false) instead of failing with
	 * MTK_E_PASSWORD_NEEDED.  Keys are then only decrypted with key_pass. */
	MTK_KS_READ_UNVERIFIED = 1u << 0,
	/* Do not decrypt private keys (listing: JCEKS keys cost 400,000 MD5
	 * rounds each); they stay locked.  Secret keys are still described. */
	MTK_KS_READ_NO_KEYS = 1u << 1,
	/* JKS/JCEKS: keep each certificate as its bytes (only its outer
	 * SEQUENCE checked) instead of decoding it with OpenSSL; entries' chain
	 * stays NULL until mtk_keystore_chain().  For commands that touch few
	 * entries of a large store (list, add-trusted, remove): untouched
	 * entries are written back byte for byte.  PKCS12: trusted entries'
	 * certificates are kept as their bytes the same way (key entries'
	 * chains are decoded) and written back from them; the certificate
	 * safe is still decrypted, and encrypted again, whole. */
	MTK_KS_READ_LAZY = 1u << 2,
};

/* Entry index's chain (end-entity first; a trusted entry's one
 * certificate), decoding it first when the store was read lazily.
 * Borrowed from ks.  NULL with err set: a certificate that is not valid
 * DER (MTK_E_KEYSTORE, naming the alias), MTK_E_NOMEM. */
STACK_OF(X509) * mtk_keystore_chain(mtk_keystore *ks, size_t index, mtk_err *err);
/* How many certificates entry e holds, decoded or not. */
int mtk_ks_entry_ncerts(const mtk_ks_entry *e);
/* SHA-256 of certificate j of e over its DER, from the stored bytes when
 * it was not decoded.  MTK_E_INVALID_ARG for j out of range. */
MTK_WUR mtk_rc mtk_ks_entry_sha256(const mtk_ks_entry *e, int j, unsigned char md[32]);

/*
 * Reads a JKS, JCEKS or PKCS12 store.  name is used in error details.
 * Private keys are decrypted with key_pass if given, else with store_pass;
 * a key that does not decrypt is kept locked (entry->key_locked, counted in
 * ks->locked_keys) and is not an error.  Secret keys are described when the
 * same password opens them.  JCEKS decryption is bounded per call (20 million
 * MD5-chain iterations, 100 keys at Java's default): keys beyond it stay
 * locked and can be opened one by one with mtk_keystore_unlock().
 *
 * Errors: MTK_E_INTEGRITY (digest or MAC mismatch: wrong store password or
 * altered file; detail "keystore password is incorrect or the file was
 * altered"), MTK_E_PASSWORD_NEEDED (store_pass NULL, see flags),
 * MTK_E_TRUNCATED, MTK_E_KEYSTORE (bad structure, absurd count or length,
 * 4-byte UTF-8 in an alias), MTK_E_KEYSTORE_TAG ("Unrecognized keystore
 * entry: N"), MTK_E_PKCS12, MTK_E_UNKNOWN_FORMAT.  *out is written only on
 * success and is owned by the caller.
 */
MTK_WUR mtk_rc mtk_keystore_decode(const uint8_t *data, size_t len, const char *name,
				   const mtk_secret *store_pass, const mtk_secret *key_pass,
				   unsigned flags, mtk_keystore **out, mtk_err *err);

/* mtk_keystore_decode over a buffer the caller owns (read with
 * mtk_file_read).  With MTK_KS_READ_LAZY on a JKS/JCEKS the keystore takes
 * the buffer's storage instead of copying it (in is left empty) on
 * success; otherwise, and on any failure, in is left as it was. */
MTK_WUR mtk_rc mtk_keystore_decode_buf(mtk_buf *in, const char *name, const mtk_secret *store_pass,
				       const mtk_secret *key_pass, unsigned flags,
				       mtk_keystore **out, mtk_err *err);

/* Tries to decrypt a locked key entry with pass.  MTK_E_KEY_PASSWORD when it
 * is the wrong password. */
MTK_WUR mtk_rc mtk_keystore_unlock(mtk_keystore *ks, size_t index, const mtk_secret *pass,
				   mtk_err *err);

/* Index of alias (compared ASCII case-insensitively, as Java lower-cases
 * aliases), or -1.  A hash lookup: constant time at any store size. */
long mtk_keystore_find(const mtk_keystore *ks, const char *alias);
/* Removes the entry at index. */
void mtk_keystore_remove(mtk_keystore *ks, size_t index);

/* Checks an alias for writing: not empty, at most 255 bytes, printable
 * ASCII (non-ASCII aliases are refused because Java lower-cases full
 * Unicode; we restrict ourselves to what we can lower-case exactly).
 * MTK_E_INVALID_ARG with a clear detail otherwise. */
MTK_WUR mtk_rc mtk_keystore_check_alias(const char *alias, mtk_err *err);

/* Adds (or replaces, keeping its place) a private key entry: alias is
 * lower-cased, key and chain (end-entity first, borrowed) are referenced.
 * The key is protected afresh when the store is encoded. */
MTK_WUR mtk_rc mtk_keystore_add_key(mtk_keystore *ks, const char *alias, EVP_PKEY *key,
				    STACK_OF(X509) * chain, int64_t date_ms, mtk_err *err);
/* Adds (or replaces) a trusted certificate entry. */
MTK_WUR mtk_rc mtk_keystore_add_trusted(mtk_keystore *ks, const char *alias, X509 *cert,
					int64_t date_ms, mtk_err *err);
/* Replaces the chain of key entry index (chain borrowed; referenced). */
MTK_WUR mtk_rc mtk_keystore_set_chain(mtk_keystore *ks, size_t index, STACK_OF(X509) * chain,
				      mtk_err *err);
/* Marks key entry index to be protected afresh (with the key password given
 * to encode) instead of keeping its stored form; the key must be unlocked. */
MTK_WUR mtk_rc mtk_keystore_reprotect(mtk_keystore *ks, size_t index, mtk_err *err);

/*
 * Encodes ks as a store of type `type` into out (replacing its contents;
 * out should be a secret buffer).  store_pass protects the store (digest or
 * MAC, and everything in a PKCS12).  Private keys: a stored form is kept
 * unchanged when the target type is the store's own and the entry was not
 * changed; otherwise the key (which must be unlocked: MTK_E_KEY_PASSWORD
 * names the alias if not) is protected with key_pass, or store_pass when
 * key_pass is NULL.  PKCS12 uses store_pass for every key, as Java does.
 *
 * Errors: MTK_E_INVALID_ARG (an alias that cannot be written; a JCEKS key
 * password or PKCS12 password that is not printable ASCII, which Java 17
 * refuses; a secret key going to JKS or PKCS12), MTK_E_KEY_PASSWORD,
 * MTK_E_CRYPTO, MTK_E_NOMEM.
 */
MTK_WUR mtk_rc mtk_keystore_encode(const mtk_keystore *ks, mtk_ks_type type,
				   const mtk_secret *store_pass, const mtk_secret *key_pass,
				   mtk_buf *out, mtk_err *err);

/*
 * mtk_keystore_encode(ks, ks->type, ...) written to path with mtk_file_writev
 * (wflags: MTK_WRITE_*; temporary file, fsync, rename as mtk_file_write).
 * A JKS/JCEKS read lazily is never copied into an output buffer: the
 * unchanged runs of the file go to the temporary straight from the
 * keystore's copy of it, the integrity digest computed over the same
 * pieces.  The bytes written are those mtk_keystore_encode gives.  Errors:
 * those of mtk_keystore_encode and mtk_file_write.
 */
MTK_WUR mtk_rc mtk_keystore_save(const mtk_keystore *ks, const char *path,
				 const mtk_secret *store_pass, const mtk_secret *key_pass,
				 unsigned wflags, mtk_err *err);

/* The whole store as another type, every entry preserved (same as encode;
 * named for `mtlskit convert --to jks|jceks|pkcs12`).  Every key must be
 * unlocked when the type changes. */
MTK_WUR mtk_rc mtk_keystore_convert(const mtk_keystore *ks, mtk_ks_type to,
				    const mtk_secret *store_pass, const mtk_secret *key_pass,
				    mtk_buf *out, mtk_err *err);

/* A new store of `type` holding one key entry: alias (NULL means "mykey"),
 * key and chain (end-entity first; borrowed), dated date_ms. */
MTK_WUR mtk_rc mtk_keystore_write_key(mtk_ks_type type, const char *alias, EVP_PKEY *key,
				      STACK_OF(X509) * chain, int64_t date_ms,
				      const mtk_secret *store_pass, const mtk_secret *key_pass,
				      mtk_buf *out, mtk_err *err);

/*
 * For the object loader: reads JKS/JCEKS (or PKCS12) bytes and appends
 * objects to set.  For each key entry an MTK_OBJ_KEY (key_form
 * MTK_KEY_CONTAINER, alias set, encrypted = true, key = NULL when it could
 * not be decrypted) followed by its chain as MTK_OBJ_CERT objects with the
 * same alias, in chain order; each trusted entry an MTK_OBJ_CERT with its
 * alias; each secret key an MTK_OBJ_SECRET_KEY with note "AES 256-bit" (or
 * "secret key" when it could not be decrypted).
 *
 * store_pass NULL: default_pass (may be NULL) is tried; the reader never
 * guesses one from the name (the caller asks mid.h's mtk_mid_default_for,
 * which gives "changeit" for an agent keystore only).  When there is none,
 * or it fails, info (format, version, entry count, needs_password) is still
 * filled and MTK_E_PASSWORD_NEEDED is returned with the set unchanged.  A wrong
 * store_pass: MTK_E_INTEGRITY, "keystore password is incorrect or the file
 * was altered".
 *
 * Keys are decrypted with key_pass, else with the store password.  A key
 * that does not decrypt is still listed (key NULL) and the call returns
 * MTK_OK: callers that need the key check obj->key (the keystore verbs use
 * mtk_keystore_decode directly and report MTK_E_KEY_PASSWORD themselves).
 * Only when key_pass was given explicitly and opens no key entry at all is
 * MTK_E_KEY_PASSWORD returned (with the set unchanged), so a wrong
 * --key-pass is never silently ignored.
 */
MTK_WUR mtk_rc mtk_keystore_load_set(mtk_set *set, const char *name, const uint8_t *data,
				     size_t len, const mtk_secret *store_pass,
				     const mtk_secret *default_pass, const mtk_secret *key_pass,
				     mtk_container_info *info, mtk_err *err);

/* --- what keytool does besides storing (gen.c) --- */

/* New key pair: "RSA" (keysize 0 = 2048) or "EC" (0 or 256 = P-256, 384,
 * 521), as keytool -genkeypair.  *out is owned by the caller. */
MTK_WUR mtk_rc mtk_ks_genkey(const char *keyalg, int keysize, EVP_PKEY **out, mtk_err *err);
/* keytool -dname syntax ("CN=a, OU=b, O=c, C=US", most specific first, "\,"
 * escapes a comma) to an X509_NAME owned by the caller. */
MTK_WUR mtk_rc mtk_ks_parse_dname(const char *dname, X509_NAME **out, mtk_err *err);
/* A v3 self-signed certificate like keytool -genkeypair: random 63-bit
 * serial, valid from now for days, SubjectKeyIdentifier, SHA-256 (SHA-384
 * or SHA-512 for the larger curves). */
MTK_WUR mtk_rc mtk_ks_selfsign(EVP_PKEY *key, const char *dname, long days, time_t now, X509 **out,
			       mtk_err *err);
/* A PKCS#10 request for leaf's subject signed by key (keytool -certreq). */
MTK_WUR mtk_rc mtk_ks_certreq(EVP_PKEY *key, X509 *leaf, X509_REQ **out, mtk_err *err);
/*
 * Installs a CA reply (certificates in any order, borrowed) on key entry
 * index with keytool -importcert semantics: the reply must hold the entry's
 * public key (MTK_E_KEY_MISMATCH "Public keys in reply and keystore don't
 * match"), a single certificate must differ from the current one; the reply
 * is reordered from the leaf by issuer and signature ("Incomplete
 * certificate chain in reply"), then completed from the keystore's trusted
 * entries up to a self-signed root ("Failed to establish chain from
 * reply").  *top_trusted tells whether the top of the chain is a trusted
 * entry of the store (keytool asks before installing otherwise).
 */
MTK_WUR mtk_rc mtk_keystore_install_reply(mtk_keystore *ks, size_t index, STACK_OF(X509) * reply,
					  bool *top_trusted, mtk_err *err);

#endif
