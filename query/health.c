/* SPDX-License-Identifier: MIT */
/*
 * health: see health.h. Tables are laid out here rather than with
 * output_table because cells carry color: widths are measured on the plain
 * text and the escape codes wrap the cell after padding is computed.
 */
#include "query/health.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/output.h"
#include "query/reply.h"

#define HEALTH_MAX_COLS 9
#define HEALTH_RED      "1;31"
#define HEALTH_GREEN    "32"

/* ---- parsing ---- */

static int64_t
health_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v) && json_real_value(v) >= 0 &&
        json_real_value(v) < 9e18)
        return (int64_t)json_real_value(v);
    return -1;
}

static int
health_host_parse(json_t *o, struct health_host *h, char *err, size_t errlen)
{
    const char *seen;

    if (!json_is_object(o) || (h->host = reply_member_str(o, "host", NULL)) == NULL
        || !json_is_boolean(json_object_get(o, "up"))) {
        snprintf(err, errlen, "bad host entry in health reply");
        return -1;
    }
    h->is_up = json_is_true(json_object_get(o, "up"));
    seen = reply_member_str(o, "last_seen", NULL);
    h->last_seen_ns = -1;
    if (seen != NULL &&
        rfc3339_parse_ns(seen, strlen(seen), &h->last_seen_ns) < 0)
        h->last_seen_ns = -1;
    h->cpu_pct = reply_member_num(o, "cpu_pct");
    h->mem_pct = reply_member_num(o, "mem_pct");
    h->fs_max_pct = reply_member_num(o, "fs_max_pct");
    h->containers_running = health_int(o, "containers_running");
    h->containers_total = health_int(o, "containers_total");
    h->restarts_1h = health_int(o, "restarts_1h");
    h->error_lines_15m = health_int(o, "error_lines_15m");
    return 0;
}

static int
health_container_parse(json_t *o, struct health_container *c, char *err,
                       size_t errlen)
{
    json_t *ok;

    if (!json_is_object(o) ||
        (c->host = reply_member_str(o, "host", NULL)) == NULL ||
        (c->container = reply_member_str(o, "container", NULL)) == NULL) {
        snprintf(err, errlen, "bad container entry in health reply");
        return -1;
    }
    c->state = reply_member_str(o, "state", "");
    c->reason = reply_member_str(o, "reason", "");
    c->restarts = health_int(o, "restarts");
    c->restarts_1h = health_int(o, "restarts_1h");
    ok = json_object_get(o, "healthy");
    c->is_healthy = json_is_true(ok);
    return 0;
}

static int
health_loss_parse(json_t *o, struct health_loss *l, char *err, size_t errlen)
{
    if (!json_is_object(o) ||
        (l->host = reply_member_str(o, "host", NULL)) == NULL ||
        (l->container = reply_member_str(o, "container", NULL)) == NULL ||
        (l->id = reply_member_str(o, "id", NULL)) == NULL) {
        snprintf(err, errlen, "bad losses entry in health reply");
        return -1;
    }
    l->bytes = health_int(o, "lost_bytes");
    l->lines = health_int(o, "lost_lines");
    l->events = health_int(o, "events");
    l->is_bytes_at_least = json_is_true(json_object_get(o, "bytes_at_least"));
    l->is_lines_at_least = json_is_true(json_object_get(o, "lines_at_least"));
    return 0;
}

/* "losses":{"sources":[...]} (absent from older collectors). */
static int
health_losses_parse(struct health_reply *h, char *err, size_t errlen)
{
    json_t *src = json_object_get(json_object_get(h->root, "losses"),
                                  "sources");

    if (src != NULL && !json_is_array(src)) {
        snprintf(err, errlen, "bad losses in health reply");
        return -1;
    }
    h->losses = xcalloc(json_array_size(src) + 1, sizeof(*h->losses));
    for (; h->n_losses < json_array_size(src); h->n_losses++)
        if (health_loss_parse(json_array_get(src, h->n_losses),
                              &h->losses[h->n_losses], err, errlen) < 0)
            return -1;
    return 0;
}

/* "clock_ahead":{"grace_s":S,"hosts":[{"host","records","max_ahead_s"}]}
 * (absent from older collectors). */
