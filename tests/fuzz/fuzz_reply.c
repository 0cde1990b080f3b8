/* SPDX-License-Identifier: MIT */
/*
 * fuzz_reply: libFuzzer target for what logq reads from the collector, a
 * hostile server or a man in the middle: the HTTP response framing
 * (query/http.c), its body cut into lines (query/linesplit.c), each line
 * classified and parsed as a record (query/xreply.c, query/reply.c), and
 * the JSON bodies of the other commands: hosts/containers lists, error
 * objects, count and histogram, health, metrics names and series, store
 * stats, each parsed then rendered as logq prints it. The first byte
 * picks the mode. Invariants checked with assert: the response yields the
 * same status, body and outcome fed whole or one byte at a time; the fast
 * record scanner and jansson agree on every line (result and fields,
 * the "labels" object included); a canonical line is byte for byte what
 * record_json_append writes; parsed lists render without overrunning
 * their buffer.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/labelset.h"
#include "common/record.h"
#include "common/xmalloc.h"
#include "query/health.h"
#include "query/http.h"
#include "query/linesplit.h"
#include "query/metrics_view.h"
#include "query/reply.h"
#include "query/stats_view.h"
#include "query/xreply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW_NS 1795787440123456789LL

/* ---- one record line ---- */

static int
fuzz_streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static int
fuzz_line_cb(const char *line, size_t len, void *arg)
{
    char err[256], err2[256];
    struct reply_record a, b;

    (void)arg;
    if (xreply_line_kind(line, len, err, sizeof(err)) != XREPLY_RECORD)
        return 0;
    int ra = reply_record_parse(line, len, &a, err, sizeof(err));
    int rb = reply_record_parse_json(line, len, &b, err2, sizeof(err2));
    assert(ra == rb);
    if (ra < 0)
        return 0;
    assert(a.rec.time_ns == b.rec.time_ns && a.rec.stream == b.rec.stream);
    assert(fuzz_streq(a.rec.host, b.rec.host) &&
           fuzz_streq(a.rec.container, b.rec.container) &&
           fuzz_streq(a.rec.container_id, b.rec.container_id) &&
           fuzz_streq(a.rec.image, b.rec.image));
    assert(labelset_is_equal(a.labels, b.labels));
    assert(a.rec.msg_len == b.rec.msg_len &&
           memcmp(a.rec.msg, b.rec.msg, a.rec.msg_len) == 0);
    if (a.canon != NULL) {
        struct buf out;
        buf_init(&out, 2 * len + 1024);
        assert(record_json_append(&out, &a.rec) == 0);
        assert(out.len == a.canon_len + 1 &&
               memcmp(out.data, a.canon, a.canon_len) == 0);
        buf_fini(&out);
    }
    (void)xreply_is_context(&a);
    (void)xreply_group(&a);
    reply_record_fini(&a);
    reply_record_fini(&b);
    return 0;
}

/* ---- the HTTP response ---- */

struct fuzz_resp {
    struct buf       body;
    struct linesplit ls;
    int              status;
    int              n_head;
};

static int
fuzz_head_cb(int status, void *arg)
{
    struct fuzz_resp *f = arg;

    f->status = status;
    f->n_head++;
    return 0;
}

static int
fuzz_body_cb(const char *p, size_t n, void *arg)
{
    struct fuzz_resp *f = arg;

    assert(buf_append(&f->body, p, n) == 0);
    return linesplit_feed(&f->ls, p, n, fuzz_line_cb, NULL) < 0 &&
           f->ls.errstr == NULL ? -1 : 0;
}

/* Feeds p[0..n) in pieces of step bytes, then the end of the connection;
 * the outcome: 0 complete, -1 malformed. */
