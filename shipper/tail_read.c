/* SPDX-License-Identifier: MIT */
/*
 * tail_read: bytes read to records: splits the read buffer into json-file
 * lines, parses them with dockerline, rejoins Docker's 16 KiB partial
 * messages per stream, groups multi-line records (multiline.h), cuts at
 * max_record with a truncation marker, and emits each record with its
 * logical offset and resume point. Over-long lines are shipped raw and
 * truncated. Does no I/O: tail.c reads, this consumes what it read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "shipper/dockerline.h"
#include "shipper/multiline.h"
#include "shipper/tail_internal.h"

/*
 * Emits the text in b (modified: cut to max_record, marker appended) as one
 * record ending at logical offset end.
 */
static void
tail_emit_buf(struct tailer *t, struct buf *b, uint64_t dropped,
              uint8_t stream, uint8_t flags, int64_t time_ns, uint64_t end,
              tail_emit_fn emit, void *arg)
{
    if (b->len > t->cfg.max_record) {
        size_t cut = utf8_cut(b->data, t->cfg.max_record);
        dropped += b->len - cut;
        b->len = cut;
    }
    if (dropped > 0) {
        char mark[TAIL_MARKER_ROOM];
        int n = snprintf(mark, sizeof(mark), " [logq: truncated %" PRIu64
                         " bytes]", dropped);
        if (n > 0 && buf_append(b, mark, (size_t)n) < 0)
            log_debug("tail", "no room for truncation marker");
        flags |= LOGREC_F_TRUNCATED;
        t->ctr->records_truncated++;
    }
    if (end <= t->last_offset)
        end = t->last_offset + 1;
    uint64_t start = t->last_offset;
    t->last_offset = end;

    struct tail_record r = {
        .stream = stream, .flags = flags, .time_ns = time_ns,
        .start = start, .offset = end,
        .msg = (const char *)b->data, .msg_len = b->len,
    };
    tail_resume_get(t, &r.resume);
    if (flags & LOGREC_F_RAW)
        t->ctr->records_raw++;
    t->ctr->records++;
    emit(arg, &r);
}

static void
tail_join_append(struct tailer *t, struct tail_join *j, const uint8_t *p,
                 size_t n)
{
    size_t room = j->msg.len < t->cfg.max_record ?
                  t->cfg.max_record - j->msg.len : 0;

    if (n > 0)
        j->last_byte = p[n - 1];
    if (j->dropped == 0 && n <= room) {
        if (buf_append(&j->msg, p, n) == 0)
            return;
        room = 0;   /* cannot happen: cap is max_record + marker room */
    }
    size_t cut = 0;
    if (j->dropped == 0 && room > 0)
        cut = utf8_cut(p, room);
    if (cut > 0 && buf_append(&j->msg, p, cut) < 0)
        cut = 0;
    j->dropped += n - cut;
}

/* The final piece is "\n" alone: a '\r' that ended the previous piece
 * is the CR of a CRLF that Docker's 16 KiB split cut in two. It is removed
 * as dockerline removes a whole "\r\n"; if the record cap had cut it, it
 * no longer counts as truncated text. */
static void
tail_join_strip_cr(struct tail_join *j)
{
    if (j->last_byte != '\r')
        return;
    if (j->dropped > 0)
        j->dropped--;
    else if (j->msg.len > 0)
        j->msg.len--;
    j->last_byte = 0;
}

static void
tail_group_emit(struct tailer *t, struct multiline_group *g,
                tail_emit_fn emit, void *arg)
{
    if (!g->is_active)
        return;
    g->is_active = 0;
    tail_emit_buf(t, &g->msg, g->dropped, (uint8_t)(g - t->group), g->flags,
                  g->time_ns, g->last_end, emit, arg);
}

/* Ends both streams' groups whose last line (Docker time, or tail's clock
 * when it was read) is before before_ns: the one whose last line came first
 * goes first. The next line of the stream is judged afresh (state 0). */
