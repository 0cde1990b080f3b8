/* SPDX-License-Identifier: MIT */
/*
 * follow_test: staging, publishing, unsubscribing from inside a callback and
 * the staging cap of collector/search/follow.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/follow.h"

struct sink {
    struct follow     *f;
    struct follow_sub *sub;
    int                n_rec;
    int                n_flush;
    int                drop_after;   /* unsubscribe after this many records */
    char               last[64];
};

static void
sink_rec(const struct logrec *r, void *arg)
{
    struct sink *s = arg;

    s->n_rec++;
    size_t n = r->msg_len < sizeof(s->last) - 1 ? r->msg_len
                                                : sizeof(s->last) - 1;
    memcpy(s->last, r->msg, n);
    s->last[n] = '\0';
    assert_string_equal(r->host, "node1");
    assert_string_equal(r->container, "web");
    assert_string_equal(r->image, "");          /* NULL staged as "" */
    if (s->drop_after && s->n_rec == s->drop_after)
        follow_unsubscribe(s->f, s->sub);
}

static void
sink_flush(void *arg)
{
    ((struct sink *)arg)->n_flush++;
}

static struct logrec
mkrec(const char *msg)
{
    struct logrec r = {
        .time_ns = 1, .host = "node1", .container_id = "abc",
        .container = "web", .image = NULL, .stream = 0, .offset = 9,
        .msg = msg, .msg_len = strlen(msg),
    };
    return r;
}

static void
test_follow_publish_to_all(void **state)
{
    (void)state;
    struct follow *f = follow_new(1 << 20);
    struct sink a = { .f = f }, b = { .f = f };

    struct logrec r = mkrec("before anyone listens");
    assert_int_equal(follow_stage(f, &r), 0);
    follow_publish(f);                       /* nothing staged: no-op */
    a.sub = follow_subscribe(f, sink_rec, sink_flush, &a);
    b.sub = follow_subscribe(f, sink_rec, NULL, &b);
    assert_int_equal(follow_n_subscribers(f), 2);
    r = mkrec("one");
    assert_int_equal(follow_stage(f, &r), 0);
    r = mkrec("two");
    assert_int_equal(follow_stage(f, &r), 0);
    assert_int_equal(a.n_rec, 0);            /* nothing before publish */
    follow_publish(f);
    assert_int_equal(a.n_rec, 2);
    assert_int_equal(b.n_rec, 2);
    assert_int_equal(a.n_flush, 1);
    assert_string_equal(a.last, "two");
    follow_publish(f);                       /* stage was cleared */
    assert_int_equal(a.n_rec, 2);
    follow_unsubscribe(f, b.sub);
    assert_int_equal(follow_n_subscribers(f), 1);
    follow_free(f);
}

static void
test_follow_unsubscribe_in_callback(void **state)
{
    (void)state;
    struct follow *f = follow_new(1 << 20);
    struct sink a = { .f = f, .drop_after = 1 }, b = { .f = f };

    a.sub = follow_subscribe(f, sink_rec, sink_flush, &a);
    b.sub = follow_subscribe(f, sink_rec, sink_flush, &b);
    for (int i = 0; i < 3; i++) {
        struct logrec r = mkrec("x");
        assert_int_equal(follow_stage(f, &r), 0);
    }
    follow_publish(f);
    assert_int_equal(a.n_rec, 1);            /* dropped itself */
    assert_int_equal(a.n_flush, 0);
    assert_int_equal(b.n_rec, 3);
    assert_int_equal(follow_n_subscribers(f), 1);
    follow_free(f);                          /* ASan: no leak of a.sub */
}

static void
test_follow_stage_cap(void **state)
{
    (void)state;
    struct follow *f = follow_new(64);
    struct sink a = { .f = f };
    char big[80];

    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    a.sub = follow_subscribe(f, sink_rec, NULL, &a);
    struct logrec r = mkrec("small");
    assert_int_equal(follow_stage(f, &r), 0);
    r = mkrec(big);
    assert_int_equal(follow_stage(f, &r), -1);
    assert_int_equal(follow_n_dropped(f), 1);
    follow_publish(f);
    assert_int_equal(a.n_rec, 1);
    assert_string_equal(a.last, "small");    /* the failed copy left no trace */
    follow_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_publish_to_all),
        cmocka_unit_test(test_follow_unsubscribe_in_callback),
        cmocka_unit_test(test_follow_stage_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
