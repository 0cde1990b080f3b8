/* SPDX-License-Identifier: MIT */
/*
 * storefx: the fixture of the store's API tests (collector/store/
 * store_test.c, store_crash_test.c, store_retention_test.c): a store in
 * a fresh /tmp directory with a fake clock and a write hook that fails
 * the WAL, segment or next block on demand (setup/teardown), records of
 * a few sources whose fields are derived from their offsets (put_n), and
 * scans that check every record they return against them (scan_count,
 * scan_all). Test-only, header-only.
 */
#ifndef TESTS_SUPPORT_STOREFX_H
#define TESTS_SUPPORT_STOREFX_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "common/xmalloc.h"

#define T0 1700000000000000000LL

struct fx {
    char            dir[64];
    struct store   *s;
    struct store_options opt;
    int64_t         now;
    int             fail_what;  /* 0 none, 1 wal, 2 segment, 3 the next
                                   block built (once), 4 a block written
                                   to a segment (not its header) */
};

static inline int64_t
fake_clock(void *arg)
{
    return ((struct fx *)arg)->now;
}

static inline int
fake_write_hook(const char *what, size_t len, void *arg)
{
    struct fx *f = arg;

    if ((f->fail_what == 1 && strcmp(what, "wal") == 0) ||
        (f->fail_what == 2 && strcmp(what, "segment") == 0) ||
        (f->fail_what == 4 && strcmp(what, "segment") == 0 &&
         len > 16)) {                   /* 16: a segment header */
        errno = ENOSPC;
        return -1;
    }
    if (f->fail_what == 3 && strcmp(what, "block") == 0) {
        f->fail_what = 0;
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static inline int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/store_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->opt.block_size = 4096;
    f->opt.segment_size = 64 << 10;
    f->opt.clock = fake_clock;
    f->opt.clock_arg = f;
    f->opt.write_hook = fake_write_hook;
    f->opt.write_hook_arg = f;
    f->now = T0;
    *state = f;
    return 0;
}

static inline int
teardown(void **state)
{
    struct fx *f = *state;
    char *cmd;

    store_close(f->s);
    cmd = xasprintf("rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static inline void
fx_open(struct fx *f)
{
    char *err = NULL;

    store_close(f->s);
    f->s = store_open(f->dir, &f->opt, &err);
    if (!f->s)
        fail_msg("store_open: %s", err);
}

/* The receive time put() gives a record: several records share one, as
 * the records of one batch do (STORE.md "Block", codecs 4 and 5). */
static inline int64_t
recv_of(int src, uint64_t off)
{
    return T0 + 3600000000000LL + (int64_t)(off / 7) * 1000000 + src;
}

/* Record i of source src: fields derived from i so checks can recompute. */
static inline int
put(struct fx *f, int src, uint64_t off, int64_t t, const char *msg)
{
    char host[16], cid[16], name[16];
    struct logrec r = { 0 };

    snprintf(host, sizeof(host), "host%d", src % 2);
    snprintf(cid, sizeof(cid), "cid%d", src);
    snprintf(name, sizeof(name), "web-%d", src);
    r.time_ns = t;
    r.host = host;
    r.container_id = cid;
    r.container = name;
    r.image = src == 2 ? "redis:7" : "nginx:1";
    r.stream = (uint8_t)(off % 2);
    r.offset = off;
    r.msg = msg;
    r.msg_len = strlen(msg);
    r.recv_ns = recv_of(src, off);
    return store_append(f->s, &r);
}

static inline int
put_n(struct fx *f, int src, uint64_t off0, int n)
{
    char msg[64];
    int added = 0;

    for (int i = 0; i < n; i++) {
        uint64_t off = off0 + (uint64_t)i;
        snprintf(msg, sizeof(msg), "line %d/%llu of the test", src,
                 (unsigned long long)off);
        added += put(f, src, off, T0 + (int64_t)off * 1000 + src, msg);
    }
    return added;
}

static inline struct store_filter
all_filter(void)
{
    struct store_filter fl = { .since_ns = INT64_MIN, .until_ns = INT64_MAX,
                               .stream = -1 };
    return fl;
}

/* Counts records (and -1 reports) of a scan; checks message integrity. */
static inline int
scan_count(struct store *s, const struct store_filter *fl, int newest,
           int *n_bad)
{
    struct store_cursor *c = store_cursor_new(s, fl, newest);
    struct logrec r;
    int n = 0, rc;
    char want[64];

    if (n_bad)
        *n_bad = 0;
    while ((rc = store_cursor_next(c, &r)) != 0) {
        if (rc < 0) {
            assert_non_null(n_bad);
            (*n_bad)++;
            continue;
        }
        int src = r.container_id[3] - '0';
        snprintf(want, sizeof(want), "line %d/%llu of the test", src,
                 (unsigned long long)r.offset);
        assert_int_equal(r.msg_len, strlen(want));
        assert_memory_equal(r.msg, want, r.msg_len);
        assert_int_equal(r.time_ns, T0 + (int64_t)r.offset * 1000 + src);
        assert_int_equal(r.recv_ns, recv_of(src, r.offset));
        n++;
    }
    store_cursor_free(c);
    return n;
}

static inline int
scan_all(struct store *s)
{
    struct store_filter fl = all_filter();

    return scan_count(s, &fl, 1, NULL);
}

#endif
