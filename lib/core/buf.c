#include "mtlskit/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

void mtk_cleanse(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void mtk_free_secret_str(char *s)
{
	if (s == NULL)
		return;
	mtk_cleanse(s, strlen(s));
	free(s);
}

int mtk_memcmp_ct(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) != 0;
}

mtk_rc mtk_random(void *p, size_t n)
{
	uint8_t *q = p;

	while (n > 0) {
		ssize_t got = getrandom(q, n, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) /* ENOSYS: a kernel older than 3.17 */
			return RAND_bytes(q, (int)n) == 1 ? MTK_OK : MTK_E_CRYPTO;
		q += got;
		n -= (size_t)got;
	}
	return MTK_OK;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

void mtk_prefault(void *p, size_t n)
{
	static uintptr_t page;
	uintptr_t a, e;

	if (n < ((size_t)256 << 10))
		return; /* a few faults cost less than the call */
	if (page == 0) {
		long ps = sysconf(_SC_PAGESIZE);
		page = ps > 0 ? (uintptr_t)ps : 4096;
	}
	a = ((uintptr_t)p + page - 1) & ~(page - 1);
	e = ((uintptr_t)p + n) & ~(page - 1);
	if (e > a)
		(void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
}

mtk_rc mtk_buf_reserve(mtk_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len - 1)
		return MTK_E_NOMEM;
	need = b->len + extra + 1; /* room for a terminating NUL */
	if (need <= b->cap)
		return MTK_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->secret) {
		/* realloc could leave a copy of the secret behind: move it by hand. */
		p = malloc(cap);
		if (p == NULL)
			return MTK_E_NOMEM;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			mtk_cleanse(b->data, b->cap);
			free(b->data);
		}
	} else {
		p = realloc(b->data, cap);
		if (p == NULL)
			return MTK_E_NOMEM;
	}
	b->data = p;
	b->cap = cap;
	return MTK_OK;
}

mtk_rc mtk_buf_append(mtk_buf *b, const void *p, size_t n)
{
	mtk_rc rc;

	if ((rc = mtk_buf_reserve(b, n)) != MTK_OK)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return MTK_OK;
}

mtk_rc mtk_buf_append_str(mtk_buf *b, const char *s)
{
	return mtk_buf_append(b, s, strlen(s));
}

mtk_rc mtk_buf_append_u8(mtk_buf *b, uint8_t v)
{
	return mtk_buf_append(b, &v, 1);
}

mtk_rc mtk_buf_append_u16be(mtk_buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return mtk_buf_append(b, x, sizeof(x));
}

mtk_rc mtk_buf_append_u32be(mtk_buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return mtk_buf_append(b, x, sizeof(x));
}

mtk_rc mtk_buf_append_u64be(mtk_buf *b, uint64_t v)
{
	mtk_rc rc = mtk_buf_append_u32be(b, (uint32_t)(v >> 32));
	if (rc != MTK_OK)
		return rc;
	return mtk_buf_append_u32be(b, (uint32_t)v);
}

mtk_rc mtk_buf_printf(mtk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	mtk_rc rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MTK_E_INTERNAL;
	if ((rc = mtk_buf_reserve(b, (size_t)n)) != MTK_OK)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return MTK_OK;
}

uint8_t *mtk_buf_steal(mtk_buf *b, size_t *len)
{
	uint8_t *p = b->data;

	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void mtk_buf_free(mtk_buf *b)
{
	if (b == NULL)
		return;
	if (b->secret && b->data != NULL)
		mtk_cleanse(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void mtk_buf_cleanse_free(mtk_buf *b)
{
	if (b == NULL)
		return;
	b->secret = true;
	mtk_buf_free(b);
}

mtk_rc mtk_reader_copy(mtk_reader *r, void *dst, size_t n)
{
	const uint8_t *p;
	mtk_rc rc = mtk_reader_bytes(r, n, &p);

	if (rc == MTK_OK && n > 0)
		memcpy(dst, p, n);
	return rc;
}

mtk_rc mtk_reader_skip(mtk_reader *r, size_t n)
{
	const uint8_t *p;
	return mtk_reader_bytes(r, n, &p);
}

/* ---- DER headers ---- */

bool mtk_der_header(mtk_reader *r, uint8_t *tag, size_t *len)
{
	uint8_t b, n;
	size_t l = 0;

	if (mtk_reader_u8(r, tag) != MTK_OK || (*tag & 0x1f) == 0x1f)
		return false; /* high tag numbers never start our formats */
	if (mtk_reader_u8(r, &b) != MTK_OK)
		return false;
	if (b < 0x80) {
		l = b;
	} else {
		n = b & 0x7f;
		if (n == 0 || n > 4) /* no indefinite lengths, no > 4 GiB */
			return false;
		for (uint8_t i = 0; i < n; i++) {
			if (mtk_reader_u8(r, &b) != MTK_OK)
				return false;
			l = (l << 8) | b;
		}
	}
	if (l > mtk_reader_left(r))
		return false;
	*len = l;
	return true;
}

bool mtk_der_enter(mtk_reader *r, uint8_t want, mtk_reader *inner)
{
	uint8_t tag;
	size_t len;

	return mtk_der_header(r, &tag, &len) && tag == want && mtk_reader_sub(r, len, inner) == MTK_OK;
}

uint64_t mtk_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ u[i]) * 1099511628211ULL;
	return h;
}

const char *mtk_fmt_dec(char d[MTK_DEC_MAX], long long v)
{
	size_t i = MTK_DEC_MAX;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		d[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		d[--i] = '-';
	return d + i;
}

mtk_rc mtk_der_put_header(mtk_buf *b, uint8_t tag, size_t n)
{
	uint8_t h[6];
	size_t k = 0;

	if (n > 0xffffffffu)
		return MTK_E_TOO_LARGE;
	h[k++] = tag;
	if (n < 0x80) {
		h[k++] = (uint8_t)n;
	} else {
		int bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
		h[k++] = (uint8_t)(0x80 | bytes);
		for (int i = bytes - 1; i >= 0; i--)
			h[k++] = (uint8_t)(n >> (8 * i));
	}
	return mtk_buf_append(b, h, k);
}

mtk_rc mtk_der_put(mtk_buf *b, uint8_t tag, const void *v, size_t n)
{
	mtk_rc rc = mtk_der_put_header(b, tag, n);

	return rc != MTK_OK || n == 0 ? rc : mtk_buf_append(b, v, n);
}
