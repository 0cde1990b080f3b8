/* SPDX-License-Identifier: MIT */
/*
 * indextest: what the index tests share (collector/store/index_test.c,
 * the map and its files; index_store_test.c, the index through the
 * store; index_bench_test.c, its generated text and its store's
 * directory): the random stream each test seeds (rng_state, one per test
 * binary) and the test's directory, made and removed. Test-only,
 * header-only.
 */
#ifndef TESTS_SUPPORT_INDEXTEST_H
#define TESTS_SUPPORT_INDEXTEST_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xmalloc.h"
#include "tests/support/testdir.h"

static uint64_t rng_state;

static inline uint32_t
rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static inline char *
make_dir(void)
{
    char *dir = testdir_make("logq-index-test");

    assert_non_null(dir);
    return dir;
}

static inline void
remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *p = xasprintf("%s/%s", dir, de->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

#endif
