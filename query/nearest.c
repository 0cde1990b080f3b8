/* SPDX-License-Identifier: MIT */
/*
 * nearest: see nearest.h. O(n * len^2) with two rows of at most
 * NEAREST_MAX_LEN + 1 cells; the lists it runs on (/hosts, /containers)
 * are small.
 */
#include "query/nearest.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct nearest_cand {
    const char *name;
    int         rank;           /* 0 prefix, 1 contains, 2 + distance */
};

static size_t
nearest_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[2][NEAREST_MAX_LEN + 1];

    for (size_t j = 0; j <= lb; j++)
        row[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *prev = row[(i - 1) & 1], *cur = row[i & 1];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins)
                               : (del < ins ? del : ins);
        }
    }
    return row[la & 1][lb];
}

/* -1 if not near, else the rank. */
static int
nearest_rank(const char *want, size_t wlen, const char *name)
{
    size_t nlen = strlen(name);

    if (nlen > NEAREST_MAX_LEN || wlen == 0)
        return -1;
    const char *at = strstr(name, want);
    if (at != NULL)
        return at == name ? 0 : 1;
    size_t d = nearest_distance(want, wlen, name, nlen);
    return d <= 1 + wlen / 4 ? 2 + (int)d : -1;
}

static int
nearest_cmp(const void *a, const void *b)
{
    const struct nearest_cand *x = a, *y = b;

    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return strcmp(x->name, y->name);
}

size_t
nearest_names(const char *want, const char *const *names, size_t n,
              const char **out, size_t max)
{
    char w[NEAREST_MAX_LEN + 1];
    size_t wlen = 0;

    for (const char *p = want; *p; p++) {
        if (strchr("*?[]", *p) != NULL)
            continue;
        if (wlen == NEAREST_MAX_LEN)
            return 0;
        w[wlen++] = *p;
    }
    w[wlen] = '\0';
    struct nearest_cand *c = xcalloc(n ? n : 1, sizeof(*c));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int r = nearest_rank(w, wlen, names[i]);
        if (r >= 0)
            c[k++] = (struct nearest_cand){ names[i], r };
    }
    qsort(c, k, sizeof(*c), nearest_cmp);
    size_t m = 0;
    for (size_t i = 0; i < k && m < max; i++)
        if (m == 0 || strcmp(out[m - 1], c[i].name) != 0)
            out[m++] = c[i].name;
    free(c);
    return m;
}
