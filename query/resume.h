/* SPDX-License-Identifier: MIT */
/*
 * resume: where `logq -f` picks up after a reconnect, and which lines of
 * the catch-up it printed already (collector/API.md "Resuming a follow").
 * Every /follow of logq asks for resume=1: after the stream's history the
 * collector sends {"resume":"T"}, T its receive point; the live lines
 * after it come in receive order, each with "received" >= T. The resume
 * point is T, then the "received" of each live line printed after it. A
 * reconnect asks for received_since=point: every matching line the
 * collector received since, whatever its event time (a late backlog
 * too), then the live ones. The lines that request can send again are
 * those printed since the point was last set (before a resume line, or
 * live with received == point): their hashes are kept with how many lines
 * of each were printed (a line written twice in one batch, same time and
 * text, is two lines: the history skips as many as were printed, no
 * more), at most RESUME_MAX_KEPT hashes (past that a line may print
 * twice: n_unkept counts them). Pure; no I/O.
 */
#ifndef QUERY_RESUME_H
#define QUERY_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "common/record.h"

#define RESUME_MAX_KEPT (1u << 20)

struct resume_kept {
    uint64_t hash;
    uint32_t n_printed;     /* lines with this hash printed */
    uint32_t n_seen;        /* of them, met again in this stream's history */
};

struct resume {
    int64_t   point;        /* valid if has_point */
    int       has_point;
    int       is_live;      /* this stream's resume line was read */
    struct resume_kept *tab;    /* open addressing; hash 0: empty */
    size_t    tab_size;     /* a power of two, or 0 */
    size_t    n_kept;
    uint64_t  n_unkept;     /* lines not kept: over RESUME_MAX_KEPT */
};

void     resume_init(struct resume *r);
void     resume_fini(struct resume *r);
/* A new /follow stream: its lines are history until its resume line. */
void     resume_connect(struct resume *r);
/* 1 if line is a resume line (the point is set, the stream is live, the
 * kept hashes are forgotten), 0 if it is not one, -1 if it is a malformed
 * one. */
int      resume_line(struct resume *r, const char *line, size_t len);
/* 1 if err, the collector's answer to a /follow with resume=1, says it
 * does not know the parameter: a collector older than resuming (logq
 * then follows without it, telling that a reconnect leaves a gap). */
int      resume_refused(const char *err);
/* Identity of a record: a 64-bit hash (8 bytes a step, resume.c) over
 * its times, stream, host, container, container id and message (fields
 * delimited by their lengths). */
uint64_t resume_record_hash(const struct logrec *rec);
/* 1 if a line of this stream's history was printed already: fewer lines
 * with its hash were met in this history than were printed (each call
 * counts one met); live lines are never repeats. */
int      resume_is_repeat(struct resume *r, uint64_t hash);
/* Records that a line with this receive time and hash was printed (a
 * history line: met too). */
void     resume_printed(struct resume *r, int64_t recv_ns, uint64_t hash);

#endif
