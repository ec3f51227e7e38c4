/*
 * prom.c - the Prometheus text exposition of an expiry scan, for node
 * exporter's textfile collector (which wants one family per HELP/TYPE block,
 * every series of a family together, and no label set twice), with the
 * metric and label names of x509-certificate-exporter so its dashboards and
 * alert rules work unchanged.
 *
 * The output is streamed: one pass over the sorted records per family (the
 * textfile format wants each family whole), the labels rendered again in
 * each pass, the text handed to the caller's writer in 256 KiB pieces.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Label values: backslash, double quote and line feed are escaped.  Runs
 * of plain bytes are appended whole. */
static mtk_rc label(mtk_buf *b, const char *name, const char *v, size_t n)
{
	const char *p = v ? v : "", *end;
	mtk_rc rc = mtk_buf_append_str(b, name);

	if (v == NULL)
		n = 0;
	end = p + n;
	if (rc == MTK_OK)
		rc = mtk_buf_append(b, "=\"", 2);
	while (rc == MTK_OK && p < end) {
		size_t k = 0;

		while (p + k < end && p[k] != '\\' && p[k] != '"' && p[k] != '\n')
			k++;
		if (k > 0)
			rc = mtk_buf_append(b, p, k);
		p += k;
		if (rc != MTK_OK || p >= end)
			break;
		rc = mtk_buf_append(b, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n", 2);
		p++;
	}
	return rc == MTK_OK ? mtk_buf_append(b, "\",", 2) : rc;
}

/* The six name fields the exporter labels, in label order. */
enum { F_C, F_CN, F_L, F_O, F_OU, F_ST, NFIELDS };
static const char *const field_key[NFIELDS] = {"C", "CN", "L", "O", "OU", "ST"};
static const char *const issuer_key[NFIELDS] = {"issuer_C", "issuer_CN", "issuer_L",
						"issuer_O", "issuer_OU", "issuer_ST"};
static const char *const subject_key[NFIELDS] = {"subject_C", "subject_CN", "subject_L",
						 "subject_O", "subject_OU", "subject_ST"};

struct fields {
	char buf[1024]; /* unescaped values, one after the other */
	const char *v[NFIELDS];
	size_t n[NFIELDS];
};

/* Splits an RFC 2253 name as the scan renders it ("CN=a,O=b\, c+OU=d")
 * and keeps the first value of each field, unescaped. */
static void split_name(const char *dn, struct fields *f)
{
	size_t used = 0;
	const char *p = dn ? dn : "";

	memset(f->v, 0, sizeof(f->v));
	memset(f->n, 0, sizeof(f->n));
	while (*p) {
		const char *key = p;
		size_t klen, start = used;
		int which = -1;

		while (*p && *p != '=' && *p != ',' && *p != '+')
			p++;
		klen = (size_t)(p - key);
		if (*p != '=') {
			if (*p)
				p++;
			continue;
		}
		p++;
		for (int i = 0; i < NFIELDS; i++)
			if (strlen(field_key[i]) == klen && memcmp(key, field_key[i], klen) == 0 &&
			    f->v[i] == NULL)
				which = i;
		while (*p && *p != ',' && *p != '+') {
			char c = *p++;

			if (c == '\\' && *p) {
				if (mtk_hexval(p[0]) >= 0 && p[1] && mtk_hexval(p[1]) >= 0) {
					c = (char)(mtk_hexval(p[0]) << 4 | mtk_hexval(p[1]));
					p += 2;
				} else {
					c = *p++;
				}
			}
			if (which >= 0 && used + 1 < sizeof(f->buf))
				f->buf[used++] = c;
		}
		if (which >= 0) {
			f->v[which] = f->buf + start;
			f->n[which] = used - start;
		}
		if (*p)
			p++;
	}
}

/* The serial as a decimal number (x509-certificate-exporter's
 * serial_number), from the lower-case hex the record holds. */
static void serial_decimal(const char *hex, char *out, size_t cap)
{
	uint32_t limb[16]; /* base 1e9, least significant first: 144 digits */
	size_t nl = 1, o = 0;
	bool neg = hex[0] == '-';
	char tmp[160];
	size_t t = 0;

	limb[0] = 0;
	for (const char *p = hex + neg; *p; p++) {
		int d = mtk_hexval(*p);
		uint64_t carry;

		if (d < 0 || nl > 15) {
			snprintf(out, cap, "%s", hex);
			return;
		}
		carry = (uint64_t)d;
		for (size_t i = 0; i < nl; i++) {
			uint64_t v = (uint64_t)limb[i] * 16 + carry;
			limb[i] = (uint32_t)(v % 1000000000u);
			carry = v / 1000000000u;
		}
		if (carry)
			limb[nl++] = (uint32_t)carry;
	}
	if (neg && !(nl == 1 && limb[0] == 0))
		out[o++] = '-';
	t = (size_t)snprintf(tmp, sizeof(tmp), "%u", limb[nl - 1]);
	for (size_t i = nl - 1; i-- > 0;)
		t += (size_t)snprintf(tmp + t, sizeof(tmp) - t, "%09u", limb[i]);
	snprintf(out + o, cap - o, "%s", tmp);
}

/* One label set per (place, alias, certificate).  The same certificate
 * has the same notAfter, so its records at one path are in one run of the
 * scan's order (notAfter, then path): a set of (fingerprint, alias) per run
 * is enough, and memory does not grow with the scan. */
struct seen {
	uint8_t sha256[32];
	uint64_t alias_h;
	uint64_t gen; /* the slot is used when gen == the set's */
};

struct seen_set {
	struct seen *tab;
	size_t cap, n;
	uint64_t gen;
	int64_t not_after;
	char *path; /* the run's path (a reused buffer) */
	size_t pathcap;
	bool fresh; /* a new pass: the next record starts a run */
};

static void seen_free(struct seen_set *ss)
{
	free(ss->tab);
	free(ss->path);
}

/* True when c is new in its run (and remembers it). */
static mtk_rc seen_first(struct seen_set *ss, const mtk_expiry_cert *c, bool *first)
{
	const char *a = c->alias ? c->alias : "";
	uint64_t ah = mtk_fnv1a(MTK_FNV1A_INIT, a, strlen(a) + (c->alias != NULL));
	uint64_t h;
	size_t k;

	if (ss->fresh || ss->path == NULL || ss->not_after != c->not_after || strcmp(ss->path, c->path) != 0) {
		size_t l = strlen(c->path) + 1;

		if (l > ss->pathcap) {
			char *p = realloc(ss->path, l);

			if (p == NULL)
				return MTK_E_NOMEM;
			ss->path = p;
			ss->pathcap = l;
		}
		memcpy(ss->path, c->path, l);
		ss->fresh = false;
		ss->not_after = c->not_after;
		ss->gen++;
		ss->n = 0;
	}
	if ((ss->n + 1) * 2 > ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 64;
		struct seen *t = calloc(cap, sizeof(*t)), *old = ss->tab;

		if (t == NULL)
			return MTK_E_NOMEM;
		for (size_t i = 0; i < ss->cap; i++) {
			if (old[i].gen != ss->gen)
				continue;
			h = mtk_fnv1a(old[i].alias_h, old[i].sha256, 32);
			for (k = h & (cap - 1); t[k].gen == ss->gen; k = (k + 1) & (cap - 1))
				;
			t[k] = old[i];
		}
		free(old);
		ss->tab = t;
		ss->cap = cap;
	}
	h = mtk_fnv1a(ah, c->sha256, 32);
	for (k = h & (ss->cap - 1); ss->tab[k].gen == ss->gen; k = (k + 1) & (ss->cap - 1)) {
		if (ss->tab[k].alias_h == ah && memcmp(ss->tab[k].sha256, c->sha256, 32) == 0) {
			*first = false;
			return MTK_OK;
		}
	}
	memcpy(ss->tab[k].sha256, c->sha256, 32);
	ss->tab[k].alias_h = ah;
	ss->tab[k].gen = ss->gen;
	ss->n++;
	*first = true;
	return MTK_OK;
}

/* The labels that depend only on the certificate (issuer_*, serial_number,
 * subject_*; sha256), rendered once per run of records of one certificate:
 * records come sorted by notAfter, so the copies of a certificate in many
 * places follow each other. */
struct label_cache {
	uint8_t sha256[32];
	bool valid;
	mtk_buf cert; /* ",issuer_C=...subject_ST=\"...\"," */
	mtk_buf fp;   /* "sha256=\"...\"," */
};

static mtk_rc cert_part(struct label_cache *lc, const mtk_expiry_cert *c)
{
	struct fields f;
	char serial[200], fp[65];
	mtk_buf *b = &lc->cert;
	mtk_rc rc = MTK_OK;

	if (lc->valid && memcmp(lc->sha256, c->sha256, 32) == 0)
		return MTK_OK;
	lc->valid = false;
	b->len = 0;
	lc->fp.len = 0;
	split_name(c->issuer, &f);
	for (int i = 0; rc == MTK_OK && i < NFIELDS; i++)
		rc = label(b, issuer_key[i], f.v[i] ? f.v[i] : "", f.n[i]);
	serial_decimal(c->serial, serial, sizeof(serial));
	if (rc == MTK_OK)
		rc = label(b, "serial_number", serial, strlen(serial));
	split_name(c->subject, &f);
	for (int i = 0; rc == MTK_OK && i < NFIELDS; i++)
		rc = label(b, subject_key[i], f.v[i] ? f.v[i] : "", f.n[i]);
	for (size_t i = 0; i < 32; i++) {
		fp[2 * i] = "0123456789abcdef"[c->sha256[i] >> 4];
		fp[2 * i + 1] = "0123456789abcdef"[c->sha256[i] & 15];
	}
	fp[64] = '\0';
	if (rc == MTK_OK)
		rc = label(&lc->fp, "sha256", fp, 64);
	if (rc == MTK_OK) {
		memcpy(lc->sha256, c->sha256, 32);
		lc->valid = true;
	}
	return rc;
}

static mtk_rc cert_labels(mtk_buf *b, struct label_cache *lc, const mtk_expiry_cert *c)
{
	bool ep = c->src == MTK_EXP_SRC_ENDPOINT;
	const char *path = ep ? "" : c->path, *base = strrchr(path, '/');
	mtk_rc rc;

	base = base ? base + 1 : path;
	b->len = 0;
	rc = mtk_buf_append_u8(b, '{');
	if (rc == MTK_OK)
		rc = label(b, "filename", base, strlen(base));
	if (rc == MTK_OK)
		rc = label(b, "filepath", path, strlen(path));
	if (rc == MTK_OK && (rc = cert_part(lc, c)) == MTK_OK)
		rc = mtk_buf_append(b, lc->cert.data, lc->cert.len);
	/* mtlskit's own, after the exporter's. */
	if (rc == MTK_OK)
		rc = label(b, "alias", c->alias, c->alias ? strlen(c->alias) : 0);
	if (rc == MTK_OK)
		rc = label(b, "keystore", c->src == MTK_EXP_SRC_CONTAINER ? c->path : "",
			   c->src == MTK_EXP_SRC_CONTAINER ? strlen(c->path) : 0);
	if (rc == MTK_OK)
		rc = label(b, "endpoint", ep ? c->path : "", ep ? strlen(c->path) : 0);
	if (rc == MTK_OK)
		rc = mtk_buf_append(b, lc->fp.data, lc->fp.len);
	if (rc == MTK_OK)
		b->data[b->len - 1] = '}'; /* the last label's comma */
	return rc;
}

/* " V\n" for a series' value; returns its length. */
static size_t fmt_ll(char *out, long long v)
{
	char d[MTK_DEC_MAX];
	const char *s = mtk_fmt_dec(d, v);
	size_t n = (size_t)(d + MTK_DEC_MAX - s);

	out[0] = ' ';
	memcpy(out + 1, s, n);
	out[n + 1] = '\n';
	return n + 2;
}

static const struct {
	const char *name, *help;
} fam[MTK_EXPIRY_PROM_FAMILIES] = {
    {"x509_cert_not_after", "Expiry (notAfter) of the certificate, Unix time."},
    {"x509_cert_not_before", "Start of validity (notBefore) of the certificate, Unix time."},
    {"x509_cert_expired", "1 when the certificate has expired, else 0."},
    {"mtlskit_cert_expiring",
     "1 when the certificate expires within the --within window (or has expired), else 0."},
};

#define FLUSH_AT (256u << 10)

mtk_rc mtk_expiry_prometheus(const mtk_expiry *x, int64_t now, int64_t within,
			     mtk_expiry_writer write, void *ctx)
{
	struct seen_set ss;
	struct label_cache lc = {.cert = MTK_BUF_INIT, .fp = MTK_BUF_INIT};
	mtk_expiry_cursor *cur = NULL;
	const mtk_expiry_cert *c;
	mtk_buf labs = MTK_BUF_INIT, out[MTK_EXPIRY_PROM_FAMILIES];
	mtk_rc rc = MTK_OK;
	int k;

	if (!x->finished)
		return MTK_E_INTERNAL;
	memset(&ss, 0, sizeof(ss));
	for (k = 0; k < MTK_EXPIRY_PROM_FAMILIES; k++)
		out[k] = (mtk_buf)MTK_BUF_INIT;
	/* One pass over the records per family, each written whole, straight
	 * through: re-rendering the labels costs less than keeping three
	 * families aside (a hundred bytes of labels per certificate, four
	 * times). */
	for (k = 0; rc == MTK_OK && k < MTK_EXPIRY_PROM_FAMILIES; k++) {
		mtk_buf *o = &out[0];

		ss.fresh = true; /* a new pass: every record is new again */
		if ((rc = mtk_expiry_cursor_new(x, &cur)) != MTK_OK)
			break;
		rc = mtk_buf_printf(o, "# HELP %s %s\n# TYPE %s gauge\n", fam[k].name, fam[k].help,
				    fam[k].name);
		while (rc == MTK_OK && (c = mtk_expiry_cursor_next(cur)) != NULL) {
			long long v;
			bool first = false;
			char num[32];

			if ((rc = seen_first(&ss, c, &first)) != MTK_OK || !first)
				continue;
			v = k == 0   ? (long long)c->not_after
			    : k == 1 ? (long long)c->not_before
			    : k == 2 ? c->not_after <= now
				     : c->not_after <= now + within;
			if ((rc = cert_labels(&labs, &lc, c)) == MTK_OK &&
			    (rc = mtk_buf_append_str(o, fam[k].name)) == MTK_OK &&
			    (rc = mtk_buf_append(o, labs.data, labs.len)) == MTK_OK)
				rc = mtk_buf_append(o, num, fmt_ll(num, v));
			if (rc == MTK_OK && o->len >= FLUSH_AT) {
				rc = write(ctx, k, o->data, o->len);
				o->len = 0;
			}
		}
		if (rc == MTK_OK)
			rc = mtk_expiry_cursor_rc(cur);
		mtk_expiry_cursor_free(cur);
		cur = NULL;
		if (rc == MTK_OK && k < MTK_EXPIRY_PROM_FAMILIES - 1 && out[0].len > 0) {
			rc = write(ctx, k, out[0].data, out[0].len);
			out[0].len = 0;
		}
	}
	if (rc == MTK_OK)
		rc = mtk_buf_printf(
		    &out[0],
		    "# HELP x509_read_errors Files, blocks or endpoints the last scan could not "
		    "read.\n"
		    "# TYPE x509_read_errors gauge\n"
		    "x509_read_errors %llu\n"
		    "# HELP mtlskit_expiry_certificates Certificates found by the last scan.\n"
		    "# TYPE mtlskit_expiry_certificates gauge\n"
		    "mtlskit_expiry_certificates %llu\n"
		    "# HELP mtlskit_expiry_files Files read by the last scan.\n"
		    "# TYPE mtlskit_expiry_files gauge\n"
		    "mtlskit_expiry_files %llu\n"
		    "# HELP mtlskit_expiry_window_seconds The --within window of the last scan.\n"
		    "# TYPE mtlskit_expiry_window_seconds gauge\n"
		    "mtlskit_expiry_window_seconds %lld\n"
		    "# HELP mtlskit_expiry_last_scan_timestamp_seconds When the last scan ran, "
		    "Unix time.\n"
		    "# TYPE mtlskit_expiry_last_scan_timestamp_seconds gauge\n"
		    "mtlskit_expiry_last_scan_timestamp_seconds %lld\n",
		    (unsigned long long)x->nerrs, (unsigned long long)mtk_expiry_count(x),
		    (unsigned long long)x->st.files, (long long)within, (long long)now);
	if (rc == MTK_OK && out[0].len > 0)
		rc = write(ctx, MTK_EXPIRY_PROM_FAMILIES - 1, out[0].data, out[0].len);
	for (k = 0; k < MTK_EXPIRY_PROM_FAMILIES; k++)
		mtk_buf_free(&out[k]);
	mtk_buf_free(&labs);
	mtk_buf_free(&lc.cert);
	mtk_buf_free(&lc.fp);
	mtk_expiry_cursor_free(cur);
	seen_free(&ss);
	return rc;
}
