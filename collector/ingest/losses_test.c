/* SPDX-License-Identifier: MIT */
/*
 * losses_test: METRICS frames with shipper.session and shipper.lost.*
 * samples built with the shipper's encoder, fed to the table: figures per
 * host and source, kept across a shipper restart (new session), never
 * lowered by a resent older frame, bounded rows, malformed samples ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/ingest/losses.h"
#include "common/buf.h"
#include "common/wire.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct got {
    struct losses_row rows[8];
    char              names[8][LOSSES_NAME_MAX + 1];
    char              hosts[8][32];
    size_t            n;
};

static void
got_cb(void *arg, const struct losses_row *r)
{
    struct got *g = arg;

    assert_true(g->n < 8);
    g->rows[g->n] = *r;
    snprintf(g->names[g->n], sizeof(g->names[0]), "%s", r->name);
    snprintf(g->hosts[g->n], sizeof(g->hosts[0]), "%s", r->host);
    g->n++;
}

/* One frame: session, then (name, id, bytes, lines, events, flags). */
static void
feed(struct losses *l, const char *host, double session, const char *name,
     const char *id, double bytes, double lines, double events, double flags)
{
    struct wire_metrics_enc e;
    struct wire_metrics m;
    const char *err = NULL;

    wire_metrics_enc_init(&e, 1 << 20);
    wire_metrics_enc_reset(&e);
    assert_int_equal(wire_metrics_enc_add(&e, "host.cpu.user_pct", "", "",
                                          3), 0);
    assert_int_equal(wire_metrics_enc_add(&e, "shipper.session", "", "",
                                          session), 0);
    if (id != NULL) {
        assert_int_equal(wire_metrics_enc_add(&e, "shipper.lost.bytes", name,
                                              id, bytes), 0);
        assert_int_equal(wire_metrics_enc_add(&e, "shipper.lost.lines", name,
                                              id, lines), 0);
        assert_int_equal(wire_metrics_enc_add(&e, "shipper.lost.events", name,
                                              id, events), 0);
        assert_int_equal(wire_metrics_enc_add(&e, "shipper.lost.flags", name,
                                              id, flags), 0);
    }
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(wire_metrics_enc_finish(&e, 1, 1000, &out, 0), 0);
    assert_int_equal(wire_metrics_decode(e.samples.data, e.samples.len, &m,
                                         &err), 0);
    losses_feed(l, host, &m);
    buf_fini(&out);
    wire_metrics_enc_fini(&e);
}

static void
test_losses_per_source_and_host(void **state)
{
    struct losses *l = losses_new(16);
    struct got g = { 0 };

    feed(l, "node1", 7, NULL, NULL, 0, 0, 0, 0);
    losses_foreach(l, got_cb, &g);
    assert_int_equal(g.n, 0);               /* nothing lost: no row */
    feed(l, "node1", 7, "web", ID_A, 1000, 10, 1, 0);
    feed(l, "node2", 9, "db", ID_A, 5, 0, 2, 3);
    losses_foreach(l, got_cb, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.hosts[0], "node1");
    assert_string_equal(g.names[0], "web");
    assert_string_equal(g.rows[0].id, ID_A);
    assert_int_equal(g.rows[0].bytes, 1000);
    assert_int_equal(g.rows[0].lines, 10);
    assert_int_equal(g.rows[0].events, 1);
    assert_int_equal(g.rows[0].is_bytes_bound, 0);
    assert_int_equal(g.rows[0].is_lines_bound, 0);
    assert_string_equal(g.hosts[1], "node2");
    assert_int_equal(g.rows[1].bytes, 5);
    assert_int_equal(g.rows[1].events, 2);
    assert_int_equal(g.rows[1].is_bytes_bound, 1);
    assert_int_equal(g.rows[1].is_lines_bound, 1);
    losses_free(l);
}

/* A shipper restart (new session) starts its figures from 0: the old ones
 * are kept and added to; within a session an older (resent) frame never
 * lowers them. */
