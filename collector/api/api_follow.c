/* SPDX-License-Identifier: MIT */
/*
 * api_follow: GET /api/v1/follow, a live tail. Each client subscribes to
 * follow.c; nothing of a follower's query runs on the event loop: during
 * a publish round the loop only copies the records that pass the filter
 * checks cursors make (time, stream, host/container/image selection) into
 * the follower's feed (collector/search/feed.c, bounded), and a job on
 * the query workers (api_pool.c) matches them (query) and formats the
 * matches into a slice of JSON lines, sent back on the loop as one chunk.
 * The name selection's answer (container globs: fnmatch) is cached per
 * source (collector/search/selcache.c), so a record costs the loop a
 * hash of its names per follower, not the globs. One job per follower
 * at a time, each feed batch read in push order, so
 * live lines reach the client in commit order, each once.
 *
 * Creation: the loop parses the parameters (400 at once) and subscribes;
 * the follower's first job compiles the query and, with a limit, creates
 * the history search (collector/search/search.c, tail mode: the limit
 * newest matches, oldest first; limit 0: every match, oldest first), so
 * no pattern is compiled and no block directory walked on the loop. Its
 * done callback replies the 400/500 or starts the 200 stream. The history
 * is computed in slices on the workers like /logs, with the same query
 * (one job at a time: the history's, then the live ones); live records
 * meanwhile (from the subscription on) wait in the feed and their
 * identities (follow_keys) beside it. The history's cursor, created on a
 * worker after the subscription, and the tail's second pass may also see
 * records that came live: when a slice is back on the loop its lines that
 * came live are cut out (exact: the loop publishes in the same turn as it
 * commits), so each record is sent exactly once whatever its time (a late
 * record older than the history's newest is sent, as a live line).
 * Resuming (API.md "Resuming a follow"): with resume=1 the receive point
 * is taken in the subscription's loop turn and sent as {"resume":T} when
 * the live lines begin; received_since=T makes the history every match
 * received since T, a catch-up read in rounds by receive time
 * (api_follow_next_round): unsubscribed while a round takes long, so no
 * live line waits beside a long catch-up (the store holds them), and
 * subscribed for the last round only, whose live lines start at its
 * bound (no identity to cut out: the rounds and the live lines do not
 * overlap). A last round whose live lines pass a cap goes back to
 * chasing (api_follow_rechase) instead of being dropped.
 * A job formats every line waiting, up to API_FOLLOW_SLICE_BYTES of JSON
 * (a history slice likewise), and the next one is queued only while the
 * socket holds under API_FOLLOW_LOW_QUEUED (else once it has drained: the
 * written callback): backpressure from the client, with lines waiting in
 * the feed meanwhile. Output is bounded three times: the
 * feed (API_FOLLOW_MAX_FEED bytes or API_FOLLOW_MAX_RECORDS records a
 * batch, live lines held during a history API_FOLLOW_MAX_KEYS;
 * all followers' feeds together API_FOLLOW_MAX_FEEDS, past which the
 * followers with the most waiting are dropped: api_follow_make_room),
 * the slice and the bytes queued on the socket
 * (API_FOLLOW_MAX_QUEUED). A client over a cap (one that does not read,
 * or whose query cannot keep up with the lines) is dropped (logged,
 * counted) instead of being buffered without limit; it can reconnect and
 * fill the gap (received_since=). A blank line is sent after
 * API_FOLLOW_KEEPALIVE_S of silence. The drop happens from a deferred
 * event, outside follow.c's publish loop.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "collector/api/api_count.h"
#include "collector/api/api_internal.h"
#include "collector/api/api_pool.h"
#include "collector/search/feed.h"
#include "collector/search/search.h"
#include "collector/search/selcache.h"
#include "common/log.h"
#include "common/record.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

/* Per batch: the live batch of one follower may take what the budget
 * (API_FOLLOW_MAX_FEEDS, every follower's batches together) has left, so
 * a follower is dropped only once the budget is full, not at half of it
 * while the rest stood empty: a stall of the client or the workers of
 * ~1.2 s at 50 MiB/s of 1 KiB lines (0.6 s with half the budget a
 * batch, which dropped followers merely behind for a moment on a loaded
 * machine, and each then caught up from the store: BENCHMARKS.md "Live
 * tail: where the latency goes"). */
