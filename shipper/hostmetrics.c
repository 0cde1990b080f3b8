/* SPDX-License-Identifier: MIT */
/*
 * hostmetrics: parsers for /proc/stat, loadavg, meminfo, uptime, mounts,
 * diskstats and net/dev. Written by hand over (text, len) with a small
 * line/field scanner: these files are a few KiB of whitespace-separated
 * numbers, sscanf would need NUL-terminated copies and cannot report
 * overflow, and every parser must survive truncated or hostile input
 * (fixtures, a hostile container's bind-mounted /proc). Nothing here reads
 * files or allocates.
 */
#include "shipper/hostmetrics.h"

#include <stdlib.h>
#include <string.h>

/* ---- scanner ---- */

struct hm_line {
    const char *p;
    size_t      len;
};

/* Next line of text from *pos (without its '\n'); 0 at the end. */
static int
hm_line_next(const char *text, size_t len, size_t *pos, struct hm_line *l)
{
    if (*pos >= len)
        return 0;
    const char *start = text + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    size_t n = nl != NULL ? (size_t)(nl - start) : len - *pos;

    l->p = start;
    l->len = n;
    *pos += n + (nl != NULL ? 1 : 0);
    return 1;
}

static int
hm_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Next whitespace-separated field of l (consumed); 0 when none is left. */
static int
hm_field_next(struct hm_line *l, struct hm_line *f)
{
    while (l->len > 0 && hm_is_space(*l->p)) {
        l->p++;
        l->len--;
    }
    if (l->len == 0)
        return 0;
    f->p = l->p;
    f->len = 0;
    while (l->len > 0 && !hm_is_space(*l->p)) {
        l->p++;
        l->len--;
        f->len++;
    }
    return 1;
}

static int
hm_field_u64(struct hm_line *l, uint64_t *out)
{
    struct hm_line f;

    if (!hm_field_next(l, &f))
        return -1;
    return hostmetrics_u64_parse(f.p, f.len, out);
}

/* A finite, non-negative decimal like "0.42" or "1105.82". */
static int
hm_field_double(struct hm_line *l, double *out)
{
    struct hm_line f;
    char tmp[64];

    if (!hm_field_next(l, &f) || f.len >= sizeof(tmp))
        return -1;
    for (size_t i = 0; i < f.len; i++)
        if ((f.p[i] < '0' || f.p[i] > '9') && f.p[i] != '.')
            return -1;
    memcpy(tmp, f.p, f.len);
    tmp[f.len] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (end != tmp + f.len)
        return -1;
    *out = v;
    return 0;
}

/* Copies f into dst[cap] as a C string; -1 if empty or too long. */
static int
hm_field_copy(const struct hm_line *f, char *dst, size_t cap)
{
    if (f->len == 0 || f->len >= cap)
        return -1;
    memcpy(dst, f->p, f->len);
    dst[f->len] = '\0';
    return 0;
}

static int
hm_has_prefix(const struct hm_line *l, const char *prefix)
{
    size_t n = strlen(prefix);

    return l->len >= n && memcmp(l->p, prefix, n) == 0;
}

/* ---- numbers ---- */

int
hostmetrics_u64_parse(const char *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 20)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* ---- cpu, load, memory, uptime ---- */

int
hostmetrics_stat_parse(const char *text, size_t len,
                       struct hostmetrics_cpu *out)
{
    size_t pos = 0;
    struct hm_line l, f;

    while (hm_line_next(text, len, &pos, &l)) {
        if (!hm_field_next(&l, &f) || f.len != 3 || memcmp(f.p, "cpu", 3))
            continue;
        uint64_t v[8] = { 0 };
        int n = 0;
        while (n < 8 && hm_field_next(&l, &f)) {
            if (hostmetrics_u64_parse(f.p, f.len, &v[n]) < 0)
                return -1;
            n++;
        }
        if (n < 4)
            return -1;
        *out = (struct hostmetrics_cpu){ v[0], v[1], v[2], v[3],
                                         v[4], v[5], v[6], v[7] };
        return 0;
    }
    return -1;
}

