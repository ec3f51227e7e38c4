/*
 * ca.c - a private CA kept in a directory (ca.h; layout in docs/ca.md).
 */
#include "mtlskit/ca.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "mtlskit/cert.h"
#include "mtlskit/chain.h"
#include "x509/ca_index.h"
#include "x509/fastcert.h"
#include "mtlskit/file.h"
#include "mtlskit/keygen.h"
#include "mtlskit/load.h"

#define CA_CONF_VERSION 1
#define INDEX_LINE_MAX 4096
/* The shortest entry line: "V\t0\t" YYYYMMDDHHMMSSZ "\t-\t-\t-\t\n". */
#define INDEX_ENTRY_MIN 27
#define CA_STATE_MAX ((size_t)32 << 20)
/* index.txt: about ten million entries. */
#define INDEX_MAX ((size_t)1 << 30)
/* The root's CRL counter when an intermediate signs (its own "crlnumber"
 * belongs to the signing CA, as it always has). */
#define ROOT_CRLNUMBER "root.crlnumber"
/* What the root itself revoked (the issuing CA), in index.txt's format;
 * absent until `ca revoke` revokes the issuing CA. */
#define ROOT_INDEX "root-index.txt"

/* --- revocation reasons --- */

static const struct {
	const char *name;
	mtk_reason r;
} reasons[] = {
	{"unspecified", MTK_REASON_UNSPECIFIED},
	{"keyCompromise", MTK_REASON_KEY_COMPROMISE},
	{"CACompromise", MTK_REASON_CA_COMPROMISE},
	{"affiliationChanged", MTK_REASON_AFFILIATION_CHANGED},
	{"superseded", MTK_REASON_SUPERSEDED},
	{"cessationOfOperation", MTK_REASON_CESSATION},
	{"certificateHold", MTK_REASON_HOLD},
	{"privilegeWithdrawn", MTK_REASON_PRIVILEGE_WITHDRAWN},
};

mtk_rc mtk_reason_parse(const char *s, mtk_reason *out, mtk_err *err)
{
	for (size_t i = 0; s != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strcasecmp(s, reasons[i].name) == 0) {
			*out = reasons[i].r;
			return MTK_OK;
		}
	}
	return mtk_err_set(err, MTK_E_INVALID_ARG,
			   "unknown revocation reason '%s' (use unspecified, keyCompromise, CACompromise, "
			   "affiliationChanged, superseded, cessationOfOperation, certificateHold, "
			   "privilegeWithdrawn)",
			   s ? s : "");
}

const char *mtk_reason_name(mtk_reason r)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].r == r)
			return reasons[i].name;
	return "unspecified";
}

/* --- time --- */

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

mtk_rc mtk_time_parse(const char *s, time_t *out, mtk_err *err)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	struct tm tm = {0};
	size_t n = s ? strlen(s) : 0;
	int y, mo, d, h = 0, mi = 0, se = 0;

	if (n == 15 && s[14] == 'Z' && all_digits(s, 14)) {
		/* YYYYMMDDHHMMSSZ, GeneralizedTime */
		y = num(s, 4), mo = num(s + 4, 2), d = num(s + 6, 2);
		h = num(s + 8, 2), mi = num(s + 10, 2), se = num(s + 12, 2);
	} else if ((n == 10 || n == 20) && all_digits(s, 4) && s[4] == '-' && all_digits(s + 5, 2) &&
		   s[7] == '-' && all_digits(s + 8, 2)) {
		y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
		if (n == 20) {
			/* YYYY-MM-DDTHH:MM:SSZ */
			if (!(s[10] == 'T' || s[10] == 't' || s[10] == ' ') || !all_digits(s + 11, 2) ||
			    s[13] != ':' || !all_digits(s + 14, 2) || s[16] != ':' ||
			    !all_digits(s + 17, 2) || !(s[19] == 'Z' || s[19] == 'z'))
				goto bad;
			h = num(s + 11, 2), mi = num(s + 14, 2), se = num(s + 17, 2);
		}
	} else {
		goto bad;
	}
	if (y < 1950 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || se > 59)
		goto bad;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm);
	return MTK_OK;
bad:
	return mtk_err_set(err, MTK_E_INVALID_ARG,
			   "'%s' is not a UTC time (use 2024-01-01T00:00:00Z, 2024-01-01 or 20240101000000Z; years 1950-9999)",
			   s ? s : "");
}

/* --- the index --- */

/* The earliest time an index line may carry (mtk_time_parse's lower
 * bound): 1950-01-01T00:00:00Z. */
#define INDEX_TIME_MIN ((int64_t)-631152000)

void mtk_ca_index_free(mtk_ca_index *idx)
{
	if (idx == NULL)
		return;
	for (size_t i = 0; i < idx->count; i++)
		free(idx->items[i].subject);
	free(idx->items);
	free(idx->slots);
	idx->items = NULL;
	idx->slots = NULL;
	idx->count = idx->cap = idx->nslots = 0;
}

static mtk_rc index_grow(mtk_ca_index *idx)
{
	size_t ncap = idx->cap ? idx->cap * 2 : 16;
	mtk_ca_entry *n = realloc(idx->items, ncap * sizeof(*n));

	if (n == NULL)
		return MTK_E_NOMEM;
	idx->items = n;
	idx->cap = ncap;
	return MTK_OK;
}

static mtk_rc index_push(mtk_ca_index *idx, const mtk_ca_entry *e)
{
	if (idx->count == idx->cap && index_grow(idx) != MTK_OK)
		return MTK_E_NOMEM;
	idx->items[idx->count++] = *e;
	return MTK_OK;
}

/* Serial lookups.  Each slot of the table holds an item position + 1 in
 * its low 32 bits (0: empty) and the top half of the key's hash in its high
 * 32 bits, so that a probe rarely has to look at the entry itself.  Open
 * addressing with linear probing, at most half full.  The key is the
 * serial's value: its upper-case digits without leading zeros, so "0A" and
 * "000A" meet (as mtk_serial_normalize makes them).  Positions go in in
 * file order, so of equal keys the earliest entry is met first. */

#define SLOT_POS(s) ((size_t)((s) & 0xffffffffu))
#define SLOT_TAG(h) ((h) >> 32)

static const char *serial_key(const char *s, size_t *n)
{
	while (*s == '0')
		s++;
	*n = strlen(s);
	return s;
}

static uint64_t key_hash(const char *k, size_t n)
{
	uint64_t h = mtk_fnv1a(MTK_FNV1A_INIT, k, n);

	return h ^ (h >> 29);
}

/* Puts position pos in the table (which has room).  With check, an entry
 * whose serial has the very same text is not added: its position is
 * returned.  SIZE_MAX when pos went in. */
static size_t table_put(mtk_ca_index *idx, size_t pos, bool check)
{
	size_t kn, mask = idx->nslots - 1;
	const char *k = serial_key(idx->items[pos].serial, &kn);
	uint64_t h = key_hash(k, kn);

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint64_t s = idx->slots[i];

		if (s == 0) {
			idx->slots[i] = (SLOT_TAG(h) << 32) | (uint64_t)(pos + 1);
			return SIZE_MAX;
		}
		if (check && SLOT_TAG(s) == SLOT_TAG(h) &&
		    strcmp(idx->items[SLOT_POS(s) - 1].serial, idx->items[pos].serial) == 0)
			return SLOT_POS(s) - 1;
	}
}

/* Makes the table big enough for n entries (at most half full), putting
 * every entry already in items back, in order.  MTK_E_NOMEM drops the
 * table (lookups then scan). */
static mtk_rc table_reserve(mtk_ca_index *idx, size_t n, size_t have)
{
	size_t want = 64;
	uint64_t *slots;

	if (idx->slots != NULL && n * 2 <= idx->nslots)
		return MTK_OK;
	while (want < n * 2)
		want *= 2;
	free(idx->slots);
	idx->slots = NULL;
	idx->nslots = 0;
	if (n >= UINT32_MAX / 2 || (slots = calloc(want, sizeof(*slots))) == NULL)
		return MTK_E_NOMEM;
	idx->slots = slots;
	idx->nslots = want;
	for (size_t i = 0; i < have; i++)
		(void)table_put(idx, i, false);
	return MTK_OK;
}

/* Adds the last entry to the table, growing it when needed.  *dup: the
 * position of an earlier entry with the same serial text (then the last
 * entry is not added), else SIZE_MAX. */
static mtk_rc table_add_last(mtk_ca_index *idx, size_t *dup)
{
	mtk_rc rc;

	*dup = SIZE_MAX;
	if ((rc = table_reserve(idx, idx->count, idx->count - 1)) != MTK_OK)
		return rc;
	*dup = table_put(idx, idx->count - 1, true);
	return MTK_OK;
}

/* Takes the last entry out of the table before it is dropped.  Nothing
 * went in after it, so no probe sequence runs through its slot. */
bool mtk_ca_index_find(const mtk_ca_index *idx, const char *serial, size_t *at)
{
	char norm[80];
	size_t kn, en, mask;
	const char *k;
	uint64_t h;

	if (mtk_serial_normalize(serial, norm, sizeof(norm), NULL) != MTK_OK)
		return false;
	k = serial_key(norm, &kn);
	if (idx->slots == NULL) {
		for (size_t i = 0; i < idx->count; i++) {
			const char *e = idx->items[i].serial;

			/* Most serials differ in their first digit after the
			 * zeros: no length is taken for those. */
			while (*e == '0')
				e++;
			if (*e != *k)
				continue;
			e = serial_key(e, &en);
			if (en == kn && memcmp(e, k, kn) == 0) {
				*at = i;
				return true;
			}
		}
		return false;
	}
	mask = idx->nslots - 1;
	h = key_hash(k, kn);
	for (size_t i = (size_t)h & mask; idx->slots[i] != 0; i = (i + 1) & mask) {
		size_t pos = SLOT_POS(idx->slots[i]) - 1;
		const char *e;

		if (SLOT_TAG(idx->slots[i]) != SLOT_TAG(h))
			continue;
		e = serial_key(idx->items[pos].serial, &en);
		if (en == kn && memcmp(e, k, kn) == 0) {
			*at = pos;
			return true;
		}
	}
	return false;
}

/* The line number of the entry at position pos (the pos-th line that is
 * neither blank nor a comment); only for an error message. */
static bool field_is(const char *f, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(f, lit, n) == 0;
}

/* A YYYYMMDDHHMMSSZ field, years 1950-9999 (what mtk_time_parse takes in
 * that form). */
