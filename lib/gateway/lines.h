/*
 * lines.h - line and token cursor shared by the gateway's text parsers
 * (configuration, user map).  Everything goes through mtk_reader, so a line
 * or token never extends past the bytes handed in.  Private to lib/gateway.
 */
#ifndef MTK_GW_LINES_H
#define MTK_GW_LINES_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mtlskit/buf.h"
#include "mtlskit/err.h"

/* Longest line either parser accepts: a DN or a list of roles fits easily. */
#define MTK_GW_MAX_LINE 8192

static inline bool gw_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Number of bytes from the reader's position while pred holds. */
static inline size_t gw_span(const mtk_reader *r, bool want_space)
{
	mtk_reader t = *r;
	uint8_t c;
	size_t n = 0;

	while (mtk_reader_u8(&t, &c) == MTK_OK && gw_is_space(c) == want_space)
		n++;
	return n;
}

/* Takes the next line (without its '\n') as a child reader.  Returns false
 * at the end of input. */
static inline bool gw_next_line(mtk_reader *r, mtk_reader *line)
{
	mtk_reader t = *r;
	const uint8_t *all, *nl;
	size_t left = mtk_reader_left(r), n;

	if (left == 0)
		return false;
	if (mtk_reader_bytes(&t, left, &all) != MTK_OK)
		return false;
	nl = memchr(all, '\n', left);
	n = nl ? (size_t)(nl - all) : left;
	if (mtk_reader_sub(r, n, line) != MTK_OK)
		return false;
	if (nl != NULL && mtk_reader_skip(r, 1) != MTK_OK)
		return false;
	return true;
}

static inline void gw_skip_space(mtk_reader *r)
{
	if (mtk_reader_skip(r, gw_span(r, true)) != MTK_OK)
		return; /* cannot happen: the span is within the bytes left */
}

/* The next whitespace-delimited token; false when the line is exhausted. */
static inline bool gw_token(mtk_reader *r, const uint8_t **p, size_t *n)
{
	gw_skip_space(r);
	*n = gw_span(r, false);
	if (*n == 0)
		return false;
	return mtk_reader_bytes(r, *n, p) == MTK_OK;
}

/* The rest of the line with surrounding whitespace trimmed. */
static inline void gw_rest(mtk_reader *r, const uint8_t **p, size_t *n)
{
	mtk_reader t;
	uint8_t c;
	size_t len;

	gw_skip_space(r);
	len = mtk_reader_left(r);
	*p = NULL;
	*n = 0;
	if (len == 0 || mtk_reader_bytes(r, len, p) != MTK_OK)
		return;
	/* trim trailing spaces: walk a reader over the value, remember the last
	 * non-space position */
	mtk_reader_init(&t, *p, len);
	for (size_t i = 0; mtk_reader_u8(&t, &c) == MTK_OK; i++)
		if (!gw_is_space(c))
			*n = i + 1;
}

/* True when the bytes hold a NUL or another control byte (tab allowed). */
static inline bool gw_has_ctl(const uint8_t *p, size_t n)
{
	mtk_reader t;
	uint8_t c;

	mtk_reader_init(&t, p, n);
	while (mtk_reader_u8(&t, &c) == MTK_OK)
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	return false;
}

/* A NUL-terminated copy of n bytes, or NULL. */
static inline char *gw_strndup(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* The "key value" file format of the gateway configuration, also used by
 * `track` (lib/renew): one setting per line, '#' comments, blank lines
 * ignored, the value is the rest of the line trimmed.  Calls set(ctx, key,
 * value, &e) for each setting; its error comes back as "name:line: detail"
 * with its code.  Lines over MTK_GW_MAX_LINE, control characters and a
 * missing value are MTK_E_CONFIG. */
typedef mtk_rc (*gw_kv_fn)(void *ctx, const char *key, const char *value, mtk_err *err);

static inline mtk_rc gw_kv_parse(const char *name, const uint8_t *data, size_t len, gw_kv_fn set,
				 void *ctx, mtk_err *err)
{
	mtk_reader r, line;
	long lineno = 0;

	mtk_reader_init(&r, data, len);
	while (gw_next_line(&r, &line)) {
		const uint8_t *kp, *vp;
		size_t kn, vn;
		char key[64], *value;
		uint8_t c;
		mtk_rc rc;
		mtk_err e = {0};

		lineno++;
		if (mtk_reader_left(&line) > MTK_GW_MAX_LINE)
			return mtk_err_set(err, MTK_E_CONFIG, "%s:%ld: line too long", name, lineno);
		gw_skip_space(&line);
		if (mtk_reader_peek_u8(&line, &c) != MTK_OK || c == '#')
			continue;
		if (!gw_token(&line, &kp, &kn))
			continue;
		if (kn >= sizeof(key) || gw_has_ctl(kp, kn))
			return mtk_err_set(err, MTK_E_CONFIG, "%s:%ld: bad setting name", name, lineno);
		memcpy(key, kp, kn);
		key[kn] = '\0';
		gw_rest(&line, &vp, &vn);
		if (vn == 0)
			return mtk_err_set(err, MTK_E_CONFIG, "%s:%ld: %s: missing value", name, lineno,
					   key);
		if (gw_has_ctl(vp, vn))
			return mtk_err_set(err, MTK_E_CONFIG, "%s:%ld: %s: control character in value",
					   name, lineno, key);
		if ((value = gw_strndup(vp, vn)) == NULL)
			return mtk_err_set(err, MTK_E_NOMEM, "%s", name);
		rc = set(ctx, key, value, &e);
		free(value);
		if (rc != MTK_OK)
			return mtk_err_set(err, rc, "%s:%ld: %s", name, lineno, e.detail);
	}
	return MTK_OK;
}

#endif
