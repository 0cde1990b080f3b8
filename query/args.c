/* SPDX-License-Identifier: MIT */
/*
 * args: see args.h for the scanning rules and why they are not getopt's.
 */
#include "query/args.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/timeexpr.h"
#include "query/url.h"

/* ------------------------------------------------------------ scanner */

void
args_iter_init(struct args_iter *it, int argc, char **argv, int first)
{
    memset(it, 0, sizeof(*it));
    it->argc = argc;
    it->argv = argv;
    it->i = first;
}

/* Takes the option's value from "=value", attached text or the next word. */
static int
args_take_value(struct args_iter *it, const struct flags_def *o,
                const char *inline_val, char *err, size_t errlen)
{
    if (!o->has_arg) {
        if (inline_val == NULL)
            return o->id;
        snprintf(err, errlen, "option '%s' takes no value", it->name);
        return ARGS_ERROR;
    }
    if (inline_val != NULL) {
        it->value = inline_val;
        return o->id;
    }
    if (it->i >= it->argc) {
        snprintf(err, errlen, "option '%s' needs a value", it->name);
        return ARGS_ERROR;
    }
    it->value = it->argv[it->i++];
    return o->id;
}

/* The error for a flag cmd takes not: the n bytes at a, a flag of
 * another command (is_other) or of none. */
static void
args_unknown(int is_other, const char *a, size_t n, char *err,
             size_t errlen)
{
    if (is_other)
        snprintf(err, errlen, "option '%.*s' does not apply to this "
                 "command (see its --help)", (int)n, a);
    else
        snprintf(err, errlen, "unknown option '%.*s'", (int)n, a);
}

static int
args_next_long(struct args_iter *it, unsigned cmd, const char *a,
               char *err, size_t errlen)
{
    const char *eq = strchr(a + 2, '=');
    size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    const struct flags_def *o = flags_find_long(cmd, a + 2, n);

    if (o == NULL) {
        args_unknown(flags_find_long(FLAGS_ALL, a + 2, n) != NULL, a,
                     n + 2, err, errlen);
        return ARGS_ERROR;
    }
    snprintf(it->name, sizeof(it->name), "--%s", o->long_name);
    return args_take_value(it, o, eq ? eq + 1 : NULL, err, errlen);
}

int
args_next(struct args_iter *it, unsigned cmd, char *err, size_t errlen)
{
    if (it->i >= it->argc)
        return ARGS_END;
    const char *a = it->argv[it->i++];
    it->value = a;
    snprintf(it->name, sizeof(it->name), "%.2s", a);
    if (it->is_after_dashdash || a[0] != '-' || a[1] == '\0')
        return ARGS_WORD;
    if (strcmp(a, "--") == 0) {
        it->is_after_dashdash = 1;
        return args_next(it, cmd, err, errlen);
    }
    if (a[1] == '-')
        return args_next_long(it, cmd, a, err, errlen);
    const struct flags_def *o = flags_find_short(cmd, a[1]);
    if (a[2] == '\0') {
        if (o == NULL) {
            args_unknown(flags_find_short(FLAGS_ALL, a[1]) != NULL, a, 2,
                         err, errlen);
            return ARGS_ERROR;
        }
        return args_take_value(it, o, NULL, err, errlen);
    }
    if (o != NULL && o->has_arg == FLAGS_ARG_NUM && a[2] >= '0' &&
        a[2] <= '9')
        return args_take_value(it, o, a + 2, err, errlen);
    return ARGS_WORD;       /* "-timeout": an exclusion term */
}

/* ------------------------------------------------------------ values */

int
args_time_parse(const char *s, int64_t now, int64_t *out)
{
    return timeexpr_parse(s, now, out);
}

static int
args_limit_parse(const char *s, long *out)
{
    long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > ARGS_LIMIT_MAX)
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v > ARGS_LIMIT_MAX)
        return -1;
    *out = v;
    return 0;
}

