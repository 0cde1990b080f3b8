/* SPDX-License-Identifier: MIT */
/*
 * ingest_dec_test: decoding a data frame on a worker thread gives what the
 * loop computed inline (wire_frame_payload + wire_batch_decode, the
 * reference path): the same seq, sources and records byte for byte, the
 * same errors for bad frames, and the jobs come back in submission order
 * through the collector's pool. Frames are built from every line of the
 * corpus ($LOGQ_CORPUS, *.log files; LOGQ_CORPUS=none skips that part, as
 * run-unit.sh decides) and from generated edge cases: empty, long (64 KiB)
 * and binary messages, many sources, plain frames, zlib at levels 1, 6
 * and 9 and zstd at -1, 1 and 3 (both codecs of PROTOCOL.md
 * "Compression"), truncated and corrupt payloads of both. MODE=tsan checks
 * the hand-offs.
 */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/ingest/ingest_dec.h"
#include "collector/search/pool.h"
#include "common/compress.h"
#include "common/xmalloc.h"
#include "tests/support/testrng.h"
#include "tests/support/corpusdir.h"

#define T_JOBS      4           /* in flight at once, as INGEST_DEC_JOBS */
#define T_BATCH_RAW (256u << 10)

/* One frame to check, and the order its job came back in. */
struct tframe {
    struct buf  wire;           /* the encoded frame */
    int         done_order;
};

struct tstate {
    struct tframe *fr;
    size_t         n, cap;
    uint64_t       rng;
    size_t         n_records;
    size_t         n_rc[3];     /* results by enum ingest_dec_rc */
};

static uint64_t
rnd(struct tstate *t)
{
    return testrng_next(&t->rng);
}

/* What frames are compressed with, in turn. */
static const struct wire_codec codecs[] = {
    { 0, 0 }, { WIRE_F_ZLIB, 1 }, { WIRE_F_ZSTD, 1 }, { WIRE_F_ZLIB, 6 },
    { WIRE_F_ZSTD, -1 }, { WIRE_F_ZLIB, 9 }, { WIRE_F_ZSTD, 3 },
};
#define N_CODECS (sizeof(codecs) / sizeof(codecs[0]))

static void
add_frame_codec(struct tstate *t, struct wire_batch_enc *e, uint64_t seq,
                const struct wire_codec *c)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->fr = xreallocarray(t->fr, t->cap, sizeof(*t->fr));
    }
    struct tframe *f = &t->fr[t->n++];
    buf_init(&f->wire, WIRE_HEADER_LEN + WIRE_MAX_PAYLOAD);
    f->done_order = -1;
    assert_int_equal(wire_batch_enc_finish_codec(e, seq, &f->wire, c), 0);
    wire_batch_enc_reset(e);
}

static void
add_frame(struct tstate *t, struct wire_batch_enc *e, uint64_t seq,
          int zlevel)
{
    struct wire_codec c = { zlevel > 0 ? WIRE_F_ZLIB : 0, zlevel };

    add_frame_codec(t, e, seq, &c);
}


/* Batches of the given messages over 3 sources, cut at T_BATCH_RAW. */
static void
add_messages(struct tstate *t, char **msgs, const size_t *lens, size_t n)
{
    struct wire_batch_enc e;
    static const struct wire_source srcs[3] = {
        { .id = { "c0", 2 }, .name = { "web", 3 }, .image = { "nginx:1", 7 },
          .labels = { "", 0 }, .start = 0 },
        { .id = { "c1", 2 }, .name = { "", 0 }, .image = { "", 0 },
          .labels = { "", 0 }, .start = 7 },
        { .id = { "c2", 2 }, .name = { "app", 3 }, .image = { "a:2", 3 },
          .labels = { "k=v", 3 }, .start = 1u << 20 },
    };
    uint64_t seq = 1;

    wire_batch_enc_init(&e, T_BATCH_RAW);
    for (size_t i = 0; i < n; i++) {
        struct wire_record r = {
            .source = (uint32_t)(i % 3), .stream = (uint8_t)(i & 1),
            .flags = (uint8_t)(rnd(t) % 2), .time_ns = (int64_t)rnd(t),
            .offset = i + 1, .msg = { msgs[i], lens[i] },
        };
        if (e.n_sources == 0)
            for (int k = 0; k < 3; k++)
                assert_int_equal(wire_batch_enc_add_source(&e, &srcs[k]), k);
        if (wire_batch_enc_add_record(&e, &r) < 0) {
            add_frame_codec(t, &e, seq, &codecs[seq % N_CODECS]);
            seq++;
            for (int k = 0; k < 3; k++)
                assert_int_equal(wire_batch_enc_add_source(&e, &srcs[k]), k);
            assert_int_equal(wire_batch_enc_add_record(&e, &r), 0);
        }
        t->n_records++;
    }
    if (e.n_records > 0)
        add_frame_codec(t, &e, seq, &codecs[seq % N_CODECS]);
    wire_batch_enc_fini(&e);
}

