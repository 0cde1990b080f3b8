/* SPDX-License-Identifier: MIT */
/*
 * losses: see losses.h. A flat array of rows and one of hosts (each with
 * its last session), searched linearly: a collector has a few hundred
 * sources that ever lost data at most, and frames carry only those.
 */
#include "collector/ingest/losses.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define LOSSES_ID_LEN 64

struct losses_fig {
    uint64_t bytes, lines, events;
};

struct losses_src {
    char            *host;
    char             id[LOSSES_ID_LEN + 1];
    char            *name;
    struct losses_fig base;     /* reported by earlier sessions */
    struct losses_fig cur;      /* by the current session */
    int              flags;     /* 1 bytes bound, 2 lines bound */
};

struct losses_host {
    char    *host;
    double   session;
};

struct losses {
    struct losses_src  *rows;
    size_t              n_rows, max_rows;
    struct losses_host *hosts;
    size_t              n_hosts;
    uint64_t            n_dropped;
};

struct losses *
losses_new(size_t max_rows)
{
    struct losses *l = xcalloc(1, sizeof(*l));

    l->max_rows = max_rows;
    return l;
}

void
losses_free(struct losses *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_rows; i++) {
        free(l->rows[i].host);
        free(l->rows[i].name);
    }
    for (size_t i = 0; i < l->n_hosts; i++)
        free(l->hosts[i].host);
    free(l->rows);
    free(l->hosts);
    free(l);
}

/* ---- helpers ---- */

static int
losses_str_is(const struct wire_str *s, const char *lit)
{
    return s->len == strlen(lit) && memcmp(s->p, lit, s->len) == 0;
}

static char *
losses_dup(const struct wire_str *s)
{
    size_t n = s->len < LOSSES_NAME_MAX ? s->len : LOSSES_NAME_MAX;

    return xstrndup(s->p, n);
}

static int
losses_is_id(const struct wire_str *s)
{
    if (s->len != LOSSES_ID_LEN)
        return 0;
    for (size_t i = 0; i < s->len; i++)
        if (!((s->p[i] >= '0' && s->p[i] <= '9') ||
              (s->p[i] >= 'a' && s->p[i] <= 'f')))
            return 0;
    return 1;
}

/* A new session of host: what its sources reported so far is kept. */
static void
losses_session(struct losses *l, const char *host, double session)
{
    struct losses_host *h = NULL;

    for (size_t i = 0; i < l->n_hosts && h == NULL; i++)
        if (strcmp(l->hosts[i].host, host) == 0)
            h = &l->hosts[i];
    if (h == NULL) {
        l->hosts = xreallocarray(l->hosts, l->n_hosts + 1, sizeof(*h));
        h = &l->hosts[l->n_hosts++];
        h->host = xstrdup(host);
        h->session = session;
        return;
    }
    if (h->session == session)
        return;
    h->session = session;
    for (size_t i = 0; i < l->n_rows; i++) {
        struct losses_src *r = &l->rows[i];
        if (strcmp(r->host, host) != 0)
            continue;
        r->base.bytes += r->cur.bytes;
        r->base.lines += r->cur.lines;
        r->base.events += r->cur.events;
        memset(&r->cur, 0, sizeof(r->cur));
    }
}

static struct losses_src *
losses_row(struct losses *l, const char *host, const struct wire_sample *s)
{
    for (size_t i = 0; i < l->n_rows; i++) {
        struct losses_src *r = &l->rows[i];
        if (memcmp(r->id, s->label.p, LOSSES_ID_LEN) == 0 &&
            strcmp(r->host, host) == 0)
            return r;
    }
    if (l->n_rows >= l->max_rows) {
        if (losses_str_is(&s->name, "shipper.lost.events"))
            l->n_dropped++;         /* once per source and frame */
        return NULL;
    }
    l->rows = xreallocarray(l->rows, l->n_rows + 1, sizeof(*l->rows));
    struct losses_src *r = &l->rows[l->n_rows++];
    memset(r, 0, sizeof(*r));
    r->host = xstrdup(host);
    memcpy(r->id, s->label.p, LOSSES_ID_LEN);
    r->name = xstrdup("");
    return r;
}

static void
losses_max(uint64_t *field, double v)
{
    if ((uint64_t)v > *field)
        *field = (uint64_t)v;
}

static void
losses_sample(struct losses *l, const char *host, const struct wire_sample *s)
{
    double v = s->value;

    if (!losses_is_id(&s->label) || !(v >= 0) || v > 1e18 || v != floor(v))
        return;
    struct losses_src *r = losses_row(l, host, s);
    if (r == NULL)
        return;
    if (s->container.len > 0) {
        free(r->name);
        r->name = losses_dup(&s->container);
    }
    /* cumulative within a session: a resent older frame never lowers it */
    if (losses_str_is(&s->name, "shipper.lost.bytes"))
        losses_max(&r->cur.bytes, v);
    else if (losses_str_is(&s->name, "shipper.lost.lines"))
        losses_max(&r->cur.lines, v);
    else if (losses_str_is(&s->name, "shipper.lost.events"))
        losses_max(&r->cur.events, v);
    else
        r->flags |= (int)v & 3;
}

/* ---- public API ---- */

void
losses_feed(struct losses *l, const char *host, struct wire_metrics *m)
{
    struct wire_sample s;

    while (wire_metrics_next(m, &s) == 1) {
        if (losses_str_is(&s.name, "shipper.session")) {
            losses_session(l, host, s.value);
            continue;
        }
        if (s.name.len > 13 && memcmp(s.name.p, "shipper.lost.", 13) == 0 &&
            (losses_str_is(&s.name, "shipper.lost.bytes") ||
             losses_str_is(&s.name, "shipper.lost.lines") ||
             losses_str_is(&s.name, "shipper.lost.events") ||
             losses_str_is(&s.name, "shipper.lost.flags")))
            losses_sample(l, host, &s);
    }
}

void
losses_foreach(const struct losses *l, losses_fn fn, void *arg)
{
    for (size_t i = 0; i < l->n_rows; i++) {
        const struct losses_src *r = &l->rows[i];
        struct losses_row row = {
            .host = r->host, .id = r->id, .name = r->name,
            .bytes = r->base.bytes + r->cur.bytes,
            .lines = r->base.lines + r->cur.lines,
            .events = r->base.events + r->cur.events,
            .is_bytes_bound = (r->flags & 1) != 0,
            .is_lines_bound = (r->flags & 2) != 0,
        };
        fn(arg, &row);
    }
}

uint64_t
losses_dropped(const struct losses *l)
{
    return l->n_dropped;
}
