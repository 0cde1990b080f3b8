/* SPDX-License-Identifier: MIT */
/*
 * follow: staged records and the subscriber list (contract in follow.h).
 * Staged records are copied into a recbuf (one capped buffer: one memcpy
 * per field, no allocation in the steady state). Subscribers live
 * in a TAILQ; removal during a publish round only marks the entry, and the
 * round frees marked entries at its end, so a callback may drop its own
 * client. Talks to nobody: ingest_batch.c stages, ingest_commit.c
 * publishes, api_follow.c subscribes; main.c hands both the same struct
 * follow, and sets the store as its source. While nobody is subscribed
 * with a source set, staging only counts (n_staged, n_committing) and
 * marks the sets lazy; the first subscriber (or receive point) reads
 * them back from the source, split by those counts. follow_keys is an open-addressing table (load <= 1/2) over
 * copies of the identities.
 */
#include "collector/search/follow.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "collector/search/recbuf.h"
#include "common/fnv.h"
#include "common/xmalloc.h"

/* Bytes a staging buffer keeps once published while no one is
 * subscribed; past that it is freed (the stage grows with the records
 * appended between two commits: 17 MB at 50 MiB/s under load). */
#define FOLLOW_KEEP ((size_t)256 << 10)

struct follow_sub {
    TAILQ_ENTRY(follow_sub) entry;
    follow_record_fn        rec;
    follow_flush_fn         flush;
    void                   *arg;
    int                     is_dead;
};

struct follow {
    TAILQ_HEAD(, follow_sub) subs;
    size_t                n_subs;
    int                   is_publishing;
    struct recbuf         stage;
    struct recbuf         committing;   /* staged before the commit in
                                           flight began */
    uint64_t              n_dropped;
    int64_t               last_recv;    /* last stamp (or reserved) */
    follow_source_fn      src_fn;       /* NULL: always copy */
    void                 *src_arg;
    size_t                n_staged;     /* staged since the last begin */
    size_t                n_committing; /* of the commit in flight */
    int                   is_lazy;      /* some of them not copied */
};

/* ---- subscribers ---- */

struct follow *
follow_new(size_t stage_max)
{
    struct follow *f = xcalloc(1, sizeof(*f));

    TAILQ_INIT(&f->subs);
    recbuf_init(&f->stage, stage_max, SIZE_MAX);
    recbuf_init(&f->committing, stage_max, SIZE_MAX);
    return f;
}

void
follow_free(struct follow *f)
{
    if (f == NULL)
        return;
    struct follow_sub *s;
    while ((s = TAILQ_FIRST(&f->subs)) != NULL) {
        TAILQ_REMOVE(&f->subs, s, entry);
        free(s);
    }
    recbuf_fini(&f->stage);
    recbuf_fini(&f->committing);
    free(f);
}

void
follow_set_source(struct follow *f, follow_source_fn fn, void *arg)
{
    f->src_fn = fn;
    f->src_arg = arg;
}

struct follow_fill {
    struct follow *f;
    size_t         i;
};

static void
follow_fill_cb(const struct logrec *r, void *arg)
{
    struct follow_fill *x = arg;
    struct follow *f = x->f;
    struct recbuf *b = x->i++ < f->n_committing ? &f->committing : &f->stage;

    if (recbuf_add(b, r) < 0)
        f->n_dropped++;
}

/* The staged records again, copied from the source: the first
 * n_committing are the commit in flight's, the rest the stage's. */
static void
follow_fill(struct follow *f)
{
    struct follow_fill x = { .f = f };

    if (!f->is_lazy)
        return;
    recbuf_reset(&f->committing);
    recbuf_reset(&f->stage);
    (void)f->src_fn(f->src_arg, follow_fill_cb, &x);
    f->is_lazy = 0;
}

