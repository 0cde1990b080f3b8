/* SPDX-License-Identifier: MIT */
/*
 * search_raw_test: a block or frame whose raw bytes hold none of a
 * regex's required literals is not decoded (store_filter.match_raw_fn,
 * regex_must_find). Checked against the reference paths on adversarial
 * data: the serial search (PCRE2 over every record the cursor returns,
 * no such test) must emit the same lines, end the same way and count
 * the same scanned bytes and budget aborts, and PCRE2 compiled here
 * straight from the pattern must find as many lines. The data puts a
 * literal across two records (the end of one message and the start of
 * the next, adjacent in the block's message column), in other case,
 * beside NUL and non-ASCII bytes, at the first and last byte of
 * messages, and leaves most blocks and frames without it, so that the
 * test fails when the test rules out a block that holds a match (a
 * wrong literal, folding or alternative) and proves blocks were skipped.
 * Stores of one frame a block, of many frames a block, and of codec 5.
 * Messages on which PCRE2 would run out of budget but that lack the
 * literal count no abort on either path (query_regex_match_in asks
 * PCRE2 only about messages holding it).
 * And a store written out of time order: late records (older than all
 * others, in no order among themselves), a backlog of another container
 * arriving after newer records (its times across theirs), ties, and
 * resends (single records and a whole run, refused as duplicates). The
 * output of every case whose regex PCRE2 here can judge (host and time
 * window filters included) is also checked line for line against a
 * brute-force model: the matching records sorted by store_key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "collector/search/search.h"
#include "common/xmalloc.h"
#include "tests/support/searchfx.h"
#include "tests/support/testrng.h"

#define T0     1700000000000000000LL
#define N_RECS 3000
#define MSG_MAX 96

struct rec {
    char        msg[MSG_MAX];
    int         len;
    int         host;                   /* 0 h1, 1 h2 */
    int64_t     t;                      /* as stored */
    const char *cid;                    /* container id */
};

static struct rec recs[N_RECS];
static uint64_t rng = 0x5eed2026ULL;

static unsigned
rn(unsigned n)
{
    return testrng_below(&rng, n);
}

static void
put(struct rec *r, const char *s, int n)
{
    if (r->len + n > MSG_MAX)
        n = MSG_MAX - r->len;
    memcpy(r->msg + r->len, s, (size_t)n);
    r->len += n;
}

#define PUTS(r, s) put((r), (s), (int)sizeof(s) - 1)

/* Record i's message: filler words, and in a few stretches of the log
 * the literals (whole, in other case, split over two records, beside NUL
 * and high bytes); elsewhere none, so most blocks lack them. */
static void
gen(int i, struct rec *r)
{
    static const char *const fill[] = {
        "payment", "declined", "by", "upstream", "gateway", "id=7", "zeb",
        "corn", "ra", "unicorn", "x", "GET /a", "10.0.0.1", "\xc3\xa9t\xc3\xa9",
    };
    int zone = i % 600;                 /* 0..39: literals about */

    r->len = 0;
    r->host = i % 3 == 0;
    if (zone < 40) {
        switch (rn(12)) {
        case 0: PUTS(r, "zebracorn id=1 declined"); break;
        case 1: PUTS(r, "payment ZEBRACORN ID=2"); break;
        case 2: PUTS(r, "x\0zebracorn id=3\0y"); break;
        case 3: PUTS(r, "\xffzebracorn id=0"); break;
        case 4: PUTS(r, "zebra id=1 zebracorn id=9"); break;
        case 5: PUTS(r, "unicorn id=2 xunicorn x"); break;
        case 6: PUTS(r, "payment zebracorn i"); break;  /* + the next */
        case 7: PUTS(r, "d=1 starts here"); break;      /* the rest */
        case 8: PUTS(r, "zebracornzebracorn"); break;
        case 9: PUTS(r, "zebracorn"); return;           /* the message */
        case 10: PUTS(r, "ZebraCorn id=3\n"); break;
        default: PUTS(r, "pay zebracorn id=2"); break;
        }
    } else if (zone >= 450 && zone < 453) {
        /* 'a's and the bytes of "xyz", not "xyz": PCRE2 itself would run
         * out of budget on "(a|aa)+xyz" here */
        PUTS(r, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa zyx");
        return;
    } else if (zone >= 300 && zone < 305) {
        /* across records only, far from the others (a block of its
         * own): "...zebracorn i" then "d=2 ..." */
        if (i % 2 == 0)
            PUTS(r, "tail zebracorn i");
        else
            PUTS(r, "d=2 head");
    }
    int n = 1 + (int)rn(6);
    for (int k = 0; k < n; k++) {
        const char *w = fill[rn(sizeof(fill) / sizeof(fill[0]))];
        if (zone >= 300 && zone < 305)
            break;                      /* keep the split intact */
        if (r->len > 0 && zone >= 40)
            PUTS(r, " ");
        put(r, w, (int)strlen(w));
    }
}

static const char *
host_of(const struct rec *r)
{
    return r->host ? "h2" : "h1";
}

static int
setup_with(void **state, size_t frame_size)
{
    struct store_options o = { .block_size = 4096, .frame_size = frame_size };
    struct fx *f = fx_new("search_raw_test", &o);

    rng = 0x5eed2026ULL;
    for (int i = 0; i < N_RECS; i++) {
        gen(i, &recs[i]);
        recs[i].t = T0 + (int64_t)(i / 2) * 10 - (i % 7 == 0 ? 25 : 0);
        recs[i].cid = "c";
        fx_put(f, host_of(&recs[i]), recs[i].t, i, recs[i].msg, recs[i].len);
        if (i % 400 == 399)
            assert_int_equal(store_commit(f->st), 0);
    }
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_sync(f->st), 0);
    *state = f;
    return 0;
}

