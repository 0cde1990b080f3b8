/* SPDX-License-Identifier: MIT */
/*
 * metrics: the sampler. Reads files (each at most METRICS_FILE_MAX bytes,
 * into one reusable buffer) under the configured roots, hands their text to
 * the pure parsers of hostmetrics.c and cgroup.c, keeps the previous
 * readings needed for rates (host CPU ticks, per-disk sectors, per-interface
 * bytes, per-container CPU time, the shipper's cumulative counters) and adds
 * samples to the caller's wire_metrics_enc. Baseline tables are rebuilt on
 * every sample, so entries of vanished disks, interfaces and containers go
 * away by themselves; lookups are linear (a few hundred keys every 10 s).
 * jansson parses config.v2.json (state and restart count).
 */
#include "shipper/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <jansson.h>

#include "common/xmalloc.h"
#include "shipper/docker.h"
#include "shipper/hostmetrics.h"

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

/* ---- errors, paths, files ---- */

static void metrics_error(struct metrics *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
metrics_error(struct metrics *m, const char *fmt, ...)
{
    va_list ap;

    m->n_errors++;
    va_start(ap, fmt);
    (void)vsnprintf(m->errstr, sizeof(m->errstr), fmt, ap);
    va_end(ap);
}

static const char *metrics_path(struct metrics *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Formats into m->path; NULL (counted) if it does not fit. */
static const char *
metrics_path(struct metrics *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(m->path, sizeof(m->path), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(m->path)) {
        metrics_error(m, "path too long");
        return NULL;
    }
    return m->path;
}

/* Reads all of fd (closed here) into m->rbuf; path names it in errors. */
static int
metrics_read_fd(struct metrics *m, int fd, const char *path, int must,
                size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (n == m->rbuf_cap - 1) {
            if (n >= METRICS_FILE_MAX) {
                metrics_error(m, "%s: %u bytes or more", path,
                              METRICS_FILE_MAX);
                goto fail;
            }
            m->rbuf_cap = m->rbuf_cap * 2 > METRICS_FILE_MAX + 1
                              ? METRICS_FILE_MAX + 1
                              : m->rbuf_cap * 2;
            m->rbuf = xreallocarray(m->rbuf, m->rbuf_cap, 1);
        }
        ssize_t r = read(fd, m->rbuf + n, m->rbuf_cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            if (must)
                metrics_error(m, "read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    m->rbuf[n] = '\0';
    *len = n;
    return 0;

fail:
    close(fd);
    return -1;
}

/*
 * Reads a whole file into m->rbuf. -1 if it cannot be opened or read or is
 * larger than METRICS_FILE_MAX; counted as an error only when must is set
 * (optional files, like a stopped container's cgroup, fail quietly).
 */
static int
metrics_read(struct metrics *m, const char *path, int must, size_t *len)
{
    if (path == NULL)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (must)
            metrics_error(m, "open %s: %s", path, strerror(errno));
        return -1;
    }
    return metrics_read_fd(m, fd, path, must, len);
}

/* ---- baseline tables ---- */

static void
metrics_table_clear(struct metrics_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i].key);
    t->n = 0;
}

static void
metrics_table_fini(struct metrics_table *t)
{
    metrics_table_clear(t);
    free(t->items);
    t->items = NULL;
    t->cap = 0;
}

/* Adds an entry; -1 once the table holds cap entries. */
static int
metrics_table_add(struct metrics_table *t, size_t cap, const char *key,
                  const struct metrics_key *v)
{
    if (t->n >= cap)
        return -1;
    if (t->n == t->cap) {
        t->cap = t->cap == 0 ? 16 : t->cap * 2;
        t->items = xreallocarray(t->items, t->cap, sizeof(*t->items));
    }
    struct metrics_key *k = &t->items[t->n++];
    *k = *v;
    k->key = xstrdup(key);
    return 0;
}

static const struct metrics_key *
metrics_table_find(const struct metrics_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->items[i].key, key) == 0)
            return &t->items[i];
    return NULL;
}

