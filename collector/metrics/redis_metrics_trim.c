/* SPDX-License-Identifier: MIT */
/*
 * redis_metrics_trim: what keeps the collector's Redis keys bounded beyond
 * the writes' own trimming (collector/REDIS.md "What bounds each key" and
 * "Older layouts"): the series sweep, which takes the series idle for the
 * retention (found in logq:series, so also those an earlier collector
 * process wrote) out of their name index, their host's latest values and
 * logq:series, and deletes their points; and, on every connect, the
 * conversion of the older layout, whose metric-name sets only grew, by a
 * Lua script called until done, each call a bounded step (atomic on the
 * server: about RM_CONV_BATCH elements, a few ms), while the collector's
 * writes and reads wait. Both are sent on the write connection; theirs
 * are the only write-side replies read (the sweep's: at most
 * RM_SWEEP_BATCH ids, on the loop).
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
 * were sets (REDIS.md "Older layouts"), one bounded step a call, its
 * progress kept in Redis (logq:conv, a hash, and its lists and sets:
 * a connect after a restart goes on where the last one stopped). ARGV[1]:
 * the keys' expiry, ms; ARGV[2]: the budget, elements a call touches
 * (ids, fields, names, keys scanned; an HSCAN may return a few more).
 * Returns {-1, 0} when there is nothing to convert, {1, n} when there is
 * more, {0, n, names} when done (n: elements touched). Names: the set is
 * renamed to logq:conv:names, each name's set in turn to logq:conv:ids and
 * popped: ids still in logq:series go into logq:name:<name> with that
 * score (others are dropped), the name into logq:names with its ids'
 * newest score (a name left without one is dropped). Latest values: every
 * logq:latest:* key (SCAN, pending keys in logq:conv:keys, each HSCANned)
 * loses its fields whose series is not in logq:series (ids are escaped:
 * '\' and '|' take a '\' before them, as rm_escape_append does).
 */
static const char rm_migrate_lua[] =
    "local ttl, budget = ARGV[1], tonumber(ARGV[2])\n"
    "local C = 'logq:conv'\n"
    "local phase = redis.call('HGET', C, 'phase')\n"
    "if not phase then\n"
    "  if redis.call('TYPE', 'logq:names').ok ~= 'set' then\n"
    "    return {-1, 0}\n"
    "  end\n"
    "  redis.call('RENAME', 'logq:names', 'logq:conv:names')\n"
    "  redis.call('HSET', C, 'phase', 'names', 'scan', '0')\n"
    "  phase = 'names'\n"
    "end\n"
    "local n = 0\n"
    "local function one_name(cur)\n"
    "  local want = budget - n\n"
    "  local ids = redis.call('SPOP', 'logq:conv:ids', want)\n"
    "  local k = 'logq:name:' .. cur\n"
    "  local best, bs = nil, nil\n"
    "  for _, id in ipairs(ids) do\n"
    "    local s = redis.call('ZSCORE', 'logq:series', id)\n"
    "    if s then\n"
    "      redis.call('ZADD', k, s, id)\n"
    "      if best == nil or tonumber(s) > best then\n"
    "        best, bs = tonumber(s), s\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  n = n + #ids\n"
    "  if bs then\n"
    "    local old = redis.call('ZSCORE', 'logq:names', cur)\n"
    "    if not old or best > tonumber(old) then\n"
    "      redis.call('ZADD', 'logq:names', bs, cur)\n"
    "    end\n"
    "    redis.call('PEXPIRE', k, ttl)\n"
    "    redis.call('PEXPIRE', 'logq:names', ttl)\n"
    "  end\n"
    "  if #ids < want then redis.call('HDEL', C, 'name') end\n"
    "end\n"
    "local function next_name()\n"
    "  local cur = redis.call('SPOP', 'logq:conv:names')\n"
    "  n = n + 1\n"
    "  if not cur then\n"
    "    redis.call('HSET', C, 'phase', 'latest')\n"
    "    phase = 'latest'\n"
    "  elseif redis.call('TYPE', 'logq:name:' .. cur).ok == 'set' then\n"
    "    redis.call('RENAME', 'logq:name:' .. cur, 'logq:conv:ids')\n"
    "    redis.call('HSET', C, 'name', cur)\n"
    "  end\n"
    "end\n"
    "local function one_key(key)\n"
    "  if redis.call('TYPE', key).ok ~= 'hash' then\n"
    "    redis.call('HDEL', C, 'key', 'hcur')\n"
    "    return\n"
    "  end\n"
    "  local h = string.sub(key, 13)\n"
    "  local eh = string.gsub(string.gsub(h, '\\\\', '\\\\\\\\'), '|', '\\\\|')\n"
    "  local r = redis.call('HSCAN', key, redis.call('HGET', C, 'hcur'),\n"
    "                       'COUNT', budget - n)\n"
    "  local kv = r[2]\n"
    "  for i = 1, #kv, 2 do\n"
    "    if not redis.call('ZSCORE', 'logq:series', eh .. '|' .. kv[i]) then\n"
    "      redis.call('HDEL', key, kv[i])\n"
    "    end\n"
    "  end\n"
    "  n = n + 1 + #kv / 2\n"
    "  if r[1] == '0' then redis.call('HDEL', C, 'key', 'hcur')\n"
    "  else redis.call('HSET', C, 'hcur', r[1]) end\n"
    "end\n"
    "local function next_key()\n"
    "  local key = redis.call('LPOP', 'logq:conv:keys')\n"
    "  if key then\n"
    "    redis.call('HSET', C, 'key', key, 'hcur', '0')\n"
    "    return true\n"
    "  end\n"
    "  local sc = redis.call('HGET', C, 'scan')\n"
    "  if sc == 'end' then return false end\n"
    "  local count = budget - n\n"
    "  local r = redis.call('SCAN', sc, 'MATCH', 'logq:latest:*',\n"
    "                       'COUNT', count)\n"
    "  for _, k in ipairs(r[2]) do redis.call('RPUSH', 'logq:conv:keys', k) end\n"
    "  redis.call('HSET', C, 'scan', r[1] == '0' and 'end' or r[1])\n"
    "  n = n + count\n"
    "  return true\n"
    "end\n"
    "while n < budget do\n"
    "  if phase == 'names' then\n"
    "    local cur = redis.call('HGET', C, 'name')\n"
    "    if cur then one_name(cur) else next_name() end\n"
    "  else\n"
    "    local key = redis.call('HGET', C, 'key')\n"
    "    if key then one_key(key)\n"
    "    elseif not next_key() then\n"
    "      redis.call('DEL', C, 'logq:conv:keys')\n"
    "      return {0, n, redis.call('ZCARD', 'logq:names')}\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for _, k in ipairs({C, 'logq:conv:names', 'logq:conv:ids',\n"
    "                   'logq:conv:keys'}) do\n"
    "  redis.call('PEXPIRE', k, ttl)\n"
    "end\n"
    "return {1, n}\n";