void
tail_read_groups_emit(struct tailer *t, int64_t before_ns, int is_docker_time,
                      tail_emit_fn emit, void *arg)
{
    struct multiline_group *a = &t->group[0], *b = &t->group[1];

    if (b->last_end < a->last_end) {
        a = &t->group[1];
        b = &t->group[0];
    }
    struct multiline_group *gs[2] = { a, b };
    for (int i = 0; i < 2; i++) {
        int64_t at = is_docker_time ? gs[i]->last_time_ns : gs[i]->read_ns;
        if (gs[i]->is_active && at < before_ns) {
            tail_group_emit(t, gs[i], emit, arg);
            gs[i]->state = 0;
        }
    }
}

/* A whole line (partials joined) of stream: a record of its own, or a line
 * of the multi-line record being joined. text may be modified. */
void
tail_read_whole_line(struct tailer *t, struct buf *text, uint64_t dropped,
                     uint8_t stream, uint8_t flags, int64_t time_ns,
                     const struct tail_pos *start, uint64_t end,
                     tail_emit_fn emit, void *arg)
{
    if (t->rule == NULL) {
        tail_emit_buf(t, text, dropped, stream, flags, time_ns, end, emit,
                      arg);
        return;
    }
    /* A line more than 1 s after a group's last one (either stream) ends
     * it: the split the 1 s timer made is made again on a re-read. */
    t->hold = start;
    if (time_ns > 0)
        tail_read_groups_emit(t, time_ns - MULTILINE_GAP_NS, 1, emit, arg);
    struct multiline_group *g = &t->group[stream];
    uint64_t n_re = multiline_rule_recompiles(t->rule);
    uint64_t n_cut = multiline_rule_lines_cut(t->rule);
    enum multiline_verdict v = multiline_classify(t->rule, &g->state,
                                                  (const char *)text->data,
                                                  text->len);
    t->ctr->multiline_recompiles += multiline_rule_recompiles(t->rule) - n_re;
    t->ctr->multiline_lines_cut += multiline_rule_lines_cut(t->rule) - n_cut;
    if (v != MULTILINE_CONTINUE || g->n_lines >= MULTILINE_MAX_LINES)
        tail_group_emit(t, g, emit, arg);
    t->hold = NULL;
    if (v == MULTILINE_SINGLE) {
        tail_emit_buf(t, text, dropped, stream, flags, time_ns, end, emit,
                      arg);
        return;
    }
    multiline_group_add(g, t->cfg.max_record, text->data, text->len,
                        dropped, flags, time_ns, start, end);
    g->read_ns = t->cfg.clock_ns();
}

/* One complete json-file line [start_fpos, end_fpos) of the current file. */
static void
tail_line(struct tailer *t, const char *line, size_t len, uint64_t end_fpos,
          tail_emit_fn emit, void *arg)
{
    struct dockerline dl;
    uint64_t start_fpos = t->line_fpos;
    uint64_t end = t->base + end_fpos;

    t->ctr->lines++;
    t->line_fpos = end_fpos;
    buf_reset(&t->msg);
    if (dockerline_parse(line, len, &t->msg, &dl) < 0) {
        /* Decoded text cannot pass 3x the line; ship the line raw. */
        buf_reset(&t->msg);
        size_t n = len < t->msg.max ? len : t->msg.max;
        (void)buf_append(&t->msg, line, n);
        dl.stream = LOGREC_STDOUT;
        dl.flags = LOGREC_F_RAW;
        dl.is_partial = 0;
        dl.eol_len = 0;
        dl.time_ns = 0;
    }
    if (dl.flags & LOGREC_F_RAW) {
        tail_emit_buf(t, &t->msg, 0, LOGREC_STDOUT, dl.flags, now_ns(), end,
                      emit, arg);
        return;
    }
    uint8_t stream = dl.stream == LOGREC_STDERR ? LOGREC_STDERR :
                     LOGREC_STDOUT;
    struct tail_join *j = &t->join[stream];
    if (!j->is_active && !dl.is_partial) {
        struct tail_pos start;
        tail_pos_at(t, start_fpos, &start);
        tail_read_whole_line(t, &t->msg, 0, stream, dl.flags, dl.time_ns,
                             &start, end, emit, arg);
        return;
    }
    if (!j->is_active) {
        j->is_active = 1;
        tail_pos_at(t, start_fpos, &j->start);
        j->time_ns = dl.time_ns;
        j->flags = 0;
        j->dropped = 0;
        j->last_byte = 0;
        buf_reset(&j->msg);
    }
    if (!dl.is_partial && dl.eol_len == 1 && t->msg.len == 0)
        tail_join_strip_cr(j);
    tail_join_append(t, j, t->msg.data, t->msg.len);
    j->flags |= dl.flags;
    j->last_end = end;
    if (dl.is_partial)
        return;
    j->is_active = 0;
    tail_read_whole_line(t, &j->msg, j->dropped, stream, j->flags, j->time_ns,
                         &j->start, end, emit, arg);
}

