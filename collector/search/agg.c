/* SPDX-License-Identifier: MIT */
/*
 * agg: count groups in a chained hash table of owned keys (one per host,
 * container or stream: at most the store's sources), sorted only when the
 * reply is formatted; histogram buckets in a flat array sized up front and
 * capped at AGG_MAX_BUCKETS. JSON text is written with json_str_append
 * (common/record.h), the same escaper as the record lines.
 */
#include "collector/search/agg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/fnv.h"
#include "common/labelset.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define NS_PER_MS 1000000LL

struct agg_group {
    struct agg_group *next;
    uint64_t          hash;
    uint64_t          count;
    char             *key;
};

struct agg_count {
    enum agg_by        by;
    char              *name;        /* AGG_BY_FIELD */
    uint64_t           total;
    uint64_t           other;       /* AGG_BY_FIELD past the key cap */
    struct agg_group **tab;
    size_t             tab_size;    /* power of two */
    size_t             n_groups;
};

int
agg_by_parse(const char *s, enum agg_by *out, char *name)
{
    size_t n = strlen(s);

    if (n > 6 && n - 6 <= AGG_MAX_NAME && memcmp(s, "field:", 6) == 0) {
        memcpy(name, s + 6, n - 6 + 1);
        *out = AGG_BY_FIELD;
        return 0;
    }
    if (n > 6 && n - 6 <= AGG_MAX_NAME && memcmp(s, "label:", 6) == 0) {
        memcpy(name, s + 6, n - 6 + 1);
        *out = AGG_BY_LABEL;
        return 0;
    }
    if (strcmp(s, "host") == 0)
        *out = AGG_BY_HOST;
    else if (strcmp(s, "container") == 0)
        *out = AGG_BY_CONTAINER;
    else if (strcmp(s, "stream") == 0)
        *out = AGG_BY_STREAM;
    else
        return -1;
    return 0;
}

/* ------------------------------------------------------------ count */

struct agg_count *
agg_count_new(enum agg_by by, const char *name)
{
    struct agg_count *c = xcalloc(1, sizeof(*c));

    c->by = by;
    if (by == AGG_BY_FIELD || by == AGG_BY_LABEL)
        c->name = xstrdup(name);
    return c;
}

void
agg_count_free(struct agg_count *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->tab_size; i++) {
        for (struct agg_group *g = c->tab[i], *next; g != NULL; g = next) {
            next = g->next;
            free(g->key);
            free(g);
        }
    }
    free(c->tab);
    free(c->name);
    free(c);
}

static uint64_t
agg_hash(const char *a, const char *b)
{
    uint64_t h = fnv1a64(a, strlen(a));

    if (b != NULL) {
        h = fnv1a64_byte(h, '/');
        h = fnv1a64_more(h, b, strlen(b));
    }
    return h;
}

static void
agg_grow(struct agg_count *c)
{
    size_t n = c->tab_size ? c->tab_size * 2 : 64;
    struct agg_group **t = xcalloc(n, sizeof(*t));

    for (size_t i = 0; i < c->tab_size; i++) {
        for (struct agg_group *g = c->tab[i], *next; g != NULL; g = next) {
            next = g->next;
            g->next = t[g->hash & (n - 1)];
            t[g->hash & (n - 1)] = g;
        }
    }
    free(c->tab);
    c->tab = t;
    c->tab_size = n;
}

/* True if key equals a, or a + "/" + b when b is given. */
static int
agg_key_eq(const char *key, const char *a, const char *b)
{
    size_t n = strlen(a);

    if (strncmp(key, a, n) != 0)
        return 0;
    if (b == NULL)
        return key[n] == '\0';
    return key[n] == '/' && strcmp(key + n + 1, b) == 0;
}

/* Adds n to the group of key a (+ "/" + b when b is given). */
static void
agg_group_add(struct agg_count *c, const char *a, const char *b, uint64_t n)
{
    uint64_t h = agg_hash(a, b);
    if (c->tab_size > 0) {
        struct agg_group *g = c->tab[h & (c->tab_size - 1)];
        for (; g != NULL; g = g->next) {
            if (g->hash == h && agg_key_eq(g->key, a, b)) {
                g->count += n;
                return;
            }
        }
    }
    if ((c->by == AGG_BY_FIELD || c->by == AGG_BY_LABEL) &&
        c->n_groups >= AGG_MAX_FIELD_KEYS) {
        c->other += n;
        return;
    }
    if (c->n_groups >= c->tab_size)
        agg_grow(c);
    struct agg_group *g = xcalloc(1, sizeof(*g));
    g->hash = h;
    g->count = n;
    g->key = b != NULL ? xasprintf("%s/%s", a, b) : xstrdup(a);
    g->next = c->tab[h & (c->tab_size - 1)];
    c->tab[h & (c->tab_size - 1)] = g;
    c->n_groups++;
}

