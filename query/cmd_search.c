/* SPDX-License-Identifier: MIT */
/*
 * cmd_search: the default command, `logq [TERMS...] [options]`: one search
 * (GET /api/v1/logs) printed as it streams in, or with -f a follow
 * (GET /api/v1/follow) that runs until SIGINT/SIGTERM and reconnects when
 * the collector goes away: at once after a stream that was healthy (its
 * head came and it lasted SEARCH_HEALTHY_MS) or printed lines (a slow
 * follower the collector dropped: waiting would only widen the gap its
 * resume must fill), else after a wait that doubles with each failure in
 * a row (SEARCH_BACKOFF_MIN_MS to _MAX_MS).
 * Each outage is said once on stderr: "lost connection" when it starts,
 * "reconnected" once a stream is healthy again (streams that end sooner
 * are failures within it, not new outages).
 *
 * Follow: with -n/--since the first /follow request asks for the history
 * (limit, since): the collector sends the N newest matching lines oldest
 * first, then the live lines, each record exactly once (collector
 * API.md), so logq prints as it reads. Every /follow asks for the
 * collector's resume line; after a reconnect /follow is opened with
 * received_since= the resume point (resume.h): every matching line the
 * collector received meanwhile, late backlogs too, oldest first, then the
 * live lines, on one stream; the lines it sends again are printed once.
 * Before the first resume line a reconnect asks for the first request
 * again, printing again none of its lines. A collector older than this
 * (400 "unknown parameter 'resume'") is followed without resume=1, said
 * on stderr, and a reconnect to it shows only the live lines.
 *
 * Context (-A/-B/-C): the collector sends groups of lines separated by
 * {"break":true}; their records carry "group":N, context lines also
 * "context":true. Text output marks matches "container:" and context lines
 * "container-" (dimmed with color) and prints "--" between groups, like
 * grep; --json passes the records with both fields and drops the break
 * lines. A cap reached by the
 * collector ({"error":...,"partial":true}) is printed on stderr: exit 2.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "query/cmd.h"
#include "query/cmd_count.h"
#include "query/cmd_names.h"
#include "query/linesplit.h"
#include "query/output.h"
#include "query/render.h"
#include "query/reply.h"
#include "query/resume.h"
#include "query/template.h"
#include "query/xreply.h"

#define SEARCH_OUT_MAX        (256u * 1024 * 1024)
#define SEARCH_OUT_FLUSH      (64u * 1024)
#define SEARCH_FOLLOW_IDLE_MS 45000     /* 3 missed 15 s keep-alives */
#define SEARCH_BACKOFF_MIN_MS 250
#define SEARCH_BACKOFF_MAX_MS 8000
/* A follow stream that lasted this long after its head was healthy: its
 * end (a restart, a slow client dropped) is reconnected at once. A
 * shorter one is a failure like a refused connect, so a collector that
 * accepts and drops at once is not asked in a busy loop. */
#define SEARCH_HEALTHY_MS     1000
#define SEARCH_BAD_SHOWN      5

struct search {
    const struct cmd_env *env;
    struct search_args a;
    struct url   url;
    const char  *server;
    int          color;
    struct buf   out;
    long         n_records;
    long         n_bad;
    int          has_more;      /* the search had more than -n records */
    int          is_fatal;      /* an error was printed: exit 2 */
    int          has_context;   /* -A/-B/-C */
    struct render render;
    struct template *tpl;       /* --format, NULL: none */
    char         err[512];      /* why a follow connection ended */
    /* follow only */
    struct resume resume;
    int          is_follow;
    int          n_connects;
    int          backoff_ms;    /* the wait before the next reconnect */
    int          is_down;       /* "lost connection" said, "reconnected"
                                   not yet */
    int64_t      head_ns;       /* mono_ns() when this stream's head came,
                                   0: none yet */
    sigset_t     wait_mask;
};

/* One HTTP request's line handling. */
struct search_req {
    struct search     *s;
    struct linesplit   ls;
    int              (*on_head)(struct search *s);     /* may be NULL */
};

static volatile sig_atomic_t search_stop;

_Static_assert(ARGS_COLOR_AUTO == OUTPUT_COLOR_AUTO &&
               ARGS_COLOR_ALWAYS == OUTPUT_COLOR_ALWAYS &&
               ARGS_COLOR_NEVER == OUTPUT_COLOR_NEVER,
               "one set of --color values");

/* ------------------------------------------------------------ printing */

/* Writes pending output; on failure says why once and marks the run. */
static int
search_flush(struct search *s)
{
    if (cmd_write_out(&s->out) == 0)
        return 0;
    if (!s->is_fatal)
        cmd_error("cannot write output: %s", strerror(errno));
    s->is_fatal = 1;
    return -1;
}

