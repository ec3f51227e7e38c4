/*
 * cmd_expiry.c - `mtlskit expiry PATH|HOST:PORT...`: every certificate in
 * files, directories, PFX/keystores and TLS endpoints, soonest expiry first.
 *
 * Exit status: the worst of: 1 with --within when any certificate has
 * expired or expires within the window; 3 when a named path does not exist
 * or a named file could not be read, 4 for a password, 5 for an endpoint;
 * 6 when records beyond the memory budget cannot be written to $TMPDIR
 * or -o cannot be written; 2 for usage.  Files found in a directory that cannot be read are listed,
 * the scan goes on, and they set the status only when nothing was found.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mtlskit/cert.h"
#include "mtlskit/expiry.h"
#include "mtlskit/file.h"

static const char usage[] =
    "Usage: mtlskit expiry [options] PATH|HOST:PORT...\n"
    "\n"
    "Every certificate in files and directories (PEM bundles, DER, PKCS#7, PFX,\n"
    "JKS, JCEKS) and TLS endpoints, soonest expiry first.\n"
    "\n"
    "  --within DUR        mark certificates expiring within DUR (30d, 12h, 2w);\n"
    "                      exit 1 when any has expired or is expiring\n"
    "  --by-issuer         group by issuing CA: its own expiry and its dependents\n"
    "  --prometheus        Prometheus textfile-collector format, with\n"
    "                      x509-certificate-exporter's names (to stdout or -o)\n"
    "  --jsonl             JSON Lines: one certificate object per line\n"
    "  --unique            one row per certificate (by SHA-256 fingerprint) with\n"
    "                      every place it was found\n"
    "  -o FILE             write the --prometheus output to FILE atomically\n"
    "                      (--force to replace an existing file)\n"
    "  --follow-symlinks   descend into symlinked directories (loops detected);\n"
    "                      symlinked files are always read\n"
    "  --workers N         reader threads walking and reading in parallel\n"
    "                      (1 to 64, default 4; --threads is the same)\n"
    "  --mem-budget MIB    records kept in memory (default 32); beyond, sorted\n"
    "                      runs go to temporary files in $TMPDIR (0: no limit)\n"
    "  --timeout T         endpoints: limit for connecting, and again for the TLS\n"
    "                      handshake, each in total (default 5s; T: 5, 5s, 500ms)\n"
    "  --pass SPEC         password for PFX and keystores (agent_keystore.jks:\n"
    "                      'changeit' is tried when no --pass is given)\n"
    "  --json              one JSON document: certificates, errors, summary\n"
    "Every row carries the certificate's SHA-256 fingerprint.\n"
    "\n"
    "Endpoints: HOST:PORT, [IPv6]:PORT, tls://HOST[:PORT] (port 443 by default).\n"
    "An operand that exists as a file or directory is always read as one.\n"
    "Exit: 0 ok; 1 expired/expiring with --within; 2 usage; 3 a named path is\n"
    "missing, or no certificate was found and something could not be read (4 for\n"
    "a wrong password, 5 for a network failure, when that was the reason); 6 when\n"
    "records beyond --mem-budget could not be written to $TMPDIR.\n";

/* Records (and their strings) held in memory before sorted runs of them
 * go to temporary files: a million certificates fit in about 300 MB, and a
 * 1 GB bundle then runs in a few tens of MB. */
#define EXPIRY_MEM_BUDGET ((size_t)32 << 20)

enum {
	OPT_WITHIN = CLI_OPT__VERB_BASE,
	OPT_BY_ISSUER,
	OPT_PROMETHEUS,
	OPT_FOLLOW,
	OPT_THREADS,
	OPT_TIMEOUT,
	OPT_JSONL,
	OPT_UNIQUE,
	OPT_MEM,
};

struct opts {
	int64_t within;
	bool have_within;
	bool by_issuer;
	bool prometheus;
	bool jsonl;
	bool unique;
	bool follow;
	long mem_mib; /* -1: the default */
	int threads;
	long timeout_ms;
};

static int on_opt(cli *c, int opt, const char *arg, void *ctx)
{
	struct opts *o = ctx;
	char *end = NULL;
	long v;

	switch (opt) {
	case OPT_WITHIN:
	{
		int64_t ms = 0;
		int st = cli_duration(c, "--within", arg, MTK_MS_DAY, 0, 36500 * MTK_MS_DAY, &ms);

		if (st != 0)
			return st;
		o->within = ms / 1000;
		o->have_within = true;
		return 0;
	}
	case OPT_BY_ISSUER:
		o->by_issuer = true;
		return 0;
	case OPT_PROMETHEUS:
		o->prometheus = true;
		return 0;
	case OPT_JSONL:
		o->jsonl = true;
		return 0;
	case OPT_UNIQUE:
		o->unique = true;
		return 0;
	case OPT_MEM:
		v = strtol(arg, &end, 10);
		if (end == arg || *end != '\0' || v < 0 || v > 1048576)
			return cli_usage_error(c, usage, "--mem-budget '%s': give MiB, 0 for no limit",
					       arg);
		o->mem_mib = v;
		return 0;
	case OPT_FOLLOW:
		o->follow = true;
		return 0;
	case OPT_THREADS:
		v = strtol(arg, &end, 10);
		if (end == arg || *end != '\0' || v < 1 || v > 64)
			return cli_usage_error(c, usage, "--workers '%s': give 1 to 64", arg);
		o->threads = (int)v;
		return 0;
	case OPT_TIMEOUT:
	{
		int64_t ms = 0;
		int st = cli_duration(c, "--timeout", arg, MTK_MS_SECOND, 1, 600 * MTK_MS_SECOND, &ms);

		if (st != 0)
			return st;
		o->timeout_ms = (long)ms;
		return 0;
	}
	default:
		return cli_usage_error(c, usage, "unexpected option");
	}
}

