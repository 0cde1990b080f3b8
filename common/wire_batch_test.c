/* SPDX-License-Identifier: MIT */
/*
 * wire_batch_test: the BATCH decoder's fast record reader (fixed offsets
 * once a record's length is checked: wire_batch_decode, wire_batch_next)
 * against the reference (every field through the bounds-checked reader:
 * wire_batch_decode_ref, wire_batch_next_ref). The same verdict and error
 * for every payload, and the same records, field by field and pointer by
 * pointer. Inputs: every line of the real samples (LOGQ_CORPUS, default
 * ../shared/corpus; "none" skips that part) as records of batches of
 * every size from 1 to 64; generated edge cases: empty messages and
 * messages at the length cap, each truncation of a batch, each byte of it
 * changed to values that break its field (lengths past the end or the
 * cap, bad stream, flags and source), trailing bytes, and record areas of
 * random bytes walked without the check.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "tests/support/testrng.h"
#include "tests/support/corpusdir.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
    return testrng_next(&rng_state);
}

/* The plain BATCH payload of the records msgs[0..n), written from
 * PROTOCOL.md "BATCH" by hand (the encoder refuses what the edge cases
 * need): n_sources sources, record i from source i % n_sources. */
static void
payload_build(struct buf *out, uint32_t n_sources, const char *const *msgs,
              const size_t *lens, size_t n)
{
    buf_reset(out);
    assert_int_equal(buf_put_u64(out, 77), 0);
    assert_int_equal(buf_put_u32(out, n_sources), 0);
    for (uint32_t i = 0; i < n_sources; i++) {
        char id[16];
        int idl = snprintf(id, sizeof(id), "c%u", i);
        assert_int_equal(buf_put_u16(out, (uint16_t)idl), 0);
        assert_int_equal(buf_append(out, id, (size_t)idl), 0);
        assert_int_equal(buf_put_u16(out, 3), 0);
        assert_int_equal(buf_append(out, "web", 3), 0);
        assert_int_equal(buf_put_u16(out, 0), 0);
        assert_int_equal(buf_put_u32(out, 0), 0);
        assert_int_equal(buf_put_u64(out, i), 0);
    }
    assert_int_equal(buf_put_u32(out, (uint32_t)n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(buf_put_u32(out, (uint32_t)(i % n_sources)), 0);
        assert_int_equal(buf_put_u8(out, (uint8_t)(rng() % 2)), 0);
        assert_int_equal(buf_put_u8(out, (uint8_t)(rng() % 2)), 0);
        assert_int_equal(buf_put_u64(out, rng()), 0);
        assert_int_equal(buf_put_u64(out, rng()), 0);
        assert_int_equal(buf_put_u32(out, (uint32_t)lens[i]), 0);
        assert_int_equal(buf_append(out, msgs[i], lens[i]), 0);
    }
}

static void
rec_equal(const struct wire_record *a, const struct wire_record *b)
{
    assert_int_equal(a->source, b->source);
    assert_int_equal(a->stream, b->stream);
    assert_int_equal(a->flags, b->flags);
    assert_true(a->time_ns == b->time_ns);
    assert_true(a->offset == b->offset);
    assert_ptr_equal(a->msg.p, b->msg.p);
    assert_int_equal(a->msg.len, b->msg.len);
}

/* Walks b (fast) and r (reference) in step: the same records, the same
 * end, the reader at the same place. Returns the records walked. */
static size_t
walk_equal(struct wire_batch *b, struct wire_batch *r)
{
    struct wire_record x, y;
    size_t n = 0;

    for (;;) {
        memset(&x, 0xa5, sizeof(x));
        memset(&y, 0xa5, sizeof(y));
        int rx = wire_batch_next(b, &x), ry = wire_batch_next_ref(r, &y);
        assert_int_equal(rx, ry);
        assert_int_equal(b->rd.pos, r->rd.pos);
        assert_int_equal(b->rd.err, r->rd.err);
        if (rx == 0)
            return n;
        rec_equal(&x, &y);
        n++;
    }
}

/* Decodes p both ways: the same verdict and error; walks them if good.
 * Returns 1 if the payload decoded. */
static int
check_payload(const uint8_t *p, size_t len)
{
    struct wire_batch b, r;
    const char *eb = NULL, *er = NULL;

    memset(&b, 0, sizeof(b));
    memset(&r, 0, sizeof(r));
    int rb = wire_batch_decode(p, len, &b, &eb);
    int rr = wire_batch_decode_ref(p, len, &r, &er);
    assert_int_equal(rb, rr);
    if (rb < 0) {
        assert_non_null(eb);
        assert_string_equal(eb, er);
        return 0;
    }
    assert_true(b.seq == r.seq);
    assert_int_equal(b.n_sources, r.n_sources);
    assert_int_equal(b.n_records, r.n_records);
    assert_int_equal(walk_equal(&b, &r), b.n_records);
    wire_batch_fini(&b);
    wire_batch_fini(&r);
    return 1;
}

/* ------------------------------------------------------------------ */
/* The corpus                                                          */

static size_t n_corpus_lines;

static void
check_lines(const char *const *msgs, const size_t *lens, size_t n,
            struct buf *pl)
{
    size_t i = 0, per = 1;

    while (i < n) {
        size_t k = n - i < per ? n - i : per;
        payload_build(pl, 1 + (uint32_t)(rng() % 3), msgs + i, lens + i, k);
        assert_int_equal(check_payload(pl->data, pl->len), 1);
        i += k;
        per = per % 64 + 1;             /* batches of 1..64 records */
    }
}

static void
check_file(const char *path, struct buf *pl)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct buf text;
    buf_init(&text, (size_t)1 << 30);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(&text, chunk, got), 0);
    fclose(f);

    size_t n = 0, cap = 1024;
    const char **msgs = xcalloc(cap, sizeof(*msgs));
    size_t *lens = xcalloc(cap, sizeof(*lens));
    const char *p = (const char *)text.data, *end = p + text.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (n == cap) {
            cap *= 2;
            msgs = xreallocarray(msgs, cap, sizeof(*msgs));
            lens = xreallocarray(lens, cap, sizeof(*lens));
        }
        msgs[n] = p;
        lens[n++] = (size_t)(e - p);
        p = nl ? nl + 1 : end;
    }
    check_lines(msgs, lens, n, pl);
    n_corpus_lines += n;
    free(msgs);
    free(lens);
    buf_fini(&text);
}

