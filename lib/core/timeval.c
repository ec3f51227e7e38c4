/*
 * timeval.c - durations ("30d", "90s", "500ms") and RFC 3339 times.
 */
#include "mtlskit/timeval.h"

#include <stdio.h>
#include <string.h>

#define MTK_DURATION_MAX_MS (INT64_C(100) * 366 * MTK_MS_DAY)

mtk_rc mtk_duration_parse(const char *s, int64_t bare_unit_ms, int64_t *ms)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {
	    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", MTK_MS_DAY},
	    {"w", 7 * MTK_MS_DAY},
	};
	int64_t whole = 0, frac = 0, frac_div = 1, unit = bare_unit_ms;
	size_t i = 0;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return MTK_E_INVALID_ARG;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		whole = whole * 10 + (s[i] - '0');
		if (whole > MTK_DURATION_MAX_MS)
			return MTK_E_INVALID_ARG;
	}
	if (s[i] == '.') {
		i++;
		if (s[i] < '0' || s[i] > '9')
			return MTK_E_INVALID_ARG;
		for (; s[i] >= '0' && s[i] <= '9'; i++) {
			if (frac_div < INT64_C(1000000000)) {
				frac = frac * 10 + (s[i] - '0');
				frac_div *= 10;
			}
		}
	}
	if (s[i] != '\0') {
		size_t k;

		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (strcmp(s + i, units[k].name) == 0)
				break;
		if (k == sizeof(units) / sizeof(units[0]))
			return MTK_E_INVALID_ARG;
		unit = units[k].ms;
	}
	if (unit <= 0 || whole > MTK_DURATION_MAX_MS / unit)
		return MTK_E_INVALID_ARG;
	whole = whole * unit + (frac * unit) / frac_div;
	if (whole > MTK_DURATION_MAX_MS)
		return MTK_E_INVALID_ARG;
	*ms = whole;
	return MTK_OK;
}

static char *two(char *o, int v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
	return o + 2;
}

const char *mtk_time_rfc3339(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	int y;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, cap, "%lld", (long long)t);
		return buf;
	}
	y = tm.tm_year + 1900;
	if (y >= 1000 && y <= 9999 && cap >= 21) {
		/* Digits by hand: strftime was a few percent of a large scan's
		 * JSON.  Other years keep strftime's form. */
		char *o = two(two(buf, y / 100), y % 100);
		*o++ = '-';
		o = two(o, tm.tm_mon + 1);
		*o++ = '-';
		o = two(o, tm.tm_mday);
		*o++ = 'T';
		o = two(o, tm.tm_hour);
		*o++ = ':';
		o = two(o, tm.tm_min);
		*o++ = ':';
		o = two(o, tm.tm_sec);
		*o++ = 'Z';
		*o = '\0';
		return buf;
	}
	if (strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%lld", (long long)t);
	return buf;
}
