/* SPDX-License-Identifier: MIT */
/*
 * dockerline_diff_test: the json-file line scanner against jansson
 * (split from dockerline_test.c, which has the fixed cases): corpus
 * lines, random bytes and random Unicode are wrapped with json_dumps and
 * decoded by both. The corpus is $LOGQ_CORPUS (an absolute
 * path: tests/run-unit.sh finds it beside the source tree whatever the
 * current directory), else ../shared/corpus from the current directory. A
 * corpus that is not there fails the test; only LOGQ_CORPUS=none skips it
 * (a choice: run-unit.sh makes it, with a warning, when no corpus exists
 * beside the tree). Ends with a throughput figure (printed, not asserted).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/record.h"
#include "common/xmalloc.h"
#include "shipper/dockerline.h"
#include "tests/support/dockerlinefx.h"
#include "tests/support/testrng.h"
#include "tests/support/corpusdir.h"

/* ------------------------------------------------------------------ */
/* Differential test against jansson                                   */
/* ------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
    return testrng_next(&rng_state);
}

struct diff_stats {
    size_t n_lines, n_invalid;
};

/* ------------------------------------------------------------------ */
/* The fast path against the general scanner                           */
/* ------------------------------------------------------------------ */

/* One parse of line into a buf of room bytes after a 3-byte prefix. */
static int
parse_capped(int is_ref, const char *line, size_t len, size_t room,
             struct buf *b, struct dockerline *dl)
{
    buf_init(b, 3 + room);
    assert_int_equal(buf_append(b, "pre", 3), 0);
    memset(dl, 0xa5, sizeof(*dl));
    return is_ref ? dockerline_parse_ref(line, len, b, dl)
                  : dockerline_parse(line, len, b, dl);
}

/* dockerline_parse (the fast path for Docker's own layout first) and
 * dockerline_parse_ref (the general scanner alone) on one line, uncapped
 * and with caps at and around the result: the same return, bytes, stream,
 * flags, time, is_partial and eol_len. */
static size_t n_same;

static void
same_as_ref(const char *line, size_t len)
{
    struct buf a, b;
    struct dockerline da, db;
    size_t full = 3 * len + 64;

    assert_int_equal(parse_capped(1, line, len, full, &b, &db), 0);
    size_t want = b.len - 3;
    size_t rooms[] = { full, want + 16, want, want ? want - 1 : 0, 16, 0 };
    for (size_t i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++) {
        struct buf rb;
        struct dockerline rdl;
        int ra = parse_capped(0, line, len, rooms[i], &a, &da);
        int rr = parse_capped(1, line, len, rooms[i], &rb, &rdl);
        if (ra != rr || a.len != rb.len || memcmp(a.data, rb.data, a.len) != 0)
            fail_msg("fast path differs from the reference (room %zu): "
                     "%.*s", rooms[i], (int)len, line);
        if (ra == 0 &&
            (da.stream != rdl.stream || da.flags != rdl.flags ||
             da.time_ns != rdl.time_ns || da.is_partial != rdl.is_partial ||
             da.eol_len != rdl.eol_len))
            fail_msg("fast path fields differ from the reference: %.*s",
                     (int)len, line);
        buf_fini(&a);
        buf_fini(&rb);
    }
    buf_fini(&b);
    n_same++;
}

