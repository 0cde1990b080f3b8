/* SPDX-License-Identifier: MIT */
/*
 * api_pool: the query workers seen from the HTTP side; see api_pool.h.
 * Each search has at most one job in flight, so the pool's queue (sized
 * to every admitted search, follower and Grafana body being parsed)
 * never refuses an admitted one.
 */
#include "collector/api/api_pool.h"

#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "collector/api/api_internal.h"
#include "common/log.h"
#include "common/xmalloc.h"

static int64_t
api_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
api_pool_cb(evutil_socket_t fd, short what, void *arg)
{
    struct api *a = arg;

    pool_drain(a->pool);
}

int
api_pool_start(struct api *a, unsigned n_threads, char **errstr)
{
    a->pool = pool_new(n_threads, (size_t)a->max_searches + a->max_followers +
                                  a->max_parsing, errstr);
    if (a->pool == NULL)
        return -1;
    pool_set_name(a->pool, "lq-query");
    a->pool_ev = event_new(a->base, pool_fd(a->pool), EV_READ | EV_PERSIST,
                           api_pool_cb, a);
    if (a->pool_ev == NULL || event_add(a->pool_ev, NULL) < 0) {
        *errstr = xstrdup("cannot watch the query workers");
        return -1;
    }
    return 0;
}

void
api_pool_stop(struct api *a)
{
    pool_free(a->pool);         /* runs the outstanding done callbacks */
    a->pool = NULL;
    if (a->pool_ev != NULL)
        event_free(a->pool_ev);
    a->pool_ev = NULL;
}

static int
api_over_cap(struct api *a, struct evhttp_request *req, const char *what,
             unsigned cap, uint64_t *counter)
{
    char msg[128];

    (*counter)++;
    snprintf(msg, sizeof(msg), "too many %s in progress (%u): retry later",
             what, cap);
    api_retry_after(req);
    api_reply_error(a, req, HTTP_SERVUNAVAIL, msg);
    return -1;
}

int
api_search_enter(struct api *a, struct evhttp_request *req)
{
    if (a->n_searches >= a->max_searches)
        return api_over_cap(a, req, "searches", a->max_searches,
                            &a->stats->searches_refused);
    a->n_searches++;
    return 0;
}

int
api_search_admit(struct api *a)
{
    if (a->n_searches >= a->max_searches) {
        a->stats->searches_refused++;
        return -1;
    }
    a->n_searches++;
    return 0;
}

void
api_retry_after(struct evhttp_request *req)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                      API_RETRY_AFTER_S);
}

void
api_search_leave(struct api *a)
{
    a->n_searches--;
}

int
api_follower_enter(struct api *a, struct evhttp_request *req)
{
    if (a->n_followers >= a->max_followers)
        return api_over_cap(a, req, "followers", a->max_followers,
                            &a->stats->followers_refused);
    a->n_followers++;
    return 0;
}

void
api_follower_leave(struct api *a)
{
    a->n_followers--;
}

int
api_search_slice(struct search *s, const struct pool_job *j,
                 search_emit_fn emit, void *arg, const int *is_full)
{
    return api_search_slice_ns(s, j, emit, arg, is_full, API_SLICE_NS);
}

int
api_search_slice_ns(struct search *s, const struct pool_job *j,
                    search_emit_fn emit, void *arg, const int *is_full,
                    int64_t slice_ns)
{
    int64_t end = api_mono_ns() + slice_ns;
    int rc = SEARCH_MORE;

    /* a step counts as API_STEP_RECORDS records, or as the records it
     * read when more, those the cursor dropped unseen API_DROP_SHARE to
     * one */
    for (uint64_t n = 0; n < API_SLICE_RECORDS;) {
        uint64_t n0 = search_n_seen(s), d0 = search_n_dropped(s);
        rc = search_step(s, API_STEP_RECORDS, emit, arg);
        uint64_t dropped = search_n_dropped(s) - d0;
        uint64_t d = search_n_seen(s) - n0 - dropped +
                     dropped / API_DROP_SHARE;
        n += d > API_STEP_RECORDS ? d : API_STEP_RECORDS;
        if (rc != SEARCH_MORE || (is_full && *is_full) ||
            pool_is_cancelled(j) || api_mono_ns() >= end)
            break;
    }
    return rc;
}

int
api_peer_gone(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    char c;

    if (fd < 0)
        return 0;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                      errno != EINTR);
}

int
api_pool_submit(struct api *a, struct pool_job *j)
{
    if (pool_submit(a->pool, j) < 0) {
        log_warn("api", "query workers refused a job");
        return -1;
    }
    return 0;
}