static bool field_time(const char *f, size_t n, time_t *out)
{
	int64_t t;

	if (n != 15 || mtk_fastcert_time(V_ASN1_GENERALIZEDTIME, (const uint8_t *)f, n, &t) != MTK_OK ||
	    t < INDEX_TIME_MIN)
		return false;
	*out = (time_t)t;
	return true;
}

/* One line s[0..n) (no newline, no control characters, at most
 * INDEX_LINE_MAX bytes) split at tabs into exactly 7 fields, into *e (its
 * subject allocated).  lineno is only for the messages. */
static mtk_rc line_fields(const char *s, size_t n, long lineno, mtk_ca_entry *e, mtk_err *err)
{
	const char *f[7], *q = s, *lend = s + n;
	size_t fl[7], nf = 0;
	char rbuf[32];
	mtk_reason r;

	if (memchr(s, '\0', n) != NULL || memchr(s, '\r', n) != NULL)
		return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: control character", lineno);
	for (;;) {
		const char *t = memchr(q, '\t', (size_t)(lend - q));

		f[nf] = q;
		fl[nf] = (size_t)((t ? t : lend) - q);
		nf++;
		if (t == NULL)
			break;
		if (nf == 7)
			return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: too many fields", lineno);
		q = t + 1;
	}
	if (nf != 7)
		return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: %zu fields, wanted 7", lineno, nf);
	if (!field_is(f[0], fl[0], "V") && !field_is(f[0], fl[0], "R"))
		return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: status must be V or R", lineno);
	e->status = f[0][0];
	if (fl[1] == 0 || fl[1] >= sizeof(e->serial))
		return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: bad serial", lineno);
	for (size_t i = 0; i < fl[1]; i++) {
		char c = f[1][i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: bad serial", lineno);
	}
	memcpy(e->serial, f[1], fl[1]);
	e->serial[fl[1]] = '\0';
	if (!field_time(f[2], fl[2], &e->not_after))
		return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: bad expiry time", lineno);
	if (e->status == 'V') {
		if (!field_is(f[3], fl[3], "-") || !field_is(f[4], fl[4], "-"))
			return mtk_err_set(err, MTK_E_CA_STATE,
					   "index.txt:%ld: a valid entry has no revocation", lineno);
	} else {
		if (!field_time(f[3], fl[3], &e->revoked_at))
			return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: bad revocation time",
					   lineno);
		if (fl[4] >= sizeof(rbuf))
			return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: bad revocation reason",
					   lineno);
		memcpy(rbuf, f[4], fl[4]);
		rbuf[fl[4]] = '\0';
		if (mtk_reason_parse(rbuf, &r, NULL) != MTK_OK)
			return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: bad revocation reason",
					   lineno);
		e->reason = r;
	}
	if (!field_is(f[5], fl[5], "client") && !field_is(f[5], fl[5], "server") && !field_is(f[5], fl[5], "ca") &&
	    !field_is(f[5], fl[5], "-"))
		return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: bad profile", lineno);
	memcpy(e->profile, f[5], fl[5]);
	e->profile[fl[5]] = '\0';
	if ((e->subject = malloc(fl[6] + 1)) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "index.txt");
	memcpy(e->subject, f[6], fl[6]);
	e->subject[fl[6]] = '\0';
	return MTK_OK;
}

/* One line, checked whole (line_fields), appended to idx and its table.
 * A serial already there with the very same text is a fault, except once:
 * a valid entry followed by a revoked one is its revocation record (what
 * `ca revoke` appends), and the later line is the entry's state. */
static mtk_rc index_line(const char *s, size_t n, long lineno, mtk_ca_index *idx, mtk_err *err)
{
	mtk_ca_entry e = {0};
	size_t dup;
	mtk_rc rc;

	if ((rc = line_fields(s, n, lineno, &e, err)) != MTK_OK)
		return rc;
	e.line = lineno;
	if (index_push(idx, &e) != MTK_OK) {
		free(e.subject);
		return mtk_err_set(err, MTK_E_NOMEM, "index.txt");
	}
	if (table_add_last(idx, &dup) != MTK_OK)
		return mtk_err_set(err, MTK_E_NOMEM, "index.txt");
	if (dup == SIZE_MAX)
		return MTK_OK;
	if (idx->items[dup].status == 'V' && e.status == 'R') {
		free(idx->items[dup].subject);
		idx->items[dup] = e;
		idx->count--;
		return MTK_OK;
	}
	free(idx->items[--idx->count].subject);
	return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: serial %s twice (first on line %ld)", lineno, e.serial,
			   idx->items[dup].line);
}

/* How many of s[0..n) lead as upper-case hex digits.  Every index line's
 * serial is checked with it, so it goes sixteen bytes at a time where the
 * compiler has SSE2 (signed compares: a byte >= 0x80 is below '0' and
 * fails both ranges), else eight bytes at a time (for each byte below
 * 0x80, adding 0x80 - L sets its top bit exactly when it is >= L, with no
 * carry into the next byte). */
static size_t hex_run(const char *s, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__)
	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
					      _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
		__m128i upper = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
					      _mm_cmplt_epi8(x, _mm_set1_epi8('F' + 1)));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(digit, upper));

		if (m != 0xffffu)
			return i + (size_t)__builtin_ctz(~m);
	}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull, top = 0x8080808080808080ull;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, digit, upper, bad;

		memcpy(&x, s + i, 8);
		if (x & top)
			break; /* a byte >= 0x80: byte by byte below */
		digit = (x + ones * (0x80 - '0')) & ~(x + ones * (0x80 - ('9' + 1)));
		upper = (x + ones * (0x80 - 'A')) & ~(x + ones * (0x80 - ('F' + 1)));
		if ((bad = ~(digit | upper) & top) != 0)
			return i + (size_t)__builtin_ctzll(bad) / 8;
	}
#endif
	for (; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			break;
	return i;
}

/* The start of an entry line p[0..n): its status (V or R), a tab, an
 * upper-case hex serial and a tab.  The serial's length, 0 when the line
 * does not start so. */
static size_t entry_start(const char *p, size_t n)
{
	size_t sl = n > 2 ? hex_run(p + 2, n - 2) : 0;

	if (n < 4 || (p[0] != 'V' && p[0] != 'R') || p[1] != '\t' || sl == 0 ||
	    sl >= sizeof(((mtk_ca_entry *)0)->serial) || 2 + sl >= n || p[2 + sl] != '\t')
		return 0;
	return sl;
}

/*
 * Where the index's content ends.  Lines are only ever appended, each with
 * its newline, in one write: bytes after the last newline are either a
 * whole line whose newline is missing (written by hand: kept) or the start
 * of a line whose append was interrupted (a process killed in the write, a
 * crash before the data reached the disk).  Such a tail is not an entry:
 * readers leave it out and the next append writes over it.
 */
size_t mtk_ca_index_content(const char *raw, size_t len)
{
	const char *nl = len > 0 ? memrchr(raw, '\n', len) : NULL;
	size_t body = nl ? (size_t)(nl - raw) + 1 : 0, n = len - body;
	const char *t = raw + body;
	mtk_ca_entry e = {0};
	bool whole;

	if (n == 0)
		return len;
	whole = n <= INDEX_LINE_MAX && memchr(t, '\0', n) == NULL && memchr(t, '\r', n) == NULL &&
		(t[0] == '#' || (entry_start(t, n) > 0 && line_fields(t, n, 0, &e, NULL) == MTK_OK));
	free(e.subject);
	return whole ? len : body;
}

