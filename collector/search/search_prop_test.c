/* SPDX-License-Identifier: MIT */
/*
 * search_prop_test: a property test of the /logs search path. Random
 * records (few hosts, containers, streams; messages from a small
 * vocabulary; random or increasing times) go into a real store in a temp
 * dir; random queries (terms, phrases, exclusions, OR, icase, regex,
 * filters, limit, order, before/after context) run through search_new /
 * search_step exactly as api_logs.c runs them, and the output is compared
 * with a brute-force model computed from the in-memory records: the same
 * matches, nothing extra, scan order, the right context lines and groups.
 * Deterministic (fixed seed); a failing case prints its seed, query and
 * parameters.
 */
#include <fnmatch.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/search/query.h"
#include "collector/search/search.h"
#include "collector/store/store.h"
#include "common/xmalloc.h"

#define T0         1700000000000000000LL
#define N_DATASETS 16
#define N_QUERIES  25
#define MAX_RECS   400
#define MAX_ITEMS  5

static const char *const vocab[] = {
    "alpha", "beta", "gamma", "error", "Error", "warn", "10.0.0.1",
    "10.0.0.12", "GET", "get", "x-ray", "db01",
};
#define N_VOCAB (sizeof(vocab) / sizeof(vocab[0]))
static const char *const seps[] = { " ", " ", ", ", ":", " (", "/" };
static const char *const regexes[] = {
    "^alpha", "beta$", "err(or)?", "[0-9]+\\.[0-9]+", "get|warn", "a.p",
};

struct src_def {
    const char *host, *cid, *name, *image;
};
static const struct src_def srcs[] = {
    { "node1", "c1", "web", "nginx:1" },
    { "node1", "c2", "db", "pg:16" },
    { "node2", "c3", "web2", "nginx:1" },
    { "node2", "c1", "worker", "app:2" },   /* same id, other host */
};
#define N_SRCS (sizeof(srcs) / sizeof(srcs[0]))

struct rec {
    int      src;
    int      stream;
    int64_t  time_ns;
    uint64_t offset;
    char     msg[160];
    size_t   order;         /* position in scan order (oldest first) */
};

struct item {
    int  is_neg;
    int  is_phrase;
    int  or_next;           /* joined to the next item by OR */
    char text[48];
};

struct qcase {
    struct item items[MAX_ITEMS];
    int         n_items;
    const char *regex;
    int         is_icase;
    const char *host, *container, *image;
    int         stream;
    int64_t     since, until;
    uint64_t    limit;
    int         is_desc;
    unsigned    before, after;
    char        qtext[512];
};

struct out_rec {
    int src, stream;
    uint64_t offset;
    int is_context, is_group_start;
};

struct out {
    struct out_rec *v;
    size_t n, cap;
};

static uint64_t rng_state;