#define API_FOLLOW_MAX_FEED    API_FOLLOW_MAX_FEEDS
#define API_FOLLOW_MAX_RECORDS 524288
#define API_FOLLOW_SLICE_BYTES ((size_t)1 << 20)    /* JSON a job makes */
#define API_FOLLOW_LOW_QUEUED  ((size_t)1 << 20)    /* the next job at once */
#define API_FOLLOW_MAX_QUEUED  ((size_t)4 << 20)
#define API_FOLLOW_KEEPALIVE_S 15
#define API_FOLLOW_TICK_S      5
#define API_FOLLOW_MAX_KEYS    65536
#define API_FOLLOW_SEL_SOURCES 1024     /* name answers cached */
#define API_FOLLOW_OVER_ALL    "live lines of all followers over the cap " \
                               "(64 MiB), this one holding the most"

/* A history line of the slice: where it is in hist_out and its identity
 * (time, host, container id, offset), to skip it on the loop if it also
 * came live (follow_keys). */
struct api_hist_line {
    int64_t  time_ns;
    uint64_t offset;
    size_t   at, len;       /* in hist_out */
    size_t   hc;            /* host, then cid, in line_hc */
};

struct api_follow {
    struct api               *api;
    struct evhttp_request    *req;
    struct evhttp_connection *evcon;
    struct api_params         p;
    struct selcache          *selc;         /* p.sel's answers per source */
    struct query             *q;
    struct follow_sub        *sub;
    struct event             *keepalive_ev;
    struct event             *drop_ev;
    struct evbuffer          *chunk;
    int64_t                   last_write_ns;
    int                       is_dropping;
    int                       is_entered;   /* counted in n_followers */
    struct pool_job           job;          /* a slice on a worker */
    int                       is_busy;      /* job submitted */
    int64_t                   busy_ns;      /* when (mono_ns) */
    int                       is_gone;      /* client left while busy */
    int                       is_started;   /* the 200 stream has begun */
    int64_t                   resume_ns;    /* receive point (p.is_resume) */
    uint64_t                  n_aborted;    /* regex given up, counted */
    /* Creation (the first job, on a worker): */
    struct search_spec        spec;         /* of the history */
    int                       create_code;  /* 0 or the status to reply */
    uint64_t                  n_ahead;      /* a history by event time:
                                               records past its open end */
    int                       is_ahead_bound;
    char                     *create_err;
    /* live lines: pushed by the loop, read by the live job */
    struct feed               feed;
    /* history only */
    struct search            *hist;         /* NULL: live (or is_round) */
    /* A received_since history (a catch-up, API.md "Resuming a follow")
     * goes in rounds: each a search of the records received in
     * [round_since, round_until), round_until a receive point taken on
     * the loop (every record received before it committed), so rounds
     * neither overlap nor leave a gap. While is_chasing the follower is
     * not subscribed (no live line waits: the store holds them); the
     * last round subscribes in the turn its round_until is taken, so its
     * live lines start exactly there. */
    int                       is_chasing;
    int                       is_round;     /* the next round's search is
                                               to be made (hist NULL) */
    struct search            *round_hist;   /* made by that job, moved to
                                               hist on the loop */
    int64_t                   round_since, round_until;
    int64_t                   round_mono;   /* its bound taken (mono_ns) */
    struct follow_keys       *held_keys;    /* of the live lines while the
                                               history is to come */
    /* Written by the job while is_busy, read by the loop after: */
    struct buf                out;          /* a live slice */
    struct buf                hist_out;
    struct api_hist_line     *lines;        /* of hist_out, their keys */
    size_t                    n_lines, cap_lines;
    struct buf                line_hc;      /* host\0cid\0 of each line */
    int                       hrc;          /* search_step status */
    int                       is_full;
    uint64_t                  n_too_large;
};

static void
api_follow_free(struct api_follow *s)
{
    if (s->evcon != NULL)
        api_conn_set_closecb(s->api, s->evcon, NULL, NULL);
    if (s->is_entered)
        api_follower_leave(s->api);
    follow_unsubscribe(s->api->follow, s->sub);
    if (s->keepalive_ev != NULL)
        event_free(s->keepalive_ev);
    if (s->drop_ev != NULL)
        event_free(s->drop_ev);
    if (s->chunk != NULL)
        evbuffer_free(s->chunk);
    search_free(s->hist);
    search_free(s->round_hist);
    follow_keys_free(s->held_keys);
    feed_fini(&s->feed);
    buf_fini(&s->hist_out);
    buf_fini(&s->line_hc);
    free(s->lines);
    query_free(s->q);
    selcache_free(s->selc);
    api_params_fini(&s->p);
    buf_fini(&s->out);
    free(s->create_err);
    free(s);
}

