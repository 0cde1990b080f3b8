/* SPDX-License-Identifier: MIT */
/*
 * searchmodel: the brute-force model collector/search/search_prop_test.c
 * checks the /logs search path against, on plain arrays: its records and
 * query cases, the term/phrase/OR/regex match (POSIX ERE), the filters,
 * and the grep-like context groups of search.h per container (limit,
 * order, before/after, tail). model_run() gives the expected output of a
 * query over every record in store_key order. Written independently of
 * collector/search. Test-only, header-only (one includer: static
 * functions).
 */
#ifndef TESTS_SUPPORT_SEARCHMODEL_H
#define TESTS_SUPPORT_SEARCHMODEL_H

#include <fnmatch.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xmalloc.h"

#define MAX_RECS   400
#define MAX_ITEMS  5

struct src_def {
    const char *host, *cid, *name, *image;
};
static const struct src_def srcs[] = {
    { "node1", "c1", "web", "nginx:1" },
    { "node1", "c2", "db", "pg:16" },
    { "node2", "c3", "web2", "nginx:1" },
    { "node2", "c1", "worker", "app:2" },   /* same id, other host */
    { "node3", "c9", "web", "nginx:1" },    /* the late host */
};
#define N_SRCS (sizeof(srcs) / sizeof(srcs[0]))

struct rec {
    int      src;
    int      stream;
    int64_t  time_ns;
    uint64_t offset;
    char     msg[512];      /* the words */
    char    *full;          /* msg, then padding for big records */
    int      is_out;        /* model: a match past the limit's bound */
};

