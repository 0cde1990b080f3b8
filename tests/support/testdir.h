/* SPDX-License-Identifier: MIT */
/*
 * testdir: the directory a unit test makes its files in, for tests whose
 * subject is not the disk (property tests of the store's index and of
 * search: thousands of commits, each an fdatasync the syncing thread
 * waits for). $LOGQ_TEST_TMPDIR if set, else /dev/shm when it is a
 * writable directory (tmpfs: a sync costs nothing, the same calls are
 * made), else /tmp. Also the fixture of tests whose subject is one file:
 * a new directory in /tmp and that file's path in it. Header-only.
 * Every directory testdir_make made is removed at exit if it is still
 * there, and when SIGTERM, SIGINT or SIGHUP ends the test (run-unit.sh's
 * timeout, ^C; the signal is then raised again): a test that fails an
 * assertion skips its own cleanup (cmocka goes on with the next test,
 * and the exit status still says it failed), and one killed has none.
 * (A crash, an ASan report or SIGKILL still leaves the directory.)
 */
#ifndef TESTS_SUPPORT_TESTDIR_H
#define TESTS_SUPPORT_TESTDIR_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/xmalloc.h"

#define TESTDIR_MAX 64

/* argv of "rm -rf DIR...": the directories made and not known gone. */
static char *testdir_rm_argv[3 + TESTDIR_MAX] = { "rm", "-rf" };
static volatile sig_atomic_t testdir_n;

/* Removes the directories left (async-signal-safe: fork, execve). */
static inline void
testdir_remove_all(void)
{
    static char *const envp[] = { NULL };

    sig_atomic_t k, n = testdir_n;

    for (k = 0; k < n; k++)
        if (access(testdir_rm_argv[2 + k], F_OK) == 0)
            break;
    if (k == n)
        return;                 /* every test removed its own */
    pid_t pid = fork();
    if (pid == 0) {
        execve("/bin/rm", testdir_rm_argv, envp);
        _exit(127);
    }
    if (pid > 0)
        (void)waitpid(pid, NULL, 0);
}

static inline void
testdir_on_signal(int sig)
{
    testdir_remove_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Remembers dir for testdir_remove_all (a slot whose directory is gone,
 * removed by its test, is taken again). */
static inline void
testdir_remember(char *dir)
{
    static int is_hooked;
    size_t k;

    if (!is_hooked) {
        is_hooked = 1;
        atexit(testdir_remove_all);
        signal(SIGTERM, testdir_on_signal);
        signal(SIGINT, testdir_on_signal);
        signal(SIGHUP, testdir_on_signal);
    }
    for (k = 0; k < (size_t)testdir_n; k++)
        if (access(testdir_rm_argv[2 + k], F_OK) != 0)
            break;
    if (k == TESTDIR_MAX)
        return;                 /* not removed at exit: its test's job */
    char *copy = xstrdup(dir), *old = testdir_rm_argv[2 + k];
    testdir_rm_argv[2 + k] = copy;
    if (k == (size_t)testdir_n)
        testdir_n = (sig_atomic_t)(k + 1);
    free(old);
}

/* A new directory <base>/<prefix>.XXXXXX (caller frees the path); NULL
 * if it cannot be made. Removed at exit if its test did not (above). */
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
    testdir_remember(dir);
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