mtk_rc mtk_ca_index_parse(const uint8_t *data, size_t len, mtk_ca_index *out, mtk_err *err)
{
	mtk_ca_index idx = MTK_CA_INDEX_INIT;
	const char *p = (const char *)data, *end;
	long lineno = 1;
	size_t lines = 1;
	mtk_rc rc = MTK_OK;

	len = mtk_ca_index_content(p, len);
	end = p + len;
	/* Room for every line at once (no growth, no rehashing), but no more
	 * entries than the bytes could hold (INDEX_ENTRY_MIN each). */
	for (const char *q = p; len > 0 && (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
		lines++;
	if (lines > len / INDEX_ENTRY_MIN + 1)
		lines = len / INDEX_ENTRY_MIN + 1;
	if (len > 0 && ((idx.items = malloc(lines * sizeof(*idx.items))) == NULL ||
			table_reserve(&idx, lines, 0) != MTK_OK)) {
		mtk_ca_index_free(&idx);
		return mtk_err_set(err, MTK_E_NOMEM, "index.txt");
	}
	idx.cap = len > 0 ? lines : 0;
	while (rc == MTK_OK && len > 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *nul = memchr(p, '\0', n), *cr = memchr(p, '\r', n);
		const char *ctl = nul != NULL && (cr == NULL || nul < cr) ? nul : cr;

		/* The first fault in byte order: a control character up to
		 * INDEX_LINE_MAX, else a line longer than that. */
		if (ctl != NULL && (size_t)(ctl - p) <= INDEX_LINE_MAX)
			rc = mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: control character", lineno);
		else if (n > INDEX_LINE_MAX)
			rc = mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: line too long", lineno);
		else if (n > 0 && p[0] != '#')
			rc = index_line(p, n, lineno, &idx, err);
		if (nl == NULL)
			break;
		p = nl + 1;
		lineno++;
	}
	if (rc != MTK_OK) {
		mtk_ca_index_free(&idx);
		return rc;
	}
	*out = idx;
	return MTK_OK;
}

/* One entry line as index_walk hands it over. */
struct index_line {
	const char *p; /* the line, without its newline */
	size_t n;
	long lineno;
	const char *serial; /* as written: sl upper-case hex digits */
	size_t sl;
};

typedef mtk_rc (*index_visit)(void *ctx, const struct index_line *l, mtk_err *err);

/*
 * Visits every entry line of the index content raw[0..len) in file order,
 * in one pass over the bytes without parsing whole lines: each entry line
 * must start with its status, a tab, its serial and a tab, and be at most
 * INDEX_LINE_MAX bytes; the visitor reads the rest of a line (line_fields)
 * only when it uses it (and line_fields refuses a control character in
 * it).  What `ca sign`, `revoke` and `crl` need, at the cost of reading
 * the file once.  A fault is MTK_E_CA_STATE naming the
 * line, in mtk_ca_index_parse's words.
 */
static mtk_rc index_walk(const char *raw, size_t len, index_visit fn, void *ctx, mtk_err *err)
{
	const char *p = raw, *end = raw + len;
	long lineno = 1;
	mtk_rc rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n > INDEX_LINE_MAX)
			return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: line too long", lineno);
		if (n > 0 && p[0] != '#') {
			struct index_line l = {p, n, lineno, p + 2, entry_start(p, n)};

			if (l.sl == 0) {
				mtk_ca_entry bad = {0};
				if ((rc = line_fields(p, n, lineno, &bad, err)) == MTK_OK)
					rc = mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: bad entry", lineno);
				free(bad.subject);
				return rc;
			}
			if ((rc = fn(ctx, &l, err)) != MTK_OK)
				return rc;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
		lineno++;
	}
	return MTK_OK;
}

/* A line's whole entry (line_fields, with its line number), for a visitor. */
static mtk_rc walk_entry(const struct index_line *l, mtk_ca_entry *e, mtk_err *err)
{
	mtk_rc rc;

	memset(e, 0, sizeof(*e));
	if ((rc = line_fields(l->p, l->n, l->lineno, e, err)) != MTK_OK) {
		free(e->subject);
		e->subject = NULL;
		return rc;
	}
	e->line = l->lineno;
	return MTK_OK;
}

/* A serial's value as a key: its digits without leading zeros. */
static const char *value_of(const char *s, size_t n, size_t *kn)
{
	while (n > 0 && *s == '0') {
		s++;
		n--;
	}
	*kn = n;
	return s;
}

/* Visitor: the lines whose serial has the value k[0..kn); the last one is
 * the entry's state. */
struct find_ctx {
	const char *k;
	size_t kn;
	struct index_line last;
	bool found;
};

static mtk_rc visit_find(void *ctx, const struct index_line *l, mtk_err *err)
{
	struct find_ctx *f = ctx;
	size_t kn;
	const char *k = value_of(l->serial, l->sl, &kn);

	(void)err;
	if (kn == f->kn && (kn == 0 || (k[0] == f->k[0] && memcmp(k, f->k, kn) == 0))) {
		f->last = *l;
		f->found = true;
	}
	return MTK_OK;
}

/* The last line of raw[0..len) whose serial has the value of norm (an
 * mtk_serial_normalize'd serial); *found false when none. */
static mtk_rc index_find_line(const char *raw, size_t len, const char *norm, struct find_ctx *f, mtk_err *err)
{
	memset(f, 0, sizeof(*f));
	f->k = value_of(norm, strlen(norm), &f->kn);
	return index_walk(raw, len, visit_find, f, err);
}

mtk_rc mtk_ca_index_state(const char *raw, size_t len, const char *serial, char *status, mtk_err *err)
{
	struct find_ctx fc;
	mtk_rc rc = index_find_line(raw, len, serial, &fc, err);

	*status = rc == MTK_OK && fc.found ? fc.last.p[0] : 0;
	return rc;
}

/* YYYYMMDDHHMMSSZ at o (15 bytes, room checked by the caller). */
static void put_gentime(char *o, time_t t)
{
	struct tm tm;
	int y;

	if (gmtime_r(&t, &tm) == NULL || (y = tm.tm_year + 1900) < 0 || y > 9999) {
		memcpy(o, "19700101000000Z", 15);
		return;
	}
	o[0] = (char)('0' + y / 1000);
	o[1] = (char)('0' + y / 100 % 10);
	o[2] = (char)('0' + y / 10 % 10);
	o[3] = (char)('0' + y % 10);
	o[4] = (char)('0' + (tm.tm_mon + 1) / 10);
	o[5] = (char)('0' + (tm.tm_mon + 1) % 10);
	o[6] = (char)('0' + tm.tm_mday / 10);
	o[7] = (char)('0' + tm.tm_mday % 10);
	o[8] = (char)('0' + tm.tm_hour / 10);
	o[9] = (char)('0' + tm.tm_hour % 10);
	o[10] = (char)('0' + tm.tm_min / 10);
	o[11] = (char)('0' + tm.tm_min % 10);
	o[12] = (char)('0' + tm.tm_sec / 10);
	o[13] = (char)('0' + tm.tm_sec % 10);
	o[14] = 'Z';
}

static char *put_str(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

#define INDEX_HEADER "# mtlskit CA index: status\tserial\tnot_after\trevoked_at\treason\tprofile\tsubject\n"

static mtk_rc format_entry(const mtk_ca_entry *e, mtk_buf *out)
{
	const char *reason = e->status == 'R' ? mtk_reason_name(e->reason) : "-";
	const char *profile = e->profile[0] ? e->profile : "-";
	const char *subject = e->subject ? e->subject : "";
	size_t sl = strlen(e->serial), rl = strlen(reason), pl = strlen(profile), jl = strlen(subject);
	mtk_rc rc;
	char *o;

	/* status, serial, two times, reason, profile, subject; 7 separators */
	if ((rc = mtk_buf_reserve(out, 1 + sl + 15 + 15 + rl + pl + jl + 7)) != MTK_OK)
		return rc;
	o = (char *)out->data + out->len;
	*o++ = e->status;
	*o++ = '\t';
	o = put_str(o, e->serial, sl);
	*o++ = '\t';
	put_gentime(o, e->not_after);
	o += 15;
	*o++ = '\t';
	if (e->status == 'R') {
		put_gentime(o, e->revoked_at);
		o += 15;
	} else {
		*o++ = '-';
	}
	*o++ = '\t';
	o = put_str(o, reason, rl);
	*o++ = '\t';
	o = put_str(o, profile, pl);
	*o++ = '\t';
	o = put_str(o, subject, jl);
	*o++ = '\n';
	out->len = (size_t)(o - (char *)out->data);
	out->data[out->len] = '\0';
	return MTK_OK;
}

mtk_rc mtk_ca_index_format(const mtk_ca_index *idx, mtk_buf *out)
{
	mtk_rc rc = mtk_buf_append_str(out, INDEX_HEADER);

	for (size_t i = 0; rc == MTK_OK && i < idx->count; i++)
		rc = format_entry(&idx->items[i], out);
	return rc;
}

/* An index file (index.txt, ROOT_INDEX) as read for an edit: mapped, read
 * under the CA lock that every writer of it holds. */
struct index_file {
	const char *name; /* in the CA directory */
	mtk_map map;
	const char *raw;  /* map's bytes as text (NULL when empty or absent) */
	size_t keep;      /* its content (index_content): what an append keeps */
	bool exists;
};

static void index_file_free(struct index_file *f)
{
	mtk_file_unmap(&f->map);
	memset(f, 0, sizeof(*f));
}

/* --- ca.conf --- */

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	memmove(s, s + i, n - i + 1);
}

static mtk_rc conf_set(mtk_ca_conf *c, const char *k, const char *v, long lineno, mtk_err *err)
{
	char *dst = NULL;
	size_t cap = 0;

	if (strcmp(k, "version") == 0) {
		if (strcmp(v, "1") != 0)
			return mtk_err_set(err, MTK_E_CA_STATE, "ca.conf:%ld: unsupported version '%s'",
					   lineno, v);
		c->version = 1;
		return MTK_OK;
	}
	if (strcmp(k, "name") == 0)
		dst = c->name, cap = sizeof(c->name);
	else if (strcmp(k, "issuing") == 0)
		dst = c->issuing, cap = sizeof(c->issuing);
	else if (strcmp(k, "key_type") == 0)
		dst = c->key_type, cap = sizeof(c->key_type);
	else if (strcmp(k, "crl_url") == 0)
		dst = c->crl_url, cap = sizeof(c->crl_url);
	else
		return mtk_err_set(err, MTK_E_CA_STATE, "ca.conf:%ld: unknown setting '%s'", lineno, k);
	if (strlen(v) >= cap)
		return mtk_err_set(err, MTK_E_CA_STATE, "ca.conf:%ld: %s is too long", lineno, k);
	memcpy(dst, v, strlen(v) + 1);
	return MTK_OK;
}

mtk_rc mtk_ca_conf_parse(const uint8_t *data, size_t len, mtk_ca_conf *out, mtk_err *err)
{
	mtk_ca_conf c = {0};
	char line[1024];
	size_t ll = 0;
	long lineno = 1;
	mtk_reader r;
	uint8_t ch;
	mtk_rc rc = MTK_OK;

	mtk_reader_init(&r, data, len);
	while (rc == MTK_OK) {
		bool end = mtk_reader_u8(&r, &ch) != MTK_OK;

		if (end || ch == '\n') {
			char *eq;

			line[ll] = '\0';
			trim(line);
			if (line[0] != '\0' && line[0] != '#') {
				eq = strchr(line, '=');
				if (eq == NULL) {
					rc = mtk_err_set(err, MTK_E_CA_STATE, "ca.conf:%ld: no '='", lineno);
					break;
				}
				*eq = '\0';
				trim(line);
				trim(eq + 1);
				rc = conf_set(&c, line, eq + 1, lineno, err);
			}
			if (end)
				break;
			ll = 0;
			lineno++;
			continue;
		}
		if (ch == '\0' || ch == '\r') {
			rc = mtk_err_set(err, MTK_E_CA_STATE, "ca.conf:%ld: control character", lineno);
			break;
		}
		if (ll + 1 >= sizeof(line)) {
			rc = mtk_err_set(err, MTK_E_CA_STATE, "ca.conf:%ld: line too long", lineno);
			break;
		}
		line[ll++] = (char)ch;
	}
	if (rc == MTK_OK && (c.version != CA_CONF_VERSION || c.name[0] == '\0'))
		rc = mtk_err_set(err, MTK_E_CA_STATE, "ca.conf: version and name are required");
	if (rc == MTK_OK && c.key_type[0] != '\0' && !mtk_key_type_valid(c.key_type))
		rc = mtk_err_set(err, MTK_E_CA_STATE, "ca.conf: unknown key_type '%s'", c.key_type);
	if (rc == MTK_OK)
		*out = c;
	return rc;
}

mtk_rc mtk_ca_conf_format(const mtk_ca_conf *c, mtk_buf *out)
{
	return mtk_buf_printf(out,
			      "# mtlskit CA settings (docs/ca.md)\n"
			      "version = %d\nname = %s\nissuing = %s\nkey_type = %s\ncrl_url = %s\n",
			      CA_CONF_VERSION, c->name, c->issuing, c->key_type, c->crl_url);
}

/* --- serials --- */

mtk_rc mtk_serial_normalize(const char *in, char *out, size_t cap, mtk_err *err)
{
	char digits[130];
	size_t n = 0;
	const char *p = in;

	if (p == NULL)
		goto bad;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; *p; p++) {
		if (*p == ':' || *p == ' ')
			continue;
		if (!isxdigit((unsigned char)*p))
			goto bad;
		if (n == 0 && *p == '0')
			continue; /* leading zero */
		if (n + 1 >= sizeof(digits))
			goto bad;
		digits[n++] = (char)toupper((unsigned char)*p);
	}
	digits[n] = '\0';
	if (n == 0 && strchr(in, '0') == NULL)
		goto bad; /* empty */
	/* The form openssl and the index use: whole bytes, so an odd number
	 * of digits gets one leading zero ("9E0D" stays, "E0D" -> "0E0D"). */
	if (n == 0 || n % 2 == 1) {
		if (n + 2 > cap)
			goto bad;
		out[0] = '0';
		memcpy(out + 1, digits, n + 1);
		if (n == 0)
			memcpy(out, "00", 3);
	} else {
		if (n + 1 > cap)
			goto bad;
		memcpy(out, digits, n + 1);
	}
	return MTK_OK;
bad:
	return mtk_err_set(err, MTK_E_INVALID_ARG, "'%s' is not a serial number (hex)", in ? in : "");
}

