/* SPDX-License-Identifier: MIT */
/*
 * tail_wb: writeback of what was read. Docker writes the json-files
 * through the page cache and never syncs them, so on a busy host they
 * pile up as dirty pages until the kernel's 30 s expiry (or its
 * background threshold) writes them back in one burst that every fsync
 * on the disk waits behind (the collector's WAL, the applications' own;
 * shipper/README.md "Writeback of what was read"). Once the tailer has
 * read them, their pages may as well go to the disk now: after a read,
 * once the whole pages below read_pos not yet asked reach cfg.wb_step
 * bytes, sync_file_range(SYNC_FILE_RANGE_WRITE) starts their writeback
 * (WB_SYNC_NONE: it does not wait for that writeback, but may block
 * while the disk is congested: up to 80 ms a call measured at 1 MiB
 * steps, 327 ms at 4 MiB; works on our read-only fd). The last
 * partial page is left alone while the file is live (Docker's next
 * append dirties it again); a rotated file read to its end gets the
 * rest; a file deleted (read from its held fd) gets none. Pages are not
 * dropped (no fadvise DONTNEED): `docker logs` reads
 * them. Each call is timed into the counters (calls, bytes, total and
 * longest); a failure (EINVAL, ESPIPE on an odd file; ENOSYS) is counted
 * and logged once, stops the calls on that file (ENOSYS: on every file),
 * and is never fatal. Reads nothing, moves no position: tail.c calls it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "shipper/tail_internal.h"

static int tail_wb_is_unsupported;  /* ENOSYS: no call on any file */
static int tail_wb_is_logged;       /* a failure was logged */
/* The call: sync_file_range, or a test's (tail_wb_test_call). */
static tail_wb_fn tail_wb_sfr = sync_file_range;

void
tail_wb_test_call(tail_wb_fn fn)
{
    tail_wb_sfr = fn != NULL ? fn : sync_file_range;
    tail_wb_is_unsupported = 0;
    tail_wb_is_logged = 0;
}

static uint64_t
tail_wb_page(void)
{
    static uint64_t page;

    if (page == 0) {
        long p = sysconf(_SC_PAGESIZE);
        page = p > 0 ? (uint64_t)p : 4096;
    }
    return page;
}

/* Asks for [t->wb_pos, end) of the current file, unless it was deleted
 * (pinned files are read after Docker deleted them): its pages go with
 * its last close, writing them would be wasted I/O. */
static void
tail_wb_call(struct tailer *t, uint64_t end)
{
    struct stat st;

    if (fstat(t->fd, &st) == 0 && st.st_nlink == 0) {
        t->wb_pos = end;
        return;
    }
    int64_t t0 = mono_ns();
    int rc = tail_wb_sfr(t->fd, (off64_t)t->wb_pos,
                         (off64_t)(end - t->wb_pos), SYNC_FILE_RANGE_WRITE);
    uint64_t ns = (uint64_t)(mono_ns() - t0);

    t->ctr->wb_calls++;
    t->ctr->wb_ns += ns;
    if (ns > t->ctr->wb_max_ns)
        t->ctr->wb_max_ns = ns;
    if (rc < 0) {
        int err = errno;
        t->ctr->wb_errors++;
        t->is_wb_off = 1;
        if (err == ENOSYS)
            tail_wb_is_unsupported = 1;
        if (!tail_wb_is_logged)
            log_warn("tail", "cannot start writeback of pages read, "
                     "going on without container=%.12s: %s", t->id,
                     strerror(err));
        tail_wb_is_logged = 1;
        return;
    }
    t->ctr->wb_bytes += end - t->wb_pos;
    t->wb_pos = end;
}

void
tail_wb_use(struct tailer *t, uint64_t fpos)
{
    t->wb_pos = fpos & ~(tail_wb_page() - 1);
    t->is_wb_off = 0;
}

void
tail_wb_read(struct tailer *t)
{
    if (t->cfg.wb_step == 0 || t->is_wb_off || tail_wb_is_unsupported)
        return;
    uint64_t end = t->read_pos & ~(tail_wb_page() - 1);
    if (end > t->wb_pos && end - t->wb_pos >= t->cfg.wb_step)
        tail_wb_call(t, end);
}

void
tail_wb_rest(struct tailer *t)
{
    if (t->cfg.wb_step == 0 || t->is_wb_off || tail_wb_is_unsupported ||
        t->fd < 0 || t->read_pos <= t->wb_pos)
        return;
    tail_wb_call(t, t->read_pos);
}