/* Makes the current table the previous one and empties the current. */
static void
metrics_table_rotate(struct metrics_table pair[2])
{
    struct metrics_table old = pair[0];

    pair[0] = pair[1];
    pair[1] = old;
    metrics_table_clear(&pair[1]);
}

/* ---- output ---- */

static void
metrics_put(struct metrics *m, const char *name, const char *ctr,
            const char *label, double value)
{
    if (m->is_full)
        return;
    if (!isfinite(value)) {
        metrics_error(m, "%s: value is not finite", name);
        return;
    }
    if (wire_metrics_enc_add(m->out, name, ctr, label, value) < 0) {
        m->is_full = 1;
        metrics_error(m, "metrics frame full after %zu samples", m->n_added);
        return;
    }
    m->n_added++;
}

/* Per-second rate of a counter, or -1 when there is none this time
 * (first sample, counter reset). */
static double
metrics_rate(const struct metrics *m, uint64_t prev, uint64_t cur,
             double scale)
{
    if (m->dt_s <= 0 || cur < prev)
        return -1;
    return (double)(cur - prev) * scale / m->dt_s;
}

static void
metrics_put_rate(struct metrics *m, const char *name, const char *label,
                 uint64_t prev, uint64_t cur, double scale)
{
    double r = metrics_rate(m, prev, cur, scale);

    if (r >= 0)
        metrics_put(m, name, "", label, r);
}

/* ---- host ---- */

static void
metrics_host_cpu(struct metrics *m)
{
    struct hostmetrics_cpu cur;
    struct hostmetrics_cpu_pct pct;
    size_t len;

    if (metrics_read(m, metrics_path(m, "%s/stat", m->proc_root), 1,
                     &len) < 0)
        return;
    if (hostmetrics_stat_parse(m->rbuf, len, &cur) < 0) {
        metrics_error(m, "%s/stat: no valid cpu line", m->proc_root);
        return;
    }
    if (m->has_cpu && hostmetrics_cpu_pct(&m->prev_cpu, &cur, &pct) == 0) {
        metrics_put(m, "host.cpu.user_pct", "", "", pct.user);
        metrics_put(m, "host.cpu.system_pct", "", "", pct.system);
        metrics_put(m, "host.cpu.iowait_pct", "", "", pct.iowait);
        metrics_put(m, "host.cpu.steal_pct", "", "", pct.steal);
    }
    m->prev_cpu = cur;
    m->has_cpu = 1;
}

static void
metrics_host_load_mem_uptime(struct metrics *m)
{
    size_t len;
    double load[3], up;
    struct hostmetrics_mem mem;

    if (metrics_read(m, metrics_path(m, "%s/loadavg", m->proc_root), 1,
                     &len) == 0) {
        if (hostmetrics_loadavg_parse(m->rbuf, len, load) == 0) {
            metrics_put(m, "host.load.1", "", "", load[0]);
            metrics_put(m, "host.load.5", "", "", load[1]);
            metrics_put(m, "host.load.15", "", "", load[2]);
        } else {
            metrics_error(m, "%s/loadavg: malformed", m->proc_root);
        }
    }
    if (metrics_read(m, metrics_path(m, "%s/meminfo", m->proc_root), 1,
                     &len) == 0) {
        if (hostmetrics_meminfo_parse(m->rbuf, len, &mem) == 0 &&
            mem.available <= mem.total && mem.swap_free <= mem.swap_total) {
            metrics_put(m, "host.mem.total_bytes", "", "", (double)mem.total);
            metrics_put(m, "host.mem.available_bytes", "", "",
                        (double)mem.available);
            metrics_put(m, "host.mem.used_pct", "", "",
                        100.0 * (double)(mem.total - mem.available) /
                            (double)mem.total);
            metrics_put(m, "host.swap.used_bytes", "", "",
                        (double)(mem.swap_total - mem.swap_free));
        } else {
            metrics_error(m, "%s/meminfo: malformed", m->proc_root);
        }
    }
    if (metrics_read(m, metrics_path(m, "%s/uptime", m->proc_root), 1,
                     &len) == 0) {
        if (hostmetrics_uptime_parse(m->rbuf, len, &up) == 0)
            metrics_put(m, "host.uptime_s", "", "", up);
        else
            metrics_error(m, "%s/uptime: malformed", m->proc_root);
    }
}

