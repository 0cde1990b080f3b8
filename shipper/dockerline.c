/* SPDX-License-Identifier: MIT */
/*
 * dockerline: a single-pass scanner for one line of Docker's json-file log
 * driver (see dockerline.h). It decodes the "log" string straight into the
 * caller's buf, checks "stream" and "time", and skips "attrs" and any other
 * key (nested values included, depth-limited). Strings are scanned 16
 * bytes at a time (SSE2; else eight, SWAR) for '"', '\\', control and
 * non-ASCII bytes, and clean runs are bulk-copied; that, plus a
 * fixed-layout RFC 3339 parser, is what keeps it well above the 300 MB/s
 * target (jansson needs an allocation per value and runs several times
 * slower; dockerline_diff_test prints the figure; the SSE2 step gave 1.2-1.3x,
 * BENCHMARKS.md "json-file scanner").
 *
 * The line as Docker writes it, {"log":"...","stream":"stdout","time":"..."}
 * with nothing else, takes a fast path first (dl_fast): the text is stored
 * 16 bytes a step straight into msg, escapes decoded inline, the stream and
 * the keys compared as fixed bytes, the time parsed where it lies; any
 * other shape, and anything the general scanner must judge (invalid UTF-8,
 * a control byte, a cap that could be reached), goes to the general
 * scanner from the line's start. With the time's minute kept (below),
 * 0.31-0.33x the instructions per line on the generator and the real
 * samples (callgrind); dockerline_parse_ref is the general scanner alone,
 * which the tests and the fuzz target compare it with byte for byte
 * (BENCHMARKS.md "The shipper's CPU").
 *
 * Decisions a caller may notice:
 * - one final "\n" of the text is removed, and a "\r" right before it too
 *   (CRLF-writing apps); a lone trailing "\r" stays (tail_read.c removes it
 *   when the next 16 KiB piece is "\n" alone: out->eol_len tells);
 * - invalid UTF-8 and lone \u surrogates become U+FFFD (one per maximal
 *   invalid subpart, as Unicode recommends) and set LOGREC_F_INVALID_UTF8;
 * - a repeated "log", "stream" or "time" key, a seconds field of 60, or a
 *   time outside the int64 nanosecond range makes the line RAW;
 * - invalid UTF-8 inside keys and skipped values is tolerated.
 * UTF-8 and JSON escapes are decoded by common/utf8.c. Talks to nobody:
 * pure function over bytes, output through common/buf (the last minute of
 * a time parsed is kept per thread, which changes no result).
 */
#include "shipper/dockerline.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/record.h"
#include "common/utf8.h"

#define DL_MAX_DEPTH 64

struct dl_scan {
    const uint8_t *p;
    const uint8_t *end;
};

/*
 * Output sink for a decoded string: the caller's buf (appending after its
 * current len, which is only advanced on success), a small fixed array, or
 * nothing. Bytes that do not fit are counted in n_lost; the last two are
 * kept so a final "\r\n" that is stripped anyway does not fail the line.
 */
struct dl_out {
    struct buf *b;
    uint8_t    *fixed;
    size_t      fixed_cap;
    size_t      len;
    size_t      n_lost;
    uint8_t     lost[2];
    uint8_t     flags;
};

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void
dl_out_lose(struct dl_out *o, const uint8_t *p, size_t n)
{
    if (n >= 2) {
        o->lost[0] = p[n - 2];
        o->lost[1] = p[n - 1];
    } else if (n == 1) {
        o->lost[0] = o->lost[1];
        o->lost[1] = p[0];
    }
    o->n_lost += n;
}

static void
dl_out_put_slow(struct dl_out *o, const uint8_t *p, size_t n)
{
    if (o->n_lost == 0) {
        if (o->b != NULL && buf_reserve(o->b, o->len + n) == 0) {
            memcpy(o->b->data + o->b->len + o->len, p, n);
            o->len += n;
            return;
        }
        if (o->b == NULL && o->len + n <= o->fixed_cap) {
            memcpy(o->fixed + o->len, p, n);
            o->len += n;
            return;
        }
    }
    dl_out_lose(o, p, n);
}

