/* SPDX-License-Identifier: MIT */
/*
 * cgroup: version detection, Docker's cgroup path patterns and parsers for
 * the single-value and cpu.stat files. Detection is done once at startup by
 * the caller; paths are formatted into caller buffers, no allocation.
 */
#include "shipper/cgroup.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "shipper/hostmetrics.h"

/* ---- detection and patterns ---- */

static int
cgroup_exists(const char *sys_root, const char *name, int want_dir)
{
    char path[4096];
    struct stat st;
    int n = snprintf(path, sizeof(path), "%s/fs/cgroup/%s", sys_root, name);

    if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) < 0)
        return 0;
    return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

enum cgroup_version
cgroup_detect(const char *sys_root)
{
    if (cgroup_exists(sys_root, "cgroup.controllers", 0))
        return CGROUP_V2;
    if (cgroup_exists(sys_root, "memory", 1) ||
        cgroup_exists(sys_root, "cpuacct", 1))
        return CGROUP_V1;
    return CGROUP_NONE;
}

const char *
cgroup_version_name(enum cgroup_version v)
{
    switch (v) {
    case CGROUP_V1:
        return "v1";
    case CGROUP_V2:
        return "v2";
    case CGROUP_NONE:
        break;
    }
    return "none";
}

const char *const *
cgroup_default_patterns(enum cgroup_version v)
{
    static const char *const v1[] = {
        "{controller}/docker/{id}",
        "{controller}/system.slice/docker-{id}.scope",
        NULL,
    };
    static const char *const v2[] = {
        "docker/{id}",
        "system.slice/docker-{id}.scope",
        NULL,
    };
    static const char *const none[] = { NULL };

    switch (v) {
    case CGROUP_V1:
        return v1;
    case CGROUP_V2:
        return v2;
    case CGROUP_NONE:
        break;
    }
    return none;
}

/* ---- path formatting ---- */

struct cgroup_out {
    char  *p;
    size_t len;
    size_t cap;
    int    err;
};

/* Appends s[0..n), dropping a '/' that would follow another '/'. */
static void
cgroup_put(struct cgroup_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !o->err; i++) {
        if (s[i] == '/' && o->len > 0 && o->p[o->len - 1] == '/')
            continue;
        if (o->len + 1 >= o->cap) {
            o->err = 1;
            break;
        }
        o->p[o->len++] = s[i];
    }
}

static int
cgroup_is_safe_part(const char *s)
{
    return strchr(s, '/') == NULL && strcmp(s, "..") != 0 &&
           strcmp(s, ".") != 0;
}

int
cgroup_path_format(const char *sys_root, const char *pattern,
                   const char *id, const char *controller,
                   const char *file, char *out, size_t cap)
{
    struct cgroup_out o = { out, 0, cap, 0 };
    int has_id = 0;

    if (cap == 0 || !cgroup_is_safe_part(id) ||
        !cgroup_is_safe_part(controller))
        return -1;
    cgroup_put(&o, sys_root, strlen(sys_root));
    cgroup_put(&o, "/fs/cgroup/", 11);
    for (const char *p = pattern; *p != '\0';) {
        if (strncmp(p, "{id}", 4) == 0) {
            cgroup_put(&o, id, strlen(id));
            has_id = 1;
            p += 4;
        } else if (strncmp(p, "{controller}", 12) == 0) {
            cgroup_put(&o, controller, strlen(controller));
            p += 12;
        } else {
            cgroup_put(&o, p, 1);
            p++;
        }
    }
    if (file != NULL) {
        cgroup_put(&o, "/", 1);
        cgroup_put(&o, file, strlen(file));
    }
    if (o.err || !has_id)
        return -1;
    out[o.len] = '\0';
    return 0;
}

/* ---- parsers ---- */

/* Trims trailing newline and spaces. */
static size_t
cgroup_trim(const char *text, size_t len)
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' ||
                       text[len - 1] == '\r'))
        len--;
    return len;
}

int
cgroup_value_parse(const char *text, size_t len, uint64_t *out)
{
    uint64_t v;

    len = cgroup_trim(text, len);
    if (len == 3 && memcmp(text, "max", 3) == 0) {
        *out = CGROUP_UNLIMITED;
        return 0;
    }
    if (hostmetrics_u64_parse(text, len, &v) < 0)
        return -1;
    *out = v >= CGROUP_HUGE ? CGROUP_UNLIMITED : v;
    return 0;
}

int
cgroup_cpu_stat_parse(const char *text, size_t len, uint64_t *usage_usec)
{
    static const char key[] = "usage_usec ";
    size_t klen = sizeof(key) - 1;
    size_t pos = 0;

    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL ? 1 : 0);
        if (n > klen && memcmp(line, key, klen) == 0)
            return hostmetrics_u64_parse(line + klen,
                                         cgroup_trim(line + klen, n - klen),
                                         usage_usec);
    }
    return -1;
}
