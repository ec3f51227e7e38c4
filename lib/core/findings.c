#include "mtlskit/findings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
#define MTK_F_NAME(name, id) id,
	MTK_FINDING_LIST(MTK_F_NAME)
#undef MTK_F_NAME
};

_Static_assert(sizeof(names) / sizeof(names[0]) == MTK_F__COUNT, "finding table out of sync");

const char *mtk_finding_name(mtk_finding_id id)
{
	if ((unsigned)id >= MTK_F__COUNT)
		return "unknown";
	return names[id];
}

mtk_finding_id mtk_finding_from_name(const char *name)
{
	for (unsigned i = 0; i < MTK_F__COUNT; i++)
		if (strcmp(names[i], name) == 0)
			return (mtk_finding_id)i;
	return MTK_F__COUNT;
}

const char *mtk_severity_name(mtk_severity s)
{
	switch (s) {
	case MTK_SEV_ERROR:
		return "error";
	case MTK_SEV_WARNING:
		return "warning";
	default:
		return "info";
	}
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static mtk_rc vadd(mtk_findings *fs, mtk_finding_id id, mtk_severity sev, const char *file,
		   long line, const char *where, const char *fix, const char *advice, const char *fmt,
		   va_list ap)
{
	mtk_finding f = {0};
	va_list cp;
	int n;

	if (fs->count == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 8;
		mtk_finding *p = realloc(fs->items, cap * sizeof(*p));
		if (p == NULL)
			return MTK_E_NOMEM;
		fs->items = p;
		fs->cap = cap;
	}
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return MTK_E_INTERNAL;
	f.message = malloc((size_t)n + 1);
	if (f.message == NULL)
		return MTK_E_NOMEM;
	vsnprintf(f.message, (size_t)n + 1, fmt, ap);
	f.id = id;
	f.severity = sev;
	f.line = line;
	f.file = dup_or_null(file);
	f.where = dup_or_null(where);
	f.fix = dup_or_null(fix);
	f.advice = dup_or_null(advice);
	if ((file && !f.file) || (where && !f.where) || (fix && !f.fix) || (advice && !f.advice)) {
		free(f.message);
		free(f.file);
		free(f.where);
		free(f.fix);
		free(f.advice);
		return MTK_E_NOMEM;
	}
	fs->items[fs->count++] = f;
	return MTK_OK;
}

mtk_rc mtk_findings_add(mtk_findings *fs, mtk_finding_id id, mtk_severity sev, const char *file,
			long line, const char *where, const char *fix, const char *fmt, ...)
{
	va_list ap;
	mtk_rc rc;

	va_start(ap, fmt);
	rc = vadd(fs, id, sev, file, line, where, fix, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

mtk_rc mtk_findings_add_advice(mtk_findings *fs, mtk_finding_id id, mtk_severity sev,
			       const char *file, long line, const char *where, const char *fix,
			       const char *advice, const char *fmt, ...)
{
	va_list ap;
	mtk_rc rc;

	va_start(ap, fmt);
	rc = vadd(fs, id, sev, file, line, where, fix, advice, fmt, ap);
	va_end(ap);
	return rc;
}

mtk_rc mtk_findings_move(mtk_findings *dst, mtk_findings *src)
{
	if (src->count == 0) {
		mtk_findings_free(src);
		return MTK_OK;
	}
	if (dst->count + src->count > dst->cap) {
		size_t cap = dst->count + src->count;
		mtk_finding *p = realloc(dst->items, cap * sizeof(*p));
		if (p == NULL)
			return MTK_E_NOMEM;
		dst->items = p;
		dst->cap = cap;
	}
	memcpy(dst->items + dst->count, src->items, src->count * sizeof(*src->items));
	dst->count += src->count;
	free(src->items);
	src->items = NULL;
	src->count = src->cap = 0;
	return MTK_OK;
}

bool mtk_findings_has(const mtk_findings *fs, mtk_finding_id id)
{
	for (size_t i = 0; i < fs->count; i++)
		if (fs->items[i].id == id)
			return true;
	return false;
}

size_t mtk_findings_count_at_least(const mtk_findings *fs, mtk_severity min)
{
	size_t n = 0;

	for (size_t i = 0; i < fs->count; i++)
		if (fs->items[i].severity >= min)
			n++;
	return n;
}

void mtk_findings_free(mtk_findings *fs)
{
	if (fs == NULL)
		return;
	for (size_t i = 0; i < fs->count; i++) {
		free(fs->items[i].file);
		free(fs->items[i].where);
		free(fs->items[i].message);
		free(fs->items[i].fix);
		free(fs->items[i].advice);
	}
	free(fs->items);
	fs->items = NULL;
	fs->count = fs->cap = 0;
}
