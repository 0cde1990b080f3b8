/* SPDX-License-Identifier: MIT */
/*
 * metrics_host: the host's samples: CPU (rates of /proc/stat ticks),
 * load, memory, uptime, filesystems (statvfs of the host init's mounts),
 * whole disks and interfaces (rates); the text parsed by hostmetrics.c.
 */
#include "shipper/metrics_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

void
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

void
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
void
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

void
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

void
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
