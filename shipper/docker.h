/* SPDX-License-Identifier: MIT */
/*
 * docker: discovers the containers under the Docker root (directories named
 * by a 64-hex id holding `<id>-json.log`), reads their config.v2.json (name,
 * image, labels) and runs one tailer per container. inotify (read through a
 * libevent event) wakes the tailers; a periodic rescan is the safety net
 * (and the answer to IN_Q_OVERFLOW), backed off for idle containers so
 * that hundreds of them cost next to nothing while nothing is written. Containers that disappear are read to
 * the end of their open file, flushed and forgotten; at most max_gone of
 * them stay open. Records go to ops->emit (sender.c in the daemon), reading
 * pauses while ops->can_read says no (backpressure). Resume points come from
 * the state store at discovery. Each container's multi-line rule is its
 * logq.multiline label, else cfg.multiline; a 250 ms timer reads containers
 * with a record being joined to their end, then lets tail_expire end it.
 */
#ifndef SHIPPER_DOCKER_H
#define SHIPPER_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "shipper/counters.h"
#include "shipper/multiline.h"
#include "shipper/sender.h"
#include "shipper/state.h"
#include "shipper/tail.h"

#define DOCKER_ID_LEN 64

struct docker_ops {
    void (*emit)(void *arg, struct sender_source *src,
                 const struct tail_record *r);
    int  (*can_read)(void *arg);        /* 0: backpressure, stop reading */
    void *arg;
};

struct docker_config {
    const char        *root;
    struct tail_config tail;
    const struct multiline_rule *multiline; /* default rule (borrowed);
                                               NULL: none */
    size_t             match_bytes;     /* of a line a label's regex rule
                                           sees; 0: MULTILINE_MATCH_BYTES */
    int                rescan_ms;       /* safety-net look period, idle
                                           containers: up to 16x */
    size_t             max_gone;        /* deleted-but-open containers */
    int64_t          (*clock_ns)(void); /* look schedule; NULL: mono_ns */
};

/* What config.v2.json says about a container; all strings owned. */
struct docker_meta {
    char *name;     /* without the leading '/' */
    char *image;
    char *labels;   /* compact JSON object text, "" when none */
    char *multiline;/* the logq.multiline label, NULL when none */
};

/* 1 if name is 64 lowercase hex digits. */
int docker_is_id(const char *name);
/* Parses config.v2.json text. -1 if it is not JSON or Name is missing;
 * out is written only on success (free with docker_meta_fini). */
int docker_meta_parse(const char *text, size_t len, struct docker_meta *out);
void docker_meta_fini(struct docker_meta *m);

struct docker *docker_new(struct event_base *base,
                          const struct docker_config *cfg,
                          const struct docker_ops *ops,
                          struct state_store *st,
                          struct shipper_counters *ctr);
void docker_free(struct docker *d);
/* Initial scan, inotify watches, rescan timer. -1 if the root is unusable
 * (inotify failure alone only logs: the rescan timer still works). */
int docker_start(struct docker *d);
/* Stops reading (shutdown); events stay registered until docker_free. */
void docker_stop(struct docker *d);
/* Reading may go on (the sender has room again). */
void docker_kick(struct docker *d);

/* One discovery pass over the root; looks at every container (notes new
 * files, marks it for polling). At start and on an inotify overflow. */
void docker_rescan(struct docker *d);
/* What the rescan timer does every rescan_ms: the root listed, and a look
 * at each container whose look is due. A container idle since its last
 * look (nothing read, no inotify event) waits twice as long for the next,
 * up to 16 x rescan_ms; activity resets it. Without inotify (or once a look
 * found writes inotify did not report: counters rescan_misses) every look
 * is due every rescan_ms. Returns the number of containers looked at. */
size_t docker_rescan_due(struct docker *d);
/* Polls marked containers once, each for up to budget bytes (0 = until
 * idle); returns 1 if some still have data to read. */
int docker_poll(struct docker *d, size_t budget);
size_t docker_count(const struct docker *d);
/* Stores an acknowledged resume point for id in the state store, unless
 * the container was forgotten meanwhile (a late ACK after it was deleted
 * and read to the end): its entry left with it and must not come back. */
void docker_commit(struct docker *d, const char *id,
                   const struct tail_pos *pos);
/* Bytes written to the containers' live log files and not read yet (one
 * stat per container; a container still in a rotated file counts its whole
 * live file, so this is a lower bound). For shipper.lag_bytes. */
uint64_t docker_lag_bytes(const struct docker *d);

/* Calls fn for every container that lost data (tail.h struct tail_loss),
 * also the last DOCKER_RETIRED_MAX forgotten ones; name is "" until known.
 * The figures count since the shipper started. */
typedef void (*docker_loss_fn)(void *arg, const char *id, const char *name,
                               const struct tail_loss *loss);
void docker_foreach_loss(const struct docker *d, docker_loss_fn fn,
                         void *arg);

#endif
