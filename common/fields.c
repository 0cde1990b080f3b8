/* SPDX-License-Identifier: MIT */
/*
 * fields: JSON and logfmt field extraction (rules in fields.h). Two passes
 * over the message: the first only checks that the whole message is valid
 * (so fn never sees a field of a message that turns out to be plain
 * text), the second calls fn. Recursive descent for JSON, its depth
 * bounded by FIELDS_MAX_DEPTH; the flattened name and a decoded value are
 * built in fixed buffers of the walk, so nothing is allocated. Values
 * without escapes point into the message.
 */
#include "common/fields.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

struct fx {
    const unsigned char *p, *end;
    int         is_emit;        /* 0: the checking pass */
    int         is_stopped;     /* fn returned non-zero, or cap reached */
    fields_fn   fn;
    void       *arg;
    size_t      n_fields;
    size_t      name_len;       /* > FIELDS_MAX_NAME: too long, skipped */
    char        name[FIELDS_MAX_NAME];
    char        value[FIELDS_MAX_VALUE];
};

/* ---- helpers ---- */

static int
fx_is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
fx_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends byte c to out[0..cap) at *n; past cap sets *is_cut. */
static void
fx_put(char *out, size_t cap, size_t *n, int *is_cut, unsigned char c)
{
    if (*n < cap)
        out[(*n)++] = (char)c;
    else
        *is_cut = 1;
}

/* One escape at s[0..n) (s after the backslash) into out: bytes read, or
 * 0 for an escape the syntax does not have. JSON's are common/utf8.h's;
 * logfmt (Go's strconv quoting) adds \a, \v and \xHH. */
static size_t
fx_escape(const unsigned char *s, size_t n, int is_logfmt, char *out,
          size_t cap, size_t *o, int *is_cut)
{
    uint8_t u[UTF8_MAX_LEN];
    uint32_t cp;
    unsigned flags;

    if (is_logfmt && n > 0 && (s[0] == 'a' || s[0] == 'v')) {
        fx_put(out, cap, o, is_cut, s[0] == 'a' ? '\a' : '\v');
        return 1;
    }
    if (is_logfmt && n > 0 && s[0] == 'x') {
        if (n < 3 || fx_hex(s[1]) < 0 || fx_hex(s[2]) < 0)
            return 0;
        fx_put(out, cap, o, is_cut,
               (unsigned char)(fx_hex(s[1]) * 16 + fx_hex(s[2])));
        return 3;
    }
    size_t used = utf8_json_escape(s, n, &cp, &flags);
    if (used == 0)
        return 0;
    size_t k = utf8_encode(cp, u);
    for (size_t i = 0; i < k; i++)
        fx_put(out, cap, o, is_cut, u[i]);
    return used;
}

/* The quoted string at x->p (at its '"'): leaves x->p past the closing
 * quote. Without a backslash *val points into the message; else it is
 * decoded into out[0..cap) (cut: *is_cut). -1 if invalid (JSON: a raw
 * control byte; an unknown escape; no closing quote). */
static int
fx_string(struct fx *x, int is_logfmt, char *out, size_t cap,
          const char **val, size_t *val_len, int *is_cut)
{
    const unsigned char *s = ++x->p, *end = x->end;
    size_t o = 0;
    int has_escape = 0;

    *is_cut = 0;
    /* Most strings have no escape: find their end without copying. */
    while (s < end && *s != '"' && *s != '\\' && (*s >= 0x20 || is_logfmt))
        s++;
    if (s < end && *s == '\\') {
        o = (size_t)(s - x->p) < cap ? (size_t)(s - x->p) : cap;
        memcpy(out, x->p, o);
        *is_cut = (size_t)(s - x->p) > cap;
    }
    while (s < end && *s != '"') {
        if (*s == '\\') {
            size_t used = fx_escape(s + 1, (size_t)(end - s - 1), is_logfmt,
                                    out, cap, &o, is_cut);
            if (used == 0)
                return -1;
            has_escape = 1;
            s += 1 + used;
            continue;
        }
        if (*s < 0x20 && !is_logfmt)
            return -1;
        fx_put(out, cap, &o, is_cut, *s);
        s++;
    }
    if (s == end)
        return -1;
    if (has_escape) {
        *val = out;
        *val_len = o;
    } else {
        *is_cut = 0;
        *val = (const char *)x->p;
        *val_len = (size_t)(s - x->p);
    }
    x->p = s + 1;
    return 0;
}