struct item {
    int  is_neg;
    int  is_phrase;
    int  or_next;           /* joined to the next item by OR */
    char text[160];
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
    int         is_tail;
    char        qtext[1024];
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

/* ------------------------------------------------------------ model */

/* The word rule of query.h: ASCII letters, digits, '_', bytes >= 0x80. */
static int
is_word(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_' || (unsigned char)ch >= 0x80;
}

static void
fold(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* s cut to its first n - 1 bytes, as snprintf(d, n, "%s", s) does
 * without reading all of a message of many KiB (each record is matched
 * once per query and again for each context window it falls in). */
static void
model_copy(char *d, size_t n, const char *s)
{
    size_t len = strnlen(s, n - 1);

    memcpy(d, s, len);
    d[len] = '\0';
}

static int
model_item(const struct item *it, const char *msg, int icase)
{
    char m[600], t[160];

    model_copy(m, sizeof(m), msg);
    model_copy(t, sizeof(t), it->text);
    if (icase) {
        fold(m);
        fold(t);
    }
    size_t tl = strlen(t);
    for (const char *p = strstr(m, t); p != NULL; p = strstr(p + 1, t)) {
        int ok_l = !is_word(t[0]) || p == m || !is_word(p[-1]);
        int ok_r = !is_word(t[tl - 1]) || !is_word(p[tl]);
        if (ok_l && ok_r)
            return 1;
    }
    return 0;
}

/* The query's regex (POSIX ERE) compiled once, not once per record; NULL
 * frees it. */
static int
model_regex_match(const char *rx, int icase, const char *msg)
{
    static regex_t re;
    static char *re_text;
    static int re_icase;

    if (re_text != NULL && (rx == NULL || strcmp(rx, re_text) != 0 ||
                            icase != re_icase)) {
        regfree(&re);
        free(re_text);
        re_text = NULL;
    }
    if (rx == NULL)
        return 0;
    if (re_text == NULL) {
        int flags = REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0);
        assert_int_equal(regcomp(&re, rx, flags), 0);
        re_text = xstrdup(rx);
        re_icase = icase;
    }
    return regexec(&re, msg, 0, NULL, 0) == 0;
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
    if (c->regex != NULL && !model_regex_match(c->regex, c->is_icase, msg))
        return 0;
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

/* ------------------------------------------------------------ model */

static int
same_container(const struct rec *a, const struct rec *b)
{
    return strcmp(srcs[a->src].host, srcs[b->src].host) == 0 &&
           strcmp(srcs[a->src].cid, srcs[b->src].cid) == 0;
}

static void
out_add(struct out *o, const struct rec *r, int is_context,
        int is_group_start)
{
    assert_true(o->n < o->cap);
    o->v[o->n++] = (struct out_rec){ r->src, r->stream, r->offset,
                                     is_context, is_group_start };
}

/* The grep rules of search.h on arrays: L holds the lines of the match's
 * container (stream narrowed) in key order, sel[] which of them are
 * matches, p the match's index there. reach[] is per container the index
 * of the last printed line nearest the search's way (-1: none). */
struct model {
    const struct qcase *c;
    struct rec  *L[MAX_RECS];
    int          sel[MAX_RECS];
    size_t       n_l;
    uint64_t     n_matches;
    int          has_group;
};

static void
model_group(struct model *m, size_t p, long *reach, struct out *exp)
{
    const struct qcase *c = m->c;
    size_t span = (size_t)c->before + c->after + 1;
    size_t lo = p, hi = p, start, end, gap = 0;

    m->n_matches++;
    if (c->is_desc) {
        for (size_t j = p; j-- > 0;) {
            int can = m->n_matches < c->limit;
            gap++;
            if (can && gap <= span && m->sel[j]) {
                m->n_matches++;
                lo = j;
                gap = 0;
                continue;
            }
            if (gap >= (can ? span : (size_t)c->before + 1))
                break;
        }
        start = lo >= c->before ? lo - c->before : 0;
        end = hi + c->after;
        if (*reach >= 0 && end >= (size_t)*reach)
            end = (size_t)*reach - 1;
    } else {
        start = p >= c->before ? p - c->before : 0;
        if (*reach >= 0 && start <= (size_t)*reach)
            start = (size_t)*reach + 1;
        for (size_t j = p + 1; j < m->n_l && m->n_matches < c->limit; j++) {
            gap++;
            if (m->sel[j]) {
                m->n_matches++;
                hi = j;
                gap = 0;
            }
            if (gap >= span)
                break;
        }
        end = hi + c->after;
    }
    if (end >= m->n_l)
        end = m->n_l - 1;
    for (size_t j = start; j <= end; j++)
        out_add(exp, m->L[j], !(j >= lo && j <= hi && m->sel[j]),
                j == start && m->has_group);
    m->has_group = 1;
    *reach = (long)(c->is_desc ? start : end);
}

static int
model_selected(const struct qcase *c, const struct rec *r)
{
    return !r->is_out && model_filter(c, r) && model_match(c, r->full);
}

/* Context with a limit: only the `limit` first matches in the search's
 * direction are matches (search.h); mark the others. */
static void
model_bound(const struct qcase *c, struct rec **ord, size_t n)
{
    uint64_t k = 0;

    for (size_t i = 0; i < n; i++)
        ord[i]->is_out = 0;
    if (c->before + c->after == 0 || c->limit == UINT64_MAX)
        return;
    for (size_t i = 0; i < n; i++) {
        struct rec *r = ord[c->is_desc ? n - 1 - i : i];
        if (!model_selected(c, r))
            continue;
        if (k < c->limit)
            k++;
        else
            r->is_out = 1;
    }
}

/* Fills m->L with r's container (stream narrowed); returns r's index. */
static size_t
model_container(struct model *m, struct rec **ord, size_t n,
                const struct rec *r)
{
    size_t p = SIZE_MAX;

    m->n_l = 0;
    for (size_t i = 0; i < n; i++) {
        struct rec *x = ord[i];
        if (!same_container(x, r) ||
            (m->c->stream >= 0 && x->stream != m->c->stream))
            continue;
        if (x == r)
            p = m->n_l;
        m->sel[m->n_l] = model_selected(m->c, x);
        m->L[m->n_l++] = x;
    }
    assert_true(p != SIZE_MAX);
    return p;
}

static void
model_tail(const struct qcase *c, struct rec **ord, size_t n,
           struct out *exp)
{
    size_t first = n;
    uint64_t k = 0;

    for (size_t i = n; i-- > 0 && k < c->limit;)
        if (model_selected(c, ord[i])) {
            first = i;
            k++;
        }
    for (size_t i = first; i < n; i++)
        if (model_selected(c, ord[i]))
            out_add(exp, ord[i], 0, 0);
}

/* The expected output for query c over ord (all records, key order). */
static void
model_run(const struct qcase *c, struct rec **ord, size_t n,
          struct out *exp)
{
    static struct model m;
    long reach[N_SRCS];

    exp->n = 0;
    model_bound(c, ord, n);
    if (c->is_tail) {
        model_tail(c, ord, n, exp);
        return;
    }
    memset(&m, 0, sizeof(m));
    m.c = c;
    for (size_t i = 0; i < N_SRCS; i++)
        reach[i] = -1;
    for (size_t k = 0; k < n && m.n_matches < c->limit; k++) {
        struct rec *r = ord[c->is_desc ? n - 1 - k : k];
        if (!model_selected(c, r))
            continue;
        if (c->before + c->after == 0) {
            m.n_matches++;
            out_add(exp, r, 0, 0);
            continue;
        }
        size_t p = model_container(&m, ord, n, r);
        long *rp = &reach[r->src];
        /* Sources sharing host and container id share a reach. */
        for (size_t s = 0; s < N_SRCS; s++)
            if (same_container(&(struct rec){ .src = (int)s }, r)) {
                rp = &reach[s];
                break;
            }
        if (*rp >= 0 && (c->is_desc ? (long)p >= *rp : (long)p <= *rp))
            continue;           /* printed with an earlier group */
        model_group(&m, p, rp, exp);
    }
}

#endif
