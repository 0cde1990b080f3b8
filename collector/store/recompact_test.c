/* SPDX-License-Identifier: MIT */
/*
 * recompact_test: cold segments compressed again (recompact.c,
 * collector/STORE.md "Recompaction of cold segments"). The answers of a
 * full scan both ways and of word searches (the index and frames decide
 * what is read) are compared byte for byte, by hash, before and after:
 * live after each swap, and after a reopen, which must not rebuild an
 * index; every state a crash can leave (temp files, either file new,
 * both, the mark lost) opens to the same answers; a cursor open holds
 * the swap back and reads on; a failed write changes nothing; retention
 * deleting the segment being rewritten. And with late and out-of-order
 * records (jitter past the time step, a host's backlog older than what is
 * stored, time ranges overlapping across segments), every answer checked
 * record by record against a brute-force model before and after.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "common/record.h"
#include "common/xmalloc.h"
#include "tests/support/testdir.h"

#define N_RECS  6000
#define N_WORDS 24

struct rfx {
    char                *dir;
    struct store        *s;
    struct store_options opt;
    int64_t              now;
    int                  is_fail;       /* the write hook fails recompact */
};

static const char *const words[N_WORDS] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
    "hotel", "india", "juliet", "kilo", "lima", "mike", "november",
    "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform",
    "victor", "whiskey", "zebracorn",
};

static int64_t
rfx_clock(void *arg)
{
    return ((struct rfx *)arg)->now;
}

static int
rfx_hook(const char *what, size_t len, void *arg)
{
    struct rfx *f = arg;

    (void)len;
    if (f->is_fail && strcmp(what, "recompact") == 0) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

static void
rfx_open(struct rfx *f, int level)
{
    char *err = NULL;

    f->opt.recompact_level = level;
    f->s = store_open(f->dir, &f->opt, &err);
    if (!f->s)
        fail_msg("store_open: %s", err);
}

static void
rfx_close(struct rfx *f)
{
    store_close(f->s);
    f->s = NULL;
}

/* Records of three sources: words (zebracorn rare), numbers, an id. */
static void
rfx_fill(struct rfx *f)
{
    uint64_t z = 7;
    char id[3][65], msg[256];
    int64_t t0 = f->now - INT64_C(3600000000000);      /* an hour ago */

    for (int k = 0; k < 3; k++) {
        memset(id[k], 'a' + k, 64);
        id[k][64] = '\0';
    }
    for (int i = 0; i < N_RECS; i++) {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)(z >> 60) % 3;
        const char *w1 = words[(z >> 33) % (N_WORDS - 1)];
        const char *w2 = i % 997 == 5 ? words[N_WORDS - 1] :
                         words[(z >> 41) % (N_WORDS - 1)];
        int n = snprintf(msg, sizeof(msg), "%s req=%llu %s took %u ms id=%08x",
                         w1, (unsigned long long)(z >> 20) % 100000, w2,
                         (unsigned)(z >> 50) % 900, (unsigned)(z >> 7));
        struct logrec r = {
            .time_ns = t0 + (int64_t)i * 1000000 + (int64_t)(z % 997),
            .recv_ns = t0 + (int64_t)(i / 100) * 100000000,
            .host = "h1", .container_id = id[k], .container = "app",
            .image = "img:1", .stream = (uint8_t)(i % 5 == 0),
            .offset = (uint64_t)i + 1, .msg = msg, .msg_len = (size_t)n,
        };
        assert_int_equal(store_append(f->s, &r), 1);
        if (i % 200 == 199)
            assert_int_equal(store_commit(f->s), 0);
    }
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
}