static void
metrics_host_fs_one(struct metrics *m, const struct hostmetrics_mount *mt)
{
    static const struct metrics_key none;
    struct statvfs sv;

    if (!hostmetrics_fs_is_real(mt) ||
        metrics_table_find(&m->devs, mt->device) != NULL)
        return;
    if (metrics_table_add(&m->devs, METRICS_MAX_KEYS, mt->device,
                          &none) < 0) {
        metrics_error(m, "more than %d filesystems", METRICS_MAX_KEYS);
        return;
    }
    const char *path = metrics_path(m, "%s%s", m->host_root, mt->dir);
    if (path == NULL)
        return;
    if (statvfs(path, &sv) < 0) {
        metrics_error(m, "statvfs %s: %s", path, strerror(errno));
        return;
    }
    uint64_t used = sv.f_blocks >= sv.f_bfree ? sv.f_blocks - sv.f_bfree : 0;
    uint64_t usable = used + sv.f_bavail;   /* df's denominator */
    if (sv.f_blocks == 0 || usable == 0)
        return;
    metrics_put(m, "host.fs.used_pct", "", mt->dir,
                100.0 * (double)used / (double)usable);
    metrics_put(m, "host.fs.free_bytes", "", mt->dir,
                (double)sv.f_bavail * (double)sv.f_frsize);
}

/* Mounts of the host's init (so a containerised shipper with the host's
 * /proc sees the host's mounts), else of this process. */
static void
metrics_host_fs(struct metrics *m)
{
    size_t len, pos = 0;
    struct hostmetrics_mount mt;
    int r;

    metrics_table_clear(&m->devs);
    if (metrics_read(m, metrics_path(m, "%s/1/mounts", m->proc_root), 0,
                     &len) < 0 &&
        metrics_read(m, metrics_path(m, "%s/self/mounts", m->proc_root), 1,
                     &len) < 0)
        return;
    /* statvfs does not touch rbuf, so the text stays valid in the loop. */
    char *text = m->rbuf;
    while ((r = hostmetrics_mounts_next(text, len, &pos, &mt)) != 0) {
        if (r < 0)
            metrics_error(m, "%s mounts: malformed line", m->proc_root);
        else
            metrics_host_fs_one(m, &mt);
    }
}

/* 1 if name is a whole disk: listed in <sys>/block (partitions are not);
 * when that directory is unreadable every non-virtual device counts. */
static int
metrics_is_whole_disk(struct metrics *m, const char *name, int has_sys_block)
{
    if (hostmetrics_disk_is_virtual(name))
        return 0;
    if (!has_sys_block)
        return 1;
    const char *p = metrics_path(m, "%s/block/%s", m->sys_root, name);
    return p != NULL && access(p, F_OK) == 0;
}

static void
metrics_host_disks(struct metrics *m)
{
    size_t len, pos = 0;
    struct hostmetrics_disk d;
    int r;
    const char *sb = metrics_path(m, "%s/block", m->sys_root);
    int has_sys_block = sb != NULL && access(sb, F_OK) == 0;

    if (metrics_read(m, metrics_path(m, "%s/diskstats", m->proc_root), 1,
                     &len) < 0)
        return;
    char *text = m->rbuf;
    while ((r = hostmetrics_diskstats_next(text, len, &pos, &d)) != 0) {
        if (r < 0) {
            metrics_error(m, "%s/diskstats: malformed line", m->proc_root);
            continue;
        }
        if (!metrics_is_whole_disk(m, d.name, has_sys_block))
            continue;
        struct metrics_key v = { .a = d.read_sectors, .b = d.write_sectors };
        if (metrics_table_add(&m->disks[1], METRICS_MAX_KEYS, d.name,
                              &v) < 0) {
            metrics_error(m, "more than %d disks", METRICS_MAX_KEYS);
            break;
        }
        const struct metrics_key *p = metrics_table_find(&m->disks[0],
                                                         d.name);
        if (p == NULL)
            continue;
        metrics_put_rate(m, "host.disk.read_bps", d.name, p->a, v.a,
                         METRICS_SECTOR);
        metrics_put_rate(m, "host.disk.write_bps", d.name, p->b, v.b,
                         METRICS_SECTOR);
    }
    metrics_table_rotate(m->disks);
}