/* 0..ARGS_CONTEXT_MAX lines. */
static int
args_context_parse(const char *s, unsigned *out)
{
    unsigned v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > ARGS_CONTEXT_MAX)
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v > ARGS_CONTEXT_MAX)
        return -1;
    *out = v;
    return 0;
}

/* Bytes with an optional K, M, G or T suffix (powers of 1024), >= 1. */
static int
args_bytes_parse(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;

    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > UINT64_MAX / 10 - 9)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == s)
        return -1;
    int shift = *p == '\0' ? 0 : *p == 'K' || *p == 'k' ? 10
              : *p == 'M' || *p == 'm' ? 20 : *p == 'G' || *p == 'g' ? 30
              : *p == 'T' || *p == 't' ? 40 : -1;
    if (shift < 0 || (*p != '\0' && p[1] != '\0') ||
        v > (UINT64_MAX >> shift) || v == 0)
        return -1;
    *out = v << shift;
    return 0;
}

/* A histogram step: milliseconds or a duration, 1 ms .. 366 days. */
static int
args_step_check(const char *s)
{
    int64_t v;

    if (*s != '\0' && strspn(s, "0123456789") == strlen(s)) {
        if (strlen(s) > 11)
            return -1;
        v = strtoll(s, NULL, 10) * 1000000LL;
    } else if (duration_parse_ns(s, &v) < 0) {
        return -1;
    }
    return v >= 1000000LL && v <= 366LL * 86400 * 1000000000LL &&
           v % 1000000LL == 0 ? 0 : -1;
}

static void
args_term_add(struct search_args *a, const char *term)
{
    if (term[0] == '\0')
        return;
    if (a->query == NULL) {
        a->query = xstrdup(term);
        return;
    }
    char *q = xasprintf("%s %s", a->query, term);
    free(a->query);
    a->query = q;
}

int
args_is_local_time(const struct args_common *c, int is_tty,
                   const char *tz_env)
{
    if (c->is_json || c->time_zone == ARGS_TZ_UTC)
        return 0;
    return c->time_zone == ARGS_TZ_LOCAL ||
           (is_tty && tz_env != NULL && tz_env[0] != '\0');
}

int
args_color_parse(const char *s, int *mode)
{
    if (strcmp(s, "auto") == 0)
        *mode = ARGS_COLOR_AUTO;
    else if (strcmp(s, "always") == 0)
        *mode = ARGS_COLOR_ALWAYS;
    else if (strcmp(s, "never") == 0)
        *mode = ARGS_COLOR_NEVER;
    else
        return -1;
    return 0;
}

/* --timeout: "0" (no limit) or a duration of 1 ms .. 24 h, in ms. */
static int
args_timeout_parse(const char *s, int *ms)
{
    int64_t v;

    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (duration_parse_ns(s, &v) < 0 || v < 1000000LL ||
        v > 86400LL * 1000000000LL)
        return -1;
    *ms = (int)(v / 1000000LL);
    return 0;
}

int
args_common_apply(struct args_common *c, int id, const char *value,
                  char *err, size_t errlen)
{
    switch (id) {
    case FLAGS_O_COLOR:
        if (args_color_parse(value, &c->color_mode) < 0) {
            snprintf(err, errlen, "bad --color '%s' (auto, always or "
                     "never)", value);
            return -1;
        }
        return 1;
    case FLAGS_O_SERVER: c->server = value; return 1;
    case FLAGS_O_TOKEN_FILE: c->token_file = value; return 1;
    case FLAGS_O_TLS_CA: c->tls_ca = value; return 1;
    case FLAGS_O_TIMEOUT:
        if (args_timeout_parse(value, &c->timeout_ms) < 0) {
            snprintf(err, errlen, "bad --timeout '%s' (a duration up to "
                     "24h such as 30s or 10m, or 0 for no limit)", value);
            return -1;
        }
        c->has_timeout = 1;
        return 1;
    case FLAGS_O_JSON: c->is_json = 1; return 1;
    case FLAGS_O_NO_COLOR: c->color_mode = ARGS_COLOR_NEVER; return 1;
    case FLAGS_O_LOCAL: c->time_zone = ARGS_TZ_LOCAL; return 1;
    case FLAGS_O_UTC: c->time_zone = ARGS_TZ_UTC; return 1;
    case FLAGS_O_HELP: c->want_help = 1; return 1;
    default: return 0;
    }
}