static uint64_t
fnv(uint64_t h, const void *p, size_t len)
{
    const unsigned char *q = p;

    for (size_t i = 0; i < len; i++)
        h = (h ^ q[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t
digest_cursor(struct store_cursor *c)
{
    uint64_t h = 0xcbf29ce484222325ull;
    struct logrec r;
    int rc;

    while ((rc = store_cursor_next(c, &r)) != 0) {
        h = fnv(h, &rc, sizeof(rc));
        if (rc != 1)
            continue;
        h = fnv(h, &r.time_ns, sizeof(r.time_ns));
        h = fnv(h, &r.recv_ns, sizeof(r.recv_ns));
        h = fnv(h, &r.offset, sizeof(r.offset));
        h = fnv(h, &r.stream, sizeof(r.stream));
        h = fnv(h, r.container_id, strlen(r.container_id));
        h = fnv(h, r.msg, r.msg_len);
    }
    return h;
}

/* A filter of every record, or, when toks[0] is a word, of the records
 * holding it. */
static struct store_filter
word_filter(const char *const toks[1])
{
    struct store_filter flt = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
    };

    if (toks[0]) {
        flt.tokens = toks;
        flt.n_tokens = 1;
        flt.is_tokens_required = 1;
    }
    return flt;
}

static uint64_t
digest_one(struct store *s, const char *word, int newest_first)
{
    const char *toks[1] = { word };
    struct store_filter flt = word_filter(toks);
    struct store_cursor *c = store_cursor_new(s, &flt, newest_first);
    uint64_t h = digest_cursor(c);
    store_cursor_free(c);
    return h;
}

/* Every answer compared: both full scans and a search per word. */
static uint64_t
digest(struct store *s)
{
    uint64_t h = digest_one(s, NULL, 0) * 3 + digest_one(s, NULL, 1);

    for (int w = 0; w < N_WORDS; w++)
        h = h * 31 + digest_one(s, words[w], w % 2);
    return h;
}

static void
recompact_all(struct rfx *f)
{
    int n = 0;

    while (store_recompact_poll(f->s, 1) > 0)
        assert_true(++n < 1000);
}

static struct store_stats
stats(struct rfx *f)
{
    struct store_stats st;

    store_get_stats(f->s, &st);
    return st;
}

static int
n_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += strstr(de->d_name, ".tmp") != NULL;
    closedir(d);
    return n;
}

static int
setup(void **state)
{
    struct rfx *f = xcalloc(1, sizeof(*f));

    f->dir = testdir_make("recompact_test");
    assert_non_null(f->dir);
    /* past the files' real mtimes, which a reopen takes as the time
     * the segments were written */
    f->now = INT64_C(1900000000000000000);
    f->opt = (struct store_options){
        .block_size = 16 << 10, .segment_size = 64 << 10,
        .frame_size = 4 << 10, .clock = rfx_clock, .clock_arg = f,
        .write_hook = rfx_hook, .write_hook_arg = f,
    };
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct rfx *f = *state;
    char *cmd = xasprintf("rm -rf '%s'", f->dir);

    if (f->s)
        store_close(f->s);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(cmd);
    free(f->dir);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ */

static void
test_recompact_same_answers(void **state)
{
    struct rfx *f = *state;

    rfx_open(f, 12);
    rfx_fill(f);
    uint64_t h0 = digest(f->s), before = stats(f).stored_bytes;
    uint64_t n_segs = stats(f).n_segments;
    assert_true(n_segs >= 4);
    char *p1 = xasprintf("%s/seg-%016x.lqs", f->dir, 1u);
    struct stat st0, st1;
    assert_int_equal(stat(p1, &st0), 0);
    recompact_all(f);
    /* retention ages a segment by its mtime after a restart */
    assert_int_equal(stat(p1, &st1), 0);
    assert_true(st1.st_ino != st0.st_ino && st1.st_size < st0.st_size);
    assert_true(st1.st_mtim.tv_sec == st0.st_mtim.tv_sec &&
                st1.st_mtim.tv_nsec == st0.st_mtim.tv_nsec);
    free(p1);
    struct store_stats st = stats(f);
    assert_int_equal(st.n_recompacted, n_segs - 1);   /* not the current */
    assert_int_equal(st.n_recompact_errors, 0);
    assert_true(st.recompact_saved_bytes > 0);
    assert_true(st.stored_bytes < before);
    assert_true(digest(f->s) == h0);
    assert_int_equal(n_tmp_files(f->dir), 0);
    /* done ones are not done again; a reopen rebuilds no index */
    assert_int_equal(store_recompact_poll(f->s, 1), 0);
    rfx_close(f);
    rfx_open(f, 12);
    assert_int_equal(stats(f).n_index_rebuilds, 0);
    assert_int_equal(store_recompact_poll(f->s, 1), 0);
    assert_true(digest(f->s) == h0);
}

/* Not before recompact_age; off at level 0. */
static void
test_recompact_age_and_off(void **state)
{
    struct rfx *f = *state;

    f->opt.recompact_age_ns = INT64_C(7200000000000);  /* 2 h */
    rfx_open(f, 12);
    rfx_fill(f);                /* the segments were written "now" */
    assert_int_equal(store_recompact_poll(f->s, 1), 0);
    rfx_close(f);
    rfx_open(f, 0);
    assert_int_equal(store_recompact_poll(f->s, 1), 0);
    assert_int_equal(stats(f).n_recompacted, 0);
}

static void
copy_file(const char *from, const char *to)
{
    char *cmd = xasprintf("cp -p '%s' '%s'", from, to);

    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static char *
seg_file(const struct rfx *f, uint64_t seq, const char *suffix)
{
    return xasprintf("%s/seg-%016llx%s", f->dir, (unsigned long long)seq,
                     suffix);
}

/* Puts segment 1's files in a state a crash can leave and checks that
 * the store opens to the same answers, rebuilding the .lqi only when it
 * does not match, and leaves no temp file. */
static void
crash_state(struct rfx *f, const char *lqs, const char *lqi,
            const char *lqs_tmp, const char *lqi_tmp, uint64_t h0,
            uint64_t rebuilds)
{
    char *p_lqs = seg_file(f, 1, ".lqs"), *p_lqi = seg_file(f, 1, ".lqi");
    char *p_st = seg_file(f, 1, ".lqs.tmp"), *p_it = seg_file(f, 1, ".lqi.tmp");

    copy_file(lqs, p_lqs);
    copy_file(lqi, p_lqi);
    if (lqs_tmp)
        copy_file(lqs_tmp, p_st);
    if (lqi_tmp)
        copy_file(lqi_tmp, p_it);
    rfx_open(f, 0);
    assert_int_equal(stats(f).n_index_rebuilds, rebuilds);
    assert_true(digest(f->s) == h0);
    assert_int_equal(n_tmp_files(f->dir), 0);
    rfx_close(f);
    free(p_lqs);
    free(p_lqi);
    free(p_st);
    free(p_it);
}

static void
test_recompact_crash_states(void **state)
{
    struct rfx *f = *state;
    char *keep = testdir_make("recompact_keep");

    rfx_open(f, 0);
    rfx_fill(f);
    uint64_t h0 = digest(f->s);
    rfx_close(f);
    char *o_lqs = xasprintf("%s/old.lqs", keep);
    char *o_lqi = xasprintf("%s/old.lqi", keep);
    char *n_lqs = xasprintf("%s/new.lqs", keep);
    char *n_lqi = xasprintf("%s/new.lqi", keep);
    char *p_lqs = seg_file(f, 1, ".lqs"), *p_lqi = seg_file(f, 1, ".lqi");
    copy_file(p_lqs, o_lqs);
    copy_file(p_lqi, o_lqi);
    rfx_open(f, 12);
    recompact_all(f);
    assert_true(stats(f).n_recompacted > 0);
    rfx_close(f);
    copy_file(p_lqs, n_lqs);
    copy_file(p_lqi, n_lqi);
    /* before the renames: temp files beside the old ones */
    crash_state(f, o_lqs, o_lqi, n_lqs, n_lqi, h0, 0);
    crash_state(f, o_lqs, o_lqi, n_lqs, NULL, h0, 0);
    /* between the renames, or either lost by a power cut */
    crash_state(f, n_lqs, o_lqi, NULL, n_lqi, h0, 1);
    crash_state(f, o_lqs, n_lqi, NULL, NULL, h0, 1);
    crash_state(f, n_lqs, n_lqi, NULL, NULL, h0, 0);
    crash_state(f, o_lqs, o_lqi, NULL, NULL, h0, 0);
    /* a segment retention deleted after a crash left its temp file */
    char *gone = seg_file(f, 999, ".lqs.tmp");
    copy_file(n_lqs, gone);
    crash_state(f, n_lqs, n_lqi, NULL, NULL, h0, 0);
    assert_int_equal(access(gone, F_OK), -1);
    free(gone);
    /* the mark lost: done again, to the same bytes */
    crash_state(f, n_lqs, n_lqi, NULL, NULL, h0, 0);
    char *mark = xasprintf("%s/recompact.lqr", f->dir);
    assert_int_equal(unlink(mark), 0);
    uint64_t was = 0;
    rfx_open(f, 12);
    was = stats(f).stored_bytes;
    recompact_all(f);
    assert_true(stats(f).n_recompacted > 0);
    assert_int_equal(stats(f).stored_bytes, was);
    assert_true(digest(f->s) == h0);
    free(mark);
    free(o_lqs);
    free(o_lqi);
    free(n_lqs);
    free(n_lqi);
    free(p_lqs);
    free(p_lqi);
    char *cmd = xasprintf("rm -rf '%s'", keep);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(keep);
}

/* A cursor open holds the swap back: it reads on (its blocks' entries
 * and the file it reads agree), and the swap happens once it is freed. */
static void
test_recompact_cursor_across(void **state)
{
    struct rfx *f = *state;
    struct store_filter all = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
    };
    struct logrec r;

    rfx_open(f, 12);
    rfx_fill(f);
    uint64_t h_scan = digest_one(f->s, NULL, 0), h0 = digest(f->s);
    struct store_cursor *c = store_cursor_new(f->s, &all, 0);
    uint64_t h = 0xcbf29ce484222325ull;
    int rc = store_cursor_next(c, &r);       /* a block of segment 1 */
    assert_int_equal(rc, 1);
    h = fnv(h, &rc, sizeof(rc));
    h = fnv(h, &r.time_ns, sizeof(r.time_ns));
    h = fnv(h, &r.recv_ns, sizeof(r.recv_ns));
    h = fnv(h, &r.offset, sizeof(r.offset));
    h = fnv(h, &r.stream, sizeof(r.stream));
    h = fnv(h, r.container_id, strlen(r.container_id));
    h = fnv(h, r.msg, r.msg_len);
    for (int i = 0; i < 3; i++)         /* rewritten, not swapped */
        assert_int_equal(store_recompact_poll(f->s, 1), 1);
    assert_int_equal(stats(f).n_recompacted, 0);
    /* the rest of the scan, the first record's hash state carried */
    while ((rc = store_cursor_next(c, &r)) != 0) {
        h = fnv(h, &rc, sizeof(rc));
        if (rc != 1)
            continue;
        h = fnv(h, &r.time_ns, sizeof(r.time_ns));
        h = fnv(h, &r.recv_ns, sizeof(r.recv_ns));
        h = fnv(h, &r.offset, sizeof(r.offset));
        h = fnv(h, &r.stream, sizeof(r.stream));
        h = fnv(h, r.container_id, strlen(r.container_id));
        h = fnv(h, r.msg, r.msg_len);
    }
    store_cursor_free(c);
    assert_true(h == h_scan);
    recompact_all(f);
    assert_true(stats(f).n_recompacted > 0);
    assert_int_equal(stats(f).n_corrupt_blocks, 0);
    assert_true(digest(f->s) == h0);
}

/* A write that fails leaves the segment as it was, counted. */
static void
test_recompact_write_fails(void **state)
{
    struct rfx *f = *state;

    rfx_open(f, 12);
    rfx_fill(f);
    uint64_t h0 = digest(f->s), before = stats(f).stored_bytes;
    f->is_fail = 1;
    recompact_all(f);
    /* the mark on disk did not move past them */
    char *mark = xasprintf("%s/recompact.lqr", f->dir);
    assert_int_equal(access(mark, F_OK), -1);
    free(mark);
    struct store_stats st = stats(f);
    assert_int_equal(st.n_recompacted, 0);
    assert_true(st.n_recompact_errors > 0);
    assert_int_equal(st.stored_bytes, before);
    assert_int_equal(n_tmp_files(f->dir), 0);
    assert_true(digest(f->s) == h0);
    f->is_fail = 0;             /* tried again after a restart */
    rfx_close(f);
    rfx_open(f, 12);
    recompact_all(f);
    assert_true(stats(f).n_recompacted > 0);
    assert_true(digest(f->s) == h0);
}

/* Retention deletes the segment being rewritten: the rewrite is
 * dropped, nothing else changes. */
static void
test_recompact_retention_meanwhile(void **state)
{
    struct rfx *f = *state;

    f->opt.retention_age_ns = INT64_C(86400000000000);     /* 1 day */
    rfx_open(f, 12);
    rfx_fill(f);
    uint64_t n_segs = stats(f).n_segments;
    assert_int_equal(store_recompact_poll(f->s, 0), 1);     /* seg 1 */
    f->now += INT64_C(2) * 86400000000000;
    assert_true(store_apply_retention(f->s) > 0);
    assert_int_equal(stats(f).n_segments, 1);
    uint64_t h_ret = digest(f->s);
    assert_int_equal(store_recompact_poll(f->s, 1), 0);
    struct store_stats st = stats(f);
    assert_true(n_segs > 1);
    assert_int_equal(st.n_recompacted, 0);
    assert_int_equal(st.n_recompact_errors, 0);
    assert_int_equal(n_tmp_files(f->dir), 0);
    assert_true(digest(f->s) == h_ret);
}

/* ------------------------------------------------------------------ */
/* Late and out-of-order records against a brute-force model            */

struct mrec {
    int64_t  t, recv;
    uint64_t off;
    int      host;
    uint8_t  stream;
    char    *msg;
};

static const char *const late_hosts[3] = { "web1", "db1", "late1" };

static struct mrec *late_recs;
static size_t       late_n;

static int
mrec_cmp(const void *pa, const void *pb)
{
    const struct mrec *a = pa, *b = pb;
    struct store_key ka = { a->t, late_hosts[a->host], "c", a->off };
    struct store_key kb = { b->t, late_hosts[b->host], "c", b->off };

    return store_key_cmp(&ka, &kb);
}

static void
late_put(struct rfx *f, int host, uint64_t off, int64_t t, uint64_t z)
{
    char msg[160];
    int n = snprintf(msg, sizeof(msg), "%s req=%llu %s late=%d id=%08x",
                     words[(z >> 33) % (N_WORDS - 1)],
                     (unsigned long long)(z >> 20) % 100000,
                     off % 211 == 7 ? words[N_WORDS - 1] :
                     words[(z >> 41) % (N_WORDS - 1)], host,
                     (unsigned)(z >> 7));
    struct mrec *m = &late_recs[late_n++];
    *m = (struct mrec){
        .t = t, .recv = f->now, .off = off, .host = host,
        .stream = (uint8_t)(off % 3 == 0), .msg = xstrdup(msg),
    };
    struct logrec r = {
        .time_ns = m->t, .recv_ns = m->recv, .host = late_hosts[host],
        .container_id = "c", .container = "app", .image = "img:1",
        .stream = m->stream, .offset = off, .msg = msg,
        .msg_len = (size_t)n,
    };
    assert_int_equal(store_append(f->s, &r), 1);
    if (late_n % 150 == 0)
        assert_int_equal(store_commit(f->s), 0);
    f->now += 1000;
}

/* Two hosts' records in time order but each jittered by up to 2 s (far
 * past the 1 ms step: out of order within and across blocks); then a
 * third host's backlog, older than most of what is stored, arriving
 * after it (it spans the earlier segments' time ranges); then the first
 * host again, partly stamped before the backlog's newest records. */
static void
late_fill(struct rfx *f)
{
    int64_t t0 = f->now - INT64_C(3600000000000);
    uint64_t z = 11, off[3] = { 0, 0, 0 };
    const int n_a = 3000, n_b = 1500, n_c = 1500;

    late_recs = xcalloc(n_a + n_b + n_c, sizeof(*late_recs));
    late_n = 0;
    for (int i = 0; i < n_a; i++) {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        int host = (int)(z >> 61) % 2;
        int64_t jitter = (int64_t)((z >> 13) % 4000000000ull) - 2000000000;
        late_put(f, host, ++off[host],
                 t0 + (int64_t)i * 1000000 + jitter, z);
    }
    for (int i = 0; i < n_b; i++) {       /* the backlog, whole span */
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        late_put(f, 2, ++off[2], t0 + (int64_t)i * 2000000 - 500000000,
                 z);
    }
    for (int i = 0; i < n_c; i++) {       /* host 0 goes on, overlapping */
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        late_put(f, 0, ++off[0], t0 + (int64_t)(n_a - 600 + i) * 1000000 -
                 (int64_t)((z >> 17) % 700000000ull), z);
    }
    assert_int_equal(store_commit(f->s), 0);
    assert_int_equal(store_sync(f->s), 0);
    qsort(late_recs, late_n, sizeof(*late_recs), mrec_cmp);
}

static void
late_free(void)
{
    for (size_t i = 0; i < late_n; i++)
        free(late_recs[i].msg);
    free(late_recs);
    late_recs = NULL;
    late_n = 0;
}

/* 1 when msg holds word, ASCII case-insensitive (the prefilter's rule). */
static int
late_holds(const char *msg, const char *word)
{
    size_t wl = strlen(word), len = strlen(msg);

    for (size_t i = 0; i + wl <= len; i++)
        if (strncasecmp(msg + i, word, wl) == 0)
            return 1;
    return 0;
}

/* One query (a full scan, or records holding word) both ways, each
 * record compared with the model's next one; returns the matches. */
static size_t
late_check_one(struct store *s, const char *word, int newest_first)
{
    const char *toks[1] = { word };
    struct store_filter flt = word_filter(toks);
    struct logrec r;
    size_t j = 0, n = 0;
    int rc;

    struct store_cursor *c = store_cursor_new(s, &flt, newest_first);
    while ((rc = store_cursor_next(c, &r)) == 1) {
        const struct mrec *m = NULL;
        for (; j < late_n; j++) {
            m = &late_recs[newest_first ? late_n - 1 - j : j];
            if (!word || late_holds(m->msg, word))
                break;
        }
        if (j == late_n)
            fail_msg("%s %s: record %zu is extra (t=%lld off=%llu)",
                     word ? word : "scan", newest_first ? "newest" : "oldest",
                     n, (long long)r.time_ns, (unsigned long long)r.offset);
        j++;
        if (r.time_ns != m->t || r.offset != m->off ||
            strcmp(r.host, late_hosts[m->host]) != 0 ||
            r.recv_ns != m->recv || r.stream != m->stream ||
            r.msg_len != strlen(m->msg) ||
            memcmp(r.msg, m->msg, r.msg_len) != 0)
            fail_msg("%s %s: record %zu is t=%lld %s off=%llu, want t=%lld "
                     "%s off=%llu", word ? word : "scan",
                     newest_first ? "newest" : "oldest", n,
                     (long long)r.time_ns, r.host,
                     (unsigned long long)r.offset, (long long)m->t,
                     late_hosts[m->host], (unsigned long long)m->off);
        n++;
    }
    assert_int_equal(rc, 0);
    store_cursor_free(c);
    for (; j < late_n; j++) {
        const struct mrec *m = &late_recs[newest_first ? late_n - 1 - j : j];
        if (!word || late_holds(m->msg, word))
            fail_msg("%s: record off=%llu of %s missing", word ? word : "scan",
                     (unsigned long long)m->off, late_hosts[m->host]);
    }
    return n;
}

static void
late_check(struct store *s)
{
    for (int dir = 0; dir < 2; dir++)
        assert_int_equal(late_check_one(s, NULL, dir), late_n);
    for (int w = 0; w < N_WORDS; w++)
        assert_true(late_check_one(s, words[w], w % 2) > 0);
}

/* Late and out-of-order records (records' time ranges overlap across
 * blocks and segments): the same answers as the model before and after
 * recompaction, and after a reopen. */
static void
test_recompact_late_records(void **state)
{
    struct rfx *f = *state;

    rfx_open(f, 12);
    late_fill(f);
    assert_true(stats(f).n_segments >= 4);
    late_check(f->s);
    recompact_all(f);
    assert_int_equal(stats(f).n_recompacted, stats(f).n_segments - 1);
    assert_int_equal(stats(f).n_corrupt_blocks, 0);
    late_check(f->s);
    rfx_close(f);
    rfx_open(f, 12);
    assert_int_equal(stats(f).n_index_rebuilds, 0);
    late_check(f->s);
    late_free();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_recompact_same_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recompact_age_and_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recompact_crash_states, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recompact_cursor_across, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recompact_write_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recompact_retention_meanwhile,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_recompact_late_records, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
