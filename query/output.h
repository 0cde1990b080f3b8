/* SPDX-License-Identifier: MIT */
/*
 * output: how logq prints things. Records as "TIME HOST CONTAINER MESSAGE"
 * (optionally colored) or as JSON lines; host/container tables with aligned
 * columns; ages like "3s ago". Pure: formats into a struct buf, the caller
 * writes it out. Decides nothing about terminals itself: callers pass the
 * isatty() result and environment in.
 */
#ifndef QUERY_OUTPUT_H
#define QUERY_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/record.h"

/* --color=WHEN, the values of args.h's enum args_color. */
#define OUTPUT_COLOR_AUTO   0
#define OUTPUT_COLOR_ALWAYS 1
#define OUTPUT_COLOR_NEVER  2

/* AUTO: color only on a terminal with NO_COLOR unset or empty
 * (https://no-color.org); ALWAYS: color (the flag beats NO_COLOR, as
 * no-color.org asks); NEVER (also --no-color): none. */
int  output_color_enabled(int is_tty, int mode, const char *no_color_env);
/* The SGR code ("32", "1;35", ...) for a name: stable, never red (red marks
 * stderr records). */
const char *output_color_for(const char *name);
/* Text times (records, histogram rows, old ages) in the local zone of TZ
 * ("2026-11-27T14:50:40.123+01:00") when is_local, else UTC ("...Z", the
 * default). Set once before printing (logq --local/--utc); --json output
 * never uses it (always RFC 3339 UTC). */
void output_time_set_local(int is_local);
/* "2026-11-27T13:50:40.123Z" (UTC, milliseconds, truncated), or local
 * after output_time_set_local(1). */
size_t output_time_compact(int64_t ns, char out[40]);

/* Appends "TIME HOST CONTAINER MESSAGE\n". Control bytes in the message
 * and in names (C0 but tab in the message, DEL, C1 as "\u009b") and bytes
 * that are not UTF-8 ("\xff") are escaped (common/escape.h), so one record
 * is one line and a log cannot drive the terminal. With color,
 * host and container are colored and stderr records get a red container.
 * -1 when out's cap is reached (out unchanged). */
int  output_record_text(struct buf *out, const struct logrec *r, int color);
/* With context (-A/-B/-C): as output_record_text, with mark (':' for a
 * match, '-' for a context line, like grep) right after the container;
 * with color a context line's message is dimmed. mark 0: none. */
int  output_record_text_mark(struct buf *out, const struct logrec *r,
                             int color, char mark);
/* The same with the matched bytes highlighted when color is on: spans
 * are n_spans [start, end) byte ranges of r->msg, ascending and apart
 * (the collector's "spans"); not on context lines (mark '-'). */
int  output_record_text_spans(struct buf *out, const struct logrec *r,
                              int color, char mark, const size_t *spans,
                              size_t n_spans);
/* Columns to pad host and container names to (0: none), so a run's
 * messages line up (logq learns them from /containers). */
struct output_widths {
    size_t host;
    size_t container;
};
/* The same with the host and container (and its mark) padded to w's
 * widths in terminal columns; longer names are left whole. */
int  output_record_text_cols(struct buf *out, const struct logrec *r,
                             int color, char mark, const size_t *spans,
                             size_t n_spans, const struct output_widths *w);
/* Appends the "--" line between context groups (cyan with color). */
int  output_group_break(struct buf *out, int color);
/* Appends the record as one JSON line with exactly the fields time, host,
 * container, container_id, image, stream, message. */
int  output_record_json(struct buf *out, const struct logrec *r);
/* Appends line (len bytes, a JSON object without its '\n') and '\n':
 * for a line already known to be what output_record_json would write
 * (reply_record.canon). -1 on out's cap (out unchanged). */
int  output_json_line(struct buf *out, const char *line, size_t len);
/* The same plus "group":group and, for a context line, "context":true
 * (a record of -A/-B/-C, as the collector sends it). -1 on out's cap (out
 * unchanged). */
int  output_record_json_group(struct buf *out, const struct logrec *r,
                              uint64_t group, int is_context);

/* One histogram row: "TIME COUNT ####" with the count right-aligned in
 * count_width and a bar of up to bar_width '#' scaled to max (a non-zero
 * count gets at least one). -1 on out's cap (out unchanged). */
int  output_hist_row(struct buf *out, int64_t t_ms, uint64_t count,
                     uint64_t max, size_t count_width, size_t bar_width);

/* "3s ago", "5m ago", "2h ago", "4d ago" for ages under a week; else the
 * time itself (compact RFC 3339); "-" when t_ns < 0 (unknown). */
void output_age_format(int64_t now, int64_t t_ns, char *out, size_t outlen);

/* A text table: add rows of n_cols cells, then format with columns padded
 * to their widest cell (the last column is not padded). Numeric columns
 * (bit i of right_mask) are right-aligned. */
struct output_table {
    size_t    n_cols;
    unsigned  right_mask;
    char    **cells;        /* n_rows * n_cols, owned */
    size_t    n_rows;
    size_t    cap_rows;
};

void output_table_init(struct output_table *t, size_t n_cols,
                       unsigned right_mask);
void output_table_fini(struct output_table *t);
/* Server text for a terminal cell: s escaped as records' names are (tabs
 * too: they would break the columns), never dropped. Caller frees. */
char *output_cell_dup(const char *s);
/* Copies the n_cols strings of cells, escaped as records' names are
 * (tabs too): server text never reaches the terminal raw. */
void output_table_add(struct output_table *t, const char *const *cells);
int  output_table_format(const struct output_table *t, struct buf *out);

#endif
