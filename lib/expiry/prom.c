/*
 * prom.c - the Prometheus text exposition of an expiry scan, for node
 * exporter's textfile collector (which wants one family per HELP/TYPE block,
 * every series of a family together, and no label set twice).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Label values: backslash, double quote and line feed are escaped.  Runs
 * of plain bytes are appended whole: this is per byte of 100k labels. */
static mtk_rc label(mtk_buf *b, const char *name, const char *v, bool first)
{
	const char *p = v ? v : "";
	mtk_rc rc = mtk_buf_append_str(b, first ? "" : ",");

	if (rc == MTK_OK)
		rc = mtk_buf_append_str(b, name);
	if (rc == MTK_OK)
		rc = mtk_buf_append(b, "=\"", 2);
	while (rc == MTK_OK && *p) {
		size_t n = strcspn(p, "\\\"\n");

		if (n > 0)
			rc = mtk_buf_append(b, p, n);
		p += n;
		if (rc != MTK_OK || *p == '\0')
			break;
		rc = mtk_buf_append(b, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n", 2);
		p++;
	}
	return rc == MTK_OK ? mtk_buf_append_u8(b, '"') : rc;
}

/* One label into the hash, then a 0xff byte (never in a string) between it
 * and the next. */
static uint64_t fnv(uint64_t h, const char *s)
{
	s = s ? s : "";
	return mtk_fnv1a(mtk_fnv1a(h, s, strlen(s)), "\xff", 1);
}

static bool same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool same_labels(const mtk_expiry_cert *a, const mtk_expiry_cert *b)
{
	return same_str(a->path, b->path) && same_str(a->alias, b->alias) &&
	       same_str(a->subject, b->subject) && same_str(a->issuer, b->issuer) &&
	       same_str(a->serial, b->serial);
}

/* Marks keep[i] = false for a certificate whose label set an earlier
 * (sooner-expiring) one already has. */
static mtk_rc dedupe(const mtk_expiry *x, bool *keep)
{
	size_t cap = 16, n = x->ncerts;
	size_t *tab;

	while (cap < n * 2)
		cap *= 2;
	tab = malloc(cap * sizeof(*tab));
	if (tab == NULL)
		return MTK_E_NOMEM;
	for (size_t i = 0; i < cap; i++)
		tab[i] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		const mtk_expiry_cert *c = &x->certs[i];
		uint64_t h = MTK_FNV1A_INIT;
		size_t k;

		h = fnv(fnv(fnv(fnv(fnv(h, c->path), c->alias), c->subject), c->issuer), c->serial);
		keep[i] = true;
		for (k = h & (cap - 1); tab[k] != SIZE_MAX; k = (k + 1) & (cap - 1)) {
			if (same_labels(&x->certs[tab[k]], c)) {
				keep[i] = false;
				break;
			}
		}
		if (keep[i])
			tab[k] = i;
	}
	free(tab);
	return MTK_OK;
}

static mtk_rc cert_labels(mtk_buf *b, const mtk_expiry_cert *c)
{
	mtk_rc rc = mtk_buf_append_u8(b, '{');

	if (rc == MTK_OK)
		rc = label(b, "path", c->path, true);
	if (rc == MTK_OK)
		rc = label(b, "alias", c->alias, false);
	if (rc == MTK_OK)
		rc = label(b, "subject", c->subject, false);
	if (rc == MTK_OK)
		rc = label(b, "issuer", c->issuer, false);
	if (rc == MTK_OK)
		rc = label(b, "serial", c->serial, false);
	return rc == MTK_OK ? mtk_buf_append_u8(b, '}') : rc;
}

enum metric { M_NOT_AFTER, M_NOT_BEFORE, M_EXPIRED, M_EXPIRING };