/* A non-record line of a context or capped search; 1 if it was one. */
static int
search_special_line(struct search *s, const char *line, size_t len)
{
    char why[512];

    switch (xreply_line_kind(line, len, why, sizeof(why))) {
    case XREPLY_BREAK:
        if (render_break(&s->render, &s->out) < 0)
            s->is_fatal = 1;
        return 1;
    case XREPLY_ERROR:
        if (search_flush(s) == 0)
            cmd_error("%s (results above are partial)", why);
        s->is_fatal = 1;
        return 1;
    case XREPLY_AHEAD:      /* a note, not an error: the answer is whole */
        if (search_flush(s) == 0)
            cmd_error("%s", why);
        return 1;
    default:
        return 0;
    }
}

static int
search_print_line(const char *line, size_t len, void *arg)
{
    struct search *s = arg;
    struct reply_record rr;
    char why[256];

    if (len == 0 || (len == 1 && line[0] == '\r'))
        return 0;                   /* keep-alive */
    int use_resume = s->is_follow && !s->a.no_resume;
    if (use_resume && resume_line(&s->resume, line, len) != 0) {
        if (s->resume.is_live)
            return 0;
        s->is_fatal = 1;
        cmd_error("bad resume line from collector");
        return -1;
    }
    if (search_special_line(s, line, len))
        return s->is_fatal ? -1 : 0;
    if (reply_record_parse(line, len, &rr, why, sizeof(why)) < 0) {
        if (++s->n_bad <= SEARCH_BAD_SHOWN)
            cmd_error("skipping bad record from collector: %s", why);
        return 0;
    }
    int rc = 0;
    uint64_t h = use_resume ? resume_record_hash(&rr.rec) : 0;
    if (!s->is_follow && !s->has_context && s->a.limit > 0 &&
        s->n_records == s->a.limit) {
        s->has_more = 1;            /* the extra record asked for */
    } else if (!use_resume || !resume_is_repeat(&s->resume, h)) {
        rc = render_record(&s->render, &rr, &s->out);
        s->n_records++;
        if (use_resume)
            resume_printed(&s->resume, rr.rec.recv_ns, h);
    }
    reply_record_fini(&rr);
    if (rc < 0) {
        s->is_fatal = 1;
        cmd_error("record too large to print");
        return -1;
    }
    if (s->out.len >= SEARCH_OUT_FLUSH && search_flush(s) < 0)
        return -1;
    return 0;
}

static int
search_line_cb(const char *line, size_t len, void *arg)
{
    struct search_req *r = arg;

    return search_print_line(line, len, r->s);
}

/* ------------------------------------------------------------ requests */

static void search_follow_note_up(struct search *s);

static int
search_body_cb(const char *p, size_t n, void *arg)
{
    struct search_req *r = arg;

    if (r->s->is_down)
        search_follow_note_up(r->s);

    if (linesplit_feed(&r->ls, p, n, search_line_cb, r) < 0) {
        if (r->ls.errstr != NULL) {
            r->s->is_fatal = 1;
            cmd_error("bad reply from collector: %s", r->ls.errstr);
        }
        return -1;
    }
    return search_flush(r->s);
}

static int
search_head_cb(int status, void *arg)
{
    struct search_req *r = arg;

    return r->on_head != NULL ? r->on_head(r->s) : 0;
}

/* Runs one GET; lines are printed as they arrive. */
static enum client_result
search_request(struct search *s, const char *target, int idle_ms,
               int (*on_head)(struct search *))
{
    struct search_req r = { .s = s, .on_head = on_head };
    struct client_req req = {
        .url = &s->url, .target = target, .idle_timeout_ms = idle_ms,
        .head_fn = search_head_cb, .body_fn = search_body_cb, .arg = &r,
    };

    if (s->is_follow) {
        req.stop = &search_stop;
        req.wait_mask = &s->wait_mask;
    }
    linesplit_init(&r.ls, LINESPLIT_DEFAULT_MAX);
    enum client_result res = client_get(&req, NULL, s->err, sizeof(s->err));
    if (res == CLIENT_OK && linesplit_finish(&r.ls, search_line_cb, &r) < 0)
        res = CLIENT_E_STOPPED;
    linesplit_fini(&r.ls);
    if (res == CLIENT_OK && search_flush(s) < 0)
        res = CLIENT_E_STOPPED;
    return res;
}

static int
search_target(const struct search *s, enum args_target kind, int64_t since,
              struct buf *t)
{
    if (args_target_format(&s->a, kind, since, t) < 0 ||
        buf_append(t, "", 1) < 0)
        return cmd_error("query too long");
    return 0;
}