/* Progress on a terminal: after a second, refreshed five times a second. */
struct prog {
	pthread_mutex_t mu;
	struct timespec start, last;
	bool shown;
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void on_progress(void *ctx, uint64_t files, uint64_t certs)
{
	struct prog *p = ctx;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (pthread_mutex_trylock(&p->mu) != 0)
		return;
	if (since(&p->start, &now) >= 1.0 && since(&p->last, &now) >= 0.2) {
		fprintf(stderr, "\rmtlskit expiry: %llu files, %llu certificates...",
			(unsigned long long)files, (unsigned long long)certs);
		fflush(stderr);
		p->last = now;
		p->shown = true;
	}
	pthread_mutex_unlock(&p->mu);
}

static const char *iso(int64_t t, char *buf, size_t cap)
{
	return mtk_time_rfc3339(t, buf, cap);
}

static const char *status(const mtk_expiry_cert *ce, const struct opts *o, int64_t now)
{
	if (ce->not_after <= now)
		return "expired";
	if (o->have_within && ce->not_after <= now + o->within)
		return "expiring";
	if (ce->not_before > now)
		return "not-yet-valid";
	return "valid";
}

/* A table row is built in a buffer and written once: printf's format
 * parsing and strftime were a fifth of a large bundle's scan. */
struct row {
	char *p, *end;
};

static void row_put(struct row *r, const char *s, size_t n)
{
	if (n > (size_t)(r->end - r->p))
		n = (size_t)(r->end - r->p);
	memcpy(r->p, s, n);
	r->p += n;
}

static void row_str(struct row *r, const char *s)
{
	row_put(r, s, strlen(s));
}

static void row_pad(struct row *r, size_t n)
{
	if (n > (size_t)(r->end - r->p))
		n = (size_t)(r->end - r->p);
	memset(r->p, ' ', n);
	r->p += n;
}

/* s, then spaces to width w (printf's %-Ws). */
static void row_left(struct row *r, const char *s, size_t w)
{
	size_t n = strlen(s);

	row_put(r, s, n);
	if (n < w)
		row_pad(r, w - n);
}

/* v right-aligned in width w (printf's %Wld). */
static void row_num(struct row *r, long v, size_t w)
{
	char d[MTK_DEC_MAX];
	const char *s = mtk_fmt_dec(d, v);
	size_t n = (size_t)(d + MTK_DEC_MAX - s);

	if (n < w)
		row_pad(r, w - n);
	row_put(r, s, n);
}

/* "YYYY-MM-DD HH:MM" (UTC): the RFC 3339 form cut at the minutes; the rare
 * time it does not write in 20 characters (a year out of 1000-9999) goes
 * through strftime, the epoch seconds when even that fails. */
static void row_date(struct row *r, int64_t t)
{
	char d[64];
	struct tm tm;
	time_t tt = (time_t)t;

	if (strlen(mtk_time_rfc3339(t, d, sizeof(d))) == 20 && d[10] == 'T') {
		d[10] = ' ';
		row_put(r, d, 16);
	} else if (gmtime_r(&tt, &tm) != NULL && strftime(d, sizeof(d), "%Y-%m-%d %H:%M", &tm) != 0) {
		row_str(r, d);
	} else {
		row_num(r, (long)t, 0);
	}
}

static void where(const mtk_expiry_cert *ce, char *buf, size_t cap)
{
	struct row r = {buf, buf + cap - 1}; /* cut short as snprintf would */

	row_str(&r, ce->path);
	if (ce->src == MTK_EXP_SRC_ENDPOINT) {
		row_str(&r, " (chain #");
		row_num(&r, ce->index, 0);
		row_str(&r, ")");
	} else if (ce->alias != NULL) {
		row_str(&r, " alias \"");
		row_str(&r, ce->alias);
		row_str(&r, "\"");
	} else if (ce->line > 0) {
		row_str(&r, ":");
		row_num(&r, ce->line, 0);
	} else if (ce->index > 0) {
		row_str(&r, " #");
		row_num(&r, (long)ce->index + 1, 0);
	}
	*r.p = '\0';
}

static void sha256_hex(const mtk_expiry_cert *ce, char out[65])
{
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = "0123456789abcdef"[ce->sha256[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[ce->sha256[i] & 15];
	}
	out[64] = '\0';
}

/* JSON text is built in a buffer and written once per row: a stdio call
 * per piece (and printf's format parsing) cost more than the scan's own
 * work per certificate.  A failed allocation sets oom and the row is not
 * written (the command then fails). */
struct jb {
	mtk_buf b;
	bool oom;
};

static void jb_put(struct jb *j, const char *s, size_t n)
{
	if (!j->oom && mtk_buf_append(&j->b, s, n) != MTK_OK)
		j->oom = true;
}

static void jb_lit(struct jb *j, const char *s)
{
	jb_put(j, s, strlen(s));
}

static void jb_int(struct jb *j, long long v)
{
	char d[MTK_DEC_MAX];
	const char *s = mtk_fmt_dec(d, v);

	jb_put(j, s, (size_t)(d + MTK_DEC_MAX - s));
}

/* A JSON string.  Names, serials and most paths are plain printable ASCII
 * and are written as they are; anything else goes through jansson (with
 * invalid UTF-8 escaped the way the text output escapes it). */
static void jstr(struct jb *jb, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	json_t *j;
	size_t n;

	while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
		p++;
	if (*p == '\0') {
		jb_put(jb, "\"", 1);
		jb_put(jb, s ? s : "", (size_t)(p - (const unsigned char *)(s ? s : "")));
		jb_put(jb, "\"", 1);
		return;
	}
	j = json_string(s);
	if (j == NULL)
		j = cli_json_printable(s);
	n = j != NULL ? json_dumpb(j, NULL, 0, JSON_ENCODE_ANY) : 0;
	if (n == 0)
		jb_lit(jb, "null");
	else if (!jb->oom && mtk_buf_reserve(&jb->b, n) == MTK_OK &&
		 json_dumpb(j, (char *)jb->b.data + jb->b.len, n, JSON_ENCODE_ANY) == n)
		jb->b.len += n;
	else
		jb->oom = true;
	json_decref(j);
}

/* Where one record was found, as JSON members (after a comma). */
static void jwhere(struct jb *j, const mtk_expiry_cert *ce)
{
	if (ce->src == MTK_EXP_SRC_ENDPOINT) {
		jb_lit(j, "\"endpoint\":");
		jstr(j, ce->path);
		jb_lit(j, ",\"depth\":");
		jb_int(j, ce->index);
	} else {
		jb_lit(j, "\"path\":");
		jstr(j, ce->path);
		if (ce->line > 0) {
			jb_lit(j, ",\"line\":");
			jb_int(j, ce->line);
		}
		jb_lit(j, ",\"index\":");
		jb_int(j, ce->index);
	}
	if (ce->alias != NULL) {
		jb_lit(j, ",\"alias\":");
		jstr(j, ce->alias);
	}
	jb_lit(j, ",\"source\":\"");
	jb_lit(j, mtk_expiry_src_name(ce->src));
	jb_lit(j, "\"");
}

/* One certificate as one compact JSON object (no newline), appended to j;
 * with locs, the --unique form: every place in "locations". */
static void row_json(struct jb *j, const mtk_expiry_cert *ce, const struct opts *o, int64_t now,
		     const mtk_expiry_cert *const *locs, size_t nlocs)
{
	char nb[40], na[40], fp256[65];

	sha256_hex(ce, fp256);
	jb_lit(j, "{\"days_left\":");
	jb_int(j, mtk_days_left((time_t)ce->not_after, (time_t)now));
	jb_lit(j, ",\"status\":\"");
	jb_lit(j, status(ce, o, now));
	jb_lit(j, "\",\"not_after\":\"");
	jb_lit(j, iso(ce->not_after, na, sizeof(na)));
	jb_lit(j, "\",\"not_after_epoch\":");
	jb_int(j, (long long)ce->not_after);
	jb_lit(j, ",\"not_before\":\"");
	jb_lit(j, iso(ce->not_before, nb, sizeof(nb)));
	jb_lit(j, "\",\"subject\":");
	jstr(j, ce->subject);
	jb_lit(j, ",\"issuer\":");
	jstr(j, ce->issuer);
	jb_lit(j, ",\"serial\":");
	jstr(j, ce->serial);
	jb_lit(j, ",\"sha256\":\"");
	jb_put(j, fp256, 64);
	jb_lit(j, "\",");
	if (locs == NULL) {
		jwhere(j, ce);
	} else {
		jb_lit(j, "\"locations\":[");
		for (size_t i = 0; i < nlocs; i++) {
			jb_lit(j, i ? ",{" : "{");
			jwhere(j, locs[i]);
			jb_lit(j, "}");
		}
		jb_lit(j, "]");
	}
	jb_lit(j, ce->self_issued ? ",\"self_issued\":true}" : ",\"self_issued\":false}");
}

/* Writes j's text to fp and empties it; false when it could not be built
 * or written. */
static bool jb_flush(struct jb *j, FILE *fp)
{
	bool ok = !j->oom && fwrite(j->b.data, 1, j->b.len, fp) == j->b.len;

	j->b.len = 0;
	j->oom = false;
	return ok;
}

/* The same as a jansson object, for --by-issuer's tree (small). */
static json_t *cert_json(const mtk_expiry_cert *ce, const struct opts *o, int64_t now)
{
	struct jb t = {MTK_BUF_INIT, false};
	json_t *j = NULL;

	row_json(&t, ce, o, now, NULL, 0);
	if (!t.oom)
		j = json_loadb((const char *)t.b.data, t.b.len, 0, NULL);
	mtk_buf_free(&t.b);
	return j;
}

static void print_cert(const mtk_expiry_cert *ce, const struct opts *o, int64_t now,
		       const char *indent, bool color, bool with_where)
{
	char buf[24 * 1024], w[4600], we[4 * sizeof(w)], fp256[65];
	struct row r = {buf, buf + sizeof(buf)};
	const char *st = status(ce, o, now);
	const char *col = !color		     ? ""
			  : strcmp(st, "expired") == 0  ? "\033[31m"
			  : strcmp(st, "expiring") == 0 ? "\033[33m"
							 : "";

	sha256_hex(ce, fp256);
	row_str(&r, indent);
	row_num(&r, mtk_days_left((time_t)ce->not_after, (time_t)now), 6);
	row_pad(&r, 2);
	row_date(&r, ce->not_after);
	row_pad(&r, 2);
	row_str(&r, col);
	row_left(&r, st, 13);
	if (*col)
		row_str(&r, "\033[0m");
	row_pad(&r, 2);
	row_str(&r, ce->subject);
	row_put(&r, "\n", 1);
	row_str(&r, indent);
	row_pad(&r, 41);
	if (with_where) {
		/* The path is a file name someone chose: escaped (subjects and
		 * issuers already are, by the scan). */
		where(ce, w, sizeof(w));
		row_str(&r, cli_printable(w, we, sizeof(we)));
		row_put(&r, ", ", 2);
	}
	row_str(&r, "issuer ");
	row_str(&r, ce->issuer);
	row_str(&r, ", serial ");
	row_str(&r, ce->serial);
	row_str(&r, ", sha256 ");
	row_put(&r, fp256, 64);
	row_put(&r, "\n", 1);
	fwrite(buf, 1, (size_t)(r.p - buf), stdout);
}

static void print_where(const mtk_expiry_cert *ce, const char *indent)
{
	char w[4600], we[4 * sizeof(w)];

	where(ce, w, sizeof(w));
	printf("%s%41sat %s\n", indent, "", cli_printable(w, we, sizeof(we)));
}

/* --unique: a certificate's records all have its notAfter, so grouping
 * the records of one notAfter by fingerprint (the scan's order kept
 * within) finds them all, holding one notAfter's records at a time. */
struct held {
	mtk_expiry_cert c;
	size_t seq; /* position in the scan's order */
};

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = a, *y = b;
	int c = memcmp(x->c.sha256, y->c.sha256, sizeof(x->c.sha256));

	if (c != 0)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static void held_clear(struct held *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)h[i].c.subject);
		free((char *)h[i].c.issuer);
		free((char *)h[i].c.serial);
		free((char *)h[i].c.path);
		free((char *)h[i].c.alias);
	}
}

