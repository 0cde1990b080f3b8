/* SPDX-License-Identifier: MIT */
/*
 * nearest: the names closest to one that matched nothing, for "no
 * container 'web'; did you mean web-1, web-2?". Pure.
 *
 * A name is near when it contains the wanted text (glob characters *?[]
 * taken out: "web*" looks for "web"), or when its edit distance
 * (Levenshtein, bytes) to it is at most 1 + len/4. Nearer first: names
 * that start with it, then that contain it, then by distance, then
 * bytewise; duplicates once.
 */
#ifndef QUERY_NEAREST_H
#define QUERY_NEAREST_H

#include <stddef.h>

#define NEAREST_MAX_LEN 256     /* longer names or wants are never near */

/* Writes up to max near names (borrowed from names) to out, nearest
 * first; returns the count. */
size_t nearest_names(const char *want, const char *const *names, size_t n,
                     const char **out, size_t max);

#endif