static void
test_batch_corpus(void **state)
{
    const char *dir = corpus_dir();
    struct buf pl;
    size_t n_files = 0;

    (void)state;
    if (strcmp(dir, "none") == 0) {
        print_message("[ SKIPPED  ] LOGQ_CORPUS=none: corpus part skipped\n");
        skip();
    }
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: no corpus (LOGQ_CORPUS=none skips it)", dir);
    buf_init(&pl, WIRE_MAX_INFLATED);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".log") != 0)
            continue;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        check_file(path, &pl);
        free(path);
        n_files++;
    }
    closedir(d);
    buf_fini(&pl);
    assert_true(n_files > 0);
    print_message("wire_batch corpus: %zu files, %zu lines\n", n_files,
                  n_corpus_lines);
}

/* ------------------------------------------------------------------ */
/* Edge cases                                                          */

/* A small batch of messages of the lengths that matter: empty, one
 * byte, and one of big bytes (7, WIRE_MAX_MSG_LEN, or one past it). */
static void
edge_batch(struct buf *pl, size_t big_len)
{
    static char big[WIRE_MAX_MSG_LEN + 1];
    const char *msgs[5] = { "", "x", "GET /index.html 200", big, "" };
    size_t lens[5] = { 0, 1, 19, big_len, 0 };

    memset(big, 'a', sizeof(big));
    payload_build(pl, 2, msgs, lens, 5);
}

