/* SPDX-License-Identifier: MIT */
/*
 * api_grafana_logs: the log targets of /grafana/query (logs:count, logs)
 * and /grafana/annotations. Each runs the search of /api/v1/logs
 * (collector/search/search.c: query language, token index, order and the
 * collector's --max-scan-bytes cost cap) in slices on the query workers,
 * the first of which parses the query and creates the search (the loop
 * only sets the store filter up)
 * (api_pool.c; one in flight, counted in the call's n_pending, so the call
 * outlives it; a client gone cancels it; under --max-searches); every
 * match is kept if it passes the target's payload matchers and the
 * request's ad-hoc filters (grafana_match.c).
 * Tables stop at their row limit (a whole answer: the newest matches);
 * counts go into one agg.c histogram per host, buckets at multiples of the
 * step. A cap reached is a 422 error reply, never a partial answer.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "collector/api/api_grafana_internal.h"
#include "collector/api/api_pool.h"
#include "collector/search/agg.h"
#include "collector/search/search.h"
#include "collector/store/namesel.h"
#include "common/xmalloc.h"

#define GRAFANA_MAX_CELLS ((size_t)4 << 20)     /* hosts x buckets counted */

/* The message first: Grafana's logs panel takes the first string field
 * as the line (and standard annotations as the text). */
static const char gtable_head[] =
    "{\"type\":\"table\",\"columns\":[{\"text\":\"time\",\"type\":\"time\"},"
    "{\"text\":\"message\",\"type\":\"string\"},"
    "{\"text\":\"host\",\"type\":\"string\"},"
    "{\"text\":\"container\",\"type\":\"string\"},"
    "{\"text\":\"stream\",\"type\":\"string\"}],\"rows\":[";

/* One log scan: a table (search, annotations) or counts per bucket and
 * host. Matchers are borrowed from the request: the target's payload and
 * the ad-hoc filters. */
struct gscan {
    struct api                 *api;
    struct pool_job             job;            /* a slice on a worker */
    int                         is_busy;        /* job submitted */
    int                         is_entered;     /* in n_searches */
    int                         rc;             /* by the job */
    int                         is_stop;        /* by the job: full or
                                                   failed, end the slice */
    int                         fail_code;      /* by the job: fail with */
    char                        fail_msg[256];
    struct search              *search;
    struct query               *q;
    /* Creation (the first job, on a worker): */
    const char                 *qtext;          /* borrowed from c->r */
    int                         icase;
    struct search_spec          spec;
    int                         is_created;
    int                         is_create_failed;
    const struct grafana_match *tm;
    size_t                      n_tm;
    size_t                      n_rows;
    size_t                      limit;
    int                         is_count;
    int                         is_pushed;      /* the filter does all the
                                                   matchers ask */
    int                         is_annotation;
    int                         is_full;        /* limit reached */
    int                         is_failed;      /* error sent */
    int64_t                     from_ms;
    int64_t                     until_ms;       /* exclusive */
    int64_t                     step_ms;
    char                      **hosts;          /* logs:count, n_hosts */
    struct agg_hist            *hists;          /* per host */
    size_t                      n_hosts;
    uint64_t                    n_damaged;
    struct namesel             *sel;            /* spec.filter.sel */
};

void
api_grafana_scan_free(struct gscan *s)
{
    if (s == NULL)
        return;
    if (s->is_entered)
        api_search_leave(s->api);
    search_free(s->search);
    query_free(s->q);
    namesel_free(s->sel);
    for (size_t i = 0; i < s->n_hosts; i++) {
        free(s->hosts[i]);
        agg_hist_fini(&s->hists[i]);
    }
    free(s->hosts);
    free(s->hists);
    free(s);
}


/* The store filter narrows by what the matchers pin to one value (the
 * emit callback still checks every matcher). */