static int
hm_cpu_total(const struct hostmetrics_cpu *c, uint64_t *out)
{
    const uint64_t v[8] = { c->user, c->nice, c->system, c->idle,
                            c->iowait, c->irq, c->softirq, c->steal };
    uint64_t t = 0;

    for (int i = 0; i < 8; i++) {
        if (v[i] > UINT64_MAX - t)
            return -1;
        t += v[i];
    }
    *out = t;
    return 0;
}

int
hostmetrics_cpu_pct(const struct hostmetrics_cpu *prev,
                    const struct hostmetrics_cpu *cur,
                    struct hostmetrics_cpu_pct *out)
{
    uint64_t tp, tc;

    if (hm_cpu_total(prev, &tp) < 0 || hm_cpu_total(cur, &tc) < 0)
        return -1;
    if (tc <= tp || cur->user < prev->user || cur->nice < prev->nice ||
        cur->system < prev->system || cur->irq < prev->irq ||
        cur->softirq < prev->softirq || cur->iowait < prev->iowait ||
        cur->steal < prev->steal)
        return -1;
    double total = (double)(tc - tp);
    double user = (double)((cur->user - prev->user) + (cur->nice - prev->nice));
    double sys = (double)((cur->system - prev->system) +
                          (cur->irq - prev->irq) +
                          (cur->softirq - prev->softirq));

    out->user = 100.0 * user / total;
    out->system = 100.0 * sys / total;
    out->iowait = 100.0 * (double)(cur->iowait - prev->iowait) / total;
    out->steal = 100.0 * (double)(cur->steal - prev->steal) / total;
    return 0;
}

int
hostmetrics_loadavg_parse(const char *text, size_t len, double out[3])
{
    size_t pos = 0;
    struct hm_line l;
    double v[3];

    if (!hm_line_next(text, len, &pos, &l))
        return -1;
    for (int i = 0; i < 3; i++)
        if (hm_field_double(&l, &v[i]) < 0)
            return -1;
    memcpy(out, v, sizeof(v));
    return 0;
}

/* "Key:   123 kB" → bytes. */
static int
hm_meminfo_value(struct hm_line *l, uint64_t *out)
{
    uint64_t kb;
    struct hm_line unit;

    if (hm_field_u64(l, &kb) < 0)
        return -1;
    if (!hm_field_next(l, &unit) || unit.len != 2 || memcmp(unit.p, "kB", 2))
        return -1;
    if (kb > UINT64_MAX / 1024)
        return -1;
    *out = kb * 1024;
    return 0;
}

int
hostmetrics_meminfo_parse(const char *text, size_t len,
                          struct hostmetrics_mem *out)
{
    static const char *const keys[4] = { "MemTotal:", "MemAvailable:",
                                         "SwapTotal:", "SwapFree:" };
    uint64_t v[4] = { 0 };
    int seen[4] = { 0 };
    size_t pos = 0;
    struct hm_line l;

    while (hm_line_next(text, len, &pos, &l)) {
        for (int i = 0; i < 4; i++) {
            if (!hm_has_prefix(&l, keys[i]))
                continue;
            size_t k = strlen(keys[i]);
            struct hm_line rest = { l.p + k, l.len - k };
            if (hm_meminfo_value(&rest, &v[i]) < 0)
                return -1;
            seen[i] = 1;
        }
    }
    if (!seen[0] || !seen[1] || v[0] == 0)
        return -1;
    *out = (struct hostmetrics_mem){ v[0], v[1], v[2], v[3] };
    return 0;
}

int
hostmetrics_uptime_parse(const char *text, size_t len, double *out)
{
    size_t pos = 0;
    struct hm_line l;

    if (!hm_line_next(text, len, &pos, &l))
        return -1;
    return hm_field_double(&l, out);
}

/* ---- mounts, disks, interfaces ---- */

/* Copies a mounts field, decoding the kernel's \ooo escapes. */
static int
hm_unescape(const struct hm_line *f, char *dst, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < f->len; i++) {
        char c = f->p[i];
        if (c == '\\' && i + 3 < f->len &&
            f->p[i + 1] >= '0' && f->p[i + 1] <= '3' &&
            f->p[i + 2] >= '0' && f->p[i + 2] <= '7' &&
            f->p[i + 3] >= '0' && f->p[i + 3] <= '7') {
            c = (char)((f->p[i + 1] - '0') * 64 + (f->p[i + 2] - '0') * 8 +
                       (f->p[i + 3] - '0'));
            i += 3;
        }
        if (c == '\0' || o + 1 >= cap)
            return -1;
        dst[o++] = c;
    }
    if (o == 0)
        return -1;
    dst[o] = '\0';
    return 0;
}

