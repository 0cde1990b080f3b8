/* SPDX-License-Identifier: MIT */
/*
 * query: the search language of GET /api/v1/logs and /follow, parsed once
 * per request and matched against every candidate record. Pure: no I/O, no
 * store, no HTTP; fuzzed by tests/fuzz/fuzz_query.c.
 *
 *   q     = item { item | "OR" item }       implicit AND between items,
 *                                            OR binds tighter: a b OR c
 *                                            means a AND (b OR c)
 *   item  = ["-"] (term | '"' phrase '"')   "-" excludes
 *
 * A term matches as a whole word: at each end where the term has an ASCII
 * letter or digit, the message must have a non-alphanumeric byte or its
 * start/end (so "10.0.0.1" does not match "10.0.0.12"). A phrase is a plain
 * substring. icase folds ASCII case for terms, phrases and the regex.
 * The regex is PCRE2 syntax over the message bytes (details and limits in
 * collector/search/query_regex.h); several regexes are alternatives (a
 * message must match one of them), as grep's -e.
 */
#ifndef COLLECTOR_QUERY_H
#define COLLECTOR_QUERY_H

#include <stddef.h>
#include <stdint.h>

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

/* Lower-cased alphanumeric words every match must contain as whole words
 * (from terms that are ANDed, not under OR or "-", and the words every
 * regex requires: query_regex_words_all). Borrowed from q; for
 * store_filter.tokens. Returns the count. */
size_t query_tokens(const struct query *q, const char *const **tokens);

/* Regex matches given up (counted as no match) because they ran out of
 * their backtracking budget, since query_parse(). 0 without a regex. */
uint64_t query_n_regex_aborted(const struct query *q);

#endif
