/* SPDX-License-Identifier: MIT */
/*
 * labelset: see labelset.h. A set is built once (sort, drop what breaks
 * the rules, write the canonical JSON) and only read afterwards; lookups
 * are a binary search over at most LABELSET_MAX_LABELS keys.
 */
#include "common/labelset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/record.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

/* The canonical JSON text of 64 pairs of 256 bytes, escaped (6 bytes a
 * byte at worst), fits easily. */
#define LABELSET_JSON_MAX ((size_t)LABELSET_MAX_LABELS * \
                           (2 * 6 * LABELSET_MAX_TEXT + 8) + 8)

int
labelset_text_is_valid(const char *p, size_t len)
{
    return len <= LABELSET_MAX_TEXT &&
           utf8_is_printable((const uint8_t *)p, len);
}

struct labelset_pair {
    const char *key, *val;
    size_t      pos;            /* input order: the last of a key wins */
};

static int
labelset_pair_cmp(const void *a, const void *b)
{
    const struct labelset_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    if (c != 0)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void
labelset_json(struct labelset *ls)
{
    struct buf b;

    buf_init(&b, LABELSET_JSON_MAX);
    int rc = buf_append(&b, "{", 1);
    for (size_t i = 0; rc == 0 && i < ls->n; i++) {
        if (i > 0)
            rc = buf_append(&b, ",", 1);
        if (rc == 0)
            rc = json_str_append(&b, ls->keys[i], strlen(ls->keys[i]));
        if (rc == 0)
            rc = buf_append(&b, ":", 1);
        if (rc == 0)
            rc = json_str_append(&b, ls->vals[i], strlen(ls->vals[i]));
    }
    if (rc == 0)
        rc = buf_append(&b, "}", 1);
    /* bounded by the rules above: cannot fail */
    if (rc < 0)
        abort();
    ls->json = xstrndup((const char *)b.data, b.len);
    ls->json_len = b.len;
    buf_fini(&b);
}

struct labelset *
labelset_new(const char *const *keys, const char *const *vals, size_t n,
             size_t *n_dropped)
{
    struct labelset_pair *p = xcalloc(n ? n : 1, sizeof(*p));
    size_t m = 0, dropped = 0;

    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(keys[i]);
        if (kl == 0 || !labelset_text_is_valid(keys[i], kl) ||
            !labelset_text_is_valid(vals[i], strlen(vals[i]))) {
            dropped++;
            continue;
        }
        p[m++] = (struct labelset_pair){ keys[i], vals[i], i };
    }
    qsort(p, m, sizeof(*p), labelset_pair_cmp);
    struct labelset *ls = xcalloc(1, sizeof(*ls));
    ls->keys = xcalloc(m ? m : 1, sizeof(char *));
    ls->vals = xcalloc(m ? m : 1, sizeof(char *));
    for (size_t i = 0; i < m; i++) {
        if (i + 1 < m && strcmp(p[i].key, p[i + 1].key) == 0) {
            dropped++;          /* a later value of the same key */
            continue;
        }
        if (ls->n == LABELSET_MAX_LABELS) {
            dropped++;
            continue;
        }
        ls->keys[ls->n] = xstrdup(p[i].key);
        ls->vals[ls->n] = xstrdup(p[i].val);
        ls->n++;
    }
    free(p);
    labelset_json(ls);
    if (n_dropped != NULL)
        *n_dropped = dropped;
    return ls;
}

struct labelset *
labelset_parse(const char *text, size_t len, size_t *n_dropped,
               char **errstr)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                              &je);

    if (root == NULL) {
        *errstr = xasprintf("labels: %s", je.text);
        return NULL;
    }
    if (!json_is_object(root) && !json_is_null(root)) {
        json_decref(root);
        *errstr = xstrdup("labels: not a JSON object");
        return NULL;
    }
    size_t n = json_is_object(root) ? json_object_size(root) : 0, m = 0;
    size_t bad = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof(char *));
    const char **vals = xcalloc(n ? n : 1, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        /* a NUL inside a value would be cut by the C string: refused */
        if (!json_is_string(v) ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            bad++;
            continue;
        }
        keys[m] = k;
        vals[m++] = json_string_value(v);
    }
    size_t dropped = 0;
    struct labelset *ls = labelset_new(keys, vals, m, &dropped);
    free(keys);
    free(vals);
    json_decref(root);
    if (n_dropped != NULL)
        *n_dropped = dropped + bad;
    return ls;
}

const char *
labelset_get(const struct labelset *ls, const char *key)
{
    size_t lo = 0, hi = ls != NULL ? ls->n : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, ls->keys[mid]);
        if (c == 0)
            return ls->vals[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int
labelset_is_equal(const struct labelset *a, const struct labelset *b)
{
    size_t na = a != NULL ? a->n : 0, nb = b != NULL ? b->n : 0;

    if (na != nb)
        return 0;
    return na == 0 || (a->json_len == b->json_len &&
                       memcmp(a->json, b->json, a->json_len) == 0);
}

struct labelset *
labelset_dup(const struct labelset *ls)
{
    if (ls == NULL)
        return NULL;
    return labelset_new((const char *const *)ls->keys,
                        (const char *const *)ls->vals, ls->n, NULL);
}

void
labelset_free(struct labelset *ls)
{
    if (ls == NULL)
        return;
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->keys[i]);
        free(ls->vals[i]);
    }
    free(ls->keys);
    free(ls->vals);
    free(ls->json);
    free(ls);
}
