/* SPDX-License-Identifier: MIT */
/*
 * regex_must: the literal bytes every match of a PCRE2 pattern contains
 * (as query_regex.c compiles it), and a fast search for them over many
 * messages laid back to back, so that only the messages holding them are
 * searched with PCRE2 (query_regex_maybe_col). What grep calls a "must"
 * string; unlike the index's words (query_regex_words) it need not be a
 * whole token: in "[0-9]{3}\.9[0-9]" it is ".9". Pure functions.
 */
#ifndef COLLECTOR_SEARCH_REGEX_MUST_H
#define COLLECTOR_SEARCH_REGEX_MUST_H

#include <stddef.h>
#include <stdint.h>

#define REGEX_MUST_MAX 64               /* bytes kept of a literal */

struct regex_must {
    uint8_t lit[REGEX_MUST_MAX];
    size_t  len;                        /* 0: none */
    int     is_icase;                   /* ASCII letters folded */
};

/*
 * Finds the longest run of literal bytes at the top level of pattern (a
 * pattern that compiles) that every match holds, and keeps at most
 * REGEX_MUST_MAX of them in m (is_icase: the pattern is compiled
 * caseless; a leading "(?i)" makes it so too: regex_lead_options).
 * Conservative: a top-level '|', "(?" other than "(?:" or a leading
 * option setting that changes no literal byte, "(*",
 * \Q \E \c, escapes with arguments or digits give none; groups, classes,
 * '.', anchors and escapes such as \d end a run; a quantified byte is not
 * part of one. m->len is 0 when there is none; returns m->len.
 */
size_t regex_must_parse(const char *pattern, int is_icase,
                        struct regex_must *m);

/*
 * Over the n messages of text (message i is text[ends[i - 1] .. ends[i]),
 * ends[-1] = 0, ascending), sets maybe[i] = 1 for each message that holds
 * m's literal (folded when is_icase); leaves the others as they are.
 */
void regex_must_scan(const struct regex_must *m, const char *text,
                     const uint32_t *ends, uint32_t n, uint8_t *maybe);

/*
 * 1 if m's literal (folded when is_icase) occurs anywhere in the len
 * bytes of text, else 0: the whole bytes of a block or frame as read
 * (columns and messages), so that one without it is not decoded.
 */
int regex_must_find(const struct regex_must *m, const char *text,
                    size_t len);

/* Tests: is_on makes regex_must_scan use its 16-byte (SSE2) loop even
 * where the CPU has AVX2; 0 lets it choose by the CPU again. */
void regex_must_force_sse2(int is_on);

#endif
