/* SPDX-License-Identifier: MIT */
/*
 * metrics: the sampler behind the METRICS frames. Each metrics_sample call
 * reads the host's /proc files, each container's cgroup files and
 * config.v2.json, and the shipper's own counters, and adds samples named as
 * in shipper/METRICS.md to a wire_metrics_enc. Rates (CPU %, bytes/s) need
 * two readings: the first call primes the baselines and emits only gauges.
 * All files are read under --proc-root / --sys-root / --host-root (bounded,
 * METRICS_FILE_MAX), so the shipper can run in a container with the host's
 * trees mounted read-only, and tests point it at fixture trees. A missing
 * or malformed file skips its metrics and bumps an error counter; nothing
 * here logs, blocks on the network or owns a timer: main.c calls it from
 * its own timer and hands the encoder to sender_send_metrics().
 */
#ifndef SHIPPER_METRICS_H
#define SHIPPER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"
#include "shipper/cgroup.h"

#define METRICS_FILE_MAX      (1u << 20)  /* bytes read from one file */
#define METRICS_MAX_CONTAINERS 4096       /* per sample (scan and baselines) */
#define METRICS_MAX_KEYS      1024        /* mounts, disks, interfaces */

/* container.state values */
#define METRICS_STATE_STOPPED    0
#define METRICS_STATE_RUNNING    1
#define METRICS_STATE_PAUSED     2
#define METRICS_STATE_RESTARTING 3

struct metrics_config {
    const char *proc_root;      /* NULL: "/proc" */
    const char *sys_root;       /* NULL: "/sys" */
    const char *host_root;      /* statvfs prefix for mount points; NULL: "" */
    const char *docker_root;    /* holds containers/<id>/config.v2.json;
                                 * NULL: no container metrics */
    const char *cgroup_pattern; /* tried before Docker's defaults; relative
                                 * to <sys_root>/fs/cgroup, with {id} and
                                 * {controller}; NULL: defaults only */
};

/* A container to sample; both strings borrowed for the call. */
struct metrics_container {
    const char *id;             /* 64 hex digits */
    const char *name;           /* sent as the sample's container; NULL:
                                 * Name from config.v2.json */
};

/* The shipper's own figures, filled in by main.c before each sample.
 * lines/bytes are cumulative (rates are derived here); the rest are
 * reported as they are. */
struct metrics_self {
    uint64_t lines;             /* records handed to the sender */
    uint64_t bytes;             /* log file bytes read */
    uint64_t lag_bytes;         /* bytes behind the end of the log files */
    int      is_connected;      /* 1 after WELCOME */
    uint64_t dropped;
    uint64_t truncated;
    /* writeback asked for json-file pages read (tail_wb.c), cumulative */
    uint64_t wb_calls;
    uint64_t wb_bytes;
    uint64_t wb_ms;             /* time in the calls */
    uint64_t wb_max_ms;         /* the longest call */
    uint64_t wb_errors;
};

/* What config.v2.json says about a running state. name is owned (free
 * with free()). */
struct metrics_ctr_state {
    char    *name;
    int      state;             /* METRICS_STATE_* */
    uint64_t restarts;
};

/* Never fails for a sane config (detects the cgroup version once). Free
 * with metrics_free. */
struct metrics *metrics_new(const struct metrics_config *cfg);
void metrics_free(struct metrics *m);

/*
 * Samples once at now_ns (CLOCK_MONOTONIC; rates use the gap to the
 * previous call) into out, which the caller resets beforehand. ctrs[0..n)
 * are the containers; ctrs == NULL means "scan <docker_root>/containers".
 * self may be NULL (no shipper.* metrics). Returns the number of samples
 * added. Unreadable or bad files and a full encoder are counted in
 * metrics_errors(); the samples concerned are skipped.
 */
size_t metrics_sample(struct metrics *m, int64_t now_ns,
                      const struct metrics_container *ctrs, size_t n,
                      const struct metrics_self *self,
                      struct wire_metrics_enc *out);

/* Errors since metrics_new, and the latest one as text ("" if none). */
uint64_t metrics_errors(const struct metrics *m);
const char *metrics_last_error(const struct metrics *m);
/* config.v2.json files (or container directories) refused since
 * metrics_new because they are symlinks or not regular files; a file that
 * stays refused counts once (also in metrics_errors, every sample). */
uint64_t metrics_files_refused(const struct metrics *m);
enum cgroup_version metrics_cgroup_version(const struct metrics *m);

/* Parses config.v2.json text: Name (leading '/' dropped), State.Running/
 * Paused/Restarting, RestartCount. -1 if not a JSON object or no State;
 * out written only on success. */
int metrics_ctr_state_parse(const char *text, size_t len,
                            struct metrics_ctr_state *out);

#endif
