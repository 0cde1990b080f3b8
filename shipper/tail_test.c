/* SPDX-License-Identifier: MIT */
/*
 * tail_test: drives the tailer step by step over a temp directory laid out
 * like a Docker container dir, reproducing Docker's rotations (rename to
 * .1 and a new live file, shifts to .2, max-file=1 recreate), truncation,
 * partial messages, over-long records and lines, and resume points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/record.h"
#include "common/xmalloc.h"
#include "shipper/tail.h"
#include "tests/support/tailfx.h"

/* ---- tests ---- */

static void
test_tail_lines_and_offsets(void **state)
{
    struct fixture *f = *state;
    size_t a = append_line(f, "stdout", "one", 0);
    size_t b = append_line(f, "stderr", "two", 0);

    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->recs[0].msg, "one");
    assert_int_equal(f->recs[0].stream, LOGREC_STDOUT);
    assert_int_equal(f->recs[0].offset, a);
    assert_int_equal(f->recs[0].time_ns, 1767323045000000006LL);
    assert_string_equal(f->recs[1].msg, "two");
    assert_int_equal(f->recs[1].stream, LOGREC_STDERR);
    assert_int_equal(f->recs[1].offset, a + b);
    assert_int_equal(f->recs[1].resume.logical, a + b);
    assert_int_equal(f->recs[1].resume.file_pos, a + b);
    assert_int_equal(f->ctr.lines, 2);
}

static void
test_tail_partial_line_waits(void **state)
{
    struct fixture *f = *state;
    const char *line = "{\"log\":\"half\\n\",\"stream\":\"stdout\",\"time\":"
                       "\"2026-01-02T03:04:05Z\"}\n";
    size_t n = strlen(line);

    append_raw(f, "", line, 10);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 0);
    struct tail_pos rp;
    tail_resume_get(f->t, &rp);
    assert_int_equal(rp.logical, 0);
    append_raw(f, "", line + 10, n - 10);
    drain(f);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->recs[0].msg, "half");
    assert_int_equal(f->recs[0].offset, n);
}

static void
test_tail_no_file_yet(void **state)
{
    struct fixture *f = *state;

    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), -1);
    assert_int_equal(tail_step(f->t, collect, f), TAIL_NOFILE);
    append_line(f, "stdout", "late", 0);
    drain(f);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->recs[0].msg, "late");
}

static void
test_tail_single_rotation(void **state)
{
    struct fixture *f = *state;

    start_read_a1(f);
    size_t a2 = append_line(f, "stdout", "a2", 0);   /* unread at rotation */
    uint64_t end_a = f->written;
    docker_rotate(f, 3);
    size_t b1 = append_line(f, "stdout", "b1", 0);
    drain(f);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->recs[1].msg, "a2");
    assert_int_equal(f->recs[1].offset, end_a);
    assert_string_equal(f->recs[2].msg, "b1");
    assert_int_equal(f->recs[2].offset, end_a + b1);
    assert_int_equal(f->recs[2].resume.file_pos, b1);
    assert_int_equal(f->ctr.rotations, 1);
    (void)a2;
    check_offsets_increase(f);
}

static void
test_tail_double_rotation_between_polls(void **state)
{
    struct fixture *f = *state;

    start_read_a1(f);
    append_line(f, "stdout", "a2", 0);
    docker_rotate(f, 3);
    append_line(f, "stdout", "b1", 0);
    docker_rotate(f, 3);
    append_line(f, "stdout", "c1", 0);
    drain(f);
    expect_msgs(f, 4, 1, "a2", "b1", "c1", NULL);
    assert_int_equal(f->recs[3].offset, f->written);
    assert_int_equal(f->ctr.rotations, 2);
    check_offsets_increase(f);
}

static void
test_tail_maxfile1_recreate(void **state)
{
    struct fixture *f = *state;

    start_read_a1(f);
    assert_int_equal(unlink(f->live), 0);
    /* Between delete and create there is nothing to move to. */
    assert_int_equal(tail_step(f->t, collect, f), TAIL_NOFILE);
    append_line(f, "stdout", "b1", 0);
    drain(f);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->recs[1].msg, "b1");
    assert_int_equal(f->recs[1].offset, f->written);
}