/* The value just parsed, which began at at in the message (a string's
 * opening quote) and ends at x->p; raw is its text there, quotes off. */
static void
fx_emit(struct fx *x, const char *val, size_t len, enum fields_type type,
        int is_cut, const unsigned char *at)
{
    if (!x->is_emit || x->is_stopped || x->name_len > FIELDS_MAX_NAME)
        return;
    const unsigned char *raw_end = x->p;
    if (raw_end - at >= 2 && *at == '"') {
        at++;
        raw_end--;
    }
    struct fields_field f = {
        .name = x->name, .name_len = x->name_len, .value = val,
        .value_len = len, .type = type, .is_cut = is_cut,
        .raw = (const char *)at, .raw_len = (size_t)(raw_end - at),
    };
    if (x->fn(&f, x->arg) != 0 || ++x->n_fields == FIELDS_MAX_FIELDS)
        x->is_stopped = 1;
}

/* ---- JSON ---- */

static void
fx_ws(struct fx *x)
{
    while (x->p < x->end && fx_is_blank(*x->p))
        x->p++;
}

static int
fx_digits(struct fx *x)
{
    const unsigned char *s = x->p;

    while (x->p < x->end && *x->p >= '0' && *x->p <= '9')
        x->p++;
    return x->p > s ? 0 : -1;
}

/* A JSON number at x->p: its grammar, no more. */
static int
fx_number(struct fx *x)
{
    if (x->p < x->end && *x->p == '-')
        x->p++;
    if (x->p < x->end && *x->p == '0')
        x->p++;
    else if (fx_digits(x) < 0)
        return -1;
    if (x->p < x->end && *x->p == '.') {
        x->p++;
        if (fx_digits(x) < 0)
            return -1;
    }
    if (x->p < x->end && (*x->p == 'e' || *x->p == 'E')) {
        x->p++;
        if (x->p < x->end && (*x->p == '+' || *x->p == '-'))
            x->p++;
        if (fx_digits(x) < 0)
            return -1;
    }
    return 0;
}

static int fx_value(struct fx *x, int depth);

static int
fx_literal(struct fx *x, const char *word, enum fields_type type)
{
    size_t n = strlen(word);

    if ((size_t)(x->end - x->p) < n || memcmp(x->p, word, n) != 0)
        return -1;
    x->p += n;
    fx_emit(x, word, n, type, 0, x->p - n);
    return 0;
}

/* One member: "key" : value, the key appended to the flattened name. */
static int
fx_member(struct fx *x, int depth)
{
    size_t saved = x->name_len, at = saved, key_len;
    const char *key;
    char *dst = x->name;
    size_t cap = 0;
    int is_cut;

    if (x->p == x->end || *x->p != '"')
        return -1;
    if (saved > 0)
        at++;                           /* the '.' */
    if (saved <= FIELDS_MAX_NAME && at <= FIELDS_MAX_NAME) {
        dst = x->name + at;
        cap = FIELDS_MAX_NAME - at;
    }
    if (fx_string(x, 0, dst, cap, &key, &key_len, &is_cut) < 0)
        return -1;
    if (saved > FIELDS_MAX_NAME || at + key_len > FIELDS_MAX_NAME ||
        is_cut) {
        x->name_len = FIELDS_MAX_NAME + 1;
    } else {
        if (saved > 0)
            x->name[saved] = '.';
        memmove(x->name + at, key, key_len);
        x->name_len = at + key_len;
    }
    fx_ws(x);
    if (x->p == x->end || *x->p != ':')
        return -1;
    x->p++;
    fx_ws(x);
    int rc = fx_value(x, depth);
    x->name_len = saved;
    return rc;
}