/* Wraps text with jansson's encoder, decodes with both, compares. */
static void
diff_one(const char *text, size_t len, struct diff_stats *st)
{
    static const size_t flags[] = {JSON_COMPACT, 0, JSON_ENSURE_ASCII,
                                   JSON_COMPACT | JSON_ESCAPE_SLASH,
                                   JSON_COMPACT | JSON_ENSURE_ASCII |
                                       JSON_SORT_KEYS};
    char *with_nl = xmalloc(len + 1);
    memcpy(with_nl, text, len);
    with_nl[len] = '\n';
    json_t *o = json_object();
    json_t *s = json_stringn(with_nl, len + 1);
    assert_non_null(s);
    assert_int_equal(json_object_set_new(o, "log", s), 0);
    json_object_set_new(o, "stream", json_string("stderr"));
    json_object_set_new(o, "time", json_string("2026-11-27T13:50:40.5Z"));
    if (rng() % 4 == 0)
        json_object_set_new(o, "attrs", json_pack("{s:s,s:i}", "tag", "t",
                                                  "n", 1));
    char *line = json_dumps(o, flags[rng() % 5] | JSON_PRESERVE_ORDER);
    assert_non_null(line);

    json_error_t err;
    json_t *back = json_loads(line, JSON_ALLOW_NUL, &err);
    assert_non_null(back);
    json_t *lv = json_object_get(back, "log");
    const char *want = json_string_value(lv);
    size_t want_len = json_string_length(lv);
    assert_true(want_len >= 1 && want[want_len - 1] == '\n');
    want_len--;
    if (want_len >= 1 && want[want_len - 1] == '\r')
        want_len--;

    struct dockerline dl;
    buf_reset(&msg);
    assert_int_equal(dockerline_parse(line, strlen(line), &msg, &dl), 0);
    if (dl.flags != 0 || msg.len != want_len ||
        (want_len && memcmp(msg.data, want, want_len) != 0))
        fail_msg("differs from jansson: %s", line);
    assert_int_equal(dl.stream, LOGREC_STDERR);
    assert_int_equal(dl.is_partial, 0);
    same_as_ref(line, strlen(line));
    st->n_lines++;
    json_decref(back);
    free(line);
    json_decref(o);
    free(with_nl);
}

/* Reference repair for invalid UTF-8, using only jansson's validator. */
static int
is_valid(const uint8_t *p, size_t n)
{
    json_t *s = json_stringn((const char *)p, n);
    json_decref(s);
    return s != NULL;
}

static void
ref_repair(const uint8_t *p, size_t n, struct buf *out)
{
    static const uint8_t fffd[3] = {0xef, 0xbf, 0xbd};
    static const uint8_t c80[3] = {0x80, 0x80, 0x80};

    for (size_t i = 0; i < n;) {
        size_t len = 0, bad = 1;
        for (size_t l = 1; l <= 4 && i + l <= n && !len; l++)
            if (is_valid(p + i, l))
                len = l;
        if (len) {
            buf_append(out, p + i, len);
            i += len;
            continue;
        }
        /* longest prefix (2..3 bytes) some valid sequence starts with */
        for (size_t l = 3; l >= 2 && bad == 1; l--) {
            uint8_t t[4];
            if (i + l > n)
                continue;
            memcpy(t, p + i, l);
            for (size_t k = 1; l + k <= 4 && bad == 1; k++) {
                memcpy(t + l, c80, k);
                if (is_valid(t, l + k))
                    bad = l;
            }
        }
        buf_append(out, fffd, 3);
        i += bad;
    }
}

/* Invalid UTF-8 cannot go through json_stringn: write the line by hand. */
static void
diff_invalid(const uint8_t *text, size_t len, struct diff_stats *st)
{
    struct buf line, want;

    buf_init(&line, 1 << 20);
    buf_init(&want, 1 << 20);
    buf_append(&line, "{\"log\":\"", 8);
    for (size_t i = 0; i < len; i++) {
        char esc[8];
        if (text[i] == '"' || text[i] == '\\' || text[i] < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", text[i]);
            buf_append(&line, esc, 6);
        } else {
            buf_append(&line, text + i, 1);
        }
    }
    const char *tail = "\\n\",\"stream\":\"stdout\"," T_TIME "}";
    buf_append(&line, tail, strlen(tail));
    ref_repair(text, len, &want);
    if (want.len && want.data[want.len - 1] == '\r')
        want.len--;

    struct dockerline dl;
    buf_reset(&msg);
    assert_int_equal(dockerline_parse((char *)line.data, line.len, &msg, &dl),
                     0);
    assert_int_equal(dl.flags, LOGREC_F_INVALID_UTF8);
    assert_true(is_valid(msg.data, msg.len));
    if (msg.len != want.len || memcmp(msg.data, want.data, want.len) != 0)
        fail_msg("invalid UTF-8 repair differs at line %zu", st->n_lines);
    same_as_ref((char *)line.data, line.len);
    st->n_invalid++;
    buf_fini(&want);
    buf_fini(&line);
}

