/* SPDX-License-Identifier: MIT */
/*
 * docker_lag_test: docker_lag_bytes() (shipper.lag_bytes) over a temp
 * Docker root: unread bytes before and after polling, backpressure,
 * truncation and a rotated file still being read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xmalloc.h"
#include "shipper/docker.h"
#include "shipper/state.h"

#define ID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222222222222222222222222222"
#define LINE(m) "{\"log\":\"" m "\\n\",\"stream\":\"stdout\",\"time\":" \
                "\"2026-01-02T03:04:05Z\"}\n"

struct fixture {
    char                    root[64];
    struct shipper_counters ctr;
    struct event_base      *base;
    struct state_store     *st;
    struct docker          *d;
    size_t                  n;
    int                     can_read;
};

static void
fx_emit(void *arg, struct sender_source *src, const struct tail_record *r)
{
    struct fixture *f = arg;

    (void)src;
    (void)r;
    f->n++;
}

static int
fx_can_read(void *arg)
{
    return ((struct fixture *)arg)->can_read;
}

static size_t
put_file(struct fixture *f, const char *id, const char *name,
         const char *mode, const char *text)
{
    char *dir = xasprintf("%s/%s", f->root, id);
    char *path = xasprintf("%s/%s", dir, name);

    mkdir(dir, 0755);
    FILE *fp = fopen(path, mode);
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    free(path);
    free(dir);
    return strlen(text);
}

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    snprintf(f->root, sizeof(f->root), "/tmp/docker_lag_test.XXXXXX");
    assert_non_null(mkdtemp(f->root));
    f->base = event_base_new();
    char *sd = xasprintf("%s/state", f->root);
    f->st = state_open(sd, &f->ctr);
    free(sd);
    f->can_read = 1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char *cmd = xasprintf("rm -rf %s", f->root);

    docker_free(f->d);
    state_free(f->st);
    event_base_free(f->base);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static void
start_docker(struct fixture *f)
{
    struct docker_config cfg = {
        .root = f->root, .tail = { 1 << 20, 256 << 10 }, .rescan_ms = 1000,
        .max_gone = 64,
    };
    struct docker_ops ops = { fx_emit, fx_can_read, f };

    f->d = docker_new(f->base, &cfg, &ops, f->st, &f->ctr);
    docker_rescan(f->d);
}

static void
test_docker_lag_unread_then_read(void **state)
{
    struct fixture *f = *state;

    size_t a = put_file(f, ID1, ID1 "-json.log", "a", LINE("one") LINE("2"));
    size_t b = put_file(f, ID2, ID2 "-json.log", "a", LINE("three"));
    f->can_read = 0;
    start_docker(f);
    docker_poll(f->d, 0);
    assert_int_equal(f->n, 0);
    /* nothing read yet: every byte of both files is lag */
    assert_int_equal(docker_lag_bytes(f->d), a + b);
    f->can_read = 1;
    assert_int_equal(docker_poll(f->d, 0), 0);
    assert_int_equal(f->n, 3);
    assert_int_equal(docker_lag_bytes(f->d), 0);
    /* new bytes appended count until read */
    size_t c = put_file(f, ID2, ID2 "-json.log", "a", LINE("four"));
    assert_int_equal(docker_lag_bytes(f->d), c);
    docker_rescan(f->d);                     /* no inotify in this test */
    docker_poll(f->d, 0);
    assert_int_equal(f->n, 4);
    assert_int_equal(docker_lag_bytes(f->d), 0);
}

static void
test_docker_lag_truncated_and_rotated(void **state)
{
    struct fixture *f = *state;

    put_file(f, ID1, ID1 "-json.log", "a", LINE("long line here") LINE("x"));
    start_docker(f);
    docker_poll(f->d, 0);
    assert_int_equal(f->n, 2);
    /* truncated below the read position: never negative */
    put_file(f, ID1, ID1 "-json.log", "w", LINE("y"));
    assert_int_equal(docker_lag_bytes(f->d), 0);
    docker_poll(f->d, 0);
    /* rotated while unread: the new live file counts whole */
    f->can_read = 0;
    char *live = xasprintf("%s/%s/%s-json.log", f->root, ID1, ID1);
    char *old = xasprintf("%s.1", live);
    assert_int_equal(rename(live, old), 0);
    size_t n = put_file(f, ID1, ID1 "-json.log", "a", LINE("after"));
    assert_true(docker_lag_bytes(f->d) >= n);
    f->can_read = 1;
    docker_rescan(f->d);
    docker_poll(f->d, 0);
    docker_poll(f->d, 0);
    assert_int_equal(docker_lag_bytes(f->d), 0);
    free(old);
    free(live);
}

static void
test_docker_lag_empty(void **state)
{
    struct fixture *f = *state;

    start_docker(f);
    assert_int_equal(docker_lag_bytes(f->d), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_docker_lag_unread_then_read,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_lag_truncated_and_rotated,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_lag_empty, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
