/* SPDX-License-Identifier: MIT */
/*
 * regex_syntax: the one reader of PCRE2 pattern text (as query_regex.c
 * compiles it: no extended mode, no UTF) for the two places that need to
 * know what every match holds: query_regex_words (whole words, for the
 * token index) and regex_must_parse (literal bytes, for the column
 * search). It reads the top level one atom at a time, with the
 * quantifiers after it, skipping groups and classes whole; each caller
 * decides what an atom means for it. Pure functions.
 */
#ifndef COLLECTOR_SEARCH_REGEX_SYNTAX_H
#define COLLECTOR_SEARCH_REGEX_SYNTAX_H

#include <stddef.h>

enum regex_atom_kind {
    REGEX_ATOM_BYTE,        /* a byte standing for itself (c) */
    REGEX_ATOM_ESCAPE,      /* '\' and c, an escape without argument */
    REGEX_ATOM_DOT,         /* '.' */
    REGEX_ATOM_ANCHOR,      /* '^' or '$' (c) */
    REGEX_ATOM_CLASS,       /* "[...]" */
    REGEX_ATOM_GROUP,       /* "(...)" */
    REGEX_ATOM_QUANT,       /* a quantifier with no atom before it: c is
                             * '*', '+', '?' or '{' (a counted brace) */
};

struct regex_atom {
    enum regex_atom_kind kind;
    size_t        off;          /* where it starts in the pattern */
    unsigned char c;
    int           is_lookaround;    /* GROUP: "(?=" "(?!" "(?<=" "(?<!" */
    int           has_ext;      /* GROUP: it or a group inside opens with
                                 * "(?" other than "(?:" */
    int           n_quant;      /* quantifiers after it */
    long          min;          /* their least minimum; -1 for a brace that
                                 * only some PCRE2 versions read as one */
};

/* ASCII letters and digits. */
int regex_is_alnum(unsigned char c);
/* The word rule's word bytes (query.h): ASCII letters, digits, '_' and
 * every byte >= 0x80. */
int regex_is_word(unsigned char c);

/*
 * Where a pattern's atoms start: past a leading option setting that
 * changes no literal byte or word boundary, "(?" then letters of
 * "imnsUJ" (a '-' before those it turns off) then ')' ("(?i)", "(?m)",
 * "(?-s)", "(?iU)"), else 0 (regex_atom_next then refuses the "(?": any
 * other setting, "(?x)" above all, or one later in the pattern). *is_icase
 * becomes 1 when it turns caseless matching on ("(?i)", not "(?-i)"),
 * else is left as it is.
 */
size_t regex_lead_options(const char *p, int *is_icase);

/*
 * Reads the atom at p[*i] (not the end of p) and the quantifiers after it
 * (each with its possessive or lazy mark) into *a, and moves *i past them.
 * Returns 0, or -1 to give up on the pattern: a top-level '|' or ')', a
 * class or group left open, "(*" or "(?" that sets options, comments,
 * calls or branches on a condition (anywhere in a group), and the escapes
 * that take an argument or change how the rest parses (\Q \E \c \x \o \p
 * \P \g \k \u, digits; inside a class or group \Q \E \c), or a '\' at
 * the end.
 */
int regex_atom_next(const char *p, size_t *i, struct regex_atom *a);

#endif
