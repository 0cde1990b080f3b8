/* SPDX-License-Identifier: MIT */
/*
 * fields_test: the extractor against a model: random JSON objects and
 * logfmt lines are generated together with the fields they hold (escapes,
 * nesting, arrays, duplicates, blanks, invalid UTF-8), and the extractor
 * must report exactly those; one byte cut off or a stray byte appended
 * makes them plain text. Then the limits, hostile input (deep nesting,
 * huge numbers, unterminated strings) and real lines of the corpus
 * ($LOGQ_CORPUS), each as plain text and wrapped in a JSON object.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/fields.h"

#define T_MAX_FIELDS 64
#define T_MAX_TEXT   (64 * 1024)

struct t_field {
    char             name[FIELDS_MAX_NAME + 1];
    size_t           name_len;
    char             value[512];
    size_t           value_len;
    enum fields_type type;
};

struct t_list {
    struct t_field f[FIELDS_MAX_FIELDS];
    size_t         n;
    int            is_cut_seen;
};

struct t_gen {
    uint64_t       seed;
    char           text[T_MAX_TEXT];
    size_t         len;
    struct t_list  want;
    size_t         n_nodes;         /* values generated: bounds fan-out */
};

static uint32_t
t_rand(struct t_gen *g, uint32_t n)
{
    g->seed = g->seed * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g->seed >> 33) % n;
}

static void
t_out(struct t_gen *g, const char *s, size_t n)
{
    assert_true(g->len + n < T_MAX_TEXT);
    memcpy(g->text + g->len, s, n);
    g->len += n;
}

static void
t_outs(struct t_gen *g, const char *s)
{
    t_out(g, s, strlen(s));
}

static int
t_collect_cb(const struct fields_field *f, void *arg)
{
    struct t_list *l = arg;

    assert_true(l->n < FIELDS_MAX_FIELDS);
    struct t_field *t = &l->f[l->n++];
    assert_true(f->name_len <= FIELDS_MAX_NAME);
    memcpy(t->name, f->name, f->name_len);
    t->name_len = f->name_len;
    t->value_len = f->value_len < sizeof(t->value) ? f->value_len
                                                   : sizeof(t->value);
    memcpy(t->value, f->value, t->value_len);
    t->type = f->type;
    l->is_cut_seen |= f->is_cut;
    return 0;
}

static void
t_assert_same(const struct t_list *got, const struct t_list *want)
{
    assert_int_equal(got->n, want->n);
    for (size_t i = 0; i < got->n; i++) {
        assert_int_equal(got->f[i].name_len, want->f[i].name_len);
        assert_memory_equal(got->f[i].name, want->f[i].name,
                            got->f[i].name_len);
        assert_int_equal(got->f[i].value_len, want->f[i].value_len);
        assert_memory_equal(got->f[i].value, want->f[i].value,
                            got->f[i].value_len);
        assert_int_equal(got->f[i].type, want->f[i].type);
    }
}

/* ---- the JSON model ---- */

/* Appends to both the JSON text and the expected decoded value one random
 * unit: printable ASCII (maybe as \u), a byte that must be escaped, a
 * UTF-8 character raw or as \u (a pair above U+FFFF), or an invalid
 * byte, which JSON passes through. */
static void
t_json_unit(struct t_gen *g, char *val, size_t *n)
{
    static const char *const esc[][2] = {
        { "\\\"", "\"" }, { "\\\\", "\\" }, { "\\/", "/" }, { "\\n", "\n" },
        { "\\t", "\t" }, { "\\r", "\r" }, { "\\b", "\b" }, { "\\f", "\f" },
        { "\\u0001", "\x01" }, { "\\u00e9", "\xc3\xa9" },
        { "\\ud83d\\ude00", "\xf0\x9f\x98\x80" }, { "\\ud800", "\xef\xbf\xbd" },
        { "\\u0041", "A" }, { "\xc3\xa9", "\xc3\xa9" }, { "\xff", "\xff" },
        { "\xe2\x82", "\xe2\x82" },
    };
    uint32_t k = t_rand(g, 40);

    if (k < 24) {
        static const char alpha[] = "abcXYZ019 _.:=-{}[],+@#";
        char c = alpha[t_rand(g, sizeof(alpha) - 1)];
        t_out(g, &c, 1);
        val[(*n)++] = c;
        return;
    }
    k = t_rand(g, sizeof(esc) / sizeof(esc[0]));
    t_outs(g, esc[k][0]);
    memcpy(val + *n, esc[k][1], strlen(esc[k][1]));
    *n += strlen(esc[k][1]);
}