static void
gscan_filter(const struct gcall *c, const struct grafana_target *t,
             const char *host, struct store_filter *f)
{
    static const struct grafana_target none;
    const char *v;
    uint8_t stream;

    if (t == NULL)
        t = &none;
    f->since_ns = c->r.from_ms * 1000000;
    f->until_ns = (c->r.to_ms + 1) * 1000000;   /* to is inclusive */
    f->host = host != NULL ? host : api_grafana_exact(c, t, GRAFANA_K_HOST);
    v = api_grafana_exact(c, t, GRAFANA_K_CONTAINER);
    /* The store's container filter is a glob: only plain names here. */
    if (v != NULL && v[0] != '\0' && strpbrk(v, "*?[\\") == NULL)
        f->container = v;
    f->image = api_grafana_exact(c, t, GRAFANA_K_IMAGE);
    v = api_grafana_exact(c, t, GRAFANA_K_STREAM);
    f->stream = v != NULL && logrec_stream_parse(v, &stream) == 0 ? stream
                                                                  : -1;
}

/* A selection the store can narrow blocks by (NULL: none) for the first
 * ad-hoc filter `label.KEY = V` (or a set of at most NAMESEL_MAX_PATTERNS
 * names) whose key and values are plain (no '=' in the key, no glob
 * character in a value, no "" value: it selects sources without KEY): namesel's label patterns KEY=GLOB, alternatives.
 * The emit callback still checks every matcher. */
static struct namesel *
gscan_label_sel(const struct grafana_match *m, size_t n)
{
    char pat[2 * 256 + 2];
    char *err = NULL;

    for (size_t i = 0; i < n; i++) {
        if (m[i].key != GRAFANA_K_LABEL || m[i].op != GRAFANA_OP_EQ ||
            m[i].n_values > NAMESEL_MAX_PATTERNS ||
            strchr(m[i].label_key, '=') != NULL)
            continue;
        struct namesel *ns = namesel_new();
        size_t j;
        for (j = 0; j < m[i].n_values; j++) {
            if (m[i].values[j][0] == '\0' ||   /* "": label missing */
                strpbrk(m[i].values[j], "*?[\\") != NULL)
                break;
            snprintf(pat, sizeof(pat), "%s=%s", m[i].label_key,
                     m[i].values[j]);
            if (namesel_add(ns, NAMESEL_LABEL, pat, &err) < 0)
                break;
        }
        free(err);
        err = NULL;
        if (j == m[i].n_values)
            return ns;
        namesel_free(ns);
    }
    return NULL;
}

/* 1 if the store filter f already does all that the matchers m[0..n)
 * ask (each an exact value it filters on): then the search's own limit is
 * the rows' limit, and it may stop reading early. */
static int
gscan_is_pushed(const struct grafana_match *m, size_t n,
                const struct store_filter *f)
{
    for (size_t i = 0; i < n; i++) {
        const char *want[GRAFANA_K_N] = {
            f->host, f->container, f->image,
            f->stream >= 0 ? logrec_stream_name((uint8_t)f->stream) : NULL,
            NULL,       /* labels: the sel narrows, the matcher decides */
        };
        const char *v = want[m[i].key];
        if (m[i].op != GRAFANA_OP_EQ || m[i].n_values != 1 || v == NULL ||
            strcmp(v, m[i].values[0]) != 0)
            return 0;
    }
    return 1;
}

int
api_grafana_scan_start(struct gcall *c, const struct grafana_target *t,
                       const char *q, int icase, const char *host,
                       enum gscan_kind kind, size_t limit)
{
    int is_count = kind == GSCAN_COUNT;
    struct gscan *s = xcalloc(1, sizeof(*s));
    struct search_spec spec;

