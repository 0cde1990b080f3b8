/* SPDX-License-Identifier: MIT */
/*
 * cursor_test: a property test of the store's read path. Records of six
 * sources (3 hosts x 2 container ids, equal times across sources on
 * purpose) arrive in adversarial orders: random interleavings, one host's
 * backlog of old records delivered after the others' newer ones, records
 * of several MiB between small ones; with commits, sealing, restarts (WAL
 * replay) and retention between them and tiny blocks and segments. For
 * random filters (time range, host, container glob, container id, stream,
 * tokens with and without is_tokens_required, an after-key, a receive
 * point: records are stamped in arrival order) in both directions, the cursor's output must equal a brute-force model: every
 * stored record, filtered, sorted by store_key. One dataset runs with a
 * tiny cursor_mem_max so eviction and re-reading are exercised (and
 * checked to have happened). With a record test (match_fn), half the
 * queries also run under a drawn cost cap, with and without
 * is_matches_only: both must stop alike (check_cap). Deterministic seeds;
 * a failure prints them.
 */
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "collector/store/index.h"
#include "collector/store/store.h"
#include "common/xmalloc.h"

#define T0        1700000000000000000LL
#define N_HOSTS   3
#define N_CIDS    2
#define N_SRCS    (N_HOSTS * N_CIDS)
#define MAX_TOKS  2

/* Hosts and ids where one is a prefix of another (bytewise order). */
static const char *const hosts[N_HOSTS] = { "node", "node1", "alpha" };
static const char *const cids[N_CIDS] = { "c1", "c10" };
static const char *const names[N_CIDS] = { "api", "db" };
/* No word is a substring of another, so substring == word. */
static const char *const vocab[] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
    "hotel", "india", "juliet",
};
#define N_VOCAB (sizeof(vocab) / sizeof(vocab[0]))
static const char *const seps[] = { " ", ", ", ":", "/", " (" };
static const char *const globs[] = { "api-*", "*-1", "db-2", "api-0", "*" };
#define N_GLOBS (sizeof(globs) / sizeof(globs[0]))

struct mrec {
    int      src;
    int64_t  t;
    uint64_t off;
    uint8_t  stream;
    char    *msg;
    size_t   len;
    uint32_t words;           /* bit i: holds vocab[i] */
    int64_t  recv;            /* receive time: by arrival, 8 a stamp */
};

struct cfg {
    uint64_t seed;
    int      n_recs;
    int      mode;            /* 0 interleaved, 1 late backlog, 2 lagging */
    size_t   block_size;
    uint64_t segment_size;
    size_t   mem_max;         /* cursor_mem_max, 0: default */
    uint64_t retention_bytes;
    int      n_big;           /* records of several MiB */
    int      n_queries;       /* per check round */
};

struct fx {
    char                 dir[64];
    struct store        *s;
    struct store_options opt;
    struct mrec         *recs;   /* in arrival order */
    size_t               n;
    const struct mrec  **alive;  /* stored records, by key ascending */
    size_t               n_alive;
    const struct cfg    *cfg;
    int                  round, query;
    int                  ix_mix;  /* .lqi of later seals: 0 version 6
                                     (frames), 1 version 5, 2 drawn at
                                     each open (a store mixes them) */
};

static uint64_t rng;
static unsigned long long n_returned;     /* records, for the verbose line */
static unsigned long long n_cursor_yields; /* store_cursor_next gave 2 */
static unsigned long long n_caps, n_caps_hit; /* check_cap scans, and
                                                 those the cap stopped */

static uint64_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned
rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static const char *
src_host(int src)
{
    return hosts[src / N_CIDS];
}

static const char *
src_cid(int src)
{
    return cids[src % N_CIDS];
}

static void
src_name(int src, char *out, size_t len)
{
    snprintf(out, len, "%s-%d", names[src % N_CIDS], src / N_CIDS);
}

static void
key_of(const struct mrec *r, struct store_key *k)
{
    k->time_ns = r->t;
    k->host = src_host(r->src);
    k->container_id = src_cid(r->src);
    k->offset = r->off;
}

static int
mrec_cmp(const void *pa, const void *pb)
{
    const struct mrec *a = *(const struct mrec *const *)pa;
    const struct mrec *b = *(const struct mrec *const *)pb;
    struct store_key ka, kb;

    key_of(a, &ka);
    key_of(b, &kb);
    return store_key_cmp(&ka, &kb);
}

