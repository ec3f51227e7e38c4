/*
 * fastcert.c - the minimal X.509 walker (see fastcert.h).
 *
 * Everything is read through mtk_reader: a DER header is a tag byte and a
 * definite length in its minimal form (DER, not BER), and a length is never
 * trusted beyond the bytes left.  Anything the walker is not sure about is
 * an error, and the caller hands the bytes to OpenSSL: the walker must
 * never disagree with OpenSSL about a certificate it accepts
 * (tests/fuzz/fuzz_fastcert_diff.c checks exactly that).
 */
#include "x509/fastcert.h"

#include <string.h>

#include "mtlskit/buf.h"

enum {
	TAG_INTEGER = 0x02,
	TAG_BITSTRING = 0x03,
	TAG_OID = 0x06,
	TAG_UTF8 = 0x0c,
	TAG_NUMERIC = 0x12,
	TAG_PRINTABLE = 0x13,
	TAG_T61 = 0x14,
	TAG_IA5 = 0x16,
	TAG_UTCTIME = 0x17,
	TAG_GENTIME = 0x18,
	TAG_VISIBLE = 0x1a,
	TAG_SEQUENCE = 0x30,
	TAG_SET = 0x31,
	TAG_VERSION = 0xa0, /* [0] EXPLICIT, constructed */
};

/* Reads a tag and a minimal definite length; the value stays in r. */
static mtk_rc der_header(mtk_reader *r, uint8_t *tag, size_t *len)
{
	uint8_t b;
	size_t l = 0;
	mtk_rc rc;

	if ((rc = mtk_reader_u8(r, tag)) != MTK_OK || (rc = mtk_reader_u8(r, &b)) != MTK_OK)
		return rc;
	if ((*tag & 0x1f) == 0x1f)
		return MTK_E_DER; /* high tag numbers: not in a certificate's frame */
	if (b < 0x80) {
		l = b;
	} else {
		uint8_t n = b & 0x7f;

		if (n == 0 || n > 4)
			return MTK_E_DER; /* indefinite (BER) or absurd */
		for (uint8_t i = 0; i < n; i++) {
			if ((rc = mtk_reader_u8(r, &b)) != MTK_OK)
				return rc;
			if (i == 0 && b == 0)
				return MTK_E_DER; /* leading zero: not minimal */
			l = (l << 8) | b;
		}
		if (l < 0x80)
			return MTK_E_DER; /* long form for a short length */
	}
	if (l > mtk_reader_left(r))
		return MTK_E_TRUNCATED;
	*len = l;
	return MTK_OK;
}

/* Enters a TLV of tag want: inner reads its value. */
static mtk_rc der_enter(mtk_reader *r, uint8_t want, mtk_reader *inner)
{
	uint8_t tag;
	size_t len;
	mtk_rc rc;

	if ((rc = der_header(r, &tag, &len)) != MTK_OK)
		return rc;
	if (tag != want)
		return MTK_E_DER;
	return mtk_reader_sub(r, len, inner);
}

/* Takes a whole TLV of tag want (header included) as borrowed bytes. */
static mtk_rc der_take_tlv(mtk_reader *r, uint8_t want, const uint8_t **p, size_t *n)
{
	mtk_reader start = *r, inner;
	mtk_rc rc;

	if ((rc = der_enter(r, want, &inner)) != MTK_OK)
		return rc;
	*n = mtk_reader_left(&start) - mtk_reader_left(r);
	return mtk_reader_bytes(&start, *n, p);
}

static mtk_rc der_skip(mtk_reader *r, uint8_t want)
{
	mtk_reader inner;

	return der_enter(r, want, &inner);
}