static void
metrics_host_net_one(struct metrics *m, const struct hostmetrics_net *nd)
{
    struct metrics_key v = { .a = nd->rx_bytes, .b = nd->tx_bytes,
                             .c = nd->rx_errors, .d = nd->tx_errors };

    if (metrics_table_add(&m->nets[1], METRICS_MAX_KEYS, nd->name, &v) < 0) {
        metrics_error(m, "more than %d interfaces", METRICS_MAX_KEYS);
        return;
    }
    const struct metrics_key *p = metrics_table_find(&m->nets[0], nd->name);
    if (p == NULL || m->dt_s <= 0)
        return;
    metrics_put_rate(m, "host.net.rx_bps", nd->name, p->a, v.a, 1);
    metrics_put_rate(m, "host.net.tx_bps", nd->name, p->b, v.b, 1);
    /* Errors are counts over the interval, not per second. */
    if (v.c >= p->c)
        metrics_put(m, "host.net.rx_errors", "", nd->name,
                    (double)(v.c - p->c));
    if (v.d >= p->d)
        metrics_put(m, "host.net.tx_errors", "", nd->name,
                    (double)(v.d - p->d));
}

static void
metrics_host_net(struct metrics *m)
{
    size_t len, pos = 0;
    struct hostmetrics_net nd;
    int r;

    if (metrics_read(m, metrics_path(m, "%s/net/dev", m->proc_root), 1,
                     &len) < 0)
        return;
    char *text = m->rbuf;
    while ((r = hostmetrics_netdev_next(text, len, &pos, &nd)) != 0) {
        if (r < 0)
            metrics_error(m, "%s/net/dev: malformed line", m->proc_root);
        else if (strcmp(nd.name, "lo") != 0)
            metrics_host_net_one(m, &nd);
    }
    metrics_table_rotate(m->nets);
}

/* ---- containers ---- */

/*
 * Reads one cgroup value file for the container: the configured pattern
 * first, then Docker's defaults, first readable wins. Returns 0 with the
 * file's text in m->rbuf, -1 if no pattern had it.
 */
static int
metrics_cgroup_read(struct metrics *m, const char *id, const char *ctl,
                    const char *file, size_t *len)
{
    const char *const *defs = cgroup_default_patterns(m->cg);
    const char *ctl2 = m->cg == CGROUP_V2 ? "" : ctl;

    for (int i = -1; i == -1 || defs[i] != NULL; i++) {
        const char *pat = i < 0 ? m->pattern : defs[i];
        if (pat == NULL)
            continue;
        if (cgroup_path_format(m->sys_root, pat, id, ctl2, file, m->path,
                               sizeof(m->path)) < 0)
            continue;
        if (metrics_read(m, m->path, 0, len) == 0)
            return 0;
    }
    return -1;
}

/* One value file: 1 ok, 0 missing, -1 malformed (counted). */
static int
metrics_cgroup_value(struct metrics *m, const char *id, const char *ctl,
                     const char *file, uint64_t *out)
{
    size_t len;

    if (metrics_cgroup_read(m, id, ctl, file, &len) < 0)
        return 0;
    int r = strcmp(file, "cpu.stat") == 0
                ? cgroup_cpu_stat_parse(m->rbuf, len, out)
                : cgroup_value_parse(m->rbuf, len, out);
    if (r < 0) {
        metrics_error(m, "container %.12s: malformed %s", id, file);
        return -1;
    }
    return 1;
}