static size_t
diff_file(const char *path, struct diff_stats *st)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;

    assert_non_null(f);
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        diff_one(line, (size_t)len, st);
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

/* LOGQ_CORPUS=none: the corpus part is skipped on purpose. */
static int
corpus_is_skipped(void)
{
    return strcmp(corpus_dir(), "none") == 0;
}

static void
test_dockerline_diff_corpus(void **state)
{
    struct diff_stats st = {0};

    if (corpus_is_skipped()) {
        print_message("[ SKIPPED  ] LOGQ_CORPUS=none: corpus part skipped\n");
        skip();
    }
    DIR *d = opendir(corpus_dir());
    struct dirent *e;
    if (d == NULL)
        fail_msg("json-file corpus %s not found: set LOGQ_CORPUS to its "
                 "absolute path (tests/run-unit.sh does), or LOGQ_CORPUS=none "
                 "to skip this part", corpus_dir());
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        char *path = xasprintf("%s/%s", corpus_dir(), e->d_name);
        diff_file(path, &st);
        free(path);
    }
    closedir(d);
    print_message("corpus: %zu lines identical to jansson\n", st.n_lines);
    assert_true(st.n_lines > 0);
}

/* Random code points of every UTF-8 length, controls included. */
static size_t
random_unicode(char *out, size_t max_cp)
{
    size_t n = 0, count = rng() % max_cp;

    for (size_t i = 0; i < count; i++) {
        uint32_t cp;
        switch (rng() % 6) {
        case 0: cp = (uint32_t)(rng() % 0x20); break;
        case 1: cp = 0x20 + (uint32_t)(rng() % 0x60); break;
        case 2: cp = 0x80 + (uint32_t)(rng() % 0x780); break;
        case 3: cp = 0x800 + (uint32_t)(rng() % 0xf800); break;
        case 4: cp = 0x10000 + (uint32_t)(rng() % 0x100000); break;
        default: cp = "\"\\/\r\n\t"[rng() % 6]; break;
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xfffd;
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xc0 | (cp >> 6));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[n++] = (char)(0xe0 | (cp >> 12));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[n++] = (char)(0xf0 | (cp >> 18));
            out[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    return n;
}

static void
test_dockerline_diff_random(void **state)
{
    struct diff_stats st = {0};
    char text[4 * 400];

    for (int i = 0; i < 3000; i++) {
        size_t n = random_unicode(text, 400);
        diff_one(text, n, &st);
    }
    for (int i = 0; i < 3000; i++) {
        size_t n = rng() % 300;
        for (size_t k = 0; k < n; k++) {
            /* mostly text-like bytes, some high ones */
            uint64_t r = rng();
            text[k] = (char)(r % 4 ? 0x20 + (r >> 8) % 0x5f : (r >> 8) & 0xff);
        }
        if (is_valid((uint8_t *)text, n))
            diff_one(text, n, &st);
        else
            diff_invalid((uint8_t *)text, n, &st);
    }
    print_message("random: %zu lines identical to jansson, %zu invalid "
                  "UTF-8 lines identical to the reference repair\n",
                  st.n_lines, st.n_invalid);
    assert_true(st.n_invalid > 100);
}

/* One byte the scanner must stop at ('"', '\\', a control, the start of
 * a two-byte character, an invalid byte) at every offset of a clean run
 * of 0..47 bytes, followed by 0..19 clean bytes: the 16- and 8-byte steps
 * of dl_find_special and their tails, byte for byte against jansson (and
 * the reference repair for the invalid byte). */
static void
test_dockerline_diff_positions(void **state)
{
    static const char *const special[] = { "\"", "\\", "\n", "\001",
                                           "\t", "\303\251", "\177" };
    struct diff_stats st = {0};
    char text[128];

    for (size_t kind = 0; kind < 8; kind++) {
        for (size_t k = 0; k < 48; k++) {
            for (size_t m = 0; m < 20; m++) {
                size_t n = 0;
                for (size_t i = 0; i < k; i++)
                    text[n++] = (char)('a' + i % 26);
                if (kind < 7) {
                    size_t sl = strlen(special[kind]);
                    memcpy(text + n, special[kind], sl);
                    n += sl;
                } else {
                    text[n++] = (char)0xff;     /* invalid UTF-8 */
                }
                for (size_t i = 0; i < m; i++)
                    text[n++] = (char)('A' + i % 26);
                if (kind < 7)
                    diff_one(text, n, &st);
                else
                    diff_invalid((uint8_t *)text, n, &st);
            }
        }
    }
    assert_int_equal(st.n_lines, 7 * 48 * 20);
    assert_int_equal(st.n_invalid, 48 * 20);
}

/*
 * Lines at the edges of the fast path's shape, each against the general
 * scanner (same_as_ref): texts with every kind of stop byte and escape at
 * the 16-byte steps' edges, in Docker's layout and in shapes the fast path
 * must hand over (other key orders, spaces, attrs, a trailing CR, other
 * streams, times of every form and length, bytes after the object), and
 * every prefix of a line (a line cut anywhere).
 */
static void
test_dockerline_fast_edges(void **state)
{
    static const char *const texts[] = {
        "", "\\n", "\\r\\n", "\\r", "a", "plain text of some length here\\n",
        "q\\\"uote\\\" and \\\\ back\\/slash\\n", "\\t\\b\\f tab\\n",
        "\\u0026amp \\u003c \\u003e \\u0000 nul\\n", "\\u00e9\\u4e2d\\n",
        "\\ud83d\\ude00 pair\\n", "\\ud83d lone high\\n", "\\ude00 lone low\\n",
        "\\uD83D\\uDE00 upper\\n", "\\ud83d\\u0041 high then A\\n",
        "caf\303\251 \344\270\255 \360\237\230\200\n", "\\x bad escape",
        "\\u12 short", "\\u12g4 bad hex", "ends with backslash \\",
        "ctl \001 byte", "tab \t raw", "del \177 byte\\n",
        "bad \377 byte\\n", "cut \303", "cont \200\\n", "over \300\257\\n",
        "surr \355\240\200\\n", "big \364\220\200\200\\n",
        "0123456789abcdef0123456789abcde\\n",
        "0123456789abcdef0123456789abcdef\\n",
        "0123456789abcdef0123456789abcdef0\\n",
    };
    /* each shape: what comes before the text, between it and the time,
     * after the time */
    static const char *const frames[][3] = {
        {"{\"log\":\"", "\",\"stream\":\"stdout\",\"time\":\"", "\"}"},
        {"{\"log\":\"", "\",\"stream\":\"stderr\",\"time\":\"", "\"}"},
        {"{\"log\":\"", "\",\"stream\":\"stdin\",\"time\":\"", "\"}"},
        {"{\"log\":\"", "\",\"stream\":\"stdoutx\",\"time\":\"", "\"}"},
        {"{\"log\":\"", "\",\"stream\":\"std\\u006fut\",\"time\":\"",
         "\"}"},
        {"{\"log\":\"", "\",\"stream\":\"stdout\",\"time\":\"", "\"}\r"},
        {"{\"log\":\"", "\",\"stream\":\"stdout\",\"time\":\"", "\"} "},
        {"{\"log\":\"", "\",\"stream\":\"stdout\",\"time\":\"", "\"}}"},
        {"{\"log\":\"", "\",\"stream\":\"stdout\",\"time\":\"", "\""},
        {"{\"log\":\"", "\",\"stream\":\"stdout\",\"time\":\"",
         "\",\"log\":\"x\"}"},
        {"{\"log\":\"",
         "\",\"stream\":\"stdout\",\"attrs\":{\"a\":\"b\"},\"time\":\"", "\"}"},
        {"{\"log\": \"", "\",\"stream\":\"stdout\",\"time\":\"", "\"}"},
        {" {\"log\":\"", "\",\"stream\":\"stdout\",\"time\":\"", "\"}"},
        {"{\"stream\":\"stdout\",\"log\":\"", "\",\"time\":\"", "\"}"},
        {"{\"log\":\"", "\",\"time\":\"", "\",\"stream\":\"stdout\"}"},
        {"{\"log\":\"", "\",\"stream\":\"stdout\",\"time\":\"", "\",\"x\":1}"},
        {"{\"\\u006cog\":\"", "\",\"stream\":\"stdout\",\"time\":\"", "\"}"},
    };
    static const char *const times[] = {
        "2026-11-27T13:50:40.123456789Z", "2026-11-27T13:50:40Z",
        "2026-11-27T13:50:40.1Z", "2026-11-27T13:50:40.00274983Z",
        "2026-11-27T13:50:40.1234567891Z", "2026-11-27T13:50:40.5+01:00",
        "2026-11-27t13:50:40.5z", "2026-02-30T13:50:40Z",
        "2026-11-27T13:50:60Z", "2026-11-27T13:50:40.Z",
        "2026-11-27T13:50:4\\u0030Z", "2026-11-27T13:50:40.5\303\251",
        "1677-09-21T00:12:43.145224192Z", "2262-04-11T23:47:16.854775808Z",
        "0000-01-01T00:00:00Z", "2026-11-27T13:50:40.123456789-23:59",
        "2026-11-27T13:50:40.123456789Z                  ",
        "2026-11-27T13:50:40.123456789Z                   ",
        "",
    };
    char line[1024];

    n_same = 0;
    for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++)
        for (size_t x = 0; x < sizeof(texts) / sizeof(texts[0]); x++)
            for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
                int n = snprintf(line, sizeof(line), "%s%s%s%s%s",
                                 frames[f][0], texts[x], frames[f][1],
                                 times[t], frames[f][2]);
                assert_true(n > 0 && (size_t)n < sizeof(line));
                same_as_ref(line, (size_t)n);
            }
    /* a stop byte or escape at every offset of a clean run, as
     * test_dockerline_diff_positions, in Docker's layout */
    static const char *const stops[] = { "\\\"", "\\\\", "\\n", "\\u0026",
                                         "\\ud83d\\ude00", "\\ud83d",
                                         "\303\251", "\377", "\001", "\"" };
    for (size_t k = 0; k < sizeof(stops) / sizeof(stops[0]); k++)
        for (size_t a = 0; a < 40; a++)
            for (size_t b = 0; b < 20; b++) {
                char text[128];
                size_t n = 0;
                for (size_t i = 0; i < a; i++)
                    text[n++] = (char)('a' + i % 26);
                memcpy(text + n, stops[k], strlen(stops[k]));
                n += strlen(stops[k]);
                for (size_t i = 0; i < b; i++)
                    text[n++] = (char)('A' + i % 26);
                text[n] = '\0';
                int m = snprintf(line, sizeof(line), "%s%s%s%s%s",
                                 frames[b % 2][0], text, frames[b % 2][1],
                                 times[0], frames[b % 2][2]);
                same_as_ref(line, (size_t)m);
            }
    /* every prefix of a line: cut inside each part of the layout */
    int n = snprintf(line, sizeof(line), "%s%s%s%s%s", frames[0][0],
                     "a \\\"b\\\" \\u00e9 caf\303\251 0123456789abcdef\\r\\n",
                     frames[0][1], times[0], frames[0][2]);
    for (int i = 0; i <= n; i++)
        same_as_ref(line, (size_t)i);
    print_message("fast path: %zu lines identical to the general scanner\n",
                  n_same);
}

