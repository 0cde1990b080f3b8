/* SPDX-License-Identifier: MIT */
/*
 * wal_replay_test: the rules of WAL replay for entries that do not decode
 * or cannot be replayed (wal.c; STORE.md "Write-ahead log"), on WAL
 * files made by hand. An entry (version 4, or 3) whose crc matches but
 * that does not decode whole (a row's label not in its table, a table
 * numbering a label twice, rows cut short) is cut as torn and leaves
 * nothing behind: no record and no label of its table (not even one no
 * other record uses). In a file whose header was damaged (entries tried
 * as version 4, then 3, then 2), an entry that decoded as version 4 but
 * whose record cannot be added (store_add's uncommitted cap) is cut
 * there, not decoded again as an older version: the entry below is both
 * a version-4 and a version-3 entry, the version-3 reading naming another
 * source. A file of version 3 whose header was damaged keeps its entries
 * and the commits made after it over two more opens. Version 5 (files
 * reused, not cut): entries of an earlier generation after the current
 * ones, and whatever follows the end mark, end the entries without a cut;
 * a damaged header takes its first entry's generation. (Whole files, torn
 * at every byte: store_crash_test.)
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "collector/store/store_internal.h"
#include "common/compress.h"
#include "common/xmalloc.h"
#include "tests/support/storefx.h"

static void
wal_hdr_gen(struct buf *file, uint32_t version, uint64_t gen)
{
    buf_reset(file);
    buf_put_u32(file, STORE_WAL_MAGIC);
    buf_put_u32(file, version);
    buf_put_u64(file, gen);
}

static void
wal_hdr(struct buf *file, uint32_t version)
{
    wal_hdr_gen(file, version, 1);
}

static void
wal_put(struct buf *file, const struct buf *e)
{
    assert_int_equal(buf_put_u32(file, (uint32_t)e->len), 0);
    assert_int_equal(buf_put_u32(file, compress_crc32(0, e->data, e->len)),
                     0);
    assert_int_equal(buf_append(file, e->data, e->len), 0);
}

static void
wal_write_file(const struct fx *f, const struct buf *file)
{
    char *path = xasprintf("%s/wal.lqw", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    for (size_t n = 0; n < file->len;) {
        ssize_t k = write(fd, file->data + n, file->len - n);
        assert_true(k > 0);
        n += (size_t)k;
    }
    close(fd);
    free(path);
}

static void
put_label(struct buf *e, const char *const str[4])
{
    for (int k = 0; k < 4; k++)
        assert_int_equal(block_put_str(e, str[k], strlen(str[k])), 0);
}

static const char *const lab_a[4] = { "host0", "cid0", "web-0", "nginx:1" };
static const char *const lab_x[4] = { "hostx", "cidx", "web-x", "nginx:1" };

/* Records 1..n, as the tail's rows (label number num). */
static void
put_rows(struct buf *e, uint32_t num, uint64_t n)
{
    int64_t prev[2] = { 0, 0 };

    for (uint64_t off = 1; off <= n; off++) {
        char msg[32];
        snprintf(msg, sizeof(msg), "line %llu", (unsigned long long)off);
        struct store_rec r = {
            .time_ns = T0 + (int64_t)off * 1000, .offset = off,
            .recv_ns = T0 + 5, .stream = 0,
            .msg = (const uint8_t *)msg, .msg_len = (uint32_t)strlen(msg),
        };
        assert_int_equal(block_rec_encode(e, num, prev, &r), 0);
    }
}

/* A version 4 entry of n records of lab_a (number 3 in the tail). */
static void
good_v4(struct buf *e, uint64_t n)
{
    buf_reset(e);
    buf_put_varint(e, 1);
    buf_put_varint(e, 3);
    put_label(e, lab_a);
    buf_put_varint(e, n);
    buf_put_varint(e, 0);
    buf_put_varint(e, 0);
    put_rows(e, 3, n);
}

