/*
 * buf.h - growable byte buffers and the bounds-checked reader.
 *
 * mtk_buf owns its bytes.  A buffer marked secret is wiped whenever its
 * storage moves or is freed, so key material never lingers in freed heap.
 *
 * mtk_reader is the only way parsers touch untrusted bytes: every read checks
 * the bytes left first and fails with MTK_E_TRUNCATED, never reading past the
 * end.  The reader borrows the bytes; it owns nothing.
 */
#ifndef MTLSKIT_BUF_H
#define MTLSKIT_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtlskit/err.h"

typedef struct mtk_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool secret; /* wipe on growth and free */
} mtk_buf;

#define MTK_BUF_INIT {NULL, 0, 0, false}
#define MTK_BUF_SECRET_INIT {NULL, 0, 0, true}

MTK_WUR mtk_rc mtk_buf_reserve(mtk_buf *b, size_t extra);
MTK_WUR mtk_rc mtk_buf_append(mtk_buf *b, const void *p, size_t n);
MTK_WUR mtk_rc mtk_buf_append_str(mtk_buf *b, const char *s);
MTK_WUR mtk_rc mtk_buf_append_u8(mtk_buf *b, uint8_t v);
MTK_WUR mtk_rc mtk_buf_append_u16be(mtk_buf *b, uint16_t v);
MTK_WUR mtk_rc mtk_buf_append_u32be(mtk_buf *b, uint32_t v);
MTK_WUR mtk_rc mtk_buf_append_u64be(mtk_buf *b, uint64_t v);
MTK_WUR mtk_rc mtk_buf_printf(mtk_buf *b, const char *fmt, ...) MTK_PRINTF(2, 3);
/* Takes the bytes out of b (NUL-terminated one past len), leaving b empty. */
uint8_t *mtk_buf_steal(mtk_buf *b, size_t *len);
/* Frees the storage (wiping it first if the buffer is secret) and resets b. */
void mtk_buf_free(mtk_buf *b);
/* Wipes the contents and frees regardless of the secret flag. */
void mtk_buf_cleanse_free(mtk_buf *b);

/* Secret wiping that the compiler cannot remove. */
void mtk_cleanse(void *p, size_t n);
/* Fresh heap memory about to be written whole (a file read into it): its
 * pages faulted in by one call instead of one trap per 4 KiB page, which
 * costs about 2 us each on a virtual machine.  Small or already-present
 * ranges are left alone; a kernel without MADV_POPULATE_WRITE ignores it. */
void mtk_prefault(void *p, size_t n);
/* Wipes and frees a NUL-terminated heap string; NULL-safe. */
void mtk_free_secret_str(char *s);
/* Constant-time comparison; returns 0 when equal. */
int mtk_memcmp_ct(const void *a, const void *b, size_t n);
/* n bytes from the kernel's CSPRNG (getrandom), for salts and temporary
 * names: OpenSSL's DRBG would first be set up, with an AES-CTR fetch that
 * builds OpenSSL's whole cipher table.  MTK_E_CRYPTO when no randomness is
 * available. */
MTK_WUR mtk_rc mtk_random(void *p, size_t n);

/* FNV-1a, 64-bit, over n bytes, continuing from h (start from
 * MTK_FNV1A_INIT): for the library's hash tables, whose keys come from
 * files and peers the caller already bounds, not as a keyed hash. */
#define MTK_FNV1A_INIT 14695981039346656037ULL
uint64_t mtk_fnv1a(uint64_t h, const void *p, size_t n);

/* v in decimal, written at the end of d (no NUL): returns where it starts;
 * it ends at d + MTK_DEC_MAX.  For output built by hand (a row, a series). */
#define MTK_DEC_MAX 24
const char *mtk_fmt_dec(char d[MTK_DEC_MAX], long long v);

/* The value of a hex digit (either case), -1 for anything else. */
static inline int mtk_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

typedef struct mtk_reader {
	const uint8_t *data;
	size_t len;
	size_t off;
} mtk_reader;

