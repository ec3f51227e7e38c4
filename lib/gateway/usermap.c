/* usermap.c - mtk_usermap_*: client certificate (fingerprint or subject) to
 * user and roles.
 *
 * Built for reloads of large maps (100,000 lines in a few ms) and O(1)
 * lookups per handshake:
 * - one pass over the bytes: lines found with memchr, each line scanned by
 *   plain indexed loops bounded by its length (the per-byte reader calls of
 *   lines.h cost ~20,000 instructions a line here);
 * - the strings of all entries live in a few large blocks, not three
 *   mallocs an entry;
 * - two open-addressing hash tables (fingerprint, subject) of entry
 *   indices, filled in file order, which is also where a duplicate is found.
 */
#include "mtlskit/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"

/* Strings of the map, appended to blocks that are never moved. */
struct pool_block {
	struct pool_block *next;
	size_t used, cap;
	char data[];
};

#define POOL_BLOCK ((size_t)64 << 10) /* > 3 * MTK_GW_MAX_LINE: a line always fits */

/* One hash table: slots hold entry index + 1 (0: empty); tags hold a
 * second hash so most probes of a subject never reach strcmp. */
struct table {
	uint32_t *slot;
	uint32_t *tag;
	size_t mask; /* capacity - 1, capacity a power of two */
};

struct mtk_usermap {
	mtk_usermap_entry *e;
	size_t n, cap;
	struct pool_block *pool;
	struct table fp, subj;
};

void mtk_usermap_free(mtk_usermap *m)
{
	struct pool_block *b, *next;

	if (m == NULL)
		return;
	for (b = m->pool; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(m->e);
	free(m->fp.slot);
	free(m->fp.tag);
	free(m->subj.slot);
	free(m->subj.tag);
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

/* A NUL-terminated copy of n bytes in m's pool, or NULL. */
static char *pool_dup(mtk_usermap *m, const uint8_t *p, size_t n)
{
	struct pool_block *b = m->pool;
	char *s;

	if (b == NULL || b->cap - b->used < n + 1) {
		size_t cap = n + 1 > POOL_BLOCK ? n + 1 : POOL_BLOCK;
		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = m->pool;
		m->pool = b;
	}
	s = b->data + b->used;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	b->used += n + 1;
	return s;
}

/* Hex digit value + 1; 0 for every other byte. */
static const uint8_t hexv[256] = {
	['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* "AB:CD..." or "abcd..." (64 digits, colons anywhere) into out. */
static bool parse_fp(const uint8_t *p, size_t n, uint8_t out[32])
{
	uint8_t nib[64];
	size_t digits = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned v = hexv[p[i]];
		if (p[i] == ':')
			continue;
		if (v == 0 || digits >= 64)
			return false;
		nib[digits++] = (uint8_t)(v - 1);
	}
	if (digits != 64)
		return false;
	for (size_t i = 0; i < 32; i++)
		out[i] = (uint8_t)(nib[2 * i] << 4 | nib[2 * i + 1]);
	return true;
}

/* A token byte: no space, control, DEL, quote or backslash. */
static bool valid_token(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '\\')
			return false;
	return n > 0;
}

/* True when the bytes hold a NUL or another control byte (tab allowed). */
static bool has_ctl(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return true;
	return false;
}

/* Splits one line (p, n: no '\n') into USER ROLES MATCH as lines.h's
 * gw_token / gw_rest do: tokens end at ' ', '\t' or '\r'; MATCH is the rest
 * with the spaces around it trimmed.  Every index stays below n. */
static bool split_line(const uint8_t *p, size_t n, const uint8_t *tok[3], size_t len[3])
{
	size_t i = 0;

	for (int t = 0; t < 2; t++) {
		size_t s;
		while (i < n && gw_is_space(p[i]))
			i++;
		s = i;
		while (i < n && !gw_is_space(p[i]))
			i++;
		if (i == s)
			return false;
		tok[t] = p + s;
		len[t] = i - s;
	}
	while (i < n && gw_is_space(p[i]))
		i++;
	while (n > i && gw_is_space(p[n - 1]))
		n--;
	tok[2] = p + i;
	len[2] = n - i;
	return len[2] > 0;
}

static mtk_rc add_entry(mtk_usermap *m, const char *name, long lineno, const uint8_t *p, size_t n,
			mtk_err *err)
{
	const uint8_t *tok[3];
	size_t len[3];
	const uint8_t *mp;
	size_t mn;
	mtk_usermap_entry e = {0};

	if (!split_line(p, n, tok, len))
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: expected USER ROLES MATCH", name,
				   lineno);
	if (!valid_token(tok[0], len[0]) || !valid_token(tok[1], len[1]))
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: bad character in user or roles",
				   name, lineno);
	mp = tok[2];
	mn = len[2];
	/* A fingerprint that parses holds only hex digits and colons, so the
	 * control-byte scan is needed only when it does not (to name the
	 * first problem as before) and for everything else. */
	if (mn > 7 && memcmp(mp, "sha256:", 7) == 0 && parse_fp(mp + 7, mn - 7, e.sha256)) {
		/* mapped by fingerprint */
	} else if (has_ctl(mp, mn)) {
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: control character", name, lineno);
	} else if (mn > 7 && memcmp(mp, "sha256:", 7) == 0) {
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: sha256: expected 64 hex digits", name,
				   lineno);
	} else if (mn > 8 && memcmp(mp, "subject:", 8) == 0) {
		e.by_subject = true;
		if ((e.subject = pool_dup(m, mp + 8, mn - 8)) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	} else {
		return mtk_err_set(err, MTK_E_MALFORMED,
				   "%s:%ld: match must start with sha256: or subject:", name, lineno);
	}
	e.user = pool_dup(m, tok[0], len[0]);
	e.roles = (len[1] == 1 && tok[1][0] == '-') ? pool_dup(m, tok[1], 0) : pool_dup(m, tok[1], len[1]);
	e.line = lineno;
	if (e.user == NULL || e.roles == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		mtk_usermap_entry *ne = realloc(m->e, cap * sizeof(*ne));
		if (ne == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
		m->e = ne;
		m->cap = cap;
	}
	m->e[m->n++] = e;
	return MTK_OK;
}

/* --- hashing --- */

static uint64_t mix(uint64_t h)
{
	/* the splitmix64 finaliser: every input bit reaches every output bit */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static uint64_t hash_fp(const uint8_t fp[32])
{
	uint64_t w[4];

	memcpy(w, fp, sizeof(w));
	return mix(w[0] ^ mix(w[1] ^ mix(w[2] ^ mix(w[3]))));
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then mixed */

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return mix(h);
}

static bool table_init(struct table *t, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n) /* at most half full: short probe runs */
		cap *= 2;
	t->slot = calloc(cap, sizeof(*t->slot));
	t->tag = calloc(cap, sizeof(*t->tag));
	t->mask = cap - 1;
	return t->slot != NULL && t->tag != NULL;
}

static bool same_key(const mtk_usermap_entry *a, const mtk_usermap_entry *b)
{
	return a->by_subject ? strcmp(a->subject, b->subject) == 0 : memcmp(a->sha256, b->sha256, 32) == 0;
}

/* Inserts entry i; returns the index + 1 of an entry with the same key
 * (nothing inserted then), or 0. */
static size_t table_put(mtk_usermap *m, struct table *t, size_t i, uint64_t h)
{
	uint32_t tag = (uint32_t)(h >> 32);

	for (size_t s = (size_t)h & t->mask;; s = (s + 1) & t->mask) {
		if (t->slot[s] == 0) {
			t->slot[s] = (uint32_t)(i + 1);
			t->tag[s] = tag;
			return 0;
		}
		if (t->tag[s] == tag && same_key(&m->e[t->slot[s] - 1], &m->e[i]))
			return t->slot[s];
	}
}

static mtk_rc build_index(mtk_usermap *m, const char *name, mtk_err *err)
{
	size_t n_subj = 0;

	for (size_t i = 0; i < m->n; i++)
		n_subj += m->e[i].by_subject;
	if (!table_init(&m->fp, m->n - n_subj) || !table_init(&m->subj, n_subj))
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	/* Fingerprints first, then subjects, each in file order: the first
	 * repeated key is the one reported, with the line it repeats. */
	for (size_t i = 0; i < m->n; i++) {
		size_t dup;
		if (m->e[i].by_subject || (dup = table_put(m, &m->fp, i, hash_fp(m->e[i].sha256))) == 0)
			continue;
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: fingerprint already mapped on line %ld",
				   name, m->e[i].line, m->e[dup - 1].line);
	}
	for (size_t i = 0; i < m->n; i++) {
		size_t dup;
		if (!m->e[i].by_subject || (dup = table_put(m, &m->subj, i, hash_str(m->e[i].subject))) == 0)
			continue;
		return mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: subject already mapped on line %ld", name,
				   m->e[i].line, m->e[dup - 1].line);
	}
	return MTK_OK;
}

