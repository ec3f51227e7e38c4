/* usermap.c - mtk_usermap_*: client certificate (fingerprint or subject) to
 * user and roles.  Lookups are binary searches over two sorted index arrays,
 * so a handshake costs O(log n) whatever the map's size. */
#include "mtlskit/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"

struct mtk_usermap {
	mtk_usermap_entry *e;
	size_t n, cap;
	size_t *by_fp;   /* indices of fingerprint entries, sorted by sha256 */
	size_t n_fp;
	size_t *by_subj; /* indices of subject entries, sorted by subject */
	size_t n_subj;
};

static int cmp_fp(const void *a, const void *b, void *ctx)
{
	const mtk_usermap *m = ctx;
	return memcmp(m->e[*(const size_t *)a].sha256, m->e[*(const size_t *)b].sha256, 32);
}

static int cmp_subj(const void *a, const void *b, void *ctx)
{
	const mtk_usermap *m = ctx;
	return strcmp(m->e[*(const size_t *)a].subject, m->e[*(const size_t *)b].subject);
}

void mtk_usermap_free(mtk_usermap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].user);
		free(m->e[i].roles);
		free(m->e[i].subject);
	}
	free(m->e);
	free(m->by_fp);
	free(m->by_subj);
	free(m);
}

size_t mtk_usermap_count(const mtk_usermap *m)
{
	return m ? m->n : 0;
}

const mtk_usermap_entry *mtk_usermap_get(const mtk_usermap *m, size_t i)
{
	return (m && i < m->n) ? &m->e[i] : NULL;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "AB:CD..." or "abcd..." (64 digits) into out. */
static bool parse_fp(const uint8_t *p, size_t n, uint8_t out[32])
{
	mtk_reader r;
	uint8_t c;
	size_t digits = 0;
	int hi = -1;

	mtk_reader_init(&r, p, n);
	while (mtk_reader_u8(&r, &c) == MTK_OK) {
		int v;
		if (c == ':')
			continue;
		if ((v = hexval(c)) < 0 || digits >= 64)
			return false;
		if (hi < 0) {
			hi = v;
		} else {
			out[digits / 2] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
		digits++;
	}
	return digits == 64;
}

static bool valid_token(const uint8_t *p, size_t n)
{
	mtk_reader r;
	uint8_t c;

	mtk_reader_init(&r, p, n);
	while (mtk_reader_u8(&r, &c) == MTK_OK)
		if (c <= 0x20 || c == 0x7f || c == '"' || c == '\\')
			return false;
	return n > 0;
}

static mtk_rc add_entry(mtk_usermap *m, const char *name, long lineno, mtk_reader *line,
			mtk_err *err)
{
	const uint8_t *up, *rp, *mp;
	size_t un, rn, mn;
	mtk_usermap_entry e = {0};

	if (!gw_token(line, &up, &un) || !gw_token(line, &rp, &rn))
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: expected USER ROLES MATCH", name,
				   lineno);
	gw_rest(line, &mp, &mn);
	if (mn == 0)
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: expected USER ROLES MATCH", name,
				   lineno);
	if (!valid_token(up, un) || !valid_token(rp, rn))
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: bad character in user or roles",
				   name, lineno);
	if (gw_has_ctl(mp, mn))
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: control character", name, lineno);
	if (mn > 7 && memcmp(mp, "sha256:", 7) == 0) {
		if (!parse_fp(mp + 7, mn - 7, e.sha256))
			return mtk_err_set(err, MTK_E_MALFORMED,
					   "%s:%ld: sha256: expected 64 hex digits", name, lineno);
	} else if (mn > 8 && memcmp(mp, "subject:", 8) == 0) {
		e.by_subject = true;
		if ((e.subject = gw_strndup(mp + 8, mn - 8)) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	} else {
		return mtk_err_set(err, MTK_E_MALFORMED,
				   "%s:%ld: match must start with sha256: or subject:", name, lineno);
	}
	e.user = gw_strndup(up, un);
	e.roles = (rn == 1 && rp[0] == '-') ? gw_strndup(rp, 0) : gw_strndup(rp, rn);
	e.line = lineno;
	if (e.user == NULL || e.roles == NULL)
		goto nomem;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		mtk_usermap_entry *ne = realloc(m->e, cap * sizeof(*ne));
		if (ne == NULL)
			goto nomem;
		m->e = ne;
		m->cap = cap;
	}
	m->e[m->n++] = e;
	return MTK_OK;