    s->api = c->api;
    if (api_search_admit(c->api) < 0) {
        api_retry_after(c->req);
        api_grafana_fail(c, HTTP_SERVUNAVAIL, "too many searches in "
                         "progress: retry later");
        goto fail;
    }
    s->is_entered = 1;
    s->qtext = q;
    s->icase = icase;
    memset(&spec, 0, sizeof(spec));
    gscan_filter(c, t, host, &spec.filter);
    s->sel = gscan_label_sel(c->r.filters, c->r.n_filters);
    spec.filter.sel = s->sel;
    /* Rows are counted after the matchers; the search may stop at the
     * limit itself when the store filter does all they ask. */
    spec.limit = UINT64_MAX;
    s->is_pushed = gscan_is_pushed(c->r.filters, c->r.n_filters,
                                   &spec.filter) &&
                   (t == NULL || gscan_is_pushed(t->matches, t->n_matches,
                                                 &spec.filter));
    if (!is_count && s->is_pushed)
        spec.limit = limit;
    spec.is_newest_first = !is_count;
    spec.max_scan_bytes = c->api->max_scan_bytes;
    s->spec = spec;
    if (t != NULL) {
        s->tm = t->matches;
        s->n_tm = t->n_matches;
    }
    s->limit = limit;
    s->is_count = is_count;
    s->is_annotation = kind == GSCAN_ANNOTATIONS;
    s->from_ms = c->r.from_ms;
    s->until_ms = c->r.to_ms + 1;
    s->step_ms = grafana_step(c->r.from_ms, c->r.to_ms, c->r.interval_ms,
                              c->r.max_points);
    if (is_count) {
        s->hosts = xcalloc(GRAFANA_MAX_HOSTS, sizeof(*s->hosts));
        s->hists = xcalloc(GRAFANA_MAX_HOSTS, sizeof(*s->hists));
    }
    c->scan = s;
    if (kind == GSCAN_TABLE) {
        gitem(c);
        gput(c, gtable_head);
    }
    event_active(c->ev, EV_TIMEOUT, 0);
    return 0;
fail:
    api_grafana_scan_free(s);
    return -1;
}

/* Ends the scan with an error reply. */
static void
gscan_fail(struct gcall *c, int code, const char *why)
{
    char msg[512];
    const char *ref = c->r.ep == GRAFANA_EP_QUERY && c->at < c->r.n_targets
                      ? c->r.targets[c->at].ref_id : "";

    snprintf(msg, sizeof(msg), "%s%s%s", ref, ref[0] ? ": " : "", why);
    c->scan->is_failed = 1;
    api_grafana_fail(c, code, msg);
}

/* On a worker: notes the failure the loop answers when the slice is
 * back (gscan_fail there). */
static void
gscan_fail_later(struct gscan *s, int code, const char *why)
{
    if (s->fail_code != 0)
        return;
    s->fail_code = code;
    snprintf(s->fail_msg, sizeof(s->fail_msg), "%s", why);
}

/* The host's histogram, created on first sight; NULL (after noting the
 * failure) past GRAFANA_MAX_HOSTS or GRAFANA_MAX_CELLS. On a worker. */
static struct agg_hist *
gscan_hist(struct gcall *c, const char *host)
{
    struct gscan *s = c->scan;
    char *err = NULL;
    size_t h;

    for (h = 0; h < s->n_hosts; h++)
        if (strcmp(s->hosts[h], host) == 0)
            return &s->hists[h];
    if (agg_hist_init(&s->hists[h], s->from_ms * 1000000,
                      s->until_ms * 1000000, s->step_ms * 1000000,
                      &err) < 0) {
        gscan_fail_later(s, HTTP_BADREQUEST, err);
        free(err);
        return NULL;
    }
    if (h >= GRAFANA_MAX_HOSTS ||
        (h + 1) * s->hists[h].n_buckets > GRAFANA_MAX_CELLS) {
        agg_hist_fini(&s->hists[h]);
        gscan_fail_later(s, GRAFANA_UNPROCESSABLE, "logs:count: too many "
                         "hosts for this many buckets: narrow the hosts or "
                         "widen intervalMs");
        return NULL;
    }
    s->hosts[h] = xstrdup(host);
    s->n_hosts++;
    return &s->hists[h];
}