/* ------------------------------------------------------------ data */

static void
gen_msg(struct mrec *r, int is_big)
{
    size_t cap = is_big ? (1u << 20) + rn(3u << 20) : 128;
    int n_words = 1 + (int)rn(5);
    char *m = xmalloc(cap + 64);
    size_t n = 0;

    r->words = 0;
    for (int w = 0; n < cap && (is_big || w < n_words); w++) {
        unsigned k = rn(N_VOCAB);
        n += (size_t)snprintf(m + n, cap + 64 - n, "%s%s",
                              w ? seps[rn(5)] : "", vocab[k]);
        if (rn(4) == 0)         /* the index and prefilter fold case */
            m[n - strlen(vocab[k])] -= 'a' - 'A';
        r->words |= 1u << k;
    }
    r->msg = m;
    r->len = n;
}

/* Per-source records: offsets grow; times step by 0..2 us on a shared
 * grid (ties across and within sources), sometimes back a little. */
static void
gen_source(struct mrec *out, int n, int src, int n_big)
{
    int64_t t = T0 + (int64_t)rn(20) * 1000;
    uint64_t off = 0;

    for (int i = 0; i < n; i++) {
        t += (int64_t)rn(3) * 1000;
        if (rn(40) == 0)
            t -= (int64_t)rn(10) * 1000;
        off += 1 + rn(100);
        out[i].src = src;
        out[i].t = t;
        out[i].off = off;
        out[i].stream = (uint8_t)(rn(3) == 0);
        gen_msg(&out[i], n_big > 0 && i % (n / n_big) == 3);
    }
}

/* Arrival order of the per-source lists: interleaved at random; mode 1:
 * the late host's records after everything else; mode 2: the late host
 * lags (delivered in bursts, far behind). */
static void
gen_arrival(struct fx *f, struct mrec *per[N_SRCS], const int n_per[N_SRCS])
{
    int next[N_SRCS] = { 0 };
    int late = (int)rn(N_HOSTS);

    f->n = 0;
    for (;;) {
        int avail[N_SRCS], n_avail = 0, n_late = 0;
        for (int s = 0; s < N_SRCS; s++) {
            if (next[s] >= n_per[s])
                continue;
            int is_late = s / N_CIDS == late;
            n_late += is_late;
            if (f->cfg->mode == 0 || !is_late)
                avail[n_avail++] = s;
        }
        if (n_avail == 0 && n_late == 0)
            return;
        int want_late = f->cfg->mode == 1 ? n_avail == 0
                        : f->cfg->mode == 2 ? rn(8) == 0 || n_avail == 0
                                            : 0;
        if (want_late && n_late > 0) {
            int s = late * N_CIDS + (int)rn(N_CIDS);
            if (next[s] >= n_per[s])
                s = late * N_CIDS + (s % N_CIDS == 0);
            int burst = 1 + (int)rn(20);
            while (burst-- > 0 && next[s] < n_per[s])
                f->recs[f->n++] = per[s][next[s]++];
            continue;
        }
        int s = avail[rn((unsigned)n_avail)];
        f->recs[f->n++] = per[s][next[s]++];
    }
}

static void
gen_dataset(struct fx *f)
{
    struct mrec *per[N_SRCS];
    int n_per[N_SRCS];

    f->recs = xcalloc((size_t)f->cfg->n_recs, sizeof(*f->recs));
    for (int s = 0; s < N_SRCS; s++) {
        n_per[s] = f->cfg->n_recs / N_SRCS;
        per[s] = xcalloc((size_t)n_per[s] + 1, sizeof(**per));
        gen_source(per[s], n_per[s], s, s == 1 ? f->cfg->n_big : 0);
    }
    gen_arrival(f, per, n_per);
    for (size_t i = 0; i < f->n; i++)
        f->recs[i].recv = T0 + (int64_t)(i / 8 + 1) * 1000;
    for (int s = 0; s < N_SRCS; s++)
        free(per[s]);
}

/* ------------------------------------------------------------ store */

