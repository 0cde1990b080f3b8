/* SPDX-License-Identifier: MIT */
/*
 * timeutil: wall and monotonic clocks in nanoseconds, RFC 3339 parsing and
 * formatting (always UTC, never local time), and durations like "15m".
 */
#ifndef COMMON_TIMEUTIL_H
#define COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t now_ns(void);          /* CLOCK_REALTIME */
int64_t mono_ns(void);         /* CLOCK_MONOTONIC */

/* Parses RFC 3339 ("2026-11-27T13:50:40Z", optional fraction of up to 9
 * digits, 'Z' or +hh:mm / -hh:mm) into unix nanoseconds. -1 if malformed
 * (including trailing bytes). */
int rfc3339_parse_ns(const char *s, size_t len, int64_t *out);
/* Formats as "2026-11-27T13:50:40.123456789Z"; returns the length. */
size_t time_ns_format(int64_t ns, char out[40]);
/* Parses a duration "90s", "15m", "2h", "7d", "1w", "500ms" (one or more
 * number+unit pairs, e.g. "1h30m") into nanoseconds. -1 if malformed. */
int duration_parse_ns(const char *s, int64_t *out);

#endif
