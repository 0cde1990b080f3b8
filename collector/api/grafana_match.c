/* SPDX-License-Identifier: MIT */
/*
 * grafana_match: see grafana_match.h. A regex is compiled twice: alone
 * first, so that a pattern with unbalanced parentheses is refused rather
 * than escaping the anchoring group, then as \A(?:pattern)\z.
 */
#include "collector/api/grafana_match.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/search/query_regex.h"
#include "common/labelset.h"
#include "common/xmalloc.h"

static const char *const gm_keys[GRAFANA_K_N] = {
    "host", "container", "image", "stream", "label.KEY",
};

#define GM_LABEL_PREFIX "label."

int
grafana_fail(char **errstr, const char *fmt, ...)
{
    va_list ap;
    char msg[512];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    *errstr = xstrdup(msg);
    return -1;
}

int
grafana_key_parse(const char *s, enum grafana_key *out, char **label_key)
{
    size_t np = strlen(GM_LABEL_PREFIX);

    *label_key = NULL;
    for (int k = 0; k < GRAFANA_K_LABEL; k++) {
        if (strcmp(s, gm_keys[k]) == 0) {
            *out = (enum grafana_key)k;
            return 0;
        }
    }
    if (strncmp(s, GM_LABEL_PREFIX, np) != 0 || s[np] == '\0' ||
        !labelset_text_is_valid(s + np, strlen(s + np)))
        return -1;
    *out = GRAFANA_K_LABEL;
    *label_key = xstrdup(s + np);
    return 0;
}

const char *
grafana_key_name(enum grafana_key k)
{
    return k < GRAFANA_K_N ? gm_keys[k] : "?";
}

/* ---- parsing ---- */

static int
gm_add(struct grafana_match *m, const char *s, size_t n, const char *path,
       int allow_empty, char **errstr)
{
    if (n == 0 && !allow_empty)
        return grafana_fail(errstr, "%s: must not be empty", path);
    if (n > 256)
        return grafana_fail(errstr, "%s: longer than 256 bytes", path);
    if (memchr(s, '\0', n) != NULL)
        return grafana_fail(errstr, "%s: contains a NUL byte", path);
    if (m->n_values >= GRAFANA_MAX_VALUES)
        return grafana_fail(errstr, "%s: more than %d values", path,
                            GRAFANA_MAX_VALUES);
    m->values = xreallocarray(m->values, m->n_values + 1,
                              sizeof(*m->values));
    m->values[m->n_values++] = xstrndup(s, n);
    return 0;
}

/* A string: "{a,b}" is a set, anything else one value. */
static int
gm_add_string(struct grafana_match *m, json_t *v, const char *path,
              int allow_empty, char **errstr)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

    if (n < 2 || s[0] != '{' || s[n - 1] != '}')
        return gm_add(m, s, n, path, allow_empty, errstr);
    const char *p = s + 1, *end = s + n - 1;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        if (gm_add(m, p, (size_t)(stop - p), path, 0, errstr) < 0)
            return -1;
        p = stop + 1;
    }
    return 0;
}

static int
gm_add_values(struct grafana_match *m, json_t *v, const char *path,
              int allow_empty, char **errstr)
{
    char sub[160];

    if (json_is_string(v))
        return gm_add_string(m, v, path, allow_empty, errstr);
    if (!json_is_array(v))
        return grafana_fail(errstr, "%s: must be a string or an array of "
                            "strings", path);
    if (json_array_size(v) == 0)
        return grafana_fail(errstr, "%s: must not be empty", path);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (!json_is_string(e))
            return grafana_fail(errstr, "%s: must be a string", sub);
        if (gm_add(m, json_string_value(e), json_string_length(e), sub, 0,
                   errstr) < 0)
            return -1;
    }
    return 0;
}

static int
gm_compile(struct grafana_match *m, json_t *v, const char *path,
           char **errstr)
{
    char *err = NULL;

    if (!json_is_string(v))
        return grafana_fail(errstr, "%s: a regex must be a string", path);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > GRAFANA_MAX_REGEX)
        return grafana_fail(errstr, "%s: regex longer than %d bytes", path,
                            GRAFANA_MAX_REGEX);
    if (gm_add(m, s, n, path, 1, errstr) < 0)
        return -1;
    struct query_regex *re = query_regex_new(m->values[0], 0, &err);
    if (re == NULL) {
        grafana_fail(errstr, "%s: %s", path, err);
        free(err);
        return -1;
    }
    query_regex_free(re);
    char *anchored = xasprintf("\\A(?:%s)\\z", m->values[0]);
    m->re = query_regex_new(anchored, 0, &err);
    free(anchored);
    if (m->re == NULL) {
        grafana_fail(errstr, "%s: %s", path, err);
        free(err);
        return -1;
    }
    return 0;
}

