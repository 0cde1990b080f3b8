/* SPDX-License-Identifier: MIT */
/*
 * tail_mem_test: after a catch-up of a long backlog (every read a whole
 * chunk), a container's read buffer holds no more resident memory than
 * one read chunk of the shipper (TAIL_CHUNK: 64 KiB, shipper/README.md
 * "memory is bounded by ... one read chunk") plus the line pending in it,
 * and it stays so while the container is followed live. The buffer is
 * allocated at its cap (max-record-size + 64 KiB of json slack + chunk:
 * 1.1 MiB with the default 1 MiB) and only the pages reads touch become
 * resident, for good: with 256 KiB reads, 100 containers that once had to
 * catch up held ~25 MiB (123ba17). Measured as the buffer's resident
 * pages (mincore) after its pages were dropped at the start, so the
 * allocator's history does not count. White-box: it includes
 * tail_internal.h for the buffer's address and size only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xmalloc.h"
#include "shipper/tail.h"
#include "shipper/tail_internal.h"
#include "tests/support/testdir.h"
#include "tests/support/testrng.h"

#define ID "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
/* The figure shipper/README.md gives the shipper's read chunk: raising
 * TAIL_CHUNK must change that text and this bound together. */
#define DOC_CHUNK      (64u << 10)
#define BACKLOG_BYTES  (4u << 20)
#define MSG_MAX        400

struct fx {
    char                    *dir;
    char                    *live;
    struct shipper_counters  ctr;
    struct tailer           *t;
    uint64_t                 n_lines;   /* written */
    uint64_t                 n_recs;    /* emitted */
    size_t                   line_max;  /* longest line written */
    uint64_t                 rng;
};

static unsigned
rn(struct fx *f, unsigned n)
{
    return testrng_below(&f->rng, n);
}

static void
count_cb(void *arg, const struct tail_record *r)
{
    struct fx *f = arg;

    (void)r;
    f->n_recs++;
}

/* Appends json-file lines of random lengths, about `bytes` in all. */
static void
write_lines(struct fx *f, size_t bytes)
{
    FILE *fp = fopen(f->live, "a");
    char msg[MSG_MAX + 1];
    size_t done = 0;

    assert_non_null(fp);
    while (done < bytes) {
        size_t len = 20 + rn(f, MSG_MAX - 20);
        for (size_t i = 0; i < len; i++)
            msg[i] = (char)('a' + rn(f, 26));
        msg[len] = '\0';
        int n = fprintf(fp, "{\"log\":\"%s %llu\\n\",\"stream\":\"stdout\","
                        "\"time\":\"2026-12-05T06:30:00.%09lluZ\"}\n", msg,
                        (unsigned long long)f->n_lines,
                        (unsigned long long)(f->n_lines % 1000000000));
        assert_true(n > 0);
        if ((size_t)n > f->line_max)
            f->line_max = (size_t)n;
        done += (size_t)n;
        f->n_lines++;
    }
    assert_int_equal(fclose(fp), 0);
}

/* The first and last whole pages inside the read buffer. */
static void
buf_pages(const struct tailer *t, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)t->rbuf, b = a + t->rcap;

    *lo = (a + page - 1) & ~(page - 1);
    *hi = b & ~(page - 1);
    assert_true(*hi > *lo);
}

/* Bytes of the read buffer's whole pages that are resident. */
static size_t
resident(const struct tailer *t)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo, hi;
    buf_pages(t, &lo, &hi);
    size_t n = (hi - lo) / page, in = 0;
    unsigned char *vec = xmalloc(n);

    assert_int_equal(mincore((void *)lo, hi - lo, vec), 0);
    for (size_t i = 0; i < n; i++)
        in += vec[i] & 1;
    free(vec);
    return in * page;
}

/* Steps until everything written is read; every line is a record. */
static void
catch_up(struct fx *f)
{
    for (int n = 0; tail_step(f->t, count_cb, f) == TAIL_DATA; n++)
        assert_true(n < 100000);
    assert_int_equal(f->n_recs, f->n_lines);
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    f->dir = testdir_make("tail_mem_test");
    assert_non_null(f->dir);
    f->live = xasprintf("%s/%s-json.log", f->dir, ID);
    f->rng = 0x7a11c0deULL;
    /* the shipper's: max-record-size's default, main.c's chunk */
    struct tail_config cfg = { .max_record = 1 << 20, .chunk = TAIL_CHUNK };
    f->t = tail_new(f->dir, ID, &cfg, &f->ctr);
    /* pages the allocator had touched before are not the reads' */
    uintptr_t lo, hi;
    buf_pages(f->t, &lo, &hi);
    assert_int_equal(madvise((void *)lo, hi - lo, MADV_DONTNEED), 0);
    assert_true(resident(f->t) <= 2 * (size_t)sysconf(_SC_PAGESIZE));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd = xasprintf("rm -rf '%s'", f->dir);

    tail_free(f->t);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f->live);
    free(f->dir);
    free(f);
    return 0;
}

/* The bound: one chunk past the pending start of a line, whole pages. */
static size_t
bound(const struct fx *f)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    return (DOC_CHUNK + f->line_max + 2 * page) & ~(page - 1);
}

static void
test_tail_mem_catch_up_bounded(void **state)
{
    struct fx *f = *state;

    write_lines(f, BACKLOG_BYTES);
    catch_up(f);
    size_t in = resident(f->t);
    if (in > bound(f))
        fail_msg("read buffer %zu bytes resident after a %u KiB catch-up, "
                 "bound %zu (chunk %u KiB + a %zu-byte line)", in,
                 BACKLOG_BYTES >> 10, bound(f), DOC_CHUNK >> 10, f->line_max);
    /* the measure sees the reads: a catch-up fills whole chunks */
    assert_true(in >= TAIL_CHUNK / 2);
}

static void
test_tail_mem_live_after_catch_up(void **state)
{
    struct fx *f = *state;

    write_lines(f, BACKLOG_BYTES);
    catch_up(f);
    for (int round = 0; round < 50; round++) {
        write_lines(f, 1 + rn(f, 3 * DOC_CHUNK / 2));
        catch_up(f);
        size_t in = resident(f->t);
        if (in > bound(f))
            fail_msg("round %d: %zu bytes resident, bound %zu", round, in,
                     bound(f));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tail_mem_catch_up_bounded,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_mem_live_after_catch_up,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