static inline void
dl_out_put(struct dl_out *o, const uint8_t *p, size_t n)
{
    if (o->b != NULL && o->n_lost == 0 && o->len + n <= o->b->cap - o->b->len) {
        memcpy(o->b->data + o->b->len + o->len, p, n);
        o->len += n;
        return;
    }
    dl_out_put_slow(o, p, n);
}

static void
dl_out_cp(struct dl_out *o, uint32_t cp)
{
    uint8_t t[UTF8_MAX_LEN];

    dl_out_put(o, t, utf8_encode(cp, t));
}

static void
dl_out_bad(struct dl_out *o)
{
    dl_out_cp(o, UTF8_REPLACEMENT);
    o->flags |= LOGREC_F_INVALID_UTF8;
}

/* ------------------------------------------------------------------ */
/* Strings                                                             */
/* ------------------------------------------------------------------ */

/* First byte in [p, end) that is '"', '\\', below 0x20 or above 0x7f. */
static inline const uint8_t *
dl_find_special(const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
    /* 16 bytes a step: as signed bytes, both controls (0x00-0x1f) and
     * non-ASCII (0x80-0xff) are below 0x20, so one compare finds both */
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i low = _mm_set1_epi8(0x20);

    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                              _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, low));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits != 0)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t highs = 0x8080808080808080ULL;

    /*
     * Per-byte "is zero"/"is below" tests by borrow; a false positive can
     * only appear above a true one, so the lowest flagged byte is exact.
     */
    while (end - p >= 8) {
        uint64_t w, q, s, m;
        memcpy(&w, p, 8);
        q = w ^ (ones * '"');
        s = w ^ (ones * '\\');
        m = ((q - ones) & ~q) | ((s - ones) & ~s) |
            ((w - ones * 0x20) & ~w) | w;
        m &= highs;
        if (m != 0)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80)
        p++;
    return p;
}

/* Decodes the escape at p (just past the '\\'); NULL if malformed. A lone
 * \u surrogate becomes U+FFFD. */
static const uint8_t *
dl_escape(const uint8_t *p, const uint8_t *end, struct dl_out *o)
{
    uint32_t cp;
    unsigned flags;
    size_t n = utf8_json_escape(p, (size_t)(end - p), &cp, &flags);

    if (n == 0)
        return NULL;
    if (o != NULL) {
        uint8_t c = (uint8_t)cp;
        if (flags & UTF8_ESC_LONE)
            dl_out_bad(o);
        else if (cp < 0x80)
            dl_out_put(o, &c, 1);       /* \n \" \\: no encoder call */
        else
            dl_out_cp(o, cp);
    }
    return p + n;
}

/*
 * Decodes the string whose opening quote is at s->p into o (NULL: just
 * skip it). Leaves s->p past the closing quote; -1 if malformed.
 */
static int
dl_string(struct dl_scan *s, struct dl_out *o)
{
    const uint8_t *p = s->p + 1, *end = s->end;

    for (;;) {
        const uint8_t *q = dl_find_special(p, end);
        if (o != NULL && q > p)
            dl_out_put(o, p, (size_t)(q - p));
        if (q >= end || *q < 0x20)
            return -1;
        if (*q == '"') {
            s->p = q + 1;
            return 0;
        }
        if (*q == '\\') {
            if ((p = dl_escape(q + 1, end, o)) == NULL)
                return -1;
            continue;
        }
        uint32_t cp;
        size_t bad, n = utf8_decode(q, (size_t)(end - q), &cp, &bad);
        if (n == 0) {
            if (o != NULL)
                dl_out_bad(o);
            p = q + bad;
        } else {
            if (o != NULL)
                dl_out_put(o, q, n);
            p = q + n;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Other values, skipped                                               */
/* ------------------------------------------------------------------ */

static inline void
dl_ws(struct dl_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
                             *s->p == '\r'))
        s->p++;
}

static int
dl_digits(struct dl_scan *s)
{
    const uint8_t *start = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start ? 0 : -1;
}

static int
dl_number(struct dl_scan *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (dl_digits(s) < 0)
        return -1;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (dl_digits(s) < 0)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (dl_digits(s) < 0)
            return -1;
    }
    return 0;
}