static void
fx_open(struct fx *f)
{
    char *err = NULL;

    store_close(f->s);
    /* no sealing thread runs: the flag may change */
    index_test_without_frames(f->ix_mix == 2 ? (int)rn(2) : f->ix_mix);
    f->s = store_open(f->dir, &f->opt, &err);
    if (!f->s)
        fail_msg("store_open: %s", err);
}

static void
fx_append(struct fx *f, const struct mrec *m)
{
    char name[32];
    struct logrec r = {
        .time_ns = m->t, .host = src_host(m->src),
        .container_id = src_cid(m->src), .image = "img",
        .stream = m->stream, .offset = m->off, .msg = m->msg,
        .msg_len = m->len, .recv_ns = m->recv,
    };

    src_name(m->src, name, sizeof(name));
    r.container = name;
    assert_int_equal(store_append(f->s, &r), 1);
}

/* ------------------------------------------------------------ model */

struct query {
    struct store_filter fl;
    const char         *toks[MAX_TOKS];
    struct store_key    after;
    int                 newest_first;
    const char         *word;           /* match_fn's, or NULL */
};

/* 1 when msg holds word, ASCII case-insensitive (gen_msg capitalizes
 * some words). */
static int
holds_word(const char *msg, size_t len, const char *word)
{
    size_t wl = strlen(word);

    for (size_t i = 0; i + wl <= len; i++)
        if (strncasecmp(msg + i, word, wl) == 0)
            return 1;
    return 0;
}

/* The caller's record test (store_filter.match_fn): 1 when the message
 * holds the word (no word is a substring of another: == has_word). */
static int
word_match(void *arg, const char *msg, size_t len)
{
    return holds_word(msg, len, arg);
}

static int
has_word(const struct mrec *m, const char *w)
{
    for (size_t i = 0; i < N_VOCAB; i++)
        if (strcmp(vocab[i], w) == 0)
            return (m->words >> i) & 1;
    return 0;
}

/* 1 if m passes q's filter; with is_tokens also the tokens. */
static int
model_ok(const struct query *q, const struct mrec *m, int is_tokens)
{
    const struct store_filter *fl = &q->fl;
    char name[32];

    src_name(m->src, name, sizeof(name));
    if (m->t < fl->since_ns || m->t >= fl->until_ns ||
        (fl->host && strcmp(fl->host, src_host(m->src)) != 0) ||
        (fl->container_id && strcmp(fl->container_id, src_cid(m->src))) ||
        (fl->container && fnmatch(fl->container, name, 0) != 0) ||
        (fl->stream >= 0 && m->stream != fl->stream) ||
        (fl->recv_since_ns != 0 && m->recv < fl->recv_since_ns))
        return 0;
    if (fl->after) {
        struct store_key k;
        key_of(m, &k);
        int cmp = store_key_cmp(&k, fl->after);
        if (q->newest_first ? cmp >= 0 : cmp <= 0)
            return 0;
    }
    for (size_t i = 0; is_tokens && i < fl->n_tokens; i++)
        if (!has_word(m, fl->tokens[i]))
            return 0;
    /* is_matches_only: the records match_fn answers 0 are dropped */
    return !is_tokens || !fl->is_matches_only || has_word(m, q->word);
}

/* A receive point (a resumed follow's) in one query of three, at a
 * record's receive time or next to it, drawn from a stream of its own so
 * the other draws stay as they were. */
static int64_t
gen_recv_since(const struct fx *f)
{
    uint64_t h = (f->cfg->seed << 20) ^ ((uint64_t)f->round << 10) ^
                 (uint64_t)f->query ^ 0x5bd1e995ull;

    h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    if (h % 3 != 0 || f->n == 0)
        return 0;
    return f->recs[(h >> 8) % f->n].recv + (int64_t)((h >> 40) % 3) - 1;
}