static int
fuzz_resp_run(const char *p, size_t n, size_t step, struct fuzz_resp *f)
{
    struct http_resp r;
    int rc = 0;

    memset(f, 0, sizeof(*f));
    buf_init(&f->body, n + 1);
    linesplit_init(&f->ls, 4096);
    http_resp_init(&r, fuzz_head_cb, fuzz_body_cb, f);
    for (size_t off = 0; off < n && rc == 0 && !http_resp_is_done(&r);
         off += step)
        rc = http_resp_feed(&r, p + off, n - off < step ? n - off : step);
    if (rc == 0 && !http_resp_is_done(&r))
        rc = http_resp_eof(&r);
    assert(rc == 0 || r.errstr != NULL);
    if (rc == 0)
        (void)linesplit_finish(&f->ls, fuzz_line_cb, NULL);
    assert(f->n_head <= 1);
    http_resp_fini(&r);
    linesplit_fini(&f->ls);
    return rc;
}

static void
fuzz_http(const char *p, size_t n)
{
    struct fuzz_resp whole, bytes;
    int rw = fuzz_resp_run(p, n, n ? n : 1, &whole);
    int rb = fuzz_resp_run(p, n, 1, &bytes);

    assert(rw == rb && whole.status == bytes.status &&
           whole.n_head == bytes.n_head);
    assert(whole.body.len == bytes.body.len &&
           (whole.body.len == 0 ||
            memcmp(whole.body.data, bytes.body.data, whole.body.len) == 0));
    buf_fini(&whole.body);
    buf_fini(&bytes.body);
}

/* ---- JSON bodies ---- */

static void
fuzz_lists(const char *p, size_t n, int status)
{
    char err[256];
    struct reply_list l;
    struct xreply_count c;
    struct xreply_hist h;
    struct buf out;

    buf_init(&out, 1u << 20);
    if (reply_list_parse(p, n, &l, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < l.n_items; i++)
            (void)reply_list_item_json(&l, i, &out);
        reply_list_fini(&l);
    }
    reply_error_parse(p, n, status, err, sizeof(err));
    assert(memchr(err, '\0', sizeof(err)) != NULL);
    if (xreply_count_parse(p, n, &c, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < c.n_groups; i++)
            assert(c.groups[i].key != NULL);
        xreply_count_fini(&c);
    }
    if (xreply_hist_parse(p, n, &h, err, sizeof(err)) == 0) {
        assert(h.step_ms > 0);      /* buckets: in the order sent */
        xreply_hist_fini(&h);
    }
    buf_fini(&out);
}

static void
fuzz_views(const char *p, size_t n, int flags)
{
    char err[256];
    struct health_reply hr;
    struct mview_reply mv;
    struct stats_view sv;
    struct buf out;

    buf_init(&out, 1u << 20);
    if (health_reply_parse(p, n, &hr, err, sizeof(err)) == 0) {
        int st = health_exit_status(&hr);
        assert(st == 0 || st == 1);
        (void)health_render(&out, &hr, FUZZ_NOW_NS, flags & 1);
        health_reply_fini(&hr);
    }
    buf_reset(&out);
    if (mview_names_parse(p, n, &mv, err, sizeof(err)) == 0) {
        (void)mview_names_render(&out, &mv);
        mview_reply_fini(&mv);
    }
    buf_reset(&out);
    if (mview_series_parse(p, n, &mv, err, sizeof(err)) == 0) {
        (void)mview_series_render(&out, &mv, flags & 1, flags & 2);
        mview_reply_fini(&mv);
    }
    buf_reset(&out);
    if (stats_view_parse(p, n, &sv, err, sizeof(err)) == 0) {
        (void)stats_view_render(&out, &sv, flags & 1);
        stats_view_fini(&sv);
    }
    buf_fini(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 64 * 1024)
        return 0;
    size_t n = size - 1;
    char *p = xmalloc(n ? n : 1);      /* exact size: no read past n */
    memcpy(p, data + 1, n);
    switch (data[0] % 3) {
    case 0: fuzz_http(p, n); break;
    case 1: fuzz_lists(p, n, 400 + data[0] / 3); break;
    default: fuzz_views(p, n, data[0] / 3); break;
    }
    free(p);
    return 0;
}