static mtk_rc serial_hex(const ASN1_INTEGER *ai, char *out, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	char *h = bn ? BN_bn2hex(bn) : NULL;
	mtk_rc rc = MTK_OK;

	if (h == NULL || strlen(h) >= cap)
		rc = MTK_E_CRYPTO;
	else
		memcpy(out, h, strlen(h) + 1);
	OPENSSL_free(h);
	BN_free(bn);
	return rc;
}

/* A fresh positive serial of 16 bytes (RFC 5280: at most 20 octets; CA/B
 * Forum: at least 64 random bits).  The top bit is cleared so that it
 * stays positive without a leading zero byte.  With an index (f), one no
 * entry has: its lines are read once for that (index_walk, which also
 * checks them); an index fault is the error (MTK_E_CA_STATE in err). */
static mtk_rc new_serial(const struct index_file *f, ASN1_INTEGER **out, char *hex, size_t cap, mtk_err *err)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		unsigned char b[16];
		struct find_ctx fc;
		BIGNUM *bn;
		mtk_rc rc;

		if (RAND_bytes(b, sizeof(b)) != 1)
			return mtk_err_set(err, MTK_E_CRYPTO, "serial number");
		b[0] &= 0x7f;
		b[0] |= 0x01; /* never a short serial */
		bn = BN_bin2bn(b, sizeof(b), NULL);
		if (bn == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "serial number");
		*out = BN_to_ASN1_INTEGER(bn, NULL);
		BN_free(bn);
		if (*out == NULL || serial_hex(*out, hex, cap) != MTK_OK) {
			ASN1_INTEGER_free(*out);
			*out = NULL;
			return mtk_err_set(err, MTK_E_CRYPTO, "serial number");
		}
		if (f == NULL)
			return MTK_OK;
		if ((rc = index_find_line(f->raw, f->keep, hex, &fc, err)) != MTK_OK || !fc.found) {
			if (rc != MTK_OK) {
				ASN1_INTEGER_free(*out);
				*out = NULL;
			}
			return rc;
		}
		ASN1_INTEGER_free(*out);
		*out = NULL;
	}
	return mtk_err_set(err, MTK_E_INTERNAL, "serial number: 16 random serials were all taken");
}

/* --- certificates --- */

static mtk_rc add_conf_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value, mtk_err *err)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	if (e == NULL || X509_add_ext(cert, e, -1) != 1) {
		X509_EXTENSION_free(e);
		return mtk_err_set(err, MTK_E_CRYPTO, "extension %s = %s", OBJ_nid2sn(nid), value);
	}
	X509_EXTENSION_free(e);
	return MTK_OK;
}

static mtk_rc set_times(X509 *cert, time_t nb, time_t na, mtk_err *err)
{
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, nb), *t2 = ASN1_TIME_set(NULL, na);
	mtk_rc rc = MTK_OK;

	if (t1 == NULL || t2 == NULL || X509_set1_notBefore(cert, t1) != 1 ||
	    X509_set1_notAfter(cert, t2) != 1)
		rc = mtk_err_set(err, MTK_E_INVALID_ARG, "validity period cannot be encoded");
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	return rc;
}

/* A CA certificate: the root when issuer is NULL (self-signed), else an
 * intermediate with pathlen 0. */
static mtk_rc make_ca_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
			   time_t nb, time_t na, X509 **out, mtk_err *err)
{
	X509 *c = X509_new();
	X509_NAME *name = X509_NAME_new();
	ASN1_INTEGER *serial = NULL;
	char hex[80];
	X509V3_CTX ctx;
	mtk_rc rc;

	if (c == NULL || name == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "CA certificate");
		goto out;
	}
	if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn,
				       -1, -1, 0) != 1) {
		rc = mtk_err_set(err, MTK_E_INVALID_ARG, "CA name '%s' cannot be encoded", cn);
		goto out;
	}
	if ((rc = new_serial(NULL, &serial, hex, sizeof(hex), NULL)) != MTK_OK) {
		mtk_err_set(err, rc, "serial number");
		goto out;
	}
	if (X509_set_version(c, 2) != 1 || X509_set_serialNumber(c, serial) != 1 ||
	    X509_set_subject_name(c, name) != 1 ||
	    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
	    X509_set_pubkey(c, key) != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "CA certificate");
		goto out;
	}
	if ((rc = set_times(c, nb, na, err)) != MTK_OK)
		goto out;
	X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
	if ((rc = add_conf_ext(c, &ctx, NID_basic_constraints,
			       issuer ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE", err)) != MTK_OK ||
	    (rc = add_conf_ext(c, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign", err)) != MTK_OK ||
	    (rc = add_conf_ext(c, &ctx, NID_subject_key_identifier, "hash", err)) != MTK_OK)
		goto out;
	if (issuer != NULL &&
	    (rc = add_conf_ext(c, &ctx, NID_authority_key_identifier, "keyid:always", err)) != MTK_OK)
		goto out;
	if (X509_sign(c, issuer_key, mtk_key_sign_md(issuer_key)) <= 0) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "signing the CA certificate");
		goto out;
	}
	*out = c;
	c = NULL;
out:
	ASN1_INTEGER_free(serial);
	X509_NAME_free(name);
	X509_free(c);
	return rc;
}

static mtk_rc pem_cert(X509 *c, mtk_buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	mtk_rc rc = MTK_OK;

	if (b == NULL)
		return MTK_E_NOMEM;
	if (PEM_write_bio_X509(b, c) != 1 || (n = BIO_get_mem_data(b, &p)) <= 0)
		rc = MTK_E_CRYPTO;
	else
		rc = mtk_buf_append(out, p, (size_t)n);
	BIO_free(b);
	return rc;
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static bool dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool empty = true;

	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

static mtk_rc outset_add_path(mtk_outset *o, const char *dir, const char *name, const mtk_buf *b,
			      unsigned flags, mtk_err *err)
{
	char *p = path_join(dir, name);
	mtk_rc rc;

	if (p == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	rc = mtk_outset_add(o, p, b->data ? (const void *)b->data : "", b->len, flags, err);
	free(p);
	return rc;
}

mtk_rc mtk_ca_init(const char *dir, const mtk_ca_init_opts *opts, mtk_err *err)
{
	const char *kt = opts->key_type ? opts->key_type : "rsa:2048";
	long days = opts->days > 0 ? opts->days : 3650;
	EVP_PKEY *rkey = NULL, *ikey = NULL;
	X509 *root = NULL, *inter = NULL;
	mtk_outset *o = NULL;
	mtk_buf conf_b = MTK_BUF_INIT, root_b = MTK_BUF_INIT, inter_b = MTK_BUF_INIT;
	mtk_buf rkey_b = MTK_BUF_SECRET_INIT, ikey_b = MTK_BUF_SECRET_INIT;
	mtk_buf idx_b = MTK_BUF_INIT, crln_b = MTK_BUF_INIT, lock_b = MTK_BUF_INIT;
	mtk_ca_conf conf = {0};
	mtk_ca_index empty = MTK_CA_INDEX_INIT;
	bool made_dir = false, made_certs = false;
	char *certs = NULL;
	struct stat st;
	mtk_rc rc;

	if (opts->name == NULL || opts->name[0] == '\0' || strlen(opts->name) > 64 ||
	    strpbrk(opts->name, "\n\r") != NULL)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "--name: a CA name of 1-64 characters is needed");
	if (opts->intermediate != NULL &&
	    (opts->intermediate[0] == '\0' || strlen(opts->intermediate) > 64 ||
	     strpbrk(opts->intermediate, "\n\r") != NULL || strcmp(opts->intermediate, opts->name) == 0))
		return mtk_err_set(err, MTK_E_INVALID_ARG,
				   "--intermediate: a name of 1-64 characters, different from --name");
	if (!mtk_key_type_valid(kt))
		return mtk_err_set(err, MTK_E_INVALID_ARG, "--key-type '%s' (use %s)", kt, MTK_KEY_TYPES);
	if (opts->crl_url != NULL &&
	    (strlen(opts->crl_url) >= sizeof(conf.crl_url) || strncasecmp(opts->crl_url, "http", 4) != 0 ||
	     strpbrk(opts->crl_url, ", \t\r\n") != NULL))
		return mtk_err_set(err, MTK_E_INVALID_ARG,
				   "--crl-url must be an http(s) URL without spaces or commas");
	if (days > 36500)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "--days: at most 36500");
	certs = path_join(dir, "certs");
	if (certs == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
	if (mkdir(dir, 0700) == 0) {
		made_dir = true;
	} else if (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = mtk_err_set(err, errno == EEXIST ? MTK_E_EXISTS : MTK_E_WRITE, "%s: cannot create the CA directory: %s",
				 dir, errno == EEXIST ? "a file is in the way" : strerror(errno));
		goto out;
	} else if (!dir_is_empty(dir)) {
		/* Not MTK_E_EXISTS: --force does not help here. */
		rc = mtk_err_set(err, MTK_E_INVALID_ARG, "%s: not empty; a CA is created only in a new or empty directory",
				 dir);
		goto out;
	}
	if (mkdir(certs, 0700) != 0) {
		rc = mtk_err_set(err, MTK_E_WRITE, "%s: %s", certs, strerror(errno));
		goto out;
	}
	made_certs = true;

	if ((rc = mtk_key_generate(kt, &rkey, err)) != MTK_OK)
		goto out;
	if ((rc = make_ca_cert(opts->name, rkey, NULL, rkey, opts->now, opts->now + days * 86400L, &root,
			       err)) != MTK_OK)
		goto out;
	if (opts->intermediate != NULL) {
		if ((rc = mtk_key_generate(kt, &ikey, err)) != MTK_OK)
			goto out;
		if ((rc = make_ca_cert(opts->intermediate, ikey, root, rkey, opts->now,
				       opts->now + days * 86400L, &inter, err)) != MTK_OK)
			goto out;
	}
	conf.version = CA_CONF_VERSION;
	snprintf(conf.name, sizeof(conf.name), "%s", opts->name);
	snprintf(conf.issuing, sizeof(conf.issuing), "%s", opts->intermediate ? opts->intermediate : "");
	mtk_key_type_name(rkey, conf.key_type, sizeof(conf.key_type));
	snprintf(conf.crl_url, sizeof(conf.crl_url), "%s", opts->crl_url ? opts->crl_url : "");

	if (mtk_ca_conf_format(&conf, &conf_b) != MTK_OK || pem_cert(root, &root_b) != MTK_OK ||
	    (inter && pem_cert(inter, &inter_b) != MTK_OK) || mtk_ca_index_format(&empty, &idx_b) != MTK_OK ||
	    mtk_buf_append_str(&crln_b, "0\n") != MTK_OK) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "CA files");
		goto out;
	}
	if ((rc = mtk_key_pem_private(rkey, opts->out_pass, &rkey_b, err)) != MTK_OK ||
	    (ikey && (rc = mtk_key_pem_private(ikey, opts->out_pass, &ikey_b, err)) != MTK_OK))
		goto out;
	o = mtk_outset_new();
	if (o == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "CA files");
		goto out;
	}
	if ((rc = outset_add_path(o, dir, "root.crt", &root_b, 0, err)) != MTK_OK ||
	    (rc = outset_add_path(o, dir, "root.key", &rkey_b, MTK_WRITE_SECRET, err)) != MTK_OK ||
	    (inter && (rc = outset_add_path(o, dir, "issuing.crt", &inter_b, 0, err)) != MTK_OK) ||
	    (ikey && (rc = outset_add_path(o, dir, "issuing.key", &ikey_b, MTK_WRITE_SECRET, err)) != MTK_OK) ||
	    (rc = outset_add_path(o, dir, "index.txt", &idx_b, 0, err)) != MTK_OK ||
	    (rc = outset_add_path(o, dir, "crlnumber", &crln_b, 0, err)) != MTK_OK ||
	    (inter && (rc = outset_add_path(o, dir, ROOT_CRLNUMBER, &crln_b, 0, err)) != MTK_OK) ||
	    (rc = outset_add_path(o, dir, ".lock", &lock_b, MTK_WRITE_SECRET, err)) != MTK_OK ||
	    /* ca.conf last: its presence marks a complete CA */
	    (rc = outset_add_path(o, dir, "ca.conf", &conf_b, 0, err)) != MTK_OK)
		goto out;
	rc = mtk_outset_commit(o, err);