int
agg_count_add_block(struct agg_count *c, uint64_t n, const char *host,
                    const char *container, unsigned stream_mask)
{
    switch (c->by) {
    case AGG_BY_NONE:
        break;
    case AGG_BY_HOST:
        if (host == NULL)
            return 0;
        agg_group_add(c, host, NULL, n);
        break;
    case AGG_BY_CONTAINER:
        if (host == NULL || container == NULL)
            return 0;
        agg_group_add(c, host, container, n);
        break;
    case AGG_BY_STREAM:
        if (stream_mask != 1u << LOGREC_STDOUT &&
            stream_mask != 1u << LOGREC_STDERR)
            return 0;
        agg_group_add(c, logrec_stream_name(stream_mask == 1u << LOGREC_STDOUT
                                            ? LOGREC_STDOUT : LOGREC_STDERR),
                      NULL, n);
        break;
    default:
        return 0;
    }
    c->total += n;
    return 1;
}

void
agg_count_add(struct agg_count *c, const struct logrec *r)
{
    const char *a, *b = NULL;
    char key[AGG_MAX_KEY + 1];
    size_t key_len = 0;

    c->total++;
    switch (c->by) {
    case AGG_BY_HOST: a = r->host ? r->host : ""; break;
    case AGG_BY_CONTAINER:
        a = r->host ? r->host : "";
        b = r->container ? r->container : "";
        break;
    case AGG_BY_STREAM: a = logrec_stream_name(r->stream); break;
    case AGG_BY_FIELD:
        fields_get(r->msg, r->msg_len, c->name, strlen(c->name), key,
                   AGG_MAX_KEY, &key_len);
        key[key_len] = '\0';       /* a decoded NUL ends the key */
        a = key;
        break;
    case AGG_BY_LABEL:
        a = labelset_get(r->labels, c->name);
        a = a != NULL ? a : "";
        break;
    default: return;
    }
    agg_group_add(c, a, b, 1);
}

uint64_t
agg_count_total(const struct agg_count *c)
{
    return c->total;
}

static int
agg_group_cmp(const void *pa, const void *pb)
{
    const struct agg_group *a = *(const struct agg_group *const *)pa;
    const struct agg_group *b = *(const struct agg_group *const *)pb;

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int
agg_num_append(struct buf *out, const char *fmt_prefix, uint64_t v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), "%s%" PRIu64, fmt_prefix, v);

    return buf_append(out, tmp, (size_t)n);
}

int
agg_count_format(const struct agg_count *c, struct buf *out)
{
    size_t saved = out->len, n = 0;
    struct agg_group **v = xcalloc(c->n_groups + 1, sizeof(*v));
    int rc = 0;

    for (size_t i = 0; i < c->tab_size; i++)
        for (struct agg_group *g = c->tab[i]; g != NULL; g = g->next)
            v[n++] = g;
    qsort(v, n, sizeof(*v), agg_group_cmp);
    rc |= agg_num_append(out, "{\"total\":", c->total);
    rc |= buf_append(out, ",\"groups\":[", 11);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc |= buf_append(out, i ? ",{\"key\":" : "{\"key\":", i ? 8 : 7);
        rc |= json_str_append(out, v[i]->key, strlen(v[i]->key));
        rc |= agg_num_append(out, ",\"count\":", v[i]->count);
        rc |= buf_append(out, "}", 1);
    }
    rc |= buf_append(out, "]", 1);
    if (c->other > 0)
        rc |= agg_num_append(out, ",\"other\":", c->other);
    rc |= buf_append(out, "}", 1);
    free(v);
    if (rc != 0) {
        out->len = saved;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ histogram */

int
agg_step_parse(const char *s, int64_t *step_ns)
{
    int64_t v;

    if (s[0] == '\0')
        return -1;
    if (strspn(s, "0123456789") == strlen(s)) {
        if (strlen(s) > 12)
            return -1;
        v = (int64_t)strtoll(s, NULL, 10) * NS_PER_MS;
    } else if (duration_parse_ns(s, &v) < 0) {
        return -1;
    }
    if (v < NS_PER_MS || v > AGG_MAX_STEP_NS || v % NS_PER_MS != 0)
        return -1;
    *step_ns = v;
    return 0;
}

int64_t
agg_step_auto(int64_t range_ns)
{
    static const int64_t steps_s[] = {
        1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600,
        12 * 3600, 86400, 7 * 86400,
    };
    const int64_t week = 7 * 86400 * 1000000000LL;

    for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]); i++)
        if (range_ns / (steps_s[i] * 1000000000LL) <= 120)
            return steps_s[i] * 1000000000LL;
    /* a sender's record in 1677 makes an open since reach there: still
     * an answer, in fewer, longer buckets (at most 128 weeks each) */
    int64_t weeks = range_ns / (120 * week);
    return (range_ns / (weeks * week) <= 120 ? weeks : weeks + 1) * week;
}

