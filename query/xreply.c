/* SPDX-License-Identifier: MIT */
/*
 * xreply: see xreply.h. Counts are JSON integers >= 0; anything else in a
 * reply is refused with the field's name.
 */
#include "query/xreply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/escape.h"
#include "common/xmalloc.h"

static json_t *
xreply_load(const char *s, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);

    if (root == NULL)
        snprintf(err, errlen, "bad JSON: %s", je.text);
    else if (!json_is_object(root)) {
        snprintf(err, errlen, "bad JSON: not an object");
        json_decref(root);
        root = NULL;
    }
    return root;
}

static int
xreply_uint(json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* The note for "ahead":{"records":N,"at_least":B,"grace_s":S,...}
 * (collector/API.md "Records stamped ahead") into note: 0, or -1 when
 * malformed. what: "shown" (a search) or "counted". */
static int
xreply_ahead_note(json_t *a, const char *what, char *note, size_t len)
{
    json_t *n = json_object_get(a, "records"), *g = json_object_get(a,
                                                                  "grace_s");

    if (!json_is_integer(n) || json_integer_value(n) < 0 ||
        !json_is_integer(g) || json_integer_value(g) < 0)
        return -1;
    long long grace = (long long)json_integer_value(g);
    long long recs = (long long)json_integer_value(n);
    snprintf(note, len, "%s%lld record%s stamped more than %lld%s ahead of "
             "the collector's clock %s not %s; use --until to see them",
             json_is_true(json_object_get(a, "at_least")) ? "at least " : "",
             recs, recs == 1 ? "" : "s",
             grace % 60 == 0 ? grace / 60 : grace, grace % 60 == 0 ? "m"
                                                                  : "s",
             recs == 1 ? "is" : "are", what);
    return 0;
}

/* A /count or /histogram object's optional "ahead" into note ("" when
 * absent). */
static int
xreply_ahead_member(json_t *root, char *note, size_t len, char *err,
                    size_t errlen)
{
    json_t *a = json_object_get(root, "ahead");

    note[0] = '\0';
    if (a == NULL || xreply_ahead_note(a, "counted", note, len) == 0)
        return 0;
    snprintf(err, errlen, "bad \"ahead\"");
    return -1;
}

static enum xreply_line
xreply_ahead(const char *line, size_t len, char *err, size_t errlen)
{
    json_t *root = xreply_load(line, len, err, errlen);

    if (root == NULL)
        return XREPLY_ERROR;
    if (xreply_ahead_note(json_object_get(root, "ahead"), "shown", err,
                          errlen) < 0) {
        snprintf(err, errlen, "bad ahead line from collector");
        json_decref(root);
        return XREPLY_ERROR;
    }
    json_decref(root);
    return XREPLY_AHEAD;
}

int
xreply_count_parse(const char *body, size_t len, struct xreply_count *out,
                   char *err, size_t errlen)
{
    struct xreply_count c;
    json_t *groups;

    memset(&c, 0, sizeof(c));
    c.root = xreply_load(body, len, err, errlen);
    if (c.root == NULL)
        return -1;
    groups = json_object_get(c.root, "groups");
    if (xreply_uint(json_object_get(c.root, "total"), &c.total) < 0 ||
        !json_is_array(groups)) {
        snprintf(err, errlen, "bad or missing \"total\" or \"groups\"");
        goto fail;
    }
    c.groups = xcalloc(json_array_size(groups) + 1, sizeof(*c.groups));
    for (size_t i = 0; i < json_array_size(groups); i++) {
        json_t *g = json_array_get(groups, i);
        json_t *k = json_object_get(g, "key");
        if (!json_is_string(k) ||
            xreply_uint(json_object_get(g, "count"), &c.groups[i].count) < 0) {
            snprintf(err, errlen, "bad group %zu", i);
            goto fail;
        }
        c.groups[i].key = json_string_value(k);
        c.n_groups++;
    }
    json_t *other = json_object_get(c.root, "other");
    if (other != NULL && xreply_uint(other, &c.other) < 0) {
        snprintf(err, errlen, "bad \"other\"");
        goto fail;
    }
    if (xreply_ahead_member(c.root, c.ahead, sizeof(c.ahead), err,
                            errlen) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    xreply_count_fini(&c);
    return -1;
}

void
xreply_count_fini(struct xreply_count *c)
{
    free(c->groups);
    if (c->root != NULL)
        json_decref(c->root);
    memset(c, 0, sizeof(*c));
}

int
xreply_hist_parse(const char *body, size_t len, struct xreply_hist *out,
                  char *err, size_t errlen)
{
    struct xreply_hist h;
    json_t *root = xreply_load(body, len, err, errlen);
    uint64_t step;

    memset(&h, 0, sizeof(h));
    if (root == NULL)
        return -1;
    json_t *b = json_object_get(root, "buckets");
    if (xreply_uint(json_object_get(root, "step_ms"), &step) < 0 ||
        step == 0 || !json_is_array(b)) {
        snprintf(err, errlen, "bad or missing \"step_ms\" or \"buckets\"");
        goto fail;
    }
    h.step_ms = (int64_t)step;
    h.t_ms = xcalloc(json_array_size(b) + 1, sizeof(*h.t_ms));
    h.counts = xcalloc(json_array_size(b) + 1, sizeof(*h.counts));
    for (size_t i = 0; i < json_array_size(b); i++) {
        json_t *e = json_array_get(b, i);
        json_t *t = json_array_get(e, 0);
        if (!json_is_array(e) || json_array_size(e) != 2 ||
            !json_is_integer(t) ||
            xreply_uint(json_array_get(e, 1), &h.counts[i]) < 0) {
            snprintf(err, errlen, "bad bucket %zu", i);
            goto fail;
        }
        h.t_ms[i] = (int64_t)json_integer_value(t);
        h.n++;
    }
    if (xreply_ahead_member(root, h.ahead, sizeof(h.ahead), err,
                            errlen) < 0)
        goto fail;
    json_decref(root);
    *out = h;
    return 0;
fail:
    json_decref(root);
    xreply_hist_fini(&h);
    return -1;
}

void
xreply_hist_fini(struct xreply_hist *h)
{
    free(h->t_ms);
    free(h->counts);
    memset(h, 0, sizeof(*h));
}

enum xreply_line
xreply_line_kind(const char *line, size_t len, char *err, size_t errlen)
{
    static const char brk[] = "{\"break\":true}";
    static const char errp[] = "{\"error\":";
    static const char ahead[] = "{\"ahead\":";

    if (len == sizeof(brk) - 1 && memcmp(line, brk, len) == 0)
        return XREPLY_BREAK;
    if (len >= sizeof(ahead) - 1 &&
        memcmp(line, ahead, sizeof(ahead) - 1) == 0)
        return xreply_ahead(line, len, err, errlen);
    if (len < sizeof(errp) - 1 || memcmp(line, errp, sizeof(errp) - 1) != 0)
        return XREPLY_RECORD;
    json_t *root = xreply_load(line, len, err, errlen);
    if (root == NULL)
        return XREPLY_ERROR;
    json_t *m = json_object_get(root, "error");
    if (json_is_string(m))      /* server text, for a terminal: escaped */
        escape_str(err, errlen, json_string_value(m), json_string_length(m),
                   0);
    else
        snprintf(err, errlen, "collector error");
    json_decref(root);
    return XREPLY_ERROR;
}

int
xreply_is_context(const struct reply_record *rr)
{
    return rr->root != NULL &&
           json_is_true(json_object_get(rr->root, "context"));
}

uint64_t
xreply_group(const struct reply_record *rr)
{
    json_t *g = rr->root != NULL ? json_object_get(rr->root, "group") : NULL;

    if (!json_is_integer(g) || json_integer_value(g) < 1)
        return 0;
    return (uint64_t)json_integer_value(g);
}

size_t
xreply_spans(const struct reply_record *rr, size_t *out, size_t max)
{
    json_t *a = rr->root != NULL ? json_object_get(rr->root, "spans")
                                 : NULL;
    size_t n = 0, at = 0;

    if (!json_is_array(a))
        return 0;
    for (size_t i = 0; i < json_array_size(a) && n < max; i++) {
        json_t *p = json_array_get(a, i);
        json_t *js = json_array_get(p, 0), *je = json_array_get(p, 1);
        if (!json_is_array(p) || json_array_size(p) != 2 ||
            !json_is_integer(js) || !json_is_integer(je))
            return 0;
        json_int_t s = json_integer_value(js), e = json_integer_value(je);
        if (s < (json_int_t)at || e <= s || (uint64_t)e > rr->rec.msg_len)
            return 0;       /* not ascending and apart, or past the end */
        out[2 * n] = (size_t)s;
        out[2 * n + 1] = (size_t)e;
        at = (size_t)e;
        n++;
    }
    return n;
}
