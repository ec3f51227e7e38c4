/*
 * timeval.h - the one duration parser and the one time formatter.
 *
 * Durations are how every span is written, on the command line and in the
 * gateway's configuration: a non-negative number (digits, optionally a
 * fraction) and a unit, "500ms", "90s", "15m", "12h", "30d", "2w".  A bare
 * number takes the caller's unit: seconds for a timeout, days for an expiry
 * window, so "--timeout 5" and "--within 30" keep meaning what they meant.
 *
 * Times are printed in RFC 3339 UTC, "2026-11-22T06:21:48Z", in every JSON
 * document and wherever a machine may read them.
 */
#ifndef MTLSKIT_TIMEVAL_H
#define MTLSKIT_TIMEVAL_H

#include <stdint.h>
#include <time.h>

#include "mtlskit/err.h"

#define MTK_MS_SECOND INT64_C(1000)
#define MTK_MS_DAY INT64_C(86400000)

/* Parses s into milliseconds; bare_unit_ms is the unit of a number written
 * without one.  MTK_E_INVALID_ARG for an empty string, a sign, spaces, an
 * unknown unit or more than 100 years. */
MTK_WUR mtk_rc mtk_duration_parse(const char *s, int64_t bare_unit_ms, int64_t *ms);

/* "2026-11-22T06:21:48Z" into buf (at least MTK_TIME_RFC3339_LEN bytes);
 * returns buf. */
#define MTK_TIME_RFC3339_LEN 32
const char *mtk_time_rfc3339(int64_t t, char *buf, size_t cap);

#endif