static void
test_tail_truncation(void **state)
{
    struct fixture *f = *state;

    append_line(f, "stdout", "first line that is long", 0);
    append_line(f, "stdout", "second line that is long", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    uint64_t before = f->written;
    assert_int_equal(truncate(f->live, 0), 0);
    size_t n = append_line(f, "stdout", "x", 0);
    drain(f);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->recs[2].msg, "x");
    assert_int_equal(f->recs[2].offset, before + n);
    assert_int_equal(f->recs[2].resume.file_pos, n);
    assert_int_equal(f->ctr.truncations, 1);
}

static void
test_tail_partial_messages_small_reads(void **state)
{
    struct fixture *f = *state;

    f->cfg.chunk = 7;   /* every line spans several reads */
    size_t l1 = append_line(f, "stdout", "hello ", 1);
    append_line(f, "stderr", "err", 0);
    append_line(f, "stdout", "big ", 1);
    append_line(f, "stdout", "world", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->recs[0].msg, "err");
    /* the stdout message is still open: resume at its first piece */
    assert_int_equal(f->recs[0].resume.logical, 0);
    assert_string_equal(f->recs[1].msg, "hello big world");
    assert_int_equal(f->recs[1].offset, f->written);
    assert_int_equal(f->recs[1].resume.logical, f->written);
    check_offsets_increase(f);
    (void)l1;
}

static void
test_tail_16k_split_joined(void **state)
{
    struct fixture *f = *state;
    char piece[16385];

    memset(piece, 'a', 16384);
    piece[16384] = '\0';
    append_line(f, "stdout", piece, 1);
    piece[0] = 'b';
    append_line(f, "stdout", piece, 1);
    append_line(f, "stdout", "end", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 1);
    assert_int_equal(f->recs[0].len, 2 * 16384 + 3);
    assert_int_equal(f->recs[0].msg[16384], 'b');
    assert_int_equal(f->recs[0].flags, 0);
}

/* Docker's 16 KiB split can put a CRLF's '\r' at the end of one partial
 * piece and its '\n' alone in the next: the record ends without the '\r',
 * as when both are in one piece. Any other '\r' stays. */
static void
test_tail_crlf_across_16k_split(void **state)
{
    struct fixture *f = *state;
    char piece[16384 + 8];
    uint64_t end[6];

    memset(piece, 'a', 16383);
    memcpy(piece + 16383, "\\r", 3);            /* 16384 bytes decoded */
    append_line(f, "stdout", piece, 1);
    append_line(f, "stdout", "", 0);            /* {"log":"\n",...} */
    end[0] = f->written;
    append_line(f, "stdout", "x\\r", 1);        /* x\r\r\n: one \r stays */
    append_line(f, "stdout", "\\r", 0);
    end[1] = f->written;
    append_line(f, "stdout", "y", 1);           /* the \r in the last piece */
    append_line(f, "stdout", "\\r", 0);
    end[2] = f->written;
    append_line(f, "stdout", "a\\r", 1);        /* in the middle: stays */
    append_line(f, "stdout", "b", 0);
    end[3] = f->written;
    append_line(f, "stdout", "s\\r", 1);        /* per stream */
    append_line(f, "stderr", "e\\r", 1);
    append_line(f, "stdout", "", 0);
    end[4] = f->written;
    append_line(f, "stderr", "\\r", 0);         /* e\r\r\n */
    end[5] = f->written;
    append_line(f, "stdout", "w\\r", 1);        /* never ended: stays */
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    tail_flush(f->t, collect, f);
    assert_int_equal(f->n, 7);
    assert_int_equal(f->recs[0].len, 16383);
    assert_int_equal(f->recs[0].msg[16382], 'a');
    assert_int_equal(f->recs[0].flags, 0);
    static const char *const want[] = {
        NULL, "x\r", "y", "a\rb", "s", "e\r", "w\r",
    };
    for (size_t i = 1; i < 7; i++) {
        assert_string_equal(f->recs[i].msg, want[i]);
        assert_int_equal(f->recs[i].len, strlen(want[i]));
        assert_int_equal(f->recs[i].flags, 0);
    }
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(f->recs[i].offset, end[i]);
    assert_int_equal(f->recs[6].offset, f->written);
    assert_int_equal(f->ctr.records_truncated, 0);
    check_offsets_increase(f);
}

/* At the record cap the split '\r' is part of the line end, not of the
 * text: it is neither kept nor counted as truncated. */