static int
setup_one_frame(void **state)
{
    return setup_with(state, 0);        /* 256 KiB: one frame a block */
}

static int
setup_frames(void **state)
{
    return setup_with(state, 1024);     /* about 4 frames a block */
}

static int
setup_codec5(void **state)
{
    return setup_with(state, STORE_NO_FRAMES);
}

/* Record i at offset i + 1 of its host's container: 1 stored, 0 a
 * duplicate. */
static int
put_rec(struct fx *f, int i)
{
    struct logrec r = {
        .time_ns = recs[i].t, .host = host_of(&recs[i]),
        .container_id = recs[i].cid, .container = "web", .image = "i",
        .offset = (uint64_t)i + 1, .msg = recs[i].msg,
        .msg_len = (size_t)recs[i].len,
    };

    return store_append(f->st, &r);
}

#define BACKLOG_LO 1200                 /* records [LO, HI): container */
#define BACKLOG_HI 2400                 /* "b", written last */

static int
is_backlog(int i)
{
    return i >= BACKLOG_LO && i < BACKLOG_HI;
}

/* The same messages written out of time order: container "c" first
 * (every 11th record late: older than all, in no order), then container
 * "b"'s backlog with times across "c"'s (every 13th late too, every 5th
 * the time of a "c" record of its host: a tie store_key breaks by
 * container), with resends between and after (refused). Frames as
 * setup_frames. */
static int
setup_late(void **state)
{
    struct store_options o = { .block_size = 4096, .frame_size = 1024 };
    struct fx *f = fx_new("search_raw_test", &o);

    rng = 0x5eed2026ULL;
    for (int i = 0; i < N_RECS; i++) {
        gen(i, &recs[i]);
        if (is_backlog(i)) {
            recs[i].cid = "b";
            if (i % 13 == 0)
                recs[i].t = T0 - 3 * (i % 37);
            else if (i % 5 == 0)        /* = record i + 1200's (same host) */
                recs[i].t = T0 + (int64_t)((i + 1200) / 2) * 10;
            else
                recs[i].t = T0 + (int64_t)(i - BACKLOG_LO) * 10 + 5;
        } else {
            recs[i].cid = "c";
            recs[i].t = i % 11 == 5 ? T0 - 10 - 7 * (i % 101) :
                        T0 + (int64_t)(i / 2) * 10;
        }
    }
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N_RECS; i++) {
            if (is_backlog(i) != pass)
                continue;
            assert_int_equal(put_rec(f, i), 1);
            if (i % 50 == 7)            /* sent again at once */
                assert_int_equal(put_rec(f, i), 0);
            if (++n % 400 == 0)
                assert_int_equal(store_commit(f->st), 0);
        }
        assert_int_equal(store_commit(f->st), 0);
        assert_int_equal(store_sync(f->st), 0);
    }
    for (int i = 2400; i < 2600; i++)   /* a whole run sent again */
        assert_int_equal(put_rec(f, i), 0);
    for (int i = BACKLOG_LO; i < BACKLOG_LO + 100; i++)
        assert_int_equal(put_rec(f, i), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(store_sync(f->st), 0);
    *state = f;
    return 0;
}

/* ---------------------------------------------------------------- */

struct seq {
    char  *text;
    size_t len, cap;
};

