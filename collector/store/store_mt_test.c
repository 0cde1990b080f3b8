/* SPDX-License-Identifier: MIT */
/*
 * store_mt_test: cursors on other threads while the store's thread
 * appends, commits, seals (tiny blocks and segments), grows the label
 * array and deletes segments by retention (STORE.md "Threads"). Each
 * reader walks whole cursors in both directions, with and without a host
 * filter and tokens, and checks every record against what was written
 * (the message names its host, offset and time) and the store_key order;
 * and that each committed record is found by its rare term meanwhile.
 * Run it under MODE=tsan as well (tests/README: ThreadSanitizer): any
 * data race between a cursor and the writer is a failure there; under
 * MODE=asan a reader using freed directory or label memory is.
 */
#include <ftw.h>
#include <pthread.h>
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
#include "common/xmalloc.h"

#define T0         1700000000000000000LL
#define N_HOSTS    3
#define N_RECS     12000
#define N_READERS  2

static const char *const hosts[N_HOSTS] = { "node", "node1", "alpha" };

struct mt {
    struct store *s;
    uint64_t      committed[N_HOSTS];   /* __atomic: offsets committed */
    int           n_rare;       /* __atomic: rare-term lookups checked */
    int           is_stop;      /* __atomic */
    int           n_bad;        /* __atomic: failed checks */
    int           n_walks;      /* __atomic: cursors walked */
    char          why[200];     /* first failure (under mu) */
    pthread_mutex_t mu;
};

static void
mt_fail(struct mt *m, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&m->mu);
    if (m->n_bad == 0) {
        va_start(ap, fmt);
        vsnprintf(m->why, sizeof(m->why), fmt, ap);
        va_end(ap);
    }
    __atomic_add_fetch(&m->n_bad, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&m->mu);
}

/* A record's message: host index, offset and time, then a word. */
static int
rec_msg(char *out, size_t cap, int h, uint64_t off, int64_t t)
{
    return snprintf(out, cap, "h%d o%llu t%lld w%llu", h,
                    (unsigned long long)off, (long long)t,
                    (unsigned long long)(off % 5));
}

static int64_t
rec_time(int h, uint64_t off)
{
    /* late backlog: host 2 writes times well behind the others */
    int64_t t = T0 + (int64_t)off * 1000;
    return h == 2 ? t - 3000000 : t - (int64_t)(off % 7) * 500;
}

/* Checks one walk: every record is one that was written, in key order. */
static void
walk(struct mt *m, int newest_first, const char *host, const char *tok)
{
    const char *toks[1] = { tok };
    struct store_filter f = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .host = host,
        .stream = -1, .tokens = tok ? toks : NULL, .n_tokens = tok ? 1 : 0,
        .is_tokens_required = tok != NULL,
    };
    struct store_cursor *c = store_cursor_new(m->s, &f, newest_first);
    struct logrec r;
    char prev_host[32] = "", prev_cid[32] = "", msg[128];
    struct store_key prev = { 0, prev_host, prev_cid, 0 };
    int rc, n = 0;

    while ((rc = store_cursor_next(c, &r)) != 0) {
        if (rc < 0) {
            mt_fail(m, "damaged block reported");
            break;
        }
        int h = -1;
        for (int i = 0; i < N_HOSTS; i++)
            if (strcmp(r.host, hosts[i]) == 0)
                h = i;
        int len = h < 0 ? 0 : rec_msg(msg, sizeof(msg), h, r.offset,
                                      r.time_ns);
        if (h < 0 || r.time_ns != rec_time(h, r.offset) ||
            (size_t)len != r.msg_len || memcmp(msg, r.msg, r.msg_len) != 0 ||
            (host && strcmp(host, r.host) != 0) ||
            (tok && !memmem(r.msg, r.msg_len, tok, strlen(tok)))) {
            mt_fail(m, "bad record %s %llu", r.host,
                    (unsigned long long)r.offset);
            break;
        }
        struct store_key k;
        store_key_of(&r, &k);
        int cmp = store_key_cmp(&prev, &k);
        if (n > 0 && (newest_first ? cmp <= 0 : cmp >= 0)) {
            mt_fail(m, "out of order at %s %llu", r.host,
                    (unsigned long long)r.offset);
            break;
        }
        snprintf(prev_host, sizeof(prev_host), "%s", r.host);
        snprintf(prev_cid, sizeof(prev_cid), "%s", r.container_id);
        prev.time_ns = r.time_ns;
        prev.offset = r.offset;
        n++;
    }
    store_cursor_free(c);
    __atomic_add_fetch(&m->n_walks, 1, __ATOMIC_RELAXED);
}

/* A record committed before the cursor was created is found by its rare
 * term (its offset: "o<off>" is in one record of each host), whether it
 * is in the tail, a block being sealed or a sealed block of the segment
 * the sealing thread is indexing. */
