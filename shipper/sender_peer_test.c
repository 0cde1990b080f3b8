/* SPDX-License-Identifier: MIT */
/*
 * sender_peer_test: the sender against an in-process fake collector on
 * 127.0.0.1 (same event_base; tests/support/senderfx.h) that misbehaves
 * or goes quiet: a fake that cannot prove the host's token (the shipper
 * must send nothing to it), a forged, tampered or replayed ACK (it must
 * close the connection), the ACK timeout (it runs from a frame's sending,
 * not from the last byte read), PINGs on an idle connection and the
 * reconnect when one goes unanswered; split from sender_test.c. The
 * deadlines run on a fake clock (cfg.clock_ns) that only the timeout
 * tests move, to 1 ms before and at each deadline
 * (sender_check_timeouts), so they take no real time and no other test
 * can time out on a loaded machine; two tests check the same on the real
 * clock with short timeouts. The loop runs until a condition holds
 * (bounded). Each test runs with deflate inline (0 threads) and on 1 and
 * 3 compressor workers.
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/compress.h"
#include "common/hmac.h"
#include "common/timeutil.h"
#include "common/wire.h"
#include "common/wireauth.h"
#include "common/xmalloc.h"
#include "shipper/sender.h"
#include "tests/support/senderfx.h"

/*
 * The ACK timeout runs from when a batch was sent, not from the last byte
 * read: after an idle stretch close to the timeout, a batch acked 1 ms
 * within the timeout of its sending keeps the connection (no reconnect,
 * no resend), though the connection was idle far longer.
 */
static void
test_sender_ack_timeout_counts_from_send(void **state)
{
    struct fake *f = *state;

    f->auto_ack = 0;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    advance(f, ACK_TIMEOUT_MS * 8 / 10);        /* idle, nothing to ack */
    tick(f);
    add_records(f, 1, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 1);
    advance(f, ACK_TIMEOUT_MS - 1);             /* idle + this > timeout */
    tick(f);
    assert_true(sender_is_ready(f->s));
    fake_ack(f, 1);
    RUN_UNTIL(f, f->n_commits == 1);
    assert_int_equal(f->n_conns, 1);
    assert_int_equal(f->ctr.reconnects, 0);
    assert_int_equal(f->ctr.batches_resent, 0);
}

/*
 * A batch never acked closes the connection exactly one timeout after it
 * was sent (not 1 ms earlier, though the connection was idle before), and
 * is resent on the next connection.
 */
static void
test_sender_ack_timeout_closes_and_resends(void **state)
{
    struct fake *f = *state;

    f->auto_ack = 0;
    f->ack_from_conn = 2;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    advance(f, ACK_TIMEOUT_MS * 6 / 10);
    add_records(f, 1, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 1);
    advance(f, ACK_TIMEOUT_MS - 1);
    tick(f);
    assert_true(sender_is_ready(f->s));
    assert_int_equal(f->n_conns, 1);
    advance(f, 1);
    assert_false(sender_is_ready(f->s));
    RUN_UNTIL(f, f->n_conns == 2 && sender_is_drained(f->s));
    assert_int_equal(f->n_batches, 2);
    assert_int_equal(f->first_off[1], 1);
    assert_int_equal(f->ctr.batches_resent, 1);
    assert_int_equal(f->ctr.reconnects, 1);
}

/* An idle connection carries a PING after each ping_ms without writing
 * (none 1 ms before), each answered, and stays up. */
static void
test_sender_idle_pings_keep_connection(void **state)
{
    struct fake *f = *state;

    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    for (int i = 0; i < 5; i++) {
        advance(f, PING_MS - 1);
        tick(f);
        assert_int_equal(f->n_pings, i);
        fake_now += 1000000;
        /* the next PING goes once the last PONG is read */
        for (int k = 0; k < 500 && f->n_pings == i; k++) {
            sender_check_timeouts(f->s);
            tick(f);
        }
        assert_int_equal(f->n_pings, i + 1);
    }
    assert_int_equal(f->n_conns, 1);
    assert_int_equal(f->ctr.reconnects, 0);
    add_records(f, 1, 1, 10);               /* and still carries batches */
    RUN_UNTIL(f, f->n_commits == 1);
}

