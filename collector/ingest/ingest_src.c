/* SPDX-License-Identifier: MIT */
/*
 * ingest_src: the sources (containers) of one decoded batch, before its
 * records are stored: their strings copied NUL-terminated into the shared
 * scratch buffer (ing->srcbuf, ing->src[]), the checks that refuse a
 * source's records (srccheck.c metadata limits, hostcap.c
 * --max-sources-per-host for a source the store does not hold yet), each
 * source's position check begun (poscheck.c, PROTOCOL.md "Plausible
 * positions") and its Docker labels taken: parsed once per text
 * (labelcache.c), stored per source in the store, refused at its cap.
 */
#include "collector/ingest/ingest_internal.h"

#include <inttypes.h>

#include "collector/ingest/hostcap.h"
#include "collector/ingest/labelcache.h"
#include "collector/ingest/poscheck.h"
#include "collector/ingest/srccheck.h"
#include "collector/store/store.h"
#include "common/fnv.h"
#include "common/log.h"
#include "common/timeutil.h"

/* A source the store does not hold yet must fit under its host's cap
 * (PROTOCOL.md "Caps on hosts and sources"); s->id is NUL-terminated in
 * srcbuf by now. */
static void
ingest_source_cap(struct ingest_conn *c, struct ingest_src *d)
{
    struct ingest *ing = c->ing;
    const char *id = (const char *)ing->srcbuf.data + d->id;

    if (d->refused != NULL || store_has_source(ing->store, c->host, id))
        return;
    if (hostcap_add_source(ing->hostcap, c->hc_host) < 0) {
        d->refused = "too many sources for this host "
                     "(--max-sources-per-host)";
        d->refused_ctr = &ing->stats->records_refused_source_cap;
    }
}

/* Copies the batch's source strings NUL-terminated into ing->srcbuf and
 * decides which sources' records are refused. */
int
ingest_src_copy(struct ingest_conn *c, const struct wire_batch *b)
{
    struct ingest *ing = c->ing;

    buf_reset(&ing->srcbuf);
    for (uint32_t i = 0; i < b->n_sources; i++) {
        const struct wire_source *s = &b->sources[i];
        struct ingest_src *d = &ing->src[i];
        d->label = NULL;
        d->refused = srccheck_source(s);
        d->refused_ctr = &ing->stats->records_refused;
        d->is_refusal_logged = 0;
        d->id = ing->srcbuf.len;
        if (buf_append(&ing->srcbuf, s->id.p, s->id.len) < 0 ||
            buf_put_u8(&ing->srcbuf, 0) < 0)
            return -1;
        d->name = ing->srcbuf.len;
        if (buf_append(&ing->srcbuf, s->name.p, s->name.len) < 0 ||
            buf_put_u8(&ing->srcbuf, 0) < 0)
            return -1;
        d->image = ing->srcbuf.len;
        if (buf_append(&ing->srcbuf, s->image.p, s->image.len) < 0 ||
            buf_put_u8(&ing->srcbuf, 0) < 0)
            return -1;
        ingest_source_cap(c, d);
    }
    return 0;
}

/* FNV-1a 64 of the sender's labels text: the same text as last time
 * (the usual case: every batch carries it) is not even looked up, one
 * seen before (labelcache.c) not parsed again. */
static uint64_t
ingest_labels_hash(const struct wire_str *t)
{
    return fnv1a64(t->p, t->len);
}

/* A changed label set refused at the store's cap (counted there, in
 * labelsets_capped): logged on a budget of its own, so other ingest noise
 * cannot hide it nor it flood the log. */
static void
ingest_labels_capped_log(struct ingest_conn *c, const char *id)
{
    struct ingest *ing = c->ing;
    uint64_t n_ended;
    int is_ok = log_limit_allow(&ing->labels_log, mono_ns(), &n_ended);

    if (n_ended > 0)
        log_warn("ingest", "suppressed %" PRIu64 " similar messages "
                 "(label sets refused)", n_ended);
    if (!is_ok) {
        ing->stats->log_lines_suppressed++;
        return;
    }
    log_warn("ingest", "labels refused: container=%.12s was given %d label "
             "sets since the collector started (the limit); it keeps its "
             "current ones host=%s peer=%s", id, STORE_MAX_LABEL_SETS,
             c->host_log, c->peer);
}

/* The source's Docker labels (PROTOCOL.md "Source metadata"): checked,
 * stored per source (last wins, STORE.md "Source labels"), and kept in d
 * for its records' followers. After the position check has seen whether
 * the store knew the source. */
static void
ingest_source_labels(struct ingest_conn *c, struct ingest_src *d,
                     const struct wire_str *t)
{
    struct ingest *ing = c->ing;
    const char *id = (const char *)ing->srcbuf.data + d->id;
    uint64_t h = ingest_labels_hash(t);

    d->labels = NULL;
    if (d->refused != NULL || t->len == 0)    /* "": not known, keep */
        return;
    if ((d->labels = store_labels_known(ing->store, c->host, id, h)) != NULL)
        return;
    /* parsed once per text while cached; counted and logged as before */
    struct labelcache_entry e = labelcache_get(ing->labelcache, t->p, t->len,
                                               h);
    if (e.ls == NULL) {
        ing->stats->labels_invalid++;
        ingest_log_limited(ing, "labels ignored: %s host=%s peer=%s "
                           "container=%.12s", e.err, c->host_log, c->peer,
                           id);
        return;
    }
    if (e.n_dropped > 0) {
        ing->stats->labels_refused += e.n_dropped;
        ingest_log_limited(ing, "labels left out: %zu over the limits (64 "
                           "labels, 256 bytes, printable UTF-8) host=%s "
                           "peer=%s container=%.12s", e.n_dropped,
                           c->host_log, c->peer, id);
    }
    if (store_set_labels(ing->store, c->host, id, e.ls, h, &d->labels) < 0)
        ingest_labels_capped_log(c, id);
}

/* Starts each source's position check with its high water before the
 * batch and the batch's start for it, and takes its labels. */
void
ingest_src_begin(struct ingest_conn *c, const struct wire_batch *b)
{
    struct ingest *ing = c->ing;
    const char *base = (const char *)ing->srcbuf.data;

    for (uint32_t i = 0; i < b->n_sources; i++) {
        struct ingest_src *d = &ing->src[i];
        const char *id = base + d->id;
        poscheck_begin(&d->pos, store_has_source(ing->store, c->host, id),
                       store_source_offset(ing->store, c->host, id),
                       b->sources[i].start);
        ingest_source_labels(c, d, &b->sources[i].labels);
    }
}
