/* SPDX-License-Identifier: MIT */
/*
 * tail_loss: data of a container that will never be shipped (struct
 * tail_loss in tail.h): each loss adds json-file bytes and lines, exact
 * or as a lower bound, and one event. A container abandoned at a cap has
 * what is left counted, its lines read only to count them (at most
 * TAIL_COUNT_MAX bytes, then "at least").
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "shipper/tail_internal.h"

void
tail_loss_add(struct tailer *t, uint64_t bytes, int is_bytes_bound,
              uint64_t lines, int is_lines_bound)
{
    t->loss.events++;
    t->loss.bytes += bytes;
    t->loss.lines += lines;
    t->loss.is_bytes_bound |= is_bytes_bound;
    t->loss.is_lines_bound |= is_lines_bound;
}

/* '\n's in fd's bytes from pos to size, read only to count them; at most
 * *budget bytes (lowered): *is_bound set when the budget ran out. */
uint64_t
tail_loss_count_lines(struct tailer *t, int fd, uint64_t pos, uint64_t size,
                      uint64_t *budget, int *is_bound)
{
    uint64_t lines = 0;

    if (size - pos > *budget) {
        size = pos + *budget;
        *is_bound = 1;
    }
    *budget -= size - pos;
    while (pos < size) {
        size_t want = t->rcap;
        if (size - pos < want)
            want = (size_t)(size - pos);
        ssize_t r = pread(fd, t->rbuf, want, (off_t)pos);
        if (r <= 0)
            break;
        for (const uint8_t *p = t->rbuf, *e = t->rbuf + r;
             (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
            lines++;
        pos += (uint64_t)r;
    }
    return lines;
}

void
tail_abandon(struct tailer *t)
{
    struct stat st;

    if (!t->is_started || t->fd < 0)
        return;
    tail_watch(t);
    uint64_t bytes = 0, lines = 0, budget = TAIL_COUNT_MAX;
    int is_bytes_bound = 0, is_lines_bound = 0;
    if (fstat(t->fd, &st) == 0 && (uint64_t)st.st_size > t->line_fpos) {
        bytes = (uint64_t)st.st_size - t->line_fpos;
        lines = tail_loss_count_lines(t, t->fd, t->line_fpos,
                                      (uint64_t)st.st_size, &budget,
                                      &is_lines_bound);
    }
    for (size_t i = 0; i < t->n_known; i++) {
        struct tail_known *k = &t->known[i];
        if (k->fd >= 0 && fstat(k->fd, &st) == 0) {
            bytes += (uint64_t)st.st_size;
            lines += tail_loss_count_lines(t, k->fd, 0, (uint64_t)st.st_size,
                                           &budget, &is_lines_bound);
            continue;
        }
        bytes += k->size;
        is_bytes_bound |= !k->is_final;
        is_lines_bound = 1;
    }
    t->rlen = 0;
    if (bytes > 0 || is_bytes_bound) {
        log_warn("tail", "closed unread, lost %s%" PRIu64 " bytes, %s%"
                 PRIu64 " lines container=%.12s", is_bytes_bound ?
                 "at least " : "", bytes, is_lines_bound ? "at least " : "",
                 lines, t->id);
        tail_loss_add(t, bytes, is_bytes_bound, lines, is_lines_bound);
    }
}

void
tail_loss_get(const struct tailer *t, struct tail_loss *out)
{
    *out = t->loss;
}