/* An object or array at x->p ('{' or '['), nested depth deep. */
static int
fx_container(struct fx *x, int depth)
{
    unsigned char close = *x->p == '{' ? '}' : ']';

    if (depth >= FIELDS_MAX_DEPTH)
        return -1;
    x->p++;
    fx_ws(x);
    if (x->p < x->end && *x->p == close) {
        x->p++;
        return 0;
    }
    for (;;) {
        int rc = close == '}' ? fx_member(x, depth + 1)
                              : fx_value(x, depth + 1);
        if (rc < 0)
            return -1;
        fx_ws(x);
        if (x->p == x->end)
            return -1;
        if (*x->p == close) {
            x->p++;
            return 0;
        }
        if (*x->p != ',')
            return -1;
        x->p++;
        fx_ws(x);
    }
}

static int
fx_value(struct fx *x, int depth)
{
    if (x->p == x->end)
        return -1;
    switch (*x->p) {
    case '{':
    case '[':
        return fx_container(x, depth);
    case '"': {
        const unsigned char *at = x->p;
        const char *v;
        size_t n;
        int is_cut;
        if (fx_string(x, 0, x->value, sizeof(x->value), &v, &n, &is_cut) < 0)
            return -1;
        fx_emit(x, v, n, FIELDS_STRING, is_cut, at);
        return 0;
    }
    case 't':
        return fx_literal(x, "true", FIELDS_BOOL);
    case 'f':
        return fx_literal(x, "false", FIELDS_BOOL);
    case 'n':
        return fx_literal(x, "null", FIELDS_NULL);
    default: {
        const unsigned char *s = x->p;
        if (fx_number(x) < 0)
            return -1;
        fx_emit(x, (const char *)s, (size_t)(x->p - s), FIELDS_NUMBER, 0,
                s);
        return 0;
    }
    }
}

static int
fx_json(struct fx *x)
{
    fx_ws(x);
    if (x->p == x->end || *x->p != '{' || fx_container(x, 0) < 0)
        return -1;
    fx_ws(x);
    return x->p == x->end ? 0 : -1;
}

/* ---- logfmt ---- */

/* 1 for the bytes of a logfmt key or bare value: above 0x20 but 0x7f,
 * '=' and '"'. A table (one load and one test a byte instead of four
 * compares): the key loop runs over the first word of every stored
 * message, for the index's field tokens (~9 -> ~5 instructions a byte,
 * BENCHMARKS.md "Tokens and token sets"). */
static const unsigned char fx_key_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static int
fx_is_key_byte(unsigned char c)
{
    return fx_key_tab[c];
}

/* One KEY=VALUE at x->p. */
static int
fx_pair(struct fx *x)
{
    const unsigned char *k = x->p;
    /* bounded: a long word without '=' is plain text after 257 bytes */
    const unsigned char *lim = x->end - k > FIELDS_MAX_NAME
                               ? k + FIELDS_MAX_NAME + 1 : x->end;

    while (x->p < lim && fx_is_key_byte(*x->p))
        x->p++;
    size_t k_len = (size_t)(x->p - k);
    if (k_len == 0 || k_len > FIELDS_MAX_NAME || x->p == x->end ||
        *x->p != '=')
        return -1;
    x->p++;
    memcpy(x->name, k, k_len);
    x->name_len = k_len;
    if (x->p < x->end && *x->p == '"') {
        const unsigned char *at = x->p;
        const char *v;
        size_t n;
        int is_cut;
        if (fx_string(x, 1, x->value, sizeof(x->value), &v, &n, &is_cut) < 0)
            return -1;
        fx_emit(x, v, n, FIELDS_STRING, is_cut, at);
        return 0;
    }
    const unsigned char *v = x->p;
    while (x->p < x->end && fx_is_key_byte(*x->p))
        x->p++;
    if (x->p < x->end && !fx_is_blank(*x->p))
        return -1;                      /* '=' or '"' inside a bare value */
    fx_emit(x, (const char *)v, (size_t)(x->p - v), FIELDS_STRING, 0, v);
    return 0;
}

