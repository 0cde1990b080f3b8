/* SPDX-License-Identifier: MIT */
/*
 * compressor_test: the worker pool on a real event_base: inline mode,
 * many jobs on several workers (each delivered once, on the loop thread,
 * with a frame that decodes to its own seq and records), renumbering
 * frames (RESEQ jobs, compressed and stored input, garbage), an encode
 * error delivered as rc -1, freeing with jobs still queued, bad thread
 * counts.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "common/wire.h"
#include "common/xmalloc.h"
#include "shipper/compressor.h"

#define N_JOBS 60
#define ZLIB1  ((struct wire_codec){ WIRE_F_ZLIB, 1 })
#define ZSTD1  ((struct wire_codec){ WIRE_F_ZSTD, 1 })

static const struct wire_codec zlib1 = { WIRE_F_ZLIB, 1 };

struct job_slot {
    struct compressor_job  job;
    struct wire_batch_enc  enc;
    struct buf             out;
    int                    n_done;
};

struct fix {
    struct event_base *base;
    pthread_t          loop_thread;
    struct job_slot    slots[N_JOBS];
    int                n_done;
    int                n_off_thread;
    int                n_failed;
};

static void
on_done(void *arg, struct compressor_job *job)
{
    struct fix *x = arg;
    struct job_slot *sl = job->arg;

    sl->n_done++;
    x->n_done++;
    if (!pthread_equal(pthread_self(), x->loop_thread))
        x->n_off_thread++;
    if (job->rc < 0)
        x->n_failed++;
}

static void check_frame(const struct job_slot *sl, int i);
static void check_frame_seq(const struct job_slot *sl, int i, uint64_t seq);

/* Slot i: i % 9 + 1 records of varied text (so sizes and times vary). */
static void
fill(struct job_slot *sl, int i, size_t out_max)
{
    static const struct wire_source src = {
        .id = { "c1", 2 }, .name = { "web", 3 }, .image = { "img", 3 },
        .labels = { "", 0 },
    };
    char text[4096];

    wire_batch_enc_init(&sl->enc, 1 << 20);
    assert_int_equal(wire_batch_enc_add_source(&sl->enc, &src), 0);
    for (int r = 0; r < i % 9 + 1; r++) {
        size_t len = (size_t)((i * 131 + r * 17) % (int)sizeof(text)) + 1;
        for (size_t k = 0; k < len; k++)
            text[k] = (char)('a' + (k * (size_t)(i + 3) + (size_t)r) % 26);
        struct wire_record wr = {
            .source = 0, .time_ns = 1, .offset = (uint64_t)(i * 10 + r + 1),
            .msg = { text, len },
        };
        assert_int_equal(wire_batch_enc_add_record(&sl->enc, &wr), 0);
    }
    buf_init(&sl->out, out_max);
    sl->job = (struct compressor_job){
        .enc = &sl->enc, .seq = (uint64_t)i + 1, .codec = ZLIB1,
        .out = &sl->out, .arg = sl,
    };
}

static void
check_frame(const struct job_slot *sl, int i)
{
    check_frame_seq(sl, i, (uint64_t)i + 1);
}

static void
check_frame_seq(const struct job_slot *sl, int i, uint64_t seq)
{
    struct wire_frame f;
    size_t used;
    const char *err = NULL;
    struct buf scratch;
    const uint8_t *p;
    size_t len;
    struct wire_batch b;

    assert_int_equal(sl->job.rc, 0);
    assert_int_equal(wire_frame_decode(sl->out.data, sl->out.len, &f, &used,
                                       &err), 1);
    assert_int_equal(used, sl->out.len);
    buf_init(&scratch, WIRE_MAX_INFLATED);
    assert_int_equal(wire_frame_payload(&f, &scratch, &p, &len, &err), 0);
    assert_int_equal(wire_batch_decode(p, len, &b, &err), 0);
    assert_int_equal(b.seq, seq);
    assert_int_equal(b.n_records, (uint32_t)(i % 9 + 1));
    wire_batch_fini(&b);
    buf_fini(&scratch);
}

static int
setup(void **state)
{
    struct fix *x = xcalloc(1, sizeof(*x));

    x->base = event_base_new();
    assert_non_null(x->base);
    x->loop_thread = pthread_self();
    *state = x;
    return 0;
}

static int
teardown(void **state)
{
    struct fix *x = *state;

    for (int i = 0; i < N_JOBS; i++) {
        wire_batch_enc_fini(&x->slots[i].enc);
        buf_fini(&x->slots[i].out);
    }
    event_base_free(x->base);
    free(x);
    return 0;
}

