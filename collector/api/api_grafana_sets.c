/* SPDX-License-Identifier: MIT */
/*
 * api_grafana_sets: the name lists of the Grafana endpoints (/variable
 * hosts and containers, /tag-keys, /tag-values, /metric-payload-options):
 * names collected into the call's set from the log store's sources and,
 * for hosts, containers and metric labels, from Redis (asynchronously,
 * through redis_metrics.c), narrowed by the payload's matchers and the
 * ad-hoc filters (grafana_match.c), then sorted into the reply. The call's
 * lifetime and Redis bookkeeping are api_grafana.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "collector/api/api_grafana_internal.h"
#include "collector/metrics/redis_metrics.h"
#include "collector/store/store.h"
#include "common/labelset.h"
#include "common/xmalloc.h"

/* ---- name sets (/variable, /tag-values, /metric-payload-options) ---- */

static void
gset_add(struct gcall *c, const char *name)
{
    if (name != NULL && name[0] != '\0' &&
        json_object_size(c->set) < RMETRICS_MAX_HOSTS * 10)
        json_object_set_new(c->set, name, json_true());
}

static int
gset_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One item of a GSET_TAG_KEYS reply. */
static void
gset_tag_key(struct gcall *c, const char *name)
{
    gitem(c);
    gput(c, "{\"type\":\"string\",\"text\":");
    gput_cstr(c, name);
    gput(c, "}");
}

static void
gset_item(struct gcall *c, const char *name)
{
    if (c->fmt == GSET_TAG_KEYS) {
        gset_tag_key(c, name);
        return;
    }
    gitem(c);
    gput(c, c->fmt == GSET_VARIABLE ? "{\"__text\":" :
            c->fmt == GSET_TAG_VALUES ? "{\"text\":" : "{\"label\":");
    gput_cstr(c, name);
    if (c->fmt != GSET_TAG_VALUES) {
        gput(c, c->fmt == GSET_VARIABLE ? ",\"__value\":" : ",\"value\":");
        gput_cstr(c, name);
    }
    gput(c, "}");
}

static void
gset_reply(struct gcall *c)
{
    static const char *const fixed[] = { "host", "container", "image",
                                         "stream" };
    size_t n = json_object_size(c->set), i = 0;
    const char **names = xcalloc(n + 1, sizeof(*names));
    const char *key;
    json_t *v;

    json_object_foreach(c->set, key, v)
        names[i++] = key;
    qsort(names, n, sizeof(*names), gset_cmp);
    gput(c, "[");
    for (i = 0; c->fmt == GSET_TAG_KEYS && i < 4; i++)
        gset_tag_key(c, fixed[i]);
    for (i = 0; i < n; i++)
        gset_item(c, names[i]);
    free(names);
    api_grafana_reply(c, "]");
}

/* 1 if the subject passes the narrowing matchers and those of the
 * request's ad-hoc filters, except the ones on the key being listed
 * (they would hide its other values). */
static int
gset_passes(const struct gcall *c, const struct grafana_subject *sub)
{
    const struct grafana_match *lists[2] = { c->nm, c->r.filters };
    size_t ns[2] = { c->n_nm, c->r.n_filters };
    int is_key = c->want <= GW_DLABEL;

    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < ns[l]; i++)
            if (!(is_key && grafana_match_is_key(&lists[l][i],
                                                 (enum grafana_key)c->want,
                                                 c->want_label_key)) &&
                !grafana_match_subject(&lists[l][i], sub))
                return 0;
    return 1;
}

/* Adds "label.KEY" for each of the source's label keys. */
static void
gset_add_label_keys(struct gcall *c, const struct labelset *ls)
{
    char name[LABELSET_MAX_TEXT + 8];

    for (size_t i = 0; ls != NULL && i < ls->n; i++) {
        snprintf(name, sizeof(name), "label.%s", ls->keys[i]);
        gset_add(c, name);
    }
}

static void
gset_store_cb(const struct store_source_info *si, void *arg)
{
    struct gcall *c = arg;
    struct grafana_subject sub = {
        .names = { si->host, si->container, si->image, NULL },
        .labels = si->labels, .has_labels = 1,
    };

    if (!gset_passes(c, &sub))
        return;
    if (c->want == GW_HOST)
        gset_add(c, si->host);
    else if (c->want == GW_CONTAINER)
        gset_add(c, si->container);
    else if (c->want == GW_IMAGE)
        gset_add(c, si->image);
    else if (c->want == GW_DLABEL)
        gset_add(c, labelset_get(si->labels, c->want_label_key));
    else if (c->want == GW_TAG_KEYS)
        gset_add_label_keys(c, si->labels);
}

static void
gset_latest_cb(int err, const char *errstr, const struct rm_latest *l,
               size_t n, void *arg)
{
    struct gcall *c = arg;

    if (api_grafana_redis_back(c, err, errstr))
        return;
    for (size_t i = 0; i < n; i++) {
        if (c->want_metric != NULL && strcmp(l[i].name, c->want_metric) != 0)
            continue;
        /* The host was checked before its values were asked for. */
        struct grafana_subject sub = { .names = { NULL, l[i].container } };
        if (!gset_passes(c, &sub))
            continue;
        gset_add(c, c->want == GW_METRIC_LABEL ? l[i].label
                                               : l[i].container);
    }
    if (c->n_pending == 0)
        gset_reply(c);
    api_grafana_maybe_free(c);
}

static void
gset_latest_of(struct gcall *c, const char *host)
{
    c->n_pending++;
    if (rmetrics_latest(api_grafana_rm(c), host, gset_latest_cb, c) < 0)
        api_grafana_queue_failed(c);
}

/* Hosts known to Redis: added to the set, or (want != HOST) each one's
 * latest values are asked for. */
static void
gset_hosts_cb(int err, const char *errstr, const struct rm_host *h, size_t n,
              void *arg)
{
    struct gcall *c = arg;

    if (api_grafana_redis_back(c, err, errstr))
        return;
    for (size_t i = 0; i < n && i < GRAFANA_MAX_HOSTS && !c->is_done; i++) {
        struct grafana_subject sub = { .names = { h[i].host } };
        if (!gset_passes(c, &sub))
            continue;
        if (c->want == GW_HOST)
            gset_add(c, h[i].host);
        else
            gset_latest_of(c, h[i].host);
    }
    if (c->n_pending == 0)
        gset_reply(c);
    api_grafana_maybe_free(c);
}

void
api_grafana_set_collect(struct gcall *c, int use_store, int use_redis)
{
    c->set = json_object();
    if (c->want == GW_STREAM) {
        gset_add(c, "stdout");
        gset_add(c, "stderr");
    } else if (use_store && c->want != GW_METRIC_LABEL)
        store_foreach_source(c->api->store, gset_store_cb, c);
    if (!use_redis || api_grafana_rm(c) == NULL || (c->want != GW_HOST &&
        c->want != GW_CONTAINER && c->want != GW_METRIC_LABEL)) {
        gset_reply(c);
        return;
    }
    const char *host = grafana_match_exact(c->nm, c->n_nm, GRAFANA_K_HOST);
    struct grafana_subject hsub = { .names = { host } };
    if (c->want != GW_HOST && host != NULL && gset_passes(c, &hsub)) {
        gset_latest_of(c, host);
        return;
    }
    c->n_pending++;
    if (rmetrics_hosts(api_grafana_rm(c), gset_hosts_cb, c) < 0)
        api_grafana_queue_failed(c);
}
