/* SPDX-License-Identifier: MIT */
/*
 * query: the search language of GET /api/v1/logs and /follow, parsed once
 * per request and matched against every candidate record. Pure: no I/O, no
 * store, no HTTP; fuzzed by tests/fuzz/fuzz_query.c.
 *
 *   q     = item { item | "OR" item }       implicit AND between items,
 *                                            OR binds tighter: a b OR c
 *                                            means a AND (b OR c)
 *   item  = ["-"] (field | term | '"' phrase '"')   "-" excludes
 *   field = NAME ":" (VALUE | '"' text '"' | (">=" | ">" | "<=" | "<") N)
 *
 * A field term (common/fields.h; query/README.md "Fields"): NAME is an
 * ASCII letter, '_' or '@', then letters, digits, '_', '.', '-', '@' (at
 * most FIELDS_MAX_NAME bytes); an unquoted VALUE is not empty, holds no
 * ':' and does not start with '/' (else the whole is an ordinary term:
 * "ERROR:root:x", "http://h", "10.0.0.1:80"). It matches a message whose
 * JSON or logfmt fields include NAME (exact bytes) with a value whose
 * text is VALUE (folded under icase), or a number (fields_number) in that
 * relation to N; N that is no number is a parse error. Never matches a
 * plain-text message; its span is the matching value as written in the
 * message (a string's text between its quotes); its index token is a
 * field token (query_field_tokens), not words.
 *
 * The word rule: word characters are ASCII letters, digits, '_' and every
 * byte >= 0x80 (so UTF-8 letters). A term matches where it is not part of
 * a longer word: if its first character is a word character, the byte
 * before the match is not one (or is the message start); if its last is,
 * the byte after is not one (or is the end). So "unix" does not match
 * "pam_unix", "caf" does not match "café", "10.0.0.1" does not match
 * "10.0.0.12", and "/log/Core" matches in "/var/log/Core dump". A phrase
 * is a term with spaces in it, under the same rule. A fixed string
 * (query_add_fixed, logq -F) matches anywhere, like grep -F. icase folds
 * terms, phrases and fixed strings with simple Unicode case folding
 * (common/casefold.h: "CAFÉ" finds "café"); the regex folds ASCII only.
 * The regex is PCRE2 syntax over the message bytes (details and limits in
 * collector/search/query_regex.h); several regexes are alternatives (a
 * message must match one of them), as grep's -e.
 */
#ifndef COLLECTOR_QUERY_H
#define COLLECTOR_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "collector/store/tokenize.h"

#define QUERY_MAX_TEXT   4096   /* bytes of q */
#define QUERY_MAX_ITEMS  64     /* terms + phrases */
#define QUERY_MAX_REGEX  1024   /* bytes of one regex */

struct query;

/*
 * Parses q[0..q_len) (may be empty: matches everything) and the optional
 * regex, PCRE2 syntax (NULL or "" for none). Returns a query the caller
 * frees with query_free(), or NULL with *errstr set to a message the caller
 * frees with free() (a syntax error, or "bad regex 'RE' at offset N:
 * <PCRE2's message>").
 */
struct query *query_parse(const char *q, size_t q_len, const char *regex,
                          int icase, char **errstr);
/* The same with n_regex regexes (0..QUERY_REGEX_MAX_PATTERNS) that are
 * alternatives; "" is a regex that matches everything. */
struct query *query_parse_any(const char *q, size_t q_len,
                              const char *const *regex, size_t n_regex,
                              int icase, char **errstr);
void query_free(struct query *q);

/* 1 if msg[0..len) (not NUL-terminated) matches, else 0 (also when the
 * regex ran out of its backtracking budget: see query_n_regex_aborted).
 * Allocates nothing; a regex query reuses one match buffer, so a query
 * must not be matched from two threads at once. */
int query_match(const struct query *q, const char *msg, size_t len);

/* A matcher runs query_match(q, ...) on a thread of its own: q's compiled
 * regexes are shared, the match buffers are the matcher's, so q and each
 * of its matchers may be used by different threads at once (one thread
 * per object). q must not be changed (query_add_*) or freed before its
 * matchers. NULL when PCRE2 cannot allocate the buffers. */
struct query_matcher;
struct query_matcher *query_matcher_new(const struct query *q);
void query_matcher_free(struct query_matcher *m);
/* query_match's answer (bit 0), plus QUERY_MATCH_ABORTED when a regex
 * match ran out of its budget, which query_match would have counted in
 * query_n_regex_aborted and the matcher does not: the caller adds it
 * with query_add_aborted when it uses the answer. */
#define QUERY_MATCH_ABORTED 2
int  query_matcher_match(struct query_matcher *m, const char *msg,
                         size_t len);