/* A collector that answers no PING (gone, or the path to it) is left
 * exactly 1.5 ping_ms after the PING (not 1 ms before), with nothing
 * waiting for an ACK. */
static void
test_sender_ping_unanswered_reconnects(void **state)
{
    struct fake *f = *state;

    f->no_pong = 1;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    advance(f, PING_MS);
    RUN_UNTIL(f, f->n_pings == 1);
    advance(f, PING_MS * 3 / 2 - 1);
    tick(f);
    assert_true(sender_is_ready(f->s));
    advance(f, 1);
    assert_false(sender_is_ready(f->s));
    RUN_UNTIL(f, f->n_conns == 2);
    assert_int_equal(f->ctr.reconnects, 1);
}

/* The same two timeouts on the real clock (cfg.clock_ns NULL): the timers
 * fire by themselves, not before their time. */
static void
test_sender_ack_timeout_real_clock(void **state)
{
    struct fake *f = *state;

    f->auto_ack = 0;
    f->ack_from_conn = 2;   /* PINGs answered: only the ACK timer closes */
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    /* timed from before the batch exists (its timer cannot start
     * earlier), not from when the fake saw it, a loop turn or more after
     * the send */
    int64_t sent = mono_ns();
    add_records(f, 1, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 1);
    /* up to the close, not the reconnect after its backoff (which hid
     * an ACK timeout cut short: 0.8 of it passed); the sender compares
     * its own monotonic times, so no slack */
    RUN_UNTIL(f, !sender_is_ready(f->s));
    int64_t waited_ms = (mono_ns() - sent) / 1000000;
    assert_true(waited_ms >= REAL_ACK_TIMEOUT_MS);
    RUN_UNTIL(f, f->n_conns == 2);
    RUN_UNTIL(f, sender_is_drained(f->s));
    assert_int_equal(f->first_off[1], 1);
    assert_int_equal(f->ctr.batches_resent, 1);
}

/* Timed up to the close, not the reconnect (whose backoff hid a PING
 * timeout cut short: 1 ping_ms passed), and from before the start: the
 * PING goes ping_ms after the last write (HELLO or AUTH, both after the
 * start) and the close 1.5 ping_ms after the PING, both measured by the
 * sender on the same monotonic clock, so the close comes 2.5 ping_ms
 * after the start at the earliest, however slow the loop (no slack). The
 * close is seen before the reconnect: the backoff (50 ms or more) and
 * the handshake take more than one turn of the loop. */
static void
test_sender_ping_real_clock(void **state)
{
    struct fake *f = *state;

    f->no_pong = 1;
    int64_t started = mono_ns();
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    RUN_UNTIL(f, f->n_pings == 1);
    RUN_UNTIL(f, !sender_is_ready(f->s));
    int64_t waited_ms = (mono_ns() - started) / 1000000;
    assert_true(waited_ms >= REAL_PING_MS * 5 / 2);
    assert_int_equal(f->n_pings, 1);
    RUN_UNTIL(f, f->n_conns == 2);
    assert_int_equal(f->ctr.reconnects, 1);
}

/* A collector that cannot prove it holds the host's token (it answers
 * with the shipper's own proof, reflected), or that asks for no token,
 * gets nothing: no AUTH, no batch, however often the shipper retries. */
static void
refused_collector(struct fake *f, enum fake_proof proof)
{
    f->proof = proof;
    add_records(f, 1, 3, 10);
    sender_flush(f->s);
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, f->ctr.collector_auth_failures >= 1);
    run_for(f, 300);
    assert_false(sender_is_ready(f->s));
    assert_int_equal(f->n_auth, 0);
    assert_int_equal(f->n_after_auth, 0);
    assert_int_equal(f->n_batches, 0);
    assert_int_equal(f->n_commits, 0);
    assert_int_equal(f->n_conns, 1);    /* the longest backoff: 5 s */
}