static int
args_time_apply(const char *name, const char *v, int64_t now, int *has,
                int64_t *ns, char *err, size_t errlen)
{
    if (args_time_parse(v, now, ns) < 0) {
        snprintf(err, errlen, "bad time '%s' for %s (use e.g. 15m, 2h, 7d, "
                 "1h30m, now or 2026-11-27T13:50:40Z)", v, name);
        return -1;
    }
    *has = 1;
    return 0;
}

static int
args_names_add(struct args_names *l, const char *flag, const char *v,
               char *err, size_t errlen)
{
    if (l->n == ARGS_NAMES_MAX || v[0] == '\0' || strcmp(v, "!") == 0) {
        if (l->n == ARGS_NAMES_MAX)
            snprintf(err, errlen, "too many %s (at most %d)", flag,
                     ARGS_NAMES_MAX);
        else
            snprintf(err, errlen, "empty %s", flag);
        return -1;
    }
    l->v[l->n++] = v;
    return 0;
}

int
args_names_match(const struct args_names *l, const char *name, int is_glob)
{
    int has_alternatives = 0, is_in = 0;

    for (size_t i = 0; i < l->n; i++) {
        int is_negated = l->v[i][0] == '!';
        const char *p = l->v[i] + is_negated;
        int m = is_glob ? fnmatch(p, name, 0) == 0 : strcmp(p, name) == 0;
        if (is_negated && m)
            return 0;
        has_alternatives |= !is_negated;
        is_in |= !is_negated && m;
    }
    return !has_alternatives || is_in;
}

