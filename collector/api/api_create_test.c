/* SPDX-License-Identifier: MIT */
/*
 * api_create_test: a search is created on the query workers, not on the
 * event loop (collector/README.md "Queries off the loop"), through the
 * real HTTP API (api_new on 127.0.0.1, clients on the same loop, which is
 * this thread): /logs, /count and /histogram with regexes answer
 * correctly while this thread compiles no pattern (the thread-local
 * query_regex_n_compiled_here); their 400s (bad regex, order=tail with
 * before/after, a bad histogram step after a bad regex) are unchanged;
 * and a client that leaves while its creation job waits behind a busy
 * worker is cleaned up (the search slot comes back; ASan/TSan see no use
 * after free; evhttp sees the client gone when the reply is written),
 * and so is every waiting creation when the collector stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "collector/api/api.h"
#include "collector/api/api_internal.h"
#include "collector/search/follow.h"
#include "collector/search/pool.h"
#include "collector/search/query_regex.h"
#include "collector/stats.h"
#include "collector/store/store.h"
#include "common/record.h"
#include "common/xmalloc.h"
#include "tests/support/apiserver.h"
#include "tests/support/apitest.h"

/* The store's block size for the next setup (0: the default). */
static size_t fixture_block_size;

/* A record at offset off, its time t ns after the fixture's epoch. */
static void
record_put_at(struct store *s, struct follow *fl, uint64_t off, int64_t t,
              const char *msg)
{
    struct logrec r = {
        .time_ns = 1700000000000000000LL + t, .host = "h1",
        .container_id = "c1", .container = "web", .image = "img",
        .stream = 0, .offset = off, .msg = msg, .msg_len = strlen(msg),
    };

    assert_int_equal(store_append(s, &r), 1);
    if (fl != NULL)
        assert_int_equal(follow_stage(fl, &r), 0);
}

static void
record_put(struct store *s, struct follow *fl, uint64_t off, const char *msg)
{
    record_put_at(s, fl, off, (int64_t)off, msg);
}

static void
store_put(struct store *s, uint64_t off, const char *msg)
{
    record_put(s, NULL, off, msg);
}

static int
setup(void **state)
{
    struct store_options sopt = { .block_size = fixture_block_size };
    struct apitest_server *f = apitest_server_new("api_create_test", &sopt);

    store_put(f->store, 10, "hello world");
    store_put(f->store, 20, "error 42 here");
    store_put(f->store, 30, "error 7 there");
    store_put(f->store, 40, "fine");
    assert_int_equal(store_commit(f->store), 0);
    apitest_server_start(f, 1 << 20, (struct api_options){
        .query_threads = 1, .max_searches = 4 });
    *state = f;
    return 0;
}

/* Blocks of a few records: a history crosses block boundaries. */
static int
setup_small_blocks(void **state)
{
    fixture_block_size = 64;
    int rc = setup(state);
    fixture_block_size = 0;
    return rc;
}

static int
teardown(void **state)
{
    apitest_server_close(*state);
    return 0;
}

/* GET path (POST post if not NULL) expecting code; the reply must
 * contain want. */
static void
expect_req(struct apitest_server *f, const char *path, const char *post,
           int want_code, const char *want)
{
    apitest_expect(f->base, api_port(f->api), path, post, want_code, want);
}

static void
expect(struct apitest_server *f, const char *path, int want_code, const char *want)
{
    expect_req(f, path, NULL, want_code, want);
}

/* Every route's regex compiled on a worker; answers right. */
static void
test_created_on_worker(void **state)
{
    struct apitest_server *f = *state;
    uint64_t before = query_regex_n_compiled_here();

    expect(f, "/api/v1/logs?regex=err%5Bo%5Dr%20%5B0-9%5D%2B&limit=0", 200,
           "error 42 here");
    expect(f, "/api/v1/logs?regex=err%5Bo%5Dr%20%5B0-9%5D%2B&limit=0", 200,
           "error 7 there");
    expect(f, "/api/v1/count?regex=err%5Bo%5Dr", 200, "2");
    expect(f, "/api/v1/histogram?regex=wor%5Bl%5Dd&step=1h"
           "&since=1699999200000000000&until=1700002800000000000", 200, "1");
    expect(f, "/api/v1/logs?q=hello&not_regex=x%2By", 200, "hello world");
    assert_int_equal(f->api->n_searches, 0);
    /* The same patterns compiled here do count: the check can fail. */
    struct query_regex *re = query_regex_new("err[o]r", 0, NULL);
    assert_non_null(re);
    query_regex_free(re);
    assert_int_equal(query_regex_n_compiled_here(), before + 1);
}

