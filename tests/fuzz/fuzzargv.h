/* SPDX-License-Identifier: MIT */
/*
 * fuzzargv: the command line the argument-parser targets (fuzz_config,
 * fuzz_shipconfig) build from their input: argv[0] is the program, then
 * the input split at '\n' into at most FUZZ_MAX_ARGS words (a word may be
 * empty; the last one runs to the end of the input). Owns a NUL-ended
 * copy of the input that the words point into; fuzz_argv_fini frees it.
 */
#ifndef TESTS_FUZZ_FUZZARGV_H
#define TESTS_FUZZ_FUZZARGV_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define FUZZ_MAX_ARGS 64

struct fuzz_argv {
    char *buf;
    char *argv[FUZZ_MAX_ARGS + 2];
    int   argc;
};

/* argv[0] = prog, then the words of p[0..n) split at '\n'. */
static inline void
fuzz_argv_init(struct fuzz_argv *a, const char *prog, const uint8_t *p,
               size_t n)
{
    a->buf = xmalloc(n + 1);
    memcpy(a->buf, p, n);
    a->buf[n] = '\0';
    a->argc = 0;
    a->argv[a->argc++] = (char *)prog;
    char *w = a->buf;
    while (a->argc <= FUZZ_MAX_ARGS) {
        a->argv[a->argc++] = w;
        char *nl = strchr(w, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        w = nl + 1;
    }
    a->argv[a->argc] = NULL;
}

static inline void
fuzz_argv_fini(struct fuzz_argv *a)
{
    free(a->buf);
    a->buf = NULL;
}

#endif