static int
args_search_apply(struct search_args *a, int id, const char *v, int64_t now,
                  char *err, size_t errlen)
{
    switch (id) {
    case FLAGS_O_REGEX:
        if (a->n_regex == ARGS_REGEX_MAX) {
            snprintf(err, errlen, "too many -e (at most %d)",
                     ARGS_REGEX_MAX);
            return -1;
        }
        a->regex[a->n_regex++] = v;
        break;
    case FLAGS_O_NOT_REGEX:
        if (a->n_not_regex == ARGS_REGEX_MAX || v[0] == '\0') {
            snprintf(err, errlen, a->n_not_regex == ARGS_REGEX_MAX
                     ? "too many -v (at most %d)" : "empty -v regex",
                     ARGS_REGEX_MAX);
            return -1;
        }
        a->not_regex[a->n_not_regex++] = v;
        break;
    case FLAGS_O_COUNT: a->is_count = 1; break;
    case FLAGS_O_LIST: a->is_list = 1; break;
    case FLAGS_O_FIXED:
        if (a->fixed != NULL || v[0] == '\0') {
            snprintf(err, errlen, "%s", a->fixed != NULL
                     ? "-F given twice (one fixed string per search)"
                     : "empty -F string");
            return -1;
        }
        a->fixed = v;
        break;
    case FLAGS_O_ICASE: a->is_icase = 1; break;
    case FLAGS_O_HOST:
    case FLAGS_O_CONTAINER:
    case FLAGS_O_IMAGE:
        return args_names_add(id == FLAGS_O_HOST ? &a->hosts
                              : id == FLAGS_O_CONTAINER ? &a->containers
                              : &a->images, id == FLAGS_O_HOST ? "--host"
                              : id == FLAGS_O_CONTAINER ? "--container"
                              : "--image", v, err, errlen);
    case FLAGS_O_DLABEL:
        if (v[v[0] == '!'] == '=') {
            snprintf(err, errlen, "bad --label '%s' (KEY=VALUE or KEY)", v);
            return -1;
        }
        return args_names_add(&a->labels, "--label", v, err, errlen);
    case FLAGS_O_SERVICE:
        return args_names_add(&a->services, "--service", v, err, errlen);
    case FLAGS_O_PROJECT:
        return args_names_add(&a->projects, "--project", v, err, errlen);
    case FLAGS_O_FOLLOW: a->is_follow = 1; break;
    case FLAGS_O_ASC: a->is_asc = 1; break;
    case FLAGS_O_STREAM:
        if (strcmp(v, "stdout") != 0 && strcmp(v, "stderr") != 0) {
            snprintf(err, errlen, "bad --stream '%s' (stdout or stderr)", v);
            return -1;
        }
        a->stream = v;
        break;
    case FLAGS_O_SINCE:
        return args_time_apply("--since", v, now, &a->has_since,
                               &a->since_ns, err, errlen);
    case FLAGS_O_UNTIL:
        return args_time_apply("--until", v, now, &a->has_until,
                               &a->until_ns, err, errlen);
    case FLAGS_O_AFTER:
    case FLAGS_O_BEFORE:
    case FLAGS_O_CONTEXT: {
        unsigned n;
        if (args_context_parse(v, &n) < 0) {
            snprintf(err, errlen, "bad context line count '%s' (0-%d)", v,
                     ARGS_CONTEXT_MAX);
            return -1;
        }
        if (id != FLAGS_O_BEFORE)
            a->after = n;
        if (id != FLAGS_O_AFTER)
            a->before = n;
        break;
    }
    case FLAGS_O_MAX_SCAN:
        if (args_bytes_parse(v, &a->max_scan) < 0) {
            snprintf(err, errlen, "bad --max-scan '%s' (bytes, e.g. 500M "
                     "or 2G)", v);
            return -1;
        }
        break;
    case FLAGS_O_BY:
        if (strcmp(v, "host") != 0 && strcmp(v, "container") != 0 &&
            strcmp(v, "stream") != 0 &&
            (strncmp(v, "field:", 6) != 0 || v[6] == '\0' ||
             strlen(v + 6) > 256) &&
            (strncmp(v, "label:", 6) != 0 || v[6] == '\0' ||
             strlen(v + 6) > 256)) {
            snprintf(err, errlen, "bad --by '%s' (host, container, stream, "
                     "field:NAME or label:KEY)", v);
            return -1;
        }
        a->by = v;
        break;
    case FLAGS_O_STEP:
        if (args_step_check(v) < 0) {
            snprintf(err, errlen, "bad --step '%s' (milliseconds or e.g. "
                     "10s, 1m, 1h; 1ms to 366d)", v);
            return -1;
        }
        a->step = v;
        break;
    case FLAGS_O_LIMIT:
        if (args_limit_parse(v, &a->limit) < 0) {
            snprintf(err, errlen, "bad line count '%s' (0-%ld; 0: all)", v,
                     ARGS_LIMIT_MAX);
            return -1;
        }
        a->has_limit = 1;
        break;
    case FLAGS_O_ALL:
        a->limit = 0;
        a->has_limit = 1;
        break;
    case FLAGS_O_OUTPUT:
        if (strcmp(v, "text") != 0 && strcmp(v, "raw") != 0 &&
            strcmp(v, "json") != 0) {
            snprintf(err, errlen, "bad -o '%s' (text, raw or json)", v);
            return -1;
        }
        a->is_raw = strcmp(v, "raw") == 0;
        a->common.is_json = strcmp(v, "json") == 0;
        break;
    case FLAGS_O_FORMAT:
        a->format = v;
        break;
    case FLAGS_O_TAIL:
        /* docker logs --tail N|all: the N newest, oldest first */
        if (strcmp(v, "all") != 0 && (args_limit_parse(v, &a->limit) < 0 ||
                                      a->limit == 0)) {
            snprintf(err, errlen, "bad --tail '%s' (1-%ld or all)", v,
                     ARGS_LIMIT_MAX);
            return -1;
        }
        if (strcmp(v, "all") == 0)
            a->limit = 0;
        a->has_limit = 1;
        a->is_tail = 1;
        break;
    default:
        return args_common_apply(&a->common, id, v, err, errlen) < 0 ? -1
                                                                     : 0;
    }
    return 0;
}

