/* SPDX-License-Identifier: MIT */
/*
 * ingest_commit_test: an ACK is never sent before the fdatasync that makes
 * its batch durable returned. A real ingest on 127.0.0.1 (no tokens) with
 * a real store whose sync hook blocks on the store's syncing thread; a
 * client speaking the protocol with common/wire sends BATCH frames while
 * the loop runs in steps on this thread. While the hook blocks, no ACK
 * arrives, though the loop keeps reading and storing (a second batch is
 * taken in); live followers have the syncing batch (its WAL entry is
 * written: visible) and the second one too (its entry written ahead of
 * the sync in flight: the commits are pipelined past it); once released,
 * ACK 1 comes first (the sync covered batch 1 only), then ACK 2 from the
 * next commit's sync. A failed sync acknowledges nothing until the retry
 * succeeds, and followers get its records once.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "collector/ingest/ingest.h"
#include "collector/ingest/ingest_internal.h"     /* INGEST_RETRY_S */
#include "collector/search/follow.h"
#include "collector/stats.h"
#include "collector/store/store.h"
#include "common/buf.h"
#include "common/timeutil.h"
#include "common/wire.h"
#include "common/xmalloc.h"

struct fx {
    char                   dir[64];
    struct store          *store;
    struct follow         *follow;
    struct follow_sub     *sub;
    struct collector_stats stats;
    struct event_base     *base;
    struct ingest         *ing;
    int                    fd;          /* the client */
    struct buf             in;          /* bytes the client received */
    pthread_mutex_t        mu;
    pthread_cond_t         cv;
    int                    is_blocking, n_entered, n_fail;
    int                    n_live;      /* records followers got */
    uint64_t               pos;         /* the source's last offset sent */
};

