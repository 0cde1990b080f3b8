/* SPDX-License-Identifier: MIT */
/*
 * regex_anchors: see regex_anchors.h. One scanner walks the pattern the way
 * PCRE2's parser splits it into items (escapes, \Q..\E, classes, comments,
 * verbs) and either measures or writes the result, so the output is
 * allocated once at its exact size. It relies on the pattern compiling:
 * brackets are balanced and escapes complete, and an unterminated item
 * simply runs to the end of the text.
 */
#include "collector/search/regex_anchors.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define RA_WORD "[A-Za-z0-9_\\x80-\\xff]"

static const char ra_start[] = "(?:(?<!" RA_WORD ")(?=" RA_WORD "))";
static const char ra_end[] = "(?:(?<=" RA_WORD ")(?!" RA_WORD "))";

struct ra_scan {
    const char *p;
    size_t      i;          /* next byte of p to read */
    char       *out;        /* NULL: only measure */
    size_t      len;        /* bytes written (or measured) */
    size_t      n_anchors;
    int         has_x;      /* an option setting with x */
};

static void
ra_emit(struct ra_scan *s, const char *t, size_t n)
{
    if (s->out != NULL)
        memcpy(s->out + s->len, t, n);
    s->len += n;
}

/* Copies the pattern up to (not including) index end. */
static void
ra_copy_to(struct ra_scan *s, size_t end)
{
    ra_emit(s, s->p + s->i, end - s->i);
    s->i = end;
}

/* Index past the "\E" that ends a quote whose text starts at j, or the
 * end of the pattern. */
static size_t
ra_quote_end(const char *p, size_t j)
{
    const char *e = strstr(p + j, "\\E");

    return e != NULL ? (size_t)(e - p) + 2 : j + strlen(p + j);
}

/* Length of the escape at p[j] ('\\'): "\cX" takes one more byte. */
static size_t
ra_escape_len(const char *p, size_t j)
{
    if (p[j + 1] == '\0')
        return 1;
    if (p[j + 1] == 'c' && p[j + 2] != '\0')
        return 3;
    return 2;
}

/* Index past a POSIX class name "[:alpha:]" at p[j], or 0 if none. */
static size_t
ra_posix_end(const char *p, size_t j)
{
    if (p[j + 1] != ':')
        return 0;
    const char *e = strstr(p + j + 2, ":]");
    if (e == NULL)
        return 0;
    for (const char *c = p + j + 2; c < e; c++)
        if (strchr("^abcdefghijklmnopqrstuvwxyz<>", *c) == NULL)
            return 0;
    return (size_t)(e - p) + 2;
}

/* Index past the class that opens at p[j] ('['). */
static size_t
ra_class_end(const char *p, size_t j)
{
    j++;
    if (p[j] == '^')
        j++;
    if (p[j] == ']')
        j++;                /* a first ']' is a member */
    for (;;) {
        size_t e;
        switch (p[j]) {
        case '\0':
            return j;
        case ']':
            return j + 1;
        case '\\':
            j = p[j + 1] == 'Q' ? ra_quote_end(p, j + 2)
                                : j + ra_escape_len(p, j);
            break;
        case '[':
            e = ra_posix_end(p, j);
            j = e != 0 ? e : j + 1;
            break;
        default:
            j++;
        }
    }
}

/* Index past the first ')' at or after j, or the end of the pattern. */
static size_t
ra_paren_end(const char *p, size_t j)
{
    const char *e = strchr(p + j, ')');

    return e != NULL ? (size_t)(e - p) + 1 : j + strlen(p + j);
}

/* "(?" at p[j]: an option setting "(?imsx-x)" or "(?x:" with x? */
static int
ra_sets_x(const char *p, size_t j)
{
    size_t k = j + 2;
    int has_x = 0;

    while ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= 'A' && p[k] <= 'Z') ||
           p[k] == '-' || p[k] == '^')
        has_x |= p[k++] == 'x';
    return has_x && (p[k] == ')' || p[k] == ':');
}

/* Reads one item at s->i and writes it (an anchor rewritten). */
static void
ra_item(struct ra_scan *s)
{
    const char *p = s->p;
    size_t i = s->i;

    if (p[i] == '\\' && (p[i + 1] == '<' || p[i + 1] == '>')) {
        if (p[i + 1] == '<')
            ra_emit(s, ra_start, sizeof(ra_start) - 1);
        else
            ra_emit(s, ra_end, sizeof(ra_end) - 1);
        s->i += 2;
        s->n_anchors++;
    } else if (p[i] == '\\') {
        ra_copy_to(s, p[i + 1] == 'Q' ? ra_quote_end(p, i + 2)
                                      : i + ra_escape_len(p, i));
    } else if (p[i] == '[') {
        ra_copy_to(s, ra_class_end(p, i));
    } else if (p[i] == '(' && p[i + 1] == '?' && p[i + 2] == '#') {
        ra_copy_to(s, ra_paren_end(p, i));      /* a comment */
    } else if (p[i] == '(' && p[i + 1] == '*' &&
               ((p[i + 2] >= 'A' && p[i + 2] <= 'Z') || p[i + 2] == ':')) {
        ra_copy_to(s, ra_paren_end(p, i));      /* a verb and its name */
    } else {
        if (p[i] == '(' && p[i + 1] == '?' && ra_sets_x(p, i))
            s->has_x = 1;
        ra_copy_to(s, i + 1);
    }
}

static void
ra_run(struct ra_scan *s)
{
    while (s->p[s->i] != '\0')
        ra_item(s);
}

int
regex_anchors_rewrite(const char *pattern, char **out, char **errstr)
{
    struct ra_scan s = { .p = pattern };

    ra_run(&s);
    if (s.n_anchors == 0) {
        *out = NULL;
        return 0;
    }
    if (s.has_x) {
        *errstr = xstrdup("\\< and \\> cannot be used with the x "
                          "(extended) option");
        return -1;
    }
    size_t len = s.len;
    memset(&s, 0, sizeof(s));
    s.p = pattern;
    s.out = xmalloc(len + 1);
    ra_run(&s);
    s.out[s.len] = '\0';
    *out = s.out;
    return 0;
}