struct follow_sub *
follow_subscribe(struct follow *f, follow_record_fn rec, follow_flush_fn flush,
                 void *arg)
{
    struct follow_sub *s = xcalloc(1, sizeof(*s));

    follow_fill(f);
    s->rec = rec;
    s->flush = flush;
    s->arg = arg;
    TAILQ_INSERT_TAIL(&f->subs, s, entry);
    f->n_subs++;
    return s;
}

void
follow_unsubscribe(struct follow *f, struct follow_sub *sub)
{
    if (sub == NULL || sub->is_dead)
        return;
    f->n_subs--;
    if (f->is_publishing) {
        sub->is_dead = 1;
        return;
    }
    TAILQ_REMOVE(&f->subs, sub, entry);
    free(sub);
}

size_t
follow_n_subscribers(const struct follow *f)
{
    return f->n_subs;
}

size_t
follow_mem(const struct follow *f)
{
    return recbuf_mem(&f->stage) + recbuf_mem(&f->committing);
}

uint64_t
follow_n_dropped(const struct follow *f)
{
    return f->n_dropped;
}

/* ---- staging ---- */

int
follow_stage(struct follow *f, const struct logrec *r)
{
    f->n_staged++;
    if (f->n_subs == 0 && f->src_fn != NULL) {
        f->is_lazy = 1;         /* follow_fill reads it back */
        return 0;
    }
    if (recbuf_add(&f->stage, r) < 0) {
        f->n_dropped++;
        return -1;
    }
    return 0;
}

static void
follow_deliver(struct follow *f, size_t i)
{
    struct logrec r;
    struct follow_sub *s;

    recbuf_get(&f->committing, i, &r);
    TAILQ_FOREACH(s, &f->subs, entry)
        if (!s->is_dead)
            s->rec(&r, s->arg);
}

void
follow_commit_begin(struct follow *f)
{
    struct logrec r;

    f->n_committing += f->n_staged;
    f->n_staged = 0;
    if (f->committing.n == 0) {
        recbuf_swap(&f->committing, &f->stage);
        return;
    }
    /* A commit failed: its records first, then the ones staged since. */
    for (size_t i = 0; i < f->stage.n; i++) {
        recbuf_get(&f->stage, i, &r);
        if (recbuf_add(&f->committing, &r) < 0)
            f->n_dropped++;
    }
    recbuf_reset(&f->stage);
}

void
follow_commit_end(struct follow *f)
{
    struct follow_sub *s, *next;

    f->n_committing = 0;
    if (f->n_staged == 0)
        f->is_lazy = 0;         /* nothing left to read back */
    if (f->committing.n == 0)
        return;
    f->is_publishing = 1;
    for (size_t i = 0; i < f->committing.n; i++)
        follow_deliver(f, i);
    TAILQ_FOREACH(s, &f->subs, entry)
        if (!s->is_dead && s->flush != NULL)
            s->flush(s->arg);
    f->is_publishing = 0;
    for (s = TAILQ_FIRST(&f->subs); s != NULL; s = next) {
        next = TAILQ_NEXT(s, entry);
        if (s->is_dead) {
            TAILQ_REMOVE(&f->subs, s, entry);
            free(s);
        }
    }
    if (f->n_subs == 0)
        recbuf_empty(&f->committing, FOLLOW_KEEP);
    else
        recbuf_reset(&f->committing);
}

void
follow_publish(struct follow *f)
{
    follow_commit_begin(f);
    follow_commit_end(f);
}

/* ---- receive times ---- */

int64_t
follow_recv_next(struct follow *f, int64_t now_ns)
{
    f->last_recv = now_ns > f->last_recv ? now_ns : f->last_recv + 1;
    return f->last_recv;
}

int64_t
follow_receive_point(struct follow *f, int64_t now_ns)
{
    follow_fill(f);
    const struct recbuf *b = f->committing.n > 0 ? &f->committing
                                                 : &f->stage;
    if (b->n > 0) {
        struct logrec r;
        recbuf_get(b, 0, &r);           /* staged in stamp order */
        return r.recv_ns;
    }
    int64_t p = now_ns > f->last_recv ? now_ns : f->last_recv + 1;
    f->last_recv = p - 1;               /* the next stamp is >= p */
    return p;
}

