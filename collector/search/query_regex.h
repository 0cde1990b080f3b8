/* SPDX-License-Identifier: MIT */
/*
 * query_regex: the `regex` parameter of a search, PCRE2 (8-bit, JIT) behind
 * a small API; the only module that includes pcre2.h. Syntax is PCRE2's
 * (Perl-like; a superset of common POSIX ERE usage, including [[:alpha:]]
 * classes), with these choices, fixed at compile time:
 *   - no UTF mode, and (*UTF)/(*UCP) are refused: a message is a byte
 *     string and may be invalid UTF-8; '.' and classes match one byte, a
 *     UTF-8 literal matches as its byte sequence, \w \d \b and case folding
 *     are ASCII-only (terms fold UTF-8 letters too: query.h);
 *   - DOTALL and DOLLAR_ENDONLY: '.' matches '\n' and '$' only the very end,
 *     as POSIX regexec did without REG_NEWLINE;
 *   - \< and \> (GNU word anchors, which PCRE2 reads as '<' and '>') are
 *     rewritten into look-arounds over the term rule's word characters:
 *     ASCII letters, digits, '_' and every byte >= 0x80 (regex_anchors.h);
 *     \b and \w keep PCRE2's ASCII meaning (a byte >= 0x80 is not a word
 *     character for them);
 *   - several patterns are alternatives, as grep's -e: each is compiled on
 *     its own, so its options ((?i)), groups and back-references never
 *     reach the others;
 *   - a match is bounded: its backtracking budget grows with the message
 *     length (QUERY_REGEX_LIMIT_*); a match that runs out counts as no
 *     match and is counted (query_regex_n_aborted).
 * query_regex_words() finds the words every match must contain as whole
 * tokens, so the store can skip blocks by its token index.
 */
#ifndef COLLECTOR_QUERY_REGEX_H
#define COLLECTOR_QUERY_REGEX_H

#include <stddef.h>
#include <stdint.h>

#define QUERY_REGEX_LIMIT_BASE     100000u  /* backtracking steps ... */
#define QUERY_REGEX_LIMIT_PER_BYTE 32u      /* ... plus this per byte */
#define QUERY_REGEX_MAX_WORDS      32
#define QUERY_REGEX_MAX_PATTERNS   16       /* alternatives (-e) */

struct query_regex;

/* Compiles the n NUL-terminated patterns (1..QUERY_REGEX_MAX_PATTERNS) as
 * alternatives: a text matches when any of them does. ASCII case folded
 * when icase. Returns the regex (caller frees with query_regex_free()) or
 * NULL with *errstr naming the first bad pattern, "bad regex 'P' at offset
 * N: <PCRE2 message>" (caller frees). */
struct query_regex *query_regex_new_any(const char *const *patterns,
                                        size_t n, int icase, char **errstr);
/* One pattern: query_regex_new_any(&pattern, 1, icase, errstr). */
struct query_regex *query_regex_new(const char *pattern, int icase,
                                    char **errstr);
void query_regex_free(struct query_regex *re);
/* How many patterns the calling thread has compiled (pcre2_compile calls,
 * thread-local): lets tests prove that the collector's event loop thread
 * compiles none (collector/README.md "Queries off the loop"). */
uint64_t query_regex_n_compiled_here(void);

/* 1 if msg[0..len) (any bytes, not NUL-terminated) has a match of any
 * pattern, else 0 (also when a match budget ran out). A pattern with a
 * required literal (regex_must.h, 2 bytes or more) is run by PCRE2 only
 * when msg holds it, so a message without it never runs out of budget.
 * Reuses one match buffer: not for two threads at once. Allocates
 * nothing. */
int query_regex_match(struct query_regex *re, const char *msg, size_t len);

/* Match buffers for another thread: re's compiled patterns are shared
 * (read-only), a state is not (one thread at a time). NULL when PCRE2
 * cannot make them. re must outlive it. */
struct query_regex_state;
struct query_regex_state *query_regex_state_new(const struct query_regex *re);
void query_regex_state_free(struct query_regex_state *st);
/* query_regex_match with st's buffers, so several threads may match re
 * at once, each with its own state: 1, 0, or -1 for no match after a
 * match ran out of budget (not counted: query_regex_add_aborted). */
int query_regex_match_in(const struct query_regex *re,
                         struct query_regex_state *st, const char *msg,
                         size_t len);