/* A version 5 entry: generation gen, then n records of lab (number num
 * in the tail) as good_v4 writes them. */
static void
good_v5(struct buf *e, uint64_t gen, const char *const lab[4], uint32_t num,
        uint64_t n)
{
    buf_reset(e);
    buf_put_u64(e, gen);
    buf_put_varint(e, 1);
    buf_put_varint(e, num);
    put_label(e, lab);
    buf_put_varint(e, n);
    buf_put_varint(e, 0);
    buf_put_varint(e, 0);
    put_rows(e, num, n);
}

/* A version 5 file of generation gen in file (e, file initialized):
 * its header (damaged with is_bad_hdr) and a first entry, 2 records of
 * lab_a. */
static void
v5_file(struct buf *e, struct buf *file, uint64_t gen, int is_bad_hdr)
{
    buf_init(e, 1 << 20);
    buf_init(file, 1 << 20);
    wal_hdr_gen(file, 5, gen);
    if (is_bad_hdr)
        memcpy(file->data, "XXXX", 4);
    good_v5(e, gen, lab_a, 3, 2);
    wal_put(file, e);
}

static off_t
wal_file_size(const struct fx *f)
{
    char *path = xasprintf("%s/wal.lqw", f->dir);
    int fd = open(path, O_RDONLY);
    off_t n;

    assert_true(fd >= 0);
    n = lseek(fd, 0, SEEK_END);
    close(fd);
    free(path);
    return n;
}

static int
count_records(struct store *s)
{
    struct store_filter fl = all_filter();
    struct store_cursor *c = store_cursor_new(s, &fl, 0);
    struct logrec r;
    int n = 0;

    while (store_cursor_next(c, &r) == 1) {
        assert_string_equal(r.host, "host0");
        assert_int_equal(r.offset, (uint64_t)++n);
    }
    store_cursor_free(c);
    return n;
}

/* Opens the store again and checks its replay: n_replayed records
 * replayed, no entry cut as torn, n_records in the store. */
static void
reopen_whole(struct fx *f, uint64_t n_replayed, int n_records)
{
    struct store_stats st;

    fx_open(f);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_wal_replayed, n_replayed);
    assert_int_equal(st.n_torn_cuts, 0);
    assert_int_equal(count_records(f->s), n_records);
}

/* A damaged entry after a good one: cut, and none of its labels kept.
 * Kinds: 0 a row's label not in the table, 1 rows cut short, 2 a table
 * numbering a label twice (version 4), 3 rows cut short (version 3). */
static void
test_damaged_entry_leaves_no_label(void **state)
{
    struct fx *f = *state;
    struct buf e, file;

    buf_init(&e, 1 << 20);
    buf_init(&file, 1 << 20);
    for (int kind = 0; kind < 4; kind++) {
        uint32_t version = kind == 3 ? 3 : 4;
        store_close(f->s);
        f->s = NULL;
        wal_hdr(&file, version);
        if (version == 4) {
            good_v4(&e, 2);
        } else {
            buf_reset(&e);
            buf_put_varint(&e, 1);
            put_label(&e, lab_a);
            buf_put_varint(&e, 2);
            put_rows(&e, 0, 2);
        }
        wal_put(&file, &e);
        buf_reset(&e);
        if (version == 4) {
            buf_put_varint(&e, kind == 2 ? 2 : 1);
            buf_put_varint(&e, 7);
            put_label(&e, lab_x);
            if (kind == 2) {
                buf_put_varint(&e, 7);
                put_label(&e, lab_a);
            }
            buf_put_varint(&e, 1);
            buf_put_varint(&e, 0);
            buf_put_varint(&e, 0);
            put_rows(&e, kind == 0 ? 8 : 7, 1);
        } else {
            buf_put_varint(&e, 1);
            put_label(&e, lab_x);
            buf_put_varint(&e, 1);
            put_rows(&e, 0, 1);
        }
        if (kind == 1 || kind == 3)
            e.len -= 2;                 /* the message's last bytes */
        wal_put(&file, &e);
        wal_write_file(f, &file);
        fx_open(f);
        struct store_stats st;
        store_get_stats(f->s, &st);
        assert_int_equal(count_records(f->s), 2);
        assert_int_equal(st.n_torn_cuts, 1);
        assert_int_equal(st.n_labels, 1);
        assert_false(store_has_source(f->s, "hostx", "cidx"));
        /* gone for good: the next open finds a whole file */
        fx_open(f);
        store_get_stats(f->s, &st);
        assert_int_equal(count_records(f->s), 2);
        assert_int_equal(st.n_torn_cuts, 0);
        assert_int_equal(st.n_labels, 1);
        char *cmd = xasprintf("rm -f '%s'/*", f->dir);
        store_close(f->s);
        f->s = NULL;
        assert_int_equal(system(cmd), 0);
        free(cmd);
    }
    buf_fini(&e);
    buf_fini(&file);
}