static void
test_tail_crlf_split_at_record_cap(void **state)
{
    struct fixture *f = *state;
    char piece[2000 + 8];

    f->cfg.max_record = 1024;
    memset(piece, 'z', 1024);
    memcpy(piece + 1024, "\\r", 3);
    append_line(f, "stdout", piece, 1);         /* exactly the cap + \r */
    append_line(f, "stdout", "", 0);
    memset(piece, 'z', 2000);
    memcpy(piece + 2000, "\\r", 3);
    append_line(f, "stdout", piece, 1);         /* over the cap */
    append_line(f, "stdout", "", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 2);
    assert_int_equal(f->recs[0].len, 1024);
    assert_int_equal(f->recs[0].flags, 0);
    const char *mark = " [logq: truncated 976 bytes]";
    assert_int_equal(f->recs[1].len, 1024 + strlen(mark));
    assert_string_equal(f->recs[1].msg + 1024, mark);
    assert_int_equal(f->recs[1].flags, LOGREC_F_TRUNCATED);
    assert_int_equal(f->ctr.records_truncated, 1);
    assert_int_equal(f->recs[1].offset, f->written);
}

static void
test_tail_overlong_record_truncated(void **state)
{
    struct fixture *f = *state;
    char piece[801];

    f->cfg.max_record = 1024;
    memset(piece, 'z', 800);
    piece[800] = '\0';
    for (int i = 0; i < 4; i++)
        append_line(f, "stdout", piece, 1);
    append_line(f, "stdout", piece, 0);
    append_line(f, "stdout", "next", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 2);
    const char *mark = " [logq: truncated 2976 bytes]";
    assert_int_equal(f->recs[0].len, 1024 + strlen(mark));
    assert_string_equal(f->recs[0].msg + 1024, mark);
    assert_true(f->recs[0].flags & LOGREC_F_TRUNCATED);
    assert_int_equal(f->ctr.records_truncated, 1);
    assert_string_equal(f->recs[1].msg, "next");
}

static void
test_tail_overlong_line_skipped(void **state)
{
    struct fixture *f = *state;
    size_t big = 200 << 10;
    char *junk = xmalloc(big + 1);

    f->cfg.max_record = 1024;   /* line bound = 1 KiB + 64 KiB slack */
    f->cfg.chunk = 4096;
    memset(junk, 'q', big);
    junk[big] = '\n';
    append_raw(f, "", junk, big + 1);
    free(junk);
    append_line(f, "stdout", "after", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 2);
    assert_int_equal(f->recs[0].flags, LOGREC_F_RAW | LOGREC_F_TRUNCATED);
    assert_int_equal(f->recs[0].offset, big + 1);
    assert_memory_equal(f->recs[0].msg, "qqqq", 4);
    assert_non_null(strstr(f->recs[0].msg, "[logq: truncated"));
    assert_string_equal(f->recs[1].msg, "after");
    assert_int_equal(f->recs[1].offset, f->written);
}

static void
test_tail_raw_line(void **state)
{
    struct fixture *f = *state;

    append_raw(f, "", "not json\n", 9);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->recs[0].msg, "not json");
    assert_true(f->recs[0].flags & LOGREC_F_RAW);
    assert_true(f->recs[0].time_ns > 0);
    assert_int_equal(f->ctr.records_raw, 1);
}

static void
test_tail_resume_in_rotated_file(void **state)
{
    struct fixture *f = *state;

    append_line(f, "stdout", "a1", 0);
    append_line(f, "stdout", "a2", 0);
    append_line(f, "stdout", "a3", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    struct tail_pos saved = f->recs[0].resume;   /* only a1 was acked */
    docker_rotate(f, 2);
    append_line(f, "stdout", "b1", 0);
    new_tailer(f);      /* restart */
    assert_int_equal(tail_start(f->t, &saved), 0);
    drain(f);
    assert_int_equal(f->n, 3 + 3);
    assert_string_equal(f->recs[3].msg, "a2");
    assert_int_equal(f->recs[3].offset, f->recs[1].offset);
    /* the batch after a restart starts at the acknowledged record's end */
    assert_int_equal(f->recs[0].start, 0);
    assert_int_equal(f->recs[3].start, saved.logical);
    assert_int_equal(f->recs[3].start, f->recs[0].offset);
    assert_string_equal(f->recs[5].msg, "b1");
    assert_int_equal(f->recs[5].offset, f->written);
    assert_int_equal(f->ctr.gaps, 0);
}

/* Regression: the live file is deleted while an already-read .1 remains
 * (docker rm removes files one by one): the tailer must not move back to
 * .1 and send its lines again under new offsets, also after a restart that
 * resumed in the live file. */
static void
test_tail_live_deleted_no_reread(void **state)
{
    struct fixture *f = *state;

    start_read_a1(f);
    docker_rotate(f, 2);
    append_line(f, "stdout", "b1", 0);
    drain(f);
    assert_int_equal(f->n, 2);
    append_line(f, "stdout", "b2", 0);
    assert_int_equal(unlink(f->live), 0);
    drain(f);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->recs[2].msg, "b2");
    check_offsets_increase(f);
}