static bool held_copy(struct held *h, const mtk_expiry_cert *c, size_t seq)
{
	h->c = *c;
	h->seq = seq;
	h->c.subject = strdup(c->subject);
	h->c.issuer = strdup(c->issuer);
	h->c.serial = strdup(c->serial);
	h->c.path = strdup(c->path);
	h->c.alias = c->alias ? strdup(c->alias) : NULL;
	return h->c.subject && h->c.issuer && h->c.serial && h->c.path &&
	       (c->alias == NULL || h->c.alias);
}

/* Writes the records: the table, JSON array members or JSON Lines; counts
 * the expired and expiring ones on the way. */
enum fmt { FMT_TABLE, FMT_JSON, FMT_JSONL };

struct counts {
	size_t expired, expiring, rows;
	struct jb row; /* the JSON row being written */
	bool oom;      /* a row could not be built */
};

static void count(const mtk_expiry_cert *ce, const struct opts *o, int64_t now, struct counts *k)
{
	if (ce->not_after <= now)
		k->expired++;
	else if (o->have_within && ce->not_after <= now + o->within)
		k->expiring++;
}

static void emit(cli *c, const mtk_expiry_cert *ce, const struct held *locs, size_t nlocs,
		 const struct opts *o, int64_t now, enum fmt f, struct counts *k)
{
	const mtk_expiry_cert *lp[64], **lv = lp;

	if (locs != NULL && nlocs > sizeof(lp) / sizeof(lp[0]))
		lv = malloc(nlocs * sizeof(*lv));
	if (lv == NULL) {
		lv = lp;
		nlocs = sizeof(lp) / sizeof(lp[0]); /* out of memory: the first places */
	}
	for (size_t j = 0; locs != NULL && j < nlocs; j++)
		lv[j] = &locs[j].c;
	if (f == FMT_TABLE) {
		print_cert(ce, o, now, "", c->color, locs == NULL);
		for (size_t j = 0; locs != NULL && j < nlocs; j++)
			print_where(lv[j], "");
	} else {
		if (f == FMT_JSON)
			jb_lit(&k->row, k->rows ? ",\n    " : "\n    ");
		row_json(&k->row, ce, o, now, locs ? lv : NULL, nlocs);
		if (f == FMT_JSONL)
			jb_lit(&k->row, "\n");
		if (k->row.oom)
			k->oom = true;
		(void)jb_flush(&k->row, stdout);
	}
	if (lv != lp)
		free(lv);
	k->rows++;
}