static void
search_summary(const struct search *s)
{
    if (s->n_bad > SEARCH_BAD_SHOWN)
        cmd_error("%ld bad records from collector skipped in all",
                  s->n_bad);
    if (s->resume.n_unkept > 0)
        cmd_error("%llu lines not remembered for a reconnect (over %u): "
                  "some may have printed twice",
                  (unsigned long long)s->resume.n_unkept, RESUME_MAX_KEPT);
}

/* ------------------------------------------------------------ one search */

static int
search_once(struct search *s)
{
    struct buf t;

    buf_init(&t, 1u << 20);
    if (search_target(s, ARGS_TARGET_SEARCH, 0, &t) != 0) {
        buf_fini(&t);
        return CMD_EXIT_ERROR;
    }
    enum client_result res = search_request(s, (const char *)t.data,
                                            s->url.reply_timeout_ms, NULL);
    buf_fini(&t);
    search_summary(s);
    if (res != CLIENT_OK)
        return s->is_fatal ? CMD_EXIT_ERROR
                           : cmd_client_error(res, s->server, s->err);
    if (s->has_more && s->env->stdout_is_tty)
        fprintf(stderr, "(more lines available: use -n)\n");
    if (s->n_records > 0)
        return CMD_EXIT_OK;
    cmd_names_check(s->env, &s->a);
    return CMD_EXIT_NOMATCH;
}

/* ------------------------------------------------------------ follow */

/* The /follow head arrived: its history (if any), then its resume line
 * and the live lines come on this stream. */
static int
search_follow_head(struct search *s)
{
    s->head_ns = mono_ns();
    resume_connect(&s->resume);
    s->n_connects++;
    return 0;
}

/* After a loss was said: once this stream is healthy (SEARCH_HEALTHY_MS
 * after its head), says it is over. Checked as its bytes come (the
 * collector's keep-alives: every 15 s) and at its end. */
static void
search_follow_note_up(struct search *s)
{
    if (!s->is_down || s->head_ns == 0 ||
        mono_ns() - s->head_ns < SEARCH_HEALTHY_MS * 1000000LL)
        return;
    s->is_down = 0;
    cmd_error("reconnected to collector at %s%s", s->server,
              s->a.no_resume ? " (it cannot resume: the lines it "
              "received while logq was disconnected are not shown)" : "");
}

static void
search_signal_cb(int sig)
{
    (void)sig;
    search_stop = 1;
}

/* SIGINT/SIGTERM stay blocked except inside ppoll (see client.h). */
static int
search_signals_setup(struct search *s)
{
    struct sigaction sa;
    sigset_t block;

    search_stop = 0;            /* a stop of an earlier follow in this
                                   process (the tests run several) */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = search_signal_cb;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
        sigprocmask(SIG_BLOCK, &block, &s->wait_mask) < 0)
        return cmd_error("cannot set up signal handling");
    sigdelset(&s->wait_mask, SIGINT);
    sigdelset(&s->wait_mask, SIGTERM);
    return 0;
}

static void
search_backoff_sleep(struct search *s)
{
    struct timespec ts = {
        .tv_sec = s->backoff_ms / 1000,
        .tv_nsec = (long)(s->backoff_ms % 1000) * 1000000L,
    };

    ppoll(NULL, 0, &ts, &s->wait_mask);     /* EINTR on SIGINT is fine */
    s->backoff_ms *= 2;
    if (s->backoff_ms > SEARCH_BACKOFF_MAX_MS)
        s->backoff_ms = SEARCH_BACKOFF_MAX_MS;
}

/* The next /follow: received_since the resume point once there is one,
 * else the first request (first: with its history, if any) again; from a
 * collector that cannot resume, only the live lines after the first. */
static int
search_follow_target(const struct search *s, enum args_target first,
                     struct buf *t)
{
    t->len = 0;
    if (s->a.no_resume)
        return search_target(s, s->n_connects == 0 ? first
                                                   : ARGS_TARGET_FOLLOW,
                             0, t);
    if (!s->resume.has_point)
        return search_target(s, first, 0, t);
    return search_target(s, ARGS_TARGET_RESUME, s->resume.point, t);
}

