/* SPDX-License-Identifier: MIT */
/*
 * cgroup: where a Docker container's cgroup lives and how to read its CPU
 * and memory files, for cgroup v1 and v2. Path patterns are relative to
 * <sys-root>/fs/cgroup and hold {id} and {controller} placeholders
 * ({controller} expands to "" on v2). The parsers are pure functions over
 * file contents; the only I/O here is cgroup_detect's stat calls.
 * metrics_ctr.c reads the files.
 */
#ifndef SHIPPER_CGROUP_H
#define SHIPPER_CGROUP_H

#include <stddef.h>
#include <stdint.h>

/* memory.max "max", or a v1 limit this large: no limit. */
#define CGROUP_UNLIMITED UINT64_MAX
/* v1 reports "no limit" as PAGE_COUNTER_MAX pages (about 2^63); anything
 * from 2^60 bytes up is treated as no limit. */
#define CGROUP_HUGE      (UINT64_C(1) << 60)

enum cgroup_version {
    CGROUP_NONE,
    CGROUP_V1,
    CGROUP_V2,
};

/* v2 when <sys_root>/fs/cgroup/cgroup.controllers exists, v1 when
 * <sys_root>/fs/cgroup/memory or .../cpuacct is a directory, else NONE. */
enum cgroup_version cgroup_detect(const char *sys_root);
const char *cgroup_version_name(enum cgroup_version v);

/* Docker's layouts for the cgroupfs then the systemd driver, NULL-ended. */
const char *const *cgroup_default_patterns(enum cgroup_version v);

/*
 * Expands pattern into out[cap] as <sys_root>/fs/cgroup/<expanded>/<file>,
 * with repeated '/' collapsed. -1 if it does not fit, the pattern lacks
 * {id}, or an id/controller contains '/' or is "..".
 */
int cgroup_path_format(const char *sys_root, const char *pattern,
                       const char *id, const char *controller,
                       const char *file, char *out, size_t cap);

/* A file holding one number ("123\n"), or "max" (→ CGROUP_UNLIMITED).
 * Values >= CGROUP_HUGE also come back as CGROUP_UNLIMITED. -1 if bad. */
int cgroup_value_parse(const char *text, size_t len, uint64_t *out);
/* v2 cpu.stat: the usage_usec line. -1 if absent or bad. */
int cgroup_cpu_stat_parse(const char *text, size_t len, uint64_t *usage_usec);

/* One container's raw readings. */
struct cgroup_sample {
    uint64_t cpu_ns;        /* cumulative CPU time */
    uint64_t mem_bytes;
    uint64_t mem_limit;     /* CGROUP_UNLIMITED when none */
    int      has_cpu;
    int      has_mem;
    int      has_limit;
};

#endif