static int
emit_cb(const struct logrec *r, int is_context, int is_group_start,
        void *arg)
{
    struct seq *q = arg;
    size_t need = q->len + r->msg_len * 4 + 32;

    (void)is_context;
    (void)is_group_start;
    if (need > q->cap) {
        q->cap = need * 2;
        q->text = xreallocarray(q->text, q->cap, 1);
    }
    q->len += (size_t)snprintf(q->text + q->len, q->cap - q->len, "%s %lld ",
                               r->host, (long long)r->offset);
    for (size_t k = 0; k < r->msg_len; k++)
        q->len += (size_t)snprintf(q->text + q->len, q->cap - q->len, "%02x",
                                   (unsigned char)r->msg[k]);
    q->text[q->len++] = '\n';
    return 0;
}

struct qcase {
    const char *re[3];
    size_t      n_re;
    int         icase;
    const char *q;                      /* terms, "" none */
    int         is_host;                /* only h1 */
    int         is_window;              /* since/until inside the data */
    int         is_direct;              /* the model (PCRE2 here) judges */
};

struct res {
    struct seq out;
    int        rc;
    uint64_t   scanned, aborted, n_lines;
    char       err[160];
};

static void
run(struct fx *f, const struct qcase *c, int is_serial, int is_desc,
    uint64_t max_scan, struct res *out)
{
    char *err = NULL;
    struct query *q = query_parse_any(c->q, strlen(c->q), c->re, c->n_re,
                                      c->icase, &err);
    assert_non_null(q);
    struct search_spec spec = { .q = q, .limit = UINT64_MAX };
    spec.filter.since_ns = c->is_window ? T0 + 3000 : INT64_MIN;
    spec.filter.until_ns = c->is_window ? T0 + 12000 : INT64_MAX;
    spec.filter.stream = -1;
    spec.filter.host = c->is_host ? "h1" : NULL;
    spec.is_newest_first = is_desc;
    spec.is_serial = is_serial;
    spec.max_scan_bytes = max_scan;
    uint64_t ab0 = query_n_regex_aborted(q);
    struct search *s = search_new(f->st, &spec, &err);
    assert_non_null(s);
    int rc, n = 0;
    out->out.len = 0;
    while ((rc = search_step(s, 64, emit_cb, &out->out)) == SEARCH_MORE)
        assert_true(++n < 1000000);
    out->rc = rc;
    out->scanned = search_scanned_bytes(s);
    out->aborted = query_n_regex_aborted(q) - ab0;
    out->n_lines = 0;
    for (size_t k = 0; k < out->out.len; k++)
        out->n_lines += out->out.text[k] == '\n';
    snprintf(out->err, sizeof(out->err), "%s",
             rc == SEARCH_ERROR && search_errstr(s) ? search_errstr(s) : "");
    search_free(s);
    query_free(q);
}

/* PCRE2 itself on a case's regexes, compiled as query_regex.c compiles
 * them (no UTF, . matches newline, $ only at the end). */
struct direct {
    pcre2_code       *code[3];
    size_t            n;
    pcre2_match_data *md;
};

static void
direct_init(struct direct *d, const struct qcase *c)
{
    d->n = c->n_re;
    for (size_t k = 0; k < c->n_re; k++) {
        int e;
        PCRE2_SIZE off;
        d->code[k] = pcre2_compile((PCRE2_SPTR)c->re[k],
                                   PCRE2_ZERO_TERMINATED,
                                   PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY |
                                   PCRE2_NEVER_UTF |
                                   (c->icase ? PCRE2_CASELESS : 0),
                                   &e, &off, NULL);
        assert_non_null(d->code[k]);
    }
    d->md = pcre2_match_data_create(1, NULL);
}

/* 1 when one of the regexes matches record i. */
static int
direct_hit(struct direct *d, int i)
{
    int hit = 0;

    for (size_t k = 0; k < d->n && !hit; k++)
        hit = pcre2_match(d->code[k], (PCRE2_SPTR)recs[i].msg,
                          (size_t)recs[i].len, 0, 0, d->md, NULL) >= 0;
    return hit;
}

static void
direct_fini(struct direct *d)
{
    pcre2_match_data_free(d->md);
    for (size_t k = 0; k < d->n; k++)
        pcre2_code_free(d->code[k]);
}

/* The lines PCRE2 itself finds. */
static uint64_t
direct_count(const struct qcase *c)
{
    struct direct d;
    uint64_t n = 0;

    direct_init(&d, c);
    for (int i = 0; i < N_RECS; i++)
        n += direct_hit(&d, i);
    direct_fini(&d);
    return n;
}