static void
grow_write(struct gcall *c, const struct logrec *r)
{
    char t[40];
    size_t len = r->msg_len < GRAFANA_MAX_MSG ? r->msg_len : GRAFANA_MAX_MSG;

    /* A trailing newline is part of the line, not of what to show. */
    if (len > 0 && r->msg[len - 1] == '\n')
        len--;
    if (c->scan->n_rows > 0)
        gput(c, ",");
    if (c->scan->is_annotation) {
        gput(c, "{\"annotation\":");
        gput(c, c->r.annotation_json);
        snprintf(t, sizeof(t), ",\"time\":%lld,\"title\":",
                 (long long)(r->time_ns / 1000000));
        gput(c, t);
        gput_cstr(c, r->container);
        gput(c, ",\"text\":");
        gput_str(c, r->msg, len);
        gput(c, ",\"tags\":[");
        gput_cstr(c, r->host);
        gput(c, ",");
        gput_cstr(c, r->container);
        gput(c, "]}");
        return;
    }
    snprintf(t, sizeof(t), "[%lld,", (long long)(r->time_ns / 1000000));
    gput(c, t);
    gput_str(c, r->msg, len);
    gput(c, ",");
    gput_cstr(c, r->host);
    gput(c, ",");
    gput_cstr(c, r->container);
    gput(c, ",");
    gput_cstr(c, logrec_stream_name(r->stream));
    gput(c, "]");
}

/* search_emit_fn: a match of the query; kept if it passes the matchers.
 * Returns 1 (end the step) once the scan is full or has failed. */
static int
gscan_emit_cb(const struct logrec *r, int is_context, int is_group_start,
              void *arg)
{
    struct gcall *c = arg;
    struct gscan *s = c->scan;

    if (!grafana_match_record(s->tm, s->n_tm, r) ||
        !grafana_match_record(c->r.filters, c->r.n_filters, r))
        return 0;
    if (s->is_count) {
        struct agg_hist *h = gscan_hist(c, r->host);
        if (h == NULL)
            return s->is_stop = 1;
        agg_hist_add(h, r->time_ns);
        return 0;
    }
    grow_write(c, r);
    s->n_rows++;
    s->is_full = s->n_rows >= s->limit || c->is_oflow;
    return s->is_stop = s->is_full;
}

/* store_count_fn of logs:count when the store filter does all the
 * matchers ask: a block of one host counted by the index, if its records
 * fall in one bucket. On a worker (in search_new). */
static int
gscan_count_cb(const struct store_blk_count *bc, void *arg)
{
    struct gcall *c = arg;
    struct agg_hist *h;

    if (bc->host == NULL || (h = gscan_hist(c, bc->host)) == NULL)
        return 0;
    return agg_hist_add_block(h, bc->min_ns, bc->max_ns, bc->n);
}

/* On a worker, the first job: parses the query and creates the search
 * (a failure is answered on the loop: 400 for the query, 500 for the
 * search, without the target's refId, as before). */
static void
gscan_create(struct gcall *c, struct gscan *s)
{
    char *err = NULL;

    s->rc = SEARCH_MORE;
    s->q = query_parse(s->qtext, strlen(s->qtext), NULL, s->icase, &err);
    if (s->q == NULL) {
        gscan_fail_later(s, HTTP_BADREQUEST, err ? err : "bad log query");
        s->is_create_failed = 1;
        free(err);
        return;
    }
    s->spec.q = s->q;
    if (s->is_count && s->is_pushed) {
        s->spec.count_fn = gscan_count_cb;
        s->spec.count_arg = c;
    }
    s->search = search_new(c->api->store, &s->spec, &err);
    if (s->search == NULL) {
        gscan_fail_later(s, HTTP_INTERNAL, err ? err : "cannot start log "
                         "scan");
        s->is_create_failed = 1;
    }
    free(err);
}

/* On a worker: the creation, then one slice of the scan a job. c->out
 * and the scan are the job's until its done callback (the loop touches
 * neither meanwhile). */
static void
gscan_run(struct pool_job *j)
{
    struct gcall *c = j->arg;
    struct gscan *s = c->scan;

    if (!s->is_created) {
        s->is_created = 1;
        gscan_create(c, s);
        return;
    }

    /* gscan_emit_cb sets is_stop once full or failed */
    s->rc = api_search_slice(s->search, j, gscan_emit_cb, c, &s->is_stop);
}

