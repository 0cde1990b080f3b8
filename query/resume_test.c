/* SPDX-License-Identifier: MIT */
/*
 * resume_test: the resume line's parsing, the kept hashes, and a property
 * test of `logq -f` across reconnects against a model of the collector's
 * /follow contract (collector/API.md "Resuming a follow"): batches with
 * strictly increasing receive times, records with random event times
 * (backlogs hours old arriving late), connections dropped at any line
 * (inside a history, right after the resume line, inside a batch) and
 * outages during which batches are committed. Driven the way cmd_search.c
 * drives resume.c, every committed record must be printed exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/resume.h"
#include "tests/support/testrng.h"

static void
resume_line_str(struct resume *r, int64_t ns, int want)
{
    char line[80], ts[40];

    ts[time_ns_format(ns, ts)] = '\0';
    snprintf(line, sizeof(line), "{\"resume\":\"%s\"}", ts);
    assert_int_equal(resume_line(r, line, strlen(line)), want);
}

static void
test_resume_line(void **state)
{
    struct resume r;

    (void)state;
    resume_init(&r);
    assert_int_equal(resume_line(&r, "{\"time\":\"x\"}", 12), 0);
    assert_int_equal(resume_line(&r, "", 0), 0);
    assert_int_equal(resume_line(&r, "{\"resume\":\"junk\"}", 17), -1);
    assert_int_equal(resume_line(&r, "{\"resume\":\"", 11), -1);
    assert_false(r.has_point);
    resume_line_str(&r, 1796340000123456789LL, 1);
    assert_true(r.has_point && r.is_live);
    assert_true(r.point == 1796340000123456789LL);
    const char crlf[] = "{\"resume\":\"2026-12-03T23:00:00.000000001Z\"}\r";
    assert_int_equal(resume_line(&r, crlf, sizeof(crlf) - 1), 1);
    resume_fini(&r);
}

/* An older collector's 400 (api_params.c before resume): its error text
 * as logq gets it. */
static void
test_resume_refused(void **state)
{
    (void)state;
    assert_true(resume_refused("unknown parameter 'resume'"));
    assert_false(resume_refused("unknown parameter 'resumes'"));
    assert_false(resume_refused("unknown parameter 'q2'"));
    assert_false(resume_refused("bad resume: want 1 or 0"));
    assert_false(resume_refused(""));
}

/* History lines are kept until the point moves; live lines move it. */
static void
test_resume_kept(void **state)
{
    struct resume r;

    (void)state;
    resume_init(&r);
    resume_connect(&r);
    resume_printed(&r, 5, 111);         /* history of the first request */
    assert_false(resume_is_repeat(&r, 111));    /* the same line again */
    resume_printed(&r, 5, 111);
    assert_false(resume_is_repeat(&r, 112));
    resume_connect(&r);                 /* dropped inside the history */
    assert_true(resume_is_repeat(&r, 111));
    assert_true(resume_is_repeat(&r, 111));
    assert_false(resume_is_repeat(&r, 111));    /* a third: not printed */
    resume_line_str(&r, 100, 1);        /* live: history forgotten */
    assert_false(resume_is_repeat(&r, 111));
    resume_printed(&r, 100, 7);
    resume_printed(&r, 100, 0);         /* 0 is a hash like any other */
    resume_printed(&r, 101, 8);         /* a newer batch */
    resume_printed(&r, 101, 8);         /* written twice */
    assert_true(r.point == 101 && r.n_kept == 1);
    assert_false(resume_is_repeat(&r, 8));   /* live: never a repeat */
    resume_connect(&r);                 /* a reconnect's catch-up */
    assert_true(resume_is_repeat(&r, 8));
    assert_true(resume_is_repeat(&r, 8));
    assert_false(resume_is_repeat(&r, 8));
    assert_false(resume_is_repeat(&r, 7));
    for (uint64_t h = 1000; h < 1000 + 5000; h++)
        resume_printed(&r, 50, h);      /* a catch-up grows the table */
    resume_connect(&r);
    for (uint64_t h = 1000; h < 1000 + 5000; h++)
        assert_true(resume_is_repeat(&r, h));
    assert_true(r.n_kept == 5001);
    resume_line_str(&r, 200, 1);
    assert_true(r.tab_size == 0 && r.n_kept == 0);  /* big table freed */
    resume_fini(&r);
}

/* ---- model ---- */

#define M_MAX_RECS 1200

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned
rn(unsigned n)
{
    return testrng_below(&rng, n);
}

struct m_rec {
    int64_t time_ns;
    int64_t recv_ns;
    char    msg[16];
    int     n_printed;
};