static void flush_held(cli *c, struct held *h, size_t n, const struct opts *o, int64_t now,
		       enum fmt f, struct counts *k)
{
	qsort(h, n, sizeof(*h), cmp_held);
	for (size_t i = 0; i < n;) {
		size_t m = 1;

		while (i + m < n && memcmp(h[i + m].c.sha256, h[i].c.sha256, 32) == 0)
			m++;
		emit(c, &h[i].c, h + i, m, o, now, f, k);
		i += m;
	}
	held_clear(h, n);
}

static int write_rows(cli *c, const mtk_expiry *x, const struct opts *o, int64_t now,
		      enum fmt f, struct counts *k)
{
	mtk_expiry_cursor *cur = NULL;
	const mtk_expiry_cert *ce;
	struct held *h = NULL;
	size_t nh = 0, caph = 0, seq = 0;
	mtk_rc rc;

	memset(k, 0, sizeof(*k));
	if ((rc = mtk_expiry_cursor_new(x, &cur)) != MTK_OK)
		return cli_error(c, rc, NULL);
	if (f == FMT_TABLE && mtk_expiry_count(x) > 0)
		printf("%6s  %-16s  %-13s  %s\n", "DAYS", "NOT AFTER (UTC)", "STATUS",
		       o->unique ? "SUBJECT / ISSUER, SERIAL, SHA-256 / PLACES"
				 : "SUBJECT / WHERE, ISSUER, SERIAL, SHA-256");
	while ((ce = mtk_expiry_cursor_next(cur)) != NULL) {
		count(ce, o, now, k);
		if (!o->unique) {
			emit(c, ce, NULL, 0, o, now, f, k);
			continue;
		}
		if (nh > 0 && h[0].c.not_after != ce->not_after) {
			flush_held(c, h, nh, o, now, f, k);
			nh = 0;
		}
		if (nh == caph) {
			size_t cap = caph ? caph * 2 : 256;
			struct held *p = realloc(h, cap * sizeof(*p));

			if (p == NULL) {
				rc = MTK_E_NOMEM;
				break;
			}
			h = p;
			caph = cap;
		}
		if (!held_copy(&h[nh++], ce, seq++)) {
			rc = MTK_E_NOMEM;
			break;
		}
	}
	if (rc == MTK_OK)
		rc = mtk_expiry_cursor_rc(cur);
	if (rc == MTK_OK && nh > 0)
		flush_held(c, h, nh, o, now, f, k);
	else
		held_clear(h, nh);
	free(h);
	mtk_expiry_cursor_free(cur);
	mtk_buf_free(&k->row.b);
	if (rc == MTK_OK && k->oom)
		rc = MTK_E_NOMEM;
	return rc == MTK_OK ? 0 : cli_error(c, rc, NULL);
}