static void rm_migrate_send(struct rmetrics *rm);

/* The integer element i of a conversion reply, or -2. */
static long long
rm_migrate_el(const redisReply *reply, size_t i)
{
    if (i >= reply->elements || reply->element[i] == NULL ||
        reply->element[i]->type != REDIS_REPLY_INTEGER)
        return -2;
    return reply->element[i]->integer;
}

static void
rm_migrate_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rmetrics *rm = privdata;
    redisReply *reply = r;

    rm->n_inflight--;
    if (reply == NULL)
        return;                     /* gone: the next connect goes on */
    long long state = reply->type == REDIS_REPLY_ARRAY ?
                      rm_migrate_el(reply, 0) : -2;
    long long n = reply->type == REDIS_REPLY_ARRAY ?
                  rm_migrate_el(reply, 1) : -2;
    if (state < -1 || state > 1 || n < 0) {
        rm_reply_error(rm, "EVAL", reply->type == REDIS_REPLY_ERROR ?
                       reply->str : "not a conversion step");
        rm_ready(rm);               /* not retried before the next connect */
        return;
    }
    if (state >= 0) {
        rm->n_conv_calls++;
        if ((uint64_t)n > rm->conv_max_n)
            rm->conv_max_n = (uint64_t)n;
    }
    if (state == 1 && rm->n_conv_calls >= rm->conv_max_calls) {
        /* 10^8 elements: a Redis that never says done holds the
         * metrics no longer; the next connect goes on */
        rm_reply_error(rm, "EVAL", "layout conversion not done, given up "
                       "until the next connect");
        rm_ready(rm);
        return;
    }
    if (state == 1) {
        rm_migrate_send(rm);
        return;
    }
    if (state == 0)
        log_info("redis", "converted the older layout: logq:names and "
                 "logq:name:* sets to sorted sets, names_kept=%lld "
                 "calls=%" PRIu64, rm_migrate_el(reply, 2),
                 rm->n_conv_calls);
    rm_ready(rm);
}

static void
rm_migrate_send(struct rmetrics *rm)
{
    char ttl[24], budget[16];

    snprintf(ttl, sizeof(ttl), "%" PRId64,
             rm->cfg.retention_ms + RM_EXPIRE_MARGIN_MS);
    snprintf(budget, sizeof(budget), "%d", RM_CONV_BATCH);
    const char *argv[] = { "EVAL", rm_migrate_lua, "0", ttl, budget };
    int rc = rm->send_hook != NULL ?
             rm->send_hook(rm, rm_migrate_cb, rm, 5, argv) :
             rm->ac == NULL ? -1 :
             redisAsyncCommandArgv(rm->ac, rm_migrate_cb, rm, 5, argv,
                                   NULL) == REDIS_OK ? 0 : -1;
    if (rc < 0) {
        rm_reply_error(rm, "EVAL", "cannot send");
        rm_ready(rm);
        return;
    }
    rm->n_inflight++;
}

void
rm_migrate(struct rmetrics *rm)
{
    rm->n_conv_calls = 0;
    rm_migrate_send(rm);
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
