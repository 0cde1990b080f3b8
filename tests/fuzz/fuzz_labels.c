/* SPDX-License-Identifier: MIT */
/*
 * fuzz_labels: libFuzzer target for common/labelset.c's labelset_parse,
 * the shipper's Docker labels text (a source's Config.Labels in every
 * batch, PROTOCOL.md "Source metadata"). The input is the text. Checked
 * with assert against a model built from jansson's own reading of the
 * text: a text that is not a JSON object or null is refused with an
 * error; otherwise the set holds exactly the object's pairs whose key is
 * not empty and whose key and string value are at most 256 bytes of
 * printable UTF-8 (the model's own decoder), the first 64 in bytewise key
 * order, and every other pair is counted as dropped. The canonical JSON
 * text reads back to the same pairs and parses again to itself, and
 * labelset_get, labelset_dup and labelset_is_equal agree with the model.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/labelset.h"
#include "common/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_pair {
    const char *key, *val;
    size_t      klen, vlen;
};

/* The model's rule for a key or value: at most 256 bytes, each code point
 * (jansson gives valid UTF-8) at least U+0020 and neither DEL nor C1. */
static int
fuzz_text_ok(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;

    if (len > 256)
        return 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n;
        if (p[i] < 0x80) {
            cp = p[i];
            n = 1;
        } else if ((p[i] & 0xe0) == 0xc0) {
            assert(i + 1 < len);
            cp = ((uint32_t)(p[i] & 0x1f) << 6) | (p[i + 1] & 0x3f);
            n = 2;
        } else {
            n = (p[i] & 0xf0) == 0xe0 ? 3 : 4;  /* >= U+0800: printable */
            cp = 0x800;
        }
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += n;
    }
    return 1;
}

static int
fuzz_pair_cmp(const void *a, const void *b)
{
    const struct fuzz_pair *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);

    if (c != 0)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

/* The model's pairs of object root (sorted, at most 64); their count. */
static size_t
fuzz_model(json_t *root, struct fuzz_pair *out, size_t *n_dropped)
{
    size_t n = 0, total = 0;
    const char *k;
    size_t kl;
    json_t *v;
    struct fuzz_pair *all = xcalloc(json_object_size(root) + 1, sizeof(*all));

    json_object_keylen_foreach(root, k, kl, v) {
        total++;
        if (kl == 0 || memchr(k, '\0', kl) != NULL || !fuzz_text_ok(k, kl) ||
            !json_is_string(v))
            continue;
        const char *s = json_string_value(v);
        size_t sl = json_string_length(v);
        if (memchr(s, '\0', sl) != NULL || !fuzz_text_ok(s, sl))
            continue;
        all[n++] = (struct fuzz_pair){ k, s, kl, sl };
    }
    qsort(all, n, sizeof(*all), fuzz_pair_cmp);
    if (n > LABELSET_MAX_LABELS)
        n = LABELSET_MAX_LABELS;
    memcpy(out, all, n * sizeof(*all));
    free(all);
    *n_dropped = total - n;
    return n;
}

/* ls holds exactly pairs m[0..n). */
static void
fuzz_check_set(const struct labelset *ls, const struct fuzz_pair *m,
               size_t n)
{
    assert(ls != NULL && ls->n == n);
    for (size_t i = 0; i < n; i++) {
        assert(strlen(ls->keys[i]) == m[i].klen &&
               memcmp(ls->keys[i], m[i].key, m[i].klen) == 0);
        assert(strlen(ls->vals[i]) == m[i].vlen &&
               memcmp(ls->vals[i], m[i].val, m[i].vlen) == 0);
        const char *g = labelset_get(ls, m[i].key);
        assert(g != NULL && strcmp(g, m[i].val) == 0);
    }
    assert(ls->json != NULL && strlen(ls->json) == ls->json_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n_dropped = 12345, m_dropped = 0;
    char *err = NULL;
    json_error_t je;

    if (size > 64 * 1024)
        return 0;
    struct labelset *ls = labelset_parse((const char *)data, size,
                                         &n_dropped, &err);
    json_t *root = json_loadb((const char *)data, size,
                              JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (root == NULL || !(json_is_object(root) || json_is_null(root))) {
        assert(ls == NULL && err != NULL && strncmp(err, "labels: ", 8) == 0);
        free(err);
        json_decref(root);
        return 0;
    }
    assert(ls != NULL && err == NULL);
    struct fuzz_pair *m = xcalloc(LABELSET_MAX_LABELS, sizeof(*m));
    size_t n = json_is_object(root) ? fuzz_model(root, m, &m_dropped) : 0;
    fuzz_check_set(ls, m, n);
    assert(n_dropped == m_dropped);

    /* the canonical text: the same pairs, and a fixed point */
    json_t *canon = json_loadb(ls->json, ls->json_len, 0, &je);
    assert(canon != NULL && json_is_object(canon) &&
           json_object_size(canon) == n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_getn(canon, m[i].key, m[i].klen);
        assert(json_is_string(v) && json_string_length(v) == m[i].vlen &&
               memcmp(json_string_value(v), m[i].val, m[i].vlen) == 0);
    }
    json_decref(canon);
    size_t d2 = 1;
    struct labelset *again = labelset_parse(ls->json, ls->json_len, &d2,
                                            &err);
    assert(again != NULL && d2 == 0 && again->json_len == ls->json_len &&
           memcmp(again->json, ls->json, ls->json_len) == 0);
    assert(labelset_is_equal(ls, again));
    struct labelset *dup = labelset_dup(ls);
    fuzz_check_set(dup, m, n);
    assert(labelset_is_equal(dup, ls));
    assert(labelset_get(ls, "") == NULL);
    labelset_free(dup);
    labelset_free(again);
    labelset_free(ls);
    free(m);
    json_decref(root);
    return 0;
}
