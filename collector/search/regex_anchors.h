/* SPDX-License-Identifier: MIT */
/*
 * regex_anchors: GNU word anchors for PCRE2 patterns. PCRE2 reads "\<" and
 * "\>" as the literal bytes '<' and '>', so `logq -e '\<word\>'` would
 * silently find nothing; this rewrites them, before compiling, into
 * look-arounds over the project's word characters (ASCII letters, digits,
 * '_', every byte >= 0x80: the term rule of query/README.md), with
 * W = [A-Za-z0-9_\x80-\xff]:
 *   \<  ->  (?:(?<!W)(?=W))    a word starts here
 *   \>  ->  (?:(?<=W)(?!W))    a word ends here
 * The group keeps a quantifier after the anchor applying to all of it.
 * Pure function over the pattern text; query_regex.c calls it.
 */
#ifndef COLLECTOR_SEARCH_REGEX_ANCHORS_H
#define COLLECTOR_SEARCH_REGEX_ANCHORS_H

/*
 * Rewrites the anchors of pattern, a PCRE2 pattern that compiles (so its
 * groups, classes and \Q..\E are well formed). What PCRE2 reads as
 * something else is left alone: "\\<" (an escaped backslash, then '<'),
 * text between \Q and \E, class members ("[\<]" is '<'), comments
 * "(?#...)" and verb names "(*MARK:...)".
 * Returns 0 with *out = NULL when there is no anchor to rewrite, or *out =
 * the new pattern (caller frees with free()). Returns -1 with *errstr
 * (caller frees) when the pattern has an anchor and an option setting
 * with x ("(?x)", "(?x:", "(?-x)"): '#' comments of extended mode are not
 * followed by this scan.
 */
int regex_anchors_rewrite(const char *pattern, char **out, char **errstr);

#endif
