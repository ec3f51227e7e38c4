/*
 * runs.c - records beyond the memory budget (expiry.h mem_budget): a sink
 * over its budget sorts its records and writes them, with their strings, to
 * an unlinked temporary file (a "run"), then frees them; the cursor merges
 * the runs and the records still in memory in the scan's order.  A million
 * certificates then cost a few tens of megabytes of memory and a few
 * hundred of temporary disk space.  Runs hold public data only (names,
 * serials, paths, aliases, fingerprints), never a file's bytes.
 *
 * Run format, per record: a fixed header (times, line, index, source,
 * flags, fingerprint, five string lengths, UINT32_MAX for a NULL alias) and
 * the strings' bytes.  Runs are read back with pread() through a per-cursor
 * buffer, so several cursors may read the same scan one after the other.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rec_hdr {
	int64_t not_before, not_after;
	int64_t line;
	int32_t index;
	uint8_t src, self_issued, slow_path, pad;
	uint8_t sha256[32];
	uint32_t len[5]; /* subject, issuer, serial, path, alias */
};

static int temp_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/mtlskit-expiry-XXXXXX", dir) >= sizeof(tmpl))
		return -1;
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	return fd;
}

static bool write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

bool exp_over_budget(const struct exp_sink *s)
{
	return s->budget > 0 && s->ncerts * sizeof(*s->certs) + s->arena.bytes > s->budget;
}

void exp_runs_free(struct exp_run *r)
{
	while (r != NULL) {
		struct exp_run *n = r->next;

		close(r->fd);
		free(r);
		r = n;
	}
}

mtk_rc exp_spill(struct exp_sink *s)
{
	struct exp_run *run;
	uint8_t *buf;
	size_t used = 0, cap = 1 << 16;
	bool ok = true;

	if (s->ncerts == 0)
		return MTK_OK;
	run = calloc(1, sizeof(*run));
	buf = malloc(cap);
	if (run == NULL || buf == NULL) {
		free(run);
		free(buf);
		return MTK_E_NOMEM;
	}
	if ((run->fd = temp_fd()) < 0) {
		free(run);
		free(buf);
		return MTK_E_WRITE;
	}
	qsort(s->certs, s->ncerts, sizeof(*s->certs), exp_cmp_cert);
	for (size_t i = 0; ok && i < s->ncerts; i++) {
		const mtk_expiry_cert *c = &s->certs[i];
		const char *str[5] = {c->subject, c->issuer, c->serial, c->path, c->alias};
		struct rec_hdr h;
		size_t need = sizeof(h);

		memset(&h, 0, sizeof(h));
		h.not_before = c->not_before;
		h.not_after = c->not_after;
		h.line = c->line;
		h.index = c->index;
		h.src = (uint8_t)c->src;
		h.self_issued = c->self_issued;
		h.slow_path = c->slow_path;
		memcpy(h.sha256, c->sha256, sizeof(h.sha256));
		for (int k = 0; k < 5; k++) {
			size_t l = str[k] != NULL ? strlen(str[k]) : 0;

			h.len[k] = str[k] != NULL ? (uint32_t)l : UINT32_MAX;
			need += l;
		}
		if (used + need > cap) {
			ok = write_all(run->fd, buf, used);
			used = 0;
			if (need > cap) {
				uint8_t *nb = realloc(buf, need);

				if (nb == NULL) {
					ok = false;
					break;
				}
				buf = nb;
				cap = need;
			}
		}
		memcpy(buf + used, &h, sizeof(h));
		used += sizeof(h);
		for (int k = 0; k < 5; k++)
			if (str[k] != NULL) {
				memcpy(buf + used, str[k], h.len[k]);
				used += h.len[k];
			}
		run->len += need;
	}
	if (ok && used > 0)
		ok = write_all(run->fd, buf, used);
	free(buf);
	if (!ok) {
		exp_runs_free(run);
		return MTK_E_WRITE;
	}
	run->count = s->ncerts;
	run->next = s->runs;
	s->runs = run;
	s->spilled += s->ncerts;
	s->ncerts = 0;
	exp_arena_free(&s->arena);
	return MTK_OK;
}

/* ------------------------------------------------------------------ */
/* The cursor */

struct src {
	const struct exp_run *run; /* NULL: the records in memory */
	uint64_t off;		   /* next byte of the run to read */
	uint8_t *buf;		   /* read buffer */
	size_t blen, bpos, bcap;
	size_t next;  /* in memory: next index */
	char *strs;   /* the current record's strings */
	size_t scap;
	mtk_expiry_cert cur;
	bool have;
};

struct mtk_expiry_cursor {
	const mtk_expiry *x;
	struct src *srcs;
	size_t nsrcs;
	struct src *last; /* advanced on the next call */
	mtk_rc rc;
};