static void
api_follow_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_follow *s = arg;
    struct evhttp_request *req = s->req;

    s->evcon = NULL;
    s->req = NULL;
    if (s->is_busy) {
        /* a history slice runs: it is cancelled and its done callback
         * frees s; nothing else may use s meanwhile */
        s->is_gone = 1;
        s->is_dropping = 1;
        pool_cancel(&s->job);
        follow_unsubscribe(s->api->follow, s->sub);
        s->sub = NULL;
        event_free(s->keepalive_ev);
        event_free(s->drop_ev);
        s->keepalive_ev = s->drop_ev = NULL;
    } else {
        api_follow_free(s);
    }
    if (evhttp_request_get_connection(req) == NULL)
        evhttp_request_free(req);
}

static size_t
api_follow_queued(const struct api_follow *s)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);

    return evbuffer_get_length(bufferevent_get_output(bev));
}

/* Marks the client for dropping; the connection is closed next turn. */
static void
api_follow_drop(struct api_follow *s, const char *why)
{
    if (s->is_dropping)
        return;
    s->is_dropping = 1;
    s->api->stats->follow_clients_dropped++;
    /* where it was stuck: the client (bytes queued on the socket), the
     * workers (a job out for long) or the lines (waiting in the feed) */
    int64_t now = mono_ns();
    log_warn("api", "dropping slow follow client reason=\"%s\" queued=%zu "
             "waiting=%zu job_ms=%lld last_write_ms=%lld", why,
             s->evcon != NULL ? api_follow_queued(s) : 0,
             feed_n_waiting(&s->feed),
             s->is_busy ? (long long)((now - s->busy_ns) / 1000000) : -1LL,
             (long long)((now - s->last_write_ns) / 1000000));
    follow_unsubscribe(s->api->follow, s->sub);
    s->sub = NULL;
    event_active(s->drop_ev, EV_TIMEOUT, 0);
}

static void
api_follow_drop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api_follow *s = arg;

    /* Frees the connection; its close callback frees s. */
    evhttp_connection_free(s->evcon);
}

static void api_follow_written_cb(struct evhttp_connection *evcon,
                                  void *arg);

/* Queues p as one chunk. Its written callback (the output queue drained)
 * queues the next job: the live one held back by api_follow_kick while
 * the queue was over API_FOLLOW_LOW_QUEUED, or the history's next slice.
 * Every chunk carries it, as evhttp keeps only the last one's. */
static void
api_follow_send(struct api_follow *s, const void *p, size_t len)
{
    if (api_follow_queued(s) + len > API_FOLLOW_MAX_QUEUED) {
        api_follow_drop(s, "output queue full");
        return;
    }
    if (evbuffer_add(s->chunk, p, len) < 0) {
        api_follow_drop(s, "out of buffer space");
        return;
    }
    evhttp_send_reply_chunk_with_cb(s->req, s->chunk, api_follow_written_cb,
                                    s);
    evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
    s->last_write_ns = mono_ns();
}

/* On the loop: the checks the store does for a cursor (time, stream,
 * names: their answer cached per source); the query is matched on the
 * worker. */
static int
api_follow_wants(struct api_follow *s, const struct logrec *r)
{
    const struct api_params *p = &s->p;

    if (r->time_ns < p->since_ns)
        return 0;
    if (p->stream >= 0 && r->stream != p->stream)
        return 0;
    if (s->selc == NULL)
        return 1;
    uint64_t n_resets = selcache_n_resets(s->selc);
    int is_match = selcache_match(s->selc, r->host, r->container, r->image,
                                  r->labels);
    /* more sources than the cache holds: it started again (/health) */
    s->api->stats->follow_selcache_resets += selcache_n_resets(s->selc) -
                                             n_resets;
    return is_match;
}

/* 1 while s is in its history: a search, or a catch-up's next round
 * to make. */
static int
api_follow_in_history(const struct api_follow *s)
{
    return s->hist != NULL || s->is_round;
}

/* s's live lines are over a cap during the last round of its catch-up:
 * 1 if s goes back to chasing instead of being dropped (unsubscribed,
 * its live lines released: none was sent, all were received from its
 * round's bound on, where the next round starts), else 0. */
static int
api_follow_rechase(struct api_follow *s)
{
    if (!s->p.has_recv_since || s->is_chasing || s->sub == NULL ||
        !api_follow_in_history(s))
        return 0;
    feed_release_live(&s->feed);
    follow_unsubscribe(s->api->follow, s->sub);
    s->sub = NULL;
    s->is_chasing = 1;
    s->api->stats->follow_rechases++;
    return 1;
}

