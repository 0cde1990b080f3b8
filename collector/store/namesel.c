/* SPDX-License-Identifier: MIT */
/*
 * namesel: see namesel.h. Each field keeps its patterns as given, the '!'
 * stripped and noted; a match is a short loop per field (at most
 * NAMESEL_MAX_PATTERNS strcmp or fnmatch calls). Cursors cache the answer
 * per label, so this runs once per container, not per record.
 */
#include "collector/store/namesel.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "common/labelset.h"
#include "common/xmalloc.h"

struct namesel_pat {
    char *text;                 /* without the '!' */
    char *value;                /* label: the glob after '=' (in text),
                                   NULL for KEY alone */
    int   is_negated;
};

struct namesel {
    struct namesel_pat pats[NAMESEL_N_FIELDS][NAMESEL_MAX_PATTERNS];
    size_t             n_pats[NAMESEL_N_FIELDS];
};

static const char *const namesel_names[NAMESEL_N_FIELDS] = {
    "host", "container", "image", "label", "service", "project",
};

struct namesel *
namesel_new(void)
{
    return xcalloc(1, sizeof(struct namesel));
}

int
namesel_add(struct namesel *ns, enum namesel_field field,
            const char *pattern, char **errstr)
{
    int is_negated = pattern[0] == '!';
    const char *text = pattern + is_negated;

    if (text[0] == '\0') {
        *errstr = xasprintf("empty %s", namesel_names[field]);
        return -1;
    }
    if (ns->n_pats[field] == NAMESEL_MAX_PATTERNS) {
        *errstr = xasprintf("too many %s parameters (at most %d)",
                            namesel_names[field], NAMESEL_MAX_PATTERNS);
        return -1;
    }
    if (field == NAMESEL_LABEL && text[0] == '=') {
        *errstr = xasprintf("label '%s': empty key (KEY=VALUE)", text);
        return -1;
    }
    struct namesel_pat *p = &ns->pats[field][ns->n_pats[field]++];
    p->text = xstrdup(text);
    p->is_negated = is_negated;
    char *eq = field == NAMESEL_LABEL ? strchr(p->text, '=') : NULL;
    if (eq != NULL) {
        *eq = '\0';
        p->value = eq + 1;
    }
    return 0;
}

static int
namesel_pat_match(enum namesel_field field, const struct namesel_pat *p,
                  const char *name, const struct labelset *labels)
{
    const char *v;

    switch (field) {
    case NAMESEL_CONTAINER:
        return fnmatch(p->text, name, 0) == 0;
    case NAMESEL_LABEL:
        v = labelset_get(labels, p->text);
        return v != NULL && (p->value == NULL ||
                             fnmatch(p->value, v, 0) == 0);
    case NAMESEL_SERVICE:
    case NAMESEL_PROJECT:
        v = labelset_get(labels, field == NAMESEL_SERVICE ?
                         NAMESEL_SERVICE_KEY : NAMESEL_PROJECT_KEY);
        return v != NULL && fnmatch(p->text, v, 0) == 0;
    default:
        return strcmp(p->text, name) == 0;
    }
}

/* The field's verdict: in one of the alternatives (if any), in no
 * exclusion. */
static int
namesel_field_match(const struct namesel *ns, enum namesel_field field,
                    const char *name, const struct labelset *labels)
{
    int has_alternatives = 0, is_in = 0;

    for (size_t i = 0; i < ns->n_pats[field]; i++) {
        const struct namesel_pat *p = &ns->pats[field][i];
        int m = namesel_pat_match(field, p, name, labels);
        if (p->is_negated && m)
            return 0;
        if (!p->is_negated) {
            has_alternatives = 1;
            is_in |= m;
        }
    }
    return !has_alternatives || is_in;
}

int
namesel_match(const struct namesel *ns, const char *host,
              const char *container, const char *image,
              const struct labelset *labels)
{
    return namesel_field_match(ns, NAMESEL_HOST, host, labels) &&
           namesel_field_match(ns, NAMESEL_CONTAINER, container, labels) &&
           namesel_field_match(ns, NAMESEL_IMAGE, image, labels) &&
           namesel_field_match(ns, NAMESEL_LABEL, NULL, labels) &&
           namesel_field_match(ns, NAMESEL_SERVICE, NULL, labels) &&
           namesel_field_match(ns, NAMESEL_PROJECT, NULL, labels);
}

int
namesel_has_labels(const struct namesel *ns)
{
    return ns != NULL && (ns->n_pats[NAMESEL_LABEL] > 0 ||
                          ns->n_pats[NAMESEL_SERVICE] > 0 ||
                          ns->n_pats[NAMESEL_PROJECT] > 0);
}

struct namesel *
namesel_dup(const struct namesel *ns)
{
    if (ns == NULL)
        return NULL;
    struct namesel *d = namesel_new();
    for (int f = 0; f < NAMESEL_N_FIELDS; f++) {
        d->n_pats[f] = ns->n_pats[f];
        for (size_t i = 0; i < ns->n_pats[f]; i++) {
            const struct namesel_pat *p = &ns->pats[f][i];
            size_t n = strlen(p->text) + 1;
            /* text and the value after its NUL are one allocation */
            d->pats[f][i].text = xmemdup(p->text, n + (p->value != NULL ?
                                         strlen(p->value) + 1 : 0));
            d->pats[f][i].value = p->value != NULL ?
                                  d->pats[f][i].text + n : NULL;
            d->pats[f][i].is_negated = p->is_negated;
        }
    }
    return d;
}

void
namesel_free(struct namesel *ns)
{
    if (ns == NULL)
        return;
    for (int f = 0; f < NAMESEL_N_FIELDS; f++)
        for (size_t i = 0; i < ns->n_pats[f]; i++)
            free(ns->pats[f][i].text);
    free(ns);
}
