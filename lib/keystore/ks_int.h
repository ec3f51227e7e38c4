/*
 * ks_int.h - internals shared by the keystore sources (not public API; the
 * fuzz targets include it to reach the Java-serialization skipper).
 */
#ifndef MTLSKIT_KS_INT_H
#define MTLSKIT_KS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtlskit/buf.h"
#include "mtlskit/keystore.h"

/* --- Java serialization (javaser.c) --- */

/* A field value to pick out of a serialization stream by field name: the
 * first String or byte[] field called `name` anywhere in the stream. */
typedef struct jser_capture {
	const char *name;
	const uint8_t *p; /* borrowed from the stream */
	size_t len;
	bool found;
} jser_capture;

/* Reads exactly one serialization stream (magic AC ED 00 05 and one
 * top-level object) from r, leaving r just past it.  Fills caps (may be
 * NULL).  MTK_E_KEYSTORE for anything malformed or unsupported;
 * MTK_E_TRUNCATED when it runs out of bytes. */
MTK_WUR mtk_rc mtk_jser_read(mtk_reader *r, jser_capture *caps, size_t ncaps);

/* --- modified UTF-8 and passwords (jks.c) --- */

/* Password (UTF-8) as UTF-16BE code units, what JKS/JCEKS hash.  out must
 * be a secret buffer. */
MTK_WUR mtk_rc mtk_ks_pass_utf16(const mtk_secret *pass, mtk_buf *out);
/* True when every byte is printable ASCII 0x20-0x7E (Java 17's rule for
 * JCEKS key passwords and PKCS12 passwords). */
bool mtk_ks_pass_ascii(const mtk_secret *pass);

/* JCEKS PBEWithMD5AndTripleDES with an explicit salt and iteration count;
 * decrypt=false encrypts.  out must be a secret buffer.  MTK_E_KEY_PASSWORD
 * for bad padding on decrypt. */
MTK_WUR mtk_rc mtk_jceks_pbe(const mtk_secret *pass, const uint8_t salt[8], uint32_t iter,
			     bool decrypt, const uint8_t *in, size_t len, mtk_buf *out);

/* --- codecs --- */
/* own: when not NULL, the buffer data lives in (data == own->data); a
 * lazily read store takes its storage instead of copying it. */
MTK_WUR mtk_rc mtk_jks_decode(const uint8_t *data, size_t len, mtk_buf *own, const char *name,
			      const mtk_secret *store_pass, const mtk_secret *key_pass,
			      unsigned flags, mtk_keystore **out, mtk_err *err);
MTK_WUR mtk_rc mtk_jks_encode(const mtk_keystore *ks, mtk_ks_type type,
			      const mtk_secret *store_pass, const mtk_secret *key_pass,
			      mtk_buf *out, mtk_err *err);
MTK_WUR mtk_rc mtk_jks_unlock(mtk_ks_entry *e, const mtk_secret *pass, mtk_err *err);

/* flags: MTK_KS_READ_LAZY keeps trusted entries' certificates as their
 * bytes (entry->der, in the arena), the rest of the flags do not apply. */
MTK_WUR mtk_rc mtk_p12_decode(const uint8_t *data, size_t len, const char *name,
			      const mtk_secret *store_pass, unsigned flags, mtk_keystore **out,
			      mtk_err *err);
MTK_WUR mtk_rc mtk_p12_encode(const mtk_keystore *ks, const mtk_secret *store_pass, mtk_buf *out,
			      mtk_err *err);

/* --- model helpers (keystore.c) --- */
/* n bytes (8-aligned) that live as long as ks: lazily read entries keep
 * their aliases and certificate slices here (entry->borrowed).  NULL
 * without memory. */
void *mtk_ks_arena_alloc(mtk_keystore *ks, size_t n);
/* The alias table's hash of an alias (ASCII case-insensitive). */
uint64_t mtk_ks_alias_hash(const char *alias);
/* Room for n entries and their aliases in the table, ahead of adding them
 * (a decoder that knows the count); no error: growth still works. */
void mtk_ks_reserve(mtk_keystore *ks, size_t n);
/* The pieces the JKS/JCEKS encoder writes, in order: slices of ks->raw
 * (unchanged entries, runs merged) and bytes in side, which the caller
 * frees.  Then a piece's bytes are p when p is not NULL, else
 * side->data + off.  The digest that ends the file is not among them:
 * the caller writes it after them (mtk_jks_pieces_digest). */
typedef struct mtk_ks_piece {
	const uint8_t *p;
	size_t off, len;
} mtk_ks_piece;
MTK_WUR mtk_rc mtk_jks_encode_pieces(const mtk_keystore *ks, mtk_ks_type type,
				     const mtk_secret *store_pass, const mtk_secret *key_pass,
				     mtk_buf *side, mtk_ks_piece **pieces, size_t *npieces,
				     mtk_err *err);
/* The integrity digest over pieces (without digest) as they lie in the
 * file: what follows them there. */
MTK_WUR mtk_rc mtk_jks_pieces_digest(const mtk_secret *store_pass, const mtk_ks_piece *pc, size_t n,
				     const uint8_t *side, uint8_t d[20], mtk_err *err);

/* Appends a zeroed entry (or reuses the slot of an existing alias, which is
 * cleared: a later duplicate replaces the earlier one in place). */
MTK_WUR mtk_rc mtk_ks_slot(mtk_keystore *ks, const char *alias, mtk_ks_entry **out);
/* Call once the entry from mtk_ks_slot has its alias: enters it in the
 * alias table (a replaced entry is already there; entering it again is
 * harmless). */
void mtk_ks_slot_named(mtk_keystore *ks, mtk_ks_entry *e);
void mtk_ks_entry_clear(mtk_ks_entry *e);
/* *out: a new stack with e's certificates, references to its chain or
 * decoded from its stored bytes.  MTK_E_KEYSTORE (naming the alias: not
 * valid DER), MTK_E_NOMEM. */
MTK_WUR mtk_rc mtk_ks_entry_decode_chain(const mtk_ks_entry *e, STACK_OF(X509) * *out,
					 mtk_err *err);
/* ASCII lower-casing copy. */
char *mtk_ks_lower(const char *s);
/* The one case rule for aliases (keytool's for ASCII): A-Z to a-z. */
static inline char mtk_ks_lower_c(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Entry flag kept outside the public struct: the key must be re-protected. */
#define MTK_KS_DIRTY(e) ((e)->protected_key == NULL)

#endif