/* ------------------------------------------------------------------ */
/* Throughput (printed, not asserted)                                  */
/* ------------------------------------------------------------------ */

static double
secs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ~8 MiB of json-file lines with typical text. */
static void
bench_lines(struct buf *lines)
{
    static const char *words[] = {
        "INFO", "WARN", "GET", "/api/v1/items", "200", "connection",
        "from", "10.11.10.1", "user", "session", "opened", "for",
        "blk_-6952295868487656571", "took", "12ms", "\\\"quoted\\\"",
        "[main]", "org.example.Service:", "request", "completed"};
    char t[2048];

    while (lines->len < (8u << 20)) {
        size_t n = (size_t)snprintf(t, sizeof(t), "{\"log\":\"2026-11-27 "
                                    "13:50:%02d,%03d", (int)(rng() % 60),
                                    (int)(rng() % 1000));
        for (size_t w = 0, nw = 8 + rng() % 20; w < nw; w++)
            n += (size_t)snprintf(t + n, sizeof(t) - n, " %s",
                                  words[rng() % 20]);
        n += (size_t)snprintf(t + n, sizeof(t) - n, "\\n\",\"stream\":"
                              "\"stdout\",\"time\":\"2026-11-27T13:50:40."
                              "%09dZ\"}\n", (int)(rng() % 1000000000));
        buf_append(lines, t, n);
    }
}

