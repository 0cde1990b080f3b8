/* SPDX-License-Identifier: MIT */
/*
 * containers_view_test: `logq containers` byte for byte: states and
 * restart counts joined by host and name (the same name on two hosts kept
 * apart), "stopped" shown as Docker's "exited", "-" without metrics and
 * for a container the metrics do not know, or for the older of two
 * containers with one name (recreated), JSON lines with "state" and
 * "restarts" (null when unknown), and a full buffer reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "query/containers_view.h"
#include "query/health.h"
#include "query/reply.h"

#define SEC 1000000000LL
#define NOW (1795787440LL * SEC)    /* 2026-11-27T13:50:40Z */

static const char list_json[] =
    "[{\"host\":\"n1\",\"container\":\"web\",\"container_id\":"
    "\"aaaaaaaaaaaaaaaa\",\"image\":\"nginx\",\"lines\":12,"
    "\"last_seen\":\"2026-11-27T13:50:30Z\"},"
    "{\"host\":\"n1\",\"container\":\"db\",\"container_id\":\"bbbb\","
    "\"image\":\"pg\",\"lines\":3,\"last_seen\":\"2026-11-27T13:49:40Z\"},"
    "{\"host\":\"n2\",\"container\":\"web\",\"container_id\":\"cccc\","
    "\"image\":\"nginx\",\"lines\":1,\"last_seen\":\"2026-11-27T13:50:39Z\"},"
    "{\"host\":\"n2\",\"container\":\"gone\",\"container_id\":\"dddd\","
    "\"image\":\"x\",\"lines\":5,\"last_seen\":\"2026-11-27T13:00:40Z\"}]";

static const char health_json[] =
    "{\"hosts\":[],\"all_ok\":false,\"containers\":["
    "{\"host\":\"n1\",\"container\":\"web\",\"state\":\"running\","
    "\"restarts\":0,\"healthy\":true,\"reason\":null},"
    "{\"host\":\"n1\",\"container\":\"db\",\"state\":\"stopped\","
    "\"restarts\":7,\"healthy\":false,\"reason\":\"stopped after restarts\"},"
    "{\"host\":\"n2\",\"container\":\"web\",\"state\":\"restarting\","
    "\"restarts\":12,\"healthy\":false,\"reason\":\"restarting\"},"
    "{\"host\":\"n2\",\"container\":\"other\",\"state\":\"paused\","
    "\"restarts\":1,\"healthy\":true,\"reason\":null}]}";

struct fixture {
    struct reply_list   l;
    struct health_reply h;
    size_t              order[4];
    size_t              n;
};

static void
fixture_load(struct fixture *f)
{
    char err[256];

    assert_int_equal(reply_list_parse(list_json, strlen(list_json), &f->l,
                                      err, sizeof(err)), 0);
    assert_int_equal(health_reply_parse(health_json, strlen(health_json),
                                        &f->h, err, sizeof(err)), 0);
    size_t *o = reply_list_sorted(&f->l);
    memcpy(f->order, o, 4 * sizeof(*o));
    f->n = 4;
    free(o);
}

static void
fixture_fini(struct fixture *f)
{
    reply_list_fini(&f->l);
    health_reply_fini(&f->h);
}

static void
render_is(struct fixture *f, const struct health_reply *h, int is_json,
          const char *want)
{
    struct buf out;

    buf_init(&out, 1 << 16);
    assert_int_equal(containers_view_render(&out, &f->l, f->order, f->n, h,
                                            NOW, is_json), 0);
    assert_int_equal(buf_append(&out, "", 1), 0);
    assert_string_equal((const char *)out.data, want);
    buf_fini(&out);
}

static void
test_table_with_metrics(void **state)
{
    struct fixture f;

    (void)state;
    fixture_load(&f);
    render_is(&f, &f.h, 0,
        "HOST  CONTAINER  ID            IMAGE  STATE       RESTARTS  LINES  "
        "LAST SEEN\n"
        "n1    db         bbbb          pg     exited             7      3  "
        "1m ago\n"
        "n1    web        aaaaaaaaaaaa  nginx  running            0     12  "
        "10s ago\n"
        "n2    gone       dddd          x      -                  -      5  "
        "50m ago\n"
        "n2    web        cccc          nginx  restarting        12      1  "
        "1s ago\n");
    fixture_fini(&f);
}

