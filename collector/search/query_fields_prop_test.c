/* SPDX-License-Identifier: MIT */
/*
 * query_fields_prop_test: field terms (`level:error`, `status:>=500`,
 * `-user.id:42`, `a:x OR b:y`, `msg:"a b"`, with and without -i) against a
 * brute-force model. Each message is made from a list of (name, value)
 * pairs written as JSON (flat or nested keys, numbers bare or quoted,
 * letters sometimes \u-escaped), as logfmt, or as plain text holding the
 * same words; the model decides from the list alone: a field term holds
 * when some pair has its name and a value equal to its text (folded
 * whole under -i), or a number in the asked relation. Plain text never
 * has fields. Highlight spans: one per non-empty value that a term not
 * under "-" holds for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/search/query.h"
#include "common/casefold.h"
#include "tests/support/testrng.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned
rn(unsigned n)
{
    return testrng_below(&rng, n);
}

static const char *const names[] = {
    "level", "status", "user.id", "msg", "@timestamp", "tags", "lvl-x",
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))
static const char *const values[] = {
    "error", "ERROR", "Error", "warn", "500", "404", "200", "1.5e2", "-3",
    "0", "07", "caf\xc3\xa9", "CAF\xc3\x89", "a b", "x:y", "/p", "",
};
#define N_VALUES (sizeof(values) / sizeof(values[0]))

struct pair {
    const char *name;
    const char *value;
};

/* ---- the model ---- */

/* JSON's number grammar, written apart from common/fields.c. */
static int
model_number(const char *s, double *out)
{
    const char *p = s;

    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return 0;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        return 0;
    *out = strtod(s, NULL);
    return 1;
}

static int
model_eq(const char *a, const char *b, int icase)
{
    uint8_t fa[256], fb[256];

    if (!icase)
        return strcmp(a, b) == 0;
    size_t na = casefold_str((const uint8_t *)a, strlen(a), fa, sizeof(fa));
    size_t nb = casefold_str((const uint8_t *)b, strlen(b), fb, sizeof(fb));
    return na == nb && memcmp(fa, fb, na) == 0;
}

/* op: 0 '=', 1 '<', 2 '<=', 3 '>', 4 '>='. */
static int
model_term(const struct pair *p, size_t n, int is_plain, const char *name,
           int op, const char *value, int icase)
{
    double want = 0, d;

    if (is_plain)
        return 0;
    if (op > 0 && !model_number(value, &want))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i].name, name) != 0)
            continue;
        if (op == 0 && model_eq(p[i].value, value, icase))
            return 1;
        if (op > 0 && model_number(p[i].value, &d) &&
            ((op == 1 && d < want) || (op == 2 && d <= want) ||
             (op == 3 && d > want) || (op == 4 && d >= want)))
            return 1;
    }
    return 0;
}

/* ---- messages ---- */

static size_t
put(char *m, size_t n, const char *s)
{
    size_t k = strlen(s);

    memcpy(m + n, s, k);
    return n + k;
}

/* A JSON string of s, some ASCII letters written as \u00XX. */
static size_t
put_json_str(char *m, size_t n, const char *s)
{
    m[n++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (((c >= 'a' && c <= 'z') || c == '"' || c == '\\') && rn(8) == 0)
            n += (size_t)snprintf(m + n, 7, "\\u%04x", c);
        else
            m[n++] = (char)c;
    }
    m[n++] = '"';
    return n;
}

static size_t
put_json_value(char *m, size_t n, const char *v)
{
    double d;

    if (model_number(v, &d) && rn(2))
        return put(m, n, v);            /* a bare number */
    return put_json_str(m, n, v);
}

static size_t
gen_json(char *m, const struct pair *p, size_t np)
{
    size_t n = put(m, 0, rn(2) ? "{" : " {");

    for (size_t i = 0; i < np; i++) {
        if (i > 0)
            n = put(m, n, rn(2) ? "," : ", ");
        const char *dot = strchr(p[i].name, '.');
        if (dot != NULL && rn(2)) {     /* nested: {"user":{"id":42}} */
            char outer[32];
            snprintf(outer, sizeof(outer), "%.*s", (int)(dot - p[i].name),
                     p[i].name);
            n = put_json_str(m, n, outer);
            n = put(m, n, ":{");
            n = put_json_str(m, n, dot + 1);
            n = put(m, n, ":");
            n = put_json_value(m, n, p[i].value);
            n = put(m, n, "}");
            continue;
        }
        n = put_json_str(m, n, p[i].name);
        n = put(m, n, ":");
        n = put_json_value(m, n, p[i].value);
    }
    return put(m, n, "}\n");
}

