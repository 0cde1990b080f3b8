/* SPDX-License-Identifier: MIT */
/*
 * losses: the data shippers report lost for good, per host and source
 * (Docker deleted or truncated a log file before the shipper read it:
 * shipper/tail.h struct tail_loss), for /health and /api/v1/health. Fed
 * with the METRICS frames' shipper.session and shipper.lost.* samples
 * (shipper/METRICS.md, common/PROTOCOL.md "Lost data"). A shipper's figures
 * count since it started: when a host's session changes (a restart), what
 * its sources had reported is kept and the new figures add to it. Bounded:
 * at most max_rows sources (reports of more are counted: losses_dropped), names cut at
 * LOSSES_NAME_MAX bytes. The whole table (sessions included, so a
 * shipper that goes on reporting after a collector restart is not counted
 * twice) is encoded as text for the data directory (lossfile.c keeps it
 * there). Pure: no I/O, no logging.
 */
#ifndef COLLECTOR_INGEST_LOSSES_H
#define COLLECTOR_INGEST_LOSSES_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/wire.h"

#define LOSSES_NAME_MAX 256

struct losses_row {
    const char *host;
    const char *id;             /* container id (64 hex) */
    const char *name;           /* container name, "" if not known */
    uint64_t    bytes;          /* lost json-file bytes */
    uint64_t    lines;          /* lost json-file lines */
    uint64_t    events;         /* losses (or possible ones) */
    int         is_bytes_bound; /* bytes is a lower bound ("at least") */
    int         is_lines_bound; /* lines is a lower bound */
};

typedef void (*losses_fn)(void *arg, const struct losses_row *r);

struct losses *losses_new(size_t max_rows);
void losses_free(struct losses *l);
/* Takes the loss samples of one METRICS frame from host (m is consumed:
 * pass a copy). Other samples are skipped; malformed loss samples (id not
 * 64 hex digits, negative or non-integral values) are ignored. */
void losses_feed(struct losses *l, const char *host, struct wire_metrics *m);
/* Rows in order of first report. */
void losses_foreach(const struct losses *l, losses_fn fn, void *arg);
/* Reports (one per source and frame) refused at max_rows. */
uint64_t losses_dropped(const struct losses *l);
/* Bumped by every change of the table (figures, names, sessions). */
uint64_t losses_version(const struct losses *l);

/* Bytes of an encoded table of max_rows sources at most. */
size_t losses_encoded_max(size_t max_rows);
/* The table as text ("logq-losses 1" and one line per host and source).
 * -1 if it does not fit in out (cap: losses_encoded_max). */
int losses_encode(const struct losses *l, struct buf *out);
/* A table from losses_encode's text (at most max_rows sources); NULL with
 * *errstr ("line N: why", caller frees) on anything else. */
struct losses *losses_decode(const char *p, size_t len, size_t max_rows,
                             char **errstr);

#endif
