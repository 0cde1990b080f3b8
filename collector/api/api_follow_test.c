/* SPDX-License-Identifier: MIT */
/*
 * api_follow_test: a live follower's delivery through the real HTTP API
 * (api_new on 127.0.0.1, this thread its loop, one query worker), the
 * client a raw socket with a small receive buffer so that what it does
 * not read piles up in the collector:
 * - a client that reads in bursts while 19 MiB of lines are published in
 *   rounds: every line arrives once, in commit order, none dropped; the
 *   collector queued the next job only once the socket's output had
 *   drained (the written callback: had that kick been lost, the lines
 *   would stop), and a job formats every line waiting, so chunks over a
 *   search's 64 KiB slice come (the pace of a follower was one 64 KiB
 *   slice per worker round trip: BENCHMARKS.md "What sets the follower's
 *   pace");
 * - a client that never reads is dropped once its feed passes its cap,
 *   counted, and every byte of its feed is given back (bounded memory,
 *   API.md /follow);
 * - a resumed follow (received_since) gets every line received since its
 *   point once, in order, and reads only the blocks received since;
 * - a resumed follow whose client stops reading during the catch-up while
 *   more lines come than a catch-up could hold beside it is not dropped
 *   (it was, and resumed from the same point with a larger gap, again
 *   and again: BENCHMARKS.md "Live tail: catch-ups in rounds"), and gets
 *   every line once, in order, then the live ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <cmocka.h>
#include <event2/event.h>

#include "collector/api/api.h"
#include "collector/api/api_internal.h"
#include "collector/search/follow.h"
#include "collector/stats.h"
#include "collector/store/store.h"
#include "common/buf.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "tests/support/apiserver.h"
#include "tests/support/apitest.h"

#define MSG_BYTES 1000          /* a line's message */
#define RCVBUF    (32 << 10)    /* the client's receive buffer */

static int
setup(void **state)
{
    struct apitest_server *f = apitest_server_new("api_follow_test", NULL);

    apitest_server_start(f, (size_t)4 << 20, (struct api_options){
        .query_threads = 1, .max_searches = 4 });
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    apitest_server_close(*state);
    return 0;
}

static void
run_loop(struct apitest_server *f, int ms)
{
    apitest_run_loop(f->base, ms);
}

/* GET path from a socket whose receive buffer is RCVBUF. */
static int
small_get(struct apitest_server *f, const char *path)
{
    return apitest_raw_rcvbuf(api_port(f->api), path, NULL, RCVBUF);
}

/* Publishes n lines "line <seq> xxx...", seq from *seq on, as one
 * commit. */
static void
publish(struct apitest_server *f, uint64_t *seq, int n)
{
    char msg[MSG_BYTES + 1];

    for (int i = 0; i < n; i++, (*seq)++) {
        memset(msg, 'x', MSG_BYTES);
        int k = snprintf(msg, sizeof(msg), "line %08llu ",
                         (unsigned long long)*seq);
        msg[k] = 'x';
        msg[MSG_BYTES] = '\0';
        struct logrec r = {
            .time_ns = 1700000000000000000LL + (int64_t)*seq, .host = "h1",
            .container_id = "c1", .container = "web", .image = "img",
            .offset = *seq * 2000, .msg = msg, .msg_len = MSG_BYTES,
            .recv_ns = 1700000000000000000LL + (int64_t)*seq,
        };
        assert_int_equal(follow_stage(f->follow, &r), 0);
    }
    follow_publish(f->follow);
}

/* The client side: the raw bytes read, then the chunked body decoded
 * into lines, each checked to be the next sequence number. */
struct lreader {
    int        fd;
    struct buf raw;
    size_t     at;          /* parsed up to here */
    int        has_head;
    uint64_t   next;        /* the seq the next line must carry */
    size_t     max_chunk;
    struct buf body;        /* decoded bytes not yet a whole line */
    int        n_resume;    /* {"resume":...} lines */
};

static void
lreader_lines(struct lreader *r)
{
    size_t start = 0;
    const char *p = (const char *)r->body.data;

    if (r->body.len == 0)
        return;

    for (size_t i = 0; i < r->body.len; i++) {
        if (p[i] != '\n')
            continue;
        if (i == start) {           /* a keep-alive */
            start = i + 1;
            continue;
        }
        if (i - start > 10 && memcmp(p + start, "{\"resume\":", 10) == 0) {
            r->n_resume++;          /* the history ends here */
            start = i + 1;
            continue;
        }
        const char *m = memmem(p + start, i - start, "\"message\":\"line ",
                               16);
        assert_non_null(m);
        unsigned long long seq = strtoull(m + 16, NULL, 10);
        if (seq != r->next)
            fail_msg("line %llu came where %llu was due", seq,
                     (unsigned long long)r->next);
        r->next++;
        start = i + 1;
    }
    memmove(r->body.data, r->body.data + start, r->body.len - start);
    r->body.len -= start;
}