static void
gen_query(struct fx *f, struct query *q)
{
    struct store_filter *fl = &q->fl;

    memset(q, 0, sizeof(*q));
    fl->since_ns = INT64_MIN;
    fl->until_ns = INT64_MAX;
    fl->stream = rn(4) == 0 ? (int)rn(2) : -1;
    q->newest_first = (int)rn(2);
    if (rn(3) == 0 && f->n_alive > 0)
        fl->since_ns = f->alive[rn((unsigned)f->n_alive)]->t -
                       (int64_t)rn(3) * 1000;
    if (rn(3) == 0 && f->n_alive > 0)
        fl->until_ns = f->alive[rn((unsigned)f->n_alive)]->t +
                       (int64_t)rn(3) * 1000;
    if (rn(4) == 0)
        fl->host = hosts[rn(N_HOSTS)];
    if (rn(4) == 0)
        fl->container_id = cids[rn(N_CIDS)];
    if (rn(4) == 0)
        fl->container = globs[rn(N_GLOBS)];
    if (rn(3) == 0) {
        fl->n_tokens = 1 + rn(MAX_TOKS);
        for (size_t i = 0; i < fl->n_tokens; i++)
            q->toks[i] = vocab[rn(N_VOCAB)];
        fl->tokens = q->toks;
        fl->is_tokens_required = (int)rn(2);
    }
    if (rn(2) == 0) {           /* a record test, matches only or not */
        q->word = vocab[rn(N_VOCAB)];
        fl->match_fn = word_match;
        fl->match_arg = fl->match_arg_helper = (void *)q->word;
        fl->is_matches_only = (int)rn(3) != 0;
    }
    if (rn(3) == 0 && f->n_alive > 0) {
        key_of(f->alive[rn((unsigned)f->n_alive)], &q->after);
        switch (rn(4)) {
        case 0: q->after.offset += 1; break;       /* between keys */
        case 1: q->after.host = ""; break;         /* before a time */
        case 2: q->after.host = "~"; break;        /* after a time */
        default: break;                            /* a stored key */
        }
        fl->after = &q->after;
    }
    fl->recv_since_ns = gen_recv_since(f);
}

static void
print_query(const struct fx *f, const struct query *q)
{
    const struct store_filter *fl = &q->fl;

    print_error("seed %llu round %d query %d: %s since=%lld until=%lld "
                "host=%s cid=%s container=%s stream=%d tokens=%s,%s req=%d "
                "after=%s match=%s only=%d recv_since=%lld\n",
                (unsigned long long)f->cfg->seed,
                f->round,
                f->query, q->newest_first ? "newest" : "oldest",
                (long long)fl->since_ns, (long long)fl->until_ns,
                fl->host ? fl->host : "-",
                fl->container_id ? fl->container_id : "-",
                fl->container ? fl->container : "-", fl->stream,
                fl->n_tokens > 0 ? q->toks[0] : "-",
                fl->n_tokens > 1 ? q->toks[1] : "-", fl->is_tokens_required,
                fl->after ? "yes" : "no", q->word ? q->word : "-",
                fl->is_matches_only, (long long)fl->recv_since_ns);
}

/* The model's i-th record in the query's direction. */
static const struct mrec *
model_at(const struct fx *f, const struct query *q, size_t i)
{
    return f->alive[q->newest_first ? f->n_alive - 1 - i : i];
}

static int
same_rec(const struct mrec *m, const struct logrec *r)
{
    char name[32];

    src_name(m->src, name, sizeof(name));
    return m->t == r->time_ns && m->off == r->offset &&
           strcmp(src_host(m->src), r->host) == 0 &&
           strcmp(src_cid(m->src), r->container_id) == 0 &&
           strcmp(name, r->container) == 0 && m->stream == r->stream &&
           m->len == r->msg_len && memcmp(m->msg, r->msg, m->len) == 0;
}

/* Runs q and compares with the model. Exact unless tokens are given
 * without is_tokens_required (then the store may add records of blocks
 * the index let through: the output must lie between the two models). */