static int
fx_logfmt(struct fx *x)
{
    while (x->p < x->end && (*x->p == ' ' || *x->p == '\t'))
        x->p++;
    if (x->p == x->end)
        return -1;
    while (x->p < x->end) {
        if (fx_pair(x) < 0)
            return -1;
        const unsigned char *s = x->p;
        while (x->p < x->end && (*x->p == ' ' || *x->p == '\t'))
            x->p++;
        if (x->p < x->end && (*x->p == '\r' || *x->p == '\n')) {
            while (x->p < x->end && fx_is_blank(*x->p))
                x->p++;
            return x->p == x->end ? 0 : -1;
        }
        if (x->p < x->end && x->p == s)
            return -1;                  /* a quoted value ran into a key */
    }
    return 0;
}

/* ---- public API ---- */

static enum fields_kind
fx_kind(struct fx *x, const char *msg, size_t len)
{
    const unsigned char *u = (const unsigned char *)msg;
    size_t i = 0;

    while (i < len && fx_is_blank(u[i]))
        i++;
    x->p = u;
    x->end = u + len;
    x->name_len = 0;
    if (i < len && u[i] == '{')
        return fx_json(x) == 0 ? FIELDS_JSON : FIELDS_NONE;
    return fx_logfmt(x) == 0 ? FIELDS_LOGFMT : FIELDS_NONE;
}

/* One pass over msg: calling fn for each field when is_emit. */
static enum fields_kind
fx_pass(struct fx *x, const char *msg, size_t len, int is_emit,
        fields_fn fn, void *arg)
{
    x->is_emit = is_emit;
    x->is_stopped = 0;
    x->n_fields = 0;
    x->fn = fn;
    x->arg = arg;
    return fx_kind(x, msg, len);
}

enum fields_kind
fields_foreach(const char *msg, size_t len, fields_fn fn, void *arg)
{
    struct fx x;
    enum fields_kind kind = fx_pass(&x, msg, len, 0, NULL, NULL);

    if (kind != FIELDS_NONE)
        (void)fx_pass(&x, msg, len, 1, fn, arg);
    return kind;
}

enum fields_kind
fields_foreach_fast(const char *msg, size_t len, fields_fn fn, void *arg)
{
    struct fx x;

    return fx_pass(&x, msg, len, 1, fn, arg);
}

struct fx_get {
    const char *name;
    size_t      name_len;
    char       *out;
    size_t      cap;
    size_t     *out_len;
    int         is_found;
};

static int
fx_get_cb(const struct fields_field *f, void *arg)
{
    struct fx_get *g = arg;

    if (f->name_len != g->name_len ||
        memcmp(f->name, g->name, f->name_len) != 0)
        return 0;
    size_t n = f->value_len < g->cap ? f->value_len : g->cap;
    memcpy(g->out, f->value, n);
    *g->out_len = n;
    g->is_found = 1;
    return 1;
}

int
fields_get(const char *msg, size_t len, const char *name, size_t name_len,
           char *out, size_t cap, size_t *out_len)
{
    struct fx_get g = { name, name_len, out, cap, out_len, 0 };

    *out_len = 0;
    fields_foreach(msg, len, fx_get_cb, &g);
    return g.is_found;
}

int
fields_number(const char *s, size_t len, double *out)
{
    struct fx x;
    char buf[FIELDS_MAX_NUMBER + 1];

    if (len == 0 || len > FIELDS_MAX_NUMBER)
        return -1;
    x.p = (const unsigned char *)s;
    x.end = x.p + len;
    if (fx_number(&x) < 0 || x.p != x.end)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL);
    return 0;
}