/* The live lines of all followers together would pass
 * API_FOLLOW_MAX_FEEDS: the followers with the most waiting (the
 * slowest) are dropped (or go back to chasing: api_follow_rechase),
 * their waiting lines released at once, until r fits. Returns
 * feed_push's result: FEED_BUDGET when s itself is the one with the
 * most (or the bytes are all in batches being read). */
static int
api_follow_make_room(struct api_follow *s, const struct logrec *r)
{
    int rc = FEED_BUDGET;
    struct feed *big;

    /* each turn empties one more live batch: at most one per follower */
    while (rc == FEED_BUDGET &&
           (big = feed_budget_largest(&s->api->feed_budget)) != NULL &&
           big != &s->feed) {
        if (!api_follow_rechase(big->owner))
            api_follow_drop(big->owner, API_FOLLOW_OVER_ALL);
        feed_release_live(big);
        rc = feed_push(&s->feed, r);
    }
    return rc;
}

/* follow_record_fn, on the loop: a copy for the live job. */
static void
api_follow_record_cb(const struct logrec *r, void *arg)
{
    struct api_follow *s = arg;

    if (s->is_dropping || !api_follow_wants(s, r))
        return;
    int rc = feed_push(&s->feed, r);
    if (rc == FEED_BUDGET)
        rc = api_follow_make_room(s, r);
    if (rc < 0) {
        if (api_follow_rechase(s))
            return;
        feed_release_live(&s->feed);
        api_follow_drop(s, rc == FEED_BUDGET ? API_FOLLOW_OVER_ALL
                        : "live lines waiting over the cap (the client "
                          "or its query cannot keep up)");
        return;
    }
    if (s->held_keys != NULL && follow_keys_add(s->held_keys, r) < 0)
        api_follow_drop(s, "too many live lines while sending history");
}

static void api_follow_kick(struct api_follow *s);

/* follow_flush_fn: the round is over; the live job takes its lines. */
static void
api_follow_flush_cb(void *arg)
{
    api_follow_kick(arg);
}

/* Counts what a job found that the loop reports: records too large for
 * a reply, regex matches given up. */
static void
api_follow_job_counts(struct api_follow *s)
{
    uint64_t aborted = query_n_regex_aborted(s->q);

    s->api->stats->regex_aborted += aborted - s->n_aborted;
    s->n_aborted = aborted;
    if (s->n_too_large > 0) {
        s->api->stats->http_errors += s->n_too_large;
        log_warn("api", "%llu follow records too large for a reply, "
                 "skipped", (unsigned long long)s->n_too_large);
        s->n_too_large = 0;
    }
}

/* A job of s is back on the loop: 1 if s goes on (counts taken), 0 if
 * it is over with (freed when its client left, else being dropped). */
static int
api_follow_job_back(struct api_follow *s, int is_run)
{
    s->is_busy = 0;
    if (s->is_gone) {
        api_follow_free(s);
        return 0;
    }
    if (!is_run) {                  /* the workers are stopping */
        api_follow_drop(s, "query workers stopping");
        return 0;
    }
    api_follow_job_counts(s);
    return !s->is_dropping;
}

/* ---- live lines ---- */

/* feed_record_fn, on a worker: one live record, formatted if it matches. */
static int
api_follow_live_cb(const struct logrec *r, void *arg)
{
    struct api_follow *s = arg;

    if (!query_match(s->q, r->msg, r->msg_len))
        return 0;
    size_t at = s->out.len;
    if (record_json_append(&s->out, r) < 0 ||
        (s->p.has_spans && api_spans_append(&s->out, s->q, r) < 0)) {
        s->out.len = at;
        s->n_too_large++;           /* counted and logged on the loop */
        return 0;
    }
    return s->is_full = s->out.len >= API_FOLLOW_SLICE_BYTES;
}

/* On a worker: the next slice of live lines into out: every line
 * waiting, up to about API_FOLLOW_SLICE_BYTES of JSON or API_SLICE_NS
 * (cancel checked every API_STEP_RECORDS records). Not a search's 64 KiB:
 * a job costs a round trip through a worker (two thread wake-ups, ~3 ms
 * on a loaded machine), so 64 KiB a job held a follower to ~20 MiB/s
 * (BENCHMARKS.md "What sets the follower's pace"). */
static void
api_follow_live_run(struct pool_job *j)
{
    struct api_follow *s = j->arg;
    int64_t end = mono_ns() + API_SLICE_NS;

    buf_reset(&s->out);
    s->is_full = 0;
    while (feed_run(&s->feed, API_STEP_RECORDS, api_follow_live_cb, s) &&
           !s->is_full && !pool_is_cancelled(j) && mono_ns() < end)
        ;
}