/* --prometheus: the families come in order; straight to the output. */
static mtk_rc prom_write(void *ctx, int family, const void *p, size_t n)
{
	(void)family;
	return fwrite(p, 1, n, (FILE *)ctx) == n ? MTK_OK : MTK_E_WRITE;
}

/* fopencookie over an mtk_outset, for -o FILE. */
struct osink {
	mtk_outset *os;
	mtk_err *err;
	bool failed;
};

static ssize_t osink_write(void *ctx, const char *p, size_t n)
{
	struct osink *o = ctx;

	if (mtk_outset_append(o->os, p, n, o->err) != MTK_OK) {
		o->failed = true;
		return -1;
	}
	return (ssize_t)n;
}

static mtk_rc write_prometheus(cli *c, const mtk_expiry *x, const struct opts *o, int64_t now,
			       mtk_err *err)
{
	struct osink sink = {0};
	cookie_io_functions_t io = {.write = osink_write};
	bool to_file = c->out != NULL && strcmp(c->out, "-") != 0;
	FILE *fp = c->data; /* data asked for: stdout even with -q */
	mtk_rc rc;

	if (to_file) {
		sink.os = mtk_outset_new();
		sink.err = err;
		if (sink.os == NULL)
			return MTK_E_NOMEM;
		rc = mtk_outset_add(sink.os, c->out, "", 0, c->force ? MTK_WRITE_FORCE : 0, err);
		if (rc != MTK_OK) {
			mtk_outset_free(sink.os);
			return rc;
		}
		fp = fopencookie(&sink, "w", io);
		if (fp == NULL) {
			mtk_outset_free(sink.os);
			return MTK_E_NOMEM;
		}
		setvbuf(fp, NULL, _IOFBF, 1 << 16);
	}
	rc = mtk_expiry_prometheus(x, now, o->have_within ? o->within : 30 * 86400, prom_write, fp);
	if (to_file) {
		if (fclose(fp) != 0 && rc == MTK_OK)
			rc = MTK_E_WRITE;
		if (sink.failed && rc == MTK_OK)
			rc = MTK_E_WRITE;
		if (rc == MTK_OK)
			rc = mtk_outset_commit(sink.os, err);
		mtk_outset_free(sink.os);
	}
	return rc;
}

/* --by-issuer: groups of certificates sharing an issuer name. */
struct group {
	const char *issuer;
	size_t first, n;      /* run in by_issuer[] */
	int64_t ca_not_after; /* soonest CA certificate, INT64_MAX if none */
};

static int cmp_issuer(const void *a, const void *b)
{
	const mtk_expiry_cert *x = *(const mtk_expiry_cert *const *)a;
	const mtk_expiry_cert *y = *(const mtk_expiry_cert *const *)b;
	int c = strcmp(x->issuer, y->issuer);

	if (c != 0)
		return c;
	return (x->not_after > y->not_after) - (x->not_after < y->not_after);
}

static int cmp_subject(const void *a, const void *b)
{
	const mtk_expiry_cert *x = *(const mtk_expiry_cert *const *)a;
	const mtk_expiry_cert *y = *(const mtk_expiry_cert *const *)b;
	int c = strcmp(x->subject, y->subject);

	if (c != 0)
		return c;
	return (x->not_after > y->not_after) - (x->not_after < y->not_after);
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->ca_not_after != y->ca_not_after)
		return x->ca_not_after < y->ca_not_after ? -1 : 1;
	return strcmp(x->issuer, y->issuer);
}