/* Runs the loop in 10 ms ticks until cond holds (at most ~5 s). */
#define RUN_UNTIL(x, cond)                                         \
    do {                                                           \
        for (int i_ = 0; i_ < 500 && !(cond); i_++) {              \
            struct timeval tv_ = { 0, 10000 };                     \
            event_base_loopexit((x)->base, &tv_);                  \
            event_base_dispatch((x)->base);                        \
        }                                                          \
        assert_true(cond);                                         \
    } while (0)

static void
test_compressor_inline_runs_in_submit(void **state)
{
    struct fix *x = *state;
    struct compressor *c = compressor_new(x->base, 0, on_done, x);

    assert_non_null(c);
    fill(&x->slots[0], 0, SIZE_MAX);
    compressor_submit(c, &x->slots[0].job);
    assert_int_equal(x->n_done, 1);
    assert_int_equal(compressor_pending(c), 0);
    check_frame(&x->slots[0], 0);
    compressor_free(c);
}

static void
test_compressor_pool_delivers_each_job_once_on_loop(void **state)
{
    struct fix *x = *state;
    struct compressor *c = compressor_new(x->base, 3, on_done, x);

    assert_non_null(c);
    for (int i = 0; i < N_JOBS; i++) {
        fill(&x->slots[i], i, SIZE_MAX);
        compressor_submit(c, &x->slots[i].job);
    }
    assert_int_equal(x->n_done, 0);     /* only the loop delivers */
    RUN_UNTIL(x, x->n_done == N_JOBS);
    assert_int_equal(compressor_pending(c), 0);
    assert_int_equal(x->n_off_thread, 0);
    for (int i = 0; i < N_JOBS; i++) {
        assert_int_equal(x->slots[i].n_done, 1);
        check_frame(&x->slots[i], i);
        /* the encoder is left as it was: the owner resets it */
        assert_int_equal(x->slots[i].enc.n_records, (uint32_t)(i % 9 + 1));
    }
    compressor_free(c);
}

static void
test_compressor_encode_error_is_delivered(void **state)
{
    struct fix *x = *state;
    struct compressor *c = compressor_new(x->base, 1, on_done, x);

    assert_non_null(c);
    fill(&x->slots[0], 5, 8);           /* output cap below a header */
    fill(&x->slots[1], 6, SIZE_MAX);
    compressor_submit(c, &x->slots[0].job);
    compressor_submit(c, &x->slots[1].job);
    RUN_UNTIL(x, x->n_done == 2);
    assert_int_equal(x->n_failed, 1);
    assert_int_equal(x->slots[0].job.rc, -1);
    assert_int_equal(x->slots[0].out.len, 0);
    check_frame(&x->slots[1], 6);
    compressor_free(c);
}

/* Freed with work queued and done-but-undelivered: no callback after, no
 * leak, no worker left running (ASan, TSan). */
static void
test_compressor_free_drops_pending_work(void **state)
{
    struct fix *x = *state;
    struct compressor *c = compressor_new(x->base, 2, on_done, x);

    assert_non_null(c);
    for (int i = 0; i < N_JOBS; i++) {
        fill(&x->slots[i], i, SIZE_MAX);
        compressor_submit(c, &x->slots[i].job);
    }
    assert_int_equal(compressor_pending(c), N_JOBS);
    compressor_free(c);
    event_base_loop(x->base, EVLOOP_NONBLOCK);
    assert_int_equal(x->n_done, 0);
}

/* A RESEQ job turns slot 0's frame into the same batch with seq 77 and
 * leaves the input frame as it was. */
static void
test_compressor_reseq_job(void **state)
{
    struct fix *x = *state;
    struct compressor *c = compressor_new(x->base, 2, on_done, x);
    struct job_slot *a = &x->slots[0], *b = &x->slots[1];

    assert_non_null(c);
    fill(a, 4, SIZE_MAX);
    compressor_submit(c, &a->job);
    RUN_UNTIL(x, x->n_done == 1);
    size_t before = a->out.len;
    buf_init(&b->out, SIZE_MAX);
    b->job = (struct compressor_job){
        .kind = COMPRESSOR_RESEQ, .frame = &a->out, .seq = 77,
        .codec = ZLIB1, .out = &b->out, .arg = b,
    };
    compressor_submit(c, &b->job);
    RUN_UNTIL(x, x->n_done == 2);
    assert_int_equal(b->job.rc, 0);
    check_frame_seq(b, 4, 77);
    check_frame_seq(a, 4, 5);
    assert_int_equal(a->out.len, before);
    compressor_free(c);
}