static void
test_dockerline_throughput(void **state)
{
    struct buf lines;
    size_t n_bytes = 0, n_lines = 0;

    buf_init(&lines, 16u << 20);
    bench_lines(&lines);
    double mbs = 0, ref_mbs = 0;
    for (int is_ref = 0; is_ref < 2; is_ref++) {
        double t0 = secs(), t1;
        n_bytes = 0;
        do {
            const char *p = (char *)lines.data, *end = p + lines.len;
            while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                struct dockerline dl;
                buf_reset(&msg);
                assert_int_equal(is_ref ?
                    dockerline_parse_ref(p, (size_t)(nl - p), &msg, &dl) :
                    dockerline_parse(p, (size_t)(nl - p), &msg, &dl), 0);
                assert_int_equal(dl.flags, 0);
                n_bytes += (size_t)(nl - p) + 1;
                n_lines += !is_ref;
                p = nl + 1;
            }
            t1 = secs();
        } while (t1 - t0 < 0.5);
        *(is_ref ? &ref_mbs : &mbs) = n_bytes / (t1 - t0) / 1e6;
    }

    /* the same lines through jansson, for the figure in dockerline.c */
    size_t j_bytes = 0;
    double j0 = secs(), j1;
    do {
        const char *p = (char *)lines.data, *end = p + lines.len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            json_error_t err;
            json_t *o = json_loadb(p, (size_t)(nl - p), 0, &err);
            assert_non_null(o);
            json_decref(o);
            j_bytes += (size_t)(nl - p) + 1;
            p = nl + 1;
        }
        j1 = secs();
    } while (j1 - j0 < 0.5);
    print_message("throughput: dockerline %.0f MB/s (%zu lines; the general "
                  "scanner alone %.0f MB/s), jansson %.0f MB/s (sanitizer "
                  "builds are several times slower)\n",
                  mbs, n_lines, ref_mbs, j_bytes / (j1 - j0) / 1e6);
    buf_fini(&lines);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_dockerline_diff_corpus),
        T(test_dockerline_diff_random),
        T(test_dockerline_diff_positions),
        T(test_dockerline_fast_edges),
        T(test_dockerline_throughput),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
