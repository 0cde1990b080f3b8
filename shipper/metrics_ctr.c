/* SPDX-License-Identifier: MIT */
/*
 * metrics_ctr: the containers' samples: state, restarts and name from
 * config.v2.json (opened without following symlinks; a refused one
 * counted once), CPU (rate) and memory from the cgroup files (the
 * configured pattern, then Docker's), parsed by cgroup.c.
 */
#include "shipper/metrics_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "shipper/docker.h"

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

void
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
