/* SPDX-License-Identifier: MIT */
/*
 * index_bench_test: a by-hand benchmark of the indexed store that also runs
 * as a (small) unit test. It ingests plain log text (one record per line,
 * 8 sources) and prints ingest MiB/s, stored size (blocks + index) against
 * the text and against the Docker json-file bytes it stands for, and the
 * time of rare-token queries against a full scan and `grep -F -c` over the
 * same text. Timings are printed, never asserted; query results are checked
 * against a brute-force scan.
 *   LOGQ_BENCH_TEXT=file   text to ingest (default: 8 MiB generated here)
 *   LOGQ_BENCH_DIR=dir     store directory (default: a temp dir, removed)
 *   LOGQ_BENCH_CODEC=zlib  sealed blocks in zlib (default: zstd)
 *   LOGQ_BENCH_LEVEL=n     level of sealed blocks (default: store's)
 *   LOGQ_BENCH_BLOCK=k     block size in KiB (default: store's)
 *   LOGQ_BENCH_REUSE=1     query the store left in LOGQ_BENCH_DIR by an
 *                          earlier run of the same text (no ingest)
 * e.g. logq-loggen --kind mixed --bytes 750000000 --format plain > t.txt;
 *      make build/release/tests/collector/store/index_bench_test
 *      LOGQ_BENCH_TEXT=t.txt build/release/tests/collector/store/index_bench_test
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store.h"
#include "collector/store/tokenize.h"
#include "common/xmalloc.h"
#include "tests/support/indextest.h"

#define T0 1790000000000000000LL

static double
now_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes n bytes of log-like lines (templates, ids, IPs, numbers). */
static void
gen_text(const char *path, size_t n)
{
    static const char *lvl[] = { "INFO", "WARN", "ERROR", "DEBUG" };
    static const char *what[] = { "request served", "cache miss for key",
                                  "user logged in", "payment accepted",
                                  "retrying upstream", "slow query" };
    FILE *f = fopen(path, "w");
    size_t len = 0;

    assert_non_null(f);
    for (uint64_t i = 0; len < n; i++) {
        int k = fprintf(f, "2026-11-27T13:%02u:%02u.%03uZ %s [worker-%u] %s "
                        "id=%08x-%04x path=/api/v%u/items/%u ip=10.%u.%u.%u "
                        "took %u ms\n", (unsigned)(i / 60000 % 60),
                        (unsigned)(i / 1000 % 60), (unsigned)(i % 1000),
                        lvl[rng() % 4], rng() % 16, what[rng() % 6], rng(),
                        rng() % 65536, 1 + rng() % 3, rng() % 100000,
                        rng() % 256, rng() % 256, rng() % 256, rng() % 2000);
        assert_true(k > 0);
        len += (size_t)k;
    }
    fclose(f);
}

/* Bytes of the Docker json-file line holding msg (with its newline). */
static size_t
json_len(const char *msg, size_t len)
{
    /* {"log":"...\n","stream":"stdout","time":"<30 chars>"}\n */
    size_t n = 8 + len + 2 + 22 + 41;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)msg[i];
        if (c == '"' || c == '\\' || c == '\t')
            n++;
        else if (c < 0x20)
            n += 5;
    }
    return n;
}

struct bench {
    const char *text;
    size_t      len;
    size_t      n_lines;
    size_t      json_bytes;
    char       *path;
    char       *dir;
};

