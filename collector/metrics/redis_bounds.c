/* SPDX-License-Identifier: MIT */
/*
 * redis_bounds: per-reply caps on a hiredis reader (redis_bounds.h). The
 * object functions delegate to the reader's own (hiredis's defaults) once
 * a reply's running counts allow: a task without a parent starts a new
 * reply; an array adds its announced count before its element array is
 * allocated; a string adds its length. Returning NULL is how a reader's
 * object function refuses (hiredis sets its reader error, the async
 * context disconnects and every pending callback gets a NULL reply).
 */
#include "collector/metrics/redis_bounds.h"

#include <stdio.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

static void
rm_bounds_refused(struct rm_bounds *b, const char *why)
{
    b->n_refused++;
    snprintf(b->why, sizeof(b->why), "redis: %s", why);
    if (b->refuse != NULL)
        b->refuse(b->arg, why);
}

/* Counts n_elements elements and len string bytes into the reply task
 * belongs to; 0 if it stays within b's caps. An array counts the
 * elements it announces, so its elements count only their bytes. */
static int
rm_bounds_take(const redisReadTask *task, size_t n_elements, size_t len)
{
    struct rm_bounds *b = task->privdata;
    char why[120];

    if (task->parent == NULL)
        b->n_elements = b->n_bytes = 0;         /* a new reply */
    if (n_elements > b->max_elements - b->n_elements) {
        snprintf(why, sizeof(why), "reply of more than %zu elements "
                 "refused", b->max_elements);
        rm_bounds_refused(b, why);
        return -1;
    }
    if (len > b->max_bytes - b->n_bytes) {
        snprintf(why, sizeof(why), "reply of more than %zu bytes refused",
                 b->max_bytes);
        rm_bounds_refused(b, why);
        return -1;
    }
    b->n_elements += n_elements;
    b->n_bytes += len;
    return 0;
}

static void *
rm_bounds_string(const redisReadTask *task, char *str, size_t len)
{
    struct rm_bounds *b = task->privdata;

    if (rm_bounds_take(task, task->parent == NULL, len) < 0)
        return NULL;
    return b->dflt->createString(task, str, len);
}

static void *
rm_bounds_array(const redisReadTask *task, int elements)
{
    struct rm_bounds *b = task->privdata;
    size_t n = elements > 0 ? (size_t)elements : 0;

    if (rm_bounds_take(task, n + (task->parent == NULL), 0) < 0)
        return NULL;
    return b->dflt->createArray(task, elements);
}

static void *
rm_bounds_integer(const redisReadTask *task, long long value)
{
    struct rm_bounds *b = task->privdata;

    if (rm_bounds_take(task, task->parent == NULL, 0) < 0)
        return NULL;
    return b->dflt->createInteger(task, value);
}

static void *
rm_bounds_nil(const redisReadTask *task)
{
    struct rm_bounds *b = task->privdata;

    if (rm_bounds_take(task, task->parent == NULL, 0) < 0)
        return NULL;
    return b->dflt->createNil(task);
}

static void
rm_bounds_free_object(void *obj)
{
    freeReplyObject(obj);       /* what hiredis's defaults make */
}

static redisReplyObjectFunctions rm_bounds_fns = {
    rm_bounds_string, rm_bounds_array, rm_bounds_integer, rm_bounds_nil,
    rm_bounds_free_object,
};

void
rm_bounds_install(redisReader *rd, struct rm_bounds *b)
{
    if (rd->fn != &rm_bounds_fns)
        b->dflt = rd->fn;
    b->n_elements = b->n_bytes = 0;
    rd->fn = &rm_bounds_fns;
    rd->privdata = b;
}

int
rm_bounds_buffer_over(const redisReader *rd, struct rm_bounds *b)
{
    char why[120];

    if (rd->buf == NULL || rd->len - rd->pos <= b->max_bytes)
        return 0;
    snprintf(why, sizeof(why), "more than %zu bytes of one reply buffered: "
             "refused", b->max_bytes);
    rm_bounds_refused(b, why);
    return 1;
}

/* The adapter's read event, but a connection whose reader holds more than
 * the byte bound unparsed (a bulk string announced larger) fails first:
 * redisBufferRead returns at once on c->err, and hiredis disconnects. */
static void
rm_bounds_read_cb(evutil_socket_t fd, short what, void *arg)
{
    redisLibeventEvents *e = arg;
    redisAsyncContext *ac = e->context;
    struct rm_bounds *b = ac->c.reader->privdata;

    if (rm_bounds_buffer_over(ac->c.reader, b)) {
        ac->c.err = REDIS_ERR_OTHER;
        snprintf(ac->c.errstr, sizeof(ac->c.errstr), "%s", b->why);
    }
    redisAsyncHandleRead(ac);
}

int
rm_bounds_attach(redisAsyncContext *ac, struct event_base *base,
                 struct rm_bounds *b)
{
    if (redisLibeventAttach(ac, base) != REDIS_OK)
        return -1;
    redisLibeventEvents *e = ac->ev.data;
    if (event_del(e->rev) < 0 ||
        event_assign(e->rev, base, ac->c.fd, EV_READ, rm_bounds_read_cb,
                     e) < 0 ||
        event_add(e->rev, NULL) < 0)
        return -1;
    rm_bounds_install(ac->c.reader, b);
    return 0;
}