static void
test_table_without_metrics(void **state)
{
    struct fixture f;

    (void)state;
    fixture_load(&f);
    f.n = 1;
    render_is(&f, NULL, 0,
        "HOST  CONTAINER  ID    IMAGE  STATE  RESTARTS  LINES  LAST SEEN\n"
        "n1    db         bbbb  pg     -             -      3  1m ago\n");
    fixture_fini(&f);
}

static void
test_json(void **state)
{
    struct fixture f;

    (void)state;
    fixture_load(&f);
    f.order[1] = f.order[2];        /* n1/db, n2/gone */
    f.n = 2;
    render_is(&f, &f.h, 1,
        "{\"host\":\"n1\",\"container\":\"db\",\"container_id\":\"bbbb\","
        "\"image\":\"pg\",\"lines\":3,\"last_seen\":\"2026-11-27T13:49:40Z\","
        "\"state\":\"exited\",\"restarts\":7}\n"
        "{\"host\":\"n2\",\"container\":\"gone\",\"container_id\":\"dddd\","
        "\"image\":\"x\",\"lines\":5,\"last_seen\":\"2026-11-27T13:00:40Z\","
        "\"state\":null,\"restarts\":null}\n");
    fixture_fini(&f);
}

/* Compose recreated n1/web: the old container (another id, same name)
 * is gone; the metrics, by name, are the new one's and go to the row
 * seen last only. */
static void
test_name_reused(void **state)
{
    static const char two[] =
        "[{\"host\":\"n1\",\"container\":\"web\",\"container_id\":"
        "\"0ld\",\"image\":\"nginx\",\"lines\":4,"
        "\"last_seen\":\"2026-11-27T12:50:40Z\"},"
        "{\"host\":\"n1\",\"container\":\"web\",\"container_id\":"
        "\"new\",\"image\":\"nginx\",\"lines\":2,"
        "\"last_seen\":\"2026-11-27T13:50:30Z\"}]";
    struct fixture f;
    char err[256];

    (void)state;
    fixture_load(&f);
    reply_list_fini(&f.l);
    assert_int_equal(reply_list_parse(two, strlen(two), &f.l, err,
                                      sizeof(err)), 0);
    f.order[0] = 0;
    f.order[1] = 1;
    f.n = 2;
    render_is(&f, &f.h, 0,
        "HOST  CONTAINER  ID   IMAGE  STATE    RESTARTS  LINES  LAST SEEN\n"
        "n1    web        0ld  nginx  -               -      4  1h ago\n"
        "n1    web        new  nginx  running         0      2  10s ago\n");
    f.order[0] = 1;                 /* whatever the order */
    f.order[1] = 0;
    f.n = 2;
    render_is(&f, &f.h, 1,
        "{\"host\":\"n1\",\"container\":\"web\",\"container_id\":\"new\","
        "\"image\":\"nginx\",\"lines\":2,\"last_seen\":"
        "\"2026-11-27T13:50:30Z\",\"state\":\"running\",\"restarts\":0}\n"
        "{\"host\":\"n1\",\"container\":\"web\",\"container_id\":\"0ld\","
        "\"image\":\"nginx\",\"lines\":4,\"last_seen\":"
        "\"2026-11-27T12:50:40Z\",\"state\":null,\"restarts\":null}\n");
    fixture_fini(&f);
}

static void
test_state_names_and_cap(void **state)
{
    struct fixture f;
    struct buf out;

    (void)state;
    assert_string_equal(containers_view_state("stopped"), "exited");
    assert_string_equal(containers_view_state("running"), "running");
    assert_null(containers_view_state(NULL));
    fixture_load(&f);
    buf_init(&out, 40);
    assert_int_equal(containers_view_render(&out, &f.l, f.order, f.n, &f.h,
                                            NOW, 0), -1);
    buf_fini(&out);
    fixture_fini(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_with_metrics),
        cmocka_unit_test(test_table_without_metrics),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_name_reused),
        cmocka_unit_test(test_state_names_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