/* Decodes the whole chunks read so far. */
static void
lreader_parse(struct lreader *r)
{
    const char *p = (const char *)r->raw.data;

    if (r->raw.len == 0)
        return;
    if (!r->has_head) {
        const char *end = memmem(p, r->raw.len, "\r\n\r\n", 4);
        if (end == NULL)
            return;
        assert_non_null(memmem(p, (size_t)(end - p), " 200 ", 5));
        r->at = (size_t)(end - p) + 4;
        r->has_head = 1;
    }
    for (;;) {
        const char *c = p + r->at;
        size_t left = r->raw.len - r->at;
        const char *crlf = memmem(c, left, "\r\n", 2);
        if (crlf == NULL)
            break;
        size_t size = strtoul(c, NULL, 16);
        size_t head = (size_t)(crlf - c) + 2;
        if (left < head + size + 2)
            break;
        assert_true(size > 0);      /* the stream does not end */
        if (size > r->max_chunk)
            r->max_chunk = size;
        assert_int_equal(buf_append(&r->body, c + head, size), 0);
        r->at += head + size + 2;
    }
    lreader_lines(r);
    memmove(r->raw.data, r->raw.data + r->at, r->raw.len - r->at);
    r->raw.len -= r->at;
    r->at = 0;
}

static void
lreader_read(struct lreader *r)
{
    char tmp[65536];
    ssize_t n;

    while ((n = recv(r->fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0)
        assert_int_equal(buf_append(&r->raw, tmp, (size_t)n), 0);
    lreader_parse(r);
}

/* Twice 8192 lines (9.5 MiB of JSON, over the kernel's socket buffers
 * and API_FOLLOW_LOW_QUEUED) published while the client reads nothing,
 * then read: each line once, in order, none dropped, in chunks of more
 * than a search's 64 KiB slice. The lines past the socket's buffers wait
 * in the feed, and only the written callback (the queue drained) moves
 * them on once the publishing stops. */
static void
test_follow_bursts_in_order(void **state)
{
    struct apitest_server *f = *state;
    struct lreader r = { .fd = small_get(f, "/api/v1/follow") };
    uint64_t seq = 0;

    buf_init(&r.raw, (size_t)64 << 20);
    buf_init(&r.body, (size_t)64 << 20);
    for (int i = 0; i < 4000 && f->api->n_followers < 1; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 1);
    run_loop(f, 50);                /* subscribed, stream begun */
    for (int burst = 0; burst < 2; burst++) {
        for (int round = 0; round < 4; round++) {
            publish(f, &seq, 2048);
            run_loop(f, 20);        /* not read: the output piles up */
        }
        for (int i = 0; i < 4000 && r.next < seq; i++) {
            run_loop(f, 2);
            lreader_read(&r);
        }
    }
    assert_int_equal(r.next, seq);
    run_loop(f, 50);                /* nothing further may come */
    lreader_read(&r);
    assert_int_equal(r.next, seq);
    assert_int_equal(r.body.len, 0);
    assert_int_equal(f->stats.follow_clients_dropped, 0);
    assert_true(r.max_chunk > (256u << 10));
    close(r.fd);
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 0);
    assert_int_equal(f->api->feed_budget.used, 0);
    buf_fini(&r.raw);
    buf_fini(&r.body);
}

/* A client that never reads: dropped once its feed is full, counted,
 * its bytes given back; the budget never passed its cap. */
static void
test_follow_not_reading_dropped(void **state)
{
    struct apitest_server *f = *state;
    int fd = small_get(f, "/api/v1/follow");
    uint64_t seq = 0;
    size_t max_used = 0;

    for (int i = 0; i < 4000 && f->api->n_followers < 1; i++)
        run_loop(f, 5);
    run_loop(f, 50);
    /* at most 96 MiB: past both batches' caps and the budget's */
    for (int i = 0; i < 96 && f->stats.follow_clients_dropped == 0; i++) {
        publish(f, &seq, 1024);
        if (f->api->feed_budget.used > max_used)
            max_used = f->api->feed_budget.used;
        run_loop(f, 2);
    }
    assert_int_equal(f->stats.follow_clients_dropped, 1);
    assert_true(max_used <= API_FOLLOW_MAX_FEEDS);
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 0);
    assert_int_equal(f->api->feed_budget.used, 0);
    close(fd);
}