/* Makes sure n bytes of the run are buffered at bpos. */
static bool fill(struct src *s, size_t n)
{
	if (s->blen - s->bpos >= n)
		return true;
	if (n > s->bcap) {
		uint8_t *nb = realloc(s->buf, n);

		if (nb == NULL)
			return false;
		s->buf = nb;
		s->bcap = n;
	}
	memmove(s->buf, s->buf + s->bpos, s->blen - s->bpos);
	s->blen -= s->bpos;
	s->bpos = 0;
	while (s->blen < n) {
		uint64_t left = s->run->len - s->off;
		size_t want = s->bcap - s->blen;
		ssize_t r;

		if (left == 0)
			return false;
		if (want > left)
			want = (size_t)left;
		r = pread(s->run->fd, s->buf + s->blen, want, (off_t)s->off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		s->blen += (size_t)r;
		s->off += (uint64_t)r;
	}
	return true;
}

/* Loads the source's next record into cur; false at its end. */
static bool advance(struct mtk_expiry_cursor *c, struct src *s)
{
	struct rec_hdr h;
	size_t total = 0;
	char *p;
	const char **dst[5];

	s->have = false;
	if (s->run == NULL) {
		if (s->next >= c->x->ncerts)
			return false;
		s->cur = c->x->certs[s->next++];
		s->have = true;
		return true;
	}
	if (s->off == s->run->len && s->bpos == s->blen)
		return false;
	if (!fill(s, sizeof(h))) {
		c->rc = MTK_E_IO;
		return false;
	}
	memcpy(&h, s->buf + s->bpos, sizeof(h));
	s->bpos += sizeof(h);
	for (int k = 0; k < 5; k++)
		total += h.len[k] == UINT32_MAX ? 0 : (size_t)h.len[k] + 1;
	if (total > s->scap) {
		char *ns = realloc(s->strs, total);

		if (ns == NULL) {
			c->rc = MTK_E_NOMEM;
			return false;
		}
		s->strs = ns;
		s->scap = total;
	}
	memset(&s->cur, 0, sizeof(s->cur));
	dst[0] = &s->cur.subject;
	dst[1] = &s->cur.issuer;
	dst[2] = &s->cur.serial;
	dst[3] = &s->cur.path;
	dst[4] = &s->cur.alias;
	p = s->strs;
	for (int k = 0; k < 5; k++) {
		if (h.len[k] == UINT32_MAX) {
			*dst[k] = NULL;
			continue;
		}
		if (!fill(s, h.len[k])) {
			c->rc = MTK_E_IO;
			return false;
		}
		memcpy(p, s->buf + s->bpos, h.len[k]);
		s->bpos += h.len[k];
		p[h.len[k]] = '\0';
		*dst[k] = p;
		p += h.len[k] + 1;
	}
	s->cur.not_before = h.not_before;
	s->cur.not_after = h.not_after;
	s->cur.line = (long)h.line;
	s->cur.index = h.index;
	s->cur.src = (mtk_expiry_src)h.src;
	s->cur.self_issued = h.self_issued;
	s->cur.slow_path = h.slow_path;
	memcpy(s->cur.sha256, h.sha256, sizeof(h.sha256));
	s->have = true;
	return true;
}

mtk_rc mtk_expiry_cursor_new(const mtk_expiry *x, mtk_expiry_cursor **out)
{
	mtk_expiry_cursor *c;
	size_t n = 1;

	*out = NULL;
	if (!x->finished)
		return MTK_E_INTERNAL;
	for (const struct exp_run *r = x->runs; r != NULL; r = r->next)
		n++;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->srcs = calloc(n, sizeof(*c->srcs))) == NULL) {
		free(c);
		return MTK_E_NOMEM;
	}
	c->x = x;
	c->nsrcs = n;
	n = 1;
	for (const struct exp_run *r = x->runs; r != NULL; r = r->next) {
		c->srcs[n].run = r;
		c->srcs[n].bcap = 1 << 16;
		if ((c->srcs[n].buf = malloc(c->srcs[n].bcap)) == NULL) {
			mtk_expiry_cursor_free(c);
			return MTK_E_NOMEM;
		}
		n++;
	}
	for (size_t i = 0; i < c->nsrcs; i++)
		(void)advance(c, &c->srcs[i]);
	if (c->rc != MTK_OK) {
		mtk_rc rc = c->rc;

		mtk_expiry_cursor_free(c);
		return rc;
	}
	*out = c;
	return MTK_OK;
}

const mtk_expiry_cert *mtk_expiry_cursor_next(mtk_expiry_cursor *c)
{
	struct src *best = NULL;

	if (c->last != NULL) {
		(void)advance(c, c->last);
		c->last = NULL;
	}
	if (c->rc != MTK_OK)
		return NULL;
	/* A handful of sources: a linear pass is as good as a heap. */
	for (size_t i = 0; i < c->nsrcs; i++)
		if (c->srcs[i].have && (best == NULL || exp_cmp_cert(&c->srcs[i].cur, &best->cur) < 0))
			best = &c->srcs[i];
	if (best == NULL)
		return NULL;
	c->last = best;
	return &best->cur;
}

mtk_rc mtk_expiry_cursor_rc(const mtk_expiry_cursor *c)
{
	return c->rc;
}

void mtk_expiry_cursor_free(mtk_expiry_cursor *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nsrcs; i++) {
		free(c->srcs[i].buf);
		free(c->srcs[i].strs);
	}
	free(c->srcs);
	free(c);
}