/* The errors of creation keep their status, body and order. */
static void
test_create_errors(void **state)
{
    struct apitest_server *f = *state;
    uint64_t before = query_regex_n_compiled_here();

    expect(f, "/api/v1/logs?regex=%28", 400, "bad regex '('");
    expect(f, "/api/v1/count?regex=%28", 400, "bad regex '('");
    expect(f, "/api/v1/logs?order=tail&limit=5&before=2", 400,
           "order=tail cannot be used with before/after");
    /* both wrong: the regex is reported, as before */
    expect(f, "/api/v1/logs?regex=%28&order=tail&limit=5&before=2", 400,
           "bad regex '('");
    expect(f, "/api/v1/histogram?step=1ms", 400, "too many histogram buckets");
    expect(f, "/api/v1/histogram?regex=%28&step=1ms", 400, "bad regex '('");
    expect(f, "/api/v1/logs?limit=x", 400, "limit");
    assert_int_equal(query_regex_n_compiled_here(), before);
    assert_int_equal(f->api->n_searches, 0);
}

/* A job that holds the only worker until released. */
struct blocker {
    struct pool_job job;
    int             is_release;     /* atomic */
    int             is_running;     /* atomic */
};

static void
blocker_run(struct pool_job *j)
{
    struct blocker *b = j->arg;
    struct timespec ts = { 0, 1000000 };

    __atomic_store_n(&b->is_running, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 60000 && !pool_is_cancelled(j) &&
                    !__atomic_load_n(&b->is_release, __ATOMIC_SEQ_CST); i++)
        nanosleep(&ts, NULL);
}

static void
blocker_done(struct pool_job *j, int is_run)
{
}

static void
run_loop(struct apitest_server *f, int ms)
{
    apitest_run_loop(f->base, ms);
}

/* A raw client that sent GET path (nothing when NULL: the caller writes). */
static int
raw_get(struct apitest_server *f, const char *path)
{
    return apitest_raw(api_port(f->api), path, NULL);
}

/* Clients leave while their creation job waits: each is cleaned up, its
 * search slot returned; the worker then serves the next client. */
static void
test_client_gone_mid_creation(void **state)
{
    struct apitest_server *f = *state;
    struct blocker b = { .job = { .run = blocker_run, .done = blocker_done,
                                  .arg = &b } };
    static const char *const paths[] = {
        "/api/v1/logs?regex=err%5Bo%5Dr", "/api/v1/count?regex=err%5Bo%5Dr",
        "/api/v1/histogram?regex=err%5Bo%5Dr&step=1h",
    };
    int fds[3];

    assert_int_equal(pool_submit(f->api->pool, &b.job), 0);
    for (int i = 0; i < 2000 &&
                    !__atomic_load_n(&b.is_running, __ATOMIC_SEQ_CST); i++)
        run_loop(f, 5);
    assert_true(__atomic_load_n(&b.is_running, __ATOMIC_SEQ_CST));
    for (int i = 0; i < 3; i++)
        fds[i] = raw_get(f, paths[i]);
    for (int i = 0; i < 4000 && f->api->n_searches < 3; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_searches, 3);    /* counted from acceptance */
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    run_loop(f, 50);                            /* the server sees EOFs */
    __atomic_store_n(&b.is_release, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 4000 && f->api->n_searches > 0; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_searches, 0);
    expect(f, "/api/v1/count?regex=err%5Bo%5Dr", 200, "2");
}

/* The collector stops while creation jobs wait behind a busy worker:
 * each is cancelled, answered 503 and freed (LeakSanitizer would see a
 * search left behind; ASan a use after free). */