static int
dl_literal(struct dl_scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static int dl_skip_value(struct dl_scan *s, int depth);

/* Skips an object or array whose opener is at s->p. */
static int
dl_skip_container(struct dl_scan *s, int depth)
{
    uint8_t close = *s->p == '{' ? '}' : ']';
    int is_object = close == '}';

    if (depth > DL_MAX_DEPTH)
        return -1;
    s->p++;
    dl_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    for (;;) {
        if (is_object) {
            if (s->p >= s->end || *s->p != '"' || dl_string(s, NULL) < 0)
                return -1;
            dl_ws(s);
            if (s->p >= s->end || *s->p++ != ':')
                return -1;
            dl_ws(s);
        }
        if (dl_skip_value(s, depth + 1) < 0)
            return -1;
        dl_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == close) {
            s->p++;
            return 0;
        }
        if (*s->p++ != ',')
            return -1;
        dl_ws(s);
    }
}

static int
dl_skip_value(struct dl_scan *s, int depth)
{
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '"': return dl_string(s, NULL);
    case '{': case '[': return dl_skip_container(s, depth);
    case 't': return dl_literal(s, "true", 4);
    case 'f': return dl_literal(s, "false", 5);
    case 'n': return dl_literal(s, "null", 4);
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return dl_number(s);
        return -1;
    }
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* n (2 or 4) decimal digits at p into *out; -1 if one is not a digit.
 * Each digit's value as unsigned (a byte below '0' wraps above 9), tested
 * without a loop: this runs six times a line. */
static inline int
dl_num(const uint8_t *p, int n, int *out)
{
    unsigned a = p[0] - (unsigned)'0', b = p[1] - (unsigned)'0';

    if (n == 2) {
        if ((a > 9) | (b > 9))
            return -1;
        *out = (int)(a * 10 + b);
        return 0;
    }
    unsigned c = p[2] - (unsigned)'0', d = p[3] - (unsigned)'0';
    if ((a > 9) | (b > 9) | (c > 9) | (d > 9))
        return -1;
    *out = (int)(a * 1000 + b * 100 + c * 10 + d);
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
dl_days(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

static int
dl_mdays(int y, int m)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int is_leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && is_leap ? 29 : n[m - 1];
}

/* Offset suffix "Z", "+hh:mm" or "-hh:mm" at p, exactly n bytes, into
 * seconds east of UTC. */
static int
dl_tz(const uint8_t *p, size_t n, int64_t *off)
{
    int hh, mm;

    if (n == 1 && (p[0] == 'Z' || p[0] == 'z')) {
        *off = 0;
        return 0;
    }
    if (n != 6 || (p[0] != '+' && p[0] != '-') || p[3] != ':' ||
        dl_num(p + 1, 2, &hh) < 0 || dl_num(p + 4, 2, &mm) < 0 || hh > 23 ||
        mm > 59)
        return -1;
    *off = (int64_t)(hh * 3600 + mm * 60) * (p[0] == '-' ? -1 : 1);
    return 0;
}

/*
 * The last minute this thread parsed, "YYYY-MM-DDTHH:MM:" (checked), and
 * its seconds since the epoch: a container's lines share it for a minute,
 * so the calendar is worked out once a minute, not per line. A result
 * does not depend on it (the same fields from the same bytes).
 */
#define DL_MINUTE_LEN 17
static _Thread_local struct {
    uint8_t key[DL_MINUTE_LEN];
    int     is_set;
    int64_t secs;
} dl_minute;

/* "YYYY-MM-DDTHH:MM:" at p (len >= 20) into seconds since the epoch. */
static int
dl_minute_parse(const uint8_t *p, int64_t *secs)
{
    int y, mo, d, h, mi;

    if (dl_minute.is_set && memcmp(p, dl_minute.key, DL_MINUTE_LEN) == 0) {
        *secs = dl_minute.secs;
        return 0;
    }
    if (dl_num(p, 4, &y) < 0 || p[4] != '-' ||
        dl_num(p + 5, 2, &mo) < 0 || p[7] != '-' || dl_num(p + 8, 2, &d) < 0 ||
        (p[10] != 'T' && p[10] != 't') || dl_num(p + 11, 2, &h) < 0 ||
        p[13] != ':' || dl_num(p + 14, 2, &mi) < 0 || p[16] != ':')
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > dl_mdays(y, mo) || h > 23 ||
        mi > 59)
        return -1;
    *secs = dl_days(y, mo, d) * 86400 + h * 3600 + mi * 60;
    memcpy(dl_minute.key, p, DL_MINUTE_LEN);
    dl_minute.secs = *secs;
    dl_minute.is_set = 1;
    return 0;
}