/* A client that stops reading for a moment while its lines pile up past
 * half the budget (more than a feed batch used to hold alone: it was
 * dropped at 32 MiB of copies in its live batch, ~0.6 s of 50 MiB/s)
 * but within the budget: not dropped, and every line arrives once, in
 * order, when it reads again; the budget never passed its cap. */
static void
test_follow_behind_within_budget_kept(void **state)
{
    struct apitest_server *f = *state;
    struct lreader r = { .fd = small_get(f, "/api/v1/follow") };
    uint64_t seq = 0;
    size_t max_used = 0;

    buf_init(&r.raw, (size_t)128 << 20);
    buf_init(&r.body, (size_t)64 << 20);
    for (int i = 0; i < 4000 && f->api->n_followers < 1; i++)
        run_loop(f, 5);
    run_loop(f, 50);
    /* 40 rounds of 1024 lines: ~45 MiB of copies, not read */
    for (int round = 0; round < 40; round++) {
        publish(f, &seq, 1024);
        if (f->api->feed_budget.used > max_used)
            max_used = f->api->feed_budget.used;
        run_loop(f, 2);
    }
    assert_true(max_used > API_FOLLOW_MAX_FEEDS / 2);
    assert_true(max_used <= API_FOLLOW_MAX_FEEDS);
    assert_int_equal(f->stats.follow_clients_dropped, 0);
    for (int i = 0; i < 20000 && r.next < seq; i++) {
        run_loop(f, 1);
        lreader_read(&r);
    }
    assert_int_equal(r.next, seq);
    assert_int_equal(f->stats.follow_clients_dropped, 0);
    close(r.fd);
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->feed_budget.used, 0);
    buf_fini(&r.raw);
    buf_fini(&r.body);
}

/* A resumed follow (received_since) over a store of many sealed blocks:
 * the history is every line received since the point, each once, in
 * order, then the resume line; and the store read only the blocks
 * received since (collector/STORE.md "Receive-time range"), not the whole
 * store as before. The point is the stamp of a batch in the last blocks;
 * the batches (10 lines a stamp) do not align with blocks. */
static void
test_follow_resume_reads_since(void **state)
{
    struct store_options so = { .block_size = 16 << 10,
                                .segment_size = 256 << 10,
                                .frame_size = 4096 };
    struct apitest_server *f = apitest_server_new("api_follow_resume", &so);
    char msg[201], path[96];
    const uint64_t n = 3000, from = 2900;
    struct store_stats st0, st1;

    (void)state;
    apitest_server_start(f, (size_t)4 << 20, (struct api_options){
        .query_threads = 1, .max_searches = 4 });
    for (uint64_t seq = 0; seq < n; seq++) {
        memset(msg, 'x', 200);
        int k = snprintf(msg, sizeof(msg), "line %08llu ",
                         (unsigned long long)seq);
        msg[k] = 'x';
        msg[200] = '\0';
        struct logrec r = {
            .time_ns = 1700000000000000000LL + (int64_t)seq, .host = "h1",
            .container_id = "c1", .container = "web", .image = "img",
            .offset = seq + 1, .msg = msg, .msg_len = 200,
            .recv_ns = 1700000000000000000LL + (int64_t)(seq / 10) * 1000,
        };
        assert_int_equal(store_append(f->store, &r), 1);
        if (seq % 200 == 199)
            assert_int_equal(store_commit(f->store), 0);
    }
    assert_int_equal(store_commit(f->store), 0);
    assert_int_equal(store_sync(f->store), 0);
    store_get_stats(f->store, &st0);
    assert_true(st0.n_blocks > 30);
    snprintf(path, sizeof(path), "/api/v1/follow?received_since=%lld",
             1700000000000000000LL + (long long)(from / 10) * 1000);
    struct lreader r = { .fd = apitest_raw(api_port(f->api), path, NULL),
                         .next = from };
    buf_init(&r.raw, (size_t)16 << 20);
    buf_init(&r.body, (size_t)16 << 20);
    for (int i = 0; i < 2000 && r.n_resume == 0; i++) {
        run_loop(f, 5);
        lreader_read(&r);
    }
    assert_int_equal(r.n_resume, 1);
    assert_int_equal(r.next, n);    /* from..n-1, each once, in order */
    store_get_stats(f->store, &st1);
    /* the blocks of the last ~100 lines (30 KiB: 2-4 blocks, a few
     * frames each), not the store's */
    assert_true(st1.n_cursor_reads - st0.n_cursor_reads < 24);
    close(r.fd);
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
    buf_fini(&r.raw);
    buf_fini(&r.body);
    apitest_server_close(f);
}

