/* SPDX-License-Identifier: MIT */
/*
 * query_spans: where in a message a query matched (the items' words, the
 * field terms' values, the regexes' matches), sorted and merged, for the
 * highlighting of --color.
 */
#include "collector/search/query_internal.h"

#include <stdlib.h>
#include <string.h>

#include "collector/search/query_regex.h"
#include "common/fields.h"

/* Appends every occurrence of the item in msg that passes the word rule. */
static size_t
query_item_spans(const struct query *q, const struct query_item *it,
                 const char *msg, size_t len, size_t *out, size_t n,
                 size_t max)
{
    size_t pos = 0, m_len;

    while (pos < len && n < max) {
        const char *p = query_find(q, msg, len, pos, it, &m_len);
        if (p == NULL)
            break;
        size_t at = (size_t)(p - msg), end = at + m_len;
        int start_ok = !it->has_start_bound || at == 0 ||
                       !query_is_word((unsigned char)msg[at - 1]);
        int end_ok = !it->has_end_bound || end == len ||
                     !query_is_word((unsigned char)msg[end]);
        if (start_ok && end_ok) {
            out[2 * n] = at;
            out[2 * n + 1] = end;
            n++;
            pos = end;
        } else {
            pos = at + 1;
        }
    }
    return n;
}

/* The field terms' spans: each field a (not negated) field term matches
 * gives its value's text in the message (fields_field.raw). */
struct query_sstate {
    const struct query *q;
    const char         *msg;
    size_t             *out;
    size_t              n;
    size_t              max;
};

static int
query_field_spans_cb(const struct fields_field *f, void *arg)
{
    struct query_sstate *st = arg;
    const struct query *q = st->q;

    for (size_t i = 0; i < q->n_items && f->raw_len > 0; i++) {
        const struct query_item *it = &q->items[i];
        if (it->kind != QUERY_FIELD || it->is_negated ||
            !query_field_test(q, it, f))
            continue;
        st->out[2 * st->n] = (size_t)(f->raw - st->msg);
        st->out[2 * st->n + 1] = st->out[2 * st->n] + f->raw_len;
        st->n++;
        break;
    }
    return st->n >= st->max;
}

static int
query_span_cmp(const void *a, const void *b)
{
    const size_t *x = a, *y = b;

    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

size_t
query_spans(const struct query *q, const char *msg, size_t len, size_t *out,
            size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < q->n_items && n < max; i++)
        if (!q->items[i].is_negated && q->items[i].kind != QUERY_FIELD)
            n = query_item_spans(q, &q->items[i], msg, len, out, n, max);
    if (q->field_items != 0 && n < max) {
        struct query_sstate st = { q, msg, out, n, max };
        fields_foreach(msg, len, query_field_spans_cb, &st);
        n = st.n;
    }
    if (q->re != NULL && n < max)
        n += query_regex_spans(q->re, msg, len, out + 2 * n, max - n);
    if (n == 0)
        return 0;
    qsort(out, n, 2 * sizeof(*out), query_span_cmp);
    size_t k = 0;           /* merge overlapping and touching spans */
    for (size_t i = 1; i < n; i++) {
        if (out[2 * i] <= out[2 * k + 1]) {
            if (out[2 * i + 1] > out[2 * k + 1])
                out[2 * k + 1] = out[2 * i + 1];
            continue;
        }
        k++;
        out[2 * k] = out[2 * i];
        out[2 * k + 1] = out[2 * i + 1];
    }
    return k + 1;
}