out:
	mtk_outset_free(o);
	if (rc != MTK_OK) {
		if (made_certs)
			(void)rmdir(certs);
		if (made_dir)
			(void)rmdir(dir);
	}
	free(certs);
	EVP_PKEY_free(rkey);
	EVP_PKEY_free(ikey);
	X509_free(root);
	X509_free(inter);
	mtk_buf_free(&conf_b);
	mtk_buf_free(&root_b);
	mtk_buf_free(&inter_b);
	mtk_buf_free(&rkey_b);
	mtk_buf_free(&ikey_b);
	mtk_buf_free(&idx_b);
	mtk_buf_free(&crln_b);
	return rc;
}

/* --- an open CA --- */

struct mtk_ca {
	char *dir;
	mtk_lock *lock;
	mtk_ca_conf conf;
	struct index_file index; /* index.txt as read by mtk_ca_open */
	mtk_ca_index entries;    /* every line read whole: mtk_ca_get_index */
	bool entries_read;
	X509 *root;
	X509 *issuing;        /* NULL when the root signs */
	EVP_PKEY *key;        /* the signing CA's key; NULL unless MTK_CA_KEY_SIGNER */
	EVP_PKEY *root_key;   /* the root's, when another CA signs; NULL unless MTK_CA_KEY_ROOT */
	STACK_OF(X509) *chain;
};

X509 *mtk_ca_signer(const mtk_ca *ca)
{
	return ca->issuing ? ca->issuing : ca->root;
}

STACK_OF(X509) *mtk_ca_chain(const mtk_ca *ca)
{
	return ca->chain;
}

const mtk_ca_conf *mtk_ca_get_conf(const mtk_ca *ca)
{
	return &ca->conf;
}

mtk_rc mtk_ca_get_index(mtk_ca *ca, const mtk_ca_index **out, mtk_err *err)
{
	mtk_rc rc;

	if (!ca->entries_read) {
		if ((rc = mtk_ca_index_parse((const uint8_t *)ca->index.raw, ca->index.keep, &ca->entries, err)) !=
		    MTK_OK)
			return rc;
		ca->entries_read = true;
	}
	*out = &ca->entries;
	return MTK_OK;
}

void mtk_ca_close(mtk_ca *ca)
{
	if (ca == NULL)
		return;
	mtk_lock_release(ca->lock);
	index_file_free(&ca->index);
	mtk_ca_index_free(&ca->entries);
	X509_free(ca->root);
	X509_free(ca->issuing);
	EVP_PKEY_free(ca->key);
	EVP_PKEY_free(ca->root_key);
	sk_X509_free(ca->chain);
	free(ca->dir);
	free(ca);
}

static mtk_rc state_missing(const char *dir, const char *name, mtk_err *err)
{
	return mtk_err_set(err, MTK_E_CA_STATE,
			   "%s/%s is missing: the CA directory is incomplete (create one with `mtlskit ca init %s --name NAME`)",
			   dir, name, dir);
}

static mtk_rc read_state(const mtk_ca *ca, const char *name, mtk_buf *out, mtk_err *err)
{
	char *p = path_join(ca->dir, name);
	mtk_rc rc;

	if (p == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	if (access(p, F_OK) != 0)
		rc = state_missing(ca->dir, name, err);
	else
		rc = mtk_file_read(p, CA_STATE_MAX, out, err);
	free(p);
	return rc;
}

/* The index file DIR/name, read whole (mapped, at most INDEX_MAX bytes);
 * a file that does not exist is an empty index (f->exists false) unless
 * must_exist. */
static mtk_rc index_file_read(const mtk_ca *ca, const char *name, bool must_exist, struct index_file *f,
			      mtk_err *err)
{
	char *p = path_join(ca->dir, name);
	mtk_rc rc;

	memset(f, 0, sizeof(*f));
	f->name = name;
	if (p == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	if (access(p, F_OK) != 0 && errno == ENOENT) {
		rc = must_exist ? state_missing(ca->dir, name, err) : MTK_OK;
	} else if ((rc = mtk_file_map(p, INDEX_MAX, &f->map, err)) == MTK_OK) {
		f->exists = true;
		f->raw = (const char *)f->map.data;
		f->keep = mtk_ca_index_content(f->raw, f->map.len);
	}
	free(p);
	return rc;
}

/* Adds entry e to the index file f: one line appended after its content
 * (mtk_file_append: what an interrupted append left is cut, fdatasync), or
 * a new file with the header when there was none.  f is then read again
 * (mtk_ca_get_index too), so that a handle sees its own changes. */
static mtk_rc index_append(mtk_ca *ca, struct index_file *f, const mtk_ca_entry *e, mtk_err *err)
{
	mtk_buf b = MTK_BUF_INIT;
	const char *name = f->name;
	char *p = path_join(ca->dir, name);
	mtk_rc rc;

	if (p == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	if (!f->exists)
		rc = mtk_buf_append_str(&b, INDEX_HEADER);
	else if (f->keep > 0 && f->raw[f->keep - 1] != '\n')
		rc = mtk_buf_append(&b, "\n", 1); /* its last line had no newline */
	else
		rc = MTK_OK;
	if (rc != MTK_OK || (rc = format_entry(e, &b)) != MTK_OK)
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	else if (!f->exists)
		rc = mtk_file_write(p, b.data, b.len, 0, err);
	else
		rc = mtk_file_append(p, f->keep, f->map.len, b.data, b.len, err);
	free(p);
	mtk_buf_free(&b);
	if (rc != MTK_OK)
		return rc;
	if (f == &ca->index && ca->entries_read) {
		mtk_ca_index_free(&ca->entries);
		ca->entries_read = false;
	}
	index_file_free(f);
	return index_file_read(ca, name, true, f, err);
}

static mtk_rc load_ca_cert(const mtk_ca *ca, const char *name, X509 **out, mtk_err *err)
{
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	char *p = path_join(ca->dir, name);
	mtk_rc rc;

	if (p == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	if (access(p, F_OK) != 0) {
		rc = state_missing(ca->dir, name, err);
		goto out;
	}
	if ((rc = mtk_load_file(&set, p, &lo, NULL, NULL, err)) != MTK_OK) {
		mtk_err_set(err, MTK_E_CA_STATE, "%s", p);
		rc = MTK_E_CA_STATE;
		goto out;
	}
	rc = MTK_E_CA_STATE;
	for (size_t i = 0; i < set.count; i++) {
		if (set.objs[i].kind == MTK_OBJ_CERT && set.objs[i].cert != NULL) {
			X509_up_ref(set.objs[i].cert);
			*out = set.objs[i].cert;
			rc = MTK_OK;
			break;
		}
	}
	if (rc != MTK_OK)
		mtk_err_set(err, rc, "%s: no certificate", p);
out:
	mtk_set_free(&set);
	free(p);
	return rc;
}

/* Reads DIR/name with pass and checks it belongs to cert; *out owned. */
static mtk_rc load_ca_key(const mtk_ca *ca, const char *name, X509 *cert, const mtk_secret *pass,
			  EVP_PKEY **out, mtk_err *err)
{
	mtk_set set = MTK_SET_INIT;
	mtk_load_opts lo = {0};
	EVP_PKEY *key = NULL;
	char *p = path_join(ca->dir, name);
	mtk_rc rc;

	if (p == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	if (access(p, F_OK) != 0) {
		rc = state_missing(ca->dir, name, err);
		goto out;
	}
	lo.pass = pass;
	lo.require_decrypt = true;
	if ((rc = mtk_load_file(&set, p, &lo, NULL, NULL, err)) != MTK_OK)
		goto out;
	for (size_t i = 0; i < set.count && key == NULL; i++)
		if (set.objs[i].kind == MTK_OBJ_KEY && set.objs[i].key != NULL)
			key = set.objs[i].key;
	if (key == NULL) {
		rc = mtk_err_set(err, MTK_E_CA_STATE, "%s: no private key", p);
		goto out;
	}
	if (!mtk_key_matches_cert(key, cert)) {
		rc = mtk_err_set(err, MTK_E_CA_STATE, "%s does not match its certificate", p);
		goto out;
	}
	EVP_PKEY_up_ref(key);
	*out = key;
	rc = MTK_OK;
out:
	mtk_set_free(&set);
	free(p);
	return rc;
}

mtk_rc mtk_ca_open(const char *dir, const mtk_secret *pass, unsigned keys, mtk_ca **out,
		   mtk_err *err)
{
	mtk_ca *ca = NULL;
	mtk_buf b = MTK_BUF_INIT;
	struct stat st;
	char *p = NULL;
	mtk_rc rc;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return mtk_err_set(err, MTK_E_CA_STATE,
				   "%s: no CA directory there (create one with `mtlskit ca init %s --name NAME`)",
				   dir, dir);
	ca = calloc(1, sizeof(*ca));
	if (ca == NULL || (ca->dir = strdup(dir)) == NULL) {
		free(ca);
		return mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
	}
	/* ca.conf is written last by init: without it the directory is not a
	 * CA (or init was interrupted). */
	if ((p = path_join(dir, "ca.conf")) == NULL || access(p, F_OK) != 0) {
		rc = p ? state_missing(dir, "ca.conf", err) : mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
		goto out;
	}
	free(p);
	if ((p = path_join(dir, ".lock")) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
		goto out;
	}
	if ((rc = mtk_lock_take(p, &ca->lock, err)) != MTK_OK)
		goto out;
	if ((rc = read_state(ca, "ca.conf", &b, err)) != MTK_OK ||
	    (rc = mtk_ca_conf_parse(b.data, b.len, &ca->conf, err)) != MTK_OK)
		goto out;
	b.len = 0;
	if ((rc = index_file_read(ca, "index.txt", true, &ca->index, err)) != MTK_OK)
		goto out;
	free(p);
	if ((p = path_join(dir, "certs")) == NULL) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
		goto out;
	}
	if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = state_missing(dir, "certs/", err);
		goto out;
	}
	if ((rc = load_ca_cert(ca, "root.crt", &ca->root, err)) != MTK_OK)
		goto out;
	if (ca->conf.issuing[0] != '\0' &&
	    (rc = load_ca_cert(ca, "issuing.crt", &ca->issuing, err)) != MTK_OK)
		goto out;
	ca->chain = sk_X509_new_null();
	if (ca->chain == NULL || (ca->issuing && !sk_X509_push(ca->chain, ca->issuing)) ||
	    !sk_X509_push(ca->chain, ca->root)) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "%s", dir);
		goto out;
	}
	if (ca->issuing && !mtk_cert_issued_by(ca->issuing, ca->root)) {
		rc = mtk_err_set(err, MTK_E_CA_STATE, "%s/issuing.crt is not signed by root.crt", dir);
		goto out;
	}
	if ((keys & MTK_CA_KEY_SIGNER) &&
	    (rc = load_ca_key(ca, ca->issuing ? "issuing.key" : "root.key", mtk_ca_signer(ca), pass, &ca->key,
			      err)) != MTK_OK)
		goto out;
	if ((keys & MTK_CA_KEY_ROOT) && ca->issuing != NULL &&
	    (rc = load_ca_key(ca, "root.key", ca->root, pass, &ca->root_key, err)) != MTK_OK)
		goto out;
	*out = ca;
	ca = NULL;
	rc = MTK_OK;
out:
	free(p);
	mtk_buf_free(&b);
	mtk_ca_close(ca);
	return rc;
}

mtk_rc mtk_ca_profile_parse(const char *s, mtk_ca_profile *out, mtk_err *err)
{
	if (s && strcmp(s, "client") == 0)
		*out = MTK_PROFILE_CLIENT;
	else if (s && strcmp(s, "server") == 0)
		*out = MTK_PROFILE_SERVER;
	else
		return mtk_err_set(err, MTK_E_INVALID_ARG, "--profile must be client or server");
	return MTK_OK;
}

static bool csr_wants_ca(STACK_OF(X509_EXTENSION) *exts)
{
	int at = X509v3_get_ext_by_NID(exts, NID_basic_constraints, -1);
	BASIC_CONSTRAINTS *bc;
	bool ca;

	if (at < 0)
		return false;
	bc = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, at));
	if (bc == NULL)
		return true; /* unreadable: treat as a CA request, refuse */
	ca = bc->ca != 0;
	BASIC_CONSTRAINTS_free(bc);
	return ca;
}