static void
test_stop_mid_creation(void **state)
{
    struct apitest_server *f = *state;
    struct blocker b = { .job = { .run = blocker_run, .done = blocker_done,
                                  .arg = &b } };
    int fds[2];

    assert_int_equal(pool_submit(f->api->pool, &b.job), 0);
    for (int i = 0; i < 2000 &&
                    !__atomic_load_n(&b.is_running, __ATOMIC_SEQ_CST); i++)
        run_loop(f, 5);
    assert_true(__atomic_load_n(&b.is_running, __ATOMIC_SEQ_CST));
    fds[0] = raw_get(f, "/api/v1/logs?regex=err%5Bo%5Dr");
    fds[1] = raw_get(f, "/api/v1/count?regex=err%5Bo%5Dr");
    for (int i = 0; i < 4000 && f->api->n_searches < 2; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_searches, 2);
    api_free(f->api);           /* cancels the blocker and both creations */
    f->api = NULL;
    close(fds[0]);
    close(fds[1]);
}

/* Reads what fd has (non-blocking) onto got (at most max - 1 bytes). */
static void
read_some(int fd, char *got, size_t max)
{
    size_t len = strlen(got);
    ssize_t n;

    while (len + 1 < max &&
           (n = recv(fd, got + len, max - 1 - len, MSG_DONTWAIT)) > 0)
        len += (size_t)n;
    got[len] = '\0';
}

/* A /follow stream's query is compiled and its history search created
 * on a worker: the history comes right, a line committed once it is
 * subscribed comes live, and this thread compiles no pattern. */
static void
test_follow_created_on_worker(void **state)
{
    struct apitest_server *f = *state;
    uint64_t before = query_regex_n_compiled_here();
    char got[8192] = "";
    int fd = raw_get(f, "/api/v1/follow?regex=err%5Bo%5Dr%20%5B0-9%5D%2B"
                        "&limit=10");

    for (int i = 0; i < 4000 && strstr(got, "error 7 there") == NULL; i++) {
        run_loop(f, 5);
        read_some(fd, got, sizeof(got));
    }
    assert_non_null(strstr(got, " 200 "));
    assert_non_null(strstr(got, "error 42 here"));
    assert_non_null(strstr(got, "error 7 there"));
    assert_null(strstr(got, "hello world"));
    /* a live line, matched on a worker too */
    record_put(f->store, f->follow, 50, "error 99 live");
    record_put(f->store, f->follow, 60, "no match live");
    assert_int_equal(store_commit(f->store), 0);
    follow_publish(f->follow);
    for (int i = 0; i < 4000 && strstr(got, "error 99 live") == NULL; i++) {
        run_loop(f, 5);
        read_some(fd, got, sizeof(got));
    }
    assert_non_null(strstr(got, "error 99 live"));
    assert_null(strstr(got, "no match live"));
    /* each history line once */
    const char *first = strstr(got, "error 42 here");
    assert_null(strstr(first + 1, "error 42 here"));
    close(fd);
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 0);
    expect(f, "/api/v1/follow?regex=%28", 400, "bad regex '('");
    assert_int_equal(f->api->n_followers, 0);
    assert_int_equal(query_regex_n_compiled_here(), before);
}

static int count_of(const char *hay, const char *needle);

/* A follower with a selection over more sources than its cache holds
 * (1024): the cache starts again and /health counts it. */
static void
test_follow_selcache_resets(void **state)
{
    struct apitest_server *f = *state;
    char got[8192] = "";
    int fd = raw_get(f, "/api/v1/follow?container=we%2A&limit=0");

    for (int i = 0; i < 4000 && f->api->n_followers < 1; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 1);
    run_loop(f, 50);                /* subscribed */
    for (int h = 0; h < 1100; h++) {
        char host[16];
        snprintf(host, sizeof(host), "src%d", h);
        struct logrec r = {
            .time_ns = 1700000000000000000LL + 100, .host = host,
            .container_id = "c1", .container = "web", .image = "img",
            .offset = 1, .msg = "many sources", .msg_len = 12,
        };
        assert_int_equal(store_append(f->store, &r), 1);
        assert_int_equal(follow_stage(f->follow, &r), 0);
    }
    assert_int_equal(store_commit(f->store), 0);
    follow_publish(f->follow);
    for (int i = 0; i < 4000 && count_of(got, "many sources") < 10; i++) {
        run_loop(f, 5);
        read_some(fd, got, sizeof(got));
    }
    assert_int_equal(f->stats.follow_selcache_resets, 1);
    expect(f, "/health", 200, "\"follow_selcache_resets\":1");
    close(fd);
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
}

