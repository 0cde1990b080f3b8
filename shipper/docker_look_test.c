/* SPDX-License-Identifier: MIT */
/*
 * docker_look_test: the safety-net rescan backs off for idle containers
 * (issue "Speed": 500 idle containers under 1% of a core) without costing
 * pickup: over a temp Docker root with real inotify (docker_start) and a
 * fake clock driving docker_rescan_due(), idle containers are looked at
 * rarely but never less than every 16 periods; a write, a new container
 * and a removed one are handled from inotify alone, at once; writes that
 * inotify does not report (through a hard link in an unwatched directory)
 * are found by a look, counted, and end the backoff for every container.
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
#include <event2/event.h>

#include "common/xmalloc.h"
#include "shipper/docker.h"

#define ID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222222222222222222222222222"
#define ID3 "3333333333333333333333333333333333333333333333333333333333333333"
#define ID4 "4444444444444444444444444444444444444444444444444444444444444444"
#define LINE(m) "{\"log\":\"" m "\\n\",\"stream\":\"stdout\",\"time\":" \
                "\"2026-01-02T03:04:05Z\"}\n"
#define TICK_NS 1000000000LL    /* rescan_ms 1000 */

static int64_t fake_now = 1000 * TICK_NS;
static int64_t tick_base = 1000 * TICK_NS;  /* when the timer is due */
static uint32_t tick_seed = 1;

static int64_t
fake_clock(void)
{
    return fake_now;
}

struct fixture {
    char                    root[64];
    struct shipper_counters ctr;
    struct event_base      *base;
    struct state_store     *st;
    struct docker          *d;
    size_t                  n;
    char                    last[80];
};

static void
fx_emit(void *arg, struct sender_source *src, const struct tail_record *r)
{
    struct fixture *f = arg;

    (void)src;
    snprintf(f->last, sizeof(f->last), "%.*s", (int)r->msg_len, r->msg);
    f->n++;
}

static int
fx_can_read(void *arg)
{
    (void)arg;
    return 1;
}

static void
put_line(struct fixture *f, const char *id, const char *text)
{
    char *dir = xasprintf("%s/docker/%s", f->root, id);
    char *path = xasprintf("%s/%s-json.log", dir, id);

    mkdir(dir, 0755);
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    free(path);
    free(dir);
}

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    snprintf(f->root, sizeof(f->root), "/tmp/docker_look_test.XXXXXX");
    assert_non_null(mkdtemp(f->root));
    char *dr = xasprintf("%s/docker", f->root);
    assert_int_equal(mkdir(dr, 0755), 0);
    f->base = event_base_new();
    char *sd = xasprintf("%s/state", f->root);
    f->st = state_open(sd, &f->ctr);
    free(sd);
    put_line(f, ID1, LINE("one"));
    put_line(f, ID2, LINE("two"));
    put_line(f, ID3, LINE("three"));
    struct docker_config cfg = {
        .root = dr, .tail = { 1 << 20, 256 << 10, NULL },
        .rescan_ms = 1000, .max_gone = 64, .clock_ns = fake_clock,
    };
    struct docker_ops ops = { fx_emit, fx_can_read, f };
    f->d = docker_new(f->base, &cfg, &ops, f->st, &f->ctr);
    free(dr);
    assert_int_equal(docker_start(f->d), 0);
    assert_int_equal(docker_poll(f->d, 0), 0);
    assert_int_equal(f->n, 3);
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

/* One rescan period: inotify events read, the timer's work, the polls.
 * The persistent timer is due every TICK_NS, but a busy loop runs its
 * callback late, here by 0-450 ms at random: a look due at the next tick
 * must not slip to the one after because this tick ran later than the
 * last. */
static size_t
tick(struct fixture *f)
{
    tick_seed = tick_seed * 1103515245u + 12345u;
    tick_base += TICK_NS;
    fake_now = tick_base + (int64_t)((tick_seed >> 16) % 450) * 1000000;
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 0);
    size_t looks = docker_rescan_due(f->d);
    (void)docker_poll(f->d, 0);
    return looks;
}

/* Idle containers: 64 periods cost a handful of looks each, not 64, and
 * the gap between two looks never exceeds 16 periods. */
static void
test_look_idle_backoff(void **state)
{
    struct fixture *f = *state;
    size_t looks = 0, gap = 0, max_gap = 0;

    for (int i = 0; i < 64; i++) {
        size_t n = tick(f);
        looks += n;
        assert_true(n == 0 || n == 3);  /* all three idle alike */
        gap = n > 0 ? 0 : gap + 1;
        if (gap > max_gap)
            max_gap = gap;
    }
    assert_true(looks <= 3 * 10);
    assert_true(looks >= 3 * 4);
    assert_true(max_gap <= 15);
    assert_int_equal(f->n, 3);
    assert_int_equal(f->ctr.rescan_misses, 0);
}

/* Backed off, a write to an idle container, a new container and a removed
 * one are all handled from inotify before any look is due. */
static void
test_look_inotify_prompt(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 40; i++)
        (void)tick(f);
    put_line(f, ID2, LINE("two again"));
    put_line(f, ID4, LINE("four"));
    char *cmd = xasprintf("rm -rf %s/docker/%s", f->root, ID3);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(docker_poll(f->d, 0), 0);
    assert_int_equal(f->n, 5);
    assert_int_equal(docker_count(f->d), 3);    /* 3 read out, forgotten */
    /* the busy container is looked at every period again, the idle one
     * not: the next tick looks at ID2 (an event) and ID4 (new) only */
    put_line(f, ID2, LINE("two, third"));
    size_t looks = tick(f);
    assert_int_equal(f->n, 6);
    assert_string_equal(f->last, "two, third");
    assert_int_equal(looks, 2);
    assert_int_equal(f->ctr.rescan_misses, 0);
}

/* Writes inotify does not report (through a hard link in a directory no
 * one watches) are read by the next look, counted once found, and from
 * then on every container is looked at every period. */
static void
test_look_miss_ends_backoff(void **state)
{
    struct fixture *f = *state;
    char *src = xasprintf("%s/docker/%s/%s-json.log", f->root, ID1, ID1);
    char *lnk = xasprintf("%s/hidden.log", f->root);

    assert_int_equal(link(src, lnk), 0);
    for (int i = 0; i < 40; i++)
        (void)tick(f);
    FILE *fp = fopen(lnk, "a");
    assert_non_null(fp);
    fputs(LINE("unreported"), fp);
    fclose(fp);
    assert_int_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(docker_poll(f->d, 0), 0);
    assert_int_equal(f->n, 3);  /* no event: not read yet */
    int i = 0;
    while (f->n == 3 && i++ < 17)
        (void)tick(f);
    assert_int_equal(f->n, 4);  /* a look found it within 16 periods */
    assert_string_equal(f->last, "unreported");
    while (f->ctr.rescan_misses == 0 && i++ < 40)
        (void)tick(f);
    assert_int_equal(f->ctr.rescan_misses, 1);
    for (int k = 0; k < 3; k++)
        assert_int_equal(tick(f), 3);
    free(lnk);
    free(src);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_look_idle_backoff, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_look_inotify_prompt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_look_miss_ends_backoff, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