static bool digits(const uint8_t *v, size_t n, int *out)
{
	int x = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int64_t yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

mtk_rc mtk_fastcert_time(uint8_t tag, const uint8_t *v, size_t len, int64_t *out)
{
	int y, mo, d, h, mi, s;
	size_t yl;

	if (tag == TAG_UTCTIME && len == 13)
		yl = 2;
	else if (tag == TAG_GENTIME && len == 15)
		yl = 4;
	else if (tag == TAG_UTCTIME || tag == TAG_GENTIME)
		return MTK_E_UNSUPPORTED; /* no seconds, offsets, fractions: OpenSSL's job */
	else
		return MTK_E_DER;
	if (v[len - 1] != 'Z')
		return MTK_E_UNSUPPORTED;
	if (!digits(v, yl, &y) || !digits(v + yl, 2, &mo) || !digits(v + yl + 2, 2, &d) ||
	    !digits(v + yl + 4, 2, &h) || !digits(v + yl + 6, 2, &mi) || !digits(v + yl + 8, 2, &s))
		return MTK_E_UNSUPPORTED;
	if (yl == 2)
		y += y < 50 ? 2000 : 1900; /* RFC 5280 4.1.2.5.1 */
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
		return MTK_E_DER;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return MTK_OK;
}

static mtk_rc read_time(mtk_reader *r, int64_t *out)
{
	uint8_t tag;
	size_t len;
	const uint8_t *v;
	mtk_rc rc;

	if ((rc = der_header(r, &tag, &len)) != MTK_OK ||
	    (rc = mtk_reader_bytes(r, len, &v)) != MTK_OK)
		return rc;
	return mtk_fastcert_time(tag, v, len, out);
}

mtk_rc mtk_fastcert_parse(const uint8_t *der, size_t len, mtk_fastcert *out)
{
	mtk_reader all, cert, tbs, validity, spki;
	mtk_fastcert fc;
	uint8_t tag;
	mtk_rc rc;

	memset(&fc, 0, sizeof(fc));
	mtk_reader_init(&all, der, len);
	if ((rc = der_enter(&all, TAG_SEQUENCE, &cert)) != MTK_OK)
		return rc;
	fc.der_len = len - mtk_reader_left(&all);
	if ((rc = der_enter(&cert, TAG_SEQUENCE, &tbs)) != MTK_OK)
		return rc;
	if ((rc = mtk_reader_peek_u8(&tbs, &tag)) != MTK_OK)
		return rc;
	if (tag == TAG_VERSION) {
		mtk_reader ver, num;
		const uint8_t *v;

		/* [0] EXPLICIT Version: INTEGER v1(0)..v3(2), nothing else. */
		if ((rc = der_enter(&tbs, TAG_VERSION, &ver)) != MTK_OK ||
		    (rc = der_enter(&ver, TAG_INTEGER, &num)) != MTK_OK)
			return rc;
		if (!mtk_reader_eof(&ver) || mtk_reader_left(&num) != 1 ||
		    mtk_reader_bytes(&num, 1, &v) != MTK_OK || v[0] > 2)
			return MTK_E_DER;
	}
	{
		mtk_reader ser;
		const uint8_t *s;
		size_t n;

		if ((rc = der_enter(&tbs, TAG_INTEGER, &ser)) != MTK_OK)
			return rc;
		n = mtk_reader_left(&ser);
		if (n == 0 || (rc = mtk_reader_bytes(&ser, n, &s)) != MTK_OK)
			return MTK_E_DER;
		/* Minimal two's complement, as OpenSSL insists. */
		if (n > 1 && ((s[0] == 0x00 && !(s[1] & 0x80)) || (s[0] == 0xff && (s[1] & 0x80))))
			return MTK_E_DER;
		fc.serial = s;
		fc.serial_len = n;
	}
	if ((rc = der_skip(&tbs, TAG_SEQUENCE)) != MTK_OK) /* signature AlgorithmIdentifier */
		return rc;
	if ((rc = der_take_tlv(&tbs, TAG_SEQUENCE, &fc.issuer, &fc.issuer_len)) != MTK_OK)
		return rc;
	if ((rc = der_enter(&tbs, TAG_SEQUENCE, &validity)) != MTK_OK)
		return rc;
	if ((rc = read_time(&validity, &fc.not_before)) != MTK_OK ||
	    (rc = read_time(&validity, &fc.not_after)) != MTK_OK)
		return rc;
	if (!mtk_reader_eof(&validity))
		return MTK_E_DER;
	if ((rc = der_take_tlv(&tbs, TAG_SEQUENCE, &fc.subject, &fc.subject_len)) != MTK_OK)
		return rc;
	if ((rc = der_enter(&tbs, TAG_SEQUENCE, &spki)) != MTK_OK)
		return rc;
	/* The rest of tbs (unique ids, extensions) is not needed here. */
	if ((rc = der_skip(&cert, TAG_SEQUENCE)) != MTK_OK || /* signatureAlgorithm */
	    (rc = der_skip(&cert, TAG_BITSTRING)) != MTK_OK)  /* signatureValue */
		return rc;
	if (!mtk_reader_eof(&cert))
		return MTK_E_DER;
	*out = fc;
	return MTK_OK;
}

mtk_rc mtk_fastcert_serial_hex(const uint8_t *serial, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t mag[256];
	size_t n = 0, o = 0, start = 0;
	bool neg;

	if (len == 0 || len > sizeof(mag))
		return MTK_E_TOO_LARGE;
	neg = (serial[0] & 0x80) != 0;
	memcpy(mag, serial, len);
	if (neg) {
		/* Magnitude of a two's complement number: invert and add one. */
		unsigned carry = 1;

		for (size_t i = len; i-- > 0;) {
			unsigned v = (unsigned)(uint8_t)~mag[i] + carry;
			mag[i] = (uint8_t)v;
			carry = v >> 8;
		}
	}
	while (start < len && mag[start] == 0)
		start++;
	n = len - start;
	if ((neg ? 1 : 0) + (n ? 2 * n : 1) + 1 > cap)
		return MTK_E_TOO_LARGE;
	if (neg)
		out[o++] = '-';
	if (n == 0)
		out[o++] = '0';
	for (size_t i = start; i < len; i++) {
		out[o++] = hex[mag[i] >> 4];
		out[o++] = hex[mag[i] & 15];
	}
	out[o] = '\0';
	return MTK_OK;
}

/* Short names OpenSSL prints for the attributes we render ourselves. */
static const char *attr_name(const uint8_t *oid, size_t n)
{
	static const uint8_t email[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01};
	static const uint8_t pilot[] = {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01};

	if (n == 3 && oid[0] == 0x55 && oid[1] == 0x04) {
		switch (oid[2]) {
		case 3:
			return "CN";
		case 4:
			return "SN";
		case 5:
			return "serialNumber";
		case 6:
			return "C";
		case 7:
			return "L";
		case 8:
			return "ST";
		case 9:
			return "street";
		case 10:
			return "O";
		case 11:
			return "OU";
		case 12:
			return "title";
		case 42:
			return "GN";
		default:
			return NULL;
		}
	}
	if (n == sizeof(email) && memcmp(oid, email, n) == 0)
		return "emailAddress";
	if (n == sizeof(pilot) + 1 && memcmp(oid, pilot, sizeof(pilot)) == 0) {
		if (oid[n - 1] == 25)
			return "DC";
		if (oid[n - 1] == 1)
			return "UID";
	}
	return NULL;
}

struct name_out {
	char *p;
	size_t cap, len;
	bool full;
};

static void put(struct name_out *o, const char *s, size_t n)
{
	if (o->full || o->len + n >= o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* One attribute value with RFC 2253 escaping (backslash before ,+"\<>; ,
 * before a leading '#' or space and before a trailing space).  As OpenSSL
 * does, the last character's rule replaces the first's: a value that is a
 * lone '#' is not escaped, a lone space is. */
static void put_value(struct name_out *o, const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = (char)v[i];
		bool last = i + 1 == n;
		bool esc = strchr(",+\"\\<>;", ch) != NULL ||
			   (i == 0 && !last && (ch == '#' || ch == ' ')) || (last && ch == ' ');

		if (esc)
			put(o, "\\", 1);
		put(o, &ch, 1);
	}
}

#define MAX_NAME_ENTRIES 64

mtk_rc mtk_fastcert_name(const uint8_t *name, size_t len, char *out, size_t cap)
{
	struct entry {
		const char *attr;
		const uint8_t *v;
		size_t n;
		unsigned set;
	} e[MAX_NAME_ENTRIES];
	size_t ne = 0;
	unsigned set = 0;
	mtk_reader all, seq;
	struct name_out o = {out, cap, 0, false};
	mtk_rc rc;

	if (cap == 0)
		return MTK_E_TOO_LARGE;
	mtk_reader_init(&all, name, len);
	if ((rc = der_enter(&all, TAG_SEQUENCE, &seq)) != MTK_OK)
		return rc;
	if (!mtk_reader_eof(&all))
		return MTK_E_DER;
	while (!mtk_reader_eof(&seq)) {
		mtk_reader rdn;

		if ((rc = der_enter(&seq, TAG_SET, &rdn)) != MTK_OK)
			return rc;
		if (mtk_reader_eof(&rdn))
			return MTK_E_UNSUPPORTED; /* empty RDN: let OpenSSL judge */
		while (!mtk_reader_eof(&rdn)) {
			mtk_reader atv, oid;
			const uint8_t *ob, *vb;
			size_t on, vn;
			uint8_t vtag;

			if (ne == MAX_NAME_ENTRIES)
				return MTK_E_UNSUPPORTED;
			if ((rc = der_enter(&rdn, TAG_SEQUENCE, &atv)) != MTK_OK ||
			    (rc = der_enter(&atv, TAG_OID, &oid)) != MTK_OK)
				return rc;
			on = mtk_reader_left(&oid);
			if ((rc = mtk_reader_bytes(&oid, on, &ob)) != MTK_OK ||
			    (rc = der_header(&atv, &vtag, &vn)) != MTK_OK ||
			    (rc = mtk_reader_bytes(&atv, vn, &vb)) != MTK_OK)
				return rc;
			if (!mtk_reader_eof(&atv))
				return MTK_E_DER;
			e[ne].attr = attr_name(ob, on);
			if (e[ne].attr == NULL)
				return MTK_E_UNSUPPORTED;
			if (vtag != TAG_UTF8 && vtag != TAG_PRINTABLE && vtag != TAG_IA5 &&
			    vtag != TAG_T61 && vtag != TAG_NUMERIC && vtag != TAG_VISIBLE)
				return MTK_E_UNSUPPORTED;
			for (size_t i = 0; i < vn; i++)
				if (vb[i] < 0x20 || vb[i] > 0x7e)
					return MTK_E_UNSUPPORTED; /* control or non-ASCII */
			e[ne].v = vb;
			e[ne].n = vn;
			e[ne].set = set;
			ne++;
		}
		set++;
	}
	/* RFC 2253 order is the reverse of the encoding; entries of one
	 * multi-valued RDN are joined with '+'. */
	for (size_t k = ne; k-- > 0;) {
		if (k + 1 < ne)
			put(&o, e[k].set == e[k + 1].set ? "+" : ",", 1);
		put(&o, e[k].attr, strlen(e[k].attr));
		put(&o, "=", 1);
		put_value(&o, e[k].v, e[k].n);
	}
	if (o.full)
		return MTK_E_TOO_LARGE;
	out[o.len] = '\0';
	return MTK_OK;
}