/* pool_done_fn: a live slice is back; it is sent, and the job goes on
 * with what is left or came meanwhile. */
static void
api_follow_live_done(struct pool_job *j, int is_run)
{
    struct api_follow *s = j->arg;

    if (!api_follow_job_back(s, is_run))
        return;
    if (s->out.len > 0)
        api_follow_send(s, s->out.data, s->out.len);
    buf_reset(&s->out);
    api_follow_kick(s);
}

/* Queues the live job when it has lines and nothing else runs (not
 * before the stream has begun nor during the history: its lines come
 * after), and the socket's queue is under API_FOLLOW_LOW_QUEUED: a
 * client that reads slower than the lines come holds them in the feed
 * (bounded: dropped past it), not in the output queue; the written
 * callback kicks again once the queue has drained. */
static void
api_follow_kick(struct api_follow *s)
{
    if (s->is_dropping || s->is_busy || !s->is_started ||
        api_follow_in_history(s) ||
        api_follow_queued(s) >= API_FOLLOW_LOW_QUEUED ||
        !feed_take(&s->feed))
        return;
    s->job.run = api_follow_live_run;
    s->job.done = api_follow_live_done;
    if (api_pool_submit(s->api, &s->job) < 0) {
        api_follow_drop(s, "query workers refused the live lines");
        return;
    }
    s->is_busy = 1;
    s->busy_ns = mono_ns();
}

/* ---- history ---- */

/* search_emit_fn, on a worker: one history line and its identity (the
 * loop skips it if it also came live). */
static int
api_follow_hist_emit_cb(const struct logrec *r, int is_context,
                        int is_group_start, void *arg)
{
    struct api_follow *s = arg;
    size_t at = s->hist_out.len, hc = s->line_hc.len;

    if (s->p.has_recv_since &&
        (r->recv_ns < s->round_since || r->recv_ns >= s->round_until))
        return 0;                   /* not received in this round */
    if (record_json_append(&s->hist_out, r) < 0 ||
        (s->p.has_spans && api_spans_append(&s->hist_out, s->q, r) < 0) ||
        buf_append(&s->line_hc, r->host, strlen(r->host) + 1) < 0 ||
        buf_append(&s->line_hc, r->container_id,
                   strlen(r->container_id) + 1) < 0) {
        s->hist_out.len = at;
        s->line_hc.len = hc;
        s->n_too_large++;           /* counted and logged on the loop */
        return s->is_full = 1;
    }
    if (s->n_lines == s->cap_lines) {
        s->cap_lines = s->cap_lines ? s->cap_lines * 2 : 256;
        s->lines = xreallocarray(s->lines, s->cap_lines, sizeof(*s->lines));
    }
    struct api_hist_line *l = &s->lines[s->n_lines++];
    l->time_ns = r->time_ns;
    l->offset = r->offset;
    l->at = at;
    l->len = s->hist_out.len - at;
    l->hc = hc;
    return s->is_full = s->hist_out.len >= API_FOLLOW_SLICE_BYTES;
}

/* On a worker: one slice of history into hist_out; a catch-up's next
 * round first makes its search, into round_hist (the loop reads hist
 * meanwhile: api_follow_in_history). */
static void
api_follow_hist_run(struct pool_job *j)
{
    struct api_follow *s = j->arg;
    struct search *h = s->hist;

    buf_reset(&s->hist_out);
    buf_reset(&s->line_hc);
    s->n_lines = 0;
    s->is_full = 0;
    if (h == NULL) {
        char *err = NULL;
        s->spec.filter.recv_since_ns = s->round_since;
        h = s->round_hist = search_new(s->api->store, &s->spec, &err);
        if (h == NULL) {
            free(s->create_err);
            s->create_err = err;
            s->hrc = SEARCH_ERROR;
            return;
        }
    }
    s->hrc = api_search_slice(h, j, api_follow_hist_emit_cb, s,
                              &s->is_full);
}

/* On the loop: drops the slice's lines that came live meanwhile. Exact:
 * a record the job read was committed before the job ended, and the loop
 * publishes to followers in the same turn as it commits, so before this
 * runs. */