int64_t
agg_open_end(int64_t now_ns)
{
    return now_ns <= INT64_MAX - AGG_FUTURE_NS ? now_ns + AGG_FUTURE_NS
                                               : INT64_MAX;
}

int64_t
agg_open_until(int has_records, int64_t last_ns, int64_t now_ns)
{
    int64_t until = now_ns;

    if (has_records && last_ns >= now_ns)
        until = last_ns < INT64_MAX ? last_ns + 1 : INT64_MAX;
    int64_t cap = agg_open_end(now_ns);
    return until < cap ? until : cap;
}

int64_t
agg_hist_range(int64_t since, int64_t until, int has_records,
               int64_t first_ns, int64_t *since_out, int64_t *until_out)
{
    if (since == INT64_MIN)
        since = has_records ? first_ns : until;
    *since_out = since;
    *until_out = until;
    if (until <= since)
        return 0;
    uint64_t span = (uint64_t)until - (uint64_t)since;
    return span > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)span;
}

/* Floor division for possibly negative times. */
static int64_t
agg_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int
agg_hist_init(struct agg_hist *h, int64_t since_ns, int64_t until_ns,
              int64_t step_ns, char **errstr)
{
    memset(h, 0, sizeof(*h));
    h->step_ms = step_ns / NS_PER_MS;
    if (until_ns <= since_ns)
        return 0;
    int64_t first = agg_floor_div(agg_floor_div(since_ns, NS_PER_MS),
                                  h->step_ms);
    int64_t last = agg_floor_div(agg_floor_div(until_ns - 1, NS_PER_MS),
                                 h->step_ms);
    uint64_t n = (uint64_t)(last - first) + 1;
    if (n > AGG_MAX_BUCKETS) {
        *errstr = xasprintf("too many histogram buckets (%" PRIu64
                            ", at most %d): use a larger step or a shorter "
                            "time range", n, AGG_MAX_BUCKETS);
        return -1;
    }
    h->first_ms = first * h->step_ms;
    h->n_buckets = (size_t)n;
    h->counts = xcalloc(h->n_buckets, sizeof(*h->counts));
    return 0;
}

void
agg_hist_fini(struct agg_hist *h)
{
    free(h->counts);
    memset(h, 0, sizeof(*h));
}

/* The bucket of time_ns (may be outside [0, n_buckets)). */
static int64_t
agg_hist_bucket(const struct agg_hist *h, int64_t time_ns)
{
    int64_t ms = agg_floor_div(time_ns, NS_PER_MS);
    return agg_floor_div(ms - h->first_ms, h->step_ms);
}

void
agg_hist_add(struct agg_hist *h, int64_t time_ns)
{
    if (h->n_buckets == 0)
        return;
    int64_t i = agg_hist_bucket(h, time_ns);
    if (i >= 0 && (uint64_t)i < h->n_buckets)
        h->counts[i]++;
}

int
agg_hist_add_block(struct agg_hist *h, int64_t min_ns, int64_t max_ns,
                   uint64_t n)
{
    if (h->n_buckets == 0)
        return 1;
    int64_t i = agg_hist_bucket(h, min_ns);
    if (min_ns > max_ns || agg_hist_bucket(h, max_ns) != i)
        return 0;
    if (i >= 0 && (uint64_t)i < h->n_buckets)
        h->counts[i] += n;
    return 1;
}

int
agg_hist_format(const struct agg_hist *h, struct buf *out)
{
    size_t saved = out->len;
    char tmp[64];
    int rc = 0;

    int n = snprintf(tmp, sizeof(tmp), "{\"step_ms\":%" PRId64
                     ",\"buckets\":[", h->step_ms);
    rc |= buf_append(out, tmp, (size_t)n);
    for (size_t i = 0; i < h->n_buckets && rc == 0; i++) {
        n = snprintf(tmp, sizeof(tmp), "%s[%" PRId64 ",%" PRIu64 "]",
                     i ? "," : "", h->first_ms + (int64_t)i * h->step_ms,
                     h->counts[i]);
        rc |= buf_append(out, tmp, (size_t)n);
    }
    rc |= buf_append(out, "]}", 2);
    if (rc != 0) {
        out->len = saved;
        return -1;
    }
    return 0;
}
