/* SPDX-License-Identifier: MIT */
/*
 * timeutil: clocks in nanoseconds, RFC 3339 parse/format in UTC (timegm and
 * gmtime_r only, never the local zone), and Go-style durations. The parser
 * and formatter sit on the per-line path of the shipper and the query
 * output, so each keeps a per-thread cache of the calendar part:
 * consecutive log lines share their day (parse, one entry) or second
 * (format, two entries: a line's time and its receive time), which saves
 * the timegm/gmtime_r call on almost every line.
 */
#include "common/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC 1000000000ll

static _Thread_local int64_t timeutil_day_key = -1;
static _Thread_local int64_t timeutil_day_start;
/* The formatter's cache holds two seconds: a returned record's time and
 * its receive time are formatted in turn (record_json_append), and they
 * fall in different seconds whenever lines arrive late (a backlog, a
 * bench's old logs), where one entry missed on both, every line. */
struct timeutil_fmt {
    int64_t sec;
    size_t  len;
    char    prefix[32];
};
static _Thread_local struct timeutil_fmt timeutil_fmt[2] = {
    { .sec = INT64_MIN }, { .sec = INT64_MIN },
};
static _Thread_local unsigned timeutil_fmt_next;   /* the entry to replace */

/* ---- clocks ---- */

static int64_t
timeutil_clock(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t
now_ns(void)
{
    return timeutil_clock(CLOCK_REALTIME);
}

int64_t
mono_ns(void)
{
    return timeutil_clock(CLOCK_MONOTONIC);
}

/* ---- RFC 3339 parsing ---- */

/* Reads exactly n digits at *p; -1 if any is not a digit. */
static int
timeutil_digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;

    if (end - *p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int
timeutil_expect(const char **p, const char *end, char c1, char c2)
{
    if (*p >= end || (**p != c1 && **p != c2))
        return -1;
    (*p)++;
    return 0;
}

static int
timeutil_days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 ? 28 + leap : days[m - 1];
}

/* Unix seconds at 00:00:00 UTC of a valid date, cached per thread. */
static int64_t
timeutil_day_seconds(int y, int mo, int d)
{
    int64_t key = (int64_t)y * 10000 + mo * 100 + d;

    if (key == timeutil_day_key)
        return timeutil_day_start;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    timeutil_day_start = (int64_t)timegm(&tm);
    timeutil_day_key = key;
    return timeutil_day_start;
}

/* Parses the fraction after '.', 1-9 digits, scaled to nanoseconds. */
static int
timeutil_fraction(const char **p, const char *end, int64_t *ns)
{
    int64_t v = 0;
    int n = 0;

    while (*p < end && **p >= '0' && **p <= '9') {
        if (++n > 9)
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    if (n == 0)
        return -1;
    for (; n < 9; n++)
        v *= 10;
    *ns = v;
    return 0;
}

/* Parses 'Z' or +hh:mm / -hh:mm into seconds east of UTC. */
static int
timeutil_offset(const char **p, const char *end, int64_t *off)
{
    int hh, mm;

    if (*p < end && (**p == 'Z' || **p == 'z')) {
        (*p)++;
        *off = 0;
        return 0;
    }
    if (*p >= end || (**p != '+' && **p != '-'))
        return -1;
    int sign = **p == '-' ? -1 : 1;
    (*p)++;
    if (timeutil_digits(p, end, 2, &hh) < 0 ||
        timeutil_expect(p, end, ':', ':') < 0 ||
        timeutil_digits(p, end, 2, &mm) < 0 || hh > 23 || mm > 59)
        return -1;
    *off = sign * (int64_t)(hh * 3600 + mm * 60);
    return 0;
}

int
rfc3339_parse_ns(const char *s, size_t len, int64_t *out)
{
    const char *p = s, *end = s + len;
    int y, mo, d, h, mi, sec;
    int64_t frac = 0, off, total;

    if (timeutil_digits(&p, end, 4, &y) < 0 ||
        timeutil_expect(&p, end, '-', '-') < 0 ||
        timeutil_digits(&p, end, 2, &mo) < 0 ||
        timeutil_expect(&p, end, '-', '-') < 0 ||
        timeutil_digits(&p, end, 2, &d) < 0 ||
        timeutil_expect(&p, end, 'T', 't') < 0 ||
        timeutil_digits(&p, end, 2, &h) < 0 ||
        timeutil_expect(&p, end, ':', ':') < 0 ||
        timeutil_digits(&p, end, 2, &mi) < 0 ||
        timeutil_expect(&p, end, ':', ':') < 0 ||
        timeutil_digits(&p, end, 2, &sec) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > timeutil_days_in_month(y, mo) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    if (p < end && *p == '.' && (p++, timeutil_fraction(&p, end, &frac) < 0))
        return -1;
    if (timeutil_offset(&p, end, &off) < 0 || p != end)
        return -1;
    int64_t secs = timeutil_day_seconds(y, mo, d) + h * 3600 + mi * 60 + sec -
                   off;
    /* Before 1970 with a fraction, as (secs + 1) s - (1 s - frac): the
     * earliest time, INT64_MIN ns, has whole seconds below INT64_MIN ns. */
    if (secs < 0 && frac > 0) {
        secs++;
        frac -= NS_PER_SEC;
    }
    if (__builtin_mul_overflow(secs, NS_PER_SEC, &total) ||
        __builtin_add_overflow(total, frac, &total))
        return -1;
    *out = total;
    return 0;
}

/* ---- formatting ---- */

size_t
time_ns_format(int64_t ns, char out[40])
{
    int64_t sec = ns / NS_PER_SEC;
    int64_t frac = ns % NS_PER_SEC;

    if (frac < 0) {
        frac += NS_PER_SEC;
        sec--;
    }
    struct timeutil_fmt *f = &timeutil_fmt[0];
    if (f->sec != sec)
        f = &timeutil_fmt[1];
    if (f->sec != sec) {
        f = &timeutil_fmt[timeutil_fmt_next];
        timeutil_fmt_next ^= 1;
        struct tm tm;
        time_t t = (time_t)sec;
        if (gmtime_r(&t, &tm) == NULL)
            memset(&tm, 0, sizeof(tm));
        int n = snprintf(f->prefix, sizeof(f->prefix),
                         "%04d-%02d-%02dT%02d:%02d:%02d",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (n < 0 || (size_t)n >= sizeof(f->prefix))
            n = 0;
        f->len = (size_t)n;
        f->sec = sec;
    }
    size_t len = f->len;
    memcpy(out, f->prefix, len);
    out[len++] = '.';
    for (int i = 8; i >= 0; i--) {
        out[len + (size_t)i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    len += 9;
    out[len++] = 'Z';
    out[len] = '\0';
    return len;
}

/* ---- durations ---- */

static int
timeutil_unit(const char **p, int64_t *mult)
{
    static const struct {
        const char *name;
        int64_t     ns;
    } units[] = {
        { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 },
        { "s", NS_PER_SEC }, { "m", 60 * NS_PER_SEC },
        { "h", 3600 * NS_PER_SEC }, { "d", 86400 * NS_PER_SEC },
        { "w", 7 * 86400 * NS_PER_SEC },
    };

    /* two-letter units first so "ms" is not read as "m" then "s" */
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(*p, units[i].name, n) == 0) {
            *p += n;
            *mult = units[i].ns;
            return 0;
        }
    }
    return -1;
}

int
duration_parse_ns(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t total = 0;

    if (*p == '\0')
        return -1;
    while (*p != '\0') {
        int64_t v = 0, mult, part;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            if (__builtin_mul_overflow(v, 10, &v) ||
                __builtin_add_overflow(v, *p - '0', &v))
                return -1;
            p++;
        }
        if (timeutil_unit(&p, &mult) < 0 ||
            __builtin_mul_overflow(v, mult, &part) ||
            __builtin_add_overflow(total, part, &total))
            return -1;
    }
    *out = total;
    return 0;
}