mtk_rc mtk_ca_sign(mtk_ca *ca, X509_REQ *csr, const mtk_ca_sign_opts *opts, X509 **out,
		   mtk_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509 *signer = mtk_ca_signer(ca), *c = NULL;
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
	ASN1_INTEGER *serial = NULL;
	X509_EXTENSION *san = NULL;
	GENERAL_NAMES *gens = NULL;
	mtk_ca_entry e = {0};
	mtk_buf pem = MTK_BUF_INIT;
	char subj[512], fname[96], *cpath = NULL;
	X509V3_CTX ctx;
	int at;
	mtk_rc rc;

	if (ca->key == NULL)
		return mtk_err_set(err, MTK_E_INTERNAL, "CA opened without its key");
	if (pub == NULL || X509_REQ_verify(csr, pub) != 1)
		return mtk_err_set(err, MTK_E_CSR_SIGNATURE,
				   "the request's signature does not verify with its own public key (damaged or altered)");
	if (opts->not_after <= opts->not_before)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "notAfter must be after notBefore");
	exts = X509_REQ_get_extensions(csr);
	if (csr_wants_ca(exts)) {
		rc = mtk_err_set(err, MTK_E_CSR_POLICY,
				 "the request asks for a CA certificate (basicConstraints CA:TRUE); this CA signs only client and server certificates");
		goto out;
	}
	at = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
	if (at >= 0) {
		san = sk_X509_EXTENSION_value(exts, at);
		gens = X509V3_EXT_d2i(san);
		if (gens == NULL) {
			rc = mtk_err_set(err, MTK_E_MALFORMED, "the request's subjectAltName is malformed");
			goto out;
		}
	}
	if (X509_NAME_entry_count(X509_REQ_get_subject_name(csr)) == 0 &&
	    (gens == NULL || sk_GENERAL_NAME_num(gens) == 0)) {
		/* RFC 5280 4.1.2.6: an empty subject needs a subjectAltName */
		rc = mtk_err_set(err, MTK_E_CSR_POLICY, "the request has neither a subject nor a subjectAltName");
		goto out;
	}
	if (opts->profile == MTK_PROFILE_SERVER && (gens == NULL || sk_GENERAL_NAME_num(gens) == 0)) {
		rc = mtk_err_set(err, MTK_E_CSR_POLICY,
				 "the server profile needs a subjectAltName with the host name (csr create --san DNS:host)");
		goto out;
	}
	if ((rc = new_serial(&ca->index, &serial, e.serial, sizeof(e.serial), err)) != MTK_OK)
		goto out;
	c = X509_new();
	if (c == NULL || X509_set_version(c, 2) != 1 || X509_set_serialNumber(c, serial) != 1 ||
	    X509_set_subject_name(c, X509_REQ_get_subject_name(csr)) != 1 ||
	    X509_set_issuer_name(c, X509_get_subject_name(signer)) != 1 || X509_set_pubkey(c, pub) != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "building the certificate");
		goto out;
	}
	if ((rc = set_times(c, opts->not_before, opts->not_after, err)) != MTK_OK)
		goto out;
	X509V3_set_ctx(&ctx, signer, c, NULL, NULL, 0);
	/* Only what the profile allows: the requested SAN is copied; usage
	 * comes from the profile, never from the request. */
	if ((rc = add_conf_ext(c, &ctx, NID_basic_constraints, "critical,CA:FALSE", err)) != MTK_OK ||
	    (rc = add_conf_ext(c, &ctx, NID_key_usage,
			       EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA ? "critical,digitalSignature,keyEncipherment"
									: "critical,digitalSignature",
			       err)) != MTK_OK ||
	    (rc = add_conf_ext(c, &ctx, NID_ext_key_usage,
			       opts->profile == MTK_PROFILE_SERVER ? "serverAuth" : "clientAuth", err)) != MTK_OK ||
	    (rc = add_conf_ext(c, &ctx, NID_subject_key_identifier, "hash", err)) != MTK_OK ||
	    (rc = add_conf_ext(c, &ctx, NID_authority_key_identifier, "keyid:always", err)) != MTK_OK)
		goto out;
	if (san != NULL && X509_add_ext(c, san, -1) != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "subjectAltName");
		goto out;
	}
	if (ca->conf.crl_url[0] != '\0') {
		char dp[600];
		snprintf(dp, sizeof(dp), "URI:%s", ca->conf.crl_url);
		if ((rc = add_conf_ext(c, &ctx, NID_crl_distribution_points, dp, err)) != MTK_OK)
			goto out;
	}
	if (X509_sign(c, ca->key, mtk_key_sign_md(ca->key)) <= 0) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "signing the certificate");
		goto out;
	}
	/* Record before handing out: certs/SERIAL.pem, then the index line. */
	snprintf(fname, sizeof(fname), "certs/%s.pem", e.serial);
	cpath = path_join(ca->dir, fname);
	if (cpath == NULL || pem_cert(c, &pem) != MTK_OK) {
		rc = mtk_err_set(err, MTK_E_NOMEM, "certificate");
		goto out;
	}
	if ((rc = mtk_file_write(cpath, pem.data, pem.len, 0, err)) != MTK_OK)
		goto out;
	mtk_name_string(X509_get_subject_name(c), subj, sizeof(subj));
	for (char *q = subj; *q; q++)
		if (*q == '\t' || *q == '\n' || *q == '\r')
			*q = ' ';
	e.status = 'V';
	e.not_after = opts->not_after;
	snprintf(e.profile, sizeof(e.profile), "%s", opts->profile == MTK_PROFILE_SERVER ? "server" : "client");
	e.subject = subj;
	if ((rc = index_append(ca, &ca->index, &e, err)) != MTK_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	free(cpath);
	mtk_buf_free(&pem);
	GENERAL_NAMES_free(gens);
	ASN1_INTEGER_free(serial);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_free(c);
	return rc;
}

/* Revokes entry norm of the index file DIR/name (read as f), whose last
 * line for that serial is at fc: a revoked line for it appended, the
 * valid one left as it is (mtk_ca_index_parse reads the pair as one
 * revoked entry). */
static mtk_rc revoke_line(mtk_ca *ca, struct index_file *f, const struct find_ctx *fc,
			  const char *norm, mtk_reason reason, time_t now, mtk_err *err)
{
	mtk_ca_entry e;
	mtk_rc rc;

	if (fc->last.p[0] == 'R')
		return mtk_err_set(err, MTK_E_INVALID_ARG, "serial %s was already revoked", norm);
	if ((rc = walk_entry(&fc->last, &e, err)) != MTK_OK)
		return rc;
	e.status = 'R';
	e.revoked_at = now;
	e.reason = reason;
	rc = index_append(ca, f, &e, err);
	free(e.subject);
	return rc;
}