struct model {
    struct m_rec   v[M_MAX_RECS];
    size_t         n;               /* committed, in commit order */
    int64_t        next_recv;       /* the next batch's stamp */
    struct resume  r;
    /* the current connection */
    int            is_up;
    size_t        *hist;            /* its history (indexes into v) */
    size_t         n_hist, at_hist;
    int            is_live;         /* its resume line was sent */
    size_t         live_from;       /* first record it sends live */
    size_t         first_live_n;    /* live_from of the first to go live */
    int64_t        conn_point;      /* its receive point (at connect) */
};

static struct logrec
m_logrec(const struct m_rec *x)
{
    struct logrec lr = {
        .time_ns = x->time_ns, .recv_ns = x->recv_ns, .host = "h",
        .container = "c", .container_id = "id", .msg = x->msg,
        .msg_len = strlen(x->msg),
    };
    return lr;
}

/* cmd_search.c's search_print_line for one record line. */
static void
m_deliver(struct model *m, size_t i)
{
    struct logrec lr = m_logrec(&m->v[i]);
    uint64_t h = resume_record_hash(&lr);

    if (resume_is_repeat(&m->r, h))
        return;
    m->v[i].n_printed++;
    resume_printed(&m->r, lr.recv_ns, h);
}

static const struct model *m_sort_model;

static int
m_cmp(const void *pa, const void *pb)
{
    const struct m_rec *a = &m_sort_model->v[*(const size_t *)pa];
    const struct m_rec *b = &m_sort_model->v[*(const size_t *)pb];

    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns ? -1 : 1;
    int c = strcmp(a->msg, b->msg);
    if (c != 0)
        return c;
    return a < b ? -1 : a > b;      /* store order: arrival */
}

/* The collector accepts a /follow: the history is every committed record
 * received since the point (after a reconnect) or the N newest (the first
 * request), oldest first; then the resume line; then live lines. */
static void
m_connect(struct model *m, size_t n_newest)
{
    m->n_hist = m->at_hist = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->r.has_point ? m->v[i].recv_ns >= m->r.point : 1)
            m->hist[m->n_hist++] = i;
    m_sort_model = m;
    qsort(m->hist, m->n_hist, sizeof(*m->hist), m_cmp);
    if (!m->r.has_point && m->n_hist > n_newest) {
        memmove(m->hist, m->hist + (m->n_hist - n_newest),
                n_newest * sizeof(*m->hist));
        m->n_hist = n_newest;
    }
    m->is_up = 1;
    m->is_live = 0;
    m->live_from = m->n;
    m->conn_point = m->next_recv;   /* no staging in the model */
    resume_connect(&m->r);
}

/* Sends up to k lines of the stream; 0 when the history and resume line
 * are all sent (live lines go out as they are committed). */
static size_t
m_send_history(struct model *m, size_t k)
{
    while (k > 0 && m->at_hist < m->n_hist) {
        m_deliver(m, m->hist[m->at_hist++]);
        k--;
    }
    if (k > 0 && !m->is_live && m->at_hist == m->n_hist) {
        if (!m->r.has_point) {      /* the first request's history: shown */
            m->first_live_n = m->live_from;
            for (size_t i = 0; i < m->n_hist; i++)
                assert_int_equal(m->v[m->hist[i]].n_printed, 1);
        }
        resume_line_str(&m->r, m->conn_point, 1);
        m->is_live = 1;
        k--;
    }
    return m->is_live ? 0 : 1;
}

/* One batch: 1 to 6 records, event times now-ish or hours old; a quarter
 * of them the same line again (same time and message: a program that
 * wrote it twice within the clock's resolution), which must print twice. */
static void
m_commit(struct model *m, int64_t now)
{
    size_t n = 1 + rn(6);

    for (size_t k = 0; k < n && m->n < M_MAX_RECS; k++) {
        struct m_rec *x = &m->v[m->n];
        if (k > 0 && rn(4) == 0) {
            *x = x[-1];
        } else {
            x->time_ns = rn(3) == 0 ? now - 3600 - (int64_t)rn(7200)
                                    : now - (int64_t)rn(5);
            snprintf(x->msg, sizeof(x->msg), "r%zu", m->n);
        }
        x->recv_ns = m->next_recv;
        x->n_printed = 0;
        m->n++;
    }
    m->next_recv += 1 + rn(3);
}

/* Live lines committed since the resume line: sent in commit order, the
 * connection dropping after a random one (or none). */
static void
m_send_live(struct model *m)
{
    while (m->is_up && m->is_live && m->live_from < m->n) {
        m_deliver(m, m->live_from++);
        if (rn(40) == 0)
            m->is_up = 0;
    }
}