/* Every line of every *.log file of the corpus. */
static void
add_corpus(struct tstate *t, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **msgs = NULL;
    size_t *lens = NULL, n = 0, cap = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".log") != 0)
            continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        free(path);
        assert_non_null(f);
        char *line = NULL;
        size_t lcap = 0;
        ssize_t len;
        while ((len = getline(&line, &lcap, f)) >= 0) {
            if (n == cap) {
                cap = cap ? 2 * cap : 4096;
                msgs = xreallocarray(msgs, cap, sizeof(*msgs));
                lens = xreallocarray(lens, cap, sizeof(*lens));
            }
            if (len > 0 && line[len - 1] == '\n')
                len--;
            msgs[n] = xmalloc((size_t)len + 1);
            memcpy(msgs[n], line, (size_t)len);
            lens[n++] = (size_t)len;
        }
        free(line);
        fclose(f);
    }
    closedir(d);
    assert_true(n > 1000);      /* the corpus is there, not an empty dir */
    add_messages(t, msgs, lens, n);
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
    free(lens);
}

/* Empty, one-byte, long, binary (every byte value) and UTF-8 messages. */
static void
add_edge_cases(struct tstate *t)
{
    enum { N = 600 };
    char *msgs[N];
    size_t lens[N];

    for (size_t i = 0; i < N; i++) {
        size_t len;
        switch (i % 6) {
        case 0: len = 0; break;
        case 1: len = 1; break;
        case 2: len = 65536; break;
        case 3: len = 256; break;
        default: len = rnd(t) % 2000; break;
        }
        msgs[i] = xmalloc(len + 1);
        for (size_t k = 0; k < len; k++) {
            uint8_t c = (uint8_t)rnd(t);        /* binary */
            if (i % 6 == 3)
                c = (uint8_t)k;                 /* every byte value */
            else if (i % 6 == 4)
                c = (uint8_t)"\xc3\xa9x "[k % 4];  /* UTF-8 text */
            msgs[i][k] = (char)c;
        }
        lens[i] = len;
    }
    add_messages(t, msgs, lens, N);
    for (size_t i = 0; i < N; i++)
        free(msgs[i]);
}