static void
check_query(struct fx *f, const struct query *q)
{
    int is_exact = q->fl.n_tokens == 0 || q->fl.is_tokens_required;
    struct store_cursor *c = store_cursor_new(f->s, &q->fl, q->newest_first);
    struct logrec r;
    size_t j = 0, got = 0;
    uint64_t n_dropped = 0, n_yields = 0;
    int rc;

    while ((rc = store_cursor_next(c, &r)) == 1 || rc == 2) {
        uint64_t d = store_cursor_take_dropped(c);
        n_dropped += d;
        if (rc == 2) {          /* only after dropping enough, unseen */
            if (!q->fl.is_matches_only ||
                d < STORE_CURSOR_YIELD_RECORDS) {
                print_query(f, q);
                fail_msg("returned 2 after dropping %llu records",
                         (unsigned long long)d);
            }
            n_yields++;
            continue;
        }
        got++;
        n_returned++;
        /* a record test gives its answer with every record returned */
        if (q->word && store_cursor_match(c) !=
                       holds_word(r.msg, r.msg_len, q->word)) {
            print_query(f, q);
            fail_msg("record %zu: match %d", got, store_cursor_match(c));
        }
        /* r must be the next model record the store may return; only
         * records it may leave out can be passed over. */
        for (;; j++) {
            const struct mrec *m = j < f->n_alive ? model_at(f, q, j) : NULL;
            if (m && model_ok(q, m, is_exact) && same_rec(m, &r))
                break;
            if (!m || model_ok(q, m, 1)) {
                print_query(f, q);
                fail_msg("record %zu: t=%lld %s/%s off=%llu %s t=%lld "
                         "%s/%s off=%llu", got, (long long)r.time_ns, r.host,
                         r.container_id, (unsigned long long)r.offset,
                         m ? "instead of" : "is extra, model ends",
                         m ? (long long)m->t : 0, m ? src_host(m->src) : "",
                         m ? src_cid(m->src) : "",
                         m ? (unsigned long long)m->off : 0);
            }
        }
        j++;
    }
    if (rc < 0) {
        print_query(f, q);
        fail_msg("cursor reported a damaged block");
    }
    if (!q->fl.is_matches_only && n_dropped != 0)
        fail_msg("records dropped without is_matches_only");
    if (q->fl.n_tokens == 0) {
        /* every record the filter selects is returned, or dropped with
         * its bytes counted (the cost cap's): none is lost, none counted
         * twice */
        uint64_t want = 0;
        for (size_t i = 0; i < f->n_alive; i++)
            if (model_ok(q, f->alive[i], 0))
                want += f->alive[i]->len;
        if (store_cursor_skipped_bytes(c) +
            store_cursor_returned_bytes(c) != want) {
            print_query(f, q);
            fail_msg("skipped %llu + returned %llu bytes, want %llu",
                     (unsigned long long)store_cursor_skipped_bytes(c),
                     (unsigned long long)store_cursor_returned_bytes(c),
                     (unsigned long long)want);
        }
    }
    n_cursor_yields += n_yields;
    store_cursor_free(c);
    for (; j < f->n_alive; j++) {
        if (model_ok(q, model_at(f, q, j), 1)) {
            print_query(f, q);
            fail_msg("record missing after %zu returned", got);
        }
    }
}

/* ------------------------------------------------------------ cost cap */

/* What a scan of q under a cost cap gives, read as search_scan.c reads it
 * (no other cost: the cap counts the bytes returned and the cursor's
 * skipped ones; near the cap store_cursor_exact, then fail): the records
 * match_fn accepts (a fingerprint each, in order), whether the cap
 * stopped it, and the bytes counted at its end. */
struct capped {
    uint64_t *fp;
    size_t    n;
    int       is_capped;
    uint64_t  cost;
};