int
grafana_match_parse(enum grafana_key k, const char *label_key,
                    const char *op, json_t *v, json_t *vs,
                    const char *path, int allow_empty,
                    struct grafana_match *m, char **errstr)
{
    int rc;

    memset(m, 0, sizeof(*m));
    m->key = k;
    if (k == GRAFANA_K_LABEL)
        m->label_key = xstrdup(label_key);
    if (strcmp(op, "=") == 0 || strcmp(op, "!=") == 0) {
        m->op = op[0] == '=' ? GRAFANA_OP_EQ : GRAFANA_OP_NE;
        rc = gm_add_values(m, v, path, allow_empty, errstr);
    } else if (strcmp(op, "=|") == 0 || strcmp(op, "!=|") == 0) {
        m->op = op[0] == '=' ? GRAFANA_OP_EQ : GRAFANA_OP_NE;
        rc = vs != NULL ? gm_add_values(m, vs, path, 0, errstr)
                        : gm_add_values(m, v, path, 0, errstr);
    } else if (strcmp(op, "=~") == 0 || strcmp(op, "!~") == 0) {
        m->op = op[0] == '=' ? GRAFANA_OP_RE : GRAFANA_OP_NRE;
        rc = gm_compile(m, v, path, errstr);
    } else {
        rc = grafana_fail(errstr, "%s: operator '%.16s' is not supported "
                          "(=, !=, =~, !~, =|, !=|)", path, op);
    }
    if (rc < 0)
        grafana_match_fini(m);
    return rc;
}

void
grafana_match_fini(struct grafana_match *m)
{
    for (size_t i = 0; i < m->n_values; i++)
        free(m->values[i]);
    free(m->values);
    free(m->label_key);
    query_regex_free(m->re);
    memset(m, 0, sizeof(*m));
}

/* ---- matching ---- */

int
grafana_match_value(const struct grafana_match *m, const char *value)
{
    int hit = 0;

    if (value == NULL)
        return 1;
    if (m->re != NULL) {
        hit = query_regex_match(m->re, value, strlen(value));
        return m->op == GRAFANA_OP_RE ? hit : !hit;
    }
    for (size_t i = 0; i < m->n_values && !hit; i++)
        hit = strcmp(m->values[i], value) == 0;
    return m->op == GRAFANA_OP_EQ ? hit : !hit;
}

const char *
grafana_subject_value(const struct grafana_subject *s,
                      const struct grafana_match *m)
{
    if (m->key < GRAFANA_K_LABEL)
        return s->names[m->key];
    if (!s->has_labels)
        return NULL;
    const char *v = labelset_get(s->labels, m->label_key);
    return v != NULL ? v : "";
}

int
grafana_match_subject(const struct grafana_match *m,
                      const struct grafana_subject *s)
{
    return grafana_match_value(m, grafana_subject_value(s, m));
}

void
grafana_subject_of_record(const struct logrec *r, struct grafana_subject *s)
{
    s->names[GRAFANA_K_HOST] = r->host != NULL ? r->host : "";
    s->names[GRAFANA_K_CONTAINER] = r->container != NULL ? r->container : "";
    s->names[GRAFANA_K_IMAGE] = r->image != NULL ? r->image : "";
    s->names[GRAFANA_K_STREAM] = logrec_stream_name(r->stream);
    s->labels = r->labels;
    s->has_labels = 1;
}

int
grafana_match_is_key(const struct grafana_match *m, enum grafana_key k,
                     const char *label_key)
{
    if (m->key != k)
        return 0;
    return k != GRAFANA_K_LABEL ||
           (label_key != NULL && strcmp(m->label_key, label_key) == 0);
}

int
grafana_match_record(const struct grafana_match *m, size_t n,
                     const struct logrec *r)
{
    struct grafana_subject s;

    if (n == 0)
        return 1;
    grafana_subject_of_record(r, &s);
    for (size_t i = 0; i < n; i++)
        if (!grafana_match_subject(&m[i], &s))
            return 0;
    return 1;
}

const char *
grafana_match_exact(const struct grafana_match *m, size_t n,
                    enum grafana_key k)
{
    if (k == GRAFANA_K_LABEL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (m[i].key == k && m[i].op == GRAFANA_OP_EQ &&
            m[i].n_values == 1)
            return m[i].values[0];
    return NULL;
}
