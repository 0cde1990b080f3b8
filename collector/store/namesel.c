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

#include "common/xmalloc.h"

struct namesel_pat {
    char *text;                 /* without the '!' */
    int   is_negated;
};

struct namesel {
    struct namesel_pat pats[NAMESEL_N_FIELDS][NAMESEL_MAX_PATTERNS];
    size_t             n_pats[NAMESEL_N_FIELDS];
};

static const char *const namesel_names[NAMESEL_N_FIELDS] = {
    "host", "container", "image",
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
    struct namesel_pat *p = &ns->pats[field][ns->n_pats[field]++];
    p->text = xstrdup(text);
    p->is_negated = is_negated;
    return 0;
}

static int
namesel_pat_match(enum namesel_field field, const char *pat,
                  const char *name)
{
    if (field == NAMESEL_CONTAINER)
        return fnmatch(pat, name, 0) == 0;
    return strcmp(pat, name) == 0;
}

/* The field's verdict: in one of the alternatives (if any), in no
 * exclusion. */
static int
namesel_field_match(const struct namesel *ns, enum namesel_field field,
                    const char *name)
{
    int has_alternatives = 0, is_in = 0;

    for (size_t i = 0; i < ns->n_pats[field]; i++) {
        const struct namesel_pat *p = &ns->pats[field][i];
        int m = namesel_pat_match(field, p->text, name);
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
              const char *container, const char *image)
{
    return namesel_field_match(ns, NAMESEL_HOST, host) &&
           namesel_field_match(ns, NAMESEL_CONTAINER, container) &&
           namesel_field_match(ns, NAMESEL_IMAGE, image);
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
            d->pats[f][i].text = xstrdup(ns->pats[f][i].text);
            d->pats[f][i].is_negated = ns->pats[f][i].is_negated;
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
