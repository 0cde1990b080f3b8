/* SPDX-License-Identifier: MIT */
/*
 * fuzzredis: what fuzz_redis and fuzz_redisconv share. Both answer the
 * collector's Redis commands without a socket: an rmetrics whose send
 * hook queues each command's reply callback (fuzz_sent, in the order
 * sent), which the target then calls with the replies hiredis's reader
 * makes of the input. The includer defines FUZZ_MAX_SENT (the queue's
 * length) and its own send hook, which checks the commands and queues
 * them with fuzz_queue.
 */
#ifndef TESTS_FUZZ_FUZZREDIS_H
#define TESTS_FUZZ_FUZZREDIS_H

#include <assert.h>
#include <stddef.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "collector/metrics/redis_metrics.h"
#include "collector/metrics/redis_metrics_internal.h"
#include "common/log.h"

typedef void (*fuzz_reply_fn)(struct redisAsyncContext *, void *, void *);

struct fuzz_sent {
    fuzz_reply_fn fn;
    void         *privdata;
};

static struct fuzz_sent fuzz_sent[FUZZ_MAX_SENT];
static size_t fuzz_n_sent;

/* Queues a sent command's callback; -1 when FUZZ_MAX_SENT are queued. */
static inline int
fuzz_queue(fuzz_reply_fn fn, void *privdata)
{
    if (fuzz_n_sent == FUZZ_MAX_SENT)
        return -1;
    fuzz_sent[fuzz_n_sent++] = (struct fuzz_sent){ fn, privdata };
    return 0;
}

/* The process's one rmetrics, made at the first call: it cannot connect
 * (sock names no socket), and hook gets every command it sends. */
static inline struct rmetrics *
fuzz_rm_get(const char *sock, rm_send_hook_fn hook)
{
    static struct event_base *base;
    static struct rmetrics *rm;

    if (rm != NULL)
        return rm;
    log_init("fuzz", LOG_LEVEL_ERROR, NULL);
    base = event_base_new();
    assert(base != NULL);
    struct rmetrics_config cfg = {
        .addr = sock,
    };
    rm = rmetrics_new(base, &cfg);      /* cannot connect: no socket */
    assert(rm != NULL);
    rm->send_hook = hook;
    return rm;
}

#endif