static void
rare(struct mt *m, unsigned i)
{
    int h = (int)(i % N_HOSTS);
    uint64_t hi = __atomic_load_n(&m->committed[h], __ATOMIC_ACQUIRE);
    if (hi < 1)
        return;
    uint64_t off = hi - (i * 7919u) % (hi < 100 ? hi : 100);
    char tok[32];
    snprintf(tok, sizeof(tok), "o%llu", (unsigned long long)off);
    const char *toks[1] = { tok };
    struct store_filter f = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .host = hosts[h],
        .stream = -1, .tokens = toks, .n_tokens = 1,
        .is_tokens_required = 1,
    };
    struct store_cursor *c = store_cursor_new(m->s, &f, i & 1);
    struct logrec r;
    int n = 0, rc;
    while ((rc = store_cursor_next(c, &r)) > 0)
        n += r.offset == off;
    store_cursor_free(c);
    if (rc < 0 || n != 1)
        mt_fail(m, "rare term %s of %s: %d records", tok, hosts[h], n);
    __atomic_add_fetch(&m->n_rare, 1, __ATOMIC_RELAXED);
}

static void *
reader_main(void *arg)
{
    struct mt *m = arg;
    static const char *const toks[] = { NULL, "w3", NULL, "o1" };

    for (unsigned i = 0; !__atomic_load_n(&m->is_stop, __ATOMIC_ACQUIRE);
         i++) {
        walk(m, (int)(i & 1), (i / 2) % 3 == 0 ? hosts[i % N_HOSTS] : NULL,
             toks[(i / 3) % 4]);
        for (unsigned k = 0; k < 2; k++)
            rare(m, i * 2 + k);
    }
    return NULL;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
test_cursors_while_writing(void **state)
{
    (void)state;
    char dir[] = "/tmp/store_mt_XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct store_options opt = {
        .block_size = 2048, .segment_size = 8192, .cursor_mem_max = 16384,
        .frame_size = 256,      /* ~8 frames a block */
        .retention_bytes = 96 << 10,
    };
    char *err = NULL;
    struct mt m = { 0 };
    pthread_mutex_init(&m.mu, NULL);
    m.s = store_open(dir, &opt, &err);
    assert_non_null(m.s);
    pthread_t th[N_READERS];
    for (int i = 0; i < N_READERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &m), 0);

    uint64_t off[N_HOSTS] = { 0 };
    char msg[128], name[32];
    for (int i = 0; i < N_RECS; i++) {
        int h = i % N_HOSTS;
        uint64_t o = ++off[h];
        int64_t t = rec_time(h, o);
        int len = rec_msg(msg, sizeof(msg), h, o, t);
        /* new names now and then: the label array grows meanwhile */
        snprintf(name, sizeof(name), "app-%llu", (unsigned long long)o / 400);
        struct logrec r = {
            .time_ns = t, .host = hosts[h], .container_id = "c1",
            .container = name, .image = "img", .stream = LOGREC_STDOUT,
            .offset = o, .msg = msg, .msg_len = (size_t)len,
        };
        assert_int_equal(store_append(m.s, &r), 1);
        if (i % 8 == 7) {
            assert_int_equal(store_commit(m.s), 0);
            for (int k = 0; k < N_HOSTS; k++)   /* acknowledged */
                __atomic_store_n(&m.committed[k], off[k], __ATOMIC_RELEASE);
        }
        if (i % 64 == 63)
            (void)store_apply_retention(m.s);
    }
    assert_int_equal(store_commit(m.s), 0);
    /* let the readers walk the final state too: until they did as many
     * walks and rare-term lookups as asserted below, however slow TSan
     * on a loaded machine (60 s at most) */
    for (int k = 0; k < 60000 &&
         (__atomic_load_n(&m.n_walks, __ATOMIC_RELAXED) < 8 * N_READERS ||
          __atomic_load_n(&m.n_rare, __ATOMIC_RELAXED) < 8 * N_READERS);
         k++)
        usleep(1000);
    __atomic_store_n(&m.is_stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < N_READERS; i++)
        pthread_join(th[i], NULL);

    struct store_stats st;
    store_get_stats(m.s, &st);
    if (m.n_bad)
        fail_msg("%d bad walks, first: %s", m.n_bad, m.why);
    assert_true(m.n_walks >= 2 * N_READERS);
    assert_true(m.n_rare >= 8 * N_READERS);
    assert_true(st.n_segments_deleted > 0);     /* retention ran */
    assert_true(st.n_labels > 20);              /* the array grew */
    store_close(m.s);
    pthread_mutex_destroy(&m.mu);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    free(err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursors_while_writing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