/* Many messages at once (text, ends and maybe as query_regex_maybe_col):
 * maybe[i] = 0 for the messages the query certainly does not match (they
 * lack what every match of its regex holds), 1 for those to test with
 * query_matcher_match. Returns 0, or -1 (maybe untouched) when q has no
 * regex or its regex allows no such search (query_can_col). */
int  query_matcher_maybe_col(struct query_matcher *m, const char *text,
                             const uint32_t *ends, uint32_t n,
                             uint8_t *maybe);
/* The bytes of a whole block or frame as read (columns and messages,
 * query_regex_maybe_raw): 0 when no message inside can match q (none of
 * its regex's required literals occurs in them), else 1. */
int  query_maybe_raw(const struct query *q, const char *text, size_t len);
int  query_matcher_maybe_raw(struct query_matcher *m, const char *text,
                             size_t len);
/* 1 when query_matcher_maybe_col can answer for q's matchers, else 0. */
int  query_can_col(const struct query *q);
/* Adds n to query_n_regex_aborted (atomic: any thread). */
void query_add_aborted(const struct query *q, uint64_t n);

/* ANDs the fixed string s[0..len) (matched anywhere, folded under icase)
 * to q. 0, or -1 with *errstr set (caller frees) if it is empty, longer
 * than QUERY_MAX_TEXT, holds a NUL, or q has QUERY_MAX_ITEMS items. */
int query_add_fixed(struct query *q, const char *s, size_t len,
                    char **errstr);

/* ANDs "matches none of the n regexes" (logq -v; API not_regex) to q:
 * compiled like the regex alternatives (same syntax, limits, icase), a
 * match drops the message; a match that runs out of its budget counts as
 * no match (the message is kept) and in query_n_regex_aborted. Adds no
 * index token. n == 0 is a no-op; a second call is ignored. 0, or -1 with
 * *errstr (caller frees): too many, too long, or "bad regex ...". */
int query_add_not_regex(struct query *q, const char *const *regex, size_t n,
                        char **errstr);

/* What a highlighter should mark in a message that matched: every
 * occurrence of every term, phrase and fixed string not under "-" that
 * passes the word rule (folded under icase, as query_match finds them,
 * also those of an OR branch), the value of every field a field term not
 * under "-" matches (as written in the message, between a string's
 * quotes; an empty value gives none), and every match of every regex
 * (not the not_regex). Written to out as byte offsets, out[2k] start and out[2k+1]
 * end (exclusive), sorted, overlapping or touching spans merged; at most
 * max spans before merging (out holds 2 * max). Returns the count. Same
 * buffer rule as query_match. */
size_t query_spans(const struct query *q, const char *msg, size_t len,
                   size_t *out, size_t max);

/* Folded words (common/casefold.h) every match must contain as whole
 * tokens of the store's tokenizer: the word runs of terms and phrases that
 * are ANDed (not under OR or "-"), the runs inside a fixed string that
 * touch neither of its ends, and the words every regex requires
 * (query_regex_words_all). Borrowed from q; for store_filter.tokens.
 * Returns the count. */
size_t query_tokens(const struct query *q, const char *const **tokens);

/* The bounded words of the regexes (query_regex_bwords_all): ASCII words
 * every match holds as whole tokens or as sub-words (ASCII runs inside a
 * token with a byte >= 0x80). Borrowed from q; for store_filter.bwords.
 * Returns the count. */
size_t query_bwords(const struct query *q, const char *const **words);

/* The field tokens (collector/store/tokenize.h tokenize_field: "name:value"
 * folded and cut) of the field terms every match satisfies by equality:
 * ANDed, not under OR or "-", not a comparison. Borrowed from q; for
 * store_filter.field_tokens. Returns the count. */
size_t query_field_tokens(const struct query *q, const char *const **tokens);

/* 1 when q is one term that matches a message exactly when the message
 * holds its token (written to word, NUL-terminated) as a whole token of
 * the store's tokenizer (tokenize.h) in one of the spellings *forms
 * (TOKENIZE_FORM_*; 0: any spelling, under icase): one term (not a
 * phrase, fixed string, field term or "-"), no regex, all word
 * characters, shorter than TOKENIZE_MAX_LEN, and without icase spelled
 * as its token is in lower case, upper case or capitalized (`error`,
 * `ERROR`, `Error`; not `eRRor`). 0 otherwise. For
 * store_filter.count_word: counts from the index. */
int query_count_word(const struct query *q, char word[TOKENIZE_MAX_LEN + 1],
                     unsigned *forms);

/* Regex matches given up (counted as no match) because they ran out of
 * their backtracking budget, since query_parse(). 0 without a regex. */
uint64_t query_n_regex_aborted(const struct query *q);

#endif
