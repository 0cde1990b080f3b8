/* SPDX-License-Identifier: MIT */
/*
 * store_info_test: store_foreach_segment and store_get_tail_info against
 * what was appended and against the files on disk: per-segment figures add
 * up to store_get_stats, sealed segments have their .lqi, exactly the last
 * unfilled segment is current, sizes equal the file sizes, damaged blocks
 * are charged to their segment, and records whose seal failed show up in
 * the tail until a later commit seals them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "common/xmalloc.h"

#define T0      1700000000000000000LL
#define MAX_SEG 256

struct fx {
    char                 dir[64];
    struct store        *s;
    struct store_options opt;
    int                  is_seg_full;   /* write hook: segment writes fail */
    uint64_t             msg_bytes;     /* message bytes appended */
};

struct seg_list {
    struct store_segment_info seg[MAX_SEG];
    size_t                    n;
};

static int
fx_write_hook(const char *what, size_t len, void *arg)
{
    struct fx *f = arg;

    (void)len;
    if (f->is_seg_full && strcmp(what, "segment") == 0) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/store_info_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->opt.block_size = 2048;
    f->opt.segment_size = 8192;
    f->opt.write_hook = fx_write_hook;
    f->opt.write_hook_arg = f;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd;

    store_close(f->s);
    cmd = xasprintf("rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static void
fx_open(struct fx *f)
{
    char *err = NULL;

    store_close(f->s);
    f->s = store_open(f->dir, &f->opt, &err);
    if (!f->s)
        fail_msg("store_open: %s", err);
}

/* Appends records off0..off0+n-1 of one source, time T0 + off µs. */
static void
put_n(struct fx *f, uint64_t off0, int n)
{
    char msg[80];

    for (int i = 0; i < n; i++) {
        uint64_t off = off0 + (uint64_t)i;
        int len = snprintf(msg, sizeof(msg),
                           "request %llu served in %llu ms status 200",
                           (unsigned long long)off,
                           (unsigned long long)(off * 7 % 1000));
        struct logrec r = {
            .time_ns = T0 + (int64_t)off * 1000, .host = "web1",
            .container_id = "c0ffee", .container = "api", .image = "app:1",
            .offset = off, .msg = msg, .msg_len = (size_t)len,
        };
        assert_int_equal(store_append(f->s, &r), 1);
        f->msg_bytes += (uint64_t)len;
    }
}

static void
collect_cb(const struct store_segment_info *si, void *arg)
{
    struct seg_list *l = arg;

    assert_true(l->n < MAX_SEG);
    l->seg[l->n++] = *si;
}

static void
collect(struct fx *f, struct seg_list *l)
{
    l->n = 0;
    store_foreach_segment(f->s, collect_cb, l);
}

/* Size of dir/name, -1 if missing. */
static long long
file_size(const struct fx *f, const char *name)
{
    char *p = xasprintf("%s/%s", f->dir, name);
    struct stat sb;
    int rc = stat(p, &sb);

    free(p);
    return rc == 0 ? (long long)sb.st_size : -1;
}

/* Segments + tail must give store_get_stats' figures exactly, and each
 * segment's sizes must be its files' sizes. */
static void
check_sums(struct fx *f, const struct seg_list *l,
           const struct store_tail_info *ti)
{
    struct store_stats st;
    uint64_t recs = 0, raw = 0, stored = 0, idx = 0, blks = 0, bad = 0;
    int64_t first = INT64_MAX, last = INT64_MIN;
    size_t n_current = 0;

    store_get_stats(f->s, &st);
    for (size_t i = 0; i < l->n; i++) {
        const struct store_segment_info *si = &l->seg[i];
        char lqi[40];
        recs += si->n_records;
        raw += si->raw_bytes;
        stored += si->stored_bytes;
        idx += si->index_bytes;
        blks += si->n_blocks;
        bad += si->n_corrupt_blocks;
        n_current += si->is_current != 0;
        if (i > 0)
            assert_true(si->seq > l->seg[i - 1].seq);
        assert_int_equal(file_size(f, si->name), (long long)si->stored_bytes);
        snprintf(lqi, sizeof(lqi), "%.*s.lqi", (int)strlen(si->name) - 4,
                 si->name);
        assert_int_equal(file_size(f, lqi),
                         si->index_bytes ? (long long)si->index_bytes : -1);
        if (si->n_records) {
            assert_true(si->first_ns <= si->last_ns);
            first = si->first_ns < first ? si->first_ns : first;
            last = si->last_ns > last ? si->last_ns : last;
        }
    }
    assert_true(n_current <= 1);
    assert_int_equal(l->n, st.n_segments);
    assert_int_equal(recs + ti->n_records, st.n_records);
    assert_int_equal(raw + ti->raw_bytes, st.raw_bytes);
    assert_int_equal(stored + idx + ti->wal_bytes, st.stored_bytes);
    assert_int_equal(idx, st.index_bytes);
    assert_int_equal(blks, st.n_blocks);
    assert_int_equal(bad, st.n_corrupt_blocks);
    assert_int_equal(ti->pending_records, st.pending_records);
    if (ti->n_records) {
        first = ti->first_ns < first ? ti->first_ns : first;
        last = ti->last_ns > last ? ti->last_ns : last;
    }
    if (st.n_records) {
        assert_int_equal(first, st.first_ns);
        assert_int_equal(last, st.last_ns);
    }
}

/* Appends n records in commits of 50, then waits for the sealer. */
static void
fill(struct fx *f, uint64_t off0, int n)
{
    for (int done = 0; done < n; done += 50) {
        put_n(f, off0 + (uint64_t)done, n - done < 50 ? n - done : 50);
        assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_sync(f->s), 0);
}

/* ------------------------------------------------------------------ */

static void
test_store_info_empty(void **state)
{
    struct fx *f = *state;
    struct seg_list l;
    struct store_tail_info ti;

    fx_open(f);
    collect(f, &l);
    store_get_tail_info(f->s, &ti);
    assert_int_equal(l.n, 0);
    assert_int_equal(ti.n_records, 0);
    assert_int_equal(ti.raw_bytes, 0);
    assert_int_equal(ti.first_ns, 0);
    assert_int_equal(ti.last_ns, 0);
    check_sums(f, &l, &ti);
}

static void
test_store_info_segments(void **state)
{
    struct fx *f = *state;
    struct seg_list l;
    struct store_tail_info ti;
    const int n = 1000;

    fx_open(f);
    fill(f, 1, n);
    collect(f, &l);
    store_get_tail_info(f->s, &ti);
    assert_true(l.n >= 3);
    check_sums(f, &l, &ti);
    uint64_t recs = ti.n_records, raw = ti.raw_bytes;
    for (size_t i = 0; i < l.n; i++) {
        const struct store_segment_info *si = &l.seg[i];
        char want[32];
        snprintf(want, sizeof(want), "seg-%016llx.lqs",
                 (unsigned long long)si->seq);
        assert_string_equal(si->name, want);
        assert_true(si->n_records > 0 && si->n_blocks > 0);
        assert_int_equal(si->n_corrupt_blocks, 0);
        assert_true(si->stored_bytes > 16 && si->stored_bytes < si->raw_bytes);
        recs += si->n_records;
        raw += si->raw_bytes;
        if (i + 1 < l.n) {
            /* full and indexed; times only grow, so segments do not
             * overlap */
            assert_true(si->is_sealed);
            assert_false(si->is_current);
            assert_true(si->index_bytes > 0);
            assert_true(si->raw_bytes >= f->opt.segment_size);
            assert_true(si->last_ns < l.seg[i + 1].first_ns);
        }
    }
    const struct store_segment_info *last = &l.seg[l.n - 1];
    assert_int_equal(last->is_current, !last->is_sealed);
    if (last->is_current)
        assert_int_equal(last->index_bytes, 0);
    assert_int_equal(recs, (uint64_t)n);
    /* raw bytes are the encoded bodies: the messages plus a few bytes of
     * label, time delta, flags, offset and length per record */
    assert_true(raw > f->msg_bytes && raw < f->msg_bytes + 16u * n);
    assert_int_equal(l.seg[0].first_ns, T0 + 1000);
    int64_t end = ti.n_records ? ti.last_ns : last->last_ns;
    assert_int_equal(end, T0 + (int64_t)n * 1000);
}

static void
test_store_info_tail_pending(void **state)
{
    struct fx *f = *state;
    struct seg_list l;
    struct store_tail_info ti;

    fx_open(f);
    put_n(f, 1, 10);
    collect(f, &l);
    store_get_tail_info(f->s, &ti);
    assert_int_equal(l.n, 0);
    assert_int_equal(ti.n_records, 10);
    assert_int_equal(ti.pending_records, 10);
    assert_int_equal(ti.n_sealing_records, 0);
    assert_int_equal(ti.first_ns, T0 + 1000);
    assert_int_equal(ti.last_ns, T0 + 10000);
    assert_true(ti.raw_bytes > f->msg_bytes);
    check_sums(f, &l, &ti);
    uint64_t wal0 = ti.wal_bytes;
    assert_int_equal(store_commit(f->s), 0);
    store_get_tail_info(f->s, &ti);
    assert_int_equal(ti.n_records, 10);
    assert_int_equal(ti.pending_records, 0);
    assert_true(ti.wal_bytes > wal0);
    assert_true(ti.n_wal_files >= 1);
    check_sums(f, &l, &ti);
}

static void
test_store_info_restart(void **state)
{
    struct fx *f = *state;
    struct seg_list a, b;
    struct store_tail_info ta, tb;

    fx_open(f);
    fill(f, 1, 600);
    collect(f, &a);
    store_get_tail_info(f->s, &ta);
    fx_open(f);
    collect(f, &b);
    store_get_tail_info(f->s, &tb);
    check_sums(f, &b, &tb);
    /* close commits and the WAL is replayed: nothing lost or counted
     * twice; the sealed segments come back identical */
    uint64_t na = ta.n_records, nb = tb.n_records;
    for (size_t i = 0; i < a.n; i++)
        na += a.seg[i].n_records;
    for (size_t i = 0; i < b.n; i++)
        nb += b.seg[i].n_records;
    assert_int_equal(na, 600);
    assert_int_equal(nb, 600);
    assert_true(b.n >= a.n - 1);
    for (size_t i = 0; i + 1 < a.n; i++) {
        assert_int_equal(b.seg[i].seq, a.seg[i].seq);
        assert_int_equal(b.seg[i].n_records, a.seg[i].n_records);
        assert_int_equal(b.seg[i].stored_bytes, a.seg[i].stored_bytes);
        assert_int_equal(b.seg[i].index_bytes, a.seg[i].index_bytes);
        assert_true(b.seg[i].is_sealed);
    }
}

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Offsets of the blocks in a segment image (after the 16-byte header;
 * meta_len at +4, comp_len at +12 of each 48-byte block header). */
static size_t
find_blocks(const uint8_t *p, size_t len, size_t *offs, size_t max)
{
    size_t n = 0, pos = 16;

    while (pos + 48 <= len && n < max) {
        offs[n++] = pos;
        pos += 48 + le32(p + pos + 4) + le32(p + pos + 12);
    }
    return n;
}

/* Flips a byte in the header of the second block of segment 1. */
static void
damage_first_segment(const struct fx *f)
{
    char *p = xasprintf("%s/seg-0000000000000001.lqs", f->dir);
    FILE *fp = fopen(p, "r+b");
    uint8_t img[65536];
    size_t offs[64];

    assert_non_null(fp);
    size_t len = fread(img, 1, sizeof(img), fp);
    assert_true(len > 0 && len < sizeof(img));
    assert_true(find_blocks(img, len, offs, 64) >= 3);
    img[offs[1] + 30] ^= 0x5a;          /* inside min_ns: head_crc fails */
    assert_int_equal(fseek(fp, (long)offs[1] + 30, SEEK_SET), 0);
    assert_int_equal(fwrite(&img[offs[1] + 30], 1, 1, fp), 1);
    assert_int_equal(fclose(fp), 0);
    free(p);
}

static void
test_store_info_corrupt_block(void **state)
{
    struct fx *f = *state;
    struct seg_list l;
    struct store_tail_info ti;

    fx_open(f);
    fill(f, 1, 800);
    store_close(f->s);
    f->s = NULL;
    damage_first_segment(f);
    fx_open(f);
    collect(f, &l);
    store_get_tail_info(f->s, &ti);
    assert_true(l.n >= 2);
    assert_int_equal(l.seg[0].n_corrupt_blocks, 1);
    for (size_t i = 1; i < l.n; i++)
        assert_int_equal(l.seg[i].n_corrupt_blocks, 0);
    check_sums(f, &l, &ti);
}

/* A seal that fails (disk full) leaves its records in the tail info as
 * "sealing"; once space is back a commit seals them into segments. */
static void
test_store_info_seal_error(void **state)
{
    struct fx *f = *state;
    struct seg_list l;
    struct store_tail_info ti;
    struct store_stats st;

    fx_open(f);
    f->is_seg_full = 1;
    put_n(f, 1, 100);
    assert_int_equal(store_commit(f->s), 0);
    (void)store_sync(f->s);
    store_get_stats(f->s, &st);
    assert_true(st.n_seal_errors >= 1);
    collect(f, &l);
    store_get_tail_info(f->s, &ti);
    assert_int_equal(ti.n_records, 100);
    assert_true(ti.n_sealing_records > 0);
    check_sums(f, &l, &ti);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.seg[i].n_records, 0);

    f->is_seg_full = 0;
    fill(f, 101, 100);
    collect(f, &l);
    store_get_tail_info(f->s, &ti);
    check_sums(f, &l, &ti);
    assert_int_equal(ti.n_sealing_records, 0);
    uint64_t recs = ti.n_records;
    for (size_t i = 0; i < l.n; i++)
        recs += l.seg[i].n_records;
    assert_int_equal(recs, 200);
    assert_true(ti.n_records < 200);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_store_info_empty),
        T(test_store_info_segments),
        T(test_store_info_tail_pending),
        T(test_store_info_restart),
        T(test_store_info_corrupt_block),
        T(test_store_info_seal_error),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
