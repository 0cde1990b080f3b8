/* SPDX-License-Identifier: MIT */
/*
 * fuzz_userconf: libFuzzer target for logq's config file parser
 * (query/userconf.c: userconf_parse and the shell-like word splitter of
 * saved queries). The file is the user's, but it may come from a dotfiles
 * repository or a shared home; a bad one must give "PATH:LINE: reason",
 * never a crash. The first input byte picks: even, the rest is a config
 * file; odd, the rest is one saved query's value for
 * userconf_words_split. Checked with assert:
 * - a parse fails with "fuzz.conf:N: reason", N a line of the input, or
 *   succeeds with values in range: at most USERCONF_MAX_QUERIES queries,
 *   unique names of 1..USERCONF_MAX_NAME bytes of [A-Za-z0-9_.-], each
 *   found by userconf_query_get, at most USERCONF_MAX_WORDS words,
 *   a since that timeexpr_parse accepts, a color mode of enum args_color;
 * - parsing again gives the same result, and so does the file with a
 *   comment line and a blank line added at its end (the model: they
 *   change nothing);
 * - split words, each quoted again the way a shell reads back ('...'
 *   with ' written '\''), split into the same words (the splitter is the
 *   inverse of quoting).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "query/args.h"
#include "query/timeexpr.h"
#include "query/userconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PATH "fuzz.conf"

static void
fuzz_words_free(char **w, int n)
{
    for (int i = 0; i < n; i++)
        free(w[i]);
    free(w);
}

/* The words quoted back ('...' each) split into the same words. */
static void
fuzz_check_requote(char **w, int n)
{
    struct buf q;
    char err[256] = "";
    char **again = NULL;
    int n2 = 0;

    buf_init(&q, 4 * USERCONF_MAX_FILE + 16);
    for (int i = 0; i < n; i++) {
        assert(buf_append(&q, i ? " '" : "'", i ? 2 : 1) == 0);
        for (const char *c = w[i]; *c != '\0'; c++) {
            if (*c == '\'')
                assert(buf_append(&q, "'\\''", 4) == 0);
            else
                assert(buf_append(&q, c, 1) == 0);
        }
        assert(buf_append(&q, "'", 1) == 0);
    }
    assert(buf_append(&q, "", 1) == 0);
    assert(userconf_words_split((const char *)q.data, &again, &n2,
                                USERCONF_MAX_WORDS, err, sizeof(err)) == 0);
    assert(n2 == n);
    for (int i = 0; i < n; i++)
        assert(strcmp(w[i], again[i]) == 0);
    fuzz_words_free(again, n2);
    buf_fini(&q);
}

static void
fuzz_split(const uint8_t *p, size_t n)
{
    char *s = xstrndup((const char *)p, n);
    char err[256] = "";
    char **w = NULL;
    int nw = 0;

    if (userconf_words_split(s, &w, &nw, USERCONF_MAX_WORDS, err,
                             sizeof(err)) < 0) {
        assert(err[0] != '\0');
    } else {
        assert(nw >= 0 && nw <= USERCONF_MAX_WORDS);
        fuzz_check_requote(w, nw);
        fuzz_words_free(w, nw);
    }
    free(s);
}

static int
fuzz_is_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > USERCONF_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' ||
              s[i] == '-'))
            return 0;
    return 1;
}

/* What holds of any parsed file. */
static void
fuzz_check_conf(const struct userconf *c)
{
    int64_t v;

    assert(c->n_queries <= USERCONF_MAX_QUERIES);
    for (size_t i = 0; i < c->n_queries; i++) {
        const struct userconf_query *q = &c->queries[i];
        assert(fuzz_is_name(q->name));
        assert(userconf_query_get(c, q->name) == q);
        assert(q->n_words >= 0 && q->n_words <= USERCONF_MAX_WORDS);
        for (int k = 0; k < q->n_words; k++)
            assert(q->words[k] != NULL);
        fuzz_check_requote(q->words, q->n_words);
    }
    if (c->since != NULL)
        assert(timeexpr_parse(c->since, 0, &v) == 0);
    if (c->has_color)
        assert(c->color_mode == ARGS_COLOR_AUTO ||
               c->color_mode == ARGS_COLOR_ALWAYS ||
               c->color_mode == ARGS_COLOR_NEVER);
}

/* The same settings (after the same input, or one with comment and blank
 * lines added). */
static void
fuzz_check_same(const struct userconf *a, const struct userconf *b)
{
    assert((a->server == NULL) == (b->server == NULL));
    assert(a->server == NULL || strcmp(a->server, b->server) == 0);
    assert((a->since == NULL) == (b->since == NULL));
    assert(a->since == NULL || strcmp(a->since, b->since) == 0);
    assert(a->has_color == b->has_color && a->color_mode == b->color_mode);
    assert(a->n_queries == b->n_queries);
    for (size_t i = 0; i < a->n_queries; i++) {
        assert(strcmp(a->queries[i].name, b->queries[i].name) == 0);
        assert(a->queries[i].n_words == b->queries[i].n_words);
        for (int k = 0; k < a->queries[i].n_words; k++)
            assert(strcmp(a->queries[i].words[k],
                          b->queries[i].words[k]) == 0);
    }
}

/* The error names this file and a line of it: "fuzz.conf:N: ". */
static void
fuzz_check_err(const char *err, size_t n_lines)
{
    size_t pl = strlen(FUZZ_PATH);

    assert(strncmp(err, FUZZ_PATH ":", pl + 1) == 0);
    char *end = NULL;
    unsigned long line = strtoul(err + pl + 1, &end, 10);
    assert(end != err + pl + 1 && end[0] == ':');
    assert(line >= 1 && line <= n_lines);
}

static void
fuzz_file(const uint8_t *p, size_t n)
{
    struct userconf a, b, d;
    char err[512] = "", err2[512] = "";
    size_t n_lines = 1;

    for (size_t i = 0; i + 1 < n; i++)
        n_lines += p[i] == '\n';
    int rc = userconf_parse((const char *)p, n, FUZZ_PATH, &a, err,
                            sizeof(err));
    int rc2 = userconf_parse((const char *)p, n, FUZZ_PATH, &b, err2,
                             sizeof(err2));
    assert(rc == rc2 && (rc == 0 || rc == -1));
    if (rc < 0) {
        fuzz_check_err(err, n_lines);
        assert(strcmp(err, err2) == 0);
        return;
    }
    fuzz_check_conf(&a);
    fuzz_check_same(&a, &b);
    userconf_fini(&b);
    /* A comment and a blank line at the end change nothing (unless the
     * file's last line was cut short of its newline and is then joined:
     * a newline is put first). */
    if (n + 16 <= USERCONF_MAX_FILE) {
        char *more = xmalloc(n + 16);
        memcpy(more, p, n);
        memcpy(more + n, "\n# fuzz\n\n", 9);
        int rc3 = userconf_parse(more, n + 9, FUZZ_PATH, &d, err,
                                 sizeof(err));
        assert(rc3 == 0);
        fuzz_check_same(&a, &d);
        userconf_fini(&d);
        free(more);
    }
    userconf_fini(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > USERCONF_MAX_FILE)
        return 0;
    if (data[0] & 1)
        fuzz_split(data + 1, size - 1);
    else
        fuzz_file(data + 1, size - 1);
    return 0;
}
