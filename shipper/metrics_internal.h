/* SPDX-License-Identifier: MIT */
/*
 * metrics_internal: the sampler's state and the functions its parts share
 * (metrics.c, metrics_io.c, metrics_host.c, metrics_ctr.c; see
 * metrics.c). Not for use outside those files: main.c and the tests use
 * metrics.h only. Single-threaded, like the sampler.
 */
#ifndef SHIPPER_METRICS_INTERNAL_H
#define SHIPPER_METRICS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"
#include "shipper/cgroup.h"
#include "shipper/hostmetrics.h"
#include "shipper/metrics.h"

#define METRICS_PATH_MAX 4096
#define METRICS_SECTOR   512
#define METRICS_CONFIG_FILE "config.v2.json"

/* A previous reading of one rate source (disk, interface, container). */
struct metrics_key {
    char    *key;
    uint64_t a;
    uint64_t b;
    uint64_t c;
    uint64_t d;
};

struct metrics_table {
    struct metrics_key *items;
    size_t              n;
    size_t              cap;
};

struct metrics {
    char                *proc_root;
    char                *sys_root;
    char                *host_root;
    char                *docker_root;
    char                *pattern;
    enum cgroup_version  cg;

    char                *rbuf;          /* file contents, NUL-terminated */
    size_t               rbuf_cap;
    char                 path[METRICS_PATH_MAX];

    int64_t              prev_ns;
    int                  has_prev;
    double               dt_s;          /* 0: no rates this sample */
    struct hostmetrics_cpu prev_cpu;
    int                  has_cpu;
    struct metrics_table disks[2];      /* [0] previous, [1] current */
    struct metrics_table nets[2];
    struct metrics_table ctrs[2];
    struct metrics_table refused[2];    /* ids whose config was refused */
    uint64_t             n_refused;
    struct metrics_table devs;          /* filesystems seen this sample */
    uint64_t             prev_lines;
    uint64_t             prev_bytes;
    int                  has_self;

    struct wire_metrics_enc *out;
    size_t               n_added;
    int                  is_full;
    uint64_t             n_errors;
    char                 errstr[256];
};

/* ---- metrics_io.c: errors, paths, files; baselines; samples out ---- */

/* Counts an error and keeps its text as the last one. */
void metrics_error(struct metrics *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Formats into m->path; NULL (counted) if it does not fit. */
const char *metrics_path(struct metrics *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reads all of fd (closed here) into m->rbuf; path names it in errors. */
int metrics_read_fd(struct metrics *m, int fd, const char *path, int must,
                    size_t *len);
/* A whole file into m->rbuf: 0, or -1 (counted only when must is set). */
int metrics_read(struct metrics *m, const char *path, int must,
                 size_t *len);
/* A baseline table emptied (entries freed) or freed with its array. */
void metrics_table_clear(struct metrics_table *t);
void metrics_table_fini(struct metrics_table *t);
/* Adds an entry (key copied); -1 once the table holds cap entries. */
int metrics_table_add(struct metrics_table *t, size_t cap, const char *key,
                      const struct metrics_key *v);
/* The entry of key, or NULL. */
const struct metrics_key *metrics_table_find(const struct metrics_table *t,
                                             const char *key);
/* Makes the current table the previous one and empties the current. */
void metrics_table_rotate(struct metrics_table pair[2]);
/* One sample into m->out (not finite, or the frame full: counted). */
void metrics_put(struct metrics *m, const char *name, const char *ctr,
                 const char *label, double value);
/* Per-second rate of a counter, or -1 when there is none this time. */
double metrics_rate(const struct metrics *m, uint64_t prev, uint64_t cur,
                    double scale);
/* The rate of a counter as a sample, if there is one this time. */
void metrics_put_rate(struct metrics *m, const char *name, const char *label,
                      uint64_t prev, uint64_t cur, double scale);

/* ---- metrics_host.c: the host ---- */

/* CPU, load, memory and uptime, filesystems, disks, interfaces. */
void metrics_host_cpu(struct metrics *m);
void metrics_host_load_mem_uptime(struct metrics *m);
void metrics_host_fs(struct metrics *m);
void metrics_host_disks(struct metrics *m);
void metrics_host_net(struct metrics *m);

/* ---- metrics_ctr.c: the containers ---- */

/* The containers of ctrs (n of them), or those found under the Docker
 * root when ctrs is NULL: state, restarts, CPU and memory. */
void metrics_containers(struct metrics *m,
                        const struct metrics_container *ctrs, size_t n);

#endif
