/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_tab: the bounded tables of what the collector writes to
 * Redis (series, metric names, hosts, and each host's names as (host,
 * name) pairs) and the caps a new series must pass (collector/REDIS.md
 * "Bounds"): per host first (--max-series-per-host,
 * --max-metric-names-per-host), so no host can fill the collector's own
 * caps (--max-series, --max-metric-names) and silence the others' new
 * series (issue 9), then per collector. A series holds its pair and host
 * (counted refs), a pair its name and host, so none of them is freed
 * before what points to it. Knows no Redis command: redis_metrics.c
 * writes, this only decides and counts (refusals logged rate-limited).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "collector/metrics/redis_metrics_internal.h"
#include "common/fnv.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* ---- tables ---- */

void
rm_tab_init(struct rm_tab *t, size_t max)
{
    size_t n = 64;

    while (n < max && n < ((size_t)1 << 20))
        n <<= 1;
    t->slots = xcalloc(n, sizeof(*t->slots));
    t->mask = n - 1;
    t->n = 0;
    t->max = max;
}

/* The entry of id in one hash chain, or NULL. */
static struct rm_ent *
rm_chain_find(struct rm_ent *e, const char *id, size_t len)
{
    for (; e != NULL; e = e->next)
        if (strlen(e->id) == len && memcmp(e->id, id, len) == 0)
            return e;
    return NULL;
}

struct rm_ent *
rm_tab_find(const struct rm_tab *t, const char *id, size_t len)
{
    return rm_chain_find(t->slots[fnv1a64(id, len) & t->mask], id, len);
}

struct rm_ent *
rm_tab_get(struct rm_tab *t, const char *id, size_t len)
{
    struct rm_ent **slot = &t->slots[fnv1a64(id, len) & t->mask];
    struct rm_ent *e = rm_chain_find(*slot, id, len);

    if (e != NULL)
        return e;
    if (t->n >= t->max)
        return NULL;
    e = xcalloc(1, sizeof(*e));
    e->id = xstrndup(id, len);
    e->next = *slot;
    *slot = e;
    t->n++;
    return e;
}

/* Gives back what a freed series or pair held. */
static void
rm_ent_release(struct rm_ent *e)
{
    if (e->pair != NULL) {                  /* a series */
        e->pair->n_refs--;
        e->host->n_refs--;
        e->host->n_series--;
    } else if (e->host != NULL) {           /* a (host, name) pair */
        e->name->n_refs--;
        e->host->n_refs--;
        e->host->n_names--;
    }
}

void
rm_tab_expire(struct rmetrics *rm, struct rm_tab *t, int64_t cutoff_ms,
              rm_gone_fn gone)
{
    if (t->slots == NULL)
        return;
    for (size_t i = 0; i <= t->mask; i++) {
        struct rm_ent **pp = &t->slots[i];
        while (*pp != NULL) {
            struct rm_ent *e = *pp;
            if (e->last_write_ms >= cutoff_ms || e->n_refs > 0) {
                pp = &e->next;
                continue;
            }
            if (gone != NULL && e->last_write_ms > 0)
                gone(rm, e->id);
            rm_ent_release(e);
            if (e->n_names_refused + e->n_series_refused > 0)
                rm->n_hosts_capped--;           /* a capped host goes */
            *pp = e->next;
            free(e->id);
            free(e);
            t->n--;
        }
    }
}

void
rm_tab_fini(struct rm_tab *t)
{
    free(t->slots);
    t->slots = NULL;
}

/* ---- caps ---- */

/* A sample of a new name past --max-metric-names: counted, logged (the
 * first 10, then one in 1000). */
static void
rm_name_refused(struct rmetrics *rm, const char *host)
{
    char esc[LOG_ESC_SIZE];

    rm->ctr.names_dropped++;
    if (rm->ctr.names_dropped <= 10 || rm->ctr.names_dropped % 1000 == 0)
        log_warn("redis", "metric name refused: --max-metric-names %zu "
                 "reached host=\"%s\" refused=%" PRIu64, rm->cfg.max_names,
                 log_esc(esc, sizeof(esc), host, strlen(host)),
                 rm->ctr.names_dropped);
}

