/* SPDX-License-Identifier: MIT */
/*
 * sparkline: small text renderings of numbers for `logq metrics` and
 * `logq health`: a one-line bar chart of a series (▁▂▃▄▅▆▇█, or an ASCII
 * ramp when the terminal's locale is not UTF-8) and compact values
 * ("12.5", "3.4M"). Pure: formats into a struct buf or a char array.
 */
#ifndef QUERY_SPARKLINE_H
#define QUERY_SPARKLINE_H

#include <stddef.h>

#include "common/buf.h"

#define SPARKLINE_MAX_WIDTH 60
#define SPARKLINE_ASCII     "_.,:-=+#"      /* eight levels, low to high */

/* Appends the sparkline of v[0..n) (n may be 0: nothing): at most width
 * columns (points are averaged into columns when n > width), each the
 * level of its value between the series' min and max (a flat series is
 * all lowest). Non-finite values are skipped. -1 when out's cap is hit. */
int  sparkline_format(struct buf *out, const double *v, size_t n,
                      size_t width, int is_utf8);

/* 1 when the locale from these variables (LC_ALL over LC_CTYPE over LANG,
 * NULL or "" meaning unset) names UTF-8. */
int  sparkline_locale_is_utf8(const char *lc_all, const char *lc_ctype,
                              const char *lang);

/* Formats v compactly: "0", "3.14", "12.5", "512", "1.5k", "3.4M", "2.0G",
 * "1.2T"; "-" when not finite. */
void sparkline_value_format(double v, char *out, size_t outlen);

#endif