static uint64_t
rnd(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static unsigned
rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* ------------------------------------------------------------ data */

static size_t
gen_records(struct rec *r, int is_increasing)
{
    size_t n = 20 + rn(MAX_RECS - 20);
    uint64_t offs[N_SRCS] = { 0 };

    for (size_t i = 0; i < n; i++) {
        r[i].src = (int)rn(N_SRCS);
        r[i].stream = rn(4) == 0 ? 1 : 0;
        r[i].offset = offs[r[i].src] += 10 + rn(50);
        /* Random times collide often (ties keep arrival order). */
        r[i].time_ns = is_increasing ? T0 + (int64_t)i * 1000 + rn(999)
                                     : T0 + (int64_t)rn(60) * 1000;
        size_t len = 0, words = 1 + rn(5);
        for (size_t w = 0; w < words; w++) {
            const char *sep = w ? seps[rn(6)] : "";
            len += (size_t)snprintf(r[i].msg + len, sizeof(r[i].msg) - len,
                                    "%s%s", sep, vocab[rn(N_VOCAB)]);
        }
    }
    return n;
}

static int
rec_cmp_time(const void *pa, const void *pb)
{
    const struct rec *a = *(const struct rec *const *)pa;
    const struct rec *b = *(const struct rec *const *)pb;

    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns ? -1 : 1;
    return a < b ? -1 : a > b;       /* arrival order */
}

/* Fills r[i].order and the scan order array (oldest first). */
static void
scan_order(struct rec *r, size_t n, struct rec **ord)
{
    for (size_t i = 0; i < n; i++)
        ord[i] = &r[i];
    qsort(ord, n, sizeof(*ord), rec_cmp_time);
    for (size_t i = 0; i < n; i++)
        ord[i]->order = i;
}

static struct store *
load_store(const char *dir, const struct rec *r, size_t n,
           int is_increasing)
{
    struct store_options opt;
    char *err = NULL;

    memset(&opt, 0, sizeof(opt));
    /* Increasing times: many small sealed blocks (index and block order
     * in play); random times: one block, sorted by time. */
    opt.block_size = is_increasing ? 1024 : 1 << 20;
    opt.segment_size = is_increasing ? 8192 : 0;
    struct store *s = store_open(dir, &opt, &err);
    if (s == NULL)
        fail_msg("store_open: %s", err);
    for (size_t i = 0; i < n; i++) {
        struct logrec lr = {
            .time_ns = r[i].time_ns, .host = srcs[r[i].src].host,
            .container_id = srcs[r[i].src].cid,
            .container = srcs[r[i].src].name,
            .image = srcs[r[i].src].image, .stream = (uint8_t)r[i].stream,
            .offset = r[i].offset, .msg = r[i].msg,
            .msg_len = strlen(r[i].msg),
        };
        assert_int_equal(store_append(s, &lr), 1);
        if (is_increasing && rn(8) == 0)
            assert_int_equal(store_commit(s), 0);
    }
    assert_int_equal(store_commit(s), 0);
    return s;
}

/* ------------------------------------------------------------ queries */

static void
gen_query(struct qcase *c, const struct rec *r, size_t n)
{
    memset(c, 0, sizeof(*c));
    c->n_items = (int)rn(MAX_ITEMS + 1);
    for (int i = 0; i < c->n_items; i++) {
        struct item *it = &c->items[i];
        it->is_phrase = rn(4) == 0;
        if (it->is_phrase)
            snprintf(it->text, sizeof(it->text), "%s%s%s", vocab[rn(N_VOCAB)],
                     seps[rn(2)], vocab[rn(N_VOCAB)]);
        else
            snprintf(it->text, sizeof(it->text), "%s", vocab[rn(N_VOCAB)]);
        it->is_neg = rn(5) == 0;
        /* OR joins two positive items only. */
        if (i > 0 && !it->is_neg && !c->items[i - 1].is_neg && rn(3) == 0)
            c->items[i - 1].or_next = 1;
    }
    size_t len = 0;
    for (int i = 0; i < c->n_items; i++) {
        const struct item *it = &c->items[i];
        len += (size_t)snprintf(c->qtext + len, sizeof(c->qtext) - len,
                                "%s%s%s%s%s", i ? " " : "",
                                it->is_neg ? "-" : "",
                                it->is_phrase ? "\"" : "", it->text,
                                it->is_phrase ? "\"" : "");
        if (it->or_next)
            len += (size_t)snprintf(c->qtext + len, sizeof(c->qtext) - len,
                                    " OR");
    }
    c->regex = rn(6) == 0 ? regexes[rn(6)] : NULL;
    c->is_icase = rn(3) == 0;
    c->host = rn(4) == 0 ? srcs[rn(N_SRCS)].host : NULL;
    c->container = rn(5) == 0 ? (rn(2) ? "web*" : srcs[rn(N_SRCS)].name)
                              : NULL;
    c->image = rn(8) == 0 ? srcs[rn(N_SRCS)].image : NULL;
    c->stream = rn(5) == 0 ? (int)rn(2) : -1;
    c->since = INT64_MIN;
    c->until = INT64_MAX;
    if (rn(4) == 0)
        c->since = r[rn((unsigned)n)].time_ns;
    if (rn(4) == 0) {
        c->until = r[rn((unsigned)n)].time_ns + 1;
        if (c->until <= c->since)
            c->until = c->since + 5000;
    }
    static const uint64_t limits[] = { 1, 2, 3, 7, 1000, UINT64_MAX };
    c->limit = limits[rn(6)];
    c->is_desc = (int)rn(2);
    static const unsigned ctx[] = { 0, 0, 0, 1, 2, 3, 5 };
    c->before = ctx[rn(7)];
    c->after = ctx[rn(7)];
}

/* ------------------------------------------------------------ model */

static int
is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9');
}

