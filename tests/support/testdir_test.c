/* SPDX-License-Identifier: MIT */
/*
 * testdir_test: a directory testdir_make made (tests/support/testdir.h)
 * and its files are removed when its test does not remove it: at exit (a
 * failed cmocka assertion skips the test's own cleanup), on SIGTERM
 * (run-unit.sh's timeout) and SIGINT, and after more directories than
 * it remembers at once were made and removed by their tests; and the
 * failure still shows: the exit status, or death by the signal. Each
 * case runs in a child process.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/testdir.h"

enum how { HOW_EXIT, HOW_SIGTERM, HOW_SIGINT, HOW_MANY };

/* The child: makes a directory with a file in it, sends its path up the
 * pipe, then ends as how says without removing it. */
static void
child(int fd, enum how how)
{
    if (how == HOW_MANY) {
        for (int i = 0; i < 3 * TESTDIR_MAX; i++) {
            char *d = testdir_make("testdir_test");
            if (d == NULL || rmdir(d) != 0)
                _exit(90);
            free(d);
        }
    }
    char *dir = testdir_make("testdir_test");
    if (dir == NULL)
        _exit(91);
    char *file = xasprintf("%s/data", dir);
    int f = open(file, O_WRONLY | O_CREAT, 0600);
    if (f < 0 || write(f, "x", 1) != 1 || close(f) != 0)
        _exit(92);
    size_t n = strlen(dir) + 1;
    if (write(fd, dir, n) != (ssize_t)n)
        _exit(93);
    close(fd);
    free(file);
    free(dir);
    if (how == HOW_SIGTERM)
        raise(SIGTERM);
    if (how == HOW_SIGINT)
        raise(SIGINT);
    exit(3);                    /* as a failed cmocka run does */
}

/* 1 if dir is gone; else removes it (this test leaves none either). */
static int
is_gone(const char *dir)
{
    if (access(dir, F_OK) != 0 && errno == ENOENT)
        return 1;
    char *cmd = xasprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    (void)rc;
    free(cmd);
    return 0;
}

/* Runs a child; returns its wait status, its directory's path in dir. */
static int
run(enum how how, char *dir, size_t size)
{
    int p[2], status;

    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child(p[1], how);
    }
    close(p[1]);
    ssize_t n = read(p[0], dir, size);
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(n > 1);
    assert_int_equal(dir[n - 1], '\0');
    return status;
}

static void
test_removed_at_exit(void **state)
{
    char dir[256];

    (void)state;
    int status = run(HOW_EXIT, dir, sizeof(dir));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_true(is_gone(dir));
}

static void
test_removed_on_signal(void **state)
{
    static const int sigs[] = { SIGTERM, SIGINT };
    char dir[256];

    (void)state;
    for (int i = 0; i < 2; i++) {
        int status = run(i == 0 ? HOW_SIGTERM : HOW_SIGINT, dir,
                         sizeof(dir));
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), sigs[i]);
        assert_true(is_gone(dir));
    }
}

static void
test_removed_after_many(void **state)
{
    char dir[256];

    (void)state;
    int status = run(HOW_MANY, dir, sizeof(dir));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_true(is_gone(dir));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removed_at_exit),
        cmocka_unit_test(test_removed_on_signal),
        cmocka_unit_test(test_removed_after_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
