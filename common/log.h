/* SPDX-License-Identifier: MIT */
/*
 * log: one line per event on stderr (or --log-file):
 *   2026-11-27T13:50:40.123Z warn logq-collector ingest: message key=value
 * Levels error < warn < info < debug. fatal() appends strerror(errno) and
 * exits 1; fatalx() does not append it. libevent's own messages are routed
 * in by log_init(). Messages are lowercase with no trailing period. Every
 * line is escaped as a whole before it is written (control bytes, C1,
 * invalid UTF-8: common/escape.h), so no argument can split or forge a
 * line; peer strings also go through log_esc() for their quotes.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
                 LOG_LEVEL_DEBUG };

/* Sets the program name and level; path NULL means stderr. Returns -1 if the
 * log file cannot be opened. */
int log_init(const char *prog, enum log_level level, const char *path);
/* Parses "error|warn|info|debug"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out);
void log_set_level(enum log_level level);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fatal(const char *module, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void fatalx(const char *module, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Room for one log_esc() result: longer peer strings are cut ("..."). */
#define LOG_ESC_SIZE 160

/* A string a peer sent (host name, software, error text, path) made safe
 * for a log line: control bytes, C1, bytes that are not UTF-8, '"' and '\'
 * escaped (common/escape.h ESCAPE_QUOTE), so it can neither end the line,
 * drive a terminal that shows the log, nor close a key="..." value. Cut
 * with "..." to fit dst_size. Returns dst. */
const char *log_esc(char *dst, size_t dst_size, const char *s, size_t len);

/* A budget of log lines per time window, for errors a peer can cause at
 * will (before authentication above all): at most per_window lines per
 * window_ns; the rest are counted, not written. */
struct log_limit {
    int64_t  window_ns;
    unsigned per_window;
    int64_t  start_ns;          /* of the current window */
    unsigned n_logged;          /* in the current window */
    uint64_t n_suppressed;      /* in the current window */
};

/* 1 if a line may be written at now_ns, 0 if it is over the budget (and
 * counted). *n_ended is set to the lines suppressed in the window that
 * this call closed (0 if none), for the caller's "suppressed N" line. */
int  log_limit_allow(struct log_limit *l, int64_t now_ns, uint64_t *n_ended);

#define log_error(mod, ...) log_msg(LOG_LEVEL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_LEVEL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_LEVEL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_LEVEL_DEBUG, mod, __VA_ARGS__)

#endif