static void
t_json_string(struct t_gen *g, char *val, size_t *n, size_t max_units)
{
    size_t units = t_rand(g, (uint32_t)max_units + 1);

    *n = 0;
    t_outs(g, "\"");
    for (size_t i = 0; i < units; i++)
        t_json_unit(g, val, n);
    t_outs(g, "\"");
}

static void
t_blank(struct t_gen *g)
{
    static const char *const b[] = { "", "", " ", "\t", "\r\n", "  " };

    t_outs(g, b[t_rand(g, 6)]);
}

static void t_json_value(struct t_gen *g, const char *name, size_t name_len,
                         int depth);

static void
t_json_object(struct t_gen *g, const char *name, size_t name_len, int depth)
{
    size_t n_members = t_rand(g, depth == 0 ? 6 : 4);

    t_outs(g, "{");
    t_blank(g);
    for (size_t i = 0; i < n_members; i++) {
        char key[64], path[FIELDS_MAX_NAME + 1];
        size_t key_len, path_len = 0;
        if (i > 0) {
            t_outs(g, ",");
            t_blank(g);
        }
        t_json_string(g, key, &key_len, 3);
        if (name_len > 0) {
            memcpy(path, name, name_len);
            path[name_len] = '.';
            path_len = name_len + 1;
        }
        memcpy(path + path_len, key, key_len);
        path_len += key_len;
        t_blank(g);
        t_outs(g, ":");
        t_blank(g);
        t_json_value(g, path, path_len, depth + 1);
        t_blank(g);
    }
    t_outs(g, "}");
}

static void
t_want(struct t_gen *g, const char *name, size_t name_len, const char *val,
       size_t val_len, enum fields_type type)
{
    assert_true(g->want.n < FIELDS_MAX_FIELDS);
    struct t_field *f = &g->want.f[g->want.n++];

    memcpy(f->name, name, name_len);
    f->name_len = name_len;
    memcpy(f->value, val, val_len);
    f->value_len = val_len;
    f->type = type;
}

static void
t_json_value(struct t_gen *g, const char *name, size_t name_len, int depth)
{
    static const char *const nums[] = {
        "0", "-0", "42", "-17", "3.25", "1e3", "2E-7", "-0.5e+10",
        "123456789012345678901234567890", "1e999",
    };
    static const char *const lits[] = { "true", "false", "null" };
    static const enum fields_type lit_types[] = {
        FIELDS_BOOL, FIELDS_BOOL, FIELDS_NULL,
    };
    uint32_t k = t_rand(g, depth >= 4 || g->n_nodes > 30 ? 6 : 9);

    g->n_nodes++;

    if (k < 3) {
        char v[256];
        size_t n;
        t_json_string(g, v, &n, 8);
        t_want(g, name, name_len, v, n, FIELDS_STRING);
    } else if (k == 3) {
        const char *s = nums[t_rand(g, 10)];
        t_outs(g, s);
        t_want(g, name, name_len, s, strlen(s), FIELDS_NUMBER);
    } else if (k < 6) {
        uint32_t i = t_rand(g, 3);
        t_outs(g, lits[i]);
        t_want(g, name, name_len, lits[i], strlen(lits[i]), lit_types[i]);
    } else if (k < 8) {
        t_json_object(g, name, name_len, depth);
    } else {
        size_t n = t_rand(g, 4);
        t_outs(g, "[");
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                t_outs(g, ",");
            t_blank(g);
            t_json_value(g, name, name_len, depth + 1);
        }
        t_outs(g, "]");
    }
}

static void
t_gen_json(struct t_gen *g)
{
    g->len = 0;
    g->want.n = 0;
    g->n_nodes = 0;
    t_blank(g);
    t_json_object(g, "", 0, 0);
    t_blank(g);
}

/* ---- the logfmt model ---- */