/* The number of times needle occurs in hay. */
static int
count_of(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Live lines committed while a follower's history search waits to be
 * created (the only worker busy), one of them late (older than every
 * stored line), others across block boundaries; more once the history
 * runs: the history's cursor, created after them, sees them too, and
 * each matching line reaches each follower exactly once (all history:
 * limit=0; tail: limit=100; limit=2, whose two newest came live). */
static void
test_follow_live_during_creation(void **state)
{
    struct apitest_server *f = *state;
    struct blocker b = { .job = { .run = blocker_run, .done = blocker_done,
                                  .arg = &b } };
    static const char *const want[] = {
        "error 42 here", "error 7 there", "error late", "error live 1",
        "error live 2", "error after", "error tardy",
    };
    char got[3][16384] = { "", "", "" };
    int fds[3];

    assert_int_equal(pool_submit(f->api->pool, &b.job), 0);
    for (int i = 0; i < 2000 &&
                    !__atomic_load_n(&b.is_running, __ATOMIC_SEQ_CST); i++)
        run_loop(f, 5);
    assert_true(__atomic_load_n(&b.is_running, __ATOMIC_SEQ_CST));
    fds[0] = raw_get(f, "/api/v1/follow?q=error&limit=0");
    fds[1] = raw_get(f, "/api/v1/follow?q=error&limit=100");
    fds[2] = raw_get(f, "/api/v1/follow?q=error&limit=2");
    for (int i = 0; i < 4000 && f->api->n_followers < 3; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 3);
    /* subscribed, history not created yet: three commits, one late */
    record_put(f->store, f->follow, 50, "error live 1");
    assert_int_equal(store_commit(f->store), 0);
    follow_publish(f->follow);
    record_put_at(f->store, f->follow, 52, 5, "error late");
    record_put(f->store, f->follow, 55, "nothing here");
    assert_int_equal(store_commit(f->store), 0);
    follow_publish(f->follow);
    record_put(f->store, f->follow, 60, "error live 2");
    assert_int_equal(store_commit(f->store), 0);
    follow_publish(f->follow);
    __atomic_store_n(&b.is_release, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 4000 && (strstr(got[0], "error live 2") == NULL ||
                                strstr(got[1], "error live 2") == NULL ||
                                strstr(got[2], "error live 2") == NULL);
         i++) {
        run_loop(f, 5);
        for (int k = 0; k < 3; k++)
            read_some(fds[k], got[k], sizeof(got[k]));
    }
    /* the stream runs: two more, one of them late again */
    record_put(f->store, f->follow, 70, "error after");
    record_put_at(f->store, f->follow, 72, 1, "error tardy");
    assert_int_equal(store_commit(f->store), 0);
    follow_publish(f->follow);
    for (int i = 0; i < 4000 && (strstr(got[0], "error tardy") == NULL ||
                                strstr(got[1], "error tardy") == NULL ||
                                strstr(got[2], "error tardy") == NULL);
         i++) {
        run_loop(f, 5);
        for (int k = 0; k < 3; k++)
            read_some(fds[k], got[k], sizeof(got[k]));
    }
    run_loop(f, 50);                /* nothing further may come */
    for (int k = 0; k < 3; k++) {
        read_some(fds[k], got[k], sizeof(got[k]));
        assert_non_null(strstr(got[k], " 200 "));
        /* limit=2: the two newest (live 1 and 2) came live, so the
         * history sends nothing (API.md /follow "History") */
        size_t first = k == 2 ? 2 : 0;
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            int n_want = i >= first ? 1 : 0;
            if (count_of(got[k], want[i]) != n_want)
                print_error("follower %d: '%s' %d times in:\n%s\n", k,
                            want[i], count_of(got[k], want[i]), got[k]);
            assert_int_equal(count_of(got[k], want[i]), n_want);
        }
        assert_int_equal(count_of(got[k], "nothing here"), 0);
        assert_int_equal(count_of(got[k], "\"message\""),
                         7 - (int)first);
        close(fds[k]);
    }
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 0);
    assert_int_equal(f->api->feed_budget.used, 0);
}

