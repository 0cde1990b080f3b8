/* SPDX-License-Identifier: MIT */
/*
 * labelset: a container's Docker labels (Config.Labels) as the collector
 * keeps them: sorted by key (bytewise), keys unique, each key and value
 * printable UTF-8 (no C0, DEL or C1) of at most LABELSET_MAX_TEXT bytes,
 * the key not empty, at most LABELSET_MAX_LABELS of them, plus their
 * canonical JSON object text (`{"k":"v",...}` in key order) for output and
 * comparison. Immutable once built, so threads may share one. Parsing the
 * shipper's JSON text uses jansson (not a hot path: once per source and
 * batch, and only when the text changed, collector/ingest).
 */
#ifndef COMMON_LABELSET_H
#define COMMON_LABELSET_H

#include <stddef.h>

#define LABELSET_MAX_LABELS 64
#define LABELSET_MAX_TEXT   256

struct labelset {
    size_t  n;
    char  **keys;               /* sorted, unique */
    char  **vals;
    char   *json;               /* canonical JSON object, NUL-terminated */
    size_t  json_len;
};

/* 1 if p[0..len) is at most LABELSET_MAX_TEXT bytes of printable UTF-8. */
int labelset_text_is_valid(const char *p, size_t len);
/*
 * Builds a set from n key/value pairs (copied; any order). Pairs whose key
 * is empty or whose key or value breaks the text rule are left out, a
 * repeated key keeps its last value, and past LABELSET_MAX_LABELS keys
 * only the first ones in key order are kept; *n_dropped (if not NULL) is
 * how many pairs were left out. Caller frees with labelset_free().
 */
struct labelset *labelset_new(const char *const *keys,
                              const char *const *vals, size_t n,
                              size_t *n_dropped);
/*
 * Parses text[0..len), a JSON object whose values are strings (Docker's
 * Config.Labels), into a set as labelset_new() does (non-string values
 * count as dropped pairs). "null" or "{}" give an empty set. NULL, with
 * *errstr (caller frees), if the text is not a JSON object.
 */
struct labelset *labelset_parse(const char *text, size_t len,
                                size_t *n_dropped, char **errstr);
/* The value of key, NULL if the set (which may be NULL) has none. */
const char *labelset_get(const struct labelset *ls, const char *key);
/* 1 if a and b (either may be NULL: no labels) hold the same pairs. */
int labelset_is_equal(const struct labelset *a, const struct labelset *b);
struct labelset *labelset_dup(const struct labelset *ls);
void labelset_free(struct labelset *ls);

#endif
