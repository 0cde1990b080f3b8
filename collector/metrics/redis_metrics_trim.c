/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_trim: what keeps the collector's Redis keys bounded beyond
 * the writes' own trimming (collector/REDIS.md "What bounds each key" and
 * "Older layouts"): the series sweep, which takes the series idle for the
 * retention (found in logq:series, so also those an earlier collector
 * process wrote) out of their name index, their host's latest values and
 * logq:series, and deletes their points; and, on every connect, the
 * conversion of the older layout, whose metric-name sets only grew, by one
 * Lua script run atomically by Redis. Both are sent on the write
 * connection, pipelined like the writes; theirs are the only write-side
 * replies read (the sweep's: at most RM_SWEEP_BATCH ids, on the loop).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "collector/metrics/redis_metrics_internal.h"
#include "common/log.h"
#include "common/xmalloc.h"

/*
 * Converts the layout of versions whose logq:names and logq:name:<name>
 * were sets (REDIS.md "Older layouts"); -1 when logq:names is not a set
 * (nothing to do), else the names kept. ARGV[1]: the keys' expiry, ms.
 * A name's ids keep their logq:series score (ids no longer there are
 * dropped, and so is a name left without one); a host's latest values of
 * series not in logq:series are deleted (ids are escaped: '\' and '|'
 * take a '\' before them, as rm_escape_append does).
 */
static const char rm_migrate_lua[] =
    "local ttl = ARGV[1]\n"
    "if redis.call('TYPE', 'logq:names').ok ~= 'set' then return -1 end\n"
    "local names = redis.call('SMEMBERS', 'logq:names')\n"
    "redis.call('DEL', 'logq:names')\n"
    "local kept = 0\n"
    "for _, n in ipairs(names) do\n"
    "  local k = 'logq:name:' .. n\n"
    "  if redis.call('TYPE', k).ok == 'set' then\n"
    "    local ids = redis.call('SMEMBERS', k)\n"
    "    redis.call('DEL', k)\n"
    "    local best, bs = nil, nil\n"
    "    for _, id in ipairs(ids) do\n"
    "      local s = redis.call('ZSCORE', 'logq:series', id)\n"
    "      if s then\n"
    "        redis.call('ZADD', k, s, id)\n"
    "        if best == nil or tonumber(s) > best then\n"
    "          best, bs = tonumber(s), s\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    if bs then\n"
    "      redis.call('ZADD', 'logq:names', bs, n)\n"
    "      redis.call('PEXPIRE', k, ttl)\n"
    "      kept = kept + 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if kept > 0 then redis.call('PEXPIRE', 'logq:names', ttl) end\n"
    "for _, h in ipairs(redis.call('ZRANGE', 'logq:hosts', 0, -1)) do\n"
    "  local lk = 'logq:latest:' .. h\n"
    "  if redis.call('TYPE', lk).ok == 'hash' then\n"
    "    local eh = string.gsub(string.gsub(h, '\\\\', '\\\\\\\\'), '|',\n"
    "                           '\\\\|')\n"
    "    for _, fld in ipairs(redis.call('HKEYS', lk)) do\n"
    "      if not redis.call('ZSCORE', 'logq:series', eh .. '|' .. fld) then\n"
    "        redis.call('HDEL', lk, fld)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return kept\n";

static void
rm_migrate_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rmetrics *rm = privdata;
    redisReply *reply = r;

    rm->n_inflight--;
    if (reply == NULL)
        return;
    if (reply->type != REDIS_REPLY_INTEGER) {
        rm_reply_error(rm, "EVAL", reply->type == REDIS_REPLY_ERROR ?
                       reply->str : "not an integer");
        return;
    }
    if (reply->integer >= 0)
        log_info("redis", "converted the older layout: logq:names and "
                 "logq:name:* sets to sorted sets, names_kept=%lld",
                 reply->integer);
}

void
rm_migrate(struct rmetrics *rm)
{
    char ttl[24];

    snprintf(ttl, sizeof(ttl), "%" PRId64,
             rm->cfg.retention_ms + RM_EXPIRE_MARGIN_MS);
    /* sent now, ahead of the queue (rm_command would send it after) */
    if (rm->ac == NULL ||
        redisAsyncCommandArgv(rm->ac, rm_migrate_cb, rm, 4,
                              (const char *[]){ "EVAL", rm_migrate_lua, "0",
                                                ttl }, NULL) != REDIS_OK) {
        rm_reply_error(rm, "EVAL", "cannot send");
        return;
    }
    rm->n_inflight++;
}