/* A sample refused by one of h's own caps: counted for h and in all;
 * logged for the first 10 in all, one in 1000 after, and the first of
 * each of the first RM_CAPPED_LOG_HOSTS hosts refused. */
static void
rm_host_refused(struct rmetrics *rm, struct rm_ent *h, int is_series)
{
    uint64_t *mine = is_series ? &h->n_series_refused : &h->n_names_refused;
    uint64_t *all = is_series ? &rm->ctr.host_series_refused :
                                &rm->ctr.host_names_refused;
    int is_first = h->n_series_refused + h->n_names_refused == 0;
    char esc[LOG_ESC_SIZE];

    (*mine)++;
    (*all)++;
    if (is_first)
        rm->n_hosts_capped++;
    if (is_first && rm->n_capped_logged < RM_CAPPED_LOG_HOSTS)
        rm->n_capped_logged++;
    else if (*all > 10 && *all % 1000 != 0)
        return;
    log_warn("redis", "metric %s refused: --max-%s-per-host %zu reached "
             "host=\"%s\" host_refused=%" PRIu64 " refused=%" PRIu64,
             is_series ? "series" : "name",
             is_series ? "series" : "metric-names",
             is_series ? rm->cfg.max_series_per_host :
                         rm->cfg.max_names_per_host,
             log_esc(esc, sizeof(esc), h->id, strlen(h->id)), *mine, *all);
}

/* Whether a new series of h, whose (host, name) entry is pe (NULL: the
 * name is new to h) and name entry ne (NULL: new to the collector), passes
 * every cap; counts the refusal. */
static int
rm_series_admit(struct rmetrics *rm, struct rm_ent *h,
                const struct rm_ent *pe, const struct rm_ent *ne)
{
    if (h->n_series >= rm->cfg.max_series_per_host) {
        rm_host_refused(rm, h, 1);
        return 0;
    }
    if (pe == NULL && h->n_names >= rm->cfg.max_names_per_host) {
        rm_host_refused(rm, h, 0);
        return 0;
    }
    if (ne == NULL && rm->names.n >= rm->names.max) {
        rm_name_refused(rm, h->id);
        return 0;
    }
    return rm->series.n < rm->series.max &&
           (pe != NULL || rm->pairs.n < rm->pairs.max);
}

struct rm_ent *
rm_series_get(struct rmetrics *rm, struct rm_ent *h, const char *name,
              const char *id, size_t len, size_t pair_len)
{
    struct rm_ent *e = rm_tab_find(&rm->series, id, len);

    if (e != NULL)
        return e;
    struct rm_ent *pe = rm_tab_find(&rm->pairs, id, pair_len);
    struct rm_ent *ne = pe != NULL ? pe->name :
                        rm_tab_find(&rm->names, name, strlen(name));
    if (!rm_series_admit(rm, h, pe, ne))
        return NULL;
    if (ne == NULL)
        ne = rm_tab_get(&rm->names, name, strlen(name));
    if (pe == NULL) {
        pe = rm_tab_get(&rm->pairs, id, pair_len);
        pe->name = ne;
        pe->host = h;
        ne->n_refs++;
        h->n_refs++;
        h->n_names++;
    }
    e = rm_tab_get(&rm->series, id, len);
    assert(ne != NULL && pe != NULL && e != NULL);   /* admitted */
    e->name = ne;
    e->pair = pe;
    e->host = h;
    pe->n_refs++;
    h->n_refs++;
    h->n_series++;
    return e;
}

size_t
rmetrics_foreach_capped(const struct rmetrics *rm, size_t max,
                        rmetrics_host_caps_fn fn, void *arg)
{
    const struct rm_tab *t = &rm->hosts;
    size_t n = 0;

    for (size_t i = 0; t->slots != NULL && i <= t->mask; i++) {
        for (const struct rm_ent *h = t->slots[i]; h != NULL; h = h->next) {
            if (h->n_names_refused + h->n_series_refused == 0)
                continue;
            if (n++ >= max)
                continue;
            struct rmetrics_host_caps c = {
                .host = h->id, .names = h->n_names, .series = h->n_series,
                .names_refused = h->n_names_refused,
                .series_refused = h->n_series_refused,
            };
            fn(&c, arg);
        }
    }
    return n;
}