mtk_rc mtk_expiry_prometheus(const mtk_expiry *x, int64_t now, int64_t within, mtk_buf *out)
{
	static const struct {
		const char *name, *help;
	} m[] = {
	    {"mtlskit_cert_not_after_seconds", "Expiry (notAfter) of the certificate, Unix time."},
	    {"mtlskit_cert_not_before_seconds",
	     "Start of validity (notBefore) of the certificate, Unix time."},
	    {"mtlskit_cert_expired", "1 when the certificate has expired, else 0."},
	    {"mtlskit_cert_expiring",
	     "1 when the certificate expires within the --within window (or has expired), else 0."},
	};
	bool *keep = NULL;
	size_t *off = NULL;
	mtk_buf labs = MTK_BUF_INIT; /* every certificate's {labels}, escaped once */
	mtk_rc rc = MTK_OK;

	if (!x->finished)
		return MTK_E_INTERNAL;
	keep = calloc(x->ncerts ? x->ncerts : 1, sizeof(*keep));
	off = calloc(x->ncerts + 1, sizeof(*off));
	if (keep == NULL || off == NULL) {
		rc = MTK_E_NOMEM;
		goto out;
	}
	if ((rc = dedupe(x, keep)) != MTK_OK)
		goto out;
	for (size_t i = 0; rc == MTK_OK && i < x->ncerts; i++) {
		off[i] = labs.len;
		if (keep[i])
			rc = cert_labels(&labs, &x->certs[i]);
	}
	off[x->ncerts] = labs.len;
	if (rc == MTK_OK)
		rc = mtk_buf_reserve(out, 4 * (labs.len + x->ncerts * 64) + 4096);
	for (size_t k = 0; rc == MTK_OK && k < sizeof(m) / sizeof(m[0]); k++) {
		rc = mtk_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", m[k].name, m[k].help,
				    m[k].name);
		for (size_t i = 0; rc == MTK_OK && i < x->ncerts; i++) {
			const mtk_expiry_cert *c = &x->certs[i];
			long long v;

			if (!keep[i])
				continue;
			switch ((enum metric)k) {
			case M_NOT_AFTER:
				v = (long long)c->not_after;
				break;
			case M_NOT_BEFORE:
				v = (long long)c->not_before;
				break;
			case M_EXPIRED:
				v = c->not_after <= now;
				break;
			default:
				v = c->not_after <= now + within;
				break;
			}
			if ((rc = mtk_buf_append_str(out, m[k].name)) == MTK_OK &&
			    (rc = mtk_buf_append(out, labs.data + off[i], off[i + 1] - off[i])) ==
				MTK_OK)
				rc = mtk_buf_printf(out, " %lld\n", v);
		}
	}
	if (rc == MTK_OK)
		rc = mtk_buf_printf(
		    out,
		    "# HELP mtlskit_expiry_certificates Certificates found by the last scan.\n"
		    "# TYPE mtlskit_expiry_certificates gauge\n"
		    "mtlskit_expiry_certificates %llu\n"
		    "# HELP mtlskit_expiry_files Files read by the last scan.\n"
		    "# TYPE mtlskit_expiry_files gauge\n"
		    "mtlskit_expiry_files %llu\n"
		    "# HELP mtlskit_expiry_errors Files, blocks or endpoints the last scan could "
		    "not read.\n"
		    "# TYPE mtlskit_expiry_errors gauge\n"
		    "mtlskit_expiry_errors %llu\n"
		    "# HELP mtlskit_expiry_window_seconds The --within window of the last scan.\n"
		    "# TYPE mtlskit_expiry_window_seconds gauge\n"
		    "mtlskit_expiry_window_seconds %lld\n"
		    "# HELP mtlskit_expiry_last_scan_timestamp_seconds When the last scan ran, "
		    "Unix time.\n"
		    "# TYPE mtlskit_expiry_last_scan_timestamp_seconds gauge\n"
		    "mtlskit_expiry_last_scan_timestamp_seconds %lld\n",
		    (unsigned long long)x->ncerts, (unsigned long long)x->st.files,
		    (unsigned long long)x->nerrs, (long long)within, (long long)now);
out:
	mtk_buf_free(&labs);
	free(off);
	free(keep);
	return rc;
}