static void
metrics_cgroup_sample(struct metrics *m, const char *id,
                      struct cgroup_sample *s)
{
    int is_v2 = m->cg == CGROUP_V2;
    uint64_t v;

    *s = (struct cgroup_sample){ 0 };
    if (metrics_cgroup_value(m, id, "cpuacct",
                             is_v2 ? "cpu.stat" : "cpuacct.usage", &v) > 0 &&
        (!is_v2 || v <= UINT64_MAX / 1000)) {
        s->cpu_ns = is_v2 ? v * 1000 : v;
        s->has_cpu = 1;
    }
    if (metrics_cgroup_value(m, id, "memory",
                             is_v2 ? "memory.current"
                                   : "memory.usage_in_bytes", &v) > 0 &&
        v != CGROUP_UNLIMITED) {
        s->mem_bytes = v;
        s->has_mem = 1;
    }
    if (metrics_cgroup_value(m, id, "memory",
                             is_v2 ? "memory.max" : "memory.limit_in_bytes",
                             &v) > 0) {
        s->mem_limit = v;
        s->has_limit = 1;
    }
}

static void
metrics_ctr_cpu(struct metrics *m, const char *id, const char *name,
                const struct cgroup_sample *s)
{
    struct metrics_key v = { .a = s->cpu_ns };

    if (metrics_table_add(&m->ctrs[1], METRICS_MAX_CONTAINERS, id, &v) < 0)
        return;
    const struct metrics_key *p = metrics_table_find(&m->ctrs[0], id);
    /* Percent of one core: 1e9 ns of CPU per second is 100 %. */
    double r = p != NULL ? metrics_rate(m, p->a, v.a, 100.0 / 1e9) : -1;
    if (r >= 0)
        metrics_put(m, "container.cpu_pct", name, "", r);
}

/*
 * Opens <docker_root>/containers/<id>/config.v2.json as docker_meta.c
 * and tail_dir.c open what they read there: the container directory with
 * O_NOFOLLOW | O_DIRECTORY, the file relative to it with O_NOFOLLOW |
 * O_NONBLOCK, and only a regular file is kept. A symlink or another kind
 * of file is refused: an error, and files_refused once until the file is
 * fixed.
 * The fd, or -1.
 */
static int
metrics_open_config(struct metrics *m, const char *id)
{
    const char *dir = metrics_path(m, "%s/containers/%s", m->docker_root, id);
    if (dir == NULL)
        return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int fd = dfd < 0 ? -1 : openat(dfd, METRICS_CONFIG_FILE, O_RDONLY |
                                   O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
                                   O_NOCTTY);
    int err = errno;
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
        err = ENOTDIR;
    }
    if (dfd >= 0)
        close(dfd);
    if (fd >= 0)
        return fd;
    if (err == ELOOP || err == ENOTDIR) {
        metrics_error(m, "container %.12s: %s is a symlink or not a regular "
                      "file, refused", id, dfd < 0 ? "its directory"
                                                   : METRICS_CONFIG_FILE);
        struct metrics_key none = { 0 };
        if (metrics_table_find(&m->refused[0], id) == NULL)
            m->n_refused++;
        (void)metrics_table_add(&m->refused[1], METRICS_MAX_CONTAINERS, id,
                                &none);
    } else {
        metrics_error(m, "open %s/%s: %s", dir, METRICS_CONFIG_FILE,
                      strerror(err));
    }
    return -1;
}