/* Checks that need every option: time range, -f combos. A regex is
 * checked by the collector's PCRE2 alone (its error names the regex). */
static int
args_search_check(const struct search_args *a, char *err, size_t errlen)
{
    if (a->has_since && a->has_until && a->until_ns <= a->since_ns) {
        snprintf(err, errlen, "--until must be later than --since");
        return -1;
    }
    if (a->is_follow && a->has_until) {
        snprintf(err, errlen, "--until cannot be used with -f");
        return -1;
    }
    if (a->is_follow && (a->before > 0 || a->after > 0)) {
        snprintf(err, errlen, "-A/-B/-C cannot be used with -f");
        return -1;
    }
    if (a->is_tail && (a->is_asc || a->before > 0 || a->after > 0)) {
        snprintf(err, errlen, "--tail cannot be used with --asc or "
                 "-A/-B/-C");
        return -1;
    }
    if (a->format != NULL && (a->is_raw || a->common.is_json)) {
        snprintf(err, errlen, "--format cannot be used with --json or -o "
                 "raw/json");
        return -1;
    }
    if ((a->is_count || a->is_list) && (a->is_raw || a->format != NULL)) {
        snprintf(err, errlen, "-c and -l cannot be used with -o raw or "
                 "--format");
        return -1;
    }
    if (a->is_count && a->is_list) {
        snprintf(err, errlen, "-c and -l cannot be used together");
        return -1;
    }
    if ((a->is_count || a->is_list) &&
        (a->is_follow || a->before > 0 || a->after > 0 || a->has_limit ||
         a->is_asc)) {
        snprintf(err, errlen, "%s cannot be used with -f, -n, --all, "
                 "--tail, --asc or -A/-B/-C", a->is_count ? "-c" : "-l");
        return -1;
    }
    return 0;
}

static int
args_parse_with(unsigned cmd, int argc, char **argv,
                int first, int64_t now, struct search_args *out, char *err,
                size_t errlen)
{
    struct search_args a;
    struct args_iter it;
    int id;

    memset(&a, 0, sizeof(a));
    a.limit = ARGS_LIMIT_DEFAULT;
    args_iter_init(&it, argc, argv, first);
    while ((id = args_next(&it, cmd, err, errlen)) != ARGS_END) {
        if (id == ARGS_ERROR)
            goto fail;
        if (id == ARGS_WORD)
            args_term_add(&a, it.value);
        else if (args_search_apply(&a, id, it.value, now, err, errlen) < 0)
            goto fail;
    }
    if (!a.common.want_help && args_search_check(&a, err, errlen) < 0)
        goto fail;
    *out = a;
    return 0;
fail:
    args_search_fini(&a);
    return -1;
}

int
args_search_parse(int argc, char **argv, int first, int64_t now,
                  struct search_args *out, char *err, size_t errlen)
{
    return args_parse_with(FLAGS_SEARCH, argc, argv, first, now, out,
                           err, errlen);
}

int
args_count_parse(int argc, char **argv, int first, int64_t now,
                 struct search_args *out, char *err, size_t errlen)
{
    return args_parse_with(FLAGS_COUNT, argc, argv, first, now, out,
                           err, errlen);
}

int
args_histogram_parse(int argc, char **argv, int first, int64_t now,
                     struct search_args *out, char *err, size_t errlen)
{
    return args_parse_with(FLAGS_HISTOGRAM, argc, argv, first, now, out,
                           err, errlen);
}

