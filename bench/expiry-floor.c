/*
 * expiry-floor.c - the least work an expiry scan of a PEM bundle can do, the
 * floor `mtlskit expiry BUNDLE` is measured against (bench/expiry.sh): map
 * the file, find each CERTIFICATE block, decode its base64 with a table,
 * walk the DER to notAfter, and print how many certificates were read and
 * the earliest notAfter as it is written.  No fingerprint, no subject, no
 * output per certificate, no checks beyond what the walk needs.
 *
 *   expiry-floor BUNDLE.pem
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static signed char b64[256];

static void b64_init(void)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	memset(b64, -1, sizeof(b64));
	for (int i = 0; i < 64; i++)
		b64[(unsigned char)a[i]] = (signed char)i;
}

/* Decodes s[0..n) (newlines skipped, '=' ends it) into out; its length. */
static size_t b64_decode(const char *s, size_t n, uint8_t *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64[(unsigned char)s[i]];

		if (v < 0) {
			if (s[i] == '=')
				break;
			continue;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o;
}

/* One DER header at *p (< end): tag and content length; 0 on error. */
static int tlv(const uint8_t **p, const uint8_t *end, unsigned *tag, size_t *len)
{
	const uint8_t *q = *p;
	size_t l;

	if (end - q < 2)
		return 0;
	*tag = *q++;
	l = *q++;
	if (l & 0x80) {
		int k = l & 0x7f;
		if (k == 0 || k > 4 || end - q < k)
			return 0;
		for (l = 0; k-- > 0;)
			l = l << 8 | *q++;
	}
	if ((size_t)(end - q) < l)
		return 0;
	*len = l;
	*p = q;
	return 1;
}

/* notAfter of the certificate der[0..n): pointer and length, 0 on error. */
static int not_after(const uint8_t *der, size_t n, const uint8_t **t, size_t *tl)
{
	const uint8_t *p = der, *end = der + n;
	unsigned tag;
	size_t l;

	if (!tlv(&p, end, &tag, &l) || tag != 0x30 || !tlv(&p, end, &tag, &l) || tag != 0x30)
		return 0; /* Certificate, tbsCertificate */
	end = p + l;
	if (!tlv(&p, end, &tag, &l))
		return 0;
	if (tag == 0xa0) { /* [0] version */
		p += l;
		if (!tlv(&p, end, &tag, &l))
			return 0;
	}
	p += l; /* serialNumber */
	for (int i = 0; i < 2; i++) { /* signature, issuer */
		if (!tlv(&p, end, &tag, &l))
			return 0;
		p += l;
	}
	if (!tlv(&p, end, &tag, &l) || tag != 0x30) /* validity */
		return 0;
	if (!tlv(&p, end, &tag, &l)) /* notBefore */
		return 0;
	p += l;
	if (!tlv(&p, end, &tag, &l)) /* notAfter */
		return 0;
	*t = p;
	*tl = l;
	return 1;
}

int main(int argc, char **argv)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", endm[] = "-----END CERTIFICATE-----";
	char earliest[32] = "";
	uint8_t der[65536];
	unsigned long count = 0, bad = 0;
	struct stat st;
	const char *map, *p, *end;
	int fd;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "usage: expiry-floor BUNDLE.pem\n");
		return 2;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return 1;
	madvise((void *)map, (size_t)st.st_size, MADV_SEQUENTIAL);
	b64_init();
	p = map;
	end = map + st.st_size;
	while ((p = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1)) != NULL) {
		const char *body = p + sizeof(begin) - 1, *e = memmem(body, (size_t)(end - body), endm, sizeof(endm) - 1);
		const uint8_t *t;
		size_t n, tl;

		if (e == NULL || (size_t)(e - body) > sizeof(der) * 4 / 3)
			break;
		n = b64_decode(body, (size_t)(e - body), der);
		if (not_after(der, n, &t, &tl) && tl < sizeof(earliest)) {
			/* GeneralizedTime sorts as text; UTCTime gets its century */
			char s[32];
			snprintf(s, sizeof(s), "%s%.*s", tl == 13 ? (t[0] < '5' ? "20" : "19") : "", (int)tl, (const char *)t);
			if (earliest[0] == '\0' || strcmp(s, earliest) < 0)
				memcpy(earliest, s, sizeof(s));
			count++;
		} else {
			bad++;
		}
		p = e + sizeof(endm) - 1;
	}
	printf("%lu certificates (%lu unreadable), earliest notAfter %s\n", count, bad, earliest);
	return 0;
}
