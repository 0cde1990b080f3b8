/* SPDX-License-Identifier: MIT */
/*
 * loggen_text: what logq-loggen appends to a line besides template text:
 * numbers (two digits a step), hex, UUIDs, IPv4 addresses (a few
 * clients very frequent), fixed-point numbers, and times in the log
 * styles of the kinds and Docker's own, the broken-down time cached per
 * second. Hand-written formatting, no printf: json-file output above
 * 200 MB/s (loggen.c).
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "tests/support/loggen_internal.h"

/* ------------------------------------------------------------------ */
/* Line building                                                       */
/* ------------------------------------------------------------------ */

/* Decimal, zero-padded to at least width digits; two digits per step. */
void
lg_u(struct lg_line *l, uint64_t v, int width)
{
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "6869707172737475767778798081828384858687888990919293949596979899";
    char t[24];
    int n = 24;

    while (v >= 100) {
        size_t k = (size_t)(v % 100) * 2;
        v /= 100;
        t[--n] = pairs[k + 1];
        t[--n] = pairs[k];
    }
    if (v >= 10) {
        t[--n] = pairs[v * 2 + 1];
        t[--n] = pairs[v * 2];
    } else {
        t[--n] = (char)('0' + v);
    }
    while (24 - n < width && n > 0)
        t[--n] = '0';
    lg_mem(l, t + n, (size_t)(24 - n));
}

void
lg_hex(struct lg *g, struct lg_line *l, int n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t r = 0;

    for (int i = 0; i < n; i++) {
        if (i % 16 == 0)
            r = lg_next(g);
        lg_c(l, hex[r & 15]);
        r >>= 4;
    }
}

void
lg_uuid(struct lg *g, struct lg_line *l)
{
    static const int part[5] = {8, 4, 4, 4, 12};

    for (int i = 0; i < 5; i++) {
        if (i)
            lg_c(l, '-');
        lg_hex(g, l, part[i]);
    }
}

void
lg_ip(struct lg_line *l, uint32_t a)
{
    for (int i = 3; i >= 0; i--) {
        lg_u(l, (a >> (8 * i)) & 255, 0);
        if (i)
            lg_c(l, '.');
    }
}

/* Mostly private addresses, some public ones, a few very frequent. */
uint32_t
lg_addr(struct lg *g)
{
    uint64_t r = lg_next(g);

    switch (r % 8) {
    case 0: case 1: case 2:
        return g->clients[(r >> 8) % 64];
    case 3: case 4:
        return 0x0a000000u | ((uint32_t)(r >> 16) & 0x00ffffffu);
    case 5:
        return 0xac100000u | ((uint32_t)(r >> 16) & 0x000fffffu);
    default:
        return (uint32_t)((r >> 24) % 223 + 1) << 24 |
               ((uint32_t)(r >> 32) & 0x00ffffffu);
    }
}

/* A fixed-point number with d decimals. */
void
lg_fixed(struct lg_line *l, double v, int d)
{
    uint64_t scale = d == 1 ? 10 : d == 2 ? 100 : 1000;
    uint64_t x = (uint64_t)(v * (double)scale + 0.5);

    lg_u(l, x / scale, 0);
    lg_c(l, '.');
    lg_u(l, x % scale, d);
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

static const char *const lg_mon[12] = {"Jan", "Feb", "Mar", "Apr", "May",
                                       "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"};

static const struct tm *
lg_tm(struct lg *g, int64_t ns)
{
    int64_t sec = ns >= 0 ? ns / 1000000000 : (ns + 1) / 1000000000 - 1;

    if (sec != g->tm_sec) {
        time_t t = (time_t)sec;
        gmtime_r(&t, &g->tm);
        g->tm_sec = sec;
    }
    return &g->tm;
}

static int64_t
lg_frac(int64_t ns)
{
    int64_t f = ns % 1000000000;

    return f < 0 ? f + 1000000000 : f;
}

static void
lg_ymd(struct lg_line *l, const struct tm *tm, char sep)
{
    lg_u(l, (uint64_t)tm->tm_year + 1900, 4);
    lg_c(l, sep);
    lg_u(l, (uint64_t)tm->tm_mon + 1, 2);
    lg_c(l, sep);
    lg_u(l, (uint64_t)tm->tm_mday, 2);
}

static void
lg_hms(struct lg_line *l, const struct tm *tm)
{
    lg_u(l, (uint64_t)tm->tm_hour, 2);
    lg_c(l, ':');
    lg_u(l, (uint64_t)tm->tm_min, 2);
    lg_c(l, ':');
    lg_u(l, (uint64_t)tm->tm_sec, 2);
}

/* Timestamp styles: 'i' "2026-11-27 13:50:40,123", 'z' ISO with millis and
 * Z, 'a' Apache "27/Nov/2026:13:50:40 +0000", 's' syslog "Nov 27 13:50:40",
 * 'n' nginx error "2026/11/27 13:50:40". */
void
lg_time(struct lg *g, struct lg_line *l, char style)
{
    const struct tm *tm = lg_tm(g, g->t_ns);
    uint64_t ms = (uint64_t)lg_frac(g->t_ns) / 1000000;

    switch (style) {
    case 'a':
        lg_u(l, (uint64_t)tm->tm_mday, 2);
        lg_c(l, '/');
        lg_s(l, lg_mon[tm->tm_mon]);
        lg_c(l, '/');
        lg_u(l, (uint64_t)tm->tm_year + 1900, 4);
        lg_c(l, ':');
        lg_hms(l, tm);
        lg_s(l, " +0000");
        break;
    case 's':
        lg_s(l, lg_mon[tm->tm_mon]);
        lg_c(l, ' ');
        if (tm->tm_mday < 10)
            lg_c(l, ' ');
        lg_u(l, (uint64_t)tm->tm_mday, 0);
        lg_c(l, ' ');
        lg_hms(l, tm);
        break;
    default:
        lg_ymd(l, tm, style == 'n' ? '/' : '-');
        lg_c(l, style == 'z' ? 'T' : ' ');
        lg_hms(l, tm);
        if (style == 'n')
            break;
        lg_c(l, style == 'z' ? '.' : ',');
        lg_u(l, ms, 3);
        if (style == 'z')
            lg_c(l, 'Z');
    }
}

/* Docker's RFC3339Nano: fraction without trailing zeros, omitted if 0. */
void
lg_docker_time(struct lg *g, struct lg_line *l, int64_t ns)
{
    const struct tm *tm = lg_tm(g, ns);
    uint64_t f = (uint64_t)lg_frac(ns);
    int digits = 9;

    lg_ymd(l, tm, '-');
    lg_c(l, 'T');
    lg_hms(l, tm);
    if (f != 0) {
        while (f % 10 == 0) {
            f /= 10;
            digits--;
        }
        lg_c(l, '.');
        lg_u(l, f, digits);
    }
    lg_c(l, 'Z');
}