static void
metrics_ctr_one(struct metrics *m, const struct metrics_container *c)
{
    struct metrics_ctr_state st = { NULL, -1, 0 };
    struct cgroup_sample s;
    size_t len;
    int fd = metrics_open_config(m, c->id);

    if (fd >= 0 &&
        metrics_read_fd(m, fd, METRICS_CONFIG_FILE, 1, &len) == 0 &&
        metrics_ctr_state_parse(m->rbuf, len, &st) < 0) {
        metrics_error(m, "container %.12s: bad config.v2.json", c->id);
        st.state = -1;
    }
    char shortid[13];
    (void)snprintf(shortid, sizeof(shortid), "%.12s", c->id);
    const char *name = c->name != NULL ? c->name
                       : st.name != NULL && st.name[0] != '\0' ? st.name
                                                               : shortid;
    if (st.state >= 0) {
        metrics_put(m, "container.state", name, "", st.state);
        metrics_put(m, "container.restarts", name, "", (double)st.restarts);
    }
    metrics_cgroup_sample(m, c->id, &s);
    if (s.has_cpu)
        metrics_ctr_cpu(m, c->id, name, &s);
    if (s.has_mem)
        metrics_put(m, "container.mem.bytes", name, "", (double)s.mem_bytes);
    if (s.has_limit)
        metrics_put(m, "container.mem.limit_bytes", name, "",
                    s.mem_limit == CGROUP_UNLIMITED ? 0
                                                    : (double)s.mem_limit);
    /* A live container without a cgroup: wrong pattern or driver. */
    if (st.state > METRICS_STATE_STOPPED && m->cg != CGROUP_NONE &&
        !s.has_cpu && !s.has_mem)
        metrics_error(m, "container %.12s: no cgroup found", c->id);
    free(st.name);
}

static int
metrics_id_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Ids of <docker_root>/containers/<id>, sorted; caller frees each and the
 * array. */
static char **
metrics_scan(struct metrics *m, size_t *n)
{
    const char *path = metrics_path(m, "%s/containers", m->docker_root);
    DIR *dir = path != NULL ? opendir(path) : NULL;
    char **ids = NULL;
    size_t cap = 0;
    struct dirent *de;

    *n = 0;
    if (dir == NULL) {
        if (path != NULL)
            metrics_error(m, "opendir %s: %s", path, strerror(errno));
        return NULL;
    }
    while ((de = readdir(dir)) != NULL) {
        if (!docker_is_id(de->d_name))
            continue;
        if (*n == METRICS_MAX_CONTAINERS) {
            metrics_error(m, "more than %d containers",
                          METRICS_MAX_CONTAINERS);
            break;
        }
        if (*n == cap) {
            cap = cap == 0 ? 32 : cap * 2;
            ids = xreallocarray(ids, cap, sizeof(*ids));
        }
        ids[(*n)++] = xstrdup(de->d_name);
    }
    closedir(dir);
    if (*n > 0)
        qsort(ids, *n, sizeof(*ids), metrics_id_cmp);
    return ids;
}

static void
metrics_containers(struct metrics *m, const struct metrics_container *ctrs,
                   size_t n)
{
    if (m->docker_root == NULL)
        return;
    if (ctrs != NULL) {
        for (size_t i = 0; i < n && i < METRICS_MAX_CONTAINERS; i++)
            if (docker_is_id(ctrs[i].id))
                metrics_ctr_one(m, &ctrs[i]);
    } else {
        size_t n_ids;
        char **ids = metrics_scan(m, &n_ids);
        for (size_t i = 0; i < n_ids; i++) {
            struct metrics_container c = { ids[i], NULL };
            metrics_ctr_one(m, &c);
            free(ids[i]);
        }
        free(ids);
    }
    metrics_table_rotate(m->ctrs);
    metrics_table_rotate(m->refused);
}

/* ---- the shipper itself ---- */

static void
metrics_self(struct metrics *m, const struct metrics_self *s)
{
    if (s == NULL)
        return;
    if (m->has_self) {
        double r = metrics_rate(m, m->prev_lines, s->lines, 1);
        if (r >= 0)
            metrics_put(m, "shipper.lines_ps", "", "", r);
        r = metrics_rate(m, m->prev_bytes, s->bytes, 1);
        if (r >= 0)
            metrics_put(m, "shipper.bytes_ps", "", "", r);
    }
    m->prev_lines = s->lines;
    m->prev_bytes = s->bytes;
    m->has_self = 1;
    metrics_put(m, "shipper.lag_bytes", "", "", (double)s->lag_bytes);
    metrics_put(m, "shipper.connected", "", "", s->is_connected ? 1 : 0);
    metrics_put(m, "shipper.dropped", "", "", (double)s->dropped);
    metrics_put(m, "shipper.truncated", "", "", (double)s->truncated);
}