static void
m_run(struct model *m)
{
    int64_t now = 100000;

    memset(m, 0, sizeof(*m));
    m->hist = xcalloc(M_MAX_RECS, sizeof(*m->hist));
    m->next_recv = 1000000;
    resume_init(&m->r);
    size_t n_newest = 1 + rn(10);
    for (unsigned i = rn(20); i > 0; i--)
        m_commit(m, now++);
    m_connect(m, n_newest);
    for (int step = 0; step < 400 && m->n < M_MAX_RECS - 8; step++) {
        now += 1;
        unsigned what = rn(10);
        if (what < 5) {
            m_commit(m, now);
        } else if (what < 8 && m->is_up && !m->is_live) {
            m_send_history(m, 1 + rn(4));
        } else if (what == 8 && m->is_up) {
            m->is_up = 0;           /* a drop anywhere in the stream */
        } else if (!m->is_up) {
            m_connect(m, n_newest);
        }
        m_send_live(m);
    }
    /* the last connection stays up until everything is through */
    for (int tries = 0; tries < 100; tries++) {
        if (!m->is_up)
            m_connect(m, n_newest);
        while (m->is_up && m_send_history(m, 1 + rn(4)))
            ;
        m_send_live(m);
        if (m->is_up && m->is_live && m->live_from == m->n)
            break;
    }
    assert_true(m->r.has_point);
    /* Due: what the first request that went live showed (checked when its
     * resume line came) and every record committed from its subscription
     * on; nothing printed twice. */
    for (size_t i = 0; i < m->n; i++) {
        int want = i >= m->first_live_n ? 1 : m->v[i].n_printed ? 1 : 0;
        if (m->v[i].n_printed != want)
            fail_msg("record %zu (t=%lld recv=%lld) printed %d times", i,
                     (long long)m->v[i].time_ns, (long long)m->v[i].recv_ns,
                     m->v[i].n_printed);
    }
    resume_fini(&m->r);
    free(m->hist);
}

static void
test_resume_model(void **state)
{
    static struct model m;

    (void)state;
    for (int i = 0; i < 300; i++)
        m_run(&m);
}

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The identity hash: the same record, the same hash; any one byte of any
 * field, a time, the stream or a field boundary moved, another hash; no
 * collision and an even spread of the low bits (the table's index) over
 * many similar lines of every length around the 8- and 16-byte steps. */
static void
test_resume_record_hash(void **state)
{
    char msg[300], msg2[300];
    struct logrec r = {
        .time_ns = 1700000000000000000LL, .recv_ns = 1700000000000000001LL,
        .host = "node1", .container = "web", .container_id = "abc",
        .msg = msg, .stream = LOGREC_STDOUT,
    };
    static uint64_t seen[40000];
    unsigned buckets[256] = { 0 };
    size_t n_seen = 0;

    (void)state;
    memset(msg, 'x', sizeof(msg));
    for (size_t len = 0; len < 80; len++) {
        r.msg_len = len;
        uint64_t h = resume_record_hash(&r);
        memcpy(msg2, msg, len);
        struct logrec r2 = r;
        r2.msg = msg2;
        assert_int_equal(resume_record_hash(&r2), h);   /* same bytes */
        for (size_t i = 0; i < len; i++) {
            msg2[i] ^= 0x01;
            assert_int_not_equal(resume_record_hash(&r2), h);
            msg2[i] ^= 0x01;
        }
        seen[n_seen++] = h;
    }
    r.msg_len = 10;
    uint64_t h = resume_record_hash(&r);
    struct logrec o = r;
    o.time_ns++;
    assert_int_not_equal(resume_record_hash(&o), h);
    o = r;
    o.recv_ns++;
    assert_int_not_equal(resume_record_hash(&o), h);
    o = r;
    o.stream = LOGREC_STDERR;
    assert_int_not_equal(resume_record_hash(&o), h);
    o = r;
    o.host = "node";                    /* "node" + "1web" */
    o.container = "1web";
    assert_int_not_equal(resume_record_hash(&o), h);
    o = r;
    o.container_id = "abd";
    assert_int_not_equal(resume_record_hash(&o), h);
    /* lines alike but for a counter, at every length from 8 to 300 */
    for (int i = 0; n_seen < sizeof(seen) / sizeof(seen[0]); i++) {
        r.msg_len = 8 + (size_t)i % 293;
        snprintf(msg, sizeof(msg), "%d GET /item 200", i);
        msg[strlen(msg)] = 'x';
        seen[n_seen] = resume_record_hash(&r);
        buckets[seen[n_seen] & 255]++;
        n_seen++;
    }
    for (size_t i = 0; i < 256; i++)   /* ~155 each */
        assert_true(buckets[i] > 80 && buckets[i] < 240);
    qsort(seen, n_seen, sizeof(seen[0]), u64_cmp);
    for (size_t i = 1; i < n_seen; i++)
        assert_true(seen[i] != seen[i - 1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_line),
        cmocka_unit_test(test_resume_refused),
        cmocka_unit_test(test_resume_kept),
        cmocka_unit_test(test_resume_model),
        cmocka_unit_test(test_resume_record_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