/* Eight decimal digits at p as a number (the first the most significant),
 * three multiplications in place of eight steps; UINT64_MAX if a byte is
 * not a digit. */
static inline uint64_t
dl_eight_digits(const uint8_t *p)
{
    uint64_t x = le64_load(p);      /* the first digit the low byte */

    /* every byte 0x30-0x39: high nibble 3, and still 3 after adding 6 */
    if ((x & 0xf0f0f0f0f0f0f0f0ULL) != 0x3030303030303030ULL ||
        ((x + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) !=
            0x3030303030303030ULL)
        return UINT64_MAX;
    x -= 0x3030303030303030ULL;
    x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffULL;
    x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffULL;
    return (x * 10000 + (x >> 32)) & 0xffffffffULL;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)" into unix ns. */
static int
dl_time_parse(const uint8_t *p, size_t len, int64_t *out)
{
    static const int64_t scale[10] = {
        1000000000, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100,
        10, 1 };
    int sec;
    int64_t minute, frac = 0, off, ns;
    size_t i = 19;

    if (len < 20 || dl_minute_parse(p, &minute) < 0 ||
        dl_num(p + 17, 2, &sec) < 0 || sec > 59)
        return -1;
    if (p[i] == '.') {
        /* the digits run to the offset, "Z" or "+hh:mm" at the end (a
         * non-digit before it fails either way: the offset would then
         * not be the whole rest) */
        size_t e = p[len - 1] == 'Z' || p[len - 1] == 'z' ? len - 1 :
                   len >= 27 && (p[len - 6] == '+' || p[len - 6] == '-') ?
                   len - 6 : len;
        size_t n = e - (i + 1);
        unsigned bad = 0;
        if (n == 0 || n > 9)
            return -1;
        for (i++; e - i > 8 || (e - i > 0 && e - i < 8); i++) {
            unsigned v = p[i] - (unsigned)'0';
            bad |= v > 9;
            frac = frac * 10 + v;
        }
        if (e - i == 8) {
            /* the last eight (Docker's nanoseconds: 8 or 9 digits) */
            uint64_t v = dl_eight_digits(p + i);
            bad |= v == UINT64_MAX;
            frac = frac * 100000000 + (int64_t)v;
            i += 8;
        }
        if (bad)
            return -1;
        frac *= scale[n];
    }
    if (dl_tz(p + i, len - i, &off) < 0)
        return -1;
    int64_t secs = minute + sec - off;
    if (secs < 0 && frac > 0) {
        /* so that the earliest representable instant does not overflow */
        secs++;
        frac -= 1000000000;
    }
    if (__builtin_mul_overflow(secs, (int64_t)1000000000, &ns) ||
        __builtin_add_overflow(ns, frac, &ns))
        return -1;
    *out = ns;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The line                                                            */
/* ------------------------------------------------------------------ */

enum dl_key { DL_KEY_OTHER, DL_KEY_LOG, DL_KEY_STREAM, DL_KEY_TIME };

struct dl_fields {
    int     has_log, has_stream, has_time;
    uint8_t stream;
    int64_t time_ns;
};

/* Reads the key at s->p (a '"') and classifies it. */
static int
dl_key(struct dl_scan *s, enum dl_key *key)
{
    uint8_t tmp[8];
    struct dl_out o = {.fixed = tmp, .fixed_cap = sizeof(tmp)};

    if (s->p >= s->end || *s->p != '"' || dl_string(s, &o) < 0)
        return -1;
    *key = DL_KEY_OTHER;
    if (o.n_lost != 0)
        return 0;
    if (o.len == 3 && memcmp(tmp, "log", 3) == 0)
        *key = DL_KEY_LOG;
    else if (o.len == 6 && memcmp(tmp, "stream", 6) == 0)
        *key = DL_KEY_STREAM;
    else if (o.len == 4 && memcmp(tmp, "time", 4) == 0)
        *key = DL_KEY_TIME;
    return 0;
}

/* Decodes a short string value into tmp; -1 if not a string or too long. */
static int
dl_short_string(struct dl_scan *s, uint8_t *tmp, size_t cap, size_t *len)
{
    struct dl_out o = {.fixed = tmp, .fixed_cap = cap};

    if (s->p >= s->end || *s->p != '"' || dl_string(s, &o) < 0 ||
        o.n_lost != 0 || o.flags != 0)
        return -1;
    *len = o.len;
    return 0;
}

static int
dl_field(struct dl_scan *s, enum dl_key key, struct dl_out *msg,
         struct dl_fields *f)
{
    uint8_t tmp[48];
    size_t n;

    switch (key) {
    case DL_KEY_LOG:
        if (f->has_log++ || s->p >= s->end || *s->p != '"')
            return -1;
        return dl_string(s, msg);
    case DL_KEY_STREAM:
        if (f->has_stream++ || dl_short_string(s, tmp, 8, &n) < 0)
            return -1;
        if (n == 6 && memcmp(tmp, "stdout", 6) == 0)
            f->stream = LOGREC_STDOUT;
        else if (n == 6 && memcmp(tmp, "stderr", 6) == 0)
            f->stream = LOGREC_STDERR;
        else
            return -1;
        return 0;
    case DL_KEY_TIME:
        if (f->has_time++ || dl_short_string(s, tmp, sizeof(tmp), &n) < 0)
            return -1;
        return dl_time_parse(tmp, n, &f->time_ns);
    default:
        return dl_skip_value(s, 1);
    }
}

static int
dl_object(struct dl_scan *s, struct dl_out *msg, struct dl_fields *f)
{
    dl_ws(s);
    if (s->p >= s->end || *s->p++ != '{')
        return -1;
    dl_ws(s);
    for (;;) {
        enum dl_key key;
        if (dl_key(s, &key) < 0)
            return -1;
        dl_ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return -1;
        dl_ws(s);
        if (dl_field(s, key, msg, f) < 0)
            return -1;
        dl_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == '}')
            break;
        if (*s->p++ != ',')
            return -1;
        dl_ws(s);
    }
    s->p++;
    dl_ws(s);
    if (s->p != s->end)
        return -1;
    return f->has_log && f->has_stream && f->has_time ? 0 : -1;
}

/*
 * Number of final bytes to strip ("\n" or "\r\n"), judged on the whole
 * decoded text = written bytes followed by lost ones. -1 if lost bytes
 * remain after stripping (the cap was really reached).
 */
static int
dl_strip(const struct dl_out *o, int *is_partial)
{
    size_t total = o->len + o->n_lost;
    uint8_t tail[2] = {0, 0}, last, prev;
    size_t k = 0;

    /* tail = the last two written bytes, then shifted in the lost ones */
    if (o->len >= 1)
        tail[1] = o->b->data[o->b->len + o->len - 1];
    if (o->len >= 2)
        tail[0] = o->b->data[o->b->len + o->len - 2];
    last = o->n_lost >= 1 ? o->lost[1] : tail[1];
    prev = o->n_lost >= 2 ? o->lost[0] : o->n_lost == 1 ? tail[1] : tail[0];
    if (total >= 1 && last == '\n')
        k = total >= 2 && prev == '\r' ? 2 : 1;
    if (o->n_lost > k)
        return -1;
    *is_partial = k == 0;
    return (int)k;
}

/* ------------------------------------------------------------------ */
/* The fast path: the line as Docker writes it                         */
/* ------------------------------------------------------------------ */

#define DL_FAST_HEAD "{\"log\":\""
#define DL_FAST_MID  "\",\"stream\":\"std"
#define DL_FAST_TIME "\",\"time\":\""
#define DL_FAST_TIME_MAX 48     /* as dl_field's: longer is not a time */

/*
 * The text of the "log" string at p (just past its opening quote) decoded
 * into d, which has room for every byte left in [p, end) and 16 more: a
 * clean run is stored 16 bytes a step whatever follows it in the step (the
 * next store or the end overwrites the rest), escapes are decoded here,
 * UTF-8 is checked and copied. Decoded text is never longer than its
 * input here (an escape is shorter than what it stands for, a lone
 * surrogate's U+FFFD shorter than its six bytes), so d never passes its
 * room. Returns the closing quote and sets *d_end, or NULL for anything
 * the general scanner must judge (a control byte, a bad escape, invalid
 * UTF-8, whose U+FFFD may be longer than its byte, no closing quote).
 */
/* The byte a one-letter escape stands for, by its letter; 0: another
 * (\b, \f and \u go through utf8_json_escape). */
static const uint8_t dl_esc1[256] = {
    ['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['n'] = '\n', ['t'] = '\t',
    ['r'] = '\r',
};

static const uint8_t *
dl_fast_text(const uint8_t *p, const uint8_t *end, uint8_t *d,
             uint8_t **d_end, uint8_t *flags)
{
    for (;;) {
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i bslash = _mm_set1_epi8('\\');
        const __m128i low = _mm_set1_epi8(0x20);
        unsigned bits = 0;

        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            _mm_storeu_si128((__m128i *)(void *)d, v);
            __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                                  _mm_cmpeq_epi8(v, bslash)),
                                     _mm_cmplt_epi8(v, low));
            bits = (unsigned)_mm_movemask_epi8(m);
            if (bits != 0)
                break;
            p += 16;
            d += 16;
        }
        if (bits != 0) {
            unsigned k = (unsigned)__builtin_ctz(bits);
            p += k;
            d += k;
        } else
#endif
        {
            while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 &&
                   *p < 0x80)
                *d++ = *p++;
            if (p >= end)
                return NULL;
        }
        uint8_t c = *p;
        if (c == '"') {
            *d_end = d;
            return p;
        }
        if (c == '\\') {
            uint32_t cp;
            unsigned ef;
            uint8_t e = p + 1 < end ? dl_esc1[p[1]] : 0;
            if (e != 0) {
                *d++ = e;               /* \" \\ \/ \n \t \r: no call */
                p += 2;
                continue;
            }
            size_t n = utf8_json_escape(p + 1, (size_t)(end - p - 1), &cp,
                                        &ef);
            if (n == 0)
                return NULL;
            if (ef & UTF8_ESC_LONE) {
                d += utf8_encode(UTF8_REPLACEMENT, d);
                *flags |= LOGREC_F_INVALID_UTF8;
            } else if (cp < 0x80) {
                *d++ = (uint8_t)cp;     /* \n \" \\ \t \u0026: one byte */
            } else {
                d += utf8_encode(cp, d);
            }
            p += 1 + n;
            continue;
        }
        if (c < 0x20)
            return NULL;
        uint32_t cp;
        size_t bad, n = utf8_decode(p, (size_t)(end - p), &cp, &bad);
        if (n == 0)
            return NULL;
        memcpy(d, p, n);
        d += n;
        p += n;
    }
}