/* Many messages at once, laid back to back in text: message i is
 * text[ends[i - 1] .. ends[i]) (ends[-1] = 0, ends ascending). Sets
 * maybe[i] = 0 for each message that holds none of the patterns'
 * required literals (regex_must.h: bytes every match contains, at least
 * 2 of them), so none of them can match, and 1 for the others, which the
 * caller tests with query_regex_match_in: their answer (and budget) is
 * that call's. Returns 0, or -1 (maybe untouched) when a pattern has no
 * such literal (query_regex_can_col). A message ruled out here has no
 * match and no budget spent, as query_regex_match_in answers it (which
 * does not ask PCRE2 about it either). Pure: no match buffers. */
int query_regex_maybe_col(const struct query_regex *re, const char *text,
                          const uint32_t *ends, uint32_t n, uint8_t *maybe);
/* The same test over the len bytes of a whole block or frame as read
 * (its columns and messages): 0 when none of the patterns' required
 * literals occurs anywhere in them (so no message inside can match), 1
 * when one does or a pattern has none (query_regex_can_col). Pure. */
int query_regex_maybe_raw(const struct query_regex *re, const char *text,
                          size_t len);
/* 1 when query_regex_maybe_col works for re, else 0. */
int query_regex_can_col(const struct query_regex *re);
/* Adds n to query_regex_n_aborted (atomic). */
void query_regex_add_aborted(struct query_regex *re, uint64_t n);

/* The spans of every match of every pattern in msg[0..len), as byte
 * offsets: out[2k] start, out[2k + 1] end (exclusive), at most max spans,
 * pattern by pattern, each pattern's matches left to right and not
 * overlapping (the next search starts where a match ended); empty matches
 * are left out. A match that runs out of budget ends that pattern's list
 * (not counted in n_aborted: the record had matched already). Returns the
 * count. Same buffer rule as query_regex_match. */
size_t query_regex_spans(struct query_regex *re, const char *msg, size_t len,
                         size_t *out, size_t max);

/* Texts found without a match after a pattern's match ran out of budget
 * (or failed inside PCRE2) since query_regex_new(): the answer may have
 * missed them. */
uint64_t query_regex_n_aborted(const struct query_regex *re);

/* A word of the pattern text: pattern[off .. off + len), word bytes only
 * (ASCII letters, digits, '_', bytes >= 0x80: the word rule of query.h). */
struct query_regex_word {
    size_t off;
    size_t len;
};

/*
 * Words that every text the pattern (as compiled by query_regex_new) matches
 * contains as a whole token: preceded and followed by a byte that is not a
 * word byte, or by the text's start/end. Conservative: any
 * construct it does not fully understand (alternation at the top level,
 * groups, classes, options, \Q..\E) contributes no word, and some make it
 * give up on the whole pattern. Writes at most max words to out and returns
 * their count. Pure; the pattern need not have been compiled.
 */
size_t query_regex_words(const char *pattern, struct query_regex_word *out,
                         size_t max);

/*
 * The words every alternative requires (see query_regex_words): those of
 * patterns[0] that query_regex_words also finds in each other pattern,
 * compared with ASCII case folded (the token index folds it). Offsets are
 * into patterns[0]. At most max words; returns their count. Pure.
 */
size_t query_regex_words_all(const char *const *patterns, size_t n,
                             struct query_regex_word *out, size_t max);

/*
 * Bounded words: runs of ASCII word bytes that every text the pattern
 * matches contains as a whole token or as a maximal ASCII run inside a
 * token that holds a byte >= 0x80 (a sub-word, collector/STORE.md
 * "Sub-word tokens"), because a \b (PCRE2's ASCII boundary: a byte >=
 * 0x80 is not a word byte for it) bounds the run where no separator or
 * anchor does: "\bdb01\b", "\bdb01=", "x=db01\b" (which "cafédb01"
 * matches). query_regex_words gives the runs bounded without \b; this
 * gives none of those. Pure, as query_regex_words; the store narrows by
 * them where its index has sub-words (store_filter.bwords).
 */
size_t query_regex_bwords(const char *pattern, struct query_regex_word *out,
                          size_t max);

/*
 * The bounded words of the alternatives: the words and bounded words of
 * patterns[0] that each other pattern has as a word or bounded word, but
 * not those every pattern has as a word (query_regex_words_all's). ASCII
 * case folded; offsets into patterns[0]; at most max. Pure.
 */
size_t query_regex_bwords_all(const char *const *patterns, size_t n,
                              struct query_regex_word *out, size_t max);

#endif
