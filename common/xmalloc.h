/* SPDX-License-Identifier: MIT */
/*
 * xmalloc: allocate-or-die wrappers. Daemons keep memory bounded by caps on
 * every buffer and queue, so running out of memory is not a recoverable
 * condition: these log and exit(1). The only file allowed to call the raw
 * allocator.
 */
#ifndef COMMON_XMALLOC_H
#define COMMON_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
/* Reallocates; n * size overflow is fatal. */
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* Formats into a new string the caller frees with free(). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