/* An over-long line: its first `kept` bytes are at p, `skipped` more were
 * dropped. Shipped raw and truncated; reading goes on after its '\n'. */
static void
tail_long_line(struct tailer *t, const uint8_t *p, size_t kept,
               uint64_t skipped, uint64_t end_fpos, tail_emit_fn emit,
               void *arg)
{
    t->ctr->lines++;
    t->line_fpos = end_fpos;
    buf_reset(&t->msg);
    (void)buf_append(&t->msg, p, kept);
    tail_emit_buf(t, &t->msg, skipped, LOGREC_STDOUT,
                  LOGREC_F_RAW | LOGREC_F_TRUNCATED, now_ns(),
                  t->base + end_fpos, emit, arg);
    t->is_skipping = 0;
    t->skipped = 0;
}

/* Splits rbuf[0..rlen + n) into lines; keeps the unfinished tail. */
void
tail_read_process(struct tailer *t, size_t n, tail_emit_fn emit, void *arg)
{
    uint8_t *end = t->rbuf + t->rlen + n;
    uint8_t *p = t->is_skipping ? t->rbuf + t->rlen : t->rbuf;

    for (;;) {
        uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        uint64_t end_fpos = t->read_pos - (uint64_t)(end - nl) + 1;
        size_t len = (size_t)(nl - p);
        if (t->is_skipping) {
            tail_long_line(t, t->rbuf, t->rlen, t->skipped + len, end_fpos,
                           emit, arg);
            t->rlen = 0;
        } else if (len > t->line_max) {
            tail_long_line(t, p, t->line_max, len - t->line_max, end_fpos,
                           emit, arg);
        } else {
            tail_line(t, (const char *)p, len, end_fpos, emit, arg);
        }
        p = nl + 1;
    }
    size_t left = (size_t)(end - p);
    if (t->is_skipping) {
        t->skipped += left;
        return;
    }
    if (left > t->line_max) {
        memmove(t->rbuf, p, t->line_max);
        t->skipped = left - t->line_max;
        t->rlen = t->line_max;
        t->is_skipping = 1;
        return;
    }
    if (p != t->rbuf && left > 0)
        memmove(t->rbuf, p, left);
    t->rlen = left;
}

/* The file ends without '\n' (rotation, truncation, container gone): what
 * is pending is a line ending at read_pos. */
void
tail_read_flush_pending(struct tailer *t, tail_emit_fn emit, void *arg)
{
    if (t->is_skipping) {
        tail_long_line(t, t->rbuf, t->rlen, t->skipped, t->read_pos, emit,
                       arg);
        t->rlen = 0;
    } else if (t->rlen > 0) {
        tail_line(t, (const char *)t->rbuf, t->rlen, t->read_pos, emit, arg);
        t->rlen = 0;
    }
}
