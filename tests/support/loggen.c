/* SPDX-License-Identifier: MIT */
/*
 * loggen: the project's realistic log generator, used by the tests, the
 * benchmark and the demo containers. Writes look-alike application logs
 * (web access/error logs, leveled application logs with Java and Python
 * stack traces, syslog/sshd/kernel lines, batch-worker lines with optional
 * lines longer than Docker's 16 KiB split) as plain lines or as Docker
 * json-file lines. The line shapes (lengths, token mix: IPs, UUIDs, block
 * ids, paths, durations) were modelled on the Loghub samples in
 * ../shared/corpus; no text of those samples is copied here.
 *
 * Standalone on purpose: libc and libm only, linked statically so it runs
 * in a busybox image, so it does not use common/. Output is deterministic
 * for a given --seed and --start-time. Hand-written number/time formatting
 * and a 1 MiB output buffer keep json-file output above 200 MB/s, so the
 * benchmark can make gigabytes of input quickly.
 *
 * The generator's parts: loggen_text.c (numbers, addresses, times),
 * loggen_out.c (plain and json-file output, pacing), loggen_kinds.c (the
 * templates and the kinds), loggen_internal.h (what they share).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/loggen_internal.h"

static char lg_line_buf[LG_LINE_CAP];
static char lg_out_buf[2][LG_OUT_SIZE];

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

static void
lg_usage(FILE *f)
{
    fputs(
"usage: logq-loggen [options]\n"
"Writes realistic log lines to stdout (deterministic for a given --seed and\n"
"--start-time). Runs until --count or --bytes is reached, or forever.\n"
"  --kind K            web | app | sys | worker | mixed (default mixed)\n"
"                      web: access/error logs; app: leveled logs with Java\n"
"                      and Python stack traces, one output line per trace\n"
"                      line; sys: syslog/sshd/kernel; worker: batch jobs\n"
"  --count N           stop after N lines\n"
"  --bytes N           stop once N bytes are written (whole lines)\n"
"  --rate R            pace to R lines per second, flushing every line\n"
"  --flush-ms MS       with --rate, write lines out in batches, one write\n"
"                      per stream every MS ms (as a buffered logger does)\n"
"  --seed S            PRNG seed (default 1)\n"
"  --format F          plain | json-file (Docker's json-file lines)\n"
"  --stream-mix        error lines go to stderr: in json-file as\n"
"                      \"stream\":\"stderr\", in plain mode on fd 2\n"
"  --long-every N      every N-th line is a long line (worker default\n"
"                      1000; 0 disables)\n"
"  --long-size BYTES   its length without the newline (default 20000,\n"
"                      max 8 MiB; more than 16384 makes Docker split it)\n"
"  --marker TEXT       append \" TEXT-<seq>\" to every line, seq = line\n"
"                      number from 1 (trace and long lines included)\n"
"  --exit-after N      exit with --exit-code after N lines (default 1)\n"
"  --start-time T      RFC 3339 time of line 1, or \"now\"\n"
"                      (default 2026-11-27T13:50:40Z)\n"
"  --time-step-ms MS   time between lines (default 1, or 1000/rate with\n"
"                      --start-time now and --rate)\n"
"  --help              this text\n", f);
}

static int
lg_parse_u64(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    if (*s == '-' || *s == '\0')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int
lg_parse_double(const char *s, double *out)
{
    char *end;

    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || isinf(v))
        return -1;
    *out = v;
    return 0;
}

/* "2026-11-27T13:50:40[.fff][Z|+hh:mm]" or "now" into unix ns. */
static int
lg_parse_time(const char *s, struct lg_opts *o)
{
    struct tm tm;
    const char *p;
    int64_t frac = 0, scale = 100000000;

    if (strcmp(s, "now") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o->start_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        o->is_start_now = 1;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
        return -1;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += (*p - '0') * scale;
    int64_t off = 0;
    if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
        off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
              ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
        off = p[0] == '-' ? -off : off;
    } else if (strcmp(p, "Z") != 0) {
        return -1;
    }
    o->start_ns = ((int64_t)timegm(&tm) - off) * 1000000000 + frac;
    return 0;
}

static int
lg_kind_parse(const char *s, enum lg_kind *k)
{
    static const char *const names[] = {"web", "app", "sys", "worker",
                                        "mixed"};

    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            *k = (enum lg_kind)i;
            return 0;
        }
    }
    return -1;
}

enum {
    LG_OPT_KIND = 256, LG_OPT_COUNT, LG_OPT_RATE, LG_OPT_SEED, LG_OPT_FORMAT,
    LG_OPT_BYTES, LG_OPT_MIX, LG_OPT_LONG_EVERY, LG_OPT_LONG_SIZE,
    LG_OPT_MARKER, LG_OPT_EXIT_AFTER, LG_OPT_EXIT_CODE, LG_OPT_START,
    LG_OPT_STEP, LG_OPT_FLUSH
};