/* Stores n lines "line <seq> xxx..." (len bytes, at most 4000), seq from
 * *seq on, as ingest does: batches of 10 stamped by follow_recv_next,
 * each record staged, commits of 500 published in the commit's loop
 * turn. Returns the first batch's stamp. */
static int64_t
store_publish_len(struct apitest_server *f, uint64_t *seq, uint64_t n,
                  size_t len)
{
    char msg[4001];
    int64_t recv = 0, first = 0;

    assert_true(len >= 20 && len < sizeof(msg));
    for (uint64_t i = 0; i < n; i++, (*seq)++) {
        memset(msg, 'x', len);
        int k = snprintf(msg, sizeof(msg), "line %08llu ",
                         (unsigned long long)*seq);
        msg[k] = 'x';
        msg[len] = '\0';
        if (i % 10 == 0)
            recv = follow_recv_next(f->follow, now_ns());
        if (i == 0)
            first = recv;
        struct logrec r = {
            .time_ns = 1700000000000000000LL + (int64_t)*seq, .host = "h1",
            .container_id = "c1", .container = "web", .image = "img",
            .offset = *seq + 1, .msg = msg, .msg_len = len, .recv_ns = recv,
        };
        assert_int_equal(store_append(f->store, &r), 1);
        assert_int_equal(follow_stage(f->follow, &r), 0);
        if (i % 500 == 499 || i == n - 1) {
            assert_int_equal(store_commit(f->store), 0);
            follow_publish(f->follow);
        }
    }
    return first;
}

static int64_t
store_publish(struct apitest_server *f, uint64_t *seq, uint64_t n)
{
    return store_publish_len(f, seq, n, 200);
}

/* A resumed follow (received_since) whose client reads nothing while
 * 80,000 lines come during its catch-up (more than the 65,536 live lines
 * a history may hold beside it, ~1.3 s of 50 MiB/s): not dropped; when
 * it reads, every line since the point once, in order, one resume line,
 * then live lines. Before, the live lines waited beside the catch-up and
 * the follower was dropped ("too many live lines while sending
 * history"), to resume from the same point with a larger gap. */
static void
test_follow_resume_stalled_not_dropped(void **state)
{
    struct apitest_server *f = *state;
    uint64_t seq = 0;
    char path[96];
    int64_t from = store_publish(f, &seq, 20000);

    snprintf(path, sizeof(path), "/api/v1/follow?received_since=%lld",
             (long long)from);
    struct lreader r = { .fd = small_get(f, path) };
    buf_init(&r.raw, (size_t)128 << 20);
    buf_init(&r.body, (size_t)128 << 20);
    for (int i = 0; i < 4000 && f->api->n_followers < 1; i++)
        run_loop(f, 5);             /* taken in, however slow */
    run_loop(f, 100);               /* the catch-up fills the socket */
    assert_int_equal(f->api->n_followers, 1);
    for (int i = 0; i < 160; i++) {
        (void)store_publish(f, &seq, 500);
        if (i % 4 == 3)
            run_loop(f, 2);
    }
    run_loop(f, 20);
    assert_int_equal(f->stats.follow_clients_dropped, 0);
    for (int i = 0; i < 20000 && (r.next < seq || r.n_resume == 0); i++) {
        run_loop(f, 1);
        lreader_read(&r);
    }
    assert_int_equal(r.next, seq);
    assert_int_equal(r.n_resume, 1);
    (void)store_publish(f, &seq, 1000);   /* live now */
    for (int i = 0; i < 2000 && r.next < seq; i++) {
        run_loop(f, 1);
        lreader_read(&r);
    }
    assert_int_equal(r.next, seq);
    assert_int_equal(r.n_resume, 1);
    assert_int_equal(f->stats.follow_clients_dropped, 0);
    close(r.fd);
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 0);
    assert_int_equal(f->api->feed_budget.used, 0);
    buf_fini(&r.raw);
    buf_fini(&r.body);
}

/* A resumed follow whose last catch-up round (subscribed, its live lines
 * waiting beside it) meets a client that reads nothing while 74 MB of
 * lines come (past the 64 MiB budget and the 65,536 lines a history
 * held): not dropped but sent back to chasing; when it reads, every line
 * once, in order, one resume line. Any round makes the next the last
 * here (follow_chase_ms 60 s): the first (20,000 lines, read), then the
 * second (12 MB that came during the first, not read). */