static void
api_follow_hist_dedup(struct api_follow *s)
{
    size_t w = 0;

    if (s->held_keys == NULL)       /* a catch-up: rounds do not overlap */
        return;
    for (size_t i = 0; i < s->n_lines; i++) {
        const struct api_hist_line *l = &s->lines[i];
        const char *host = (const char *)s->line_hc.data + l->hc;
        struct logrec r = {
            .time_ns = l->time_ns, .host = host,
            .container_id = host + strlen(host) + 1, .offset = l->offset,
        };
        if (follow_keys_has(s->held_keys, &r))
            continue;               /* sent with the live lines */
        memmove(s->hist_out.data + w, s->hist_out.data + l->at, l->len);
        w += l->len;
    }
    s->hist_out.len = w;
}

/* {"resume":"<receive point>"}: the lines before it were the history,
 * those after it are live (API.md "Resuming a follow"). */
static int
api_follow_resume_line(const struct api_follow *s, struct buf *out)
{
    char ts[40];
    size_t n = time_ns_format(s->resume_ns, ts);

    if (buf_append(out, "{\"resume\":\"", 11) < 0 ||
        buf_append(out, ts, n) < 0 || buf_append(out, "\"}\n", 3) < 0)
        return -1;
    return 0;
}

/* A catch-up round has ended (not subscribed): 1 if another follows,
 * the lines received since this one's bound was taken. It is the last
 * (subscribed in this turn, where its bound is taken: its live lines
 * start there, the resume point) when this round took at most
 * api->follow_chase_ns (API_DEF_FOLLOW_CHASE_MS: 250 ms), so the live
 * lines wait beside it for about as
 * long; else the follower chases on unsubscribed, nothing held. A round
 * that took long (a slow client, a loaded host) no longer makes its live
 * lines pass the feed's caps and its client dropped, to resume from the
 * same point with a larger gap (BENCHMARKS.md "Live tail: catch-ups in
 * rounds"). */
static int
api_follow_next_round(struct api_follow *s)
{
    int64_t now = mono_ns();

    if (!s->is_chasing)
        return 0;                   /* the last round is over */
    s->round_since = s->round_until;
    s->round_until = follow_receive_point(s->api->follow, now_ns());
    s->is_round = 1;
    s->api->stats->follow_catchup_rounds++;
    if (now - s->round_mono <= s->api->follow_chase_ns) {
        s->is_chasing = 0;
        s->resume_ns = s->round_until;
        s->sub = follow_subscribe(s->api->follow, api_follow_record_cb,
                                  api_follow_flush_cb, s);
    }
    s->round_mono = now;
    return 1;
}

/* The history is over: what came live meanwhile goes next (the live
 * job, once the last history chunk is queued). */
static void
api_follow_hist_end(struct api_follow *s, int rc)
{
    /* what the open end left out, as /logs says it */
    if (s->n_ahead > 0 &&
        api_ahead_line(&s->hist_out, s->n_ahead, s->is_ahead_bound,
                       s->p.open_end_ns) < 0)
        log_warn("api", "cannot append the ahead line");
    if (rc == SEARCH_ERROR) {
        static const char tail[] = ",\"partial\":true}\n";
        const char *why = search_errstr(s->hist);
        if (buf_append(&s->hist_out, "{\"error\":", 9) < 0 ||
            json_str_append(&s->hist_out, why, strlen(why)) < 0 ||
            buf_append(&s->hist_out, tail, sizeof(tail) - 1) < 0)
            log_warn("api", "cannot append the history error line");
    }
    s->api->stats->search_damaged_blocks += search_n_damaged(s->hist);
    search_free(s->hist);
    s->hist = NULL;
    if (api_follow_next_round(s))
        return;                     /* the catch-up goes on */
    if (s->p.is_resume && api_follow_resume_line(s, &s->hist_out) < 0)
        api_follow_drop(s, "cannot append the resume line");
    follow_keys_free(s->held_keys);
    s->held_keys = NULL;
}

static void api_follow_hist_submit(struct api_follow *s);

/* pool_done_fn: a history slice is back; it is sent, and the next slice
 * queued once it has been written. */