/* The same after a restart that resumed in the live file: the .1 listed
 * before it is known to be older, so it is not read again either. */
static void
test_tail_live_deleted_after_resume(void **state)
{
    struct fixture *f = *state;

    append_line(f, "stdout", "a1", 0);
    docker_rotate(f, 2);
    append_line(f, "stdout", "b1", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 2);
    struct tail_pos saved = f->recs[1].resume;      /* b1 was acked */
    new_tailer(f);                                  /* restart */
    assert_int_equal(tail_start(f->t, &saved), 0);
    append_line(f, "stdout", "b2", 0);
    assert_int_equal(unlink(f->live), 0);
    drain(f);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->recs[2].msg, "b2");
    check_offsets_increase(f);
}

static void
test_tail_resume_file_gone_counts_gap(void **state)
{
    struct fixture *f = *state;

    start_read_a1(f);
    struct tail_pos saved = f->recs[0].resume;
    assert_int_equal(unlink(f->live), 0);
    size_t n = append_line(f, "stdout", "b1", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, &saved), 0);
    drain(f);
    assert_int_equal(f->ctr.gaps, 1);
    assert_int_equal(f->n, 2);
    assert_int_equal(f->recs[1].offset, saved.logical + n);
}

/* Inode reuse: the file a saved position points into was deleted while
 * the shipper was stopped and a new file got its inode number (a small
 * ext4 gives a freed inode to the next file; Docker's rotation deletes
 * and creates in a row: 93-fault-rotation). The new file must be read
 * from its start, not from the old file's position (that skipped its first
 * lines, and the rotated file before it, silently). Simulated here by
 * pointing the saved position at the new file's inode. */
static void
test_tail_resume_inode_reused(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    append_line(f, "stdout", "a1 of the first file", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 1);
    struct tail_pos saved = f->recs[0].resume;
    assert_int_equal(unlink(f->live), 0);
    append_line(f, "stdout", "b1 of the new file, longer than a1", 0);
    append_line(f, "stdout", "b2", 0);
    assert_int_equal(stat(f->live, &st), 0);
    saved.dev = (uint64_t)st.st_dev;
    saved.ino = (uint64_t)st.st_ino;
    new_tailer(f);
    assert_int_equal(tail_start(f->t, &saved), 0);
    drain(f);
    expect_msgs(f, 3, 1, "b1 of the new file, longer than a1", "b2", NULL);
    assert_int_equal(f->ctr.gaps, 1);
    check_offsets_increase(f);
}

/* The same file resumed (no reuse): the fingerprint matches. */
static void
test_tail_resume_same_file_fingerprint(void **state)
{
    struct fixture *f = *state;

    append_line(f, "stdout", "a", 0);           /* shorter than the print */
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    for (int i = 0; i < 5; i++)
        append_line(f, "stdout", "more lines after the first one", 0);
    drain(f);
    assert_int_equal(f->n, 6);
    struct tail_pos saved = f->recs[5].resume;
    assert_true(saved.fp_len > 0);
    append_line(f, "stdout", "last", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, &saved), 0);
    drain(f);
    assert_int_equal(f->n, 7);
    assert_string_equal(f->recs[6].msg, "last");
    assert_int_equal(f->ctr.gaps, 0);
}

/* A saved fingerprint that holds no whole line (a first message longer
 * than TAIL_FP_LEN: its 4096 bytes are '{"log":"' and the message's
 * start) does not find the saved file on another inode: a new file
 * starting with the same long message is not the saved one. Taken for
 * it, the new file was read from the saved position: its lines skipped,
 * silently. Gone instead: read from its start, a gap counted. */
