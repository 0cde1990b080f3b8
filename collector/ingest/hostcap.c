/* SPDX-License-Identifier: MIT */
/*
 * hostcap: see hostcap.h. Hosts are heap entries (so an acquired pointer
 * stays valid) behind an array of pointers sorted by name: lookups are a
 * binary search, done once per connection (acquire) and at start; inserts
 * and removals move pointers, at most max_hosts plus the hosts the store
 * held at start, which is cheap next to the handshake they follow.
 */
#include "collector/ingest/hostcap.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct hostcap_host {
    char   *name;
    size_t  n_sources;
    size_t  n_conns;
    int64_t last_contact_ns;    /* 0: none since start */
    int64_t down_ns;            /* last connection closed; 0: none */
    uint64_t n_ahead;           /* records stamped ahead (note_time) */
    uint64_t max_ahead_ns;      /* the largest skew among them */
};

struct hostcap {
    struct hostcap_host **hosts;        /* sorted by name */
    size_t                n_hosts, cap_hosts;
    size_t                max_hosts, max_sources;
};

struct hostcap *
hostcap_new(size_t max_hosts, size_t max_sources_per_host)
{
    struct hostcap *hc = xcalloc(1, sizeof(*hc));

    hc->max_hosts = max_hosts;
    hc->max_sources = max_sources_per_host;
    return hc;
}

void
hostcap_free(struct hostcap *hc)
{
    if (hc == NULL)
        return;
    for (size_t i = 0; i < hc->n_hosts; i++) {
        free(hc->hosts[i]->name);
        free(hc->hosts[i]);
    }
    free(hc->hosts);
    free(hc);
}

/* Index of host, or where it would go (*is_found 0). */
static size_t
hostcap_find(const struct hostcap *hc, const char *host, int *is_found)
{
    size_t lo = 0, hi = hc->n_hosts;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(hc->hosts[mid]->name, host);
        if (c == 0) {
            *is_found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *is_found = 0;
    return lo;
}

static struct hostcap_host *
hostcap_insert(struct hostcap *hc, size_t at, const char *host)
{
    if (hc->n_hosts == hc->cap_hosts) {
        hc->cap_hosts = hc->cap_hosts ? hc->cap_hosts * 2 : 16;
        hc->hosts = xreallocarray(hc->hosts, hc->cap_hosts,
                                  sizeof(*hc->hosts));
    }
    struct hostcap_host *h = xcalloc(1, sizeof(*h));
    h->name = xstrdup(host);
    memmove(hc->hosts + at + 1, hc->hosts + at,
            (hc->n_hosts - at) * sizeof(*hc->hosts));
    hc->hosts[at] = h;
    hc->n_hosts++;
    return h;
}

void
hostcap_load_source(struct hostcap *hc, const char *host)
{
    int is_found;
    size_t at = hostcap_find(hc, host, &is_found);
    struct hostcap_host *h = is_found ? hc->hosts[at]
                                      : hostcap_insert(hc, at, host);

    h->n_sources++;
}

struct hostcap_host *
hostcap_acquire(struct hostcap *hc, const char *host)
{
    int is_found;
    size_t at = hostcap_find(hc, host, &is_found);
    struct hostcap_host *h;

    if (is_found)
        h = hc->hosts[at];
    else if (hc->n_hosts >= hc->max_hosts)
        return NULL;
    else
        h = hostcap_insert(hc, at, host);
    h->n_conns++;
    return h;
}

void
hostcap_release(struct hostcap *hc, struct hostcap_host *h, int64_t now_ns)
{
    int is_found;

    if (h == NULL || --h->n_conns > 0)
        return;
    h->down_ns = now_ns;
    if (h->n_sources > 0)
        return;
    size_t at = hostcap_find(hc, h->name, &is_found);
    if (!is_found || hc->hosts[at] != h)
        return;
    memmove(hc->hosts + at, hc->hosts + at + 1,
            (hc->n_hosts - at - 1) * sizeof(*hc->hosts));
    hc->n_hosts--;
    free(h->name);
    free(h);
}

void
hostcap_touch(struct hostcap_host *h, int64_t now_ns)
{
    h->last_contact_ns = now_ns;
}

void
hostcap_foreach(const struct hostcap *hc, hostcap_host_fn fn, void *arg)
{
    for (size_t i = 0; i < hc->n_hosts; i++) {
        const struct hostcap_host *h = hc->hosts[i];
        fn(h->name, h->n_conns, h->last_contact_ns,
           h->n_conns > 0 ? 0 : h->down_ns, arg);
    }
}

void
hostcap_note_time(struct hostcap_host *h, int64_t time_ns, int64_t recv_ns,
                  int64_t grace_ns)
{
    if (time_ns <= recv_ns)
        return;
    uint64_t ahead = (uint64_t)time_ns - (uint64_t)recv_ns;
    if (grace_ns >= 0 && ahead <= (uint64_t)grace_ns)
        return;
    h->n_ahead++;
    if (ahead > h->max_ahead_ns)
        h->max_ahead_ns = ahead;
}

void
hostcap_foreach_ahead(const struct hostcap *hc, hostcap_ahead_fn fn,
                      void *arg)
{
    for (size_t i = 0; i < hc->n_hosts; i++)
        if (hc->hosts[i]->n_ahead > 0)
            fn(hc->hosts[i]->name, hc->hosts[i]->n_ahead,
               hc->hosts[i]->max_ahead_ns, arg);
}

int
hostcap_add_source(struct hostcap *hc, struct hostcap_host *h)
{
    if (h->n_sources >= hc->max_sources)
        return -1;
    h->n_sources++;
    return 0;
}

size_t
hostcap_n_hosts(const struct hostcap *hc)
{
    return hc->n_hosts;
}