static void
test_sender_refuses_unproven_collector(void **state)
{
    refused_collector(*state, FAKE_PROOF_WRONG);
}

static void
test_sender_refuses_collector_without_auth(void **state)
{
    refused_collector(*state, FAKE_PROOF_NO_AUTH);
}

/* Every frame the shipper sent carried the right tag (the fake checks
 * each), then: an ACK replayed, an ACK with one bit changed, an ACK with
 * no tag. Each closes the connection, is counted, commits nothing, and
 * the batch is resent and acked on the next connection. */
static void
forged_ack(struct fake *f, int how)
{
    f->auto_ack = 0;
    f->ack_from_conn = 2;
    assert_int_equal(sender_start(f->s), 0);
    RUN_UNTIL(f, sender_is_ready(f->s));
    add_records(f, 1, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 1);
    fake_ack(f, 1);
    RUN_UNTIL(f, f->n_commits == 1);
    add_records(f, 2, 1, 10);
    sender_flush(f->s);
    RUN_UNTIL(f, f->n_batches == 2);
    struct buf fr;
    buf_init(&fr, 1024);
    if (how == 0) {                     /* the first ACK again */
        assert_int_equal(buf_append(&fr, f->last_ack.data, f->last_ack.len),
                         0);
    } else {
        struct buf p;
        buf_init(&p, 64);
        wire_u64_encode(&p, 2);
        if (how == 1) {
            assert_int_equal(wireauth_frame_encode(&f->auth, &fr, WIRE_ACK,
                                                   p.data, p.len, 0), 0);
            fr.data[WIRE_HEADER_LEN] ^= 0x02;   /* seq 2 -> 0 */
            le32_store(fr.data + 12, compress_crc32(0, fr.data +
                       WIRE_HEADER_LEN, fr.len - WIRE_HEADER_LEN));
        } else {
            assert_int_equal(wire_frame_encode(&fr, WIRE_ACK, p.data, p.len,
                                               0), 0);
        }
        buf_fini(&p);
    }
    bufferevent_write(f->bev, fr.data, fr.len);
    buf_fini(&fr);
    RUN_UNTIL(f, f->ctr.frames_bad_mac == 1);
    assert_int_equal(f->n_commits, 1);
    RUN_UNTIL(f, f->n_conns == 2 && sender_is_drained(f->s));
    assert_int_equal(f->n_commits, 2);
    assert_int_equal(f->n_bad_mac, 0);
    assert_int_equal(f->ctr.frames_bad_mac, 1);
}

static void
test_sender_replayed_ack_refused(void **state)
{
    forged_ack(*state, 0);
}

static void
test_sender_tampered_ack_refused(void **state)
{
    forged_ack(*state, 1);
}

static void
test_sender_untagged_ack_refused(void **state)
{
    forged_ack(*state, 2);
}

#define SENDER_PEER_TESTS(T)                                             \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_ack_timeout_counts_from_send, setup_no_ping, teardown,\
        T),                                                               \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_ack_timeout_closes_and_resends, setup_no_ping,        \
        teardown, T),                                                     \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_idle_pings_keep_connection, setup, teardown, T),      \
    cmocka_unit_test_prestate_setup_teardown(                             \
        test_sender_ping_unanswered_reconnects, setup, teardown, T)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        SENDER_PEER_TESTS(&n_threads[0]),
        SENDER_PEER_TESTS(&n_threads[1]),
        SENDER_PEER_TESTS(&n_threads[2]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_ack_timeout_real_clock, setup_real_clock, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_ping_real_clock, setup_real_clock, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_refuses_unproven_collector, setup, teardown,
            &n_threads[1]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_refuses_collector_without_auth, setup, teardown,
            &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_replayed_ack_refused, setup, teardown, &n_threads[1]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_tampered_ack_refused, setup, teardown, &n_threads[0]),
        cmocka_unit_test_prestate_setup_teardown(
            test_sender_untagged_ack_refused, setup, teardown, &n_threads[1]),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
