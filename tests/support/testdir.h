/* SPDX-License-Identifier: MIT */
/*
 * testdir: the directory a unit test makes its files in, for tests whose
 * subject is not the disk (property tests of the store's index and of
 * search: thousands of commits, each an fdatasync the syncing thread
 * waits for). $LOGQ_TEST_TMPDIR if set, else /dev/shm when it is a
 * writable directory (tmpfs: a sync costs nothing, the same calls are
 * made), else /tmp. Also the fixture of tests whose subject is one file:
 * a new directory in /tmp and that file's path in it. Header-only.
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

struct testdir_file {
    char *dir;          /* /tmp/<prefix>.XXXXXX */
    char *path;         /* dir/<name>, not made */
};

/* A new directory /tmp/<prefix>.XXXXXX and the path of name in it
 * (caller frees with testdir_file_free()); NULL if it cannot be made. */
static inline struct testdir_file *
testdir_file_new(const char *prefix, const char *name)
{
    struct testdir_file *f = xcalloc(1, sizeof(*f));

    f->dir = xasprintf("/tmp/%s.XXXXXX", prefix);
    if (mkdtemp(f->dir) == NULL) {
        free(f->dir);
        free(f);
        return NULL;
    }
    f->path = xasprintf("%s/%s", f->dir, name);
    return f;
}

/* Removes f's directory with all it holds and frees f: 0, or -1 when the
 * removal failed. */
static inline int
testdir_file_free(struct testdir_file *f)
{
    char *cmd = xasprintf("rm -rf '%s'", f->dir);
    int rc = system(cmd) == 0 ? 0 : -1;

    free(cmd);
    free(f->path);
    free(f->dir);
    free(f);
    return rc;
}

#endif
