/* SPDX-License-Identifier: MIT */
/*
 * fuzz_redisconv: libFuzzer target for the collector's handling of the
 * replies to the older layout's conversion (rm_migrate_cb in
 * collector/metrics/redis_metrics_trim.c), untrusted when Redis is not.
 * The first byte sets the bound on calls (conv_max_calls, 1 to 64, so
 * giving up is reached by small inputs); the rest is a RESP byte stream
 * that hiredis's reader, with the collector's reply bounds
 * (redis_bounds.c), turns into redisReply trees answering the conversion's
 * EVAL calls in order (through the rmetrics send hook: no socket). A call
 * left without a reply (the stream ends, or is not RESP) gets NULL, as
 * when the connection drops. Invariants checked with assert, against a
 * model of each reply ({1, n}: more; {0, n, ...} or {-1, 0}: done;
 * anything else: an error): the conversion ends once, done (ready, no
 * error counted), given up at the bound or refused (ready, exactly one
 * error counted) or gone (not ready: the next connect goes on); nothing
 * is sent after it ends; never more calls than the bound; the calls
 * counted, the largest step and the replies in flight agree with the
 * model; a reply over the reply bounds is refused (counted) and ends the
 * stream.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_CALLS 64
/* one more than the bound: a call past it is seen, not refused */
#define FUZZ_MAX_SENT  (FUZZ_MAX_CALLS + 1)
#include "tests/fuzz/fuzzredis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_send_hook(struct rmetrics *rm, fuzz_reply_fn fn, void *privdata,
               int argc, const char **argv)
{
    (void)rm;
    assert(argc == 5 && strcmp(argv[0], "EVAL") == 0);
    assert(fuzz_n_sent <= FUZZ_MAX_CALLS);
    return fuzz_queue(fn, privdata);
}

static struct rmetrics *
fuzz_rm(void)
{
    return fuzz_rm_get("/nonexistent/logq-fuzz-redisconv.sock",
                       fuzz_send_hook);
}

/* The integer element i of an array reply, or -2 (the model's own). */
static long long
fuzz_el(const redisReply *r, size_t i)
{
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements ||
        r->element[i] == NULL || r->element[i]->type != REDIS_REPLY_INTEGER)
        return -2;
    return r->element[i]->integer;
}

enum fuzz_end { FUZZ_MORE, FUZZ_DONE, FUZZ_ERROR, FUZZ_GONE };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct rmetrics *rm = fuzz_rm();
    redisReader *rd = redisReaderCreate();
    assert(rd != NULL);
    rm_bounds_install(rd, &rm->bounds);
    assert(redisReaderFeed(rd, (const char *)data + 1, size - 1) ==
           REDIS_OK);
    uint64_t max_calls = 1 + data[0] % FUZZ_MAX_CALLS;
    rm->conv_max_calls = max_calls;
    rm->conv_max_n = 0;
    rm->is_connected = 0;               /* as on connect: not ready yet */
    size_t inflight0 = rm->n_inflight;
    uint64_t errors0 = rm->ctr.redis_errors;
    fuzz_n_sent = 0;
    rm_migrate(rm);
    assert(fuzz_n_sent == 1 && rm->n_inflight == inflight0 + 1);
    enum fuzz_end end = FUZZ_MORE;
    uint64_t calls = 0, max_n = 0;
    uint64_t n_refused = 0;
    int is_broken = 0;
    for (size_t i = 0; i < fuzz_n_sent; i++) {
        assert(end == FUZZ_MORE);       /* nothing sent after the end */
        assert(!rm->is_connected);      /* not ready while converting */
        void *reply = NULL;
        uint64_t errors = rm->ctr.redis_errors;
        if (!is_broken && (redisReaderGetReply(rd, &reply) != REDIS_OK ||
                           reply == NULL))
            is_broken = 1;
        /* a reply over the bounds is counted by their refusal */
        n_refused += rm->ctr.redis_errors - errors;
        assert(n_refused <= 1);
        const redisReply *r = reply;
        if (r == NULL) {
            end = FUZZ_GONE;
        } else {
            long long state = fuzz_el(r, 0), n = fuzz_el(r, 1);
            if (state < -1 || state > 1 || n < 0) {
                end = FUZZ_ERROR;
            } else {
                if (state >= 0) {
                    calls++;
                    if ((uint64_t)n > max_n)
                        max_n = (uint64_t)n;
                }
                end = state != 1 ? FUZZ_DONE :
                      calls >= max_calls ? FUZZ_ERROR : FUZZ_MORE;
            }
        }
        size_t n_before = fuzz_n_sent;
        fuzz_sent[i].fn(NULL, reply, fuzz_sent[i].privdata);
        if (reply != NULL)
            freeReplyObject(reply);
        assert(fuzz_n_sent == n_before + (end == FUZZ_MORE));
        assert(rm->n_inflight == inflight0 + (end == FUZZ_MORE));
    }
    assert(end != FUZZ_MORE);
    assert(fuzz_n_sent <= max_calls);
    assert(rm->n_conv_calls == calls && rm->conv_max_n == max_n);
    assert(rm->is_connected == (end != FUZZ_GONE));
    assert(rm->ctr.redis_errors == errors0 + n_refused +
           (end == FUZZ_ERROR));
    assert(rm->n_queued == 0);
    redisReaderFree(rd);
    return 0;
}