static void
t_gen_logfmt(struct t_gen *g)
{
    static const char *const qesc[][2] = {
        { "\\\"", "\"" }, { "\\\\", "\\" }, { "\\n", "\n" }, { "\\t", "\t" },
        { "\\x1b", "\x1b" }, { "\\u00e9", "\xc3\xa9" }, { " ", " " },
        { "=", "=" }, { "\xc3\xa9", "\xc3\xa9" }, { "\xff", "\xff" },
    };
    static const char key_alpha[] = "abz_.:/-@[9\xc3";
    static const char bare_alpha[] = "ab09.:/\xff-{";
    size_t n_pairs = 1 + t_rand(g, 6);

    g->len = 0;
    g->want.n = 0;
    if (t_rand(g, 4) == 0)
        t_outs(g, " ");
    for (size_t i = 0; i < n_pairs; i++) {
        char key[16], val[256];
        size_t key_len = 1 + t_rand(g, 5), n = 0;
        if (i > 0)
            t_outs(g, t_rand(g, 3) == 0 ? " \t" : " ");
        for (size_t j = 0; j < key_len; j++)
            key[j] = key_alpha[t_rand(g, sizeof(key_alpha) - 1)];
        t_out(g, key, key_len);
        t_outs(g, "=");
        if (t_rand(g, 2) == 0) {            /* bare, maybe empty */
            size_t len = t_rand(g, 6);
            for (size_t j = 0; j < len; j++)
                val[n++] = bare_alpha[t_rand(g, sizeof(bare_alpha) - 1)];
            t_out(g, val, n);
        } else {
            size_t units = t_rand(g, 6);
            t_outs(g, "\"");
            for (size_t j = 0; j < units; j++) {
                const char *const *e = t_rand(g, 2) ? qesc[t_rand(g, 10)]
                                                    : (const char *const[]){
                                                          "x", "x" };
                t_outs(g, e[0]);
                memcpy(val + n, e[1], strlen(e[1]));
                n += strlen(e[1]);
            }
            t_outs(g, "\"");
        }
        t_want(g, key, key_len, val, n, FIELDS_STRING);
    }
    if (t_rand(g, 4) == 0)
        t_outs(g, t_rand(g, 2) ? "\r\n" : "  ");
}

static enum fields_kind
t_run(const char *msg, size_t len, struct t_list *got)
{
    got->n = 0;
    got->is_cut_seen = 0;
    return fields_foreach(msg, len, t_collect_cb, got);
}

static void
test_fields_json_model(void **state)
{
    static struct t_gen g;
    static struct t_list got;

    (void)state;
    g.seed = 11;
    for (int iter = 0; iter < 20000; iter++) {
        t_gen_json(&g);
        assert_int_equal(t_run(g.text, g.len, &got), FIELDS_JSON);
        t_assert_same(&got, &g.want);
        got.n = 0;      /* the one-pass walk reports the same */
        assert_int_equal(fields_foreach_fast(g.text, g.len, t_collect_cb,
                                             &got), FIELDS_JSON);
        t_assert_same(&got, &g.want);
        /* Every proper prefix that cuts the object is not JSON; a stray
         * byte after it makes it plain text too. */
        size_t cut = t_rand(&g, (uint32_t)g.len);
        g.text[g.len] = '\0';
        const char *brace = memchr(g.text, '{', g.len);
        if (g.text + cut <= strrchr(g.text, '}') && g.text + cut > brace)
            assert_int_equal(t_run(g.text, cut, &got), FIELDS_NONE);
        g.text[g.len] = 'x';
        assert_int_equal(t_run(g.text, g.len + 1, &got), FIELDS_NONE);
    }
}

static void
test_fields_logfmt_model(void **state)
{
    static struct t_gen g;
    static struct t_list got;

    (void)state;
    g.seed = 12;
    for (int iter = 0; iter < 20000; iter++) {
        t_gen_logfmt(&g);
        g.text[g.len] = '\0';
        assert_int_equal(t_run(g.text, g.len, &got), FIELDS_LOGFMT);
        t_assert_same(&got, &g.want);
        got.n = 0;
        assert_int_equal(fields_foreach_fast(g.text, g.len, t_collect_cb,
                                             &got), FIELDS_LOGFMT);
        t_assert_same(&got, &g.want);
        /* A bare word after the pairs makes the line plain text. */
        memcpy(g.text + g.len, " word", 5);
        assert_int_equal(t_run(g.text, g.len + 5, &got), FIELDS_NONE);
    }
}

static void
t_expect_none(const char *s)
{
    struct t_list got;

    assert_int_equal(t_run(s, strlen(s), &got), FIELDS_NONE);
    assert_int_equal(got.n, 0);
}

/* Each byte inside a logfmt key and a bare value: one field where the
 * rule (fields.h: above 0x20 but DEL, '=' and '"') takes it, plain text
 * elsewhere. */