/* Stored (zlevel 0) input is copied, not patched in place; garbage and a
 * frame with bytes after it are refused with a reason. */
static void
test_compressor_reseq_stored_and_bad_input(void **state)
{
    struct fix *x = *state;
    struct job_slot *a = &x->slots[0];
    struct buf scratch, out;
    const char *err = NULL;

    fill(a, 2, SIZE_MAX);
    a->job.codec = (struct wire_codec){ 0, 0 };
    a->job.rc = wire_batch_enc_finish(&a->enc, 3, &a->out, 0);
    check_frame_seq(a, 2, 3);
    buf_init(&scratch, WIRE_MAX_INFLATED);
    buf_init(&out, SIZE_MAX);
    assert_int_equal(compressor_reseq(a->out.data, a->out.len, 9, &zlib1,
                                      &scratch, &out, &err), 0);
    check_frame_seq(a, 2, 3);                   /* input untouched */
    struct job_slot view = { .out = out };
    check_frame_seq(&view, 2, 9);

    buf_reset(&out);
    static const uint8_t junk[32] = "LQ not a frame at all, really..";
    assert_int_equal(compressor_reseq(junk, sizeof(junk), 1, &zlib1,
                                      &scratch, &out, &err), -1);
    assert_non_null(err);
    assert_int_equal(out.len, 0);
    assert_int_equal(buf_append(&a->out, "x", 1), 0);   /* trailing byte */
    err = NULL;
    assert_int_equal(compressor_reseq(a->out.data, a->out.len, 1, &zlib1,
                                      &scratch, &out, &err), -1);
    assert_non_null(err);
    buf_fini(&out);
    buf_fini(&scratch);
}

/* A frame made with one codec and renumbered for a connection that
 * negotiated the other (PROTOCOL.md "Compression") comes out with the
 * other codec's flag and the same records: zlib -> zstd -> zlib, by job. */
static void
test_compressor_reseq_codec_switch(void **state)
{
    struct fix *x = *state;
    struct compressor *c = compressor_new(x->base, 1, on_done, x);
    struct job_slot *a = &x->slots[0], *b = &x->slots[1], *d = &x->slots[2];

    assert_non_null(c);
    fill(a, 7, SIZE_MAX);
    compressor_submit(c, &a->job);
    RUN_UNTIL(x, x->n_done == 1);
    assert_int_equal(a->out.data[3], WIRE_F_ZLIB);
    buf_init(&b->out, SIZE_MAX);
    b->job = (struct compressor_job){
        .kind = COMPRESSOR_RESEQ, .frame = &a->out, .seq = 21,
        .codec = ZSTD1, .out = &b->out, .arg = b,
    };
    compressor_submit(c, &b->job);
    RUN_UNTIL(x, x->n_done == 2);
    assert_int_equal(b->out.data[3], WIRE_F_ZSTD);
    check_frame_seq(b, 7, 21);
    buf_init(&d->out, SIZE_MAX);
    d->job = (struct compressor_job){
        .kind = COMPRESSOR_RESEQ, .frame = &b->out, .seq = 22,
        .codec = ZLIB1, .out = &d->out, .arg = d,
    };
    compressor_submit(c, &d->job);
    RUN_UNTIL(x, x->n_done == 3);
    assert_int_equal(d->out.data[3], WIRE_F_ZLIB);
    check_frame_seq(d, 7, 22);
    /* a BATCH job straight to zstd */
    struct job_slot *e = &x->slots[3];
    fill(e, 8, SIZE_MAX);
    e->job.codec = ZSTD1;
    compressor_submit(c, &e->job);
    RUN_UNTIL(x, x->n_done == 4);
    assert_int_equal(e->out.data[3], WIRE_F_ZSTD);
    check_frame(e, 8);
    compressor_free(c);
}

static void
test_compressor_bad_thread_count(void **state)
{
    struct fix *x = *state;

    assert_null(compressor_new(x->base, -1, on_done, x));
    assert_null(compressor_new(x->base, COMPRESSOR_MAX_THREADS + 1, on_done,
                               x));
    compressor_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_compressor_inline_runs_in_submit, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_compressor_pool_delivers_each_job_once_on_loop, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_compressor_encode_error_is_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_compressor_free_drops_pending_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressor_reseq_codec_switch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressor_reseq_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_compressor_reseq_stored_and_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressor_bad_thread_count,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
