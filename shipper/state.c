/* SPDX-License-Identifier: MIT */
/*
 * state: see state.h. Entries live in a flat array searched linearly: a
 * Docker host runs hundreds of containers at most and state_set is called
 * once per source per acknowledged batch. The file is small text so an
 * operator can read it; it is parsed strictly (any bad line rejects the
 * whole file rather than resuming from a half-understood position).
 */
#include "shipper/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* Version 2 adds the file fingerprint (fp_len fp) to each line; version 1
 * files (from older shippers) are still read, without it. */
#define STATE_MAGIC     "logq-shipper-state 2"
#define STATE_MAGIC_V1  "logq-shipper-state 1"
#define STATE_FILE      "positions"
#define STATE_MAX_FILE  (STATE_MAX_ENTRIES * 256)

struct state_entry {
    char            id[STATE_MAX_ID_LEN + 1];
    struct tail_pos pos;
};

struct state_store {
    char                    *path;
    struct shipper_counters *ctr;
    struct state_entry      *entries;
    size_t                   n;
    size_t                   cap;
    int                      is_dirty;
};

/* ---- helpers ---- */

static int
state_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > STATE_MAX_ID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
              (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static struct state_entry *
state_find(const struct state_store *st, const char *id)
{
    for (size_t i = 0; i < st->n; i++) {
        if (strcmp(st->entries[i].id, id) == 0)
            return &st->entries[i];
    }
    return NULL;
}

/* Parses one decimal u64 field ending at a space or the end of the line. */
static int
state_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (s >= end || *s < '0' || *s > '9')
        return -1;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        s++;
    }
    if (s < end && *s != ' ')
        return -1;
    if (s < end)
        s++;
    *p = s;
    *out = v;
    return 0;
}

static int
state_parse_line(struct state_store *st, const char *line, size_t len,
                 int version)
{
    const char *end = line + len;
    const char *sp = memchr(line, ' ', len);

    if (sp == NULL || !state_id_valid(line, (size_t)(sp - line)))
        return -1;
    char id[STATE_MAX_ID_LEN + 1];
    memcpy(id, line, (size_t)(sp - line));
    id[sp - line] = '\0';
    struct tail_pos pos = { 0 };
    uint64_t fp_len = 0, fp = 0;
    const char *p = sp + 1;
    if (state_u64(&p, end, &pos.dev) < 0 || state_u64(&p, end, &pos.ino) < 0 ||
        state_u64(&p, end, &pos.file_pos) < 0 ||
        state_u64(&p, end, &pos.logical) < 0 ||
        (version >= 2 && (state_u64(&p, end, &fp_len) < 0 ||
                          state_u64(&p, end, &fp) < 0)) || p != end ||
        pos.file_pos > pos.logical || fp_len > TAIL_FP_LEN ||
        fp > UINT32_MAX || state_find(st, id) != NULL)
        return -1;
    pos.fp_len = (uint32_t)fp_len;
    pos.fp = (uint32_t)fp;
    return state_set(st, id, &pos);
}

static int
state_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int
state_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
state_format(const struct state_store *st, struct buf *out)
{
    char line[STATE_MAX_ID_LEN + 100];

    if (buf_append(out, STATE_MAGIC "\n", sizeof(STATE_MAGIC)) < 0)
        return -1;
    for (size_t i = 0; i < st->n; i++) {
        const struct state_entry *e = &st->entries[i];
        int n = snprintf(line, sizeof(line), "%s %" PRIu64 " %" PRIu64 " %"
                         PRIu64 " %" PRIu64 " %" PRIu32 " %" PRIu32 "\n",
                         e->id, e->pos.dev, e->pos.ino, e->pos.file_pos,
                         e->pos.logical, e->pos.fp_len, e->pos.fp);
        if (n < 0 || (size_t)n >= sizeof(line) ||
            buf_append(out, line, (size_t)n) < 0)
            return -1;
    }
    return 0;
}