/* In a file with a damaged header: an entry that decodes as version 4
 * (one record of lab_h, offset 1, a message over the uncommitted cap) and
 * as version 3 too (its label read as host "\x01h"...: the version-4
 * label number 2 is the length of the version-3 host). Its record cannot
 * be added: the entry is cut, and the version-3 reading is not tried (it
 * would take its label, a source no record has). */
static void
test_replay_failure_no_fallback(void **state)
{
    struct fx *f = *state;
    struct buf e, file;
    const char *const lab_h[4] = { "h", "cid0", "web-0", "nginx:1" };
    size_t msg_len = STORE_MAX_PENDING + f->opt.block_size + 16;

    buf_init(&e, msg_len + 4096);
    buf_init(&file, 2 * msg_len);
    wal_hdr(&file, 4);
    memcpy(file.data, "XXXX", 4);       /* the header damaged */
    buf_put_varint(&e, 1);              /* 1 label */
    buf_put_varint(&e, 2);              /* v4: its number; v3: its host's
                                           length (host "\x01h") */
    put_label(&e, lab_h);
    buf_put_varint(&e, 1);              /* 1 record */
    buf_put_varint(&e, 0);              /* v4: time before; v3: label */
    buf_put_varint(&e, 0);              /* v4: receive time before;
                                           v3: time delta */
    buf_put_varint(&e, 2);              /* v4: label; v3: receive delta */
    /* v4: time delta; v3: the stream byte, the offset (the rest of it) */
    buf_put_varint(&e, blk_zz_enc(T0 + 3000));
    size_t rest = 1 + 1 + 4 + msg_len;  /* stream, offset, length, msg */
    buf_put_varint(&e, rest);           /* v4: receive delta; v3: message
                                           length (the rest) */
    buf_put_u8(&e, 0);                  /* v4: stream, offset 1 */
    buf_put_varint(&e, 1);
    size_t mark = e.len;
    buf_put_varint(&e, msg_len);
    assert_int_equal(e.len - mark, 4);
    assert_int_equal(buf_reserve(&e, msg_len), 0);
    memset(e.data + e.len, 'm', msg_len);
    e.len += msg_len;
    wal_put(&file, &e);
    wal_write_file(f, &file);
    buf_fini(&e);
    fx_open(f);

    struct store_stats st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_torn_cuts, 1);
    assert_int_equal(st.n_wal_replayed, 0);
    assert_false(store_has_source(f->s, "\x01h", "cid0"));
    fx_open(f);
    store_get_stats(f->s, &st);
    assert_int_equal(st.n_torn_cuts, 0);
    assert_int_equal(st.n_labels, 0);
    buf_fini(&file);
}

/* A version-3 file whose header was damaged: its entries are read as
 * version 3, the header is rewritten as version 3 (not the current
 * version, under which the next open would cut them as torn), and new
 * commits go to another file; all survive two more opens. */
