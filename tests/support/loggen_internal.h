/* SPDX-License-Identifier: MIT */
/*
 * loggen_internal: what the parts of logq-loggen share (tests/support/
 * loggen.c, the command line; loggen_text.c, numbers, addresses and
 * times written into a line; loggen_out.c, lines written out as plain
 * text or Docker json-file, paced; loggen_kinds.c, the templates and the
 * four kinds of log). The generator's state, its random numbers and the
 * appends to a line, here as static inline: they are on every byte's
 * path, and each part is its own translation unit. Not for use outside
 * the generator (libc and libm only: no common/).
 */
#ifndef TESTS_SUPPORT_LOGGEN_INTERNAL_H
#define TESTS_SUPPORT_LOGGEN_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define LG_LONG_MAX  (8u << 20)            /* largest --long-size */
#define LG_LINE_CAP  (LG_LONG_MAX + 65536) /* one line of text */
#define LG_OUT_SIZE  (1u << 20)            /* per output stream */
#define LG_DOCKER_PIECE 16384              /* Docker's split size */

enum lg_kind { LG_WEB, LG_APP, LG_SYS, LG_WORKER, LG_MIXED };

struct lg_opts {
    enum lg_kind kind;
    uint64_t     count;        /* 0: unlimited */
    double       rate;         /* lines per second, 0: unpaced */
    double       flush_s;      /* --flush-ms / 1000, 0: every line */
    uint64_t     seed;
    int          is_json;
    uint64_t     max_bytes;    /* 0: unlimited */
    int          stream_mix;
    uint64_t     long_every;
    size_t       long_size;
    int          has_long_every;
    const char  *marker;
    uint64_t     exit_after;
    int          exit_code;
    int64_t      start_ns;
    int64_t      step_ns;
    int          has_step;
    int          is_start_now;
};

struct lg_line {
    char  *p;
    size_t len;
};

struct lg_out {
    int    fd;
    size_t len;
    char  *buf;
};

struct lg {
    struct lg_opts o;
    uint64_t       s[4];          /* xoshiro256** state */
    uint64_t       seq;           /* lines written so far */
    uint64_t       n_bytes;
    int64_t        t_ns;          /* time of the current event */
    int64_t        tm_sec;        /* second cached in tm */
    struct tm      tm;
    struct timespec t0;           /* pacing origin */
    double         flushed_at;    /* --flush-ms: last write, s after t0 */
    struct lg_out  out[2];
    struct lg_line line;          /* the event line being built */
    int            in_long;
    int            is_done;
    uint32_t       clients[64];   /* frequent client addresses */
};

/* ------------------------------------------------------------------ */
/* Random numbers                                                      */
/* ------------------------------------------------------------------ */

static inline uint64_t
lg_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t
lg_next(struct lg *g)
{
    uint64_t *s = g->s, r = lg_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = lg_rotl(s[3], 45);
    return r;
}

static inline void
lg_seed(struct lg *g, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        g->s[i] = z ^ (z >> 31);
    }
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t
lg_below(struct lg *g, uint64_t n)
{
    __extension__ typedef unsigned __int128 u128;

    return (uint64_t)(((u128)lg_next(g) * n) >> 64);
}

static inline double
lg_unit(struct lg *g)
{
    return (double)(lg_next(g) >> 11) * (1.0 / 9007199254740992.0);
}

/* Log-normal with median m: response sizes and durations have long tails.
 * The normal deviate is a sum of four uniforms (Irwin-Hall), cheap and
 * close enough for log lines. */
static inline double
lg_lognormal(struct lg *g, double median, double sigma)
{
    uint64_t r = lg_next(g);
    double sum = (double)((r & 0xffff) + ((r >> 16) & 0xffff) +
                          ((r >> 32) & 0xffff) + (r >> 48)) / 65536.0;

    return median * exp(sigma * (sum - 2.0) * 1.7320508075688772);
}

#define LG_PICK(g, arr) ((arr)[lg_below((g), sizeof(arr) / sizeof((arr)[0]))])

/* ------------------------------------------------------------------ */
/* Line building                                                       */
/* ------------------------------------------------------------------ */

static inline void
lg_mem(struct lg_line *l, const char *s, size_t n)
{
    if (n > LG_LINE_CAP - l->len)
        n = LG_LINE_CAP - l->len;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static inline void
lg_s(struct lg_line *l, const char *s)
{
    lg_mem(l, s, strlen(s));
}

static inline void
lg_c(struct lg_line *l, char c)
{
    if (l->len < LG_LINE_CAP)
        l->p[l->len++] = c;
}

/* loggen_text.c: numbers, addresses and times appended to a line */
/* Decimal, zero-padded to at least width digits. */
void lg_u(struct lg_line *l, uint64_t v, int width);
/* n random lowercase hex digits. */
void lg_hex(struct lg *g, struct lg_line *l, int n);
void lg_uuid(struct lg *g, struct lg_line *l);
/* Dotted IPv4 address a. */
void lg_ip(struct lg_line *l, uint32_t a);
/* A client address: mostly private, some public, a few very frequent. */
uint32_t lg_addr(struct lg *g);
/* v with d (1, 2 or 3) decimals. */
void lg_fixed(struct lg_line *l, double v, int d);
/* The current event's time (g->t_ns) in a log style: 'i', 'z', 'a',
 * 's' or 'n' (loggen_text.c). */
void lg_time(struct lg *g, struct lg_line *l, char style);
/* ns as Docker's RFC3339Nano. */
void lg_docker_time(struct lg *g, struct lg_line *l, int64_t ns);

/* loggen_out.c: lines written out */
/* Writes o's buffer out; exits (0 if the reader is gone, else 1) when it
 * cannot. */
void lg_flush(struct lg_out *o);
/* The time of line seq (from 1): --start-time, --time-step-ms. */
int64_t lg_line_time(struct lg *g, uint64_t seq);
/* Writes line l (plus the marker) to its stream and applies the limits
 * and the pace; -1 once the generator should stop. */
int lg_emit(struct lg *g, struct lg_line *l, int is_err);

/* loggen_kinds.c: the kinds of log */
/* A --long-size line (a worker's result dump), emitted. */
void lg_long_line(struct lg *g);
/* The next event of --kind: one line, or several (a stack trace). */
void lg_event(struct lg *g);

#endif
