/* SPDX-License-Identifier: MIT */
/*
 * tailfx: the fixture of the tailer's tests (shipper/tail_test.c,
 * tail_loss_test.c): a temp directory laid out like a Docker container
 * dir, Docker's writes and rotations reproduced in it, a tailer over it
 * and the records it emitted, each checked as it comes (records tile the
 * positions). Test-only, header-only.
 */
#ifndef TESTS_SUPPORT_TAILFX_H
#define TESTS_SUPPORT_TAILFX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/record.h"
#include "common/xmalloc.h"
#include "shipper/tail.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MAX_RECS 256

struct rec {
    uint8_t         stream;
    uint8_t         flags;
    int64_t         time_ns;
    uint64_t        start;
    uint64_t        offset;
    char           *msg;
    size_t          len;
    struct tail_pos resume;
};

struct fixture {
    char                    dir[64];
    char                   *live;
    struct shipper_counters ctr;
    struct tail_config      cfg;
    struct tailer          *t;
    struct rec              recs[MAX_RECS];
    size_t                  n;
    uint64_t                written;    /* bytes written over all files */
    int                     has_last;   /* a record since new_tailer */
    uint64_t                last_end;   /* ... and its offset */
};

static inline void
collect(void *arg, const struct tail_record *r)
{
    struct fixture *f = arg;

    assert_true(f->n < MAX_RECS);
    struct rec *x = &f->recs[f->n++];
    x->stream = r->stream;
    x->flags = r->flags;
    x->time_ns = r->time_ns;
    x->start = r->start;
    x->offset = r->offset;
    /* records tile the positions (PROTOCOL.md "Plausible positions") */
    assert_true(r->start < r->offset);
    if (f->has_last)
        assert_int_equal(r->start, f->last_end);
    f->has_last = 1;
    f->last_end = r->offset;
    x->msg = xstrndup(r->msg, r->msg_len);
    x->len = r->msg_len;
    x->resume = r->resume;
}

static inline int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/tail_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->live = xasprintf("%s/%s-json.log", f->dir, ID);
    f->cfg.max_record = 1 << 20;
    f->cfg.chunk = 256 << 10;
    *state = f;
    return 0;
}

static inline int
teardown(void **state)
{
    struct fixture *f = *state;
    char *cmd = xasprintf("rm -rf %s", f->dir);

    tail_free(f->t);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    for (size_t i = 0; i < f->n; i++)
        free(f->recs[i].msg);
    free(f->live);
    free(f);
    return 0;
}

static inline void
new_tailer(struct fixture *f)
{
    tail_free(f->t);
    f->t = tail_new(f->dir, ID, &f->cfg, &f->ctr);
    f->has_last = 0;
}

/* Appends raw bytes to a file of the container ("" = live, ".1" ...). */
static inline void
append_raw(struct fixture *f, const char *suffix, const char *s, size_t n)
{
    char *path = xasprintf("%s%s", f->live, suffix);
    FILE *fp = fopen(path, "a");

    assert_non_null(fp);
    assert_int_equal(fwrite(s, 1, n, fp), n);
    fclose(fp);
    free(path);
    f->written += n;
}

/* Appends one json-file line; returns its length. */
static inline size_t
append_line(struct fixture *f, const char *stream, const char *msg,
            int partial)
{
    char *line = xasprintf("{\"log\":\"%s%s\",\"stream\":\"%s\",\"time\":"
                           "\"2026-01-02T03:04:05.000000006Z\"}\n", msg,
                           partial ? "" : "\\n", stream);
    size_t n = strlen(line);

    append_raw(f, "", line, n);
    free(line);
    return n;
}

static inline void
rename_file(struct fixture *f, const char *from, const char *to)
{
    char *a = xasprintf("%s%s", f->live, from);
    char *b = xasprintf("%s%s", f->live, to);

    assert_int_equal(rename(a, b), 0);
    free(a);
    free(b);
}

/* Docker's rotation with max-file=n: shift .k -> .k+1, live -> .1. */
static inline void
docker_rotate(struct fixture *f, int max_file)
{
    char from[16], to[16];

    for (int k = max_file - 1; k > 1; k--) {
        snprintf(from, sizeof(from), ".%d", k - 1);
        snprintf(to, sizeof(to), ".%d", k);
        char *p = xasprintf("%s%s", f->live, from);
        if (access(p, F_OK) == 0)
            rename_file(f, from, to);
        free(p);
    }
    rename_file(f, "", ".1");
    append_raw(f, "", "", 0);   /* creates the new live file */
}

/* f holds n records, those from index first on with the messages given
 * (a NULL ends them), in order. */
static inline void
expect_msgs(const struct fixture *f, size_t n, size_t first, ...)
{
    va_list ap;

    assert_int_equal(f->n, n);
    va_start(ap, first);
    for (const char *m; (m = va_arg(ap, const char *)) != NULL; first++)
        assert_string_equal(f->recs[first].msg, m);
    va_end(ap);
}

/* Steps until idle; returns the number of steps. */
static inline int
drain(struct fixture *f)
{
    int steps = 0;

    while (tail_step(f->t, collect, f) == TAIL_DATA)
        assert_true(++steps < 100000);
    return steps;
}

static inline void
check_offsets_increase(const struct fixture *f)
{
    for (size_t i = 1; i < f->n; i++)
        assert_true(f->recs[i].offset > f->recs[i - 1].offset);
}

/* The live file holds a1, a new tailer started on it read it: where the
 * rotation and loss tests start. */
static inline void
start_read_a1(struct fixture *f)
{
    append_line(f, "stdout", "a1", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
}

#endif
