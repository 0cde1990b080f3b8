/* SPDX-License-Identifier: MIT */
/*
 * hostmetrics: pure parsers for the Linux files the host metrics come from
 * (/proc/stat, loadavg, meminfo, uptime, mounts, diskstats, net/dev) and
 * the arithmetic that turns two snapshots into percentages. Every function
 * works on a borrowed (text, len) that need not be NUL-terminated and never
 * reads past len, so each is unit-tested on strings and fuzzable. No file
 * I/O, no allocation: metrics.c reads the files (bounded) and keeps the
 * previous snapshots.
 */
#ifndef SHIPPER_HOSTMETRICS_H
#define SHIPPER_HOSTMETRICS_H

#include <stddef.h>
#include <stdint.h>

/* Longest device, interface or mount point name kept (longer: skipped). */
#define HOSTMETRICS_NAME_MAX 256

/* Aggregate "cpu" line of /proc/stat, in clock ticks. Fields missing on old
 * kernels (steal, guest) are 0. */
struct hostmetrics_cpu {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

struct hostmetrics_cpu_pct {
    double user;        /* user + nice */
    double system;      /* system + irq + softirq */
    double iowait;
    double steal;
};

struct hostmetrics_mem {
    uint64_t total;     /* bytes */
    uint64_t available;
    uint64_t swap_total;
    uint64_t swap_free;
};

struct hostmetrics_mount {
    char device[HOSTMETRICS_NAME_MAX];
    char dir[HOSTMETRICS_NAME_MAX];     /* octal escapes (\040) decoded */
    char type[64];
};

struct hostmetrics_disk {
    char     name[HOSTMETRICS_NAME_MAX];
    uint64_t read_sectors;              /* 512-byte units, per the kernel */
    uint64_t write_sectors;
};

struct hostmetrics_net {
    char     name[HOSTMETRICS_NAME_MAX];
    uint64_t rx_bytes, rx_errors;
    uint64_t tx_bytes, tx_errors;
};

/* Parses a whole decimal u64 in p[0..len) (no sign, no spaces, no
 * overflow). 0 ok, -1 otherwise. */
int hostmetrics_u64_parse(const char *p, size_t len, uint64_t *out);

/* The "cpu " line of /proc/stat. -1 if absent, short (< 4 numbers) or
 * holding a bad number. */
int hostmetrics_stat_parse(const char *text, size_t len,
                           struct hostmetrics_cpu *out);
/* Shares of all cores between two snapshots, in percent (0..100). -1 when
 * no tick passed or a counter went backwards (out untouched). */
int hostmetrics_cpu_pct(const struct hostmetrics_cpu *prev,
                        const struct hostmetrics_cpu *cur,
                        struct hostmetrics_cpu_pct *out);

/* /proc/loadavg: the first three fields. */
int hostmetrics_loadavg_parse(const char *text, size_t len, double out[3]);
/* /proc/meminfo: MemTotal and MemAvailable are required; SwapTotal and
 * SwapFree default to 0. kB values are converted to bytes (overflow: -1). */
int hostmetrics_meminfo_parse(const char *text, size_t len,
                              struct hostmetrics_mem *out);
/* /proc/uptime: the first field, seconds. */
int hostmetrics_uptime_parse(const char *text, size_t len, double *out);

/*
 * Line iterators for mounts, diskstats and net/dev: *pos starts at 0.
 * Return 1 with *out filled, 0 at the end, -1 for a malformed line (which
 * is skipped: *pos moves past it, so the caller counts it and goes on).
 */
int hostmetrics_mounts_next(const char *text, size_t len, size_t *pos,
                            struct hostmetrics_mount *out);
int hostmetrics_diskstats_next(const char *text, size_t len, size_t *pos,
                               struct hostmetrics_disk *out);
/* Header lines (no ':') are skipped silently. */
int hostmetrics_netdev_next(const char *text, size_t len, size_t *pos,
                            struct hostmetrics_net *out);

/* 1 if the mount is local storage worth reporting: a block device, zfs or
 * virtiofs; not proc/sysfs/cgroup/tmpfs/overlay and the like, and not a
 * network filesystem (statvfs could block on a dead server). */
int hostmetrics_fs_is_real(const struct hostmetrics_mount *m);
/* 1 for block devices that are not disks (loop*, ram*). */
int hostmetrics_disk_is_virtual(const char *name);

#endif
