/* SPDX-License-Identifier: MIT */
/*
 * containers_view: `logq containers`'s pure parts: the table (or JSON
 * lines) of the stored containers (GET /api/v1/containers) with each
 * one's state and restart count from the shipper's metrics (GET
 * /api/v1/health?containers=all, parsed by health.c). Without metrics, or
 * for a container they have no fresh state of (removed, or its host's
 * shipper down), STATE and RESTARTS are "-" (JSON null): never guessed.
 * The metrics name containers, not ids: when several rows share a host
 * and name (recreated: a new id), only the row seen last gets them (a
 * new container that has logged nothing yet is not listed, so until it
 * does the old row shows its state).
 * No I/O.
 */
#ifndef QUERY_CONTAINERS_VIEW_H
#define QUERY_CONTAINERS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct health_reply;
struct reply_list;

/* Docker's word for the metrics' state name: "stopped" is "exited";
 * running, paused and restarting as they are; NULL stays NULL. */
const char *containers_view_state(const char *api_state);

/*
 * Appends the rows order[0..n) of l (indexes into l->items, in the order
 * to print) as a table HOST CONTAINER ID IMAGE STATE RESTARTS LINES LAST
 * SEEN, or with is_json as one object per line: the collector's object
 * plus "state" and "restarts" (null when unknown). h: the health reply
 * with every container, NULL without metrics. now: unix ns for the ages.
 * -1 on out's cap.
 */
int containers_view_render(struct buf *out, const struct reply_list *l,
                           const size_t *order, size_t n,
                           const struct health_reply *h, int64_t now,
                           int is_json);

#endif
