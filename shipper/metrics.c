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
 * Parts, one job each (metrics_internal.h holds the state they share):
 * this file the sampler's life, the shipper's own counters and the
 * public API; metrics_io.c files, errors, baseline tables and samples
 * out; metrics_host.c the host; metrics_ctr.c the containers.
 */
#include "shipper/metrics.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/xmalloc.h"
#include "shipper/metrics_internal.h"

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
    metrics_put(m, "shipper.writeback.calls", "", "", (double)s->wb_calls);
    metrics_put(m, "shipper.writeback.bytes", "", "", (double)s->wb_bytes);
    metrics_put(m, "shipper.writeback.ms", "", "", (double)s->wb_ms);
    metrics_put(m, "shipper.writeback.max_ms", "", "", (double)s->wb_max_ms);
    metrics_put(m, "shipper.writeback.errors", "", "",
                (double)s->wb_errors);
}

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