static int
rec_cmp(const void *a, const void *b)
{
    const struct rec *x = &recs[*(const int *)a], *y = &recs[*(const int *)b];
    int cmp;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if ((cmp = strcmp(host_of(x), host_of(y))) != 0 ||
        (cmp = strcmp(x->cid, y->cid)) != 0)
        return cmp;
    return *(const int *)a < *(const int *)b ? -1 : 1;     /* offset */
}

/* The brute-force model: the records PCRE2 here matches that pass c's
 * filters, in store_key order (reversed newest first), printed as
 * emit_cb prints them. */
static void
model_out(const struct qcase *c, int is_desc, struct seq *out)
{
    static int idx[N_RECS];
    struct direct d;
    size_t n = 0;

    direct_init(&d, c);
    for (int i = 0; i < N_RECS; i++) {
        const struct rec *r = &recs[i];
        if ((c->is_host && r->host != 0) ||
            (c->is_window && (r->t < T0 + 3000 || r->t >= T0 + 12000)))
            continue;
        if (direct_hit(&d, i))
            idx[n++] = i;
    }
    direct_fini(&d);
    qsort(idx, n, sizeof(idx[0]), rec_cmp);
    out->len = 0;
    for (size_t j = 0; j < n; j++) {
        const struct rec *r = &recs[idx[is_desc ? n - 1 - j : j]];
        struct logrec lr = { .host = host_of(r), .msg = r->msg,
                             .msg_len = (size_t)r->len,
                             .offset = (uint64_t)(r - recs) + 1 };
        (void)emit_cb(&lr, 0, 0, out);
    }
}

static const struct qcase cases[] = {
    { { "zebracorn id=[0-3]" }, 1, 0, "", 0, 0, 1 },
    { { "\\bzebracorn id=[0-3]" }, 1, 0, "", 0, 0, 1 },
    { { "zebracorn id=[0-3]" }, 1, 1, "", 0, 0, 1 },
    { { "(?i)ZEBRACORN ID=[0-3]" }, 1, 0, "", 0, 0, 1 },
    { { "ZEBRAcorn" }, 1, 1, "", 0, 0, 1 },
    { { "zebra(corn)? id=" }, 1, 0, "", 0, 0, 1 },
    { { "zeb[r]acorn id" }, 1, 0, "", 0, 0, 1 },
    { { "zebracorn i?d=" }, 1, 0, "", 0, 0, 1 },
    { { "zebracorn{2}" }, 1, 0, "", 0, 0, 1 },
    { { "(?:zebra|uni)corn id" }, 1, 0, "", 0, 0, 1 },
    { { "zebracorn id=1", "unicorn x" }, 2, 0, "", 0, 0, 1 },
    { { "zebracorn id=1", "(?i)unicorn X" }, 2, 0, "", 0, 0, 1 },
    { { "zebracorn id=1", "d=[0-9]" }, 2, 0, "", 0, 0, 1 },
    { { "corn i" }, 1, 0, "", 0, 0, 1 },        /* across records */
    { { "n id=2 xu" }, 1, 0, "", 0, 0, 1 },
    { { "\\x00zebracorn" }, 1, 0, "", 0, 0, 1 },
    { { "zebracorn id=3\\x00y" }, 1, 0, "", 0, 0, 1 },
    { { "\\xffzebracorn" }, 1, 0, "", 0, 0, 1 },
    { { "^zebracorn$" }, 1, 0, "", 0, 0, 1 },
    { { "id=3\n$" }, 1, 1, "", 0, 0, 1 },
    { { "\\Qzebracorn id\\E=[0-9]" }, 1, 0, "", 0, 0, 1 },
    { { "\\<zebracorn\\>" }, 1, 0, "", 0, 0, 0 },
    { { "zebracorn id=[0-3]" }, 1, 0, "payment", 0, 0, 0 },
    { { "zebracorn id=[0-3]" }, 1, 0, "", 1, 0, 1 },
    { { "zebracorn id=[0-3]" }, 1, 0, "", 0, 1, 1 },
    { { "(a|aa)+zebracorn" }, 1, 0, "", 0, 0, 1 },
    /* never asked of PCRE2 on a message without "xyz", on either path
     * (else the serial one counts budget aborts the other never sees) */
    { { "(a|aa)+xyz" }, 1, 0, "", 0, 0, 1 },
    /* what every match holds in many frames, matches in few: frames
     * tested from their messages before their columns (blkload.c
     * blkload_msgs_first), with a whole word required ("gateway", the
     * token prefilter's marks) and without, in other case */
    { { "payment zeb[r]a" }, 1, 0, "", 0, 0, 1 },
    { { "upstream gateway id=[0-7]" }, 1, 0, "", 0, 0, 1 },
    { { "BY UPSTREAM gateway" }, 1, 1, "", 0, 0, 1 },
    { { "payment zeb[r]a" }, 1, 0, "", 1, 1, 1 },
};