static void
api_follow_hist_done(struct pool_job *j, int is_run)
{
    struct api_follow *s = j->arg;

    if (!api_follow_job_back(s, is_run))
        return;
    s->is_round = 0;
    if (s->hist == NULL) {          /* a round's first slice */
        s->hist = s->round_hist;
        s->round_hist = NULL;
    }
    if (s->hist == NULL) {          /* its search not made */
        log_warn("api", "cannot create a follow catch-up round: %s",
                 s->create_err != NULL ? s->create_err : "?");
        api_follow_drop(s, "cannot create the catch-up's search");
        return;
    }
    api_follow_hist_dedup(s);
    if (s->hrc != SEARCH_MORE)
        api_follow_hist_end(s, s->hrc);
    if (s->hist_out.len == 0) {
        if (api_follow_in_history(s))
            api_follow_hist_submit(s);
        else
            api_follow_kick(s);
        return;
    }
    if (evbuffer_add(s->chunk, s->hist_out.data, s->hist_out.len) < 0) {
        api_follow_drop(s, "out of buffer space");
        return;
    }
    evhttp_send_reply_chunk_with_cb(s->req, s->chunk, api_follow_written_cb,
                                    s);
    evbuffer_drain(s->chunk, evbuffer_get_length(s->chunk));
    s->last_write_ns = mono_ns();
    buf_reset(&s->hist_out);
    if (api_follow_in_history(s))
        api_follow_hist_submit(s);
    else
        api_follow_kick(s);
}

static void
api_follow_hist_submit(struct api_follow *s)
{
    /* the written callback may come at every drain: one job at a time;
     * with over API_FOLLOW_LOW_QUEUED queued, the drain submits it */
    if (s->is_dropping || !api_follow_in_history(s) || s->is_busy ||
        api_follow_queued(s) >= API_FOLLOW_LOW_QUEUED)
        return;
    s->job.run = api_follow_hist_run;
    s->job.done = api_follow_hist_done;
    if (api_pool_submit(s->api, &s->job) < 0) {
        api_follow_drop(s, "query workers refused the history");
        return;
    }
    s->is_busy = 1;
    s->busy_ns = mono_ns();
}

/* The output queue has drained: the next history slice, or live job. */
static void
api_follow_written_cb(struct evhttp_connection *evcon, void *arg)
{
    struct api_follow *s = arg;

    if (api_follow_in_history(s))
        api_follow_hist_submit(s);
    else
        api_follow_kick(s);
}

/* ---- creation ---- */

/* On a worker, the first job: compiles the query and, with a limit,
 * creates the history search. */
static void
api_follow_create_run(struct pool_job *j)
{
    struct api_follow *s = j->arg;

    if (!s->p.has_limit) {
        s->create_code = api_query_compile(&s->p, &s->q, &s->create_err) < 0
                         ? HTTP_BADREQUEST : 0;
        return;
    }
    s->create_code = api_search_create(s->api->store, &s->p, NULL, &s->spec,
                                       &s->q, &s->hist, &s->create_err);
    if (s->create_code == 0 && !s->p.has_recv_since)
        store_count_ahead(s->api->store, &s->spec.filter, s->p.open_end_ns,
                          &s->n_ahead, &s->is_ahead_bound);
}

static void
api_follow_free_cb(void *s)
{
    api_follow_free(s);
}

/* Before the stream has begun: frees s, replies code with why. */
static void
api_follow_fail(struct api_follow *s, int code, const char *why)
{
    api_reply_error_after(s->api, s->req, code,
                          why != NULL ? why : "cannot start follow",
                          api_follow_free_cb, s);
}

/* pool_done_fn of the first job: the error reply, or the 200 stream with
 * the history's first slice (or the live lines waiting). */
static void
api_follow_created(struct pool_job *j, int is_run)
{
    struct api_follow *s = j->arg;

    s->is_busy = 0;
    if (s->is_gone) {
        api_follow_free(s);
        return;
    }
    if (s->is_dropping)             /* fell behind already: drop_ev */
        return;
    if (!is_run) {
        api_follow_fail(s, HTTP_SERVUNAVAIL, "the query workers are "
                        "stopping");
        return;
    }
    if (s->create_code != 0) {
        if (s->create_code != HTTP_BADREQUEST)
            log_warn("api", "cannot start follow history: %s",
                     s->create_err);
        api_follow_fail(s, s->create_code, s->create_err);
        return;
    }
    s->is_started = 1;
    s->api->stats->follow_clients++;
    api_stream_start(s->req);
    s->last_write_ns = mono_ns();
    if (s->hist != NULL) {
        buf_init(&s->hist_out, API_MAX_RECORD_JSON);
        buf_init(&s->line_hc, API_MAX_RECORD_JSON);
        api_follow_hist_submit(s);
    } else {
        follow_keys_free(s->held_keys);
        s->held_keys = NULL;
        if (s->p.is_resume) {
            struct buf line;
            buf_init(&line, 64);
            if (api_follow_resume_line(s, &line) < 0)
                api_follow_drop(s, "cannot format the resume line");
            else
                api_follow_send(s, line.data, line.len);
            buf_fini(&line);
        }
        api_follow_kick(s);
    }
}