static void
ingest(struct bench *b, struct store *s, int dry)
{
    static const char *hosts[2] = { "node-1", "node-2" };
    static const char *cids[4] = { "c0", "c1", "c2", "c3" };
    uint64_t off[8] = { 0 };
    const char *p = b->text, *end = b->text + b->len;
    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    double h0 = now_s(CLOCK_THREAD_CPUTIME_ID);

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t k = b->n_lines % 8, jl = json_len(p, len);
        off[k] += jl;
        struct logrec r = {
            .time_ns = T0 + (int64_t)b->n_lines * 1000000,
            .host = hosts[k / 4], .container_id = cids[k % 4],
            .container = "app", .image = "app:1", .stream = 0,
            .offset = off[k], .msg = p, .msg_len = len,
        };
        if (!dry)
            assert_int_equal(store_append(s, &r), 1);
        b->json_bytes += jl;
        if (++b->n_lines % 2000 == 0 && !dry)
            assert_int_equal(store_commit(s), 0);
        p += len + 1;
    }
    if (dry)
        return;
    assert_int_equal(store_commit(s), 0);
    double hcpu = now_s(CLOCK_THREAD_CPUTIME_ID) - h0;
    assert_int_equal(store_sync(s), 0);
    double wall = now_s(CLOCK_MONOTONIC) - t0;
    double cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("ingest: %zu lines, %.1f MiB text = %.1f MiB json-file: "
           "%.1f MiB/s json (%.1f text), CPU-only %.1f MiB/s json "
           "(all threads), caller thread %.1f MiB/s json\n",
           b->n_lines, b->len / 1048576.0, b->json_bytes / 1048576.0,
           b->json_bytes / 1048576.0 / wall, b->len / 1048576.0 / wall,
           b->json_bytes / 1048576.0 / cpu,
           b->json_bytes / 1048576.0 / hcpu);
}

/* Counts the records holding tok (as a substring, case-insensitive) with
 * or without the index; *secs gets the wall time. */
static size_t
query(struct store *s, const char *tok, int use_index, double *secs,
      size_t *n_read)
{
    const char *toks[1] = { tok };
    struct store_filter f = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
        .tokens = use_index ? toks : NULL, .n_tokens = use_index ? 1 : 0,
    };
    double t0 = now_s(CLOCK_MONOTONIC);
    struct store_cursor *c = store_cursor_new(s, &f, 1);
    struct logrec r;
    size_t n = 0, tl = strlen(tok);
    int rc;

    *n_read = 0;
    while ((rc = store_cursor_next(c, &r)) != 0) {
        if (rc < 0)
            continue;
        (*n_read)++;
        for (size_t i = 0; i + tl <= r.msg_len; i++)
            if (strncasecmp(r.msg + i, tok, tl) == 0) {
                n++;
                break;
            }
    }
    store_cursor_free(c);
    *secs = now_s(CLOCK_MONOTONIC) - t0;
    return n;
}

/* Keeps the longest token with both letters and digits (ids, hashes:
 * what people look up and what occurs in few lines). */
static int
pick_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    char *best = arg;
    int has_digit = 0, has_alpha = 0;

    (void)hash;
    for (size_t i = 0; i < len; i++) {
        has_digit |= tok[i] >= '0' && tok[i] <= '9';
        has_alpha |= tok[i] >= 'a' && tok[i] <= 'z';
    }
    if (has_digit && has_alpha && len >= 6 && len > strlen(best) &&
        len < 40) {
        memcpy(best, tok, len);
        best[len] = '\0';
    }
    return 0;
}

/* An id-like token of the first line near frac of the text that has one. */
static void
pick_token(const struct bench *b, double frac, char *out)
{
    const char *p = b->text + (size_t)(frac * (double)b->len);
    const char *e = b->text + b->len;

    out[0] = '\0';
    while (p < e && *p != '\n')
        p++;
    for (int i = 0; i < 10000 && !out[0] && p < e; i++) {
        p++;
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl)
            break;
        tokenize_foreach(p, (size_t)(nl - p), 0, pick_cb, out);
        p = nl;
    }
}

static double
grep_secs(const char *path, const char *tok)
{
    /* not > /dev/null: GNU grep then stops at the first match */
    char *cmd = xasprintf("grep -F -c '%s' '%s' > %s.grep", tok, path,
                          path);
    double t0 = now_s(CLOCK_MONOTONIC);
    int rc = system(cmd);
    double t = now_s(CLOCK_MONOTONIC) - t0;

    free(cmd);
    cmd = xasprintf("%s.grep", path);
    unlink(cmd);
    free(cmd);
    return rc == 0 ? t : -1;
}