static void
test_damaged_header_older_entries(void **state)
{
    struct fx *f = *state;
    struct buf e, file;

    buf_init(&e, 1 << 20);
    buf_init(&file, 1 << 20);
    wal_hdr(&file, 3);
    memcpy(file.data, "XXXX", 4);
    buf_put_varint(&e, 1);
    put_label(&e, lab_a);
    buf_put_varint(&e, 2);
    put_rows(&e, 0, 2);
    wal_put(&file, &e);
    wal_write_file(f, &file);
    reopen_whole(f, 2, 2);
    assert_int_equal(put_n(f, 0, 3, 5), 5);
    assert_int_equal(store_commit(f->s), 0);
    for (int i = 0; i < 2; i++)
        reopen_whole(f, 7, 7);
    buf_fini(&e);
    buf_fini(&file);
}

/* Version 5 files are reused without being cut (wal_release): after
 * the entries of the file's generation come, whole, entries of an
 * earlier one. They end the file's entries: not replayed (their record,
 * of hostx, is sealed already), not cut as torn, overwritten by the next
 * commits, which replay after them. */
static void
test_v5_stale_entries(void **state)
{
    struct fx *f = *state;
    struct buf e, file;

    v5_file(&e, &file, 7, 0);
    good_v5(&e, 6, lab_x, 1, 1);        /* an older generation's */
    wal_put(&file, &e);
    wal_put(&file, &e);
    wal_write_file(f, &file);
    for (int i = 0; i < 2; i++) {
        reopen_whole(f, 2, 2);
        assert_false(store_has_source(f->s, "hostx", "cidx"));
        /* Replay cuts nothing; the close before the second open cut the
         * stale entries (wal_close_all). */
        if (i == 0)
            assert_int_equal(wal_file_size(f), (off_t)file.len);
        else
            assert_true(wal_file_size(f) < (off_t)file.len);
    }
    assert_int_equal(put_n(f, 0, 3, 5), 5);
    assert_int_equal(store_commit(f->s), 0);
    for (int i = 0; i < 2; i++) {
        reopen_whole(f, 7, 7);
        assert_false(store_has_source(f->s, "hostx", "cidx"));
    }
    buf_fini(&e);
    buf_fini(&file);
}

/* The 8 zero bytes written after each version 5 entry end the file's
 * entries: what follows (the middle of an entry an earlier generation
 * wrote, here 'g's) is not a torn entry, nothing is cut. */
static void
test_v5_end_mark(void **state)
{
    struct fx *f = *state;
    struct buf e, file;

    v5_file(&e, &file, 7, 0);
    buf_put_u64(&file, 0);
    for (int i = 0; i < 100; i++)
        buf_put_u8(&file, 'g');
    wal_write_file(f, &file);
    reopen_whole(f, 2, 2);
    assert_int_equal(wal_file_size(f), (off_t)file.len);
    buf_fini(&e);
    buf_fini(&file);
}

/* A version 5 file whose header was damaged takes the generation of its
 * first entry (every generation writes its entries from the header on):
 * its entries are replayed, the header is rewritten with that generation
 * (a new one would make them stale at the next open), and they and the
 * commits made after them survive two more opens. */
static void
test_v5_damaged_header(void **state)
{
    struct fx *f = *state;
    struct buf e, file;
    struct store_stats st;

    v5_file(&e, &file, 9, 1);
    buf_put_u64(&file, 0);
    wal_write_file(f, &file);
    reopen_whole(f, 2, 2);
    assert_int_equal(put_n(f, 0, 3, 5), 5);
    assert_int_equal(store_commit(f->s), 0);
    for (int i = 0; i < 2; i++) {
        reopen_whole(f, 7, 7);
        store_get_stats(f->s, &st);
        assert_int_equal(st.n_corrupt_blocks, 0);
    }
    buf_fini(&e);
    buf_fini(&file);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_damaged_entry_leaves_no_label),
        T(test_replay_failure_no_fallback),
        T(test_damaged_header_older_entries),
        T(test_v5_stale_entries),
        T(test_v5_end_mark),
        T(test_v5_damaged_header),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