static size_t
gen_logfmt(char *m, const struct pair *p, size_t np)
{
    size_t n = 0;

    for (size_t i = 0; i < np; i++) {
        if (i > 0)
            n = put(m, n, " ");
        n = put(m, n, p[i].name);
        n = put(m, n, "=");
        const char *v = p[i].value;
        if (strpbrk(v, " =\"") != NULL || rn(3) == 0) {
            n = put(m, n, "\"");
            n = put(m, n, v);
            n = put(m, n, "\"");
        } else {
            n = put(m, n, v);
        }
    }
    return n;
}

/* Plain text with the same words: "level: error status 500 ...". */
static size_t
gen_plain(char *m, const struct pair *p, size_t np)
{
    size_t n = put(m, 0, "note");

    for (size_t i = 0; i < np; i++) {
        n = put(m, n, " ");
        n = put(m, n, p[i].name);
        n = put(m, n, rn(2) ? ":" : ": ");
        n = put(m, n, p[i].value);
    }
    return n;
}

/* ---- the property ---- */

struct term {
    const char *name;
    const char *value;
    int         op;
    int         is_negated;
    int         is_or;          /* ORed with the previous term */
};

static size_t
term_text(char *q, size_t n, const struct term *t)
{
    static const char *const ops[] = { "", "<", "<=", ">", ">=" };

    if (t->is_or)
        n = put(q, n, " OR ");
    else if (n > 0)
        n = put(q, n, " ");
    if (t->is_negated)
        n = put(q, n, "-");
    n = put(q, n, t->name);
    n = put(q, n, ":");
    const char *v = t->value;
    if (t->op == 0 && (v[0] == '\0' || v[0] == '/' || strpbrk(v, " :") ||
                       strchr("<>", v[0]) || rn(4) == 0)) {
        n = put(q, n, "\"");
        n = put(q, n, v);
        return put(q, n, "\"");
    }
    n = put(q, n, ops[t->op]);
    return put(q, n, v);
}

static void
test_fields_prop(void **state)
{
    static char m[4096], q[1024];
    size_t n_true = 0, n_false = 0, kinds[3] = { 0 };

    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        struct pair p[8];
        size_t np = 1 + rn(6);
        for (size_t i = 0; i < np; i++) {
            p[i].name = names[rn(N_NAMES)];
            p[i].value = values[rn(N_VALUES)];
        }
        int kind = (int)rn(3), icase = (int)rn(2);
        size_t ml = kind == 0   ? gen_json(m, p, np)
                    : kind == 1 ? gen_logfmt(m, p, np)
                                : gen_plain(m, p, np);
        kinds[kind]++;
        struct term t[3];
        size_t nt = 1 + rn(3), ql = 0;
        for (size_t i = 0; i < nt; i++) {
            /* usually a pair of the message, so matches are frequent */
            const struct pair *src = &p[rn((unsigned)np)];
            t[i].name = rn(4) ? src->name : names[rn(N_NAMES)];
            t[i].value = rn(4) ? src->value : values[rn(N_VALUES)];
            double d;
            t[i].op = model_number(t[i].value, &d) && rn(2) ? 1 + (int)rn(4)
                                                             : 0;
            t[i].is_negated = rn(4) == 0;
            t[i].is_or = i > 0 && rn(3) == 0;
            ql = term_text(q, ql, &t[i]);
        }
        q[ql] = '\0';
        char *err = NULL;
        struct query *qy = query_parse(q, ql, NULL, icase, &err);
        if (qy == NULL)
            fail_msg("[%s]: %s", q, err);
        /* AND of OR-groups, as the grammar says */
        int want = 1;
        for (size_t i = 0; i < nt;) {
            int any = 0;
            size_t j = i;
            do {
                int h = model_term(p, np, kind == 2, t[j].name, t[j].op,
                                   t[j].value, icase);
                any |= h != t[j].is_negated;
                j++;
            } while (j < nt && t[j].is_or);
            want &= any;
            i = j;
        }
        int got = query_match(qy, m, ml);
        if (got != want)
            fail_msg("[%s] icase %d on [%.*s]: got %d want %d", q, icase,
                     (int)ml, m, got, want);
        const char *const *tok;
        size_t sp[2 * 16];
        assert_int_equal(query_tokens(qy, &tok), 0);
        /* spans: one per non-empty value a term not under "-" holds for
         * (values never touch: quotes, commas or keys lie between) */
        size_t want_spans = 0;
        for (size_t i = 0; i < np; i++) {
            int hit = 0;
            for (size_t k = 0; k < nt && !hit; k++)
                hit = !t[k].is_negated && p[i].value[0] != '\0' &&
                      model_term(&p[i], 1, kind == 2, t[k].name, t[k].op,
                                 t[k].value, icase);
            want_spans += (size_t)hit;
        }
        size_t nspans = query_spans(qy, m, ml, sp, 16);
        if (nspans != want_spans)
            fail_msg("[%s] icase %d on [%.*s]: %zu spans, want %zu", q,
                     icase, (int)ml, m, nspans, want_spans);
        for (size_t k = 0; k < nspans; k++)
            assert_true(sp[2 * k] < sp[2 * k + 1] && sp[2 * k + 1] <= ml);
        query_free(qy);
        n_true += (size_t)want;
        n_false += (size_t)!want;
    }
    /* not vacuous: both answers, every kind of message */
    assert_true(n_true > 2000 && n_false > 2000);
    assert_true(kinds[0] > 1000 && kinds[1] > 1000 && kinds[2] > 1000);
}