mtk_rc mtk_usermap_parse(const char *name, const uint8_t *data, size_t len, mtk_usermap **out,
			 mtk_err *err)
{
	mtk_usermap *m = NULL;
	size_t off = 0;
	long lineno = 0;
	mtk_rc rc = MTK_OK;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
	/* Lines as gw_next_line cuts them: up to each '\n', the last one
	 * possibly without; off never passes len. */
	while (off < len) {
		const uint8_t *p = data + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off, i = 0;

		off += n + (nl != NULL);
		lineno++;
		if (n > MTK_GW_MAX_LINE) {
			rc = mtk_err_set(err, MTK_E_MALFORMED, "%s:%ld: line too long", name, lineno);
			goto out;
		}
		while (i < n && gw_is_space(p[i]))
			i++;
		if (i == n || p[i] == '#')
			continue;
		if (m->n >= MTK_USERMAP_MAX_ENTRIES) {
			rc = mtk_err_set(err, MTK_E_TOO_LARGE, "%s:%ld: more than %d entries", name,
					 lineno, MTK_USERMAP_MAX_ENTRIES);
			goto out;
		}
		if ((rc = add_entry(m, name, lineno, p + i, n - i, err)) != MTK_OK)
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
	uint64_t h;
	size_t s;

	if (m == NULL)
		return NULL;
	if (sha256 != NULL) {
		h = hash_fp(sha256);
		for (s = (size_t)h & m->fp.mask; m->fp.slot[s] != 0; s = (s + 1) & m->fp.mask) {
			const mtk_usermap_entry *e = &m->e[m->fp.slot[s] - 1];
			if (m->fp.tag[s] == (uint32_t)(h >> 32) && memcmp(e->sha256, sha256, 32) == 0) {
				if (index)
					*index = m->fp.slot[s] - 1;
				return e;
			}
		}
	}
	if (subject != NULL) {
		h = hash_str(subject);
		for (s = (size_t)h & m->subj.mask; m->subj.slot[s] != 0; s = (s + 1) & m->subj.mask) {
			const mtk_usermap_entry *e = &m->e[m->subj.slot[s] - 1];
			if (m->subj.tag[s] == (uint32_t)(h >> 32) && strcmp(e->subject, subject) == 0) {
				if (index)
					*index = m->subj.slot[s] - 1;
				return e;
			}
		}
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