/* Revokes the issuing CA itself: an entry in the root's index, listed by
 * the root's CRL (`ca crl`, chain scope), which is what a relying party
 * checking the whole chain (mtlskit-gateway, OpenSSL's CRL_CHECK_ALL)
 * reads.  Every certificate the issuing CA signed is refused from then on. */
static mtk_rc revoke_issuing(mtk_ca *ca, const char *norm, mtk_reason reason, time_t now, mtk_err *err)
{
	struct index_file f;
	struct find_ctx fc;
	mtk_ca_entry e = {0};
	char subj[1024];
	mtk_rc rc;

	if ((rc = index_file_read(ca, ROOT_INDEX, false, &f, err)) != MTK_OK)
		return rc;
	if ((rc = index_find_line(f.raw, f.keep, norm, &fc, err)) != MTK_OK)
		goto out;
	if (fc.found) {
		rc = mtk_err_set(err, MTK_E_INVALID_ARG, "the issuing CA (serial %s) was already revoked", norm);
		goto out;
	}
	if (strlen(norm) >= sizeof(e.serial)) {
		rc = mtk_err_set(err, MTK_E_INVALID_ARG, "serial %s is too long", norm);
		goto out;
	}
	e.status = 'R';
	memcpy(e.serial, norm, strlen(norm) + 1);
	if (mtk_asn1_time_to_time(X509_get0_notAfter(ca->issuing), &e.not_after) != MTK_OK) {
		rc = mtk_err_set(err, MTK_E_CA_STATE, "issuing.crt: unreadable notAfter");
		goto out;
	}
	e.revoked_at = now;
	e.reason = reason;
	snprintf(e.profile, sizeof(e.profile), "ca");
	mtk_name_string(X509_get_subject_name(ca->issuing), subj, sizeof(subj));
	e.subject = subj;
	rc = index_append(ca, &f, &e, err);
out:
	index_file_free(&f);
	return rc;
}

mtk_rc mtk_ca_revoke(mtk_ca *ca, const char *serial, mtk_reason reason, time_t now, mtk_err *err)
{
	struct find_ctx fc;
	char norm[80];
	mtk_rc rc;

	if ((rc = mtk_serial_normalize(serial, norm, sizeof(norm), err)) != MTK_OK)
		return rc;
	if ((rc = index_find_line(ca->index.raw, ca->index.keep, norm, &fc, err)) != MTK_OK)
		return rc;
	if (fc.found)
		return revoke_line(ca, &ca->index, &fc, norm, reason, now, err);
	if (ca->issuing != NULL) {
		char inorm[80];
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca->issuing), NULL);
		char *hex = bn ? BN_bn2hex(bn) : NULL;
		bool same = hex != NULL && mtk_serial_normalize(hex, inorm, sizeof(inorm), NULL) == MTK_OK &&
			    strcmp(inorm, norm) == 0;

		OPENSSL_free(hex);
		BN_free(bn);
		if (same)
			return revoke_issuing(ca, norm, reason, now, err);
	}
	return mtk_err_set(err, MTK_E_NOT_FOUND, "serial %s was not issued by the CA in %s", norm, ca->dir);
}

/* The last number in the CRL counter DIR/name.  A missing ROOT_CRLNUMBER
 * (a CA made before the root had its own CRLs) counts as 0; every other
 * counter must exist.  Only called with the CA lock held. */
static mtk_rc read_crl_number(mtk_ca *ca, const char *name, long long *out, mtk_err *err)
{
	mtk_buf b = MTK_BUF_INIT;
	char txt[32], *end = NULL, *p = NULL;
	long long n;
	mtk_rc rc = MTK_OK;

	if ((p = path_join(ca->dir, name)) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	if (strcmp(name, ROOT_CRLNUMBER) == 0 && access(p, F_OK) != 0 && errno == ENOENT) {
		*out = 0;
		goto out;
	}
	if ((rc = read_state(ca, name, &b, err)) != MTK_OK)
		goto out;
	if (b.len == 0 || b.len >= sizeof(txt)) {
		rc = mtk_err_set(err, MTK_E_CA_STATE, "%s/%s is malformed", ca->dir, name);
		goto out;
	}
	memcpy(txt, b.data, b.len);
	txt[b.len] = '\0';
	errno = 0;
	n = strtoll(txt, &end, 10);
	if (errno != 0 || end == txt || (*end != '\0' && *end != '\n') || n < 0 || n >= 999999999999LL) {
		rc = mtk_err_set(err, MTK_E_CA_STATE, "%s/%s is malformed", ca->dir, name);
		goto out;
	}
	*out = n;
out:
	free(p);
	mtk_buf_free(&b);
	return rc;
}

static mtk_rc write_crl_number(mtk_ca *ca, const char *name, long long n, mtk_err *err)
{
	char txt[32], *p = path_join(ca->dir, name);
	mtk_rc rc;

	if (p == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	snprintf(txt, sizeof(txt), "%lld\n", n);
	rc = mtk_file_write(p, txt, strlen(txt), MTK_WRITE_FORCE, err);
	free(p);
	return rc;
}

/*
 * The CRL is written as DER here rather than built from OpenSSL objects:
 * OpenSSL's template encoder, run once to sign and once to write, cost
 * about 1.3 us per revoked entry each time, and making the entry objects
 * as much again; these bytes cost a few hundred nanoseconds.  The parts
 * that are not per entry (issuer name, extensions, signature algorithm)
 * still come from OpenSSL's encoders.  The bytes are what X509_CRL_sign
 * wrote for the same CRL (tests/unit/test_ca.c compares them; fuzz/caindex
 * has OpenSSL read and re-encode every entry).
 */

/* One revoked entry, as its CRL entry needs it. */
struct crl_entry {
	uint8_t mag[sizeof(((mtk_ca_entry *)0)->serial) / 2 + 1]; /* serial, no leading zeros */
	uint8_t mlen;
	int64_t at;
	int reason;
};

/* An entry's serial (upper-case hex, as the index holds it): its bytes
 * without leading zeros (one zero byte for the value 0). */
static bool serial_bytes(const char *hex, struct crl_entry *c)
{
	uint8_t b[sizeof(c->mag)];
	size_t n = strlen(hex), o = 0, i = 0;

	if (n == 0 || n > 2 * sizeof(b))
		return false;
	if (n % 2 == 1) { /* an odd count: the first digit alone */
		b[o++] = (uint8_t)mtk_hexval(hex[0]);
		i = 1;
	}
	for (; i < n; i += 2)
		b[o++] = (uint8_t)(mtk_hexval(hex[i]) << 4 | mtk_hexval(hex[i + 1]));
	for (i = 0; i + 1 < o && b[i] == 0; i++)
		;
	c->mlen = (uint8_t)(o - i);
	memcpy(c->mag, b + i, c->mlen);
	return true;
}

/* X509_CRL_sort's order: shorter serials first, then by their bytes. */
static int crl_entry_cmp(const void *pa, const void *pb)
{
	const struct crl_entry *a = pa, *b = pb;

	if (a->mlen != b->mlen)
		return a->mlen < b->mlen ? -1 : 1;
	return memcmp(a->mag, b->mag, a->mlen);
}

/* A time as RFC 5280 5.1.2.4 wants it, tag and length included: UTCTime
 * through 2049, else GeneralizedTime; written from the digits, not through
 * gmtime + printf.  Its length (15 or 17). */
static size_t crl_time_der(uint8_t o[17], time_t t)
{
	char g[16];
	bool utc;

	put_gentime(g, t);
	utc = memcmp(g, "1950", 4) >= 0 && memcmp(g, "2050", 4) < 0;
	o[0] = utc ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME;
	o[1] = utc ? 13 : 15;
	memcpy(o + 2, utc ? g + 2 : g, o[1]);
	return 2 + (size_t)o[1];
}

static mtk_rc put_crl_time(mtk_buf *b, time_t t)
{
	uint8_t o[17];

	return mtk_buf_append(b, o, crl_time_der(o, t));
}

/* One revokedCertificates entry: serial, date and, unless unspecified
 * (RFC 5280 5.3.1: then it SHOULD be absent), the reasonCode extension. */
static mtk_rc put_crl_entry(mtk_buf *b, const struct crl_entry *c)
{
	static const uint8_t reason_oid[] = {0x06, 0x03, 0x55, 0x1d, 0x15}; /* 2.5.29.21 */
	uint8_t in[2 + 1 + sizeof(c->mag)], ext[14], t[17];
	size_t il = 0, el = 0, tl = crl_time_der(t, (time_t)c->at);
	mtk_rc rc;

	in[il++] = 0x02;
	in[il++] = (uint8_t)(c->mlen + (c->mag[0] >= 0x80));
	if (c->mag[0] >= 0x80)
		in[il++] = 0; /* a positive INTEGER */
	memcpy(in + il, c->mag, c->mlen);
	il += c->mlen;
	if (c->reason != MTK_REASON_UNSPECIFIED) {
		ext[el++] = 0x30; /* Extensions */
		ext[el++] = 12;
		ext[el++] = 0x30; /* Extension: extnID, extnValue */
		ext[el++] = 10;
		memcpy(ext + el, reason_oid, sizeof(reason_oid));
		el += sizeof(reason_oid);
		ext[el++] = 0x04;
		ext[el++] = 3;
		ext[el++] = 0x0a; /* ENUMERATED */
		ext[el++] = 1;
		ext[el++] = (uint8_t)c->reason;
	}
	if ((rc = mtk_der_put_header(b, 0x30, il + tl + el)) != MTK_OK ||
	    (rc = mtk_buf_append(b, in, il)) != MTK_OK || (rc = mtk_buf_append(b, t, tl)) != MTK_OK)
		return rc;
	return el > 0 ? mtk_buf_append(b, ext, el) : MTK_OK;
}

/* Visitor: every revoked line into the CRL's entries (a revoked line is
 * final: the valid line it follows, if any, adds nothing). */
struct revoked_ctx {
	struct crl_entry *v;
	size_t count, cap;
};

static mtk_rc visit_revoked(void *ctx, const struct index_line *l, mtk_err *err)
{
	struct revoked_ctx *rv = ctx;
	mtk_ca_entry e;
	mtk_rc rc;

	if (l->p[0] != 'R')
		return MTK_OK;
	if ((rc = walk_entry(l, &e, err)) != MTK_OK)
		return rc;
	free(e.subject);
	if (rv->count == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 256;
		struct crl_entry *nv = realloc(rv->v, cap * sizeof(*nv));
		if (nv == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "CRL entries");
		rv->v = nv;
		rv->cap = cap;
	}
	if (!serial_bytes(e.serial, &rv->v[rv->count]))
		return mtk_err_set(err, MTK_E_CA_STATE, "index.txt:%ld: serial", l->lineno);
	rv->v[rv->count].at = e.revoked_at;
	rv->v[rv->count].reason = (int)e.reason;
	rv->count++;
	return MTK_OK;
}

mtk_rc mtk_ca_crl_list(const char *raw, size_t len, mtk_buf *der, size_t *count, mtk_err *err)
{
	struct revoked_ctx rv = {NULL, 0, 0};
	mtk_rc rc = index_walk(raw, len, visit_revoked, &rv, err);

	*count = 0;
	if (rc == MTK_OK && rv.count > 1)
		qsort(rv.v, rv.count, sizeof(*rv.v), crl_entry_cmp);
	for (size_t i = 0; rc == MTK_OK && i < rv.count; i++)
		if ((rc = put_crl_entry(der, &rv.v[i])) != MTK_OK)
			rc = mtk_err_set(err, rc, "CRL entries");
	if (rc == MTK_OK)
		*count = rv.count;
	free(rv.v);
	return rc;
}

/* The DER of an OpenSSL object (i2d) appended to b. */
static mtk_rc put_i2d(mtk_buf *b, int n, unsigned char *der)
{
	mtk_rc rc = n > 0 && der != NULL ? mtk_buf_append(b, der, (size_t)n) : MTK_E_CRYPTO;

	OPENSSL_free(der);
	return rc;
}

/* The CRL's extensions: its number, then the issuer's key identifier. */
static mtk_rc put_crl_exts(mtk_buf *b, X509 *issuer, long long n)
{
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *ext[2] = {NULL, NULL};
	X509V3_CTX ctx;
	mtk_buf in = MTK_BUF_INIT, seq = MTK_BUF_INIT;
	mtk_rc rc = MTK_E_CRYPTO;

	X509V3_set_ctx(&ctx, issuer, NULL, NULL, NULL, 0);
	if (num != NULL && ASN1_INTEGER_set_int64(num, n) == 1 &&
	    (ext[0] = X509V3_EXT_i2d(NID_crl_number, 0, num)) != NULL &&
	    (ext[1] = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
					  "keyid:always")) != NULL) {
		unsigned char *d0 = NULL, *d1 = NULL;
		int l0 = i2d_X509_EXTENSION(ext[0], &d0), l1 = i2d_X509_EXTENSION(ext[1], &d1);

		/* [0] EXPLICIT Extensions (a SEQUENCE of the two). */
		if ((rc = put_i2d(&in, l0, d0)) == MTK_OK)
			rc = put_i2d(&in, l1, d1);
		else
			OPENSSL_free(d1);
		if (rc == MTK_OK && (rc = mtk_der_put(&seq, 0x30, in.data, in.len)) == MTK_OK)
			rc = mtk_der_put(b, 0xa0, seq.data, seq.len);
	}
	X509_EXTENSION_free(ext[0]);
	X509_EXTENSION_free(ext[1]);
	ASN1_INTEGER_free(num);
	mtk_buf_free(&in);
	mtk_buf_free(&seq);
	return rc;
}

/* One CRL by issuer (key ikey) with CRL number n, listing the revoked
 * entries of index: index.txt for the signing CA, ROOT_INDEX for the root
 * above an intermediate (the issuing CA, once revoked). */
static mtk_rc issue_crl(const struct index_file *index, X509 *issuer, EVP_PKEY *ikey, long long n,
			time_t now, long days, mtk_ca_crl_der *out, mtk_err *err)
{
	mtk_buf tbs = MTK_BUF_INIT, body = MTK_BUF_INIT, crl = MTK_BUF_INIT;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char aid[256], *name = NULL, *sig = NULL;
	OSSL_PARAM params[2];
	size_t aidlen = 0, siglen = 0, list = 0, count = 0;
	int namelen;
	mtk_rc rc;

	if ((rc = mtk_ca_crl_list(index->raw, index->keep, &body, &count, err)) != MTK_OK)
		goto out;
	/* The signature algorithm as the key's signer names it: in the TBS and
	 * again after it. */
	params[0] =
	    OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, sizeof(aid));
	params[1] = OSSL_PARAM_construct_end();
	if (md == NULL || EVP_DigestSignInit(md, &pctx, mtk_key_sign_md(ikey), NULL, ikey) != 1 ||
	    EVP_PKEY_CTX_get_params(pctx, params) != 1 || (aidlen = params[0].return_size) == 0 ||
	    aidlen > sizeof(aid)) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "CRL signature algorithm");
		goto out;
	}
	/* TBSCertList: version 2, signature, issuer, thisUpdate, nextUpdate,
	 * revokedCertificates (absent when empty), crlExtensions. */
	list = body.len;
	namelen = i2d_X509_NAME(X509_get_subject_name(issuer), &name);
	if ((rc = mtk_buf_append(&tbs, "\x02\x01\x01", 3)) != MTK_OK ||
	    (rc = mtk_buf_append(&tbs, aid, aidlen)) != MTK_OK ||
	    (rc = put_i2d(&tbs, namelen, name)) != MTK_OK ||
	    (rc = put_crl_time(&tbs, now)) != MTK_OK ||
	    (rc = put_crl_time(&tbs, now + days * 86400L)) != MTK_OK ||
	    (list > 0 && (rc = mtk_der_put(&tbs, 0x30, body.data, list)) != MTK_OK))
		goto nomem;
	if ((rc = put_crl_exts(&tbs, issuer, n)) != MTK_OK) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "CRL extensions");
		goto out;
	}
	body.len = 0;
	if ((rc = mtk_der_put(&body, 0x30, tbs.data, tbs.len)) != MTK_OK)
		goto nomem;
	if (EVP_DigestSign(md, NULL, &siglen, body.data, body.len) != 1 ||
	    (sig = OPENSSL_malloc(siglen + 1)) == NULL ||
	    EVP_DigestSign(md, sig + 1, &siglen, body.data, body.len) != 1) {
		rc = mtk_err_set(err, MTK_E_CRYPTO, "signing the CRL");
		goto out;
	}
	sig[0] = 0; /* no unused bits */
	if ((rc = mtk_buf_append(&body, aid, aidlen)) != MTK_OK ||
	    (rc = mtk_der_put(&body, 0x03, sig, siglen + 1)) != MTK_OK ||
	    (rc = mtk_der_put(&crl, 0x30, body.data, body.len)) != MTK_OK)
		goto nomem;
	mtk_buf_free(&out->der);
	out->der = crl;
	crl = (mtk_buf)MTK_BUF_INIT;
	out->number = n;
	out->revoked = count;
	rc = MTK_OK;
	goto out;
