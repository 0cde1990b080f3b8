/* SPDX-License-Identifier: MIT */
/*
 * testdir: the directory a unit test makes its files in, for tests whose
 * subject is not the disk (property tests of the store's index and of
 * search: thousands of commits, each an fdatasync the syncing thread
 * waits for). $LOGQ_TEST_TMPDIR if set, else /dev/shm when it is a
 * writable directory (tmpfs: a sync costs nothing, the same calls are
 * made), else /tmp. Header-only.
 */
#ifndef TESTS_SUPPORT_TESTDIR_H
#define TESTS_SUPPORT_TESTDIR_H

#include <stdlib.h>
#include <unistd.h>

#include "common/xmalloc.h"

/* A new directory <base>/<prefix>.XXXXXX (caller frees the path); NULL
 * if it cannot be made. */
static inline char *
testdir_make(const char *prefix)
{
    const char *base = getenv("LOGQ_TEST_TMPDIR");

    if (base == NULL || base[0] == '\0')
        base = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
    char *dir = xasprintf("%s/%s.XXXXXX", base, prefix);
    if (mkdtemp(dir) == NULL) {
        free(dir);
        return NULL;
    }
    return dir;
}

#endif