static void
test_batch_truncated(void **state)
{
    struct buf pl;
    size_t n_good = 0;

    (void)state;
    buf_init(&pl, 2 * (size_t)WIRE_MAX_INFLATED);  /* room for the cap */
    edge_batch(&pl, 7);
    for (size_t len = 0; len <= pl.len; len++)
        n_good += (size_t)check_payload(pl.data, len);
    assert_int_equal(n_good, 1);        /* only the whole payload */
    /* trailing bytes */
    assert_int_equal(buf_put_u8(&pl, 0), 0);
    assert_int_equal(check_payload(pl.data, pl.len), 0);
    edge_batch(&pl, WIRE_MAX_MSG_LEN);  /* a message at the cap */
    assert_int_equal(check_payload(pl.data, pl.len), 1);
    edge_batch(&pl, WIRE_MAX_MSG_LEN + 1);      /* and past it */
    assert_int_equal(check_payload(pl.data, pl.len), 0);
    buf_fini(&pl);
}

static void
test_batch_bytes(void **state)
{
    static const uint8_t vals[] = { 0x00, 0x01, 0x02, 0x03, 0x7f, 0x80,
                                    0xfe, 0xff };
    struct buf pl, mut;
    size_t n_good = 0, n_bad = 0;

    (void)state;
    buf_init(&pl, WIRE_MAX_INFLATED);
    buf_init(&mut, WIRE_MAX_INFLATED);
    edge_batch(&pl, 7);
    for (size_t i = 0; i < pl.len; i++)
        for (size_t v = 0; v < sizeof(vals); v++) {
            buf_reset(&mut);
            assert_int_equal(buf_append(&mut, pl.data, pl.len), 0);
            mut.data[i] = vals[v];
            if (check_payload(mut.data, mut.len))
                n_good++;
            else
                n_bad++;
        }
    /* lengths of every record message set around the end and the cap */
    const uint32_t lens[] = { 0, 1, 6, 7, 8, 100, WIRE_MAX_MSG_LEN,
                              WIRE_MAX_MSG_LEN + 1, UINT32_MAX };
    for (size_t at = 0; at + 4 <= pl.len; at++)
        for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
            buf_reset(&mut);
            assert_int_equal(buf_append(&mut, pl.data, pl.len), 0);
            le32_store(mut.data + at, lens[k]);
            if (check_payload(mut.data, mut.len))
                n_good++;
            else
                n_bad++;
        }
    assert_true(n_good > 0 && n_bad > 0);
    buf_fini(&pl);
    buf_fini(&mut);
}

/* Record areas of random bytes (mostly small lengths, so that several
 * records fit) walked without the decoder's check: wire_batch_next's
 * fallback to the reference at every shape of short record. */
static void
test_batch_unchecked_walk(void **state)
{
    uint8_t area[512];
    size_t n_recs = 0;

    (void)state;
    for (int round = 0; round < 20000; round++) {
        size_t len = rng() % sizeof(area);
        for (size_t i = 0; i < len; i++)
            area[i] = (uint8_t)rng();
        for (size_t at = 0; at + 26 <= len;) {
            uint32_t n = rng() % 8 ? (uint32_t)(rng() % 40) : (uint32_t)rng();
            le32_store(area + at + 22, n);
            at += 26 + (n < 40 ? n : 0);
        }
        struct wire_batch b, r;
        memset(&b, 0, sizeof(b));
        reader_init(&b.rd, area, len);
        if (round % 97 == 0)
            b.rd.err = 1;
        r = b;
        n_recs += walk_equal(&b, &r);
    }
    assert_true(n_recs > 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_truncated),
        cmocka_unit_test(test_batch_bytes),
        cmocka_unit_test(test_batch_unchecked_walk),
        cmocka_unit_test(test_batch_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