nomem:
	rc = mtk_err_set(err, rc, "CRL");
out:
	OPENSSL_free(sig);
	EVP_MD_CTX_free(md);
	mtk_buf_free(&tbs);
	mtk_buf_free(&body);
	mtk_buf_free(&crl);
	return rc;
}

mtk_rc mtk_ca_crl(mtk_ca *ca, time_t now, long days, X509_CRL **out, mtk_err *err)
{
	mtk_ca_crl_der c[2] = {{MTK_BUF_INIT, 0, 0}, {MTK_BUF_INIT, 0, 0}};
	const unsigned char *q;
	size_t n = 0;
	mtk_rc rc;

	if ((rc = mtk_ca_crls(ca, MTK_CRL_SCOPE_LEAF, now, days, c, &n, err)) != MTK_OK)
		return rc;
	q = c[0].der.data;
	if ((*out = d2i_X509_CRL(NULL, &q, (long)c[0].der.len)) == NULL)
		rc = mtk_err_set(err, MTK_E_CRYPTO, "decoding the CRL");
	for (size_t i = 0; i < n; i++)
		mtk_buf_free(&c[i].der);
	return rc;
}

mtk_rc mtk_ca_crls(mtk_ca *ca, mtk_ca_crl_scope scope, time_t now, long days, mtk_ca_crl_der out[2],
		   size_t *nout, mtk_err *err)
{
	/* [0] the signing CA, [1] the root above it (chain scope only). */
	struct {
		X509 *cert;
		EVP_PKEY *key;
		const char *counter;
		long long n;
	} by[2] = {{mtk_ca_signer(ca), ca->key, "crlnumber", 0}, {ca->root, ca->root_key, ROOT_CRLNUMBER, 0}};
	size_t nby = scope == MTK_CRL_SCOPE_CHAIN && ca->issuing != NULL ? 2 : 1;
	mtk_ca_crl_der c[2] = {{MTK_BUF_INIT, 0, 0}, {MTK_BUF_INIT, 0, 0}};
	struct index_file root_idx = {0};
	mtk_rc rc = MTK_OK;

	*nout = 0;
	if (scope != MTK_CRL_SCOPE_CHAIN && scope != MTK_CRL_SCOPE_LEAF)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "--scope must be chain or leaf");
	if (ca->key == NULL || (nby == 2 && ca->root_key == NULL))
		return mtk_err_set(err, MTK_E_INTERNAL, "CA opened without the keys of its CRLs");
	if (days <= 0 || days > 3650)
		return mtk_err_set(err, MTK_E_INVALID_ARG, "--days: 1 to 3650");
	/* Every counter is read and every CRL signed before any counter is
	 * written: a refusal leaves no gap in either CA's numbers. */
	for (size_t i = 0; i < nby; i++)
		if ((rc = read_crl_number(ca, by[i].counter, &by[i].n, err)) != MTK_OK)
			return rc;
	if (nby == 2 && (rc = index_file_read(ca, ROOT_INDEX, false, &root_idx, err)) != MTK_OK)
		return rc;
	for (size_t i = 0; i < nby; i++)
		if ((rc = issue_crl(i == 0 ? &ca->index : &root_idx, by[i].cert, by[i].key,
				    by[i].n + 1, now, days, &c[i], err)) != MTK_OK)
			goto out;
	for (size_t i = 0; i < nby; i++)
		if ((rc = write_crl_number(ca, by[i].counter, by[i].n + 1, err)) != MTK_OK)
			goto out;
	for (size_t i = 0; i < nby; i++) {
		out[i] = c[i];
		c[i] = (mtk_ca_crl_der){MTK_BUF_INIT, 0, 0};
	}
	*nout = nby;
out:
	index_file_free(&root_idx);
	mtk_buf_free(&c[0].der);
	mtk_buf_free(&c[1].der);
	return rc;
}