static void
test_fields_key_bytes(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        int is_key = c > 0x20 && c != 0x7f && c != '=' && c != '"';
        char key[8] = { 'a', (char)c, 'b', '=', '1' };
        char val[8] = { 'k', '=', 'a', (char)c, 'b' };
        struct t_list got;
        got.n = 0;
        assert_int_equal(t_run(key, 5, &got),
                         is_key ? FIELDS_LOGFMT : FIELDS_NONE);
        if (is_key) {
            assert_int_equal(got.n, 1);
            assert_int_equal(got.f[0].name_len, 3);
            assert_memory_equal(got.f[0].name, key, 3);
        }
        got.n = 0;
        assert_int_equal(t_run(val, 5, &got),
                         is_key ? FIELDS_LOGFMT : FIELDS_NONE);
        if (is_key) {
            assert_int_equal(got.n, 1);
            assert_int_equal(got.f[0].value_len, 3);
            assert_memory_equal(got.f[0].value, val + 2, 3);
        }
    }
}

static void
test_fields_plain_and_invalid(void **state)
{
    static const char *const none[] = {
        "", "   ", "GET /index.html 200", "level:error user.id:42",
        "a=b plain words", "=x", "a=b=c", "a=\"unterminated", "a=\"x\"b=c",
        "a=\"bad \\q escape\"", "a=x\"y", "{", "{\"a\":1", "{\"a\":1}}",
        "{\"a\":1} trailing", "{\"a\"}", "{\"a\":}", "{\"a\":01}",
        "{\"a\":1.}", "{\"a\":-}", "{\"a\":.5}", "{\"a\":tru}",
        "{\"a\":\"x\ny\"}", "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}",
        "{'a':1}", "{\"a\":1,}", "{,}", "[1,2]", "\"str\"", "42",
        "{\"a\":\"unterminated}", "{\"a\":[1,2}", "a=\"x\\",
        "key=value\r\nmore=lines",
        /* logfmt: only spaces and tabs may lead */
        "\nkey=value", "\r\nkey=value",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        struct t_list got;
        t_expect_none(none[i]);
        got.n = 0;      /* one pass: plain text, maybe a prefix's fields */
        assert_int_equal(fields_foreach_fast(none[i], strlen(none[i]),
                                             t_collect_cb, &got),
                         FIELDS_NONE);
    }
}

static void
test_fields_limits(void **state)
{
    static char buf[200000];
    static struct t_list got_s;
    struct t_list *got = &got_s;
    size_t n = 0;

    (void)state;
    /* Depth: 32 levels of nesting are JSON, 33 are plain text, and a
     * million brackets neither crash nor recurse deeply. */
    for (int depth = 31; depth <= 33; depth++) {
        n = 0;
        buf[n++] = '{';
        for (int i = 1; i < depth; i++)
            n += (size_t)snprintf(buf + n, 16, "\"k\":{");
        n += (size_t)snprintf(buf + n, 16, "\"v\":1");
        for (int i = 0; i < depth; i++)
            buf[n++] = '}';
        assert_int_equal(t_run(buf, n, got),
                         depth <= FIELDS_MAX_DEPTH ? FIELDS_JSON
                                                   : FIELDS_NONE);
        if (depth <= FIELDS_MAX_DEPTH) {
            assert_int_equal(got->n, 1);
            assert_int_equal(got->f[0].name_len, 2 * (size_t)(depth - 1) + 1);
        }
    }
    memset(buf, '[', sizeof(buf));
    memcpy(buf, "{\"a\":", 5);
    assert_int_equal(t_run(buf, sizeof(buf), got), FIELDS_NONE);
    /* At most FIELDS_MAX_FIELDS fields are reported. */
    n = 0;
    buf[n++] = '{';
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(buf + n, 32, "%s\"f%d\":%d", i ? "," : "", i, i);
    buf[n++] = '}';
    assert_int_equal(t_run(buf, n, got), FIELDS_JSON);
    assert_int_equal(got->n, FIELDS_MAX_FIELDS);
    assert_memory_equal(got->f[255].name, "f255", 4);
    /* A name over FIELDS_MAX_NAME is skipped, its siblings are not. */
    n = (size_t)snprintf(buf, sizeof(buf), "{\"a\":1,\"");
    memset(buf + n, 'k', 300);
    n += 300;
    n += (size_t)snprintf(buf + n, 64, "\":{\"x\":2},\"b\":3}");
    assert_int_equal(t_run(buf, n, got), FIELDS_JSON);
    assert_int_equal(got->n, 2);
    assert_memory_equal(got->f[1].name, "b", 1);
    /* An escaped value longer than FIELDS_MAX_VALUE is cut and says so. */
    n = (size_t)snprintf(buf, sizeof(buf), "{\"m\":\"\\n");
    memset(buf + n, 'v', 5000);
    n += 5000;
    n += (size_t)snprintf(buf + n, 8, "\"}");
    assert_int_equal(t_run(buf, n, got), FIELDS_JSON);
    assert_int_equal(got->n, 1);
    assert_true(got->is_cut_seen);
    /* Without escapes the value is the message's bytes, whole. */
    char v[8];
    size_t v_len;
    memmove(buf + 6, buf + 8, n - 8);
    assert_int_equal(fields_get(buf, n - 2, "m", 1, v, sizeof(v), &v_len), 1);
    assert_int_equal(v_len, sizeof(v));
}