/* Back on the loop: counts, answers a failure noted by the job. 1 when
 * the scan is over. */
static int
gscan_slice_end(struct gcall *c)
{
    struct gscan *s = c->scan;
    int rc = s->rc;

    if (s->is_create_failed) {
        s->is_failed = 1;
        api_grafana_fail(c, s->fail_code, s->fail_msg);
        return 1;
    }
    uint64_t damaged = search_n_damaged(s->search);

    c->api->stats->search_damaged_blocks += damaged - s->n_damaged;
    s->n_damaged = damaged;
    if (s->fail_code != 0)
        gscan_fail(c, s->fail_code, s->fail_msg);
    if (s->is_failed || s->is_full)
        return 1;
    if (rc == SEARCH_ERROR) {
        /* A cost cap: an error Grafana shows, never a partial answer. */
        gscan_fail(c, GRAFANA_UNPROCESSABLE, search_errstr(s->search));
        return 1;
    }
    return rc != SEARCH_MORE;
}

static void
gscan_done(struct pool_job *j, int is_run)
{
    struct gcall *c = j->arg;

    c->scan->is_busy = 0;
    c->n_pending--;
    if (!is_run && !c->is_gone)
        api_grafana_fail(c, HTTP_SERVUNAVAIL, "the query workers are "
                         "stopping");
    api_grafana_scan_after(c, c->is_done || c->is_gone ||
                              gscan_slice_end(c));
}

void
api_grafana_scan_submit(struct gcall *c)
{
    struct gscan *s = c->scan;

    s->job.run = gscan_run;
    s->job.done = gscan_done;
    s->job.arg = c;
    if (api_pool_submit(c->api, &s->job) < 0) {
        api_grafana_fail(c, HTTP_INTERNAL, "cannot queue the log scan");
        api_grafana_scan_after(c, 1);
        return;
    }
    s->is_busy = 1;
    c->n_pending++;
}

void
api_grafana_scan_cancel(struct gcall *c)
{
    if (c->scan != NULL && c->scan->is_busy)
        pool_cancel(&c->scan->job);
}

static int
gscan_host_cmp(const void *a, const void *b, void *arg)
{
    const struct gscan *s = arg;

    return strcmp(s->hosts[*(const size_t *)a], s->hosts[*(const size_t *)b]);
}

/* logs:count: one series per host, every bucket, lines per minute. */
static void
gscan_count_write(struct gcall *c)
{
    struct gscan *s = c->scan;
    size_t *order = xcalloc(s->n_hosts + 1, sizeof(*order));
    double per_min = 60000.0 / (double)s->step_ms;

    for (size_t i = 0; i < s->n_hosts; i++)
        order[i] = i;
    qsort_r(order, s->n_hosts, sizeof(*order), gscan_host_cmp, s);
    for (size_t i = 0; i < s->n_hosts && !c->is_oflow; i++) {
        const struct agg_hist *h = &s->hists[order[i]];
        gitem(c);
        gput(c, "{\"target\":");
        gput_cstr(c, s->hosts[order[i]]);
        gput(c, ",\"datapoints\":[");
        for (size_t k = 0; k < h->n_buckets && !c->is_oflow; k++)
            gput_point(c, (double)h->counts[k] * per_min,
                       h->first_ms + (int64_t)k * h->step_ms, k == 0);
        gput(c, "]}");
    }
    free(order);
}

void
api_grafana_scan_close(struct gcall *c)
{
    struct gscan *s = c->scan;

    if (s->is_failed || c->is_done) {
        /* already answered */
    } else if (s->is_annotation) {
        api_grafana_reply(c, "]");
    } else if (s->is_count) {
        gscan_count_write(c);
    } else {
        /* The rows were items of their own; the table is one item. */
        gput(c, "]}");
    }
    c->scan = NULL;
    api_grafana_scan_free(s);
}
