/* SPDX-License-Identifier: MIT */
/*
 * sparkline: see sparkline.h. The eight block characters U+2581..U+2588
 * are three UTF-8 bytes each (E2 96 81..88).
 */
#include "query/sparkline.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Averages v into at most width columns; returns the column count. */
static size_t
sparkline_columns(const double *v, size_t n, size_t width, double *col)
{
    size_t n_cols = n < width ? n : width, k = 0;

    for (size_t c = 0; c < n_cols; c++) {
        size_t end = (c + 1) * n / n_cols;
        double sum = 0;
        size_t cnt = 0;
        for (; k < end; k++) {
            if (isfinite(v[k])) {
                sum += v[k];
                cnt++;
            }
        }
        col[c] = cnt ? sum / (double)cnt : NAN;
    }
    return n_cols;
}

static int
sparkline_level_append(struct buf *out, int level, int is_utf8)
{
    if (!is_utf8)
        return buf_append(out, &SPARKLINE_ASCII[level], 1);
    char b[3] = { (char)0xe2, (char)0x96, (char)(0x81 + level) };
    return buf_append(out, b, 3);
}

int
sparkline_format(struct buf *out, const double *v, size_t n, size_t width,
                 int is_utf8)
{
    double col[SPARKLINE_MAX_WIDTH];
    double lo = INFINITY, hi = -INFINITY;
    size_t start = out->len;

    if (width == 0 || width > SPARKLINE_MAX_WIDTH)
        width = SPARKLINE_MAX_WIDTH;
    size_t n_cols = sparkline_columns(v, n, width, col);
    for (size_t c = 0; c < n_cols; c++) {
        if (!isfinite(col[c]))
            continue;
        lo = col[c] < lo ? col[c] : lo;
        hi = col[c] > hi ? col[c] : hi;
    }
    for (size_t c = 0; c < n_cols; c++) {
        if (!isfinite(col[c]))
            continue;
        int level = hi > lo ? (int)lround((col[c] - lo) / (hi - lo) * 7.0)
                            : 0;
        if (sparkline_level_append(out, level < 0 ? 0 : level > 7 ? 7 : level,
                                   is_utf8) < 0) {
            out->len = start;
            return -1;
        }
    }
    return 0;
}

static int
sparkline_names_utf8(const char *s)
{
    const char *dot = strchr(s, '.');

    if (dot == NULL)
        return 0;
    dot++;
    return strncasecmp(dot, "utf-8", 5) == 0 ||
           strncasecmp(dot, "utf8", 4) == 0;
}

int
sparkline_locale_is_utf8(const char *lc_all, const char *lc_ctype,
                         const char *lang)
{
    const char *s = lc_all;

    if (s == NULL || s[0] == '\0')
        s = lc_ctype;
    if (s == NULL || s[0] == '\0')
        s = lang;
    if (s == NULL || s[0] == '\0')
        return 0;
    return sparkline_names_utf8(s);
}

void
sparkline_value_format(double v, char *out, size_t outlen)
{
    static const char suffix[] = "kMGTPE";
    double a = fabs(v);

    if (!isfinite(v)) {
        snprintf(out, outlen, "-");
        return;
    }
    if (a < 1000) {
        if (a == floor(a))
            snprintf(out, outlen, "%.0f", v);
        else
            snprintf(out, outlen, a < 10 ? "%.2f" : "%.1f", v);
        return;
    }
    int k = -1;
    while (a >= 999.95 && k < 5) {
        a /= 1000;
        v /= 1000;
        k++;
    }
    snprintf(out, outlen, "%.1f%c", v, suffix[k]);
}
