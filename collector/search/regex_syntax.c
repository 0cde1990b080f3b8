/* SPDX-License-Identifier: MIT */
/*
 * regex_syntax: PCRE2 pattern text read atom by atom (regex_syntax.h).
 * PCRE2 exposes no parse tree, so this walks the text as PCRE2 reads it,
 * as far as the two callers need: an atom is a byte, an escape, '.', an
 * anchor, a class or a group, each skipped whole, then its quantifiers.
 * It gives up on whatever could change how the rest of the text parses
 * (option settings, \Q, verbs, escapes that take arguments), so neither
 * caller ever reads a byte with the wrong meaning; what each atom means
 * for a word or a literal is the callers' (query_regex.c, regex_must.c).
 */
#include "collector/search/regex_syntax.h"

#include <string.h>

int
regex_is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

int
regex_is_word(unsigned char c)
{
    return regex_is_alnum(c) || c == '_' || c >= 0x80;
}

static int
rs_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
rs_is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The '[' at p[i] opens a POSIX class name "[:alpha:]" (PCRE2 reads one
 * only when ":]" comes before any ']', and refuses bad names, so a
 * compiled pattern's "[:" ":]" pairs enclose letters only): returns the
 * index past it, or 0 when the '[' is a plain member. */
static size_t
rs_posix_class_end(const char *p, size_t i)
{
    if (p[i + 1] != ':')
        return 0;
    size_t k = i + 2;
    if (p[k] == '^')
        k++;
    while (rs_is_letter((unsigned char)p[k]))
        k++;
    return p[k] == ':' && p[k + 1] == ']' ? k + 2 : 0;
}

/* p[i] is '['; returns the index past the class's ']', or -1. */
static long
rs_skip_class(const char *p, size_t i)
{
    i++;
    if (p[i] == '^')
        i++;
    if (p[i] == ']')
        i++;
    for (;;) {
        size_t end;
        switch (p[i]) {
        case '\0':
            return -1;
        case ']':
            return (long)i + 1;
        case '\\':
            if (p[i + 1] == '\0' || strchr("QEc", p[i + 1]) != NULL)
                return -1;
            i += 2;
            break;
        case '[':
            end = rs_posix_class_end(p, i);
            i = end ? end : i + 1;
            break;
        default:
            i++;
        }
    }
}

/* Group openers after "(?" that neither set options nor call or branch on
 * anything: non-capturing, lookaround, atomic, branch reset, named. */
static int
rs_is_plain_group(const char *s)
{
    if (s[0] != '\0' && strchr(":=!>|'", s[0]) != NULL)
        return 1;
    if (s[0] == '<')
        return s[1] == '=' || s[1] == '!' || s[1] == '_' ||
               (regex_is_alnum((unsigned char)s[1]) &&
                !rs_is_digit((unsigned char)s[1]));
    return s[0] == 'P' && s[1] == '<';
}

/* "(?=", "(?!", "(?<=", "(?<!" (s is past the '('): a look-around. */
static int
rs_is_lookaround(const char *s)
{
    return s[0] == '?' && (s[1] == '=' || s[1] == '!' ||
                           (s[1] == '<' && (s[2] == '=' || s[2] == '!')));
}

/* p[i] is '('; returns the index past the matching ')', or -1 when it or
 * a nested group uses a verb "(*", an option, a comment, a callout,
 * recursion or a condition, or an escape that hides a parenthesis. Sets
 * *has_ext when a group in it opens with "(?" other than "(?:". */
static long
rs_skip_group(const char *p, size_t i, int *has_ext)
{
    int depth = 0;

    for (;;) {
        long end;
        switch (p[i]) {
        case '\0':
            return -1;
        case '\\':
            if (p[i + 1] == '\0' || strchr("QEc", p[i + 1]) != NULL)
                return -1;
            i += 2;
            break;
        case '[':
            end = rs_skip_class(p, i);
            if (end < 0)
                return -1;
            i = (size_t)end;
            break;
        case '(':
            if (p[i + 1] == '*' ||
                (p[i + 1] == '?' && !rs_is_plain_group(p + i + 2)))
                return -1;
            *has_ext |= p[i + 1] == '?' && p[i + 2] != ':';
            depth++;
            i++;
            break;
        case ')':
            i++;
            if (--depth == 0)
                return (long)i;
            break;
        default:
            i++;
        }
    }
}

/* Length of a brace "{...}" at p[i] holding only digits, spaces and
 * commas, with at least one digit (a quantifier in some PCRE2 version:
 * 10.43 reads "{,3}" and "{ 1, 3 }"), else 0. *strict_min gets n for the
 * "{n}" "{n,}" "{n,m}" forms every version reads as a quantifier, else
 * -1. */
static size_t
rs_brace_len(const char *p, size_t i, long *strict_min)
{
    size_t k = i + 1, n_digits = 0;

    while (p[k] == ' ' || p[k] == ',' || rs_is_digit((unsigned char)p[k])) {
        n_digits += rs_is_digit((unsigned char)p[k]) != 0;
        k++;
    }
    *strict_min = -1;
    if (p[k] != '}' || n_digits == 0)
        return 0;
    size_t d = i + 1;
    long min = 0;
    while (rs_is_digit((unsigned char)p[d])) {
        if (min < 100000)
            min = min * 10 + (p[d] - '0');
        d++;
    }
    if (d > i + 1 && p[d] == '}')
        *strict_min = min;
    else if (d > i + 1 && p[d] == ',') {
        size_t e = d + 1;
        while (rs_is_digit((unsigned char)p[e]))
            e++;
        if (p[e] == '}')
            *strict_min = min;
    }
    return k + 1 - i;
}

/* Reads the quantifiers at p[*i] into a: their count and least minimum.
 * A brace that only some versions read as a quantifier counts as one with
 * minimum -1. */
static void
rs_quantifiers(const char *p, size_t *i, struct regex_atom *a)
{
    for (;;) {
        long min;
        if (p[*i] == '*' || p[*i] == '?') {
            min = 0;
            (*i)++;
        } else if (p[*i] == '+') {
            min = 1;
            (*i)++;
        } else if (p[*i] == '{') {
            size_t n = rs_brace_len(p, *i, &min);
            if (n == 0)
                return;                     /* a literal '{' */
            *i += n;
        } else {
            return;
        }
        if (p[*i] == '+' || p[*i] == '?')   /* possessive, lazy */
            (*i)++;
        if (a->n_quant == 0 || min < a->min)
            a->min = min;
        a->n_quant++;
    }
}

/* The atom itself at p[*i]; 0 or -1 (regex_atom_next). */
static int
rs_atom(const char *p, size_t *i, struct regex_atom *a)
{
    unsigned char c = (unsigned char)p[*i];
    long end, min;
    size_t n;

    switch (c) {
    case '|': case ')':
        return -1;
    case '*': case '+': case '?':
        a->kind = REGEX_ATOM_QUANT;
        (*i)++;
        return 0;
    case '^': case '$':
        a->kind = REGEX_ATOM_ANCHOR;
        (*i)++;
        return 0;
    case '.':
        a->kind = REGEX_ATOM_DOT;
        (*i)++;
        return 0;
    case '[':
        end = rs_skip_class(p, *i);
        a->kind = REGEX_ATOM_CLASS;
        break;
    case '(':
        end = rs_skip_group(p, *i, &a->has_ext);
        a->kind = REGEX_ATOM_GROUP;
        a->is_lookaround = rs_is_lookaround(p + *i + 1);
        break;
    case '\\':
        a->c = (unsigned char)p[*i + 1];
        if (a->c == '\0' || strchr("QEcxopPgku", a->c) != NULL ||
            rs_is_digit(a->c))
            return -1;
        a->kind = REGEX_ATOM_ESCAPE;
        *i += 2;
        return 0;
    case '{':
        n = rs_brace_len(p, *i, &min);
        a->kind = n > 0 ? REGEX_ATOM_QUANT : REGEX_ATOM_BYTE;
        *i += n > 0 ? n : 1;
        return 0;
    default:
        a->kind = REGEX_ATOM_BYTE;
        (*i)++;
        return 0;
    }
    if (end < 0)
        return -1;
    *i = (size_t)end;
    return 0;
}

size_t
regex_lead_options(const char *p, int *is_icase)
{
    size_t i = 2;
    int is_off = 0, is_i = 0;

    if (p[0] != '(' || p[1] != '?')
        return 0;
    for (; p[i] != '\0' && strchr("imnsUJ-", p[i]) != NULL; i++) {
        is_off |= p[i] == '-';
        is_i |= p[i] == 'i' && !is_off;
    }
    if (i == 2 || p[i] != ')')
        return 0;
    if (is_i)
        *is_icase = 1;
    return i + 1;
}

int
regex_atom_next(const char *p, size_t *i, struct regex_atom *a)
{
    *a = (struct regex_atom){ .off = *i, .c = (unsigned char)p[*i] };
    if (rs_atom(p, i, a) < 0)
        return -1;
    rs_quantifiers(p, i, a);
    return 0;
}