static int
health_aheads_parse(struct health_reply *h, char *err, size_t errlen)
{
    json_t *ca = json_object_get(h->root, "clock_ahead");
    json_t *src = json_object_get(ca, "hosts");

    if (src != NULL && !json_is_array(src)) {
        snprintf(err, errlen, "bad clock_ahead in health reply");
        return -1;
    }
    h->ahead_grace_s = health_int(ca, "grace_s");
    h->aheads = xcalloc(json_array_size(src) + 1, sizeof(*h->aheads));
    for (; h->n_aheads < json_array_size(src); h->n_aheads++) {
        json_t *o = json_array_get(src, h->n_aheads);
        struct health_ahead *a = &h->aheads[h->n_aheads];
        if (!json_is_object(o) ||
            (a->host = reply_member_str(o, "host", NULL)) == NULL) {
            snprintf(err, errlen, "bad clock_ahead entry in health reply");
            return -1;
        }
        a->records = health_int(o, "records");
        a->max_ahead_s = health_int(o, "max_ahead_s");
    }
    return 0;
}

int
health_reply_parse(const char *body, size_t len, struct health_reply *out,
                   char *err, size_t errlen)
{
    json_error_t jerr;
    struct health_reply h;
    json_t *hosts, *ctrs;

    memset(&h, 0, sizeof(h));
    h.root = json_loadb(body, len, 0, &jerr);
    if (h.root == NULL) {
        snprintf(err, errlen, "invalid JSON in health reply: %s", jerr.text);
        return -1;
    }
    hosts = json_object_get(h.root, "hosts");
    ctrs = json_object_get(h.root, "containers");
    if (!json_is_array(hosts) || (ctrs != NULL && !json_is_array(ctrs)) ||
        !json_is_boolean(json_object_get(h.root, "all_ok"))) {
        snprintf(err, errlen, "health reply lacks hosts or all_ok");
        goto fail;
    }
    h.is_all_ok = json_is_true(json_object_get(h.root, "all_ok"));
    h.hosts = xcalloc(json_array_size(hosts) + 1, sizeof(*h.hosts));
    for (; h.n_hosts < json_array_size(hosts); h.n_hosts++)
        if (health_host_parse(json_array_get(hosts, h.n_hosts),
                              &h.hosts[h.n_hosts], err, errlen) < 0)
            goto fail;
    h.containers = xcalloc(json_array_size(ctrs) + 1, sizeof(*h.containers));
    for (; h.n_containers < json_array_size(ctrs); h.n_containers++)
        if (health_container_parse(json_array_get(ctrs, h.n_containers),
                                   &h.containers[h.n_containers], err,
                                   errlen) < 0)
            goto fail;
    if (health_losses_parse(&h, err, errlen) < 0 ||
        health_aheads_parse(&h, err, errlen) < 0)
        goto fail;
    *out = h;
    return 0;
fail:
    health_reply_fini(&h);
    return -1;
}

void
health_reply_fini(struct health_reply *h)
{
    free(h->hosts);
    free(h->containers);
    free(h->losses);
    free(h->aheads);
    json_decref(h->root);
    memset(h, 0, sizeof(*h));
}

int
health_exit_status(const struct health_reply *h)
{
    if (!h->is_all_ok)
        return 1;
    for (size_t i = 0; i < h->n_hosts; i++)
        if (!h->hosts[i].is_up)
            return 1;
    for (size_t i = 0; i < h->n_containers; i++)
        if (!h->containers[i].is_healthy)
            return 1;
    return 0;
}

/* ---- a small table with colored cells ---- */

struct htable {
    size_t       n_cols;
    unsigned     right_mask;
    char       **cells;         /* plain text, owned */
    const char **sgr;           /* color per cell, NULL for none */
    size_t       n_rows;
};

static void
htable_add(struct htable *t, const char *const *cells,
           const char *const *sgr)
{
    size_t base = t->n_rows * t->n_cols;

    t->cells = xreallocarray(t->cells, base + t->n_cols, sizeof(*t->cells));
    t->sgr = xreallocarray(t->sgr, base + t->n_cols, sizeof(*t->sgr));
    for (size_t c = 0; c < t->n_cols; c++) {
        t->cells[base + c] = output_cell_dup(cells[c]);     /* escaped */
        t->sgr[base + c] = sgr ? sgr[c] : NULL;
    }
    t->n_rows++;
}

static void
htable_fini(struct htable *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->sgr);
}

static int
htable_pad(struct buf *out, size_t n)
{
    while (n-- > 0)
        if (buf_append(out, " ", 1) < 0)
            return -1;
    return 0;
}

static int
htable_cell(struct buf *out, const char *s, const char *sgr, int color)
{
    if (color && sgr != NULL &&
        (buf_append(out, "\033[", 2) < 0 ||
         buf_append(out, sgr, strlen(sgr)) < 0 || buf_append(out, "m", 1) < 0))
        return -1;
    if (buf_append(out, s, strlen(s)) < 0)
        return -1;
    if (color && sgr != NULL && buf_append(out, "\033[0m", 4) < 0)
        return -1;
    return 0;
}

