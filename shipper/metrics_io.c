/* SPDX-License-Identifier: MIT */
/*
 * metrics_io: the sampler's plumbing: errors (counted, the last kept),
 * paths under its roots, files read whole (at most METRICS_FILE_MAX, into
 * one reusable buffer), the baseline tables of previous readings for
 * rates, and samples into the caller's METRICS encoder.
 */
#include "shipper/metrics_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"

void
metrics_error(struct metrics *m, const char *fmt, ...)
{
    va_list ap;

    m->n_errors++;
    va_start(ap, fmt);
    (void)vsnprintf(m->errstr, sizeof(m->errstr), fmt, ap);
    va_end(ap);
}

/* Formats into m->path; NULL (counted) if it does not fit. */
const char *
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
int
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
int
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

void
metrics_table_clear(struct metrics_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i].key);
    t->n = 0;
}

void
metrics_table_fini(struct metrics_table *t)
{
    metrics_table_clear(t);
    free(t->items);
    t->items = NULL;
    t->cap = 0;
}

/* Adds an entry; -1 once the table holds cap entries. */
int
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

const struct metrics_key *
metrics_table_find(const struct metrics_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->items[i].key, key) == 0)
            return &t->items[i];
    return NULL;
}

/* Makes the current table the previous one and empties the current. */
void
metrics_table_rotate(struct metrics_table pair[2])
{
    struct metrics_table old = pair[0];

    pair[0] = pair[1];
    pair[1] = old;
    metrics_table_clear(&pair[1]);
}

void
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
double
metrics_rate(const struct metrics *m, uint64_t prev, uint64_t cur,
             double scale)
{
    if (m->dt_s <= 0 || cur < prev)
        return -1;
    return (double)(cur - prev) * scale / m->dt_s;
}

void
metrics_put_rate(struct metrics *m, const char *name, const char *label,
                 uint64_t prev, uint64_t cur, double scale)
{
    double r = metrics_rate(m, prev, cur, scale);

    if (r >= 0)
        metrics_put(m, name, "", label, r);
}