/* The run of certificates whose subject is name, in by_subject[]. */
static void find_subject(const mtk_expiry_cert **by_subject, size_t n, const char *name,
			 size_t *first, size_t *count)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(by_subject[mid]->subject, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < n && strcmp(by_subject[lo]->subject, name) == 0)
		lo++;
	*count = lo - *first;
}

static int by_issuer_view(cli *c, const mtk_expiry *x, const struct opts *o, int64_t now)
{
	size_t n = mtk_expiry_count(x), ng = 0;
	const mtk_expiry_cert **bi = calloc(n ? n : 1, sizeof(*bi));
	const mtk_expiry_cert **bs = calloc(n ? n : 1, sizeof(*bs));
	struct group *g = calloc(n ? n : 1, sizeof(*g));
	json_t *arr = c->json ? json_array() : NULL;

	if (bi == NULL || bs == NULL || g == NULL) {
		free(bi);
		free(bs);
		free(g);
		json_decref(arr);
		return cli_error(c, MTK_E_NOMEM, NULL);
	}
	for (size_t i = 0; i < n; i++)
		bi[i] = bs[i] = mtk_expiry_get(x, i);
	qsort(bi, n, sizeof(*bi), cmp_issuer);
	qsort(bs, n, sizeof(*bs), cmp_subject);
	for (size_t i = 0; i < n;) {
		size_t j = i, f, k;

		while (j < n && strcmp(bi[j]->issuer, bi[i]->issuer) == 0)
			j++;
		g[ng].issuer = bi[i]->issuer;
		g[ng].first = i;
		g[ng].n = j - i;
		find_subject(bs, n, bi[i]->issuer, &f, &k);
		g[ng].ca_not_after = k > 0 ? bs[f]->not_after : INT64_MAX;
		ng++;
		i = j;
	}
	qsort(g, ng, sizeof(*g), cmp_group);
	for (size_t gi = 0; gi < ng; gi++) {
		size_t f, k, deps = 0;
		json_t *jg = NULL, *jca = NULL, *jdep = NULL;

		find_subject(bs, n, g[gi].issuer, &f, &k);
		for (size_t i = g[gi].first; i < g[gi].first + g[gi].n; i++)
			deps += !bi[i]->self_issued;
		if (arr != NULL) {
			jg = json_object();
			jca = json_array();
			jdep = json_array();
			json_object_set_new(jg, "issuer", json_string(g[gi].issuer));
			json_object_set_new(jg, "ca_found", json_boolean(k > 0));
			if (k > 0)
				json_object_set_new(
				    jg, "ca_days_left",
				    json_integer(mtk_days_left(bs[f]->not_after, now)));
		} else {
			printf("%sIssuer %s%s\n", gi ? "\n" : "", g[gi].issuer, "");
			if (k == 0)
				printf("  CA certificate: not found in the scan\n");
		}
		for (size_t i = f; i < f + k; i++) {
			if (jca != NULL)
				json_array_append_new(jca, cert_json(bs[i], o, now));
			else {
				printf("  CA certificate:\n");
				print_cert(bs[i], o, now, "  ", c->color, true);
			}
		}
		if (arr == NULL)
			printf("  %zu certificate%s depend%s on it%s\n", deps, deps == 1 ? "" : "s",
			       deps == 1 ? "s" : "", deps ? ":" : "");
		for (size_t i = g[gi].first; i < g[gi].first + g[gi].n; i++) {
			if (bi[i]->self_issued)
				continue;
			if (jdep != NULL)
				json_array_append_new(jdep, cert_json(bi[i], o, now));
			else
				print_cert(bi[i], o, now, "    ", c->color, true);
		}
		if (jg != NULL) {
			json_object_set_new(jg, "ca_certificates", jca);
			json_object_set_new(jg, "dependents", jdep);
			json_array_append_new(arr, jg);
		}
	}
	if (arr != NULL)
		cli_set(c, "issuers", arr);
	free(bi);
	free(bs);
	free(g);
	return 0;
}

