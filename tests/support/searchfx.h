/* SPDX-License-Identifier: MIT */
/*
 * searchfx: the fixture of the tests that search a real store
 * (collector/search/search_test.c, search_mt_test.c,
 * collector/api/api_slice_test.c): a store opened with the test's options
 * in a fresh /tmp directory (fx_new), records of one container appended
 * by number (fx_put), and the teardown that closes the store and removes
 * the directory. Test-only, header-only.
 */
#ifndef TESTS_SUPPORT_SEARCHFX_H
#define TESTS_SUPPORT_SEARCHFX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "common/xmalloc.h"

struct fx {
    char          dir[64];
    struct store *st;
};

/* A store in a new directory /tmp/<prefix>.XXXXXX, opened with o (NULL:
 * the defaults); the caller frees it with teardown. */
static inline struct fx *
fx_new(const char *prefix, const struct store_options *o)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    char *err = NULL;

    snprintf(f->dir, sizeof(f->dir), "/tmp/%s.XXXXXX", prefix);
    assert_non_null(mkdtemp(f->dir));
    f->st = store_open(f->dir, o, &err);
    assert_non_null(f->st);
    return f;
}

/* Appends record i (offset i + 1) of host's container "c" (named "web",
 * image "i"), stamped t, with msg[0..len); it must be new. */
static inline void
fx_put(struct fx *f, const char *host, int64_t t, int i, const char *msg,
       int len)
{
    struct logrec r = {
        .time_ns = t, .host = host, .container_id = "c",
        .container = "web", .image = "i", .offset = (uint64_t)i + 1,
        .msg = msg, .msg_len = (size_t)len,
    };

    assert_int_equal(store_append(f->st, &r), 1);
}

static inline int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

#endif
