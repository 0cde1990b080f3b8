/* SPDX-License-Identifier: MIT */
/*
 * log: one line per event on stderr (or --log-file):
 *   2026-11-27T13:50:40.123Z warn logq-collector ingest: message key=value
 * Levels error < warn < info < debug. fatal() appends strerror(errno) and
 * exits 1; fatalx() does not append it. libevent's own messages are routed
 * in by log_init(). Messages are lowercase with no trailing period.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

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

#define log_error(mod, ...) log_msg(LOG_LEVEL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_LEVEL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_LEVEL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_LEVEL_DEBUG, mod, __VA_ARGS__)

#endif