/* The few reads every parser makes per byte are inline: a call into another
 * file for each would cost more than the read (an expiry scan walks every
 * certificate's DER through them). */
static inline void mtk_reader_init(mtk_reader *r, const uint8_t *data, size_t len)
{
	r->data = data;
	r->len = data != NULL ? len : 0;
	r->off = 0;
}

static inline size_t mtk_reader_left(const mtk_reader *r)
{
	return r->len - r->off;
}

static inline bool mtk_reader_eof(const mtk_reader *r)
{
	return r->off >= r->len;
}

/* Borrows n bytes: *p points into the reader's data, valid as long as it is. */
MTK_WUR static inline mtk_rc mtk_reader_bytes(mtk_reader *r, size_t n, const uint8_t **p)
{
	if (n > mtk_reader_left(r))
		return MTK_E_TRUNCATED;
	*p = r->data + r->off;
	r->off += n;
	return MTK_OK;
}

MTK_WUR static inline mtk_rc mtk_reader_u8(mtk_reader *r, uint8_t *v)
{
	if (mtk_reader_left(r) < 1)
		return MTK_E_TRUNCATED;
	*v = r->data[r->off++];
	return MTK_OK;
}

MTK_WUR static inline mtk_rc mtk_reader_peek_u8(const mtk_reader *r, uint8_t *v)
{
	if (mtk_reader_left(r) < 1)
		return MTK_E_TRUNCATED;
	*v = r->data[r->off];
	return MTK_OK;
}

/* A child reader over the next n bytes; the parent moves past them. */
MTK_WUR static inline mtk_rc mtk_reader_sub(mtk_reader *r, size_t n, mtk_reader *child)
{
	const uint8_t *p;
	mtk_rc rc = mtk_reader_bytes(r, n, &p);

	if (rc == MTK_OK)
		mtk_reader_init(child, p, n);
	return rc;
}

MTK_WUR static inline mtk_rc mtk_reader_u16be(mtk_reader *r, uint16_t *v)
{
	const uint8_t *p;
	mtk_rc rc = mtk_reader_bytes(r, 2, &p);

	if (rc == MTK_OK)
		*v = (uint16_t)((p[0] << 8) | p[1]);
	return rc;
}

MTK_WUR static inline mtk_rc mtk_reader_u32be(mtk_reader *r, uint32_t *v)
{
	const uint8_t *p;
	mtk_rc rc = mtk_reader_bytes(r, 4, &p);

	if (rc == MTK_OK)
		*v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
	return rc;
}

MTK_WUR static inline mtk_rc mtk_reader_u64be(mtk_reader *r, uint64_t *v)
{
	const uint8_t *p;
	mtk_rc rc = mtk_reader_bytes(r, 8, &p);

	if (rc == MTK_OK) {
		*v = 0;
		for (int i = 0; i < 8; i++)
			*v = (*v << 8) | p[i];
	}
	return rc;
}

MTK_WUR mtk_rc mtk_reader_copy(mtk_reader *r, void *dst, size_t n);
MTK_WUR mtk_rc mtk_reader_skip(mtk_reader *r, size_t n);

/* One DER tag and definite length (at most 4 length bytes, low tag
 * numbers), the value left in r and bounded by what r holds.  False for
 * anything else: indefinite (BER) lengths, a length past the end. */
bool mtk_der_header(mtk_reader *r, uint8_t *tag, size_t *len);
/* The same header, which must carry tag want; inner reads its value. */
bool mtk_der_enter(mtk_reader *r, uint8_t want, mtk_reader *inner);

/* DER writing: a tag and the definite length n (up to 4 length bytes), then
 * (mtk_der_put) the n value bytes at v. */
MTK_WUR mtk_rc mtk_der_put_header(mtk_buf *b, uint8_t tag, size_t n);
MTK_WUR mtk_rc mtk_der_put(mtk_buf *b, uint8_t tag, const void *v, size_t n);

#endif
