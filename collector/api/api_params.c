/* SPDX-License-Identifier: MIT */
/*
 * api_params: query-string parsing for the search endpoints. libevent's
 * evhttp_parse_query_str splits and percent-decodes the pairs (it does not
 * turn '+' into a space, so that is done first on a copy); each known name
 * has a setter in one table. Values are capped in length before anything is
 * compiled, so a hostile URL costs at most API_PARAMS_MAX_QUERY bytes of
 * work. Talks to nobody; the handlers in api_logs.c/api_follow.c call it.
 */
#include "collector/api/api_params.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "collector/search/query.h"
#include "collector/search/query_regex.h"
#include "collector/store/namesel.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

typedef int (*api_param_set_fn)(struct api_params *p, const char *v,
                                char **errstr);

enum {
    API_ONLY_ANY,       /* every endpoint */
    API_ONLY_LOGS,      /* /logs only */
    API_ONLY_FOLLOW,    /* /follow only */
};

struct api_param_def {
    const char      *name;
    int              only;          /* API_ONLY_* */
    int              is_repeatable;
    api_param_set_fn set;
};

/* ---- setters ---- */

static int
api_param_string(char **dst, const char *name, const char *v, size_t max,
                 int may_be_empty, char **errstr)
{
    size_t len = strlen(v);

    if (len == 0 && !may_be_empty) {
        *errstr = xasprintf("empty %s", name);
        return -1;
    }
    if (len > max) {
        *errstr = xasprintf("%s too long (at most %zu bytes)", name, max);
        return -1;
    }
    *dst = xstrdup(v);
    return 0;
}

static int
api_param_q(struct api_params *p, const char *v, char **errstr)
{
    free(p->q);
    p->q = NULL;
    return api_param_string(&p->q, "q", v, QUERY_MAX_TEXT, 1, errstr);
}

_Static_assert(API_PARAMS_MAX_REGEX == QUERY_REGEX_MAX_PATTERNS,
               "one cap for regex alternatives");

static int
api_param_regex(struct api_params *p, const char *v, char **errstr)
{
    if (p->n_regex == API_PARAMS_MAX_REGEX) {
        *errstr = xasprintf("too many regex parameters (at most %d)",
                            API_PARAMS_MAX_REGEX);
        return -1;
    }
    if (api_param_string(&p->regex[p->n_regex], "regex", v, QUERY_MAX_REGEX,
                         1, errstr) < 0)
        return -1;
    p->n_regex++;
    return 0;
}

static int
api_param_not_regex(struct api_params *p, const char *v, char **errstr)
{
    if (p->n_not_regex == API_PARAMS_MAX_REGEX) {
        *errstr = xasprintf("too many not_regex parameters (at most %d)",
                            API_PARAMS_MAX_REGEX);
        return -1;
    }
    if (api_param_string(&p->not_regex[p->n_not_regex], "not_regex", v,
                         QUERY_MAX_REGEX, 0, errstr) < 0)
        return -1;
    p->n_not_regex++;
    return 0;
}

static int
api_param_spans(struct api_params *p, const char *v, char **errstr)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "0") == 0) {
        p->has_spans = v[0] == '1';
        return 0;
    }
    *errstr = xstrdup("bad spans: want 1 or 0");
    return -1;
}

/* v (at most max bytes) added to the selection as field's. */
static int
api_param_sel(struct api_params *p, enum namesel_field field,
              const char *name, size_t max, const char *v, char **errstr)
{
    if (strlen(v) > max) {
        *errstr = xasprintf("%s too long (at most %zu bytes)", name, max);
        return -1;
    }
    if (p->sel == NULL)
        p->sel = namesel_new();
    return namesel_add(p->sel, field, v, errstr);
}

static int
api_param_name(struct api_params *p, enum namesel_field field,
               const char *name, const char *v, char **errstr)
{
    return api_param_sel(p, field, name, API_PARAMS_MAX_NAME, v, errstr);
}

static int
api_param_host(struct api_params *p, const char *v, char **errstr)
{
    return api_param_name(p, NAMESEL_HOST, "host", v, errstr);
}

static int
api_param_container(struct api_params *p, const char *v, char **errstr)
{
    return api_param_name(p, NAMESEL_CONTAINER, "container", v, errstr);
}

static int
api_param_image(struct api_params *p, const char *v, char **errstr)
{
    return api_param_name(p, NAMESEL_IMAGE, "image", v, errstr);
}