int
args_since_default(struct search_args *a, const char *v, int64_t now)
{
    int64_t ns;

    if (args_time_parse(v, now, &ns) < 0)
        return -1;
    if (!a->has_since && !a->has_until) {
        a->has_since = 1;
        a->since_ns = ns;
    }
    return 0;
}

void
args_search_fini(struct search_args *a)
{
    free(a->query);
    a->query = NULL;
}

int
args_common_parse(int argc, char **argv, int first, unsigned cmd,
                  struct args_common *c, char *err, size_t errlen)
{
    struct args_iter it;
    int id;

    memset(c, 0, sizeof(*c));
    args_iter_init(&it, argc, argv, first);
    while ((id = args_next(&it, cmd, err, errlen)) != ARGS_END) {
        if (id == ARGS_WORD)
            snprintf(err, errlen, "unexpected argument '%s'", it.value);
        if (id == ARGS_ERROR || id == ARGS_WORD ||
            args_common_apply(c, id, it.value, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int
args_list_parse(int argc, char **argv, int first, unsigned cmd,
                struct list_args *out, char *err, size_t errlen)
{
    struct list_args a;
    struct args_iter it;
    int id;

    memset(&a, 0, sizeof(a));
    args_iter_init(&it, argc, argv, first);
    while ((id = args_next(&it, cmd, err, errlen)) != ARGS_END) {
        if (id == ARGS_ERROR)
            return -1;
        if (id == ARGS_WORD) {
            snprintf(err, errlen, "unexpected argument '%s'", it.value);
            return -1;
        }
        if (id == FLAGS_O_HOST) {
            if (args_names_add(&a.hosts, "--host", it.value, err,
                               errlen) < 0)
                return -1;
        } else if (args_common_apply(&a.common, id, it.value, err,
                                   errlen) < 0)
            return -1;
    }
    *out = a;
    return 0;
}

/* ------------------------------------------------------------ targets */

static int
args_ns_param(struct buf *out, int *n, const char *key, int64_t ns)
{
    char v[24];

    snprintf(v, sizeof(v), "%" PRId64, ns);
    return url_param_append(out, n, key, v);
}

static int
args_filters_format(const struct search_args *a, struct buf *out, int *n)
{
    const struct { const char *key, *value; } p[] = {
        { "fixed", a->fixed },
        { "icase", a->is_icase ? "1" : NULL },
    };
    const struct { const char *key; const struct args_names *l; } names[] = {
        { "host", &a->hosts }, { "container", &a->containers },
        { "image", &a->images }, { "label", &a->labels },
        { "service", &a->services }, { "project", &a->projects },
    };

    if (a->query != NULL && url_param_append(out, n, "q", a->query) < 0)
        return -1;
    for (size_t i = 0; i < a->n_regex; i++)
        if (url_param_append(out, n, "regex", a->regex[i]) < 0)
            return -1;
    for (size_t i = 0; i < a->n_not_regex; i++)
        if (url_param_append(out, n, "not_regex", a->not_regex[i]) < 0)
            return -1;
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
        if (p[i].value != NULL &&
            url_param_append(out, n, p[i].key, p[i].value) < 0)
            return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        for (size_t k = 0; k < names[i].l->n; k++)
            if (url_param_append(out, n, names[i].key, names[i].l->v[k]) < 0)
                return -1;
    if (a->stream != NULL && url_param_append(out, n, "stream", a->stream) < 0)
        return -1;
    return 0;
}

static const char *
args_target_path(enum args_target kind)
{
    switch (kind) {
    case ARGS_TARGET_FOLLOW: return "/api/v1/follow";
    case ARGS_TARGET_HISTORY: return "/api/v1/follow";
    case ARGS_TARGET_RESUME: return "/api/v1/follow";
    case ARGS_TARGET_COUNT: return "/api/v1/count";
    case ARGS_TARGET_HISTOGRAM: return "/api/v1/histogram";
    default: return "/api/v1/logs";
    }
}

static int
args_uint_param(struct buf *out, int *n, const char *key, uint64_t v)
{
    char s[24];

    snprintf(s, sizeof(s), "%" PRIu64, v);
    return url_param_append(out, n, key, s);
}

static int
args_is_follow(enum args_target kind)
{
    return kind == ARGS_TARGET_FOLLOW || kind == ARGS_TARGET_HISTORY ||
           kind == ARGS_TARGET_RESUME;
}

/* before/after (search with context), by, step, max_scan, resume. */
static int
args_extra_format(const struct search_args *a, enum args_target kind,
                  struct buf *out, int *n)
{
    int rc = 0, is_ctx = kind == ARGS_TARGET_SEARCH &&
                         (a->before > 0 || a->after > 0);

    if (rc == 0 && is_ctx && a->before > 0)
        rc = args_uint_param(out, n, "before", a->before);
    if (rc == 0 && is_ctx && a->after > 0)
        rc = args_uint_param(out, n, "after", a->after);
    if (rc == 0 && kind == ARGS_TARGET_COUNT && a->by != NULL)
        rc = url_param_append(out, n, "by", a->by);
    if (rc == 0 && kind == ARGS_TARGET_HISTOGRAM && a->step != NULL)
        rc = url_param_append(out, n, "step", a->step);
    if (rc == 0 && a->has_spans && kind != ARGS_TARGET_COUNT &&
        kind != ARGS_TARGET_HISTOGRAM)
        rc = url_param_append(out, n, "spans", "1");
    if (rc == 0 && !args_is_follow(kind) && a->max_scan > 0)
        rc = args_uint_param(out, n, "max_scan", a->max_scan);
    /* every /follow of logq asks where its live lines begin (resume.h) */
    if (rc == 0 && args_is_follow(kind) && !a->no_resume)
        rc = url_param_append(out, n, "resume", "1");
    return rc;
}

int
args_target_format(const struct search_args *a, enum args_target kind,
                   int64_t since_ns, struct buf *out)
{
    size_t saved = out->len;
    const char *path = args_target_path(kind);
    int is_agg = kind == ARGS_TARGET_COUNT || kind == ARGS_TARGET_HISTOGRAM;
    int n_params = 0, rc = buf_append(out, path, strlen(path));
    char limit[24];

    /* A search asks for one extra record to know whether more are left
     * (not with context: the limit counts matches, not lines; not with 0:
     * every match is sent). */
    int is_ctx = a->before > 0 || a->after > 0;
    long n = kind == ARGS_TARGET_SEARCH && !is_ctx && !a->is_tail &&
             a->limit > 0 && a->limit < ARGS_LIMIT_MAX ? a->limit + 1
           : a->limit;
    snprintf(limit, sizeof(limit), "%ld", n);
    if (rc == 0)
        rc = args_filters_format(a, out, &n_params);
    if (rc == 0 && a->has_since && kind != ARGS_TARGET_FOLLOW)
        rc = args_ns_param(out, &n_params, "since", a->since_ns);
    if (rc == 0 && kind == ARGS_TARGET_RESUME)
        rc = args_ns_param(out, &n_params, "received_since", since_ns);
    if (rc == 0 && a->has_until && (kind == ARGS_TARGET_SEARCH || is_agg))
        rc = args_ns_param(out, &n_params, "until", a->until_ns);
    if (rc == 0 && (kind == ARGS_TARGET_SEARCH ||
                    kind == ARGS_TARGET_HISTORY))
        rc = url_param_append(out, &n_params, "limit", limit);
    if (rc == 0 && kind == ARGS_TARGET_SEARCH)
        rc = url_param_append(out, &n_params, "order",
                              a->is_asc ? "asc" : a->is_tail ? "tail"
                                                             : "desc");
    if (rc == 0)
        rc = args_extra_format(a, kind, out, &n_params);
    if (rc < 0)
        out->len = saved;
    return rc;
}