static void
test_fields_get_and_number(void **state)
{
    const char *m = "{\"level\":\"error\",\"user\":{\"id\":42},"
                    "\"tags\":[\"a\",\"b\"],\"level\":\"x\"}";
    char out[64];
    size_t n;
    double d;

    (void)state;
    assert_int_equal(fields_get(m, strlen(m), "user.id", 7, out, 64, &n), 1);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "42", 2);
    assert_int_equal(fields_get(m, strlen(m), "level", 5, out, 64, &n), 1);
    assert_memory_equal(out, "error", 5);     /* the first of duplicates */
    assert_int_equal(fields_get(m, strlen(m), "tags", 4, out, 64, &n), 1);
    assert_memory_equal(out, "a", 1);
    assert_int_equal(fields_get(m, strlen(m), "user", 4, out, 64, &n), 0);
    assert_int_equal(fields_get("level=warn msg=\"a b\"", 20, "msg", 3, out,
                                64, &n), 1);
    assert_memory_equal(out, "a b", 3);

    assert_int_equal(fields_number("500", 3, &d), 0);
    assert_true(d == 500.0);
    assert_int_equal(fields_number("-2.5e3", 6, &d), 0);
    assert_true(d == -2500.0);
    assert_int_equal(fields_number("1e999", 5, &d), 0);
    assert_true(d > 1e308);
    assert_int_equal(fields_number("0x10", 4, &d), -1);
    assert_int_equal(fields_number(" 1", 2, &d), -1);
    assert_int_equal(fields_number("+1", 2, &d), -1);
    assert_int_equal(fields_number("", 0, &d), -1);
    assert_int_equal(fields_number("nan", 3, &d), -1);
    char big[100];
    memset(big, '9', sizeof(big));
    assert_int_equal(fields_number(big, FIELDS_MAX_NUMBER, &d), 0);
    assert_int_equal(fields_number(big, FIELDS_MAX_NUMBER + 1, &d), -1);
}

/* Every byte string of random bytes from a JSON-ish alphabet: no crash,
 * and a result that is JSON only when it starts with '{'. */
static void
test_fields_random_bytes(void **state)
{
    static struct t_gen g;
    static struct t_list got;
    static const char alpha[] = "{}[]\":,\\u0aE.-+ \t=xtrue\xff\x01";

    (void)state;
    g.seed = 13;
    for (int iter = 0; iter < 100000; iter++) {
        size_t n = t_rand(&g, 40);
        char s[40];
        for (size_t i = 0; i < n; i++)
            s[i] = alpha[t_rand(&g, sizeof(alpha) - 1)];
        enum fields_kind k = t_run(s, n, &got);
        if (k == FIELDS_JSON)
            assert_non_null(memchr(s, '{', n));
        if (k == FIELDS_NONE)
            assert_int_equal(got.n, 0);
    }
}

/* Where each value is written: "name=start-end ..." into out. */
struct t_raw {
    const char *msg;
    size_t      len;
    char        out[512];
};

static int
t_raw_cb(const struct fields_field *f, void *arg)
{
    struct t_raw *r = arg;
    size_t at = strlen(r->out);

    assert_true(f->raw >= r->msg && f->raw + f->raw_len <= r->msg + r->len);
    /* without escapes the text as written is the value */
    if (f->raw_len == f->value_len && memchr(f->raw, '\\', f->raw_len) == NULL)
        assert_memory_equal(f->raw, f->value, f->value_len);
    snprintf(r->out + at, sizeof(r->out) - at, "%s%.*s=%zu-%zu",
             at ? " " : "", (int)f->name_len, f->name,
             (size_t)(f->raw - r->msg), (size_t)(f->raw - r->msg) + f->raw_len);
    return 0;
}

