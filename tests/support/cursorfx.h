/* SPDX-License-Identifier: MIT */
/*
 * cursorfx: cursor_test's data, model and store (collector/store/
 * cursor_test.c): six sources' records in adversarial arrival orders
 * (gen_dataset), the store they are appended to (fx_open, fx_append),
 * random queries (gen_query) and the brute-force model a cursor's output
 * is compared with (model_ok, model_at, same_rec). Test-only,
 * header-only; one test includes it.
 */
#ifndef TESTS_SUPPORT_CURSORFX_H
#define TESTS_SUPPORT_CURSORFX_H

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
#include "tests/support/testrng.h"

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
    int      mode;            /* 0 interleaved, 1 late backlog, 2 lagging,
                                 3 in turn (runs of each source) */
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

static inline uint64_t
rnd(void)
{
    return testrng_next(&rng);
}

static inline unsigned
rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static inline const char *
src_host(int src)
{
    return hosts[src / N_CIDS];
}

static inline const char *
src_cid(int src)
{
    return cids[src % N_CIDS];
}

static inline void
src_name(int src, char *out, size_t len)
{
    snprintf(out, len, "%s-%d", names[src % N_CIDS], src / N_CIDS);
}

static inline void
key_of(const struct mrec *r, struct store_key *k)
{
    k->time_ns = r->t;
    k->host = src_host(r->src);
    k->container_id = src_cid(r->src);
    k->offset = r->off;
}

static inline int
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

static inline void
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
static inline void
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
 * lags (delivered in bursts, far behind); mode 3: the sources in turn, a
 * run of 1 to 40 records of each (a shipper's round robin), which the
 * seal groups by source inside each block. */
static inline void
gen_arrival(struct fx *f, struct mrec *per[N_SRCS], const int n_per[N_SRCS])
{
    int next[N_SRCS] = { 0 };
    int late = (int)rn(N_HOSTS);
    unsigned turn = 0;

    f->n = 0;
    for (;;) {
        int avail[N_SRCS], n_avail = 0, n_late = 0;
        for (int s = 0; s < N_SRCS; s++) {
            if (next[s] >= n_per[s])
                continue;
            int is_late = s / N_CIDS == late;
            n_late += is_late;
            if (f->cfg->mode == 0 || f->cfg->mode == 3 || !is_late)
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
        if (f->cfg->mode == 3) {
            int s = avail[turn++ % (unsigned)n_avail];
            int run = 1 + (int)rn(40);
            while (run-- > 0 && next[s] < n_per[s])
                f->recs[f->n++] = per[s][next[s]++];
            continue;
        }
        int s = avail[rn((unsigned)n_avail)];
        f->recs[f->n++] = per[s][next[s]++];
    }
}

static inline void
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

static inline void
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

static inline void
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
static inline int
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
static inline int
word_match(void *arg, const char *msg, size_t len)
{
    return holds_word(msg, len, arg);
}

static inline int
has_word(const struct mrec *m, const char *w)
{
    for (size_t i = 0; i < N_VOCAB; i++)
        if (strcmp(vocab[i], w) == 0)
            return (m->words >> i) & 1;
    return 0;
}

/* 1 if m passes q's filter; with is_tokens also the tokens. */
static inline int
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
static inline int64_t
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

static inline void
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

static inline void
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
static inline const struct mrec *
model_at(const struct fx *f, const struct query *q, size_t i)
{
    return f->alive[q->newest_first ? f->n_alive - 1 - i : i];
}

static inline int
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

#endif
