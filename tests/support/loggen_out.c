/* SPDX-License-Identifier: MIT */
/*
 * loggen_out: logq-loggen's lines written out: plain, or as Docker's
 * json-file records (its escaping, its 16 KiB split, its times), through
 * a 1 MiB buffer per stream; --marker, --long-every, --count, --bytes,
 * --exit-after, and the pace of --rate (with --flush-ms, in batches).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/loggen_internal.h"

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

void
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

int64_t
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

/*
 * Writes one line (l's text, plus the marker) to its stream, and applies
 * --long-every, --count, --bytes, --exit-after and --rate. Returns -1 once
 * the generator should stop.
 */
int
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