static void
t_raw_is(const char *msg, const char *want)
{
    struct t_raw r = { msg, strlen(msg), "" };

    fields_foreach(msg, r.len, t_raw_cb, &r);
    assert_string_equal(r.out, want);
}

/* raw: each value's place in the message (a string's text between its
 * quotes, escapes as written; numbers, true/false/null, bare logfmt
 * values as they are), for highlighting; always inside the message. */
static void
test_fields_raw(void **state)
{
    static struct t_gen g;
    static const char alpha[] = "{}[]\":,\\u0aE.-+ \t=xtrue\xff\x01";

    (void)state;
    t_raw_is("{\"level\":\"error\",\"n\":-4.5e2,\"ok\":true,\"z\":null}",
             "level=10-15 n=21-27 ok=33-37 z=42-46");
    t_raw_is("{\"m\":\"a\\u0062c\",\"e\":\"\",\"u\":{\"id\":[7,\"x\"]}}",
             "m=6-14 e=21-21 u.id=34-35 u.id=37-38");
    t_raw_is("level=error msg=\"a \\\"b\\\"\" k= x=1",
             "level=6-11 msg=17-24 k=28-28 x=31-32");
    g.seed = 29;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = t_rand(&g, 40);
        char s[40];
        for (size_t i = 0; i < n; i++)
            s[i] = alpha[t_rand(&g, sizeof(alpha) - 1)];
        struct t_raw r = { s, n, "" };
        fields_foreach(s, n, t_raw_cb, &r);
    }
}

/* JSON-escapes line into out as a "msg" value; returns the length. */
static size_t
t_wrap(const char *line, size_t len, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "{\"level\":\"info\",\"msg\":\"");

    for (size_t i = 0; i < len && n + 16 < cap; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '"' || c == '\\')
            n += (size_t)snprintf(out + n, 3, "\\%c", c);
        else if (c < 0x20)
            n += (size_t)snprintf(out + n, 7, "\\u%04x", c);
        else
            out[n++] = (char)c;
    }
    n += (size_t)snprintf(out + n, cap - n, "\",\"n\":%zu}", len);
    return n;
}

static void
test_fields_corpus(void **state)
{
    static const char *const files[] = {
        "Apache_2k.log", "HDFS_2k.log", "Hadoop_2k.log", "Linux_2k.log",
        "OpenSSH_2k.log", "OpenStack_2k.log", "Spark_2k.log",
        "Zookeeper_2k.log",
    };
    const char *dir = getenv("LOGQ_CORPUS");
    static char line[65536], wrapped[140000], out[FIELDS_MAX_VALUE];
    size_t n_lines = 0, n_logfmt = 0;

    (void)state;
    /* "none": tests/run-unit.sh found no corpus beside the tree */
    if (dir == NULL || *dir == '\0' || strcmp(dir, "none") == 0)
        skip();
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        FILE *fp = fopen(path, "r");
        if (fp == NULL)
            continue;
        while (fgets(line, sizeof(line), fp) != NULL) {
            size_t len = strcspn(line, "\n");
            struct t_list got;
            enum fields_kind k = t_run(line, len, &got);
            assert_int_not_equal(k, FIELDS_JSON);
            n_logfmt += k == FIELDS_LOGFMT;
            size_t w = t_wrap(line, len, wrapped, sizeof(wrapped));
            size_t o_len;
            assert_int_equal(t_run(wrapped, w, &got), FIELDS_JSON);
            assert_int_equal(got.n, 3);
            assert_int_equal(fields_get(wrapped, w, "msg", 3, out,
                                        sizeof(out), &o_len), 1);
            if (len <= sizeof(out)) {
                assert_int_equal(o_len, len);
                assert_memory_equal(out, line, len);
            }
            n_lines++;
        }
        fclose(fp);
    }
    assert_true(n_lines > 0);
    /* Loghub's lines are plain text: none should pass for logfmt. */
    assert_int_equal(n_logfmt, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_json_model),
        cmocka_unit_test(test_fields_logfmt_model),
        cmocka_unit_test(test_fields_key_bytes),
        cmocka_unit_test(test_fields_plain_and_invalid),
        cmocka_unit_test(test_fields_limits),
        cmocka_unit_test(test_fields_get_and_number),
        cmocka_unit_test(test_fields_random_bytes),
        cmocka_unit_test(test_fields_raw),
        cmocka_unit_test(test_fields_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
