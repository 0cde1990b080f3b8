/* SPDX-License-Identifier: MIT */
/*
 * apiserver: the collector API of a cmocka test (collector/api/api_*_test.c)
 * served on 127.0.0.1:0 from the test's own event loop, over a fresh store
 * in a temporary directory, with a follow stage: opened in two steps (the
 * store, which the test may fill, then the loop and the API) and closed in
 * one. Test-only: fails the test (cmocka) when a part cannot be made.
 * Header-only; the requests are apitest.h's.
 */
#ifndef TESTS_SUPPORT_APISERVER_H
#define TESTS_SUPPORT_APISERVER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <event2/event.h>

#include "collector/api/api.h"
#include "collector/search/follow.h"
#include "collector/stats.h"
#include "collector/store/store.h"
#include "common/xmalloc.h"

struct apitest_server {
    char                  *dir;
    struct store          *store;
    struct event_base     *base;
    struct api            *api;
    struct follow         *follow;
    struct collector_stats stats;
};

/* A new server (caller frees with apitest_server_close()) with only its
 * store open, in /tmp/<name>.XXXXXX with sopt (NULL: the defaults). */
static inline struct apitest_server *
apitest_server_new(const char *name, const struct store_options *sopt)
{
    struct apitest_server *sv = xcalloc(1, sizeof(*sv));
    char *err = NULL;

    sv->dir = xasprintf("/tmp/%s.XXXXXX", name);
    assert_non_null(mkdtemp(sv->dir));
    sv->store = store_open(sv->dir, sopt, &err);
    assert_non_null(sv->store);
    return sv;
}

/* The loop, a follow stage of stage_max bytes and the API with opt, whose
 * listen ("127.0.0.1:0"), store, follow and stats are set here. */
static inline void
apitest_server_start(struct apitest_server *sv, size_t stage_max,
                     struct api_options opt)
{
    char *err = NULL;

    sv->base = event_base_new();
    assert_non_null(sv->base);
    sv->follow = follow_new(stage_max);
    opt.listen = "127.0.0.1:0";
    opt.store = sv->store;
    opt.follow = sv->follow;
    opt.stats = &sv->stats;
    sv->api = api_new(sv->base, &opt, &err);
    assert_non_null(sv->api);
}

/* Frees what apitest_server_new and _start made, the directory too. */
static inline void
apitest_server_close(struct apitest_server *sv)
{
    char *cmd = xasprintf("rm -rf '%s'", sv->dir);

    api_free(sv->api);
    follow_free(sv->follow);
    event_base_free(sv->base);
    store_close(sv->store);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(sv->dir);
    free(sv);
}

#endif