int
hostmetrics_mounts_next(const char *text, size_t len, size_t *pos,
                        struct hostmetrics_mount *out)
{
    struct hm_line l, dev, dir, type;

    do {
        if (!hm_line_next(text, len, pos, &l))
            return 0;
    } while (l.len == 0);
    if (!hm_field_next(&l, &dev) || !hm_field_next(&l, &dir) ||
        !hm_field_next(&l, &type))
        return -1;
    if (hm_unescape(&dev, out->device, sizeof(out->device)) < 0 ||
        hm_unescape(&dir, out->dir, sizeof(out->dir)) < 0 ||
        hm_field_copy(&type, out->type, sizeof(out->type)) < 0 ||
        out->dir[0] != '/')
        return -1;
    return 1;
}

int
hostmetrics_diskstats_next(const char *text, size_t len, size_t *pos,
                           struct hostmetrics_disk *out)
{
    struct hm_line l, name;
    uint64_t v[7];

    do {
        if (!hm_line_next(text, len, pos, &l))
            return 0;
    } while (l.len == 0);
    /* major minor name reads merged sectors_read ms writes merged
     * sectors_written ... */
    if (hm_field_u64(&l, &v[0]) < 0 || hm_field_u64(&l, &v[1]) < 0 ||
        !hm_field_next(&l, &name) ||
        hm_field_copy(&name, out->name, sizeof(out->name)) < 0)
        return -1;
    for (int i = 0; i < 7; i++)
        if (hm_field_u64(&l, &v[i]) < 0)
            return -1;
    out->read_sectors = v[2];
    out->write_sectors = v[6];
    return 1;
}

int
hostmetrics_netdev_next(const char *text, size_t len, size_t *pos,
                        struct hostmetrics_net *out)
{
    struct hm_line l;
    const char *colon;

    do {
        if (!hm_line_next(text, len, pos, &l))
            return 0;
        colon = memchr(l.p, ':', l.len);
    } while (colon == NULL);
    struct hm_line name = { l.p, (size_t)(colon - l.p) };
    while (name.len > 0 && hm_is_space(*name.p)) {
        name.p++;
        name.len--;
    }
    if (hm_field_copy(&name, out->name, sizeof(out->name)) < 0 ||
        memchr(name.p, ' ', name.len) != NULL)
        return -1;
    struct hm_line rest = { colon + 1, l.len - (size_t)(colon - l.p) - 1 };
    uint64_t v[11];
    for (int i = 0; i < 11; i++)
        if (hm_field_u64(&rest, &v[i]) < 0)
            return -1;
    /* rx: bytes packets errs drop fifo frame compressed multicast;
     * tx: bytes packets errs ... */
    out->rx_bytes = v[0];
    out->rx_errors = v[2];
    out->tx_bytes = v[8];
    out->tx_errors = v[10];
    return 1;
}

static int
hm_in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

int
hostmetrics_fs_is_real(const struct hostmetrics_mount *m)
{
    /* Virtual, in-memory or container-layer filesystems: never storage. */
    static const char *const skip[] = {
        "proc", "sysfs", "cgroup", "cgroup2", "tmpfs", "devtmpfs", "devpts",
        "mqueue", "debugfs", "tracefs", "securityfs", "pstore", "bpf",
        "autofs", "configfs", "fusectl", "hugetlbfs", "binfmt_misc",
        "rpc_pipefs", "nsfs", "overlay", "aufs", "squashfs", "ramfs",
        "efivarfs", "selinuxfs", "fuse.lxcfs", "nfsd", "shm", "iso9660",
        /* network: statvfs on a dead server blocks the event loop */
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs",
        "fuse.glusterfs", "fuse.sshfs", "9p", "afs", "lustre",
        NULL,
    };
    /* Local storage without a /dev path as its source. */
    static const char *const pooled[] = { "zfs", "virtiofs", NULL };

    if (hm_in_list(m->type, skip))
        return 0;
    if (m->device[0] == '/')
        return 1;
    return hm_in_list(m->type, pooled);
}

int
hostmetrics_disk_is_virtual(const char *name)
{
    return strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0;
}
