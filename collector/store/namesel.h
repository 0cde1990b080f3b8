/* SPDX-License-Identifier: MIT */
/*
 * namesel: a record's selection by names, the repeated host, container and
 * image parameters of a search (logq --host/--container/--image). Per
 * field, the patterns without '!' are alternatives (any may match; none
 * given: any name) and those with a leading '!' exclude (a name one of
 * them matches is out); the fields are ANDed. Host and image patterns are
 * exact names, container patterns fnmatch(3) globs, negated or not. Docker
 * labels (logq --label/--service/--project): a label pattern is KEY=GLOB
 * (the label KEY with a value GLOB matches) or KEY (the label is there);
 * service and project patterns are globs on the Compose labels
 * com.docker.compose.service / .project (a container without it matches
 * no alternative and no exclusion). Pure
 * and immutable once built, so a cursor on another thread may share a
 * copy; no I/O.
 */
#ifndef COLLECTOR_STORE_NAMESEL_H
#define COLLECTOR_STORE_NAMESEL_H

#include <stddef.h>

#define NAMESEL_MAX_PATTERNS 16     /* per field */

enum namesel_field {
    NAMESEL_HOST,
    NAMESEL_CONTAINER,
    NAMESEL_IMAGE,
    NAMESEL_LABEL,
    NAMESEL_SERVICE,
    NAMESEL_PROJECT,
    NAMESEL_N_FIELDS,
};

#define NAMESEL_SERVICE_KEY "com.docker.compose.service"
#define NAMESEL_PROJECT_KEY "com.docker.compose.project"

struct labelset;
struct namesel;

/* An empty selection (matches everything). */
struct namesel *namesel_new(void);
/* Adds pattern ("!" first: an exclusion) to field. 0, or -1 with *errstr
 * (caller frees): empty pattern (also a lone "!"), a label pattern with an
 * empty key, or more than NAMESEL_MAX_PATTERNS for the field. The string
 * is copied. */
int  namesel_add(struct namesel *ns, enum namesel_field field,
                 const char *pattern, char **errstr);
/* 1 if the names and Docker labels (NULL: none) pass every field's
 * patterns, else 0. */
int  namesel_match(const struct namesel *ns, const char *host,
                   const char *container, const char *image,
                   const struct labelset *labels);
/* 1 if some pattern of the label, service or project fields is given (a
 * search must then look at labels). */
int  namesel_has_labels(const struct namesel *ns);
/* A deep copy (NULL for NULL). */
struct namesel *namesel_dup(const struct namesel *ns);
void namesel_free(struct namesel *ns);

#endif