/* The syntax around field terms: which terms are fields, which stay
 * words, and the errors. */
static void
test_fields_syntax(void **state)
{
    static const struct {
        const char *q, *msg;
        int         want;
    } cases[] = {
        { "level:error", "{\"level\":\"error\"}", 1 },
        { "level:error", "level:error", 0 },        /* plain text: never */
        { "\"level:error\"", "level:error", 1 },     /* a phrase is text */
        { "-level:debug", "plain line", 1 },
        { "ERROR:root:boom", "ERROR:root:boom x", 1 }, /* two ':': a word */
        { "http://h/x", "get http://h/x ok", 1 },
        { "10.0.0.1:80", "to 10.0.0.1:80", 1 },
        { "Exception:", "java.lang.Exception: x", 1 },
        { "::1", "from ::1", 1 },
        { "status:>=500", "status=503 msg=\"x\"", 1 },
        { "status:>=500", "status=499", 0 },
        { "status:>=500", "{\"status\":\"503\"}", 1 },
        { "status:<1e3", "{\"status\":503.5}", 1 },
        { "status:>500", "{\"status\":\"n/a\"}", 0 },
        { "user.id:42", "{\"user\":{\"id\":42}}", 1 },
        { "user.id:42", "{\"user.id\":\"42\"}", 1 },
        { "tags:eu", "{\"tags\":[\"prod\",\"eu\"]}", 1 },
        { "msg:\"a b\"", "msg=\"a b\" level=info", 1 },
        { "msg:\"\"", "msg= level=info", 1 },
        { "Level:error", "{\"level\":\"error\"}", 0 },
        { "level:ERROR", "{\"level\":\"error\"}", 0 },
        { "level:e", "{\"level\":\"error\"}", 0 },
        { "level:error OR level:warn", "level=warn", 1 },
        { "level:caf\xc3\xa9", "{\"level\":\"caf\\u00e9\"}", 1 },
        { "a:1 b:2", "a=1 b=2", 1 },
        { "a:1 b:2", "a=1 b=3", 0 },
        { "a:1 error", "a=1 error=yes", 1 },  /* words see the text */
        { "a:1 nothere", "a=1 error=yes", 0 },
        { "a:1 yes", "a=1 error=yes", 1 },
    };
    char *err = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct query *q = query_parse(cases[i].q, strlen(cases[i].q), NULL,
                                      0, &err);
        if (q == NULL)
            fail_msg("%s: %s", cases[i].q, err);
        int got = query_match(q, cases[i].msg, strlen(cases[i].msg));
        if (got != cases[i].want)
            fail_msg("[%s] on [%s]: got %d", cases[i].q, cases[i].msg, got);
        query_free(q);
    }
    /* -i folds values, never names */
    struct query *q = query_parse("level:ERROR Level:x", 19, NULL, 1, &err);
    assert_non_null(q);
    const char *m1 = "{\"level\":\"error\",\"Level\":\"X\"}";
    const char *m2 = "{\"LEVEL\":\"error\",\"Level\":\"X\"}";
    assert_int_equal(query_match(q, m1, strlen(m1)), 1);
    assert_int_equal(query_match(q, m2, strlen(m2)), 0);
    query_free(q);
    static const char *const bad[] = {
        "status:>=abc", "status:>", "status:<=1e", "a:<b>", "msg:\"open",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        q = query_parse(bad[i], strlen(bad[i]), NULL, 0, &err);
        if (q != NULL)
            fail_msg("%s parsed", bad[i]);
        assert_non_null(err);
        free(err);
        err = NULL;
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_prop),
        cmocka_unit_test(test_fields_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