/* Reads the whole file into out; 1 if it does not exist. */
static int
state_read_file(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    for (;;) {
        if (buf_reserve(out, 65536) < 0) {
            close(fd);
            return -1;
        }
        ssize_t n = read(fd, out->data + out->len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
    }
    close(fd);
    return 0;
}

static void
state_load(struct state_store *st)
{
    struct buf text;

    buf_init(&text, STATE_MAX_FILE);
    int rc = state_read_file(st->path, &text);
    if (rc == 0 && state_parse(st, (const char *)text.data, text.len) == 0) {
        log_info("state", "loaded positions path=%s containers=%zu",
                 st->path, st->n);
    } else if (rc != 1) {
        char *bad = xasprintf("%s.corrupt", st->path);
        log_error("state", "unreadable or corrupt position file, starting "
                  "over from the oldest log files path=%s kept=%s", st->path,
                  bad);
        if (rename(st->path, bad) < 0)
            log_warn("state", "cannot keep corrupt file: %s", strerror(errno));
        free(bad);
        st->ctr->state_errors++;
        st->is_dirty = 1;
    }
    buf_fini(&text);
}

/* ---- public API ---- */

struct state_store *
state_open(const char *dir, struct shipper_counters *ctr)
{
    struct state_store *st = xcalloc(1, sizeof(*st));

    st->path = xasprintf("%s/%s", dir, STATE_FILE);
    st->ctr = ctr;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        log_error("state", "cannot create state dir %s: %s", dir,
                  strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        log_error("state", "state dir is not a directory %s", dir);
        goto fail;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        log_error("state", "state dir not writable %s: %s", dir,
                  strerror(errno));
        goto fail;
    }
    state_load(st);
    return st;
fail:
    state_free(st);
    return NULL;
}

void
state_free(struct state_store *st)
{
    if (st == NULL)
        return;
    free(st->entries);
    free(st->path);
    free(st);
}

int
state_parse(struct state_store *st, const char *text, size_t len)
{
    size_t ml = sizeof(STATE_MAGIC) - 1;
    int version;

    st->n = 0;
    if (len < ml + 1 || text[ml] != '\n')
        return -1;
    if (memcmp(text, STATE_MAGIC, ml) == 0)
        version = 2;
    else if (memcmp(text, STATE_MAGIC_V1, ml) == 0)
        version = 1;
    else
        return -1;
    const char *p = text + ml + 1, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL || state_parse_line(st, p, (size_t)(nl - p), version) < 0) {
            st->n = 0;
            return -1;
        }
        p = nl + 1;
    }
    st->is_dirty = 0;
    return 0;
}

const struct tail_pos *
state_get(const struct state_store *st, const char *id)
{
    const struct state_entry *e = state_find(st, id);

    return e != NULL ? &e->pos : NULL;
}

int
state_set(struct state_store *st, const char *id, const struct tail_pos *pos)
{
    struct state_entry *e = state_find(st, id);

    if (e == NULL) {
        size_t len = strlen(id);
        if (!state_id_valid(id, len) || st->n >= STATE_MAX_ENTRIES)
            return -1;
        if (st->n == st->cap) {
            st->cap = st->cap ? st->cap * 2 : 16;
            st->entries = xreallocarray(st->entries, st->cap,
                                        sizeof(*st->entries));
        }
        e = &st->entries[st->n++];
        memcpy(e->id, id, len + 1);
    }
    e->pos = *pos;
    st->is_dirty = 1;
    return 0;
}

void
state_remove(struct state_store *st, const char *id)
{
    struct state_entry *e = state_find(st, id);

    if (e == NULL)
        return;
    *e = st->entries[--st->n];
    st->is_dirty = 1;
}

size_t
state_count(const struct state_store *st)
{
    return st->n;
}

const char *
state_id_get(const struct state_store *st, size_t i)
{
    return st->entries[i].id;
}

int
state_is_dirty(const struct state_store *st)
{
    return st->is_dirty;
}

char *
state_encode(struct state_store *st, size_t *len)
{
    struct buf text;

    buf_init(&text, STATE_MAX_FILE);
    if (state_format(st, &text) < 0 || buf_append(&text, "", 1) < 0) {
        buf_fini(&text);
        return NULL;            /* cannot happen: entries are capped */
    }
    *len = text.len - 1;
    st->is_dirty = 0;
    return (char *)text.data;   /* the buf's bytes, NUL-terminated */
}

void
state_mark_dirty(struct state_store *st)
{
    st->is_dirty = 1;
}

const char *
state_path(const struct state_store *st)
{
    return st->path;
}

/* dir/positions.tmp beside path, written, fsynced, renamed over path,
 * then dir fsynced (path is always dir/positions: state_open). Names on
 * the stack: the writer thread allocates only an error's text. */
int
state_write_file(const char *path, const char *text, size_t len,
                 char **errstr)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd = -1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) ||
        (size_t)snprintf(dir, sizeof(dir), "%.*s",
                         slash != NULL ? (int)(slash - path) : 1,
                         slash != NULL ? path : ".") >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        goto fail;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || state_write_all(fd, (const uint8_t *)text, len) < 0 ||
        fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0 || state_fsync_dir(dir) < 0)
        goto fail;
    return 0;
fail:
    *errstr = xasprintf("path=%s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int
state_save(struct state_store *st)
{
    size_t len;
    char *text = state_encode(st, &len);
    char *err = NULL;

    if (text == NULL)
        err = xasprintf("path=%s: %s", st->path, strerror(EOVERFLOW));
    if (err != NULL || state_write_file(st->path, text, len, &err) < 0) {
        log_error("state", "cannot write positions %s", err);
        st->ctr->state_errors++;
        st->is_dirty = 1;
        free(err);
        free(text);
        return -1;
    }
    free(text);
    st->ctr->state_writes++;
    return 0;
}