/* ---- public API ---- */

int
metrics_ctr_state_parse(const char *text, size_t len,
                        struct metrics_ctr_state *out)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    json_t *st = json_object_get(root, "State");

    if (!json_is_object(root) || !json_is_object(st)) {
        json_decref(root);
        return -1;
    }
    int state = METRICS_STATE_STOPPED;
    if (json_is_true(json_object_get(st, "Paused")))
        state = METRICS_STATE_PAUSED;
    else if (json_is_true(json_object_get(st, "Restarting")))
        state = METRICS_STATE_RESTARTING;
    else if (json_is_true(json_object_get(st, "Running")))
        state = METRICS_STATE_RUNNING;
    json_t *rc = json_object_get(root, "RestartCount");
    json_int_t restarts = json_is_integer(rc) ? json_integer_value(rc) : 0;
    json_t *name = json_object_get(root, "Name");
    const char *s = json_is_string(name) ? json_string_value(name) : NULL;
    if (s != NULL && s[0] == '/')
        s++;
    out->name = s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
    out->state = state;
    out->restarts = restarts > 0 ? (uint64_t)restarts : 0;
    json_decref(root);
    return 0;
}

struct metrics *
metrics_new(const struct metrics_config *cfg)
{
    struct metrics *m = xcalloc(1, sizeof(*m));

    m->proc_root = xstrdup(cfg->proc_root != NULL ? cfg->proc_root : "/proc");
    m->sys_root = xstrdup(cfg->sys_root != NULL ? cfg->sys_root : "/sys");
    m->host_root = xstrdup(cfg->host_root != NULL ? cfg->host_root : "");
    if (cfg->docker_root != NULL)
        m->docker_root = xstrdup(cfg->docker_root);
    if (cfg->cgroup_pattern != NULL && cfg->cgroup_pattern[0] != '\0')
        m->pattern = xstrdup(cfg->cgroup_pattern);
    m->cg = cgroup_detect(m->sys_root);
    m->rbuf_cap = 64 << 10;
    m->rbuf = xmalloc(m->rbuf_cap);
    return m;
}

void
metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        metrics_table_fini(&m->disks[i]);
        metrics_table_fini(&m->nets[i]);
        metrics_table_fini(&m->ctrs[i]);
        metrics_table_fini(&m->refused[i]);
    }
    metrics_table_fini(&m->devs);
    free(m->rbuf);
    free(m->pattern);
    free(m->docker_root);
    free(m->host_root);
    free(m->sys_root);
    free(m->proc_root);
    free(m);
}

size_t
metrics_sample(struct metrics *m, int64_t now_ns,
               const struct metrics_container *ctrs, size_t n,
               const struct metrics_self *self, struct wire_metrics_enc *out)
{
    m->out = out;
    m->n_added = 0;
    m->is_full = 0;
    m->dt_s = 0;
    if (m->has_prev && now_ns > m->prev_ns)
        m->dt_s = (double)(now_ns - m->prev_ns) / 1e9;
    else if (m->has_prev)
        metrics_error(m, "clock did not advance: no rates this sample");
    metrics_host_cpu(m);
    metrics_host_load_mem_uptime(m);
    metrics_host_fs(m);
    metrics_host_disks(m);
    metrics_host_net(m);
    metrics_containers(m, ctrs, n);
    metrics_self(m, self);
    if (self != NULL)
        metrics_put(m, "shipper.metrics_errors", "", "",
                    (double)m->n_errors);
    m->prev_ns = now_ns;
    m->has_prev = 1;
    m->out = NULL;
    return m->n_added;
}

uint64_t
metrics_errors(const struct metrics *m)
{
    return m->n_errors;
}

uint64_t
metrics_files_refused(const struct metrics *m)
{
    return m->n_refused;
}

const char *
metrics_last_error(const struct metrics *m)
{
    return m->errstr;
}

enum cgroup_version
metrics_cgroup_version(const struct metrics *m)
{
    return m->cg;
}