static void
fold(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static int
model_item(const struct item *it, const char *msg, int icase)
{
    char m[200], t[64];

    snprintf(m, sizeof(m), "%s", msg);
    snprintf(t, sizeof(t), "%s", it->text);
    if (icase) {
        fold(m);
        fold(t);
    }
    size_t tl = strlen(t);
    for (const char *p = strstr(m, t); p != NULL; p = strstr(p + 1, t)) {
        if (it->is_phrase)
            return 1;
        int ok_l = !is_alnum(t[0]) || p == m || !is_alnum(p[-1]);
        int ok_r = !is_alnum(t[tl - 1]) || !is_alnum(p[tl]);
        if (ok_l && ok_r)
            return 1;
    }
    return 0;
}

static int
model_match(const struct qcase *c, const char *msg)
{
    for (int i = 0; i < c->n_items; i++) {
        int any = 0, j = i;
        for (;; j++) {
            int hit = model_item(&c->items[j], msg, c->is_icase);
            any |= c->items[j].is_neg ? !hit : hit;
            if (!c->items[j].or_next)
                break;
        }
        if (!any)
            return 0;
        i = j;
    }
    if (c->regex != NULL) {
        regex_t re;
        int flags = REG_EXTENDED | REG_NOSUB |
                    (c->is_icase ? REG_ICASE : 0);
        assert_int_equal(regcomp(&re, c->regex, flags), 0);
        int rc = regexec(&re, msg, 0, NULL, 0);
        regfree(&re);
        if (rc != 0)
            return 0;
    }
    return 1;
}

static int
model_filter(const struct qcase *c, const struct rec *r)
{
    const struct src_def *d = &srcs[r->src];

    return r->time_ns >= c->since && r->time_ns < c->until &&
           (c->host == NULL || strcmp(c->host, d->host) == 0) &&
           (c->container == NULL || fnmatch(c->container, d->name, 0) == 0) &&
           (c->image == NULL || strcmp(c->image, d->image) == 0) &&
           (c->stream < 0 || c->stream == r->stream);
}

/* Context source: (host, container_id, stream). */
static int
same_source(const struct rec *a, const struct rec *b)
{
    return strcmp(srcs[a->src].host, srcs[b->src].host) == 0 &&
           strcmp(srcs[a->src].cid, srcs[b->src].cid) == 0 &&
           a->stream == b->stream;
}

/* The expected output: records in scan order with flags, grouped. kept[i]
 * is 0 (out), 1 (match) or 2 (context) for scan position i. */
static void
model_run(const struct qcase *c, struct rec **ord, size_t n,
          struct out *exp)
{
    struct rec *scan[MAX_RECS];
    int kept[MAX_RECS] = { 0 };
    size_t m = 0;
    uint64_t n_matches = 0;
    unsigned lb = c->is_desc ? c->after : c->before;
    unsigned la = c->is_desc ? c->before : c->after;

    for (size_t i = 0; i < n; i++) {
        struct rec *r = ord[c->is_desc ? n - 1 - i : i];
        if (model_filter(c, r))
            scan[m++] = r;
    }
    for (size_t i = 0; i < m && n_matches < c->limit; i++) {
        if (!model_match(c, scan[i]->msg))
            continue;
        n_matches++;
        kept[i] = 1;
        /* lb same-source records back, la forward. */
        unsigned k = 0;
        for (size_t j = i; j-- > 0 && k < lb;)
            if (same_source(scan[j], scan[i]) && ++k)
                kept[j] = kept[j] ? kept[j] : 2;
        k = 0;
        for (size_t j = i + 1; j < m && k < la; j++)
            if (same_source(scan[j], scan[i]) && ++k)
                kept[j] = kept[j] ? kept[j] : 2;
    }
    /* A match past the limit inside a window is a context line. Groups:
     * runs of kept records of one source; laid out one after another. */
    size_t gid[MAX_RECS], n_groups = 0;
    for (size_t i = 0; i < m; i++) {
        if (!kept[i])
            continue;
        gid[i] = n_groups;
        for (size_t j = i; j-- > 0;) {
            if (!same_source(scan[j], scan[i]))
                continue;
            if (kept[j])
                gid[i] = gid[j];
            break;
        }
        if (gid[i] == n_groups)
            n_groups++;
    }
    exp->n = 0;
    if (lb + la == 0) {
        for (size_t i = 0; i < m; i++)
            if (kept[i])
                exp->v[exp->n++] = (struct out_rec){
                    scan[i]->src, scan[i]->stream, scan[i]->offset, 0, 0,
                };
        return;
    }
    for (size_t g = 0; g < n_groups; g++) {
        int is_first = 1;
        for (size_t i = 0; i < m; i++) {
            if (!kept[i] || gid[i] != g)
                continue;
            exp->v[exp->n++] = (struct out_rec){
                scan[i]->src, scan[i]->stream, scan[i]->offset,
                kept[i] == 2, is_first,
            };
            is_first = 0;
        }
    }
}

/* ------------------------------------------------------------ actual */

static int
emit_cb(const struct logrec *r, int is_context, int is_group_start,
        void *arg)
{
    struct out *o = arg;
    int src = -1;

    for (size_t i = 0; i < N_SRCS; i++)
        if (strcmp(srcs[i].host, r->host) == 0 &&
            strcmp(srcs[i].cid, r->container_id) == 0)
            src = (int)i;
    assert_true(src >= 0);
    assert_true(o->n < o->cap);
    o->v[o->n++] = (struct out_rec){ src, r->stream, r->offset, is_context,
                                     is_group_start };
    return rn(7) == 0;      /* pause now and then, as a full slice would */
}

static void
actual_run(struct store *st, const struct qcase *c, struct query *q,
           struct out *act)
{
    struct search_spec spec;
    char *err = NULL;

    memset(&spec, 0, sizeof(spec));
    spec.filter.since_ns = c->since;
    spec.filter.until_ns = c->until;
    spec.filter.host = c->host;
    spec.filter.container = c->container;
    spec.filter.image = c->image;
    spec.filter.stream = c->stream;
    spec.q = q;
    spec.limit = c->limit;
    spec.is_newest_first = c->is_desc;
    spec.before = c->before;
    spec.after = c->after;
    spec.max_scan_bytes = SEARCH_DEFAULT_MAX_SCAN;
    struct search *s = search_new(st, &spec, &err);
    assert_non_null(s);
    int rc, steps = 0;
    act->n = 0;
    while ((rc = search_step(s, 1 + rn(40), emit_cb, act)) == SEARCH_MORE)
        assert_true(++steps < 100000);
    assert_int_equal(rc, SEARCH_DONE);
    search_free(s);
}

/* ------------------------------------------------------------ compare */

/* Index of the group containing position i's start in o. */
static size_t
group_end(const struct out *o, size_t start, int has_context)
{
    size_t e = start + 1;

    if (!has_context)
        return o->n;
    while (e < o->n && !o->v[e].is_group_start)
        e++;
    return e;
}

static int
out_rec_eq(const struct out_rec *a, const struct out_rec *b)
{
    return a->src == b->src && a->stream == b->stream &&
           a->offset == b->offset && a->is_context == b->is_context;
}

static void
describe(const struct qcase *c, uint64_t seed, size_t ds, int qi)
{
    print_message("FAILED dataset %zu query %d (seed %llu): q='%s' regex=%s "
                  "icase=%d host=%s container=%s image=%s stream=%d "
                  "since=%lld until=%lld limit=%llu order=%s before=%u "
                  "after=%u\n", ds, qi, (unsigned long long)seed, c->qtext,
                  c->regex ? c->regex : "-", c->is_icase,
                  c->host ? c->host : "-",
                  c->container ? c->container : "-",
                  c->image ? c->image : "-", c->stream,
                  (long long)c->since, (long long)c->until,
                  (unsigned long long)c->limit, c->is_desc ? "desc" : "asc",
                  c->before, c->after);
}

static void
dump(const char *what, const struct out *o)
{
    print_message("%s (%zu):\n", what, o->n);
    for (size_t i = 0; i < o->n; i++)
        print_message("  %s src=%d stream=%d off=%llu %s\n",
                      o->v[i].is_group_start ? "--" : "  ", o->v[i].src,
                      o->v[i].stream, (unsigned long long)o->v[i].offset,
                      o->v[i].is_context ? "ctx" : "match");
}

/* Groups may come in any order; each must equal one expected group. */
static int
compare(const struct out *exp, const struct out *act, int has_context)
{
    int *used;
    int ok = 1;

    if (exp->n != act->n)
        return 0;
    if (act->n > 0 && act->v[0].is_group_start)
        return 0;           /* the first group has no separator */
    used = xcalloc(exp->n + 1, sizeof(*used));
    for (size_t a = 0; a < act->n && ok;) {
        size_t ae = group_end(act, a, has_context);
        ok = 0;
        for (size_t e = 0; e < exp->n; e++) {
            if (used[e] || !(e == 0 || exp->v[e].is_group_start ||
                             !has_context))
                continue;
            size_t ee = group_end(exp, e, has_context);
            if (ee - e != ae - a)
                continue;
            size_t k = 0;
            while (k < ae - a && out_rec_eq(&exp->v[e + k], &act->v[a + k]))
                k++;
            if (k == ae - a) {
                used[e] = 1;
                ok = 1;
                break;
            }
        }
        a = ae;
    }
    free(used);
    return ok;
}

/* ------------------------------------------------------------ test */

static void
test_search_prop_random(void **state)
{
    static struct rec recs[MAX_RECS];
    static struct rec *ord[MAX_RECS];
    struct out exp = { xcalloc(MAX_RECS, sizeof(struct out_rec)), 0,
                       MAX_RECS };
    struct out act = { xcalloc(MAX_RECS, sizeof(struct out_rec)), 0,
                       MAX_RECS };
    const uint64_t seed = 0x5eed2026ULL;
    size_t n_cases = 0, n_nonempty = 0, n_ctx = 0;

    (void)state;
    rng_state = seed;
    for (size_t ds = 0; ds < N_DATASETS; ds++) {
        char dir[64];
        int is_inc = (int)(ds % 2);
        snprintf(dir, sizeof(dir), "/tmp/search_prop.XXXXXX");
        assert_non_null(mkdtemp(dir));
        size_t n = gen_records(recs, is_inc);
        scan_order(recs, n, ord);
        struct store *st = load_store(dir, recs, n, is_inc);
        for (int qi = 0; qi < N_QUERIES; qi++) {
            struct qcase c;
            char *err = NULL;
            gen_query(&c, recs, n);
            struct query *q = query_parse(c.qtext, strlen(c.qtext), c.regex,
                                          c.is_icase, &err);
            if (q == NULL) {
                describe(&c, seed, ds, qi);
                fail_msg("query_parse: %s", err);
            }
            int has_ctx = c.before > 0 || c.after > 0;
            model_run(&c, ord, n, &exp);
            actual_run(st, &c, q, &act);
            if (!compare(&exp, &act, has_ctx)) {
                describe(&c, seed, ds, qi);
                dump("expected", &exp);
                dump("actual", &act);
                fail();
            }
            n_cases++;
            n_nonempty += exp.n > 0;
            n_ctx += has_ctx && exp.n > 0;
            query_free(q);
        }
        store_close(st);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
    print_message("%zu cases, %zu with results, %zu with context\n",
                  n_cases, n_nonempty, n_ctx);
    /* The generator must exercise something. */
    assert_true(n_nonempty > n_cases / 3);
    assert_true(n_ctx > n_cases / 10);
    free(exp.v);
    free(act.v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_prop_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