/* Returns the exit status once a signal, or a fatal error, ends it. */
static int
search_follow_loop(struct search *s, enum args_target first, struct buf *t)
{
    s->backoff_ms = SEARCH_BACKOFF_MIN_MS;
    for (;;) {
        int before = s->n_connects;
        long printed = s->n_records;
        if (search_follow_target(s, first, t) != 0)
            return CMD_EXIT_ERROR;
        s->head_ns = 0;
        enum client_result res = search_request(s, (const char *)t->data,
                                                SEARCH_FOLLOW_IDLE_MS,
                                                search_follow_head);
        if (search_stop)
            return CMD_EXIT_OK;
        if (s->is_fatal)
            return CMD_EXIT_ERROR;
        if (res == CLIENT_E_HTTP && !s->a.no_resume &&
            resume_refused(s->err)) {
            cmd_error("collector at %s is older than logq and cannot "
                      "resume a follow: following without (after a "
                      "reconnect, what it received meanwhile is not "
                      "shown)", s->server);
            s->a.no_resume = 1;     /* the same request, without resume=1 */
            continue;
        }
        if (res == CLIENT_E_HTTP || s->n_connects == 0)
            return cmd_client_error(res, s->server, s->err);
        if (res == CLIENT_OK)
            snprintf(s->err, sizeof(s->err), "collector ended the stream");
        search_follow_note_up(s);   /* healthy, but no byte came since */
        if (!s->is_down)
            cmd_error("lost connection to collector at %s: %s; "
                      "reconnecting", s->server, s->err);
        s->is_down = 1;
        if (s->n_connects > before &&
            (s->n_records > printed ||
             mono_ns() - s->head_ns >= SEARCH_HEALTHY_MS * 1000000LL)) {
            /* healthy, or it printed lines (a follower dropped for being
             * behind): at once */
            s->backoff_ms = SEARCH_BACKOFF_MIN_MS;
            continue;
        }
        search_backoff_sleep(s);
        if (search_stop)
            return CMD_EXIT_OK;
    }
}

static int
search_follow(struct search *s)
{
    struct buf t;

    if (search_signals_setup(s) != 0)
        return CMD_EXIT_ERROR;
    /* History only with -n/--since, as tail -f prints none by default. */
    enum args_target kind = s->a.has_limit || s->a.has_since
                            ? ARGS_TARGET_HISTORY : ARGS_TARGET_FOLLOW;
    buf_init(&t, 1u << 20);
    int rc = search_follow_loop(s, kind, &t);
    buf_fini(&t);
    if (search_flush(s) < 0)
        rc = CMD_EXIT_ERROR;
    search_summary(s);
    return rc;
}

/* ------------------------------------------------------------ entry */

int
cmd_search_exec(const struct cmd_env *env, int argc, char **argv, int first)
{
    struct search s;
    char err[512];
    int rc = CMD_EXIT_ERROR;

    memset(&s, 0, sizeof(s));
    s.env = env;
    buf_init(&s.out, SEARCH_OUT_MAX);
    if (args_search_parse(argc, argv, first, env->now, &s.a, err,
                          sizeof(err)) < 0) {
        buf_fini(&s.out);
        return cmd_usage_error(err);
    }
    if (env->conf_since != NULL &&
        args_since_default(&s.a, env->conf_since, env->now) < 0) {
        rc = cmd_error("bad since '%s' in the config file",
                       env->conf_since);
        goto done;
    }
    if (s.a.common.want_help) {
        env->usage(stdout, FLAGS_SEARCH);
        rc = CMD_EXIT_OK;
        goto done;
    }
    if (s.a.is_count || s.a.is_list) {
        rc = cmd_count_grep(env, &s.a);
        goto done;
    }
    if (cmd_url_open(env, &s.a.common, &s.url, &s.server) < 0)
        goto done;
    output_time_set_local(args_is_local_time(&s.a.common, env->stdout_is_tty,
                                             env->env_tz));
    s.color = output_color_enabled(env->stdout_is_tty,
                                   s.a.common.color_mode,
                                   env->env_no_color);
    /* Highlighting: the collector says which bytes matched. */
    s.a.has_spans = s.color && !s.a.common.is_json && !s.a.is_raw &&
                    s.a.format == NULL &&
                    (s.a.query != NULL || s.a.n_regex > 0 ||
                     s.a.fixed != NULL);
    s.is_follow = s.a.is_follow;
    s.has_context = s.a.before > 0 || s.a.after > 0;
    render_init(&s.render, s.a.common.is_json, s.has_context, s.color);
    if (s.a.format != NULL &&
        (s.tpl = template_parse(s.a.format, err, sizeof(err))) == NULL) {
        rc = cmd_usage_error(err);
        goto done;
    }
    s.render.tpl = s.tpl;
    if (!s.a.common.is_json && !s.a.is_raw && s.tpl == NULL)
        cmd_names_widths(env, &s.a, &s.render.widths);
    s.render.is_raw = s.a.is_raw;
    s.render.is_raw_escaped = env->stdout_is_tty;
    resume_init(&s.resume);
    rc = s.is_follow ? search_follow(&s) : search_once(&s);
done:
    template_free(s.tpl);
    resume_fini(&s.resume);
    url_fini(&s.url);
    args_search_fini(&s.a);
    buf_fini(&s.out);
    return rc;
}
