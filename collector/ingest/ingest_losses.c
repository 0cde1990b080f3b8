/* SPDX-License-Identifier: MIT */
/*
 * ingest_losses: the data shippers report lost for good (losses.c, fed by
 * METRICS frames in ingest_batch.c), kept across restarts in
 * <data-dir>/losses (lossfile.c). The loop only encodes a changed table,
 * at most once every INGEST_LOSSES_SAVE_S, and hands it to the saver's
 * thread (common/filesave.c), which writes it; failures are counted in
 * losses_file_errors and logged once per streak. A bad file at start is
 * set aside and the table starts empty: never fatal. ingest_free saves
 * what is left.
 */
#include "collector/ingest/ingest_internal.h"

#include <stdlib.h>

#include <event2/event.h>

#include "collector/ingest/lossfile.h"
#include "collector/ingest/losses.h"
#include "common/buf.h"
#include "common/filesave.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* What the saver's thread did since the last look: a failure is counted
 * and logged once per streak (the next change tries again). */
void
ingest_losses_collect(struct ingest *ing, int *is_busy)
{
    struct filesave_result r;

    filesave_poll(ing->saver, &r);
    *is_busy = r.is_busy;
    if (r.has_saved) {
        ing->is_lossfile_failing = 0;
        ing->losses_saved = r.saved;
    }
    if (r.n_failed > 0) {
        ing->stats->losses_file_errors += r.n_failed;
        if (!ing->is_lossfile_failing)
            log_warn("ingest", "cannot save lost-data figures: %s", r.err);
        ing->is_lossfile_failing = 1;
    }
    free(r.err);
}

/* Hands the table, if changed since it was last handed over, to the
 * saver's thread (rare: a shipper's first report, a restart, a loss): the
 * loop only encodes it (bounded by INGEST_LOSSES_MAX rows), never writes
 * or waits for a disk. */
void
ingest_losses_put(struct ingest *ing)
{
    struct buf b;

    if (losses_version(ing->losses) == ing->losses_put)
        return;
    buf_init(&b, losses_encoded_max(INGEST_LOSSES_MAX));
    if (losses_encode(ing->losses, &b) < 0) {  /* cannot happen: bounded */
        ing->stats->losses_file_errors++;
        buf_fini(&b);
        return;
    }
    ing->losses_put = losses_version(ing->losses);
    char *text = b.data != NULL ? (char *)b.data : xstrdup("");
    filesave_put(ing->saver, text, b.len, ing->losses_put);
}

/* The save timer: results first, then the newest table; again a second
 * later while the saver has work (so its result is seen). */
void
ingest_losses_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;
    struct timeval tv = { INGEST_LOSSES_SAVE_S, 0 };
    int is_busy;

    (void)fd;
    (void)what;
    ingest_losses_collect(ing, &is_busy);
    uint64_t put = ing->losses_put;
    ingest_losses_put(ing);
    if (is_busy || ing->losses_put != put)
        evtimer_add(ing->losses_ev, &tv);
}

/* A change is handed to the saver INGEST_LOSSES_SAVE_S later, with
 * whatever else changed meanwhile; ingest_free saves what is left. */
void
ingest_losses_schedule(struct ingest *ing)
{
    struct timeval tv = { INGEST_LOSSES_SAVE_S, 0 };

    if (ing->saver == NULL ||
        losses_version(ing->losses) == ing->losses_saved ||
        evtimer_pending(ing->losses_ev, NULL))
        return;
    evtimer_add(ing->losses_ev, &tv);
}

/* The lost-data table from its file. A bad file is logged, counted, kept
 * aside as <file>.bad and replaced by an empty table: never fatal. */
struct losses *
ingest_losses_load(struct ingest *ing)
{
    struct losses *l = NULL;
    char *err = NULL;

    if (ing->opt.losses_path == NULL)
        return losses_new(INGEST_LOSSES_MAX);
    if (lossfile_load(ing->opt.losses_path, INGEST_LOSSES_MAX, &l,
                      &err) == 0)
        return l;
    ing->stats->losses_file_errors++;
    char *bad = NULL, *why = NULL;
    if (lossfile_set_aside(ing->opt.losses_path, &bad, &why) == 0)
        log_warn("ingest", "lost-data file unusable, starting empty: %s; "
                 "kept as %s", err, bad);
    else
        log_warn("ingest", "lost-data file unusable, starting empty: %s; "
                 "%s", err, why);
    free(bad);
    free(why);
    free(err);
    return losses_new(INGEST_LOSSES_MAX);
}

void
ingest_foreach_loss(struct ingest *ing, losses_fn fn, void *arg)
{
    losses_foreach(ing->losses, fn, arg);
}

uint64_t
ingest_losses_dropped(const struct ingest *ing)
{
    return losses_dropped(ing->losses);
}
