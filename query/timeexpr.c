/* SPDX-License-Identifier: MIT */
/*
 * timeexpr: see timeexpr.h. Each form is tried in turn; the local forms
 * are parsed field by field, checked for range, turned into a time with
 * mktime and checked again against what mktime made of them (so "02-30"
 * or a time inside a DST gap is refused, not moved).
 */
#include "query/timeexpr.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"

#define TIMEEXPR_NS 1000000000LL

/* n digits at *p into *v; advances *p. -1 if fewer. */
static int
timeexpr_digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        *v = *v * 10 + (**p - '0');
    }
    return 0;
}

/* ".FRAC" (1 to 9 digits) at *p, as nanoseconds; none is 0. */
static int
timeexpr_frac(const char **p, int64_t *ns)
{
    int64_t scale = TIMEEXPR_NS / 10;
    int n = 0;

    *ns = 0;
    if (**p != '.')
        return 0;
    for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, n++) {
        if (n == 9)
            return -1;
        *ns += (**p - '0') * scale;
        scale /= 10;
    }
    return n > 0 ? 0 : -1;
}

/* "SECONDS[.FRAC]": digits only (at most 11), unix time. */
static int
timeexpr_unix(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t sec = 0, frac;

    for (; *p >= '0' && *p <= '9'; p++) {
        if (p - s == 11)
            return -1;
        sec = sec * 10 + (*p - '0');
    }
    if (p == s || timeexpr_frac(&p, &frac) < 0 || *p != '\0' ||
        sec > (INT64_MAX - frac) / TIMEEXPR_NS)
        return -1;          /* past what int64 ns hold (year 2262) */
    *out = sec * TIMEEXPR_NS + frac;
    return 0;
}

/* "YYYY-MM-DD" then nothing, or 'T'/' ' and "HH:MM[:SS[.FRAC]]". */
static int
timeexpr_local(const char *s, int64_t *out)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;

    if (timeexpr_digits(&p, 4, &y) < 0 || *p++ != '-' ||
        timeexpr_digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        timeexpr_digits(&p, 2, &d) < 0)
        return -1;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (timeexpr_digits(&p, 2, &h) < 0 || *p++ != ':' ||
            timeexpr_digits(&p, 2, &mi) < 0)
            return -1;
        if (*p == ':' && (p++, timeexpr_digits(&p, 2, &sec) < 0 ||
                          timeexpr_frac(&p, &frac) < 0))
            return -1;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 59)
        return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = sec,
                     .tm_isdst = -1 };
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 ||
        tm.tm_mday != d || tm.tm_hour != h || tm.tm_min != mi)
        return -1;          /* no such day, or a time in a DST gap */
    if ((int64_t)t > (INT64_MAX - frac) / TIMEEXPR_NS)
        return -1;          /* past year 2262 */
    /* before 1970 the caller clamps to 0 (so also before 1677, where
     * t * TIMEEXPR_NS would not fit) */
    *out = t < 0 ? -1 : (int64_t)t * TIMEEXPR_NS + frac;
    return 0;
}

static int64_t
timeexpr_ago(int64_t now, int64_t d)
{
    return d >= now ? 0 : now - d;
}

int
timeexpr_parse(const char *s, int64_t now, int64_t *out)
{
    int64_t v;

    if (strcmp(s, "now") == 0) {
        *out = now;
        return 0;
    }
    if (strncmp(s, "now-", 4) == 0 && duration_parse_ns(s + 4, &v) == 0) {
        *out = timeexpr_ago(now, v);
        return 0;
    }
    if (duration_parse_ns(s, &v) == 0) {
        *out = timeexpr_ago(now, v);
        return 0;
    }
    if (timeexpr_unix(s, out) == 0)
        return 0;
    if (rfc3339_parse_ns(s, strlen(s), &v) == 0 ||
        timeexpr_local(s, &v) == 0) {
        *out = v < 0 ? 0 : v;
        return 0;
    }
    return -1;
}