/*
 * The common line, {"log":"TEXT","stream":"stdout","time":"TIME"} exactly
 * (Docker's encoder: these keys in this order, no space, no attrs),
 * decoded into o (o->b with room for the whole line and 16 bytes more) and
 * f as dl_object would: 0. Any other shape, or anything the general
 * scanner must judge: -1, and dl_object reads the line from its start
 * (the bytes written past msg->len here are not kept).
 */
static int
dl_fast(const uint8_t *p, const uint8_t *end, struct dl_out *o,
        struct dl_fields *f)
{
    const size_t head = sizeof(DL_FAST_HEAD) - 1;
    const size_t mid = sizeof(DL_FAST_MID) - 1;
    const size_t tkey = sizeof(DL_FAST_TIME) - 1;
    size_t len = (size_t)(end - p);
    uint8_t *d0, *d;

    if (len < head || memcmp(p, DL_FAST_HEAD, head) != 0 ||
        buf_reserve(o->b, len + 16) < 0)
        return -1;
    d0 = o->b->data + o->b->len;
    const uint8_t *q = dl_fast_text(p + head, end, d0, &d, &o->flags);
    /* q: the closing quote; then the stream, the time key, the time */
    if (q == NULL || (size_t)(end - q) < mid + 3 + tkey ||
        memcmp(q, DL_FAST_MID, mid) != 0)
        return -1;
    q += mid;
    if (memcmp(q, "out", 3) == 0)
        f->stream = LOGREC_STDOUT;
    else if (memcmp(q, "err", 3) == 0)
        f->stream = LOGREC_STDERR;
    else
        return -1;
    q += 3;
    if (memcmp(q, DL_FAST_TIME, tkey) != 0)
        return -1;
    /* the time runs to the line's final "}: a time dl_time_parse takes
     * has digits, '-', ':', '.', '+', 'T' and 'Z' only, so no quote,
     * escape or other byte the general scanner would stop at inside */
    const uint8_t *t = q + tkey, *te = end - 2;
    if (te < t || te[0] != '"' || te[1] != '}' ||
        te - t > DL_FAST_TIME_MAX ||
        dl_time_parse(t, (size_t)(te - t), &f->time_ns) < 0)
        return -1;
    o->len = (size_t)(d - d0);
    f->has_log = f->has_stream = f->has_time = 1;
    return 0;
}