static void
test_tail_resume_fingerprint_needs_whole_line(void **state)
{
    struct fixture *f = *state;
    char *msg = xmalloc(TAIL_FP_LEN + 2);

    memset(msg, 'x', TAIL_FP_LEN);
    memcpy(msg + TAIL_FP_LEN, "a", 2);
    append_line(f, "stdout", msg, 0);
    append_line(f, "stdout", "a2", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 2);
    struct tail_pos saved = f->recs[1].resume;
    assert_int_equal(saved.fp_len, TAIL_FP_LEN);
    /* deleted, its inode kept busy (not given to the new file) */
    char *keep = xasprintf("%s/keep", f->dir);
    assert_int_equal(link(f->live, keep), 0);
    assert_int_equal(unlink(f->live), 0);
    msg[TAIL_FP_LEN] = 'b';
    append_line(f, "stdout", msg, 0);
    append_line(f, "stdout", "b2", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, &saved), 0);
    drain(f);
    assert_int_equal(f->n, 4);
    assert_string_equal(f->recs[2].msg, msg);
    assert_string_equal(f->recs[3].msg, "b2");
    assert_int_equal(f->ctr.gaps, 1);
    check_offsets_increase(f);
    free(keep);
    free(msg);
}

/* The saved file gone and the live file removed by hand (only .1 left):
 * listings without the live file are taken for mid-rotation, but not
 * for ever: after a few restarts the tailer reads .1 (a gap counted).
 * Waiting for a live file that never comes left .1 unread. */
static void
test_tail_resume_live_file_removed(void **state)
{
    struct fixture *f = *state;
    int steps = 0;

    start_read_a1(f);
    struct tail_pos saved = f->recs[0].resume;
    assert_int_equal(unlink(f->live), 0);
    char *line = xasprintf("{\"log\":\"b1\\n\",\"stream\":\"stdout\","
                           "\"time\":\"2026-01-02T03:04:05Z\"}\n");
    append_raw(f, ".1", line, strlen(line));
    free(line);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, &saved), -1);
    while (f->n < 2 && steps++ < 32)
        (void)tail_step(f->t, collect, f);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->recs[1].msg, "b1");
    assert_int_equal(f->ctr.gaps, 1);
    check_offsets_increase(f);
}

static void
test_tail_resume_inside_partial(void **state)
{
    struct fixture *f = *state;

    size_t l0 = append_line(f, "stdout", "done", 0);
    append_line(f, "stdout", "part1 ", 1);
    append_line(f, "stderr", "between", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 2);
    struct tail_pos saved = f->recs[1].resume;
    assert_int_equal(saved.logical, l0);     /* start of the open message */
    append_line(f, "stdout", "part2", 0);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, &saved), 0);
    drain(f);
    /* "between" is re-read (the collector drops it by offset) */
    assert_int_equal(f->n, 4);
    assert_string_equal(f->recs[2].msg, "between");
    assert_int_equal(f->recs[2].offset, f->recs[1].offset);
    assert_string_equal(f->recs[3].msg, "part1 part2");
}

static void
test_tail_flush_unfinished(void **state)
{
    struct fixture *f = *state;

    append_line(f, "stdout", "never ends", 1);
    append_raw(f, "", "{\"log\":\"cut", 11);
    new_tailer(f);
    assert_int_equal(tail_start(f->t, NULL), 0);
    drain(f);
    assert_int_equal(f->n, 0);
    tail_flush(f->t, collect, f);
    assert_int_equal(f->n, 2);
    assert_true(f->recs[0].flags & LOGREC_F_RAW);   /* the cut line */
    assert_string_equal(f->recs[1].msg, "never ends");
    check_offsets_increase(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tail_lines_and_offsets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_partial_line_waits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_no_file_yet, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_single_rotation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_tail_double_rotation_between_polls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_maxfile1_recreate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_truncation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_partial_messages_small_reads,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_16k_split_joined, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_crlf_across_16k_split,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_crlf_split_at_record_cap,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_overlong_record_truncated,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_overlong_line_skipped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_raw_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_resume_in_rotated_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_live_deleted_no_reread,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_live_deleted_after_resume,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_resume_inode_reused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_resume_same_file_fingerprint,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_resume_file_gone_counts_gap,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_tail_resume_fingerprint_needs_whole_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_resume_live_file_removed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_resume_inside_partial,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_flush_unfinished, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
