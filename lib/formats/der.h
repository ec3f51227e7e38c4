/*
 * der.h - a small DER shape check over bytes (private to lib/), on top of
 * the reader's mtk_der_header.
 */
#ifndef MTLSKIT_DER_H
#define MTLSKIT_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mtlskit/buf.h"

/* True when der[0..n) is one DER SEQUENCE, header and length exactly n
 * bytes: the shape a certificate kept as its bytes (a lazily read keystore
 * entry, a PKCS#12 certificate bag) is checked for before it is decoded. */
static inline bool mtk_der_seq_whole(const uint8_t *der, size_t n)
{
	mtk_reader r;
	uint8_t tag;
	size_t len;

	mtk_reader_init(&r, der, n);
	return mtk_der_header(&r, &tag, &len) && tag == 0x30 && len == mtk_reader_left(&r);
}

/* True when what v has left is exactly the n bytes at want (an OID's value,
 * once mtk_der_enter has taken its tag and length). */
static inline bool mtk_der_value_is(const mtk_reader *v, const uint8_t *want, size_t n)
{
	return mtk_reader_left(v) == n && memcmp(v->data + v->off, want, n) == 0;
}

/* The DER values of the PKCS#7 content types a PFX is made of (its reader,
 * its writer and the MAC check name them) and that format detection looks
 * for. */
#define MTK_OID_P7_DATA	     0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01
#define MTK_OID_P7_SIGNED    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02
#define MTK_OID_P7_ENCRYPTED 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06

#endif