/* The history's spec (limit given), for the first job. */
static void
api_follow_hist_spec(struct api_follow *s)
{
    api_search_spec(&s->p, NULL, &s->spec);
    s->spec.limit = s->p.limit > 0 ? s->p.limit : UINT64_MAX;
    s->spec.is_tail = s->p.limit > 0;
    s->spec.is_newest_first = 0;
    s->spec.max_scan_bytes = s->api->max_scan_bytes;
    /* A history by event time (limit=N: the N newest) ends at the open
     * end, as a search does, so records stamped far ahead cannot take
     * its N places; one by arrival (received_since) does not: a resume
     * must catch up every record received meanwhile, as the live lines
     * (commit order, whatever the stamp) would have shown it. */
    if (!s->p.has_recv_since)
        s->spec.filter.until_ns = s->p.open_end_ns;
    /* A catch-up round in the order its records were stored (about
     * receive order, as its live lines would have come), each block read
     * once; in store_key order it opened every block stamped in the same
     * second at once and read each several times under the cursors'
     * memory budget (BENCHMARKS.md "Live tail: catch-ups read in stored
     * order"). Not with context lines (search_new). */
    if (s->p.has_recv_since)
        s->spec.filter.is_stored_order = 1;
}

static void
api_follow_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api_follow *s = arg;
    int64_t idle = mono_ns() - s->last_write_ns;

    /* Not during the history: its slices wait for their write callback,
     * which another chunk would replace. */
    if (!s->is_dropping && s->is_started && !api_follow_in_history(s) &&
        idle >= (int64_t)API_FOLLOW_KEEPALIVE_S * 1000000000 - 100000000)
        api_follow_send(s, "\n", 1);
}

void
api_follow(struct api *a, struct evhttp_request *req, const char *query)
{
    if (api_follower_enter(a, req) < 0)
        return;
    struct api_follow *s = xcalloc(1, sizeof(*s));
    struct timeval tv = { API_FOLLOW_TICK_S, 0 };

    s->api = a;
    s->req = req;
    s->is_entered = 1;
    s->job.arg = s;
    s->job.run = api_follow_create_run;
    s->job.done = api_follow_created;
    buf_init(&s->out, API_MAX_RECORD_JSON);
    feed_init(&s->feed, API_FOLLOW_MAX_FEED, API_FOLLOW_MAX_RECORDS,
              &a->feed_budget, s);
    if (api_search_parse(a, req, query, API_EP_FOLLOW, &s->p) < 0) {
        api_follow_free(s);
        return;
    }
    if (s->p.sel != NULL)
        s->selc = selcache_new(s->p.sel, API_FOLLOW_SEL_SOURCES);
    /* Live lines from now on; the history's cursor, created by the job,
     * may see some of them too: their identities are kept to cut them
     * out of the history. */
    if (s->p.has_limit) {
        api_follow_hist_spec(s);
        if (!s->p.has_recv_since)   /* a catch-up's rounds do not overlap
                                       its live lines */
            s->held_keys = follow_keys_new(API_FOLLOW_MAX_KEYS);
    }
    s->keepalive_ev = event_new(a->base, -1, EV_PERSIST,
                                api_follow_keepalive_cb, s);
    s->drop_ev = event_new(a->base, -1, 0, api_follow_drop_cb, s);
    s->chunk = evbuffer_new();
    if (s->keepalive_ev == NULL || s->drop_ev == NULL || s->chunk == NULL ||
        event_add(s->keepalive_ev, &tv) < 0 ||
        api_pool_submit(a, &s->job) < 0) {
        api_reply_error(a, req, HTTP_INTERNAL, "cannot start follow");
        api_follow_free(s);
        return;
    }
    s->is_busy = 1;
    s->busy_ns = mono_ns();
    /* in the same loop turn as the job's submission: no commit between */
    if (s->p.has_recv_since) {
        /* a catch-up: its first round, not subscribed (next_round) */
        s->is_chasing = 1;
        s->round_since = s->p.recv_since_ns;
        s->round_until = follow_receive_point(a->follow, now_ns());
        s->round_mono = mono_ns();
    } else {
        if (s->p.is_resume)
            s->resume_ns = follow_receive_point(a->follow, now_ns());
        s->sub = follow_subscribe(a->follow, api_follow_record_cb,
                                  api_follow_flush_cb, s);
    }
    s->evcon = evhttp_request_get_connection(req);
    api_conn_set_closecb(s->api, s->evcon, api_follow_close_cb, s);
}