static void
check_cases(void **state)
{
    struct fx *f = *state;
    uint64_t skips0 = store_n_raw_skipped(), lit_skips = 0;
    struct res a = { 0 }, b = { 0 };
    struct seq m = { 0 };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct qcase *c = &cases[i];
        for (int desc = 0; desc < 2; desc++) {
            uint64_t k0 = store_n_raw_skipped();
            run(f, c, 1, desc, 0, &a);
            run(f, c, 0, desc, 0, &b);
            if (i == 0)
                lit_skips += store_n_raw_skipped() - k0;
            if (a.out.len != b.out.len || a.rc != b.rc ||
                a.scanned != b.scanned || a.aborted != b.aborted ||
                memcmp(a.out.text, b.out.text, a.out.len) != 0)
                fail_msg("case %zu (%s) desc %d: serial %llu lines rc %d "
                         "scanned %llu aborted %llu, threaded %llu lines rc "
                         "%d scanned %llu aborted %llu", i, c->re[0], desc,
                         (unsigned long long)a.n_lines, a.rc,
                         (unsigned long long)a.scanned,
                         (unsigned long long)a.aborted,
                         (unsigned long long)b.n_lines, b.rc,
                         (unsigned long long)b.scanned,
                         (unsigned long long)b.aborted);
            if (!c->is_direct)
                continue;
            model_out(c, desc, &m);
            if (m.len != b.out.len ||
                memcmp(m.text, b.out.text, m.len) != 0)
                fail_msg("case %zu (%s) desc %d: %llu lines, the model "
                         "%zu bytes, search %zu", i, c->re[0], desc,
                         (unsigned long long)b.n_lines, m.len, b.out.len);
        }
        /* a cost cap inside the scan: the test is off, both count alike */
        uint64_t cap = a.scanned / 3 + 1;
        run(f, c, 1, 0, cap, &a);
        run(f, c, 0, 0, cap, &b);
        assert_int_equal(a.rc, b.rc);
        assert_int_equal(a.scanned, b.scanned);
        assert_string_equal(a.err, b.err);
        assert_int_equal(a.out.len, b.out.len);
        assert_memory_equal(a.out.text, b.out.text, a.out.len);
    }
    /* the plain literal's scans left most blocks (frames) undecoded */
    assert_true(lit_skips > 4);
    assert_true(store_n_raw_skipped() > skips0);
    free(a.out.text);
    free(b.out.text);
    free(m.text);
}

/* A literal that is all there is of a match has lines: the data holds
 * each case at least once (else the comparisons above prove little). */
static void
test_raw_data_has_matches(void **state)
{
    static const struct qcase some[] = {
        { { "zebracorn id=[0-3]" }, 1, 0, "", 0, 0, 1 },
        { { "corn i" }, 1, 0, "", 0, 0, 1 },
        { { "\\x00zebracorn" }, 1, 0, "", 0, 0, 1 },
        { { "^zebracorn$" }, 1, 0, "", 0, 0, 1 },
        { { "ZEBRAcorn" }, 1, 1, "", 0, 0, 1 },
        { { "payment zeb[r]a" }, 1, 0, "", 0, 0, 1 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(some) / sizeof(some[0]); i++)
        if (direct_count(&some[i]) == 0)
            fail_msg("no line matches %s", some[i].re[0]);
    /* and "d=2 head" follows "tail zebracorn i": a match only across */
    static const struct qcase across = { { "zebracorn id=2 head" }, 1, 0,
                                         "", 0, 0, 1 };
    assert_int_equal(direct_count(&across), 0);
}

/* ... and codec 9 frames (what a store writes) that the raw bytes
 * test left were also tested from their messages alone, some left
 * undecoded so. */
static void
test_raw_one_frame_a_block(void **state)
{
    uint64_t k0 = store_n_msgs_skipped();

    check_cases(state);
    assert_true(store_n_msgs_skipped() > k0);
}

static void
test_raw_frames(void **state)
{
    uint64_t k0 = store_n_msgs_skipped();

    check_cases(state);
    assert_true(store_n_msgs_skipped() > k0);
}

static void
test_raw_codec5(void **state)
{
    check_cases(state);
}

static void
test_raw_late_records(void **state)
{
    check_cases(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_raw_one_frame_a_block,
                                        setup_one_frame, teardown),
        cmocka_unit_test_setup_teardown(test_raw_frames, setup_frames,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_raw_codec5, setup_codec5,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_raw_late_records, setup_late,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_raw_data_has_matches,
                                        setup_one_frame, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