static void
test_losses_sessions_add_up(void **state)
{
    struct losses *l = losses_new(16);
    struct got g = { 0 };

    feed(l, "node1", 1, "web", ID_A, 100, 2, 1, 0);
    feed(l, "node1", 1, "web", ID_A, 300, 5, 2, 0);
    feed(l, "node1", 1, "web", ID_A, 100, 2, 1, 0);     /* resent, older */
    feed(l, "node1", 2, "web", ID_A, 40, 1, 1, 1);      /* restarted */
    losses_foreach(l, got_cb, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.rows[0].bytes, 340);
    assert_int_equal(g.rows[0].lines, 6);
    assert_int_equal(g.rows[0].events, 3);
    assert_int_equal(g.rows[0].is_bytes_bound, 1);
    losses_free(l);
}

static void
test_losses_bounded_and_malformed(void **state)
{
    struct losses *l = losses_new(1);
    struct got g = { 0 };

    feed(l, "node1", 1, "web", "not-an-id", 100, 2, 1, 0);
    feed(l, "node1", 1, "web", ID_A, -1, 0.5, 1, 0);   /* bad values */
    feed(l, "node1", 1, "web", ID_A, 10, 1, 1, 0);
    feed(l, "node1", 1, "db", ID_B, 10, 1, 1, 0);      /* past the cap */
    /* flags past an int: only bits 0 and 1 count (2^32 + 1: bit 0) */
    feed(l, "node1", 1, "web", ID_A, 10, 1, 1, 4294967297.0);
    losses_foreach(l, got_cb, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.rows[0].bytes, 10);
    assert_int_equal(g.rows[0].lines, 1);
    assert_true(g.rows[0].is_bytes_bound);
    assert_false(g.rows[0].is_lines_bound);
    assert_int_equal(losses_dropped(l), 1);
    losses_free(l);
}

/* Encodes l and decodes it again (max_rows 16). */
static struct losses *
round_trip(const struct losses *l)
{
    struct buf b;
    char *err = NULL;

    buf_init(&b, losses_encoded_max(16));
    assert_int_equal(losses_encode(l, &b), 0);
    struct losses *m = losses_decode((const char *)b.data, b.len, 16, &err);
    if (m == NULL)
        fail_msg("decode: %s\n%.*s", err, (int)b.len, (const char *)b.data);
    buf_fini(&b);
    return m;
}

/* The table survives its text form (a collector restart): figures, flags,
 * names with spaces, '%' and non-ASCII bytes, and the sessions, so a
 * shipper that goes on with its session is not counted twice and one that
 * restarted adds to what was kept. */
static void
test_losses_encode_decode(void **state)
{
    struct losses *l = losses_new(16);
    struct got g = { 0 };

    uint64_t v0 = losses_version(l);
    feed(l, "node1", 1, "web 100% caf\xc3\xa9", ID_A, 300, 5, 2, 2);
    feed(l, "node1", 2, "web 100% caf\xc3\xa9", ID_A, 40, 1, 1, 0);
    feed(l, "node2", 1234567890123.5, "", ID_B, 7, 0, 1, 1);
    assert_true(losses_version(l) > v0);
    uint64_t v1 = losses_version(l);
    feed(l, "node2", 1234567890123.5, "", ID_B, 7, 0, 1, 1);   /* resent */
    assert_int_equal(losses_version(l), v1);                    /* no change */
    struct losses *m = round_trip(l);
    losses_free(l);
    feed(m, "node1", 2, "web 100% caf\xc3\xa9", ID_A, 40, 1, 1, 0);
    feed(m, "node2", 99, "", ID_B, 3, 0, 1, 0);         /* restarted */
    losses_foreach(m, got_cb, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.hosts[0], "node1");
    assert_string_equal(g.names[0], "web 100% caf\xc3\xa9");
    assert_int_equal(g.rows[0].bytes, 340);
    assert_int_equal(g.rows[0].lines, 6);
    assert_int_equal(g.rows[0].events, 3);
    assert_int_equal(g.rows[0].is_bytes_bound, 0);
    assert_int_equal(g.rows[0].is_lines_bound, 1);
    assert_string_equal(g.hosts[1], "node2");
    assert_string_equal(g.names[1], "");
    assert_int_equal(g.rows[1].bytes, 10);
    assert_int_equal(g.rows[1].events, 2);
    assert_int_equal(g.rows[1].is_bytes_bound, 1);
    losses_free(m);
}