/* One option; -1 with a message on a bad value. */
static int
lg_option(struct lg_opts *o, int c, const char *arg)
{
    uint64_t v = 0;
    double d = 0;

    switch (c) {
    case LG_OPT_KIND: return lg_kind_parse(arg, &o->kind);
    case LG_OPT_COUNT: return lg_parse_u64(arg, &o->count);
    case LG_OPT_RATE: return lg_parse_double(arg, &o->rate);
    case LG_OPT_SEED: return lg_parse_u64(arg, &o->seed);
    case LG_OPT_BYTES: return lg_parse_u64(arg, &o->max_bytes);
    case LG_OPT_MIX: o->stream_mix = 1; return 0;
    case LG_OPT_MARKER: o->marker = arg; return *arg ? 0 : -1;
    case LG_OPT_EXIT_AFTER: return lg_parse_u64(arg, &o->exit_after);
    case LG_OPT_START: return lg_parse_time(arg, o);
    case LG_OPT_FORMAT:
        o->is_json = strcmp(arg, "json-file") == 0;
        return o->is_json || strcmp(arg, "plain") == 0 ? 0 : -1;
    case LG_OPT_LONG_EVERY:
        o->has_long_every = 1;
        return lg_parse_u64(arg, &o->long_every);
    case LG_OPT_LONG_SIZE:
        if (lg_parse_u64(arg, &v) < 0 || v > LG_LONG_MAX)
            return -1;
        o->long_size = (size_t)v;
        return 0;
    case LG_OPT_EXIT_CODE:
        if (lg_parse_u64(arg, &v) < 0 || v > 255)
            return -1;
        o->exit_code = (int)v;
        return 0;
    case LG_OPT_STEP:
        if (lg_parse_double(arg, &d) < 0 || d > 86400000)
            return -1;
        o->step_ns = (int64_t)(d * 1e6);
        o->has_step = 1;
        return 0;
    case LG_OPT_FLUSH:
        if (lg_parse_double(arg, &d) < 0 || d > 60000)
            return -1;
        o->flush_s = d / 1e3;
        return 0;
    default: return -1;
    }
}

static int
lg_options(struct lg_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, NULL, LG_OPT_KIND},
        {"count", required_argument, NULL, LG_OPT_COUNT},
        {"rate", required_argument, NULL, LG_OPT_RATE},
        {"seed", required_argument, NULL, LG_OPT_SEED},
        {"format", required_argument, NULL, LG_OPT_FORMAT},
        {"bytes", required_argument, NULL, LG_OPT_BYTES},
        {"stream-mix", no_argument, NULL, LG_OPT_MIX},
        {"long-every", required_argument, NULL, LG_OPT_LONG_EVERY},
        {"long-size", required_argument, NULL, LG_OPT_LONG_SIZE},
        {"marker", required_argument, NULL, LG_OPT_MARKER},
        {"exit-after", required_argument, NULL, LG_OPT_EXIT_AFTER},
        {"exit-code", required_argument, NULL, LG_OPT_EXIT_CODE},
        {"start-time", required_argument, NULL, LG_OPT_START},
        {"time-step-ms", required_argument, NULL, LG_OPT_STEP},
        {"flush-ms", required_argument, NULL, LG_OPT_FLUSH},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            lg_usage(stdout);
            exit(0);
        }
        if (c == '?' || lg_option(o, c, optarg) < 0) {
            if (c != '?')
                fprintf(stderr, "logq-loggen: bad value for --%s: %s\n",
                        opts[c - LG_OPT_KIND].name, optarg);
            lg_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "logq-loggen: unexpected argument: %s\n",
                argv[optind]);
        return -1;
    }
    return 0;
}

static void
lg_defaults(struct lg_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->kind = LG_MIXED;
    o->seed = 1;
    o->long_size = 20000;
    o->exit_code = 1;
    o->start_ns = INT64_C(1795787440) * 1000000000;
    o->step_ns = 1000000;
}

int
main(int argc, char **argv)
{
    static struct lg g;

    lg_defaults(&g.o);
    if (lg_options(&g.o, argc, argv) < 0)
        return 2;
    if (g.o.kind == LG_WORKER && !g.o.has_long_every)
        g.o.long_every = 1000;
    if (g.o.is_start_now && g.o.rate > 0 && !g.o.has_step)
        g.o.step_ns = (int64_t)(1e9 / g.o.rate);
    lg_seed(&g, g.o.seed);
    for (int i = 0; i < 64; i++)
        g.clients[i] = lg_addr(&g);
    g.tm_sec = INT64_MIN;
    g.line.p = lg_line_buf;
    g.out[0] = (struct lg_out){1, 0, lg_out_buf[0]};
    g.out[1] = (struct lg_out){2, 0, lg_out_buf[1]};
    clock_gettime(CLOCK_MONOTONIC, &g.t0);
    while (!g.is_done)
        lg_event(&g);
    lg_flush(&g.out[0]);
    lg_flush(&g.out[1]);
    return 0;
}
