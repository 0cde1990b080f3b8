/* SPDX-License-Identifier: MIT */
/*
 * api_stats: GET /api/v1/stats for `logq stats`: one object per segment,
 * the part not yet in a segment ("wal": the block being sealed, the
 * unsealed tail and the WAL files) and "total", taken from
 * store_get_stats so it equals /health's "store" figures. Built with
 * jansson in one go: the reply grows by ~300 bytes per segment (64 MiB
 * each by default), small next to the data it describes.
 */
#include "collector/api/api_stats.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "collector/api/api_internal.h"
#include "collector/store/store.h"
#include "common/timeutil.h"

/* ---- helpers ---- */

/* Sets key (RFC 3339, or null when ns is 0: no records) and key_ns.
 * -1 if jansson fails. */
static int
api_stats_time(json_t *o, const char *key, const char *key_ns, int64_t ns)
{
    char t[40];

    if (json_object_set_new(o, key_ns, json_integer((json_int_t)ns)) < 0)
        return -1;
    if (ns == 0)
        return json_object_set_new(o, key, json_null());
    size_t n = time_ns_format(ns, t);
    return json_object_set_new(o, key, json_stringn(t, n));
}

static int
api_stats_set(json_t *o, const char *key, uint64_t v)
{
    return json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* ---- the three parts ---- */

struct api_stats_segs {
    json_t *arr;
    int     is_bad;                     /* a jansson call failed */
};

static void
api_stats_segment_cb(const struct store_segment_info *si, void *arg)
{
    struct api_stats_segs *acc = arg;
    json_t *o = json_object();
    int bad = 0;

    if (o == NULL) {
        acc->is_bad = 1;
        return;
    }
    bad |= api_stats_set(o, "seq", si->seq);
    bad |= json_object_set_new(o, "name", json_string(si->name));
    bad |= api_stats_set(o, "raw_bytes", si->raw_bytes);
    bad |= api_stats_set(o, "stored_bytes", si->stored_bytes);
    bad |= api_stats_set(o, "index_bytes", si->index_bytes);
    bad |= api_stats_set(o, "records", si->n_records);
    bad |= api_stats_set(o, "blocks", si->n_blocks);
    bad |= api_stats_set(o, "corrupt_blocks", si->n_corrupt_blocks);
    bad |= api_stats_time(o, "first", "first_ns", si->first_ns);
    bad |= api_stats_time(o, "last", "last_ns", si->last_ns);
    bad |= json_object_set_new(o, "sealed", json_boolean(si->is_sealed));
    bad |= json_object_set_new(o, "current", json_boolean(si->is_current));
    if (bad < 0 || json_array_append_new(acc->arr, o) < 0)
        acc->is_bad = 1;
}

static json_t *
api_stats_wal(const struct store_tail_info *ti)
{
    json_t *o = json_object();
    int bad = 0;

    if (o == NULL)
        return NULL;
    bad |= api_stats_set(o, "records", ti->n_records);
    bad |= api_stats_set(o, "raw_bytes", ti->raw_bytes);
    bad |= api_stats_set(o, "wal_bytes", ti->wal_bytes);
    bad |= api_stats_set(o, "wal_files", ti->n_wal_files);
    bad |= api_stats_set(o, "sealing_records", ti->n_sealing_records);
    bad |= api_stats_set(o, "pending_records", ti->pending_records);
    bad |= api_stats_time(o, "first", "first_ns", ti->first_ns);
    bad |= api_stats_time(o, "last", "last_ns", ti->last_ns);
    if (bad < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
api_stats_total(const struct store_stats *st)
{
    json_t *o = json_object();
    int bad = 0;

    if (o == NULL)
        return NULL;
    bad |= api_stats_set(o, "raw_bytes", st->raw_bytes);
    bad |= api_stats_set(o, "stored_bytes", st->stored_bytes);
    bad |= api_stats_set(o, "index_bytes", st->index_bytes);
    bad |= api_stats_set(o, "records", st->n_records);
    bad |= api_stats_set(o, "blocks", st->n_blocks);
    bad |= api_stats_set(o, "corrupt_blocks", st->n_corrupt_blocks);
    bad |= api_stats_set(o, "segments", st->n_segments);
    bad |= api_stats_time(o, "first", "first_ns", st->first_ns);
    bad |= api_stats_time(o, "last", "last_ns", st->last_ns);
    if (bad < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- handler ---- */

void
api_stats(struct api *a, struct evhttp_request *req, const char *query)
{
    struct store_tail_info ti;
    struct store_stats st;

    if (query != NULL && query[0] != '\0') {
        api_reply_error(a, req, HTTP_BADREQUEST, "no parameters allowed");
        return;
    }
    struct api_stats_segs segs = { json_array(), 0 };
    if (segs.arr != NULL)
        store_foreach_segment(a->store, api_stats_segment_cb, &segs);
    store_get_tail_info(a->store, &ti);
    store_get_stats(a->store, &st);
    json_t *wal = api_stats_wal(&ti);
    json_t *total = api_stats_total(&st);
    json_t *v = NULL;
    if (segs.arr != NULL && !segs.is_bad && wal != NULL && total != NULL)
        v = json_pack("{s:O, s:O, s:O}", "segments", segs.arr, "total",
                      total, "wal", wal);
    json_decref(segs.arr);
    json_decref(wal);
    json_decref(total);
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (text == NULL) {
        api_reply_error(a, req, HTTP_INTERNAL, "cannot format reply");
        return;
    }
    api_reply_json(req, text, strlen(text));
    free(text);
}