/* KEY=GLOB or KEY (collector/store/namesel.h): a key and a value of up to
 * 256 bytes each (common/labelset.h) and the '!' and '='. */
static int
api_param_label(struct api_params *p, const char *v, char **errstr)
{
    return api_param_sel(p, NAMESEL_LABEL, "label",
                         2 * API_PARAMS_MAX_NAME + 2, v, errstr);
}

static int
api_param_service(struct api_params *p, const char *v, char **errstr)
{
    return api_param_name(p, NAMESEL_SERVICE, "service", v, errstr);
}

static int
api_param_project(struct api_params *p, const char *v, char **errstr)
{
    return api_param_name(p, NAMESEL_PROJECT, "project", v, errstr);
}

static int
api_param_fixed(struct api_params *p, const char *v, char **errstr)
{
    return api_param_string(&p->fixed, "fixed", v, QUERY_MAX_TEXT, 0,
                            errstr);
}

static int
api_param_icase(struct api_params *p, const char *v, char **errstr)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
        p->is_icase = 1;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
        p->is_icase = 0;
    else {
        *errstr = xstrdup("bad icase: want 1 or 0");
        return -1;
    }
    return 0;
}

static int
api_param_stream(struct api_params *p, const char *v, char **errstr)
{
    if (strcmp(v, "stdout") == 0)
        p->stream = LOGREC_STDOUT;
    else if (strcmp(v, "stderr") == 0)
        p->stream = LOGREC_STDERR;
    else {
        *errstr = xstrdup("bad stream: want stdout or stderr");
        return -1;
    }
    return 0;
}

/* Digits only (an optional leading '-'): unix nanoseconds. */
static int
api_param_is_integer(const char *v)
{
    const char *s = v[0] == '-' ? v + 1 : v;

    if (*s == '\0')
        return 0;
    return strspn(s, "0123456789") == strlen(s);
}

static int
api_param_time(int64_t *dst, const char *name, const char *v, char **errstr)
{
    if (api_param_is_integer(v)) {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno == 0 && *end == '\0') {
            *dst = (int64_t)n;
            return 0;
        }
    } else if (rfc3339_parse_ns(v, strlen(v), dst) == 0) {
        return 0;
    }
    *errstr = xasprintf("bad %s: want RFC 3339 time or unix nanoseconds",
                        name);
    return -1;
}

static int
api_param_since(struct api_params *p, const char *v, char **errstr)
{
    return api_param_time(&p->since_ns, "since", v, errstr);
}

static int
api_param_until(struct api_params *p, const char *v, char **errstr)
{
    p->has_until = 1;
    return api_param_time(&p->until_ns, "until", v, errstr);
}

static int
api_param_limit(struct api_params *p, const char *v, char **errstr)
{
    char *end;

    if (v[0] >= '0' && v[0] <= '9' && strlen(v) <= 10) {
        unsigned long long n = strtoull(v, &end, 10);
        if (*end == '\0' && n <= API_PARAMS_MAX_LIMIT) {
            p->limit = n;
            p->has_limit = 1;
            return 0;
        }
    }
    *errstr = xasprintf("bad limit: want 0 (all) to %d",
                        API_PARAMS_MAX_LIMIT);
    return -1;
}

/* /follow: the history is every record received at or after v. */
static int
api_param_recv_since(struct api_params *p, const char *v, char **errstr)
{
    p->has_recv_since = 1;
    p->is_resume = 1;
    return api_param_time(&p->recv_since_ns, "received_since", v, errstr);
}

static int
api_param_resume(struct api_params *p, const char *v, char **errstr)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "0") == 0) {
        p->is_resume |= v[0] == '1';
        return 0;
    }
    *errstr = xstrdup("bad resume: want 1 or 0");
    return -1;
}

static int
api_param_order(struct api_params *p, const char *v, char **errstr)
{
    p->is_tail = strcmp(v, "tail") == 0;
    if (strcmp(v, "desc") == 0)
        p->is_newest_first = 1;
    else if (strcmp(v, "asc") == 0 || p->is_tail)
        p->is_newest_first = 0;
    else {
        *errstr = xstrdup("bad order: want asc, desc or tail");
        return -1;
    }
    return 0;
}

