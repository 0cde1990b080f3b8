/* SPDX-License-Identifier: MIT */
/* log: see log.h. Not thread-safe beyond stdio's own locking per line. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "common/escape.h"

static const char *log_prog = "logq";
static enum log_level log_level = LOG_LEVEL_INFO;
static FILE *log_fp;
static const char *const log_names[] = { "error", "warn", "info", "debug" };

static void
log_event_cb(int severity, const char *msg)
{
    enum log_level lvl = LOG_LEVEL_DEBUG;

    if (severity >= EVENT_LOG_ERR)
        lvl = LOG_LEVEL_ERROR;
    else if (severity == EVENT_LOG_WARN)
        lvl = LOG_LEVEL_WARN;
    log_msg(lvl, "libevent", "%s", msg);
}

int
log_init(const char *prog, enum log_level level, const char *path)
{
    log_prog = prog;
    log_level = level;
    if (path != NULL) {
        FILE *fp = fopen(path, "a");
        if (fp == NULL)
            return -1;
        setvbuf(fp, NULL, _IOLBF, 0);
        log_fp = fp;
    }
    event_set_log_callback(log_event_cb);
    return 0;
}

int
log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
        if (strcmp(s, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void
log_set_level(enum log_level level)
{
    log_level = level;
}

static void
log_vmsg(enum log_level level, const char *module, const char *fmt,
         va_list ap, const char *suffix)
{
    struct timespec ts;
    struct tm tm;
    char tbuf[32], line[2048], safe[2048];
    FILE *fp = log_fp ? log_fp : stderr;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(line, sizeof(line), fmt, ap);
    escape_str(safe, sizeof(safe), line, strlen(line), 0);
    fprintf(fp, "%s.%03ldZ %s %s %s: %s%s%s\n", tbuf, ts.tv_nsec / 1000000,
            log_names[level], log_prog, module, safe,
            suffix ? ": " : "", suffix ? suffix : "");
    fflush(fp);
}

void
log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    va_list ap;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    log_vmsg(level, module, fmt, ap, NULL);
    va_end(ap);
}

void
fatal(const char *module, const char *fmt, ...)
{
    va_list ap;
    const char *err = strerror(errno);

    va_start(ap, fmt);
    log_vmsg(LOG_LEVEL_ERROR, module, fmt, ap, err);
    va_end(ap);
    exit(1);
}

void
fatalx(const char *module, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_LEVEL_ERROR, module, fmt, ap, NULL);
    va_end(ap);
    exit(1);
}

const char *
log_esc(char *dst, size_t dst_size, const char *s, size_t len)
{
    return escape_str(dst, dst_size, s, len, ESCAPE_QUOTE);
}

int
log_limit_allow(struct log_limit *l, int64_t now_ns, uint64_t *n_ended)
{
    *n_ended = 0;
    if (l->n_logged == 0 && l->n_suppressed == 0)
        l->start_ns = now_ns;                   /* first line ever */
    else if (now_ns - l->start_ns >= l->window_ns || now_ns < l->start_ns) {
        *n_ended = l->n_suppressed;
        l->start_ns = now_ns;
        l->n_logged = 0;
        l->n_suppressed = 0;
    }
    if (l->n_logged >= l->per_window) {
        l->n_suppressed++;
        return 0;
    }
    l->n_logged++;
    return 1;
}