static void
queries(struct bench *b, struct store *s)
{
    double full = -1;

    for (int q = 0; q < 6; q++) {
        char tok[80];
        double ti, ts = 0;
        size_t ri, rs = 0, ns = 0;
        pick_token(b, 0.07 + 0.17 * q, tok);
        if (!tok[0])
            continue;
        size_t ni = query(s, tok, 1, &ti, &ri);
        if (q == 0) {
            ns = query(s, tok, 0, &ts, &rs);
            assert_int_equal(ni, ns);
            full = ts;
        }
        assert_true(ni >= 1);
        double tg = grep_secs(b->path, tok);
        printf("query %-24s %zu lines, read %zu records: indexed %.2f ms, "
               "grep -F -c %.1f ms (%.0fx)%s\n", tok, ni, ri, ti * 1e3,
               tg * 1e3, tg / ti, q == 0 ? "" : "");
        if (q == 0)
            printf("      full scan of the store: %.1f ms (%zu records)\n",
                   full * 1e3, rs);
    }
}

static void
test_index_bench(void **state)
{
    struct bench b = { 0 };
    const char *src = getenv("LOGQ_BENCH_TEXT");
    const char *keep = getenv("LOGQ_BENCH_DIR");
    char tmpl[] = "/tmp/logq-bench-XXXXXX";
    struct stat st;

    (void)state;
    rng_state = 1;                      /* the same text every run */
    assert_non_null(mkdtemp(tmpl));
    b.dir = xstrdup(keep ? keep : tmpl);
    b.path = src ? xstrdup(src) : xasprintf("%s-text", tmpl);
    if (!src)
        gen_text(b.path, 8u << 20);
    int fd = open(b.path, O_RDONLY);
    assert_true(fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0);
    b.len = (size_t)st.st_size;
    b.text = mmap(NULL, b.len, PROT_READ, MAP_PRIVATE, fd, 0);
    assert_true(b.text != MAP_FAILED);
    close(fd);

    char *err = NULL;
    struct store_options opt = { .compress_level = 0 };
    const char *lvl = getenv("LOGQ_BENCH_LEVEL");
    const char *codec = getenv("LOGQ_BENCH_CODEC");
    const char *blk = getenv("LOGQ_BENCH_BLOCK");
    if (lvl)
        opt.compress_level = (int)strtol(lvl, NULL, 10);
    if (codec && strcmp(codec, "zlib") == 0)
        opt.compress_codec = STORE_COMPRESS_ZLIB;
    if (blk)
        opt.block_size = (size_t)strtoul(blk, NULL, 10) << 10;
    struct store *s = store_open(b.dir, &opt, &err);
    assert_non_null(s);
    ingest(&b, s, keep && getenv("LOGQ_BENCH_REUSE"));
    store_close(s);
    double t0 = now_s(CLOCK_MONOTONIC);
    s = store_open(b.dir, &opt, &err);
    assert_non_null(s);
    double topen = now_s(CLOCK_MONOTONIC) - t0;
    struct store_stats ss;
    store_get_stats(s, &ss);
    printf("stored: %.1f MiB (index %.1f MiB) in %llu segments = %.1f%% of "
           "json-file, %.1f%% of text; reopen %.0f ms, rebuilds %llu\n",
           ss.stored_bytes / 1048576.0, ss.index_bytes / 1048576.0,
           (unsigned long long)ss.n_segments,
           100.0 * (double)ss.stored_bytes / (double)b.json_bytes,
           100.0 * (double)ss.stored_bytes / (double)b.len, topen * 1e3,
           (unsigned long long)ss.n_index_rebuilds);
    assert_int_equal(ss.n_records, b.n_lines);
    queries(&b, s);
    store_close(s);
    munmap((void *)b.text, b.len);
    if (!keep)
        remove_dir(b.dir);
    if (!src)
        unlink(b.path);
    free(b.path);
    free(b.dir);
    if (keep)
        rmdir(tmpl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
