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

#include "tests/support/loggen_vocab.h"

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

static char lg_line_buf[LG_LINE_CAP];
static char lg_long_buf[LG_LINE_CAP];
static char lg_out_buf[2][LG_OUT_SIZE];

/* ------------------------------------------------------------------ */
/* Random numbers                                                      */
/* ------------------------------------------------------------------ */

static uint64_t
lg_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t
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

static void
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
static uint64_t
lg_below(struct lg *g, uint64_t n)
{
    __extension__ typedef unsigned __int128 u128;

    return (uint64_t)(((u128)lg_next(g) * n) >> 64);
}

static double
lg_unit(struct lg *g)
{
    return (double)(lg_next(g) >> 11) * (1.0 / 9007199254740992.0);
}

/* Log-normal with median m: response sizes and durations have long tails.
 * The normal deviate is a sum of four uniforms (Irwin-Hall), cheap and
 * close enough for log lines. */
static double
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

static void
lg_mem(struct lg_line *l, const char *s, size_t n)
{
    if (n > LG_LINE_CAP - l->len)
        n = LG_LINE_CAP - l->len;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void
lg_s(struct lg_line *l, const char *s)
{
    lg_mem(l, s, strlen(s));
}

static void
lg_c(struct lg_line *l, char c)
{
    if (l->len < LG_LINE_CAP)
        l->p[l->len++] = c;
}

/* Decimal, zero-padded to at least width digits; two digits per step. */
static void
lg_u(struct lg_line *l, uint64_t v, int width)
{
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "6869707172737475767778798081828384858687888990919293949596979899";
    char t[24];
    int n = 24;

    while (v >= 100) {
        size_t k = (size_t)(v % 100) * 2;
        v /= 100;
        t[--n] = pairs[k + 1];
        t[--n] = pairs[k];
    }
    if (v >= 10) {
        t[--n] = pairs[v * 2 + 1];
        t[--n] = pairs[v * 2];
    } else {
        t[--n] = (char)('0' + v);
    }
    while (24 - n < width && n > 0)
        t[--n] = '0';
    lg_mem(l, t + n, (size_t)(24 - n));
}

static void
lg_hex(struct lg *g, struct lg_line *l, int n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t r = 0;

    for (int i = 0; i < n; i++) {
        if (i % 16 == 0)
            r = lg_next(g);
        lg_c(l, hex[r & 15]);
        r >>= 4;
    }
}

static void
lg_uuid(struct lg *g, struct lg_line *l)
{
    static const int part[5] = {8, 4, 4, 4, 12};

    for (int i = 0; i < 5; i++) {
        if (i)
            lg_c(l, '-');
        lg_hex(g, l, part[i]);
    }
}

static void
lg_ip(struct lg_line *l, uint32_t a)
{
    for (int i = 3; i >= 0; i--) {
        lg_u(l, (a >> (8 * i)) & 255, 0);
        if (i)
            lg_c(l, '.');
    }
}

/* Mostly private addresses, some public ones, a few very frequent. */
static uint32_t
lg_addr(struct lg *g)
{
    uint64_t r = lg_next(g);

    switch (r % 8) {
    case 0: case 1: case 2:
        return g->clients[(r >> 8) % 64];
    case 3: case 4:
        return 0x0a000000u | ((uint32_t)(r >> 16) & 0x00ffffffu);
    case 5:
        return 0xac100000u | ((uint32_t)(r >> 16) & 0x000fffffu);
    default:
        return (uint32_t)((r >> 24) % 223 + 1) << 24 |
               ((uint32_t)(r >> 32) & 0x00ffffffu);
    }
}

/* A fixed-point number with d decimals. */
static void
lg_fixed(struct lg_line *l, double v, int d)
{
    uint64_t scale = d == 1 ? 10 : d == 2 ? 100 : 1000;
    uint64_t x = (uint64_t)(v * (double)scale + 0.5);

    lg_u(l, x / scale, 0);
    lg_c(l, '.');
    lg_u(l, x % scale, d);
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

static const char *const lg_mon[12] = {"Jan", "Feb", "Mar", "Apr", "May",
                                       "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"};

static const struct tm *
lg_tm(struct lg *g, int64_t ns)
{
    int64_t sec = ns >= 0 ? ns / 1000000000 : (ns + 1) / 1000000000 - 1;

    if (sec != g->tm_sec) {
        time_t t = (time_t)sec;
        gmtime_r(&t, &g->tm);
        g->tm_sec = sec;
    }
    return &g->tm;
}

static int64_t
lg_frac(int64_t ns)
{
    int64_t f = ns % 1000000000;

    return f < 0 ? f + 1000000000 : f;
}

static void
lg_ymd(struct lg_line *l, const struct tm *tm, char sep)
{
    lg_u(l, (uint64_t)tm->tm_year + 1900, 4);
    lg_c(l, sep);
    lg_u(l, (uint64_t)tm->tm_mon + 1, 2);
    lg_c(l, sep);
    lg_u(l, (uint64_t)tm->tm_mday, 2);
}

static void
lg_hms(struct lg_line *l, const struct tm *tm)
{
    lg_u(l, (uint64_t)tm->tm_hour, 2);
    lg_c(l, ':');
    lg_u(l, (uint64_t)tm->tm_min, 2);
    lg_c(l, ':');
    lg_u(l, (uint64_t)tm->tm_sec, 2);
}

/* Timestamp styles: 'i' "2026-11-27 13:50:40,123", 'z' ISO with millis and
 * Z, 'a' Apache "27/Nov/2026:13:50:40 +0000", 's' syslog "Nov 27 13:50:40",
 * 'n' nginx error "2026/11/27 13:50:40". */
static void
lg_time(struct lg *g, struct lg_line *l, char style)
{
    const struct tm *tm = lg_tm(g, g->t_ns);
    uint64_t ms = (uint64_t)lg_frac(g->t_ns) / 1000000;

    switch (style) {
    case 'a':
        lg_u(l, (uint64_t)tm->tm_mday, 2);
        lg_c(l, '/');
        lg_s(l, lg_mon[tm->tm_mon]);
        lg_c(l, '/');
        lg_u(l, (uint64_t)tm->tm_year + 1900, 4);
        lg_c(l, ':');
        lg_hms(l, tm);
        lg_s(l, " +0000");
        break;
    case 's':
        lg_s(l, lg_mon[tm->tm_mon]);
        lg_c(l, ' ');
        if (tm->tm_mday < 10)
            lg_c(l, ' ');
        lg_u(l, (uint64_t)tm->tm_mday, 0);
        lg_c(l, ' ');
        lg_hms(l, tm);
        break;
    default:
        lg_ymd(l, tm, style == 'n' ? '/' : '-');
        lg_c(l, style == 'z' ? 'T' : ' ');
        lg_hms(l, tm);
        if (style == 'n')
            break;
        lg_c(l, style == 'z' ? '.' : ',');
        lg_u(l, ms, 3);
        if (style == 'z')
            lg_c(l, 'Z');
    }
}

/* Docker's RFC3339Nano: fraction without trailing zeros, omitted if 0. */
static void
lg_docker_time(struct lg *g, struct lg_line *l, int64_t ns)
{
    const struct tm *tm = lg_tm(g, ns);
    uint64_t f = (uint64_t)lg_frac(ns);
    int digits = 9;

    lg_ymd(l, tm, '-');
    lg_c(l, 'T');
    lg_hms(l, tm);
    if (f != 0) {
        while (f % 10 == 0) {
            f /= 10;
            digits--;
        }
        lg_c(l, '.');
        lg_u(l, f, digits);
    }
    lg_c(l, 'Z');
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void
lg_flush(struct lg_out *o)
{
    size_t off = 0;

    while (off < o->len) {
        ssize_t n = write(o->fd, o->buf + off, o->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* reader gone (EPIPE with SIGPIPE ignored) or disk full */
            exit(errno == EPIPE ? 0 : 1);
        }
        off += (size_t)n;
    }
    o->len = 0;
}

static void
lg_write(struct lg_out *o, const char *p, size_t n)
{
    if (n > LG_OUT_SIZE - o->len) {
        lg_flush(o);
        if (n > LG_OUT_SIZE) {
            struct lg_out direct = {o->fd, n, (char *)p};
            lg_flush(&direct);
            return;
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* Bytes Go's encoding/json escapes: controls, '"', '\\', and, as Docker
 * leaves its HTML escaping on, '<', '>' and '&'. */
static int
lg_needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' ||
           c == '&';
}

/* Index of the first byte at or after i that lg_needs_escape (or n),
 * eight bytes at a time: the per-byte tests borrow upwards only, so the
 * lowest flagged byte is exact. */
static size_t
lg_skip_plain(const char *s, size_t i, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL;
    static const unsigned char special[5] = {'"', '\\', '<', '>', '&'};

    for (; n - i >= 8; i += 8) {
        uint64_t w, m;
        memcpy(&w, s + i, 8);
        m = (w - ones * 0x20) & ~w;
        for (int k = 0; k < 5; k++) {
            uint64_t x = w ^ (ones * special[k]);
            m |= (x - ones) & ~x;
        }
        m &= ones * 0x80;
        if (m != 0)
            return i + (size_t)(__builtin_ctzll(m) >> 3);
    }
#endif
    while (i < n && !lg_needs_escape((unsigned char)s[i]))
        i++;
    return i;
}

/* JSON string body the way Docker writes it: \n \r \t \" \\ and \u00XX
 * for the rest (so "<" is "\u003c"). */
static size_t
lg_json_escape(struct lg_out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    static unsigned char table[256];
    size_t run = 0, total = 0;

    if (!table['"'])
        for (int c = 0; c < 256; c++)
            table[c] = (unsigned char)lg_needs_escape((unsigned char)c);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[6] = {'\\', 0, '0', '0', 0, 0};
        size_t en = 2;
        if (!table[c]) {
            i = lg_skip_plain(s, i + 1, n) - 1;
            continue;
        }
        lg_write(o, s + run, i - run);
        total += i - run;
        run = i + 1;
        switch (c) {
        case '"': case '\\': e[1] = (char)c; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            e[1] = 'u';
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            en = 6;
        }
        lg_write(o, e, en);
        total += en;
    }
    lg_write(o, s + run, n - run);
    return total + n - run;
}

/* Seconds since the pacing origin. */
static double
lg_elapsed(const struct lg *g)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - g->t0.tv_sec) +
           (double)(now.tv_nsec - g->t0.tv_nsec) / 1e9;
}

static void
lg_sleep(double s)
{
    struct timespec d;

    if (s <= 0)
        return;
    d.tv_sec = (time_t)s;
    d.tv_nsec = (long)((s - (double)d.tv_sec) * 1e9);
    while (nanosleep(&d, &d) < 0 && errno == EINTR)
        ;
}

/* --rate: line seq is due (seq - 1) / rate s after the origin. */
static void
lg_pace(struct lg *g)
{
    lg_sleep((double)(g->seq - 1) / g->o.rate - lg_elapsed(g));
}

/*
 * --rate with --flush-ms: lines stay in the output buffers (as with a
 * buffered logger) and go out in one write per stream once the next line
 * is due at least flush_s ahead (then the writer sleeps until it is due),
 * or flush_s after the last write (when it is behind), or when a buffer
 * fills. The rate holds over any flush_s; each write carries about
 * rate * flush_s lines instead of one.
 */
static void
lg_pace_batched(struct lg *g)
{
    double ahead, now = lg_elapsed(g);

    ahead = (double)g->seq / g->o.rate - now;
    if (ahead < g->o.flush_s && now - g->flushed_at < g->o.flush_s)
        return;
    lg_flush(&g->out[0]);
    lg_flush(&g->out[1]);
    g->flushed_at = now;
    lg_sleep(ahead);
}

static int64_t
lg_line_time(struct lg *g, uint64_t seq)
{
    /* line seq falls in [start + (seq-1) step, start + seq step): a
     * hash of seq, not the text PRNG, picks where, so the text does not
     * depend on --format */
    int64_t t = g->o.start_ns + (int64_t)(seq - 1) * g->o.step_ns;
    uint64_t z = (seq + g->o.seed) * 0x9e3779b97f4a7c15ULL;

    z = (z ^ (z >> 31)) * 0xbf58476d1ce4e5b9ULL;
    if (g->o.step_ns > 1)
        t += (int64_t)((z ^ (z >> 29)) % (uint64_t)g->o.step_ns);
    return t;
}

/* One json-file record: {"log":"<text>[\n]","stream":..,"time":..}. */
static size_t
lg_json_record(struct lg *g, const char *p, size_t n, int has_nl, int stream,
               int64_t t_ns)
{
    char tb[96];
    struct lg_line t = {tb, 0};
    struct lg_out *o = &g->out[0];

    lg_s(&t, has_nl ? "\\n\",\"stream\":\"" : "\",\"stream\":\"");
    lg_s(&t, stream ? "stderr" : "stdout");
    lg_s(&t, "\",\"time\":\"");
    lg_docker_time(g, &t, t_ns);
    lg_s(&t, "\"}\n");
    lg_write(o, "{\"log\":\"", 8);
    n = lg_json_escape(o, p, n);
    lg_write(o, t.p, t.len);
    return 8 + n + t.len;
}

/*
 * Like Docker, a line whose text plus newline passes 16 KiB becomes
 * several records: 16384-byte pieces without "\n", then the rest with it.
 * Unlike Docker, a cut never falls inside a UTF-8 sequence (Docker's would
 * turn the halves into U+FFFD), so the text survives reassembly intact.
 */
static size_t
lg_emit_json(struct lg *g, const struct lg_line *l, int stream)
{
    int64_t t = lg_line_time(g, g->seq);
    size_t off = 0, n = 0;

    while (l->len - off >= LG_DOCKER_PIECE) {
        size_t cut = LG_DOCKER_PIECE;
        while (cut > 4 && ((unsigned char)l->p[off + cut] & 0xc0) == 0x80)
            cut--;
        n += lg_json_record(g, l->p + off, cut, 0, stream, t++);
        off += cut;
    }
    return n + lg_json_record(g, l->p + off, l->len - off, 1, stream, t);
}

static void lg_long_line(struct lg *g);

/*
 * Writes one line (l's text, plus the marker) to its stream, and applies
 * --long-every, --count, --bytes, --exit-after and --rate. Returns -1 once
 * the generator should stop.
 */
static int
lg_emit(struct lg *g, struct lg_line *l, int is_err)
{
    int stream = g->o.stream_mix && is_err;
    size_t n = 0;

    if (g->is_done)
        return -1;
    if (!g->in_long && g->o.long_every && (g->seq + 1) % g->o.long_every == 0)
        lg_long_line(g);
    if (g->is_done)
        return -1;
    g->seq++;
    if (g->o.marker != NULL) {
        lg_c(l, ' ');
        lg_s(l, g->o.marker);
        lg_c(l, '-');
        lg_u(l, g->seq, 0);
    }
    if (g->o.is_json) {
        n = lg_emit_json(g, l, stream);
    } else {
        lg_write(&g->out[stream], l->p, l->len);
        lg_write(&g->out[stream], "\n", 1);
        n = l->len + 1;
    }
    g->n_bytes += n;
    if (g->o.rate > 0 && g->o.flush_s > 0) {
        lg_pace_batched(g);
    } else if (g->o.rate > 0) {
        lg_flush(&g->out[stream]);
        lg_pace(g);
    }
    if (g->o.exit_after && g->seq >= g->o.exit_after) {
        lg_flush(&g->out[0]);
        lg_flush(&g->out[1]);
        exit(g->o.exit_code);
    }
    if ((g->o.count && g->seq >= g->o.count) ||
        (g->o.max_bytes && g->n_bytes >= g->o.max_bytes))
        g->is_done = 1;
    return g->is_done ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Templates                                                           */
/* ------------------------------------------------------------------ */

/*
 * Template codes: %u uuid, %a 1..9, %n 1..99999 (mostly < 1000), %N large
 * int, %d millis, %D seconds, %f fraction, %k percent, %i IPv4, %p port,
 * %h host, %w word, %s user, %b HDFS block, %x 8 hex, %X 32 hex, %c class,
 * %t thread, %j job, %q queue, %v version, %m method, %P path, %S bytes,
 * %K kernel uptime; any other character after '%' is written as is.
 */

static void lg_expand(struct lg *g, struct lg_line *l, const char *t);

static void
lg_method(struct lg *g, struct lg_line *l)
{
    uint64_t r = lg_below(g, 100);

    lg_s(l, r < 75 ? "GET" : r < 90 ? "POST" : r < 94 ? "PUT" : r < 97
            ? "DELETE" : r < 99 ? "HEAD" : "OPTIONS");
}

static void
lg_code(struct lg *g, struct lg_line *l, char c)
{
    switch (c) {
    case 'u': lg_uuid(g, l); break;
    case 'n': lg_u(l, 1 + lg_below(g, lg_below(g, 8) ? 999 : 99999), 0); break;
    case 'a': lg_u(l, 1 + lg_below(g, 1 + lg_below(g, 9)), 0); break;
    case 'N': lg_u(l, lg_below(g, 2000000000), 0); break;
    case 'd': lg_u(l, (uint64_t)lg_lognormal(g, 40, 1.2) + 1, 0); break;
    case 'D': lg_fixed(l, lg_lognormal(g, 0.8, 1.0), 3); break;
    case 'f': lg_fixed(l, lg_unit(g), 3); break;
    case 'k': lg_fixed(l, lg_unit(g) * 100, 1); break;
    case 'i': lg_ip(l, lg_addr(g)); break;
    case 'p': lg_u(l, 1024 + lg_below(g, 64511), 0); break;
    case 'h': lg_expand(g, l, LG_PICK(g, lg_hosts)); break;
    case 'w': lg_s(l, LG_PICK(g, lg_words)); break;
    case 's': lg_s(l, LG_PICK(g, lg_users)); break;
    case 'b':
        lg_s(l, lg_below(g, 2) ? "blk_-" : "blk_");
        lg_u(l, lg_next(g) >> 1, 0);
        break;
    case 'x': lg_hex(g, l, 8); break;
    case 'X': lg_hex(g, l, 32); break;
    case 'c':
        lg_s(l, LG_PICK(g, lg_pkgs));
        lg_c(l, '.');
        lg_s(l, LG_PICK(g, lg_classes));
        break;
    case 't': lg_expand(g, l, LG_PICK(g, lg_threads)); break;
    case 'j':
        lg_s(l, "job_");
        lg_u(l, 1700000000000 + lg_below(g, 99999999), 0);
        lg_c(l, '_');
        lg_u(l, lg_below(g, 10000), 4);
        break;
    case 'q': lg_s(l, LG_PICK(g, lg_queues)); break;
    case 'v':
        lg_u(l, lg_below(g, 4), 0);
        lg_c(l, '.');
        lg_u(l, lg_below(g, 20), 0);
        lg_c(l, '.');
        lg_u(l, lg_below(g, 10), 0);
        break;
    case 'm': lg_method(g, l); break;
    case 'P': lg_expand(g, l, LG_PICK(g, lg_paths)); break;
    case 'S': lg_u(l, (uint64_t)lg_lognormal(g, 4000, 1.5), 0); break;
    case 'K':
        lg_u(l, 100 + lg_below(g, 900000), 0);
        lg_c(l, '.');
        lg_u(l, lg_below(g, 1000000), 6);
        break;
    default: lg_c(l, c); break;
    }
}

static void
lg_expand(struct lg *g, struct lg_line *l, const char *t)
{
    for (;;) {
        const char *pct = strchr(t, '%');
        if (pct == NULL) {
            lg_s(l, t);
            return;
        }
        lg_mem(l, t, (size_t)(pct - t));
        if (pct[1] == '\0')
            return;
        lg_code(g, l, pct[1]);
        t = pct + 2;
    }
}

/* A template starting with '!' is an error line (stderr with
 * --stream-mix); returns the template without it. */
static const char *
lg_errmark(const char *t, int *is_err)
{
    *is_err = t[0] == '!';
    return t + *is_err;
}

static void
lg_begin(struct lg *g)
{
    g->line.len = 0;
}

/* ------------------------------------------------------------------ */
/* Kinds                                                               */
/* ------------------------------------------------------------------ */

static int
lg_emit_expand(struct lg *g, const char *t, int is_err)
{
    lg_begin(g);
    lg_expand(g, &g->line, t);
    return lg_emit(g, &g->line, is_err);
}

/* Combined access log line, or now and then an nginx error line. */
static void
lg_web(struct lg *g)
{
    static const uint16_t status[] = {200, 200, 200, 200, 200, 200, 200, 200,
                                      200, 200, 200, 200, 200, 200, 200, 200,
                                      201, 204, 304, 304, 301, 302, 404, 404,
                                      401, 403, 500, 502, 503, 200};
    struct lg_line *l = &g->line;
    uint64_t r = lg_below(g, 1000);

    lg_begin(g);
    if (r < 20) {
        lg_time(g, l, 'n');
        lg_expand(g, l, r < 12 ?
            " [error] 31#31: *%N upstream timed out (110: Connection timed "
            "out) while reading response header from upstream, client: %i, "
            "server: _, request: \"%m %P HTTP/1.1\", upstream: "
            "\"http://%i:8080%P\", host: \"shop.example.com\"" :
            " [warn] 31#31: *%N an upstream response is buffered to a "
            "temporary file /var/cache/nginx/proxy_temp/%n/%n while reading "
            "upstream, client: %i, server: _, request: \"GET %P HTTP/1.1\"");
        lg_emit(g, l, 1);
        return;
    }
    lg_ip(l, lg_addr(g));
    lg_s(l, lg_below(g, 10) ? " - - [" : " - ");
    if (l->p[l->len - 1] != '[') {
        lg_s(l, LG_PICK(g, lg_users));
        lg_s(l, " [");
    }
    lg_time(g, l, 'a');
    lg_s(l, "] \"");
    lg_expand(g, l, "%m %P HTTP/1.1\" ");
    lg_u(l, LG_PICK(g, status), 0);
    lg_c(l, ' ');
    lg_u(l, (uint64_t)lg_lognormal(g, 2500, 1.6), 0);
    lg_expand(g, l, lg_below(g, 3) ? " \"-\" \"" :
                                     " \"https://shop.example.com%P\" \"");
    lg_s(l, LG_PICK(g, lg_agents));
    lg_s(l, "\" rt=");
    lg_fixed(l, lg_lognormal(g, 0.03, 1.3), 3);
    lg_emit(g, l, 0);
}

static void
lg_frames(struct lg *g, int n)
{
    for (int i = 0; i < n; i++) {
        const char *cls = LG_PICK(g, lg_classes);
        const char *dollar = strchr(cls, '$');
        lg_begin(g);
        lg_s(&g->line, "\tat ");
        lg_s(&g->line, LG_PICK(g, lg_pkgs));
        lg_c(&g->line, '.');
        lg_s(&g->line, cls);
        lg_c(&g->line, '.');
        lg_s(&g->line, LG_PICK(g, lg_methods));
        lg_c(&g->line, '(');
        lg_mem(&g->line, cls, dollar ? (size_t)(dollar - cls) : strlen(cls));
        lg_s(&g->line, ".java:");
        lg_u(&g->line, 20 + lg_below(g, 900), 0);
        lg_c(&g->line, ')');
        if (lg_emit(g, &g->line, 1) < 0)
            return;
    }
}

/* Each trace line is its own output line, as Docker sees it. */
static void
lg_java_trace(struct lg *g)
{
    if (lg_emit_expand(g, LG_PICK(g, lg_exceptions), 1) < 0)
        return;
    lg_frames(g, 4 + (int)lg_below(g, 15));
    if (g->is_done || lg_below(g, 5) < 3)
        return;
    lg_begin(g);
    lg_s(&g->line, "Caused by: ");
    lg_expand(g, &g->line, LG_PICK(g, lg_exceptions));
    if (lg_emit(g, &g->line, 1) < 0)
        return;
    lg_frames(g, 2 + (int)lg_below(g, 5));
    if (!g->is_done)
        lg_emit_expand(g, "\t... %n more", 1);
}

static void
lg_python_trace(struct lg *g)
{
    if (lg_emit_expand(g, "Traceback (most recent call last):", 1) < 0)
        return;
    for (int i = 0, n = 2 + (int)lg_below(g, 5); i < n; i++) {
        if (lg_emit_expand(g, "  File \"/app/%w/%w.py\", line %n, in %w",
                           1) < 0)
            return;
        lg_begin(g);
        lg_s(&g->line, "    ");
        lg_s(&g->line, LG_PICK(g, lg_py_code));
        if (lg_emit(g, &g->line, 1) < 0)
            return;
    }
    lg_emit_expand(g, LG_PICK(g, lg_py_errors), 1);
}

static void
lg_app(struct lg *g)
{
    static const char *const info[] = {
        "Order %n created for customer %N total=%f EUR req=%u",
        "Completed %m %P in %d ms status=200",
        "User %s logged in from %i session=%X",
        "Cache refresh done: %n entries loaded in %d ms",
        "Scheduled task %w-%w finished in %D s",
        "Published event %w.updated id=%u partition=%n offset=%N",
        "Connection pool stats (total=%n, active=%n, idle=%n, waiting=%n)",
        "Received heartbeat from %h:%p",
        "Processing batch %N of size %n",
        "Starting %w service v%v on port %p with profile [prod]"};
    static const char *const warn[] = {
        "Slow query detected (%d ms): update %w set status=? where id=?",
        "Retrying call to %h:%p (attempt %a of 5) after %d ms",
        "Request %u rejected: rate limit exceeded for %i",
        "Heap usage at %k%% of max, consider tuning -Xmx"};
    static const char *const err[] = {
        "Failed to process order %n for customer %N",
        "Unhandled exception in handler for %m %P",
        "Task %j failed after %D s",
        "Could not connect to %h:%p: Connection refused"};
    struct lg_line *l = &g->line;
    uint64_t r = lg_below(g, 100);
    int level = r < 78 ? 0 : r < 83 ? 1 : r < 94 ? 2 : 3;
    static const char *const names[] = {"INFO ", "DEBUG", "WARN ", "ERROR"};

    lg_begin(g);
    lg_time(g, l, 'i');
    lg_c(l, ' ');
    lg_s(l, names[level]);
    lg_expand(g, l, " [%t] %c - ");
    if (level == 1)
        lg_expand(g, l, "SQL select id, status from %w where id = ? [%N] "
                        "took %d ms");
    else
        lg_expand(g, l, level == 0 ? LG_PICK(g, info) : level == 2 ?
                        LG_PICK(g, warn) : LG_PICK(g, err));
    if (lg_emit(g, l, level == 3) < 0 || level != 3 || lg_below(g, 3) == 0)
        return;
    if (lg_below(g, 10) < 7)
        lg_java_trace(g);
    else
        lg_python_trace(g);
}

static void
lg_sys(struct lg *g)
{
    static const struct {
        const char *proc, *msg;
    } m[] = {
        {"sshd", "!Failed password for invalid user %s from %i port %p ssh2"},
        {"sshd", "!Failed password for root from %i port %p ssh2"},
        {"sshd", "Accepted publickey for %s from %i port %p ssh2: "
                 "ED25519 SHA256:%X"},
        {"sshd", "Invalid user %s from %i port %p"},
        {"sshd", "Received disconnect from %i port %p:11: Bye Bye [preauth]"},
        {"sshd", "Disconnected from authenticating user root %i port %p "
                 "[preauth]"},
        {"sshd", "pam_unix(sshd:session): session opened for user %s(uid=%n) "
                 "by (uid=0)"},
        {"sshd", "pam_unix(sshd:auth): authentication failure; logname= uid=0 "
                 "euid=0 tty=ssh ruser= rhost=%i  user=root"},
        {"sshd", "!error: maximum authentication attempts exceeded for root "
                 "from %i port %p ssh2 [preauth]"},
        {"kernel", "[%K] eth0: Link is Up - 1Gbps/Full - flow control rx/tx"},
        {"kernel", "![%K] Out of memory: Killed process %n (%w) "
                   "total-vm:%NkB, anon-rss:%SkB, oom_score_adj:0"},
        {"kernel", "[%K] EXT4-fs (sda1): re-mounted. Quota mode: none."},
        {"kernel", "[%K] audit: type=1400 audit(%N.%n:%n): apparmor=\"DENIED\""
                   " operation=\"open\" profile=\"%w\" name=\"/proc/%n/status\""
                   " pid=%n comm=\"%w\""},
        {"kernel", "[%K] TCP: request_sock_TCP: Possible SYN flooding on port "
                   "%p. Sending cookies."},
        {"CRON", "(root) CMD (/usr/local/bin/%w-%w.sh > /dev/null 2>&1)"},
        {"systemd", "Started Session %n of User %s."},
        {"systemd", "!%w.service: Main process exited, code=exited, "
                    "status=1/FAILURE"},
        {"systemd", "Starting Daily apt upgrade and clean activities..."},
        {"su", "pam_unix(su:session): session opened for user root by "
               "%s(uid=%n)"},
        {"dhclient", "DHCPREQUEST for %i on eth0 to %i port 67"},
        {"ntpd", "synchronized to %i, stratum %a"},
        {"postfix/smtpd", "connect from unknown[%i]"},
        {"postfix/smtpd", "!lost connection after AUTH from unknown[%i]"},
    };
    static const char *const hosts[] = {"web-01", "web-02", "db-01",
                                        "ci-runner", "edge-3"};
    struct lg_line *l = &g->line;
    size_t i = (size_t)lg_below(g, sizeof(m) / sizeof(m[0]));
    int is_err;
    const char *msg = lg_errmark(m[i].msg, &is_err);

    lg_begin(g);
    lg_time(g, l, 's');
    lg_c(l, ' ');
    lg_s(l, LG_PICK(g, hosts));
    lg_c(l, ' ');
    lg_s(l, m[i].proc);
    if (strcmp(m[i].proc, "kernel") != 0) {
        lg_c(l, '[');
        lg_u(l, 300 + lg_below(g, 32000), 0);
        lg_c(l, ']');
    }
    lg_s(l, ": ");
    lg_expand(g, l, msg);
    lg_emit(g, l, is_err);
}

static void
lg_worker(struct lg *g)
{
    static const char *const m[] = {
        "job=%j queue=%q attempt=1 state=started payload_bytes=%S",
        "job=%j queue=%q state=done duration_ms=%d items=%n",
        "job=%j queue=%q state=done duration_ms=%d items=%n",
        "!job=%j queue=%q attempt=%a state=failed error=\"timeout after "
        "30s\" retry_in=%ds",
        "progress job=%j processed=%N rows (%k%%) rate=%n/s",
        "Finished task %n.0 in stage %a.0 (TID %N) in %d ms on %h "
        "(executor %a) (%n/1000)",
        "Receiving block %b src: /%i:%p dest: /%i:50010",
        "BLOCK* addStoredBlock: %i:50010 is added to %b size %S",
        "Fetched %n rows from %w in %d ms, spilling %S bytes to "
        "/tmp/spill-%x",
        "Heartbeat sent to scheduler %h:%p, %n tasks running"};
    struct lg_line *l = &g->line;
    int is_err;
    const char *msg = lg_errmark(LG_PICK(g, m), &is_err);

    lg_begin(g);
    lg_time(g, l, 'z');
    lg_s(l, " worker-");
    lg_u(l, lg_below(g, 8), 0);
    lg_c(l, ' ');
    lg_expand(g, l, msg);
    lg_emit(g, l, is_err);
}

static size_t
lg_digits(uint64_t v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* A result dump of exactly --long-size bytes (marker included), longer
 * than Docker's 16 KiB split when the size asks for it. */
static void
lg_long_line(struct lg *g)
{
    struct lg_line l = {lg_long_buf, 0};
    size_t target = g->o.long_size;

    if (g->o.marker != NULL) {
        size_t m = 2 + strlen(g->o.marker) + lg_digits(g->seq + 1);
        target = target > m ? target - m : 0;
    }
    lg_time(g, &l, 'z');
    lg_expand(g, &l, " worker-%n job=%j result={\"batch\":%n,\"rows\":[");
    while (l.len < target)
        lg_expand(g, &l, "{\"id\":%N,\"sku\":\"%x\",\"qty\":%n,\"price\":%f,"
                         "\"tags\":[\"%w\",\"%w\"],\"note\":\"a<b & c>d\"},");
    l.len = target;
    g->in_long = 1;
    lg_emit(g, &l, 0);
    g->in_long = 0;
}

static void
lg_event(struct lg *g)
{
    enum lg_kind k = g->o.kind;

    if (k == LG_MIXED) {
        uint64_t r = lg_below(g, 100);
        k = r < 35 ? LG_WEB : r < 65 ? LG_APP : r < 80 ? LG_SYS : LG_WORKER;
    }
    g->t_ns = lg_line_time(g, g->seq + 1);
    switch (k) {
    case LG_WEB: lg_web(g); break;
    case LG_APP: lg_app(g); break;
    case LG_SYS: lg_sys(g); break;
    default: lg_worker(g); break;
    }
}

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