/* The reference path and the job's result agree, byte for byte. */
static void
check_same(const struct tframe *tf, struct ingest_dec *d)
{
    struct wire_frame f;
    size_t used;
    const char *err = NULL, *err2 = NULL;
    struct buf scratch;
    const uint8_t *p;
    size_t len;

    assert_int_equal(wire_frame_decode(tf->wire.data, tf->wire.len, &f, &used,
                                       &err), 1);
    buf_init(&scratch, WIRE_MAX_INFLATED);
    if (wire_frame_payload(&f, &scratch, &p, &len, &err) < 0) {
        assert_int_equal(d->rc, INGEST_DEC_BAD_PAYLOAD);
        assert_string_equal(d->err, err);
        buf_fini(&scratch);
        return;
    }
    assert_int_equal(d->len, len);
    assert_memory_equal(d->p, p, len);
    struct wire_batch b;
    if (f.type != WIRE_BATCH) {
        buf_fini(&scratch);
        return;
    }
    if (wire_batch_decode(p, len, &b, &err2) < 0) {
        assert_int_equal(d->rc, INGEST_DEC_BAD_BATCH);
        assert_string_equal(d->err, err2);
        buf_fini(&scratch);
        return;
    }
    assert_int_equal(d->rc, INGEST_DEC_OK);
    assert_true(d->has_batch);
    assert_int_equal(d->batch.seq, b.seq);
    assert_int_equal(d->batch.n_sources, b.n_sources);
    assert_int_equal(d->batch.n_records, b.n_records);
    for (uint32_t i = 0; i < b.n_sources; i++) {
        const struct wire_source *x = &b.sources[i], *y = &d->batch.sources[i];
        assert_int_equal(x->id.len, y->id.len);
        assert_memory_equal(x->id.p, y->id.p, x->id.len);
        assert_int_equal(x->name.len, y->name.len);
        assert_memory_equal(x->name.p, y->name.p, x->name.len);
        assert_int_equal(x->image.len, y->image.len);
        assert_memory_equal(x->image.p, y->image.p, x->image.len);
        assert_int_equal(x->labels.len, y->labels.len);
        assert_memory_equal(x->labels.p, y->labels.p, x->labels.len);
        assert_int_equal(x->start, y->start);
    }
    struct wire_record rx, ry;
    for (;;) {
        int nx = wire_batch_next(&b, &rx), ny = wire_batch_next(&d->batch, &ry);
        assert_int_equal(nx, ny);
        if (nx != 1)
            break;
        assert_int_equal(rx.source, ry.source);
        assert_int_equal(rx.stream, ry.stream);
        assert_int_equal(rx.flags, ry.flags);
        assert_int_equal(rx.time_ns, ry.time_ns);
        assert_int_equal(rx.offset, ry.offset);
        assert_int_equal(rx.msg.len, ry.msg.len);
        assert_memory_equal(rx.msg.p, ry.msg.p, rx.msg.len);
    }
    wire_batch_fini(&b);
    buf_fini(&scratch);
}

/* ---- the pool run, as ingest_jobs.c does it ---- */

struct tjob {
    struct ingest_dec d;
    struct tstate    *t;
    size_t            idx;      /* frame */
    int              *n_done;
};

static void
tjob_run(struct pool_job *pj)
{
    struct tjob *j = pj->arg;

    ingest_dec_run(&j->d);
}

static void
tjob_done(struct pool_job *pj, int is_run)
{
    struct tjob *j = pj->arg;

    assert_true(is_run);
    j->t->fr[j->idx].done_order = (*j->n_done)++;
    j->t->n_rc[j->d.rc]++;
    check_same(&j->t->fr[j->idx], &j->d);
}

static void
run_all(struct tstate *t)
{
    char *err = NULL;
    struct pool *p = pool_new(1, T_JOBS, &err);
    struct tjob jobs[T_JOBS];
    int n_done = 0;
    size_t next = 0;

    assert_non_null(p);
    for (int i = 0; i < T_JOBS; i++) {
        ingest_dec_init(&jobs[i].d);
        jobs[i].t = t;
        jobs[i].n_done = &n_done;
    }
    /* job i carries frames i, i + T_JOBS, ...: reused once it is back */
    while ((size_t)n_done < t->n) {
        while (next < t->n && next - (size_t)n_done < T_JOBS) {
            struct tjob *j = &jobs[next % T_JOBS];
            struct wire_frame f;
            size_t used;
            const char *e = NULL;
            assert_int_equal(wire_frame_decode(t->fr[next].wire.data,
                                               t->fr[next].wire.len, &f,
                                               &used, &e), 1);
            assert_int_equal(ingest_dec_set(&j->d, &f), 0);
            j->idx = next++;
            j->d.pj = (struct pool_job){ .run = tjob_run, .done = tjob_done,
                                         .arg = j };
            assert_int_equal(pool_submit(p, &j->d.pj), 0);
        }
        struct pollfd pfd = { .fd = pool_fd(p), .events = POLLIN };
        assert_true(poll(&pfd, 1, 30000) == 1);
        pool_drain(p);
    }
    pool_free(p);
    for (size_t i = 0; i < t->n; i++) {
        assert_int_equal(t->fr[i].done_order, (int)i);
        buf_fini(&t->fr[i].wire);
    }
    for (int i = 0; i < T_JOBS; i++)
        ingest_dec_fini(&jobs[i].d);
    free(t->fr);
}