static uint64_t
rec_fp(const struct logrec *r)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)r->time_ns;

    for (const char *p = r->host; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (const char *p = r->container_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return (h ^ r->offset) * 1099511628211ull;
}

static void
capped_scan(struct fx *f, const struct query *q, int is_matches_only,
            uint64_t cap, struct capped *out)
{
    struct store_filter fl = q->fl;
    struct logrec r;
    uint64_t charged = 0;

    fl.is_matches_only = is_matches_only;
    fl.max_skipped_bytes = cap;
    struct store_cursor *c = store_cursor_new(f->s, &fl, q->newest_first);
    out->n = 0;
    out->is_capped = 0;
    for (;;) {
        int rc = store_cursor_next(c, &r);
        assert_true(rc >= 0);
        uint64_t len = rc == 1 ? r.msg_len : 0;
        if (charged + store_cursor_skipped_bytes(c) + len > cap)
            store_cursor_exact(c);
        if (charged + store_cursor_skipped_bytes(c) + len > cap) {
            out->is_capped = 1;
            break;
        }
        if (rc == 0)
            break;
        if (rc == 2)
            continue;
        charged += len;
        if (store_cursor_match(c) == 1)
            out->fp[out->n++] = rec_fp(&r);
    }
    out->cost = charged + store_cursor_skipped_bytes(c);
    store_cursor_free(c);
}

/* Under a cost cap a cursor with is_matches_only must stop where one
 * without stops: the same matches before it, the same bytes counted
 * (store_cursor_set_others). The cap is drawn up to the bytes the filter
 * selects, from a stream of its own (the other draws stay as they were). */
static void
check_cap(struct fx *f, const struct query *q)
{
    uint64_t h = (f->cfg->seed << 20) ^ ((uint64_t)f->round << 10) ^
                 (uint64_t)f->query, total = 0;
    struct capped a, b;

    h = (h ^ (h >> 31)) * 0x9e3779b97f4a7c15ull;
    if (q->word == NULL || h % 2 != 0)
        return;
    for (size_t i = 0; i < f->n_alive; i++)
        if (model_ok(q, f->alive[i], 0))
            total += f->alive[i]->len;
    uint64_t cap = 1 + (h >> 8) % (total + total / 8 + 1);
    a.fp = xcalloc(f->n_alive + 1, sizeof(*a.fp));
    b.fp = xcalloc(f->n_alive + 1, sizeof(*b.fp));
    capped_scan(f, q, 1, cap, &a);
    capped_scan(f, q, 0, cap, &b);
    if (a.n != b.n || a.is_capped != b.is_capped || a.cost != b.cost ||
        memcmp(a.fp, b.fp, a.n * sizeof(*a.fp)) != 0) {
        print_query(f, q);
        fail_msg("cap %llu: matches only %zu matches, capped %d, cost %llu;"
                 " without %zu, %d, %llu", (unsigned long long)cap, a.n,
                 a.is_capped, (unsigned long long)a.cost, b.n, b.is_capped,
                 (unsigned long long)b.cost);
    }
    n_caps++;
    n_caps_hit += (unsigned long long)a.is_capped;
    free(a.fp);
    free(b.fp);
}

/* The stored records: all appended ones, or with retention those a full
 * scan returns (checked against the store's own count and the model). */
static void
model_refresh(struct fx *f)
{
    struct store_stats st;

    free(f->alive);
    f->alive = xcalloc(f->n + 1, sizeof(*f->alive));
    f->n_alive = 0;
    store_get_stats(f->s, &st);
    if (!f->cfg->retention_bytes) {
        for (size_t i = 0; i < f->n; i++)
            f->alive[f->n_alive++] = &f->recs[i];
    } else {
        /* oldest first by the model's order; survivors are found by
         * key in the appended set (a lost record shows in the count) */
        const struct mrec **all = xcalloc(f->n + 1, sizeof(*all));
        for (size_t i = 0; i < f->n; i++)
            all[i] = &f->recs[i];
        qsort(all, f->n, sizeof(*all), mrec_cmp);
        struct store_filter fl = { .since_ns = INT64_MIN,
                                   .until_ns = INT64_MAX, .stream = -1 };
        struct store_cursor *c = store_cursor_new(f->s, &fl, 0);
        struct logrec r;
        size_t j = 0;
        while (store_cursor_next(c, &r) == 1) {
            while (j < f->n && !same_rec(all[j], &r))
                j++;
            if (j == f->n)
                fail_msg("seed %llu: a stored record is not in the model "
                         "or out of order", (unsigned long long)f->cfg->seed);
            f->alive[f->n_alive++] = all[j++];
        }
        store_cursor_free(c);
        free(all);
    }
    assert_int_equal(f->n_alive, st.n_records);
    qsort(f->alive, f->n_alive, sizeof(*f->alive), mrec_cmp);
}

static void
check_round(struct fx *f)
{
    struct query q;

    model_refresh(f);
    f->round++;
    for (f->query = 0; f->query < f->cfg->n_queries; f->query++) {
        gen_query(f, &q);
        check_query(f, &q);
        check_cap(f, &q);
        q.newest_first = !q.newest_first;   /* both directions */
        check_query(f, &q);
    }
}

/* ------------------------------------------------------------ driver */

static void
run_dataset(const struct cfg *cfg)
{
    struct fx f;

    memset(&f, 0, sizeof(f));
    f.cfg = cfg;
    rng = cfg->seed;
    snprintf(f.dir, sizeof(f.dir), "/tmp/cursor_test.XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    f.opt.block_size = cfg->block_size;
    f.opt.segment_size = cfg->segment_size;
    f.opt.cursor_mem_max = cfg->mem_max;
    f.opt.retention_bytes = cfg->retention_bytes;
    f.opt.compress_codec = (int)rn(2);
    /* zstd: codec 5 (the old format), or codec 6 in frames of ~100 bytes
     * or 64 KiB (one a block here) */
    f.opt.frame_size = rn(3) == 0 ? STORE_NO_FRAMES : rn(2) ? 100 : 0;
    f.ix_mix = (int)rn(3);
    gen_dataset(&f);
    size_t n_all = f.n;
    fx_open(&f);
    f.n = 0;
    for (size_t i = 0; i < n_all; i++) {
        fx_append(&f, &f.recs[i]);
        f.n++;
        if (rn(6) == 0)
            assert_int_equal(store_commit(f.s), 0);
        if (rn(40) == 0)
            assert_int_equal(store_sync(f.s), 0);
        if (rn(150) == 0)
            fx_open(&f);                /* WAL replay */
        if (rn(200) == 0) {
            assert_int_equal(store_commit(f.s), 0);   /* seal in flight */
            check_round(&f);
        }
    }
    assert_int_equal(store_commit(f.s), 0);
    check_round(&f);
    assert_int_equal(store_sync(f.s), 0);
    fx_open(&f);
    check_round(&f);

    struct store_stats st;
    store_get_stats(f.s, &st);
    if (cfg->mem_max > 0 && cfg->mem_max < 4096)
        assert_true(st.n_cursor_rereads > 0);
    if (cfg->retention_bytes)
        assert_true(f.n_alive < f.n);   /* retention did delete */
    if (getenv("CURSOR_TEST_VERBOSE"))
        printf("seed %llu: %zu records, %zu stored, %llu blocks, %llu "
               "segments, %llu re-reads, %llu rets, %llu/%llu capped\n",
               (unsigned long long)cfg->seed, f.n, f.n_alive,
               (unsigned long long)st.n_blocks,
               (unsigned long long)st.n_segments,
               (unsigned long long)st.n_cursor_rereads, n_returned,
               n_caps_hit, n_caps);
    store_close(f.s);
    char *cmd = xasprintf("rm -rf '%s'", f.dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    for (size_t i = 0; i < n_all; i++)
        free(f.recs[i].msg);
    free(f.recs);
    free(f.alive);
}

static void
test_cursor_order_interleaved(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct cfg c = { .seed = seed * 7919, .n_recs = 600, .mode = 0,
                         .block_size = seed % 2 ? 256 : 1024,
                         .segment_size = 4096, .n_queries = 30 };
        run_dataset(&c);
    }
}

static void
test_cursor_order_late_backlog(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct cfg c = { .seed = seed * 104729, .n_recs = 600,
                         .mode = seed % 2 ? 1 : 2,
                         .block_size = seed < 3 ? 256 : 1024,
                         .segment_size = seed < 3 ? 2048 : 32768,
                         .n_queries = 30 };
        run_dataset(&c);
    }
}

static void
test_cursor_order_big_records(void **state)
{
    (void)state;
    struct cfg c = { .seed = 31337, .n_recs = 300, .mode = 1,
                     .block_size = 2048, .segment_size = 8192,
                     .n_big = 3, .n_queries = 8 };
    run_dataset(&c);
}

static void
test_cursor_order_retention(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        struct cfg c = { .seed = seed * 65537, .n_recs = 600, .mode = 2,
                         .block_size = 512, .segment_size = 2048,
                         .retention_bytes = 8192, .n_queries = 20 };
        run_dataset(&c);
    }
}

/* A tiny cap: every open block past the first is evicted and re-read. */
static void
test_cursor_order_evicting(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        struct cfg c = { .seed = seed * 2654435761u, .n_recs = 500,
                         .mode = (int)seed, .block_size = 512,
                         .segment_size = 4096, .mem_max = 1,
                         .n_queries = 20 };
        run_dataset(&c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_order_interleaved),
        cmocka_unit_test(test_cursor_order_late_backlog),
        cmocka_unit_test(test_cursor_order_big_records),
        cmocka_unit_test(test_cursor_order_retention),
        cmocka_unit_test(test_cursor_order_evicting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