static const struct api_param_def api_param_defs[] = {
    { "q", 0, 0, api_param_q },
    { "regex", 0, 1, api_param_regex },
    { "not_regex", 0, 1, api_param_not_regex },
    { "spans", 0, 0, api_param_spans },
    { "icase", 0, 0, api_param_icase },
    { "fixed", 0, 0, api_param_fixed },
    { "host", 0, 1, api_param_host },
    { "container", 0, 1, api_param_container },
    { "image", 0, 1, api_param_image },
    { "label", 0, 1, api_param_label },
    { "service", 0, 1, api_param_service },
    { "project", 0, 1, api_param_project },
    { "stream", 0, 0, api_param_stream },
    { "since", 0, 0, api_param_since },
    { "until", API_ONLY_LOGS, 0, api_param_until },
    { "limit", 0, 0, api_param_limit },    /* /follow: history */
    { "order", API_ONLY_LOGS, 0, api_param_order },
    { "received_since", API_ONLY_FOLLOW, 0, api_param_recv_since },
    { "resume", API_ONLY_FOLLOW, 0, api_param_resume },
};
#define API_N_PARAMS (sizeof(api_param_defs) / sizeof(api_param_defs[0]))

/* ---- parsing ---- */

static void
api_params_defaults(struct api_params *p)
{
    memset(p, 0, sizeof(*p));
    p->q = xstrdup("");
    p->stream = -1;
    p->since_ns = INT64_MIN;
    p->until_ns = INT64_MAX;
    p->limit = API_PARAMS_DEFAULT_LIMIT;
    p->is_newest_first = 1;
}

static int
api_params_apply(const struct evkeyvalq *kv, enum api_endpoint ep,
                 struct api_params *p, char **errstr)
{
    unsigned seen = 0;
    const struct evkeyval *e;

    TAILQ_FOREACH(e, kv, next) {
        size_t i;
        for (i = 0; i < API_N_PARAMS; i++)
            if (strcmp(e->key, api_param_defs[i].name) == 0)
                break;
        if (i == API_N_PARAMS ||
            (api_param_defs[i].only == API_ONLY_LOGS && ep != API_EP_LOGS) ||
            (api_param_defs[i].only == API_ONLY_FOLLOW &&
             ep != API_EP_FOLLOW)) {
            *errstr = xasprintf("unknown parameter '%.64s'", e->key);
            return -1;
        }
        if ((seen & (1u << i)) && !api_param_defs[i].is_repeatable) {
            *errstr = xasprintf("repeated parameter '%s'", e->key);
            return -1;
        }
        seen |= 1u << i;
        if (api_param_defs[i].set(p, e->value, errstr) < 0)
            return -1;
    }
    if (p->since_ns >= p->until_ns) {
        *errstr = xstrdup("since must be before until");
        return -1;
    }
    if (p->has_recv_since && p->has_limit && p->limit > 0) {
        *errstr = xstrdup("received_since sends every match received "
                          "since: not with a limit");
        return -1;
    }
    if (p->has_recv_since) {        /* the history: every match, oldest first */
        p->has_limit = 1;
        p->limit = 0;
    }
    return 0;
}

int
api_params_parse(const char *query, enum api_endpoint ep,
                 struct api_params *p, char **errstr)
{
    struct evkeyvalq kv;
    char *copy = NULL;

    TAILQ_INIT(&kv);
    api_params_defaults(p);
    if (query == NULL || query[0] == '\0')
        return 0;
    if (strlen(query) > API_PARAMS_MAX_QUERY) {
        *errstr = xasprintf("query string too long (at most %d bytes)",
                            API_PARAMS_MAX_QUERY);
        goto fail;
    }
    copy = xstrdup(query);
    for (char *c = copy; *c; c++)
        if (*c == '+')
            *c = ' ';
    if (evhttp_parse_query_str(copy, &kv) < 0) {
        *errstr = xstrdup("malformed query string");
        goto fail;
    }
    if (api_params_apply(&kv, ep, p, errstr) < 0)
        goto fail;
    evhttp_clear_headers(&kv);
    free(copy);
    return 0;
fail:
    evhttp_clear_headers(&kv);
    free(copy);
    api_params_fini(p);
    return -1;
}

void
api_params_fini(struct api_params *p)
{
    free(p->q);
    for (size_t i = 0; i < p->n_regex; i++)
        free(p->regex[i]);
    for (size_t i = 0; i < p->n_not_regex; i++)
        free(p->not_regex[i]);
    free(p->fixed);
    namesel_free(p->sel);
    memset(p, 0, sizeof(*p));
}