static void
test_edge_cases(void **state)
{
    struct tstate t = { .rng = 0x9e3779b97f4a7c15u };

    add_edge_cases(&t);
    assert_true(t.n > 4);
    run_all(&t);
    assert_int_equal(t.n_rc[INGEST_DEC_OK], t.n);
}

static void
test_corpus(void **state)
{
    struct tstate t = { .rng = 12345 };

    if (strcmp(corpus_dir(), "none") == 0) {
        print_message("[ SKIPPED  ] LOGQ_CORPUS=none: corpus part skipped\n");
        skip();
    }
    add_corpus(&t, corpus_dir());
    print_message("corpus: %zu lines in %zu frames\n", t.n_records, t.n);
    run_all(&t);
}

/* Truncated, corrupt and non-batch frames: the same verdict (and error
 * string) as the reference path; a METRICS payload passes through. */
static void
test_bad_frames(void **state)
{
    struct tstate t = { .rng = 7 };

    struct wire_batch_enc e;
    struct wire_source src = { .id = { "c", 1 }, .name = { "", 0 },
                               .image = { "", 0 }, .labels = { "", 0 } };
    struct wire_record r = { .source = 0, .offset = 1, .msg = { "hello", 5 } };
    static const struct wire_codec zstd3 = { WIRE_F_ZSTD, 3 };
    for (int variant = 0; variant < 9; variant++) {
        wire_batch_enc_init(&e, T_BATCH_RAW);
        assert_int_equal(wire_batch_enc_add_source(&e, &src), 0);
        assert_int_equal(wire_batch_enc_add_record(&e, &r), 0);
        if (variant >= 6)
            add_frame_codec(&t, &e, 1, &zstd3);
        else
            add_frame(&t, &e, 1, variant < 3 ? 6 : 0);
        wire_batch_enc_fini(&e);
        struct buf *w = &t.fr[t.n - 1].wire;
        size_t plen = w->len - WIRE_HEADER_LEN;
        uint8_t *pl = w->data + WIRE_HEADER_LEN;
        switch (variant) {
        case 0: pl[plen / 2] ^= 0x55; break;           /* corrupt zlib */
        case 1: pl[plen - 1] ^= 0xff; break;           /* adler32 */
        case 2: break;                                  /* good, zlib */
        case 3: pl[8] = 0xff; break;                   /* n_sources */
        case 4: break;                                  /* good, plain */
        case 5: plen = 4; break;                        /* short header */
        case 6: pl[0] ^= 0x55; break;                  /* zstd magic */
        case 7:                                         /* truncated zstd */
            plen--;
            w->len--;
            le32_store(w->data + 8, (uint32_t)plen);
            break;
        case 8: break;                                  /* good, zstd */
        }
        /* the frame's CRC matches the damaged payload: only the
         * payload's own checks can catch it (the MAC and CRC passed) */
        le32_store(w->data + 12, compress_crc32(0, pl, plen));
        if (variant == 5) {     /* re-frame with the shorter payload */
            struct buf nb;
            buf_init(&nb, WIRE_HEADER_LEN + WIRE_MAX_PAYLOAD);
            assert_int_equal(wire_frame_encode(&nb, WIRE_BATCH, pl, plen, 0), 0);
            buf_fini(w);
            *w = nb;
        }
    }
    /* METRICS (plain, zlib, zstd): the payload only, no batch decode */
    for (size_t k = 0; k < 3; k++) {
        wire_batch_enc_init(&e, T_BATCH_RAW);
        add_frame(&t, &e, 1, 0);
        wire_batch_enc_fini(&e);
        struct buf *w = &t.fr[t.n - 1].wire;
        buf_reset(w);
        assert_int_equal(wire_frame_encode_codec(w, WIRE_METRICS, "metrics?",
                                                 8, &codecs[k]), 0);
    }
    run_all(&t);
    assert_int_equal(t.n_rc[INGEST_DEC_BAD_PAYLOAD], 4);
    assert_int_equal(t.n_rc[INGEST_DEC_BAD_BATCH], 2);
    assert_int_equal(t.n_rc[INGEST_DEC_OK], 6);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