/* The line by the general scanner alone (is_ref) or the fast path first. */
static int
dl_parse(const char *line, size_t len, struct buf *msg,
         struct dockerline *out, int is_ref)
{
    const uint8_t *lp = (const uint8_t *)line;
    struct dl_scan s = {lp, lp + len};
    struct dl_out o = {.b = msg};
    struct dl_fields f = {0};
    int is_partial, k, rc = -1;

    if (!is_ref)
        rc = dl_fast(lp, lp + len, &o, &f);
    if (rc < 0) {
        o = (struct dl_out){.b = msg};
        f = (struct dl_fields){0};
        rc = dl_object(&s, &o, &f);
    }
    if (rc == 0) {
        if ((k = dl_strip(&o, &is_partial)) < 0)
            return -1;
        msg->len += o.len + o.n_lost - (size_t)k;
        out->stream = f.stream;
        out->flags = o.flags;
        out->is_partial = is_partial;
        out->eol_len = (uint8_t)k;
        out->time_ns = f.time_ns;
        return 0;
    }
    if (buf_append(msg, line, len) < 0)
        return -1;
    out->stream = LOGREC_STDOUT;
    out->flags = LOGREC_F_RAW;
    out->is_partial = 0;
    out->eol_len = 0;
    out->time_ns = 0;
    return 0;
}

int
dockerline_parse(const char *line, size_t len, struct buf *msg,
                 struct dockerline *out)
{
    return dl_parse(line, len, msg, out, 0);
}

int
dockerline_parse_ref(const char *line, size_t len, struct buf *msg,
                     struct dockerline *out)
{
    return dl_parse(line, len, msg, out, 1);
}