static void
test_follow_resume_last_round_rechased(void **state)
{
    struct apitest_server *f = apitest_server_new("api_follow_rechase",
                                                   NULL);
    uint64_t seq = 0;
    char path[96];

    (void)state;
    apitest_server_start(f, (size_t)4 << 20, (struct api_options){
        .query_threads = 1, .max_searches = 4, .follow_chase_ms = 60000 });
    int64_t from = store_publish(f, &seq, 20000);
    snprintf(path, sizeof(path), "/api/v1/follow?received_since=%lld",
             (long long)from);
    struct lreader r = { .fd = small_get(f, path) };
    buf_init(&r.raw, (size_t)256 << 20);
    buf_init(&r.body, (size_t)256 << 20);
    for (int i = 0; i < 4000 && f->api->n_followers < 1; i++)
        run_loop(f, 5);             /* taken in, however slow */
    run_loop(f, 100);               /* the first round fills the socket */
    assert_int_equal(f->api->n_followers, 1);
    (void)store_publish_len(f, &seq, 3000, 4000);   /* the second's */
    for (int i = 0; i < 20000 && r.next < 20000; i++) {
        run_loop(f, 1);
        lreader_read(&r);
    }
    assert_true(r.next >= 20000);
    assert_int_equal(f->stats.follow_catchup_rounds, 1);
    assert_int_equal(follow_n_subscribers(f->follow), 1);
    for (int i = 0; i < 36; i++) {      /* 18,000 lines, 74 MB */
        (void)store_publish_len(f, &seq, 500, 4000);
        run_loop(f, 1);
    }
    run_loop(f, 20);
    assert_int_equal(f->stats.follow_clients_dropped, 0);
    assert_int_equal(f->stats.follow_rechases, 1);
    assert_int_equal(follow_n_subscribers(f->follow), 0);
    for (int i = 0; i < 60000 && (r.next < seq || r.n_resume == 0); i++) {
        run_loop(f, 1);
        lreader_read(&r);
    }
    assert_int_equal(r.next, seq);
    assert_int_equal(r.n_resume, 1);
    assert_int_equal(f->stats.follow_clients_dropped, 0);
    assert_true(f->stats.follow_catchup_rounds >= 2);
    close(r.fd);
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->feed_budget.used, 0);
    buf_fini(&r.raw);
    buf_fini(&r.body);
    apitest_server_close(f);
}

/* A client that leaves during its catch-up's second round (the first
 * read, the second not): the follower is freed with its round's search
 * (LeakSanitizer) and its bytes given back. */
static void
test_follow_resume_left_while_chasing(void **state)
{
    struct apitest_server *f = *state;
    uint64_t seq = 0;
    char path[96];
    int64_t from = store_publish(f, &seq, 20000);

    snprintf(path, sizeof(path), "/api/v1/follow?received_since=%lld",
             (long long)from);
    struct lreader r = { .fd = small_get(f, path) };
    buf_init(&r.raw, (size_t)64 << 20);
    buf_init(&r.body, (size_t)64 << 20);
    for (int i = 0; i < 4000 && f->api->n_followers < 1; i++)
        run_loop(f, 5);             /* taken in, however slow */
    run_loop(f, 300);               /* the first round takes over 250 ms */
    (void)store_publish(f, &seq, 20000);
    for (int i = 0; i < 20000 && r.next < 20000; i++) {
        run_loop(f, 1);
        lreader_read(&r);
    }
    assert_true(r.next >= 20000);
    for (int i = 0; i < 4000 && f->stats.follow_catchup_rounds < 1; i++)
        run_loop(f, 1);
    assert_int_equal(f->stats.follow_catchup_rounds, 1);
    assert_int_equal(r.n_resume, 0);
    close(r.fd);
    for (int i = 0; i < 4000 && f->api->n_followers > 0; i++)
        run_loop(f, 5);
    assert_int_equal(f->api->n_followers, 0);
    assert_int_equal(f->api->feed_budget.used, 0);
    assert_int_equal(follow_n_subscribers(f->follow), 0);
    buf_fini(&r.raw);
    buf_fini(&r.body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_follow_bursts_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_follow_behind_within_budget_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_not_reading_dropped,
                                        setup, teardown),
        cmocka_unit_test(test_follow_resume_reads_since),
        cmocka_unit_test_setup_teardown(test_follow_resume_stalled_not_dropped,
                                        setup, teardown),
        cmocka_unit_test(test_follow_resume_last_round_rechased),
        cmocka_unit_test_setup_teardown(test_follow_resume_left_while_chasing,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