/* Anything but losses_encode's text is refused with the line and the
 * reason, never half loaded. */
static void
test_losses_decode_bad(void **state)
{
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        { "", "line 1: not a logq-losses 1 file" },
        { "logq-losses 2\n", "line 1: not a logq-losses 1 file" },
        { "logq-losses 1\nh node1 1", "line 2: unfinished line" },
        { "logq-losses 1\nx node1 1\n", "line 2: unknown line" },
        { "logq-losses 1\nh node1\n", "line 2: bad host line" },
        { "logq-losses 1\nh node1 nan\n", "line 2: bad session" },
        { "logq-losses 1\nh node1 1\nh node1 2\n",
          "line 3: host listed twice" },
        { "logq-losses 1\nh no%2 1\n", "line 2: bad host line" },
        { "logq-losses 1\nh no%00de 1\n", "line 2: bad host line" },
        { "logq-losses 1\ns node1 " ID_A " 0 1 2 3 4 5 6\n",
          "line 2: bad source line" },
        { "logq-losses 1\ns node1 " ID_A " 0 1 2 3 4 5 6 web x\n",
          "line 2: bad source line" },
        { "logq-losses 1\ns node1 xyz 0 1 2 3 4 5 6 web\n",
          "line 2: bad container id" },
        { "logq-losses 1\ns node1 " ID_A " 4 1 2 3 4 5 6 web\n",
          "line 2: bad flags" },
        { "logq-losses 1\ns node1 " ID_A " 0 -1 2 3 4 5 6 web\n",
          "line 2: bad number" },
        { "logq-losses 1\ns node1 " ID_A " 0 1 2 3 4 5 "
          "99999999999999999999 web\n", "line 2: bad number" },
        { "logq-losses 1\ns node1 " ID_A " 0 1 2 3 4 5 6 web\n"
          "s node1 " ID_A " 0 1 2 3 4 5 6 web\n",
          "line 3: source listed twice" },
        { "logq-losses 1\ns node1 " ID_A " 0 1 2 3 4 5 6 web\n"
          "s node1 " ID_B " 0 1 2 3 4 5 6 db\n",
          "line 3: too many sources" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *err = NULL;
        struct losses *l = losses_decode(cases[i].text,
                                         strlen(cases[i].text), 1, &err);
        if (l != NULL || err == NULL || strcmp(err, cases[i].err) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i,
                     err ? err : "(accepted)", cases[i].err);
        free(err);
    }
    char *err = NULL;
    struct losses *l = losses_decode("logq-losses 1\n", 14, 1, &err);
    assert_non_null(l);                     /* empty table */
    losses_free(l);
}

/* The cap on encoded size holds for a full table of the longest names. */
static void
test_losses_encoded_max(void **state)
{
    struct losses *l = losses_new(2);
    char name[LOSSES_NAME_MAX + 1];
    struct buf b;

    memset(name, '%', LOSSES_NAME_MAX);     /* escaped: 3 bytes each */
    name[LOSSES_NAME_MAX] = '\0';
    feed(l, "node1", 1, name, ID_A, 1e18, 1e18, 1e18, 3);
    feed(l, "node1", 2, name, ID_A, 1e18, 1e18, 1e18, 3);
    feed(l, "node2", 1, name, ID_B, 1e18, 1e18, 1e18, 3);
    buf_init(&b, losses_encoded_max(2));
    assert_int_equal(losses_encode(l, &b), 0);
    buf_fini(&b);
    losses_free(l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_losses_per_source_and_host),
        cmocka_unit_test(test_losses_sessions_add_up),
        cmocka_unit_test(test_losses_bounded_and_malformed),
        cmocka_unit_test(test_losses_encode_decode),
        cmocka_unit_test(test_losses_decode_bad),
        cmocka_unit_test(test_losses_encoded_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
