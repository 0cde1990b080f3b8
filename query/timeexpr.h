/* SPDX-License-Identifier: MIT */
/*
 * timeexpr: the time expressions of --since/--until (--from/--to):
 *   now             the current time
 *   now-DURATION    DURATION back from now ("now-1h", "now-1h30m")
 *   DURATION        the same ("15m", "2h", "7d", "1h30m", "500ms")
 *   SECONDS[.FRAC]  unix time ("1795787440", "1795787440.5")
 *   RFC 3339        with Z or an offset ("2026-11-27T13:50:40.5+01:00")
 *   DATE[TTIME]     without an offset: local time (the zone of $TZ):
 *                   "2026-11-27" (midnight), "2026-11-27T13:50",
 *                   "2026-11-27 13:50:40", "2026-11-27T13:50:40.25"
 * Pure except for the local zone, which mktime(3) reads from TZ; a local
 * time that does not exist (skipped by a DST change) is an error, and one
 * that exists twice is the first.
 */
#ifndef QUERY_TIMEEXPR_H
#define QUERY_TIMEEXPR_H

#include <stdint.h>

/* now is unix ns. 0 with *out unix ns, -1 if s is none of the above (or
 * out of range). A time before 1970 is clamped to 0 ("100000d"). */
int timeexpr_parse(const char *s, int64_t now, int64_t *out);

#endif