static int
htable_format(const struct htable *t, struct buf *out, int color)
{
    size_t w[HEALTH_MAX_COLS] = { 0 };

    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        if (strlen(t->cells[i]) > w[i % t->n_cols])
            w[i % t->n_cols] = strlen(t->cells[i]);
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) {
        size_t c = i % t->n_cols, pad = w[c] - strlen(t->cells[i]);
        int is_last = c + 1 == t->n_cols;
        int is_right = (t->right_mask >> c) & 1;
        if ((is_right && htable_pad(out, pad) < 0) ||
            htable_cell(out, t->cells[i], t->sgr[i], color) < 0 ||
            (!is_right && !is_last && htable_pad(out, pad) < 0) ||
            buf_append(out, is_last ? "\n" : "  ", is_last ? 1 : 2) < 0)
            return -1;
    }
    return 0;
}

/* ---- rendering ---- */

static void
health_pct(double v, char *out, size_t len)
{
    if (isfinite(v))
        snprintf(out, len, "%.1f", v);
    else
        snprintf(out, len, "-");
}

static void
health_count(int64_t v, char *out, size_t len)
{
    if (v >= 0)
        snprintf(out, len, "%lld", (long long)v);
    else
        snprintf(out, len, "-");
}

static void
health_host_row(struct htable *t, const struct health_host *h, int64_t now)
{
    char age[48], cpu[24], mem[24], fs[24], ctr[48], rs[24], errs[24];
    char run[24], tot[24];

    output_age_format(now, h->last_seen_ns, age, sizeof(age));
    health_pct(h->cpu_pct, cpu, sizeof(cpu));
    health_pct(h->mem_pct, mem, sizeof(mem));
    health_pct(h->fs_max_pct, fs, sizeof(fs));
    health_count(h->containers_running, run, sizeof(run));
    health_count(h->containers_total, tot, sizeof(tot));
    snprintf(ctr, sizeof(ctr), "%s/%s", run, tot);
    health_count(h->restarts_1h, rs, sizeof(rs));
    health_count(h->error_lines_15m, errs, sizeof(errs));
    const char *row[] = { h->host, h->is_up ? "up" : "DOWN", age, cpu, mem,
                          fs, ctr, rs, errs };
    const char *sgr[] = { NULL, h->is_up ? HEALTH_GREEN : HEALTH_RED,
                          h->is_up ? NULL : HEALTH_RED, NULL, NULL, NULL,
                          NULL, h->restarts_1h > 0 ? HEALTH_RED : NULL,
                          NULL };
    htable_add(t, row, sgr);
}

static int
health_hosts_render(struct buf *out, const struct health_reply *h,
                    int64_t now, int color)
{
    static const char *const head[] = { "HOST", "STATUS", "LAST SEEN",
                                        "CPU%", "MEM%", "DISK%",
                                        "CONTAINERS", "RESTARTS/1h",
                                        "ERRORS/15m" };
    struct htable t = { 9, 0x1f8, NULL, NULL, 0 };

    htable_add(&t, head, NULL);
    for (size_t i = 0; i < h->n_hosts; i++)
        health_host_row(&t, &h->hosts[i], now);
    int rc = htable_format(&t, out, color);
    htable_fini(&t);
    return rc;
}

static int
health_containers_render(struct buf *out, const struct health_reply *h,
                         int color)
{
    static const char *const head[] = { "HOST", "CONTAINER", "STATE",
                                        "RESTARTS/1h", "REASON" };
    struct htable t = { 5, 0x8, NULL, NULL, 0 };
    char rs[24];
    size_t n_bad = 0;

    for (size_t i = 0; i < h->n_containers; i++)
        n_bad += !h->containers[i].is_healthy;
    if (n_bad == 0) {
        static const char none[] = "\nno unhealthy containers\n";
        return buf_append(out, none, sizeof(none) - 1);
    }
    if (buf_append(out, "\nUNHEALTHY CONTAINERS\n", 22) < 0)
        return -1;
    htable_add(&t, head, NULL);
    for (size_t i = 0; i < h->n_containers; i++) {
        const struct health_container *c = &h->containers[i];
        if (c->is_healthy)
            continue;
        health_count(c->restarts_1h, rs, sizeof(rs));
        const char *row[] = { c->host, c->container,
                              c->state[0] ? c->state : "-", rs,
                              c->reason[0] ? c->reason : "-" };
        const char *sgr[] = { NULL, HEALTH_RED, HEALTH_RED, NULL, NULL };
        htable_add(&t, row, sgr);
    }
    int rc = htable_format(&t, out, color);
    htable_fini(&t);
    return rc;
}

