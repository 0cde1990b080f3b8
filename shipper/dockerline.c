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
 * pure function over bytes, output through common/buf.
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

static int
dl_num(const uint8_t *p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
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

/* "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)" into unix ns. */
static int
dl_time_parse(const uint8_t *p, size_t len, int64_t *out)
{
    int y, mo, d, h, mi, sec;
    int64_t frac = 0, off, ns;
    size_t i = 19;

    if (len < 20 || dl_num(p, 4, &y) < 0 || p[4] != '-' ||
        dl_num(p + 5, 2, &mo) < 0 || p[7] != '-' || dl_num(p + 8, 2, &d) < 0 ||
        (p[10] != 'T' && p[10] != 't') || dl_num(p + 11, 2, &h) < 0 ||
        p[13] != ':' || dl_num(p + 14, 2, &mi) < 0 || p[16] != ':' ||
        dl_num(p + 17, 2, &sec) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > dl_mdays(y, mo) || h > 23 ||
        mi > 59 || sec > 59)
        return -1;
    if (p[i] == '.') {
        int n = 0;
        for (i++; i < len && p[i] >= '0' && p[i] <= '9'; i++, n++) {
            if (n == 9)
                return -1;
            frac = frac * 10 + (p[i] - '0');
        }
        if (n == 0)
            return -1;
        for (; n < 9; n++)
            frac *= 10;
    }
    if (dl_tz(p + i, len - i, &off) < 0)
        return -1;
    int64_t secs = dl_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
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

int
dockerline_parse(const char *line, size_t len, struct buf *msg,
                 struct dockerline *out)
{
    struct dl_scan s = {(const uint8_t *)line, (const uint8_t *)line + len};
    struct dl_out o = {.b = msg};
    struct dl_fields f = {0};
    int is_partial, k;

    if (dl_object(&s, &o, &f) == 0) {
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
