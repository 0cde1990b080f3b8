/* SPDX-License-Identifier: MIT */
/*
 * fuzz_hostfiles: libFuzzer target for the files the shipper reads on its
 * host, which a container (its config, its cgroup) or a hostile kernel
 * view can shape: Docker's config.v2.json (shipper/docker_meta.c for
 * name, image and labels; shipper/metrics.c for the state), the cgroup files
 * and path patterns (shipper/cgroup.c) and the /proc files
 * (shipper/hostmetrics.c). The first byte picks the parser, the rest is
 * the file. Invariants checked with assert: names fit the wire's limits
 * and stay valid UTF-8 when cut; states and percentages are in range;
 * the line iterators move forward, stop at the end and keep every name
 * NUL-terminated inside its field; a formatted cgroup path fits, holds
 * the id and no "//".
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "shipper/cgroup.h"
#include "shipper/docker.h"
#include "shipper/hostmetrics.h"
#include "shipper/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_is_utf8(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t left = strlen(s);

    while (left > 0) {
        uint32_t cp;
        size_t bad, n = utf8_decode(p, left, &cp, &bad);
        if (n == 0)
            return 0;
        p += n;
        left -= n;
    }
    return 1;
}

static void
fuzz_docker_config(const char *p, size_t n)
{
    struct docker_meta m;
    struct metrics_ctr_state st;

    if (docker_meta_parse(p, n, &m) == 0) {
        assert(m.name[0] != '\0' && strlen(m.name) <= WIRE_MAX_NAME_LEN);
        assert(strlen(m.image) <= WIRE_MAX_NAME_LEN);
        assert(fuzz_is_utf8(m.name) && fuzz_is_utf8(m.image));
        assert(strlen(m.labels) <= WIRE_MAX_LABELS_LEN);
        docker_meta_fini(&m);
    }
    if (metrics_ctr_state_parse(p, n, &st) == 0) {
        assert(st.state >= METRICS_STATE_STOPPED &&
               st.state <= METRICS_STATE_RESTARTING);
        assert(st.name == NULL || st.name[0] != '\0');
        free(st.name);
    }
}

/* pattern, id, controller, file: the first four '\n'-separated parts. */
static void
fuzz_cgroup_path(const char *p, size_t n)
{
    char *s = xstrndup(p, n);
    char *part[4] = { s, "", "", NULL };
    char out[512];

    for (int i = 1; i < 4; i++) {
        char *nl = strchr(part[i - 1], '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        part[i] = nl + 1;
    }
    if (cgroup_path_format("/sys", part[0], part[1], part[2], part[3], out,
                           sizeof(out)) == 0) {
        assert(strlen(out) < sizeof(out));
        assert(strncmp(out, "/sys/fs/cgroup/", 15) == 0);
        assert(strstr(out, part[1]) != NULL && strstr(out, "//") == NULL);
        assert(strcmp(part[1], "..") != 0 && strchr(part[1], '/') == NULL);
    }
    free(s);
}

static void
fuzz_cgroup(const char *p, size_t n)
{
    uint64_t v;

    if (cgroup_value_parse(p, n, &v) == 0)
        assert(v < CGROUP_HUGE || v == CGROUP_UNLIMITED);
    (void)cgroup_cpu_stat_parse(p, n, &v);
    fuzz_cgroup_path(p, n);
}

static void
fuzz_pct(double x)
{
    assert(isfinite(x) && x >= 0.0 && x <= 100.0);
}

static void
fuzz_proc_single(const char *p, size_t n)
{
    struct hostmetrics_cpu c, later;
    struct hostmetrics_cpu_pct pct;
    struct hostmetrics_mem mem;
    double load[3], up;

    if (hostmetrics_stat_parse(p, n, &c) == 0) {
        later = c;
        later.user += 3;
        later.idle += 1;
        if (hostmetrics_cpu_pct(&c, &later, &pct) == 0) {
            fuzz_pct(pct.user);
            fuzz_pct(pct.system);
            fuzz_pct(pct.iowait);
            fuzz_pct(pct.steal);
        }
        (void)hostmetrics_cpu_pct(&later, &c, &pct);    /* backwards */
    }
    (void)hostmetrics_loadavg_parse(p, n, load);
    if (hostmetrics_meminfo_parse(p, n, &mem) == 0)
        assert(mem.total % 1024 == 0);
    (void)hostmetrics_uptime_parse(p, n, &up);
}

static void
fuzz_proc_lists(const char *p, size_t n)
{
    struct hostmetrics_mount m;
    struct hostmetrics_disk d;
    struct hostmetrics_net nd;
    size_t pos = 0, prev;
    int rc;

    do {
        prev = pos;
        rc = hostmetrics_mounts_next(p, n, &pos, &m);
        assert(rc == 0 || pos > prev);
        if (rc == 1) {
            assert(memchr(m.dir, '\0', sizeof(m.dir)) != NULL);
            assert(memchr(m.type, '\0', sizeof(m.type)) != NULL);
            (void)hostmetrics_fs_is_real(&m);
        }
    } while (rc != 0);
    assert(pos <= n);
    for (pos = 0; (rc = hostmetrics_diskstats_next(p, n, &pos, &d)) != 0;) {
        assert(pos <= n);
        if (rc == 1)
            (void)hostmetrics_disk_is_virtual(d.name);
    }
    for (pos = 0; (rc = hostmetrics_netdev_next(p, n, &pos, &nd)) != 0;) {
        assert(pos <= n);
        if (rc == 1)
            assert(memchr(nd.name, '\0', sizeof(nd.name)) != NULL);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 256 * 1024)
        return 0;
    /* an exact-size copy: the parsers must not read past len */
    size_t n = size - 1;
    char *p = xmalloc(n ? n : 1);
    memcpy(p, data + 1, n);
    switch (data[0] % 4) {
    case 0: fuzz_docker_config(p, n); break;
    case 1: fuzz_cgroup(p, n); break;
    case 2: fuzz_proc_single(p, n); break;
    default: fuzz_proc_lists(p, n); break;
    }
    free(p);
    return 0;
}