/* On the store's syncing thread: waits while is_blocking (20 s at most). */
static int
sync_hook(const char *what, void *arg)
{
    struct fx *f = arg;
    struct timespec until;
    int rc = 0;

    (void)what;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&f->mu);
    f->n_entered++;
    while (f->is_blocking)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &until) != 0)
            break;
    if (f->n_fail > 0) {
        f->n_fail--;
        errno = EIO;
        rc = -1;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static void
set_blocking(struct fx *f, int is_on)
{
    pthread_mutex_lock(&f->mu);
    f->is_blocking = is_on;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static int
n_entered(struct fx *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->n_entered;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void
live_rec(const struct logrec *r, void *arg)
{
    (void)r;
    ((struct fx *)arg)->n_live++;
}

/* One loop turn, then reads what the client got (non-blocking). */
static void
step(struct fx *f)
{
    uint8_t tmp[4096];
    struct timespec ms = { 0, 1000000 };

    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    ssize_t n = recv(f->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
    if (n > 0)
        assert_int_equal(buf_append(&f->in, tmp, (size_t)n), 0);
    nanosleep(&ms, NULL);
}

/* The next whole frame the client got, stepping the loop for at most
 * max_ms; 0 if none came (its type in *type, its u64 payload in *v). */
static int
next_frame(struct fx *f, int max_ms, uint16_t *type, uint64_t *v)
{
    for (int i = 0; i <= max_ms; i++) {
        struct wire_frame fr;
        size_t used;
        const char *err;
        int rc = wire_frame_decode(f->in.data, f->in.len, &fr, &used, &err);
        assert_int_not_equal(rc, -1);
        if (rc == 1) {
            *type = fr.type;
            *v = 0;
            if (fr.type == WIRE_ACK || fr.type == WIRE_WELCOME)
                assert_int_equal(wire_u64_decode(fr.payload, fr.len, v,
                                                 &err), 0);
            memmove(f->in.data, f->in.data + used, f->in.len - used);
            f->in.len -= used;
            return 1;
        }
        step(f);
    }
    return 0;
}

/* Steps the loop until pred(f) holds (10,000 steps of 1 ms or more at
 * most): what the decoding thread, the store and the loop do in turn
 * takes its time on a slow machine, so the test waits for it rather than
 * for a number of steps. Returns pred(f). */
static int
step_until(struct fx *f, int (*pred)(const struct fx *))
{
    for (int i = 0; i < 10000 && !pred(f); i++)
        step(f);
    return pred(f);
}

static int
has_two_batches(const struct fx *f)
{
    return f->stats.batches >= 2 && f->n_live >= 6;
}

static int
has_store_error(const struct fx *f)
{
    return f->stats.store_errors >= 1;
}

/* The reader stopped taking batches (ingest_is_holding: 4 MiB wait for
 * the sync), or, were the bound broken, it took all 13. */
static int
is_held_or_all_in(const struct fx *f)
{
    return f->stats.commit_holds >= 1 || f->stats.batches >= 13;
}

static void
send_frame(struct fx *f, uint16_t type, const struct buf *payload)
{
    struct buf fr;

    buf_init(&fr, 1 << 20);
    assert_int_equal(wire_frame_encode(&fr, type, payload->data,
                                       payload->len, 0), 0);
    assert_int_equal(send(f->fd, fr.data, fr.len, 0), (ssize_t)fr.len);
    buf_fini(&fr);
}

/* BATCH seq: n records of msg_len bytes of one source, each 10
 * positions on from the last one sent. */
static void
send_batch_n(struct fx *f, uint64_t seq, int n, size_t msg_len)
{
    struct wire_batch_enc e;
    struct buf fr;
    const char *id = "c0ffee000000000000000000000000000000000000000000"
                     "0000000000000001";
    struct wire_source src = {
        .id = { id, strlen(id) }, .name = { "web", 3 },
        .image = { "nginx", 5 }, .labels = { "", 0 }, .start = f->pos,
    };
    char *msg = xmalloc(msg_len);

    memset(msg, 'x', msg_len);
    memcpy(msg, "a line of ten", msg_len < 13 ? msg_len : 13);
    wire_batch_enc_init(&e, 1 << 20);
    assert_int_equal(wire_batch_enc_add_source(&e, &src), 0);
    for (int i = 1; i <= n; i++) {
        f->pos += 10;
        struct wire_record r = {
            .source = 0, .time_ns = 1700000000000000000LL + (int64_t)f->pos,
            .offset = f->pos, .msg = { msg, msg_len },
        };
        assert_int_equal(wire_batch_enc_add_record(&e, &r), 0);
    }
    free(msg);
    buf_init(&fr, 1 << 20);
    assert_int_equal(wire_batch_enc_finish(&e, seq, &fr, 1), 0);
    assert_int_equal(send(f->fd, fr.data, fr.len, 0), (ssize_t)fr.len);
    buf_fini(&fr);
    wire_batch_enc_fini(&e);
}

static void
send_batch(struct fx *f, uint64_t seq)
{
    send_batch_n(f, seq, 3, 13);
}

static void
handshake(struct fx *f)
{
    uint8_t nonce[WIRE_NONCE_LEN] = { 1 }, mac[WIRE_MAC_LEN] = { 0 };
    struct buf p;
    uint16_t type;
    uint64_t v;

    buf_init(&p, 4096);
    assert_int_equal(wire_hello_encode(&p, "h1", "ingest_commit_test/1",
                                       nonce), 0);
    send_frame(f, WIRE_HELLO, &p);
    assert_int_equal(next_frame(f, 5000, &type, &v), 1);
    assert_int_equal(type, WIRE_CHALLENGE);
    buf_reset(&p);
    assert_int_equal(wire_auth_encode(&p, mac), 0);
    send_frame(f, WIRE_AUTH, &p);
    assert_int_equal(next_frame(f, 5000, &type, &v), 1);
    assert_int_equal(type, WIRE_WELCOME);
    buf_fini(&p);
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    char *err = NULL;

    snprintf(f->dir, sizeof(f->dir), "/tmp/ingest_commit_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    struct store_options so = { .sync_hook = sync_hook, .sync_hook_arg = f };
    f->store = store_open(f->dir, &so, &err);
    assert_non_null(f->store);
    f->follow = follow_new(1 << 20);
    f->sub = follow_subscribe(f->follow, live_rec, NULL, f);
    f->base = event_base_new();
    struct ingest_options io = {
        .listen = "127.0.0.1:0", .max_connections = 4,
        .max_conns_per_addr = 4, .max_hosts = 4, .max_sources_per_host = 4,
        .handshake_timeout_ns = 10000000000LL,
        .idle_timeout_ns = 60000000000LL,
    };
    f->ing = ingest_new(f->base, f->store, f->follow, &f->stats, &io, &err);
    if (f->ing == NULL)
        fail_msg("ingest_new: %s", err);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(ingest_port(f->ing)),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    assert_int_equal(connect(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    buf_init(&f->in, 1 << 20);
    handshake(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    set_blocking(f, 0);
    close(f->fd);
    ingest_free(f->ing);
    event_base_free(f->base);
    follow_free(f->follow);
    store_close(f->store);
    char *cmd = xasprintf("rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    buf_fini(&f->in);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static void
test_no_ack_before_sync(void **state)
{
    struct fx *f = *state;
    uint16_t type;
    uint64_t v;

    set_blocking(f, 1);
    send_batch(f, 1);
    for (int i = 0; i < 10000 && n_entered(f) < 1; i++)
        step(f);
    assert_int_equal(n_entered(f), 1);      /* batch 1 is syncing */
    assert_int_equal(f->n_live, 3);         /* batch 1, before its sync */
    /* Blocked: the loop goes on reading and storing, and showing what
     * it stores (its entry written ahead of the sync in flight), but
     * sends no ACK. */
    send_batch(f, 2);
    /* batch 2 taken in (on the decoding thread, then the loop), however
     * slow this machine; still no ACK, then or 300 steps later */
    assert_true(step_until(f, has_two_batches));
    assert_int_equal(next_frame(f, 300, &type, &v), 0);
    assert_int_equal(f->stats.records_stored, 6);
    assert_int_equal(f->stats.batches, 2);
    assert_int_equal(f->n_live, 6);         /* batch 2 too, the sync held */
    assert_int_equal(n_entered(f), 1);
    set_blocking(f, 0);
    assert_int_equal(next_frame(f, 10000, &type, &v), 1);
    assert_int_equal(type, WIRE_ACK);
    assert_int_equal(v, 1);                 /* batch 2 came during it */
    assert_int_equal(f->n_live, 6);
    assert_int_equal(next_frame(f, 10000, &type, &v), 1);
    assert_int_equal(type, WIRE_ACK);
    assert_int_equal(v, 2);
    assert_int_equal(f->n_live, 6);
    assert_int_equal(n_entered(f), 2);
}

static void
test_no_ack_after_failed_sync(void **state)
{
    struct fx *f = *state;
    uint16_t type;
    uint64_t v;

    f->n_fail = 1;
    int64_t t_sent = mono_ns();
    send_batch(f, 1);
    /* The failed commit is retried after INGEST_RETRY_S: no ACK before.
     * Timed from before the send (the failure came after it), so a slow
     * loop only makes the wait look longer: no step count stands in for
     * the retry's second. */
    for (int i = 0; i < 10000 && n_entered(f) < 1; i++)
        step(f);
    assert_true(step_until(f, has_store_error));
    assert_int_equal(next_frame(f, 0, &type, &v), 0);
    assert_int_equal(f->stats.store_errors, 1);
    assert_int_equal(f->n_live, 3);         /* written, so shown: once */
    assert_int_equal(next_frame(f, 10000, &type, &v), 1);
    assert_true((mono_ns() - t_sent) / 1000000 >=
                INGEST_RETRY_S * 1000 - 20);
    assert_int_equal(type, WIRE_ACK);
    assert_int_equal(v, 1);
    assert_int_equal(n_entered(f), 2);
    assert_int_equal(f->n_live, 3);
}

/* While a commit syncs, at most INGEST_MAX_UNSYNCED (4 MiB) more is
 * stored: 12 batches of 512 KiB (6 MiB) are sent, about 8 go in, the
 * rest waits (decoded or unread) until the sync returns; then all are
 * stored and acknowledged. The bound is asserted once the reader has
 * stopped taking batches (the hold, waited for however slow the
 * decoding thread), not after a number of loop steps that a slow
 * machine could end before the 4 MiB were in. */
static void
test_unsynced_bytes_bounded(void **state)
{
    struct fx *f = *state;
    uint16_t type;
    uint64_t v = 0;

    set_blocking(f, 1);
    send_batch(f, 1);
    for (int i = 0; i < 10000 && n_entered(f) < 1; i++)
        step(f);
    assert_int_equal(n_entered(f), 1);
    for (uint64_t seq = 2; seq <= 13; seq++)
        send_batch_n(f, seq, 8, 64 << 10);
    assert_true(step_until(f, is_held_or_all_in));
    uint64_t n_in = f->stats.batches;
    assert_true(n_in <= 10);                /* 1 + 4 MiB + one more */
    assert_int_equal(f->stats.commit_holds, 1);
    /* held at the bound, not before it */
    assert_true(store_unsynced_bytes(f->store) >= INGEST_MAX_UNSYNCED);
    /* held: no more taken in, no ACK, while the sync lasts */
    assert_int_equal(next_frame(f, 500, &type, &v), 0);
    assert_int_equal(f->stats.batches, n_in);
    set_blocking(f, 0);
    for (int i = 0; i < 20 && v < 13; i++) {
        if (next_frame(f, 10000, &type, &v) != 1)
            fail_msg("no ACK after %d: v %llu batches %llu", i,
                     (unsigned long long)v,
                     (unsigned long long)f->stats.batches);
        assert_int_equal(type, WIRE_ACK);
    }
    assert_int_equal(v, 13);
    assert_int_equal(f->stats.batches, 13);
    assert_int_equal(f->stats.records_stored, 3 + 12 * 8);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_ack_before_sync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_ack_after_failed_sync,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsynced_bytes_bounded, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
