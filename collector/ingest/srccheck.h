/* SPDX-License-Identifier: MIT */
/*
 * srccheck: what a BATCH's source table may hold (common/PROTOCOL.md
 * "Source metadata"): a container id of 64 lower-case hex digits (what
 * Docker gives), a name and an image of at most SRCCHECK_MAX_TEXT bytes
 * of valid UTF-8 without control characters (C0, DEL, C1). Pure.
 */
#ifndef COLLECTOR_INGEST_SRCCHECK_H
#define COLLECTOR_INGEST_SRCCHECK_H

#include <stddef.h>

#include "common/wire.h"

#define SRCCHECK_ID_LEN     64
#define SRCCHECK_MAX_TEXT   WIRE_MAX_NAME_LEN   /* 256 */

/* 1 if p[0..len) is 64 lower-case hex digits. */
int srccheck_id(const char *p, size_t len);
/* 1 if p[0..len) is at most SRCCHECK_MAX_TEXT bytes of printable UTF-8. */
int srccheck_text(const char *p, size_t len);
/* NULL if s may be stored, else why not (a static string). */
const char *srccheck_source(const struct wire_source *s);

#endif