/* ---- identity sets ---- */

struct follow_key {
    int64_t  time_ns;
    uint64_t offset;
    uint64_t hash;
    char    *hc;        /* host, '\0', container_id, '\0' */
    size_t   hc_len;
};

struct follow_keys {
    struct follow_key *v;
    size_t             n, max;
    uint32_t          *tab;     /* index + 1; 0: empty */
    size_t             tab_size;
};

struct follow_keys *
follow_keys_new(size_t max)
{
    struct follow_keys *k = xcalloc(1, sizeof(*k));

    assert(max < UINT32_MAX / 2);   /* slots hold an index + 1 */
    k->max = max;
    k->tab_size = 16;
    while (k->tab_size < 2 * max)
        k->tab_size *= 2;
    k->v = xcalloc(max ? max : 1, sizeof(*k->v));
    k->tab = xcalloc(k->tab_size, sizeof(*k->tab));
    return k;
}

void
follow_keys_free(struct follow_keys *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i].hc);
    free(k->v);
    free(k->tab);
    free(k);
}

/* r's identity in e (hc borrowed from the scratch buffer). */
static void
follow_key_of(const struct logrec *r, struct follow_key *e, char *hc,
              size_t hc_max)
{
    const char *host = r->host ? r->host : "";
    const char *cid = r->container_id ? r->container_id : "";
    size_t hl = strlen(host), cl = strlen(cid);
    uint64_t h;

    e->time_ns = r->time_ns;
    e->offset = r->offset;
    e->hc_len = hl + cl + 2;
    e->hc = e->hc_len <= hc_max ? hc : xmalloc(e->hc_len);
    memcpy(e->hc, host, hl + 1);
    memcpy(e->hc + hl + 1, cid, cl + 1);
    h = fnv1a64(e->hc, e->hc_len);
    h = (h ^ (uint64_t)e->time_ns) * FNV1A64_PRIME;
    e->hash = (h ^ e->offset) * FNV1A64_PRIME;
}

/* The slot holding e, or the empty slot where it would go. */
static size_t
follow_keys_slot(const struct follow_keys *k, const struct follow_key *e)
{
    size_t i = e->hash & (k->tab_size - 1);

    for (;; i = (i + 1) & (k->tab_size - 1)) {
        if (k->tab[i] == 0)
            return i;
        const struct follow_key *x = &k->v[k->tab[i] - 1];
        if (x->hash == e->hash && x->time_ns == e->time_ns &&
            x->offset == e->offset && x->hc_len == e->hc_len &&
            memcmp(x->hc, e->hc, e->hc_len) == 0)
            return i;
    }
}

int
follow_keys_add(struct follow_keys *k, const struct logrec *r)
{
    char hc[256];
    struct follow_key e;

    follow_key_of(r, &e, hc, sizeof(hc));
    size_t i = follow_keys_slot(k, &e);
    if (k->tab[i] != 0 || k->n == k->max) {
        int rc = k->tab[i] != 0 ? 0 : -1;
        if (e.hc != hc)
            free(e.hc);
        return rc;
    }
    if (e.hc == hc) {
        e.hc = xmalloc(e.hc_len);
        memcpy(e.hc, hc, e.hc_len);
    }
    k->v[k->n++] = e;
    k->tab[i] = (uint32_t)k->n;
    return 0;
}

int
follow_keys_has(const struct follow_keys *k, const struct logrec *r)
{
    char hc[256];
    struct follow_key e;

    follow_key_of(r, &e, hc, sizeof(hc));
    size_t i = follow_keys_slot(k, &e);
    if (e.hc != hc)
        free(e.hc);
    return k->tab[i] != 0;
}

size_t
follow_keys_count(const struct follow_keys *k)
{
    return k->n;
}