int cmd_expiry(cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"within", required_argument, NULL, OPT_WITHIN},
	    {"by-issuer", no_argument, NULL, OPT_BY_ISSUER},
	    {"prometheus", no_argument, NULL, OPT_PROMETHEUS},
	    {"follow-symlinks", no_argument, NULL, OPT_FOLLOW},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"workers", required_argument, NULL, OPT_THREADS},
	    {"jsonl", no_argument, NULL, OPT_JSONL},
	    {"unique", no_argument, NULL, OPT_UNIQUE},
	    {"mem-budget", required_argument, NULL, OPT_MEM},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    CLI_COMMON_LONGOPTS,
	};
	struct opts o = {.mem_mib = -1};
	mtk_expiry_opts eo = {0};
	mtk_expiry_stats st;
	mtk_expiry *x = NULL;
	mtk_secret *pass = NULL;
	struct prog prog;
	bool missing = false, quiet_table = false;
	int first = 0, r, ret = 0;
	int64_t now = (int64_t)c->now;
	size_t n, expired = 0, expiring = 0;
	struct counts k = {0};
	mtk_err err = {0};
	mtk_rc rc;

	r = cli_parse(c, argc, argv, "", longopts, on_opt, &o, usage, &first);
	if (r != 0)
		return r;
	if (first >= argc)
		return cli_usage_error(c, usage, "give at least one PATH or HOST:PORT");
	if ((o.prometheus + c->json + o.jsonl) > 1)
		return cli_usage_error(c, usage,
				       "--prometheus, --json and --jsonl are different outputs; pick one");
	if (o.unique && (o.prometheus || o.by_issuer))
		return cli_usage_error(c, usage,
				       "--unique is a table, --json or --jsonl view (Prometheus "
				       "series are per place; --by-issuer groups by issuer)");
	if (o.jsonl && o.by_issuer)
		return cli_usage_error(c, usage, "--by-issuer is a text or JSON view, not --jsonl");
	if (c->out != NULL && !o.prometheus)
		return cli_usage_error(c, usage, "-o is for --prometheus output");
	if (o.prometheus && o.by_issuer)
		return cli_usage_error(c, usage,
				       "--by-issuer is a text or JSON view, not --prometheus");
	rc = cli_password(c, CLI_PASS_IN, "PFX/keystore password: ", false, &pass, &err);
	if (rc != MTK_OK)
		return cli_error(c, rc, &err);

	memset(&prog, 0, sizeof(prog));
	pthread_mutex_init(&prog.mu, NULL);
	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	eo.follow_symlinks = o.follow;
	/* --by-issuer looks at every record at once; the other views read
	 * them in order, so most of a very large scan can wait on disk. */
	eo.mem_budget = o.by_issuer ? 0
			: o.mem_mib >= 0 ? (size_t)o.mem_mib << 20
					 : EXPIRY_MEM_BUDGET;
	eo.threads = o.threads;
	eo.pass = pass;
	/* -q with the table: nothing is printed, only the exit status and the
	 * summary's counts are wanted, so the records need only their times. */
	quiet_table = c->quiet && !c->json && !o.jsonl && !o.prometheus && !o.by_issuer;
	eo.times_only = quiet_table;
	eo.connect_timeout_ms = eo.handshake_timeout_ms = (int)(o.timeout_ms ? o.timeout_ms : 5000);
	eo.clock_ms = cli_clock_ms;
	if (isatty(STDERR_FILENO)) {
		eo.progress = on_progress;
		eo.progress_ctx = &prog;
	}

	x = mtk_expiry_new();
	if (x == NULL) {
		ret = cli_error(c, MTK_E_NOMEM, NULL);
		goto out;
	}
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		char host[256], port[8];
		struct stat sb;

		mtk_err_clear(&err);
		if (lstat(a, &sb) != 0 &&
		    mtk_expiry_parse_endpoint(a, host, sizeof(host), port, sizeof(port))) {
			cli_net_begin();
			/* A failure is recorded in x and listed with the others. */
			rc = mtk_expiry_scan_endpoint(x, host, port, &eo, &err);
			if (rc == MTK_E_NOMEM) {
				ret = cli_error(c, rc, &err);
				goto out;
			}
			continue;
		}
		rc = mtk_expiry_scan_path(x, a, &eo, &err);
		if (rc == MTK_E_NOMEM || rc == MTK_E_WRITE) {
			ret = cli_error(c, rc, &err);
			goto out;
		}
		if (rc != MTK_OK)
			missing = true; /* a named operand that cannot be reached */
	}
	if (prog.shown)
		fprintf(stderr, "\r\033[K");
	if ((rc = mtk_expiry_finish(x)) != MTK_OK) {
		ret = cli_error(c, rc, NULL);
		goto out;
	}
	mtk_expiry_get_stats(x, &st);
	n = mtk_expiry_count(x);

	/* Every format is written row by row from the sorted records: no
	 * document is built in memory.  Standard output is fully buffered. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (o.prometheus) {
		rc = write_prometheus(c, x, &o, now, &err);
		if (rc != MTK_OK) {
			ret = cli_error(c, rc, &err);
			goto out;
		}
	} else if (o.jsonl) {
		if ((ret = write_rows(c, x, &o, now, FMT_JSONL, &k)) != 0)
			goto out;
	} else if (c->json) {
		/* One document: "certificates" and "errors" are written here as
		 * arrays, one member at a time; main() adds the rest. */
		fputs("{\n  \"certificates\": [", stdout);
		ret = write_rows(c, x, &o, now, FMT_JSON, &k);
		fputs(k.rows ? "\n  ],\n  \"errors\": [" : "],\n  \"errors\": [", stdout);
		for (size_t i = 0; i < mtk_expiry_error_count(x); i++) {
			const mtk_expiry_error *e = mtk_expiry_error_get(x, i);
			struct jb j = {MTK_BUF_INIT, false};

			jb_lit(&j, i ? ",\n    {\"path\":" : "\n    {\"path\":");
			jstr(&j, e->path);
			if (e->line > 0) {
				jb_lit(&j, ",\"line\":");
				jb_int(&j, e->line);
			}
			jb_lit(&j, ",\"code\":\"");
			jb_lit(&j, mtk_rc_name(e->code));
			jb_lit(&j, "\",\"message\":");
			jstr(&j, e->detail);
			jb_lit(&j, ",\"exit\":");
			jb_int(&j, mtk_rc_exit(e->code));
			jb_lit(&j, "}");
			(void)jb_flush(&j, stdout);
			mtk_buf_free(&j.b);
		}
		fputs(mtk_expiry_error_count(x) ? "\n  ]" : "]", stdout);
		/* Still one document when the rows failed half-way: main()
		 * closes it, with the error. */
		c->json_streamed = true;
		if (ret != 0)
			goto out;
	} else if (!o.by_issuer && !quiet_table) {
		if ((ret = write_rows(c, x, &o, now, FMT_TABLE, &k)) != 0)
			goto out;
	}
	if (o.prometheus || (o.by_issuer && !c->json) || quiet_table) {
		/* Nothing was written row by row: count in a pass of its own. */
		mtk_expiry_cursor *cur = NULL;
		const mtk_expiry_cert *ce;

		if ((rc = mtk_expiry_cursor_new(x, &cur)) != MTK_OK) {
			ret = cli_error(c, rc, NULL);
			goto out;
		}
		while ((ce = mtk_expiry_cursor_next(cur)) != NULL)
			count(ce, &o, now, &k);
		rc = mtk_expiry_cursor_rc(cur);
		mtk_expiry_cursor_free(cur);
		if (rc != MTK_OK) {
			ret = cli_error(c, rc, NULL);
			goto out;
		}
	}
	expired = k.expired;
	expiring = k.expiring;
	if (o.by_issuer)
		(void)by_issuer_view(c, x, &o, now);
	if (!c->json && !o.prometheus && !o.jsonl) {
		char wbuf[32] = "";

		if (o.have_within)
			snprintf(wbuf, sizeof(wbuf), ", %zu expiring", expiring);
		printf("%s%zu certificate%s in %llu file%s%s%s (%zu expired%s), %llu error%s\n",
		       n ? "\n" : "", n, n == 1 ? "" : "s", (unsigned long long)st.cert_files,
		       st.cert_files == 1 ? "" : "s", st.endpoints ? " and endpoints" : "", "",
		       expired, wbuf, (unsigned long long)mtk_expiry_error_count(x),
		       mtk_expiry_error_count(x) == 1 ? "" : "s");
	}
	if (!c->json) {
		for (size_t i = 0; i < mtk_expiry_error_count(x); i++) {
			const mtk_expiry_error *e = mtk_expiry_error_get(x, i);
			char p[4 * 1024], d[4 * 512];

			/* File names and endpoint answers are not ours: escaped. */
			cli_printable(e->path, p, sizeof(p));
			cli_printable(e->detail, d, sizeof(d));
			if (e->line > 0)
				fprintf(stderr, "mtlskit expiry: %s:%ld: %s\n", p, e->line, d);
			else if (strstr(d, p) != NULL) /* the detail names it already */
				fprintf(stderr, "mtlskit expiry: %s\n", d);
			else
				fprintf(stderr, "mtlskit expiry: %s: %s\n", p, d);
		}
	}
	{
		char win[32];
		json_t *sum;

		snprintf(win, sizeof(win), "%lld", (long long)(o.have_within ? o.within : 0));
		sum = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "certificates",
				(json_int_t)n, "files", (json_int_t)st.files, "certificate_files",
				(json_int_t)st.cert_files, "skipped_files",
				(json_int_t)st.skipped_files, "endpoints", (json_int_t)st.endpoints,
				"errors", (json_int_t)mtk_expiry_error_count(x), "expired",
				(json_int_t)expired, "expiring", (json_int_t)expiring);
		if (o.have_within)
			json_object_set_new(sum, "within_seconds", json_integer(o.within));
		json_object_set_new(sum, "decoded_by_openssl",
				    json_integer((json_int_t)st.slow_path));
		if (c->json)
			cli_set(c, "summary", sum);
		else
			json_decref(sum);
	}

	/* As every verb with several inputs: all are read, and the exit
	 * status is the worst of the named inputs' (3 input, 4 password,
	 * 5 network), above 1 for what --within found.  A file found while
	 * walking a directory is listed with its error and changes the status
	 * only when no certificate was found at all. */
	if (o.have_within && (expired + expiring) > 0)
		ret = MTK_EXIT_FINDINGS;
	const mtk_expiry_error *worst = NULL;
	if (missing)
		ret = MTK_EXIT_INPUT;
	for (size_t i = 0; i < mtk_expiry_error_count(x); i++) {
		const mtk_expiry_error *e = mtk_expiry_error_get(x, i);
		bool named = n == 0;

		for (int k = first; k < argc && !named; k++)
			named = strcmp(argv[k], e->path) == 0;
		if (named && mtk_rc_exit(e->code) > ret) {
			ret = mtk_rc_exit(e->code);
			worst = e;
		}
	}
	/* The JSON document's "error" says why, as on every verb. */
	if (ret >= MTK_EXIT_USAGE && c->error == NULL) {
		mtk_rc code = worst != NULL ? worst->code : MTK_E_NOENT;

		c->error = json_pack("{s:s, s:s, s:i}", "code", mtk_rc_name(code), "message",
				     mtk_rc_message(code), "exit", mtk_rc_exit(code));
		if (worst != NULL)
			json_object_set_new(c->error, "detail",
					    cli_json_printable(worst->detail[0] ? worst->detail : worst->path));
	}
out:
	pthread_mutex_destroy(&prog.mu);
	mtk_secret_free(pass);
	mtk_expiry_free(x);
	return ret;
}