/* Where the host part of an escaped series id ends: its first '|' that
 * is not escaped (len if none). */
static size_t
rm_id_host_end(const char *id, size_t len)
{
    size_t i = 0;

    while (i < len && id[i] != '|')
        i += id[i] == '\\' ? 2 : 1;
    return i < len ? i : len;
}

/* One id of logq:series idle for the retention: out of every key. */
static void
rm_sweep_one(struct rmetrics *rm, const char *id, size_t len,
             int64_t cutoff_ms)
{
    const struct rm_ent *e = rm_tab_find(&rm->series, id, len);
    char *p[4];

    if (e != NULL && e->last_write_ms >= cutoff_ms)
        return;                     /* written since: alive */
    rm_command(rm, 0, 3, (const char *[]){ "ZREM", "logq:series", id },
               (const size_t[]){ 4, 11, len });
    if (memchr(id, '\0', len) != NULL || rm_split(id, len, 4, p) < 0) {
        rm_reply_error(rm, "ZRANGEBYSCORE", "bad series id");
        return;
    }
    size_t host_end = rm_id_host_end(id, len);
    char *nkey = xasprintf("logq:name:%s", p[1]);
    char *lkey = xasprintf("logq:latest:%s", p[0]);
    char *skey = xasprintf("logq:s:%s", id);
    rm_cmdv(rm, 0, 3, (const char *[]){ "ZREM", nkey, id });
    if (host_end < len)
        rm_cmdv(rm, 0, 3, (const char *[]){ "HDEL", lkey,
                                            id + host_end + 1 });
    rm_cmdv(rm, 0, 2, (const char *[]){ "DEL", skey });
    free(skey);
    free(lkey);
    free(nkey);
    for (int i = 0; i < 4; i++)
        free(p[i]);
}

static void
rm_sweep_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    static const struct timeval again = { 1, 0 };
    struct rmetrics *rm = privdata;
    redisReply *reply = r;

    rm->n_inflight--;
    rm->is_sweeping = 0;
    if (reply == NULL)
        return;
    if (reply->type != REDIS_REPLY_ARRAY) {
        rm_reply_error(rm, "ZRANGEBYSCORE", reply->type == REDIS_REPLY_ERROR ?
                       reply->str : "not an array");
        return;
    }
    int64_t cutoff = rm_now_ms(rm) - rm->cfg.retention_ms;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *el = reply->element[i];
        if (el == NULL || el->type != REDIS_REPLY_STRING) {
            rm_reply_error(rm, "ZRANGEBYSCORE", "element not a string");
            continue;
        }
        rm_sweep_one(rm, el->str, (size_t)el->len, cutoff);
    }
    /* a full batch: more may wait; the next in a second, not a minute */
    if (reply->elements >= RM_SWEEP_BATCH && !rm->is_freeing &&
        event_add(rm->sweep_ev, &again) < 0)
        log_error("redis", "cannot schedule the series sweep");
}

void
rm_sweep(struct rmetrics *rm)
{
    char cutoff[32], batch[16];

    /* its commands must fit the pending bound, beside the samples */
    if (!rm->is_connected || rm->ac == NULL || rm->is_sweeping ||
        rm->n_queued + rm->n_inflight + 4 * RM_SWEEP_BATCH >
        rm->cfg.max_pending)
        return;
    snprintf(cutoff, sizeof(cutoff), "(%" PRId64,
             rm_now_ms(rm) - rm->cfg.retention_ms);
    snprintf(batch, sizeof(batch), "%d", RM_SWEEP_BATCH);
    if (redisAsyncCommandArgv(rm->ac, rm_sweep_cb, rm, 7, (const char *[]){
                              "ZRANGEBYSCORE", "logq:series", "-inf", cutoff,
                              "LIMIT", "0", batch }, NULL) != REDIS_OK)
        return;
    rm->n_inflight++;
    rm->is_sweeping = 1;
}

void
rm_sweep_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    rm_sweep(arg);
}