/* ">=N" for a lower bound, "?" for an unknown count (a bound of 0). */
static void
health_bound(int64_t v, int is_at_least, char *out, size_t len)
{
    if (v < 0 || (is_at_least && v == 0))
        snprintf(out, len, "?");
    else
        snprintf(out, len, "%s%lld", is_at_least ? ">=" : "", (long long)v);
}

static int
health_losses_render(struct buf *out, const struct health_reply *h,
                     int color)
{
    static const char *const head[] = { "HOST", "CONTAINER", "ID",
                                        "LOST BYTES", "LOST LINES",
                                        "EVENTS" };
    static const char title[] = "\nLOST DATA (deleted or truncated before "
                                "it was read; >=N: at least N)\n";
    struct htable t = { 6, 0x38, NULL, NULL, 0 };
    char id[16], bytes[32], lines[32], events[24];

    if (h->n_losses == 0)
        return 0;
    if (buf_append(out, title, sizeof(title) - 1) < 0)
        return -1;
    htable_add(&t, head, NULL);
    for (size_t i = 0; i < h->n_losses; i++) {
        const struct health_loss *l = &h->losses[i];
        snprintf(id, sizeof(id), "%.12s", l->id);
        health_bound(l->bytes, l->is_bytes_at_least, bytes, sizeof(bytes));
        health_bound(l->lines, l->is_lines_at_least, lines, sizeof(lines));
        health_count(l->events, events, sizeof(events));
        const char *row[] = { l->host, l->container, id, bytes, lines,
                              events };
        const char *sgr[] = { NULL, HEALTH_RED, NULL, HEALTH_RED, HEALTH_RED,
                              NULL };
        htable_add(&t, row, sgr);
    }
    int rc = htable_format(&t, out, color);
    htable_fini(&t);
    return rc;
}

/* A skew of s seconds in its largest whole unit: 40s, 12m, 3h, 2d, 1y. */
static void
health_skew(int64_t s, char *out, size_t len)
{
    static const struct { int64_t s; const char *unit; } u[] = {
        { 365 * 86400, "y" }, { 86400, "d" }, { 3600, "h" }, { 60, "m" },
    };

    if (s < 0) {
        snprintf(out, len, "?");
        return;
    }
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
        if (s >= u[i].s) {
            snprintf(out, len, "%lld%s", (long long)(s / u[i].s), u[i].unit);
            return;
        }
    snprintf(out, len, "%llds", (long long)s);
}

static int
health_aheads_render(struct buf *out, const struct health_reply *h,
                     int color)
{
    static const char *const head[] = { "HOST", "RECORDS", "MAX AHEAD" };
    struct htable t = { 3, 0x6, NULL, NULL, 0 };
    char title[160], grace[24], recs[24], skew[24];

    if (h->n_aheads == 0)
        return 0;
    health_skew(h->ahead_grace_s, grace, sizeof(grace));
    int n = snprintf(title, sizeof(title), "\nCLOCKS AHEAD (records stamped "
                     "more than %s after they were received, since the "
                     "collector started)\n", grace);
    if (buf_append(out, title, (size_t)n) < 0)
        return -1;
    htable_add(&t, head, NULL);
    for (size_t i = 0; i < h->n_aheads; i++) {
        const struct health_ahead *a = &h->aheads[i];
        health_count(a->records, recs, sizeof(recs));
        health_skew(a->max_ahead_s, skew, sizeof(skew));
        const char *row[] = { a->host, recs, skew };
        const char *sgr[] = { NULL, HEALTH_RED, HEALTH_RED };
        htable_add(&t, row, sgr);
    }
    int rc = htable_format(&t, out, color);
    htable_fini(&t);
    return rc;
}

int
health_render(struct buf *out, const struct health_reply *h, int64_t now,
              int color)
{
    size_t start = out->len;

    if (h->n_hosts == 0) {
        static const char none[] = "no hosts have sent metrics\n";
        if (buf_append(out, none, sizeof(none) - 1) < 0)
            return -1;
    } else if (health_hosts_render(out, h, now, color) < 0) {
        goto fail;
    }
    if (health_containers_render(out, h, color) < 0 ||
        health_losses_render(out, h, color) < 0 ||
        health_aheads_render(out, h, color) < 0)
        goto fail;
    return 0;
fail:
    out->len = start;
    return -1;
}
