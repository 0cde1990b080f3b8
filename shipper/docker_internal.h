/* SPDX-License-Identifier: MIT */
/*
 * docker_internal: the container watcher's state and the functions its
 * parts share (docker.c, docker_meta.c, docker_list.c, docker_poll.c,
 * docker_look.c, docker_inotify.c, docker_lag.c; see docker.c). Not for
 * use outside those files: main.c and the tests use docker.h only. All
 * of it runs on the shipper's event loop thread.
 */
#ifndef SHIPPER_DOCKER_INTERNAL_H
#define SHIPPER_DOCKER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/util.h>

#include "shipper/counters.h"
#include "shipper/docker.h"
#include "shipper/multiline.h"
#include "shipper/sender.h"
#include "shipper/state.h"
#include "shipper/tail.h"

#define DOCKER_CONFIG_FILE  "config.v2.json"
#define DOCKER_CONFIG_MAX   (8u << 20)
#define DOCKER_SHORT_ID     12
#define DOCKER_SLICE        (4u << 20)  /* bytes per container per pass */
#define DOCKER_NAME_MAX     1024
#define DOCKER_META_RETRY   (200 * 1000000LL)  /* ns between config retries */
#define DOCKER_EXPIRE_MS    250     /* multi-line records: 1 s timer tick */
#define DOCKER_RETIRED_MAX  64      /* losses of forgotten containers kept */
#define DOCKER_LOOK_SHIFT   4       /* idle looks back off to 16 rescans */

/* What a forgotten container lost, kept so it is still reported. */
struct docker_retired {
    char             id[DOCKER_ID_LEN + 1];
    char            *name;
    struct tail_loss loss;
};

struct container {
    struct container    *next;
    char                 id[DOCKER_ID_LEN + 1];
    char                *dir;
    struct sender_source src;
    struct tailer       *tail;
    int                  wd;
    int                  has_meta;
    int                  is_gone;
    int                  is_marked;     /* wants polling */
    int                  is_seen;       /* rescan bookkeeping */
    uint64_t             gone_order;
    int64_t              meta_tried_ns; /* last config.v2.json attempt */
    int                  has_emitted;
    int                  is_config_refused; /* counted once */
    struct multiline_rule rule;         /* from the label, if has_rule */
    int                  has_rule;
    /* Safety-net looks (docker_look): backed off while the container is
     * idle and inotify has told everything so far. */
    int64_t              look_due_ns;   /* next look; 0: at the next tick */
    unsigned             look_shift;    /* interval: rescan_ms << shift */
    uint64_t             look_logical;  /* tail_logical_get at the look */
    int                  is_look_valid; /* look_logical usable */
    uint64_t             n_events;      /* inotify events since the look */
};

struct docker {
    struct event_base       *base;
    struct docker_config     cfg;
    struct docker_ops        ops;
    struct state_store      *st;
    struct shipper_counters *ctr;
    struct container        *list;
    struct container        *poll_next;     /* a pass starts here (NULL:
                                               the list's head) */
    size_t                   n;
    size_t                   n_gone;
    uint64_t                 gone_seq;
    int                      ifd;
    int                      root_wd;
    struct event            *inotify_ev;
    struct event            *rescan_ev;
    struct event            *work_ev;
    struct event            *expire_ev;
    int                      is_stopped;
    struct docker_retired    retired[DOCKER_RETIRED_MAX];   /* ring */
    size_t                   n_retired, retired_next;
    int                      is_inotify_unreliable; /* no more backoff */
};

/* ---- docker_meta.c: config.v2.json and the multi-line rule ---- */

/* c's rule: spec (its label; a bad one logged and counted), else the
 * default; handed to its tailer. */
void docker_meta_rule_apply(struct docker *d, struct container *c,
                            const char *spec);
/* config.v2.json into c->src (and c's rule); on failure keeps what c had,
 * or the short id. */
void docker_meta_load(struct docker *d, struct container *c);

/* ---- docker_list.c: the containers ---- */

/* The container of id, or of inotify watch wd; NULL if none. */
struct container *docker_list_find(const struct docker *d, const char *id);
struct container *docker_list_find_wd(const struct docker *d, int wd);
/* Frees c (its watch, tailer, strings); c must be off the list. */
void docker_list_container_free(struct docker *d, struct container *c);
/* A container found: watched, its tailer started at its saved position,
 * its config read, marked for polling. */
void docker_list_add(struct docker *d, const char *id);
/* c off the list, its position dropped, its losses kept, c freed. */
void docker_list_forget(struct docker *d, struct container *c);
/* At most cfg.max_gone deleted containers open: the oldest closed. */
void docker_list_gone_cap(struct docker *d);
/* Marks c gone (its directory is): docker_poll.c reads it to its end,
 * flushes and forgets it. */
void docker_list_mark_gone(struct docker *d, struct container *c);
/* 1 if root/id is a directory. */
int  docker_list_dir_exists(const char *root, const char *id);

/* ---- docker_poll.c: reading the containers ---- */

/* The work timer at zero delay (unless pending or stopped). */
void docker_poll_schedule(struct docker *d);
/* work_ev: one pass over the marked containers; expire_ev: records
 * being joined ended after 1 s. */
void docker_poll_work_cb(evutil_socket_t fd, short what, void *arg);
void docker_poll_expire_cb(evutil_socket_t fd, short what, void *arg);

/* ---- docker_look.c: rescans and safety-net looks ---- */

/* The look schedule's clock (cfg.clock_ns, else mono_ns). */
int64_t docker_look_now(const struct docker *d);
/* c is active: its next look comes within one period. */
void docker_look_soon(struct docker *d, struct container *c, int64_t now);
/* rescan_ev: the looks due, then a poll. */
void docker_look_rescan_cb(evutil_socket_t fd, short what, void *arg);

/* ---- docker_inotify.c: inotify events ---- */

/* The inotify fd watching the root, read through a libevent event. 0, or
 * -1 with errno (the caller closes d->ifd and relies on rescans). */
int  docker_inotify_start(struct docker *d);

#endif