nomem:
	free(e.user);
	free(e.roles);
	free(e.subject);
	return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
}

static mtk_rc build_index(mtk_usermap *m, const char *name, mtk_err *err)
{
	m->by_fp = calloc(m->n ? m->n : 1, sizeof(size_t));
	m->by_subj = calloc(m->n ? m->n : 1, sizeof(size_t));
	if (m->by_fp == NULL || m->by_subj == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	for (size_t i = 0; i < m->n; i++) {
		if (m->e[i].by_subject)
			m->by_subj[m->n_subj++] = i;
		else
			m->by_fp[m->n_fp++] = i;
	}
	qsort_r(m->by_fp, m->n_fp, sizeof(size_t), cmp_fp, m);
	qsort_r(m->by_subj, m->n_subj, sizeof(size_t), cmp_subj, m);
	for (size_t i = 1; i < m->n_fp; i++) {
		const mtk_usermap_entry *a = &m->e[m->by_fp[i - 1]], *b = &m->e[m->by_fp[i]];
		if (memcmp(a->sha256, b->sha256, 32) == 0)
			return mtk_err_set(err, MTK_E_MALFORMED,
					   "%s:%ld: fingerprint already mapped on line %ld", name,
					   a->line > b->line ? a->line : b->line,
					   a->line > b->line ? b->line : a->line);
	}
	for (size_t i = 1; i < m->n_subj; i++) {
		const mtk_usermap_entry *a = &m->e[m->by_subj[i - 1]], *b = &m->e[m->by_subj[i]];
		if (strcmp(a->subject, b->subject) == 0)
			return mtk_err_set(err, MTK_E_MALFORMED,
					   "%s:%ld: subject already mapped on line %ld", name,
					   a->line > b->line ? a->line : b->line,
					   a->line > b->line ? b->line : a->line);
	}
	return MTK_OK;
}

mtk_rc mtk_usermap_parse(const char *name, const uint8_t *data, size_t len, mtk_usermap **out,
			 mtk_err *err)
{
	mtk_usermap *m = NULL;
	mtk_reader r, line;
	long lineno = 0;
	mtk_rc rc = MTK_OK;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	mtk_reader_init(&r, data, len);
	while (gw_next_line(&r, &line)) {
		uint8_t c;

		lineno++;
		if (mtk_reader_left(&line) > MTK_GW_MAX_LINE) {
			rc = mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: line too long", name, lineno);
			goto out;
		}
		gw_skip_space(&line);
		if (mtk_reader_peek_u8(&line, &c) != MTK_OK || c == '#')
			continue;
		if (m->n >= MTK_USERMAP_MAX_ENTRIES) {
			rc = mtk_err_set(err, MTK_E_TOO_LARGE, "%s:%ld: more than %d entries", name,
					 lineno, MTK_USERMAP_MAX_ENTRIES);
			goto out;
		}
		if ((rc = add_entry(m, name, lineno, &line, err)) != MTK_OK)
			goto out;
	}
	rc = build_index(m, name, err);
out:
	if (rc != MTK_OK) {
		mtk_usermap_free(m);
		return rc;
	}
	*out = m;
	return MTK_OK;
}

const mtk_usermap_entry *mtk_usermap_lookup(const mtk_usermap *m, const uint8_t sha256[32],
					    const char *subject, size_t *index)
{
	size_t lo, hi;

	if (m == NULL)
		return NULL;
	lo = 0, hi = m->n_fp;
	while (sha256 != NULL && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(sha256, m->e[m->by_fp[mid]].sha256, 32);
		if (c == 0) {
			if (index)
				*index = m->by_fp[mid];
			return &m->e[m->by_fp[mid]];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	lo = 0, hi = m->n_subj;
	while (subject != NULL && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(subject, m->e[m->by_subj[mid]].subject);
		if (c == 0) {
			if (index)
				*index = m->by_subj[mid];
			return &m->e[m->by_subj[mid]];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

bool mtk_usermap_has_role(const mtk_usermap_entry *e, const char *role)
{
	size_t rl = strlen(role);
	const char *p = e->roles;

	if (rl == 0)
		return false;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == rl && memcmp(p, role, rl) == 0)
			return true;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return false;
}