/* A follower and a Grafana call that leave while their first job waits
 * behind a busy worker are cleaned up (their slots come back). */
static void
test_follow_gone_mid_creation(void **state)
{
    struct apitest_server *f = *state;
    struct blocker b = { .job = { .run = blocker_run, .done = blocker_done,
                                  .arg = &b } };
    static const char post[] =
        "POST /grafana/query HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Length: 14\r\n\r\n{\"targets\":[]}";

    assert_int_equal(pool_submit(f->api->pool, &b.job), 0);
    for (int i = 0; i < 2000 &&
                    !__atomic_load_n(&b.is_running, __ATOMIC_SEQ_CST); i++)
        run_loop(f, 5);
    int fd = raw_get(f, "/api/v1/follow?regex=err%5Bo%5Dr&limit=0");
    for (int i = 0; i < 4000 && f->api->n_followers < 1; i++)
        run_loop(f, 5);
    int gfd = raw_get(f, NULL);
    assert_int_equal(write(gfd, post, sizeof(post) - 1),
                     (ssize_t)sizeof(post) - 1);
    for (int i = 0; i < 4000 && f->api->n_parsing < 1; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 1);
    assert_int_equal(f->api->n_parsing, 1);
    record_put(f->store, f->follow, 50, "error live");   /* in its feed */
    assert_int_equal(store_commit(f->store), 0);
    follow_publish(f->follow);
    assert_true(f->api->feed_budget.used > 0);
    close(fd);
    close(gfd);
    run_loop(f, 50);
    __atomic_store_n(&b.is_release, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 4000 && (f->api->n_followers > 0 ||
                                f->api->n_parsing > 0); i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 0);
    assert_int_equal(f->api->n_parsing, 0);
    assert_int_equal(f->api->feed_budget.used, 0);  /* every byte back */
}

/* Grafana: the request body (its ad-hoc filter regexes) is parsed and a
 * log target's search created on a worker; the answers and the errors
 * are unchanged. */
static void
test_grafana_created_on_worker(void **state)
{
    struct apitest_server *f = *state;
    uint64_t before = query_regex_n_compiled_here();
    static const char range[] =
        "\"range\":{\"from\":\"2023-11-14T22:00:00Z\","
        "\"to\":\"2023-11-14T23:00:00Z\"}";
    char body[1024];

    snprintf(body, sizeof(body), "{%s,\"adhocFilters\":[{\"key\":"
             "\"container\",\"operator\":\"=~\",\"value\":\"we[b]\"}],"
             "\"targets\":[{\"refId\":\"A\",\"target\":\"logs\","
             "\"payload\":{\"q\":\"error\"}}]}", range);
    expect_req(f, "/grafana/query", body, 200, "error 42 here");
    snprintf(body, sizeof(body), "{%s,\"targets\":[{\"refId\":\"A\","
             "\"target\":\"logs:count\",\"payload\":{\"q\":\"error\"}}]}",
             range);
    expect_req(f, "/grafana/query", body, 200, "\"target\":\"h1\"");
    snprintf(body, sizeof(body), "{%s,\"adhocFilters\":[{\"key\":"
             "\"container\",\"operator\":\"=~\",\"value\":\"(a\"}],"
             "\"targets\":[]}", range);
    expect_req(f, "/grafana/query", body, 400, "adhocFilters");
    snprintf(body, sizeof(body), "{%s,\"targets\":[{\"refId\":\"A\","
             "\"target\":\"logs\",\"payload\":{\"q\":\"\\\"x\"}}]}",
             range);
    expect_req(f, "/grafana/query", body, 400, "unterminated quote");
    expect_req(f, "/grafana/query", "{", 400, "error");
    assert_int_equal(f->api->n_searches, 0);
    assert_int_equal(query_regex_n_compiled_here(), before);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_created_on_worker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_mid_creation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_mid_creation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_follow_selcache_resets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_follow_created_on_worker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_follow_live_during_creation,
                                        setup_small_blocks, teardown),
        cmocka_unit_test_setup_teardown(test_follow_gone_mid_creation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_grafana_created_on_worker,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
