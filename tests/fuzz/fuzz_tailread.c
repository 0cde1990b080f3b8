/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tailread: libFuzzer target for the shipper's record assembly
 * (shipper/tail_read.c, shipper/multiline.c, through tail.c's reading):
 * json-file bytes appended to a container's log file in pieces, read by a
 * real tailer between the pieces (a small read chunk, so lines and
 * Docker's partial messages arrive split), its 1 s timer run on a fake
 * clock, then the container gone (tail_flush).
 * Byte 0 picks the multi-line rule (low 3 bits: none, java, python, go,
 * indent, regex), the record cap (1, 2, 4 or 8 KiB) and the mode: bit 7
 * clear, the rest is raw file bytes; set, it is a list of json-file lines
 * the harness writes (flags byte: stream, partial (Docker's 16 KiB split:
 * no "\n" at the message's end), CRLF, time step; length byte; message
 * bytes, JSON-escaped), so joins and multi-line records are reached.
 * Byte 1 picks the read chunk (1 to 256 bytes). Pieces: a length byte,
 * then that many bytes (x 8 in raw mode).
 * Invariants, per record: it begins where the one before ended (0 for
 * the first) and ends after it begins; its text is at most the cap plus
 * the truncation marker, and longer than the cap only when flagged
 * truncated; its stream is stdout or stderr; its resume point is not past
 * its end and never goes back. At the end: nothing is being joined, every
 * byte written is covered (the last record ends at or past the file's
 * size), and the records counted are the records emitted.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/record.h"
#include "common/xmalloc.h"
#include "shipper/counters.h"
#include "shipper/multiline.h"
#include "shipper/tail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ID "0123456789abcdef0123456789abcdef" \
                "0123456789abcdef0123456789abcdef"
#define FUZZ_SEC 1000000000LL
#define FUZZ_MARKER 64      /* tail_internal.h's TAIL_MARKER_ROOM */

static int64_t fuzz_now;

static int64_t
fuzz_clock(void)
{
    return fuzz_now;
}

struct fuzz_state {
    size_t   max_record;
    uint64_t n;
    uint64_t last_offset;
    uint64_t last_resume;
};

static void
fuzz_emit(void *arg, const struct tail_record *r)
{
    struct fuzz_state *s = arg;

    assert(r->start == s->last_offset);
    assert(r->offset > r->start);
    assert(r->msg_len <= s->max_record + FUZZ_MARKER);
    assert(r->msg_len <= s->max_record || (r->flags & LOGREC_F_TRUNCATED));
    assert(r->stream == LOGREC_STDOUT || r->stream == LOGREC_STDERR);
    assert(r->resume.logical <= r->offset);
    assert(r->resume.logical >= s->last_resume);
    s->last_offset = r->offset;
    s->last_resume = r->resume.logical;
    s->n++;
}

static char fuzz_dir_path[64];

/* The directory is empty at exit (each input unlinks its file). */
static void
fuzz_dir_remove(void)
{
    (void)rmdir(fuzz_dir_path);
}

static const char *
fuzz_dir(void)
{
    char *dir = fuzz_dir_path;

    if (dir[0] == '\0') {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
                           "/tmp";
        snprintf(dir, sizeof(fuzz_dir_path), "%s/fuzz_tailread.XXXXXX",
                 base);
        assert(mkdtemp(dir) != NULL);
        atexit(fuzz_dir_remove);
        log_init("fuzz", LOG_LEVEL_ERROR, NULL);
    }
    return dir;
}

/* Appends a json-file line of msg (JSON-escaped) to out. */
static void
fuzz_line(struct buf *out, uint8_t flags, const uint8_t *msg, size_t n,
          int64_t t_ns)
{
    char head[32];

    (void)buf_append(out, "{\"log\":\"", 8);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = msg[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            (void)buf_append(out, e, 2);
        } else if (c < 0x20) {
            snprintf(head, sizeof(head), "\\u%04x", c);
            (void)buf_append(out, head, 6);
        } else {
            (void)buf_append(out, &c, 1);
        }
    }
    if (!(flags & 2))                   /* the last piece: its newline */
        (void)buf_append(out, (flags & 4) ? "\\r\\n" : "\\n",
                         (flags & 4) ? 4 : 2);
    const char *stream = (flags & 1) ? "stderr" : "stdout";
    int64_t s = t_ns / FUZZ_SEC, ns = t_ns % FUZZ_SEC;
    char tail[96];
    int k = snprintf(tail, sizeof(tail), "\",\"stream\":\"%s\",\"time\":"
                     "\"2026-01-02T03:%02lld:%02lld.%09lldZ\"}\n", stream,
                     (long long)(s / 60 % 60), (long long)(s % 60),
                     (long long)ns);
    (void)buf_append(out, tail, (size_t)k);
}

/* Reads until idle (bounded), then runs the timer. 1 once the tailer
 * has started (a first start waits for two listings that agree). */
static int
fuzz_read(struct tailer *t, struct fuzz_state *s)
{
    enum tail_status st = TAIL_DATA;

    for (int i = 0; i < 100000 && st == TAIL_DATA; i++)
        st = tail_step(t, fuzz_emit, s);
    if (st == TAIL_NOFILE)
        return 0;
    (void)tail_expire(t, fuzz_emit, s);
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const rules[] = {
        "none", "java", "python", "go", "indent",
        "regex:^[0-9]{4}-|^(ERROR|WARN|INFO)", "java", "python",
    };
    if (size < 2)
        return 0;
    const char *dir = fuzz_dir();
    char *live = xasprintf("%s/%s-json.log", dir, FUZZ_ID);
    int fd = open(live, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    assert(fd >= 0);

    struct multiline_rule rule;
    char err[256];
    assert(multiline_rule_parse(rules[data[0] & 7], &rule, err,
                                sizeof(err)) == 0);
    struct shipper_counters ctr;
    memset(&ctr, 0, sizeof(ctr));
    struct tail_config cfg = {
        .max_record = (size_t)1024 << ((data[0] >> 3) & 3),
        .chunk = (size_t)data[1] + 1,
        .clock_ns = fuzz_clock,
    };
    struct fuzz_state s = { .max_record = cfg.max_record };
    int is_lines = (data[0] & 0x80) != 0;
    fuzz_now = 1000 * FUZZ_SEC;
    int64_t t_ns = 0;
    uint64_t written = 0;
    struct buf piece;
    buf_init(&piece, 1 << 20);

    struct tailer *t = tail_new(dir, FUZZ_ID, &cfg, &ctr);
    tail_multiline_set(t, rule.kind != MULTILINE_NONE ? &rule : NULL);
    size_t i = 2;
    int is_started = 0;
    while (i < size) {
        buf_reset(&piece);
        if (is_lines) {
            uint8_t flags = data[i++];
            size_t n = i < size ? data[i++] : 0;
            if (n > size - i)
                n = size - i;
            t_ns += (int64_t)(flags >> 4) * (FUZZ_SEC / 4);
            fuzz_line(&piece, flags, data + i, n, t_ns);
            i += n;
            fuzz_now += (flags & 8) ? 2 * FUZZ_SEC : 0;
        } else {
            size_t n = (size_t)data[i++] * 8 + 1;
            if (n > size - i)
                n = size - i;
            (void)buf_append(&piece, data + i, n);
            i += n;
            fuzz_now += FUZZ_SEC / 2;
        }
        assert(write(fd, piece.data, piece.len) == (ssize_t)piece.len);
        written += piece.len;
        is_started |= fuzz_read(t, &s);
    }
    for (int k = 0; k < 3 && !is_started; k++)
        is_started = fuzz_read(t, &s);
    is_started |= fuzz_read(t, &s);
    tail_flush(t, fuzz_emit, &s);
    assert(!tail_is_joining(t));
    if (is_started && written > 0)
        assert(s.n > 0 && s.last_offset >= written);
    assert(ctr.records == s.n);
    tail_free(t);
    multiline_rule_fini(&rule);
    buf_fini(&piece);
    close(fd);
    unlink(live);
    free(live);
    return 0;
}
