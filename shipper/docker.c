/* SPDX-License-Identifier: MIT */
/*
 * docker: see docker.h. Containers sit in a singly linked list (a host has
 * hundreds at most; inotify watch descriptors are looked up linearly).
 * Polling runs from a zero-delay timer rather than event_active so the
 * loop polls sockets (ACKs) between slices of file reading. config.v2.json
 * is read with jansson: it is read once per container and on change, not
 * on the per-line path.
 */
#include "shipper/docker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/wire.h"
#include "common/xmalloc.h"

#define DOCKER_CONFIG_FILE  "config.v2.json"
#define DOCKER_CONFIG_MAX   (8u << 20)
#define DOCKER_SHORT_ID     12
#define DOCKER_SLICE        (4u << 20)  /* bytes per container per pass */
#define DOCKER_NAME_MAX     1024
#define DOCKER_META_RETRY   (200 * 1000000LL)  /* ns between config retries */
#define DOCKER_EXPIRE_MS    250     /* multi-line records: 1 s timer tick */
#define DOCKER_RETIRED_MAX  64      /* losses of forgotten containers kept */
#define DOCKER_LOOK_SHIFT   4       /* idle looks back off to 16 rescans */

/* What a forgotten container lost, kept so it is still reported. */
struct docker_retired {
    char             id[DOCKER_ID_LEN + 1];
    char            *name;
    struct tail_loss loss;
};

struct container {
    struct container    *next;
    char                 id[DOCKER_ID_LEN + 1];
    char                *dir;
    struct sender_source src;
    struct tailer       *tail;
    int                  wd;
    int                  has_meta;
    int                  is_gone;
    int                  is_marked;     /* wants polling */
    int                  is_seen;       /* rescan bookkeeping */
    uint64_t             gone_order;
    int64_t              meta_tried_ns; /* last config.v2.json attempt */
    int                  has_emitted;
    int                  is_config_refused; /* counted once */
    struct multiline_rule rule;         /* from the label, if has_rule */
    int                  has_rule;
    /* Safety-net looks (docker_look): backed off while the container is
     * idle and inotify has told everything so far. */
    int64_t              look_due_ns;   /* next look; 0: at the next tick */
    unsigned             look_shift;    /* interval: rescan_ms << shift */
    uint64_t             look_logical;  /* tail_logical_get at the look */
    int                  is_look_valid; /* look_logical usable */
    uint64_t             n_events;      /* inotify events since the look */
};

struct docker {
    struct event_base       *base;
    struct docker_config     cfg;
    struct docker_ops        ops;
    struct state_store      *st;
    struct shipper_counters *ctr;
    struct container        *list;
    size_t                   n;
    size_t                   n_gone;
    uint64_t                 gone_seq;
    int                      ifd;
    int                      root_wd;
    struct event            *inotify_ev;
    struct event            *rescan_ev;
    struct event            *work_ev;
    struct event            *expire_ev;
    int                      is_stopped;
    struct docker_retired    retired[DOCKER_RETIRED_MAX];   /* ring */
    size_t                   n_retired, retired_next;
    int                      is_inotify_unreliable; /* no more backoff */
};

/* ---- config.v2.json ---- */

int
docker_is_id(const char *name)
{
    size_t i;

    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        if (i >= DOCKER_ID_LEN || !((c >= '0' && c <= '9') ||
                                    (c >= 'a' && c <= 'f')))
            return 0;
    }
    return i == DOCKER_ID_LEN;
}

/* A usable string: no NUL inside, not absurdly long. */
static const char *
docker_json_str(json_t *v, size_t max)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len || len > max)
        return NULL;
    return s;
}

/* A copy of s cut to the collector's WIRE_MAX_NAME_LEN bytes on a UTF-8
 * boundary (jansson gave valid UTF-8): a longer name or image reference
 * (Docker allows ~450 bytes with tag and digest) would get every record of
 * its container refused (PROTOCOL.md "Source metadata"). */
static char *
docker_name_dup(const char *s)
{
    size_t n = strlen(s);

    if (n <= WIRE_MAX_NAME_LEN)
        return xstrdup(s);
    n = WIRE_MAX_NAME_LEN;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;                /* s[n] continues a sequence: cut before it */
    return xstrndup(s, n);
}

int
docker_meta_parse(const char *text, size_t len, struct docker_meta *out)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL || !json_is_object(root))
        goto fail;
    const char *name = docker_json_str(json_object_get(root, "Name"),
                                       DOCKER_NAME_MAX);
    if (name == NULL)
        goto fail;
    if (name[0] == '/')
        name++;
    if (name[0] == '\0')
        goto fail;
    json_t *config = json_object_get(root, "Config");
    const char *image = docker_json_str(json_object_get(config, "Image"),
                                        DOCKER_NAME_MAX);
    json_t *labels = json_object_get(config, "Labels");
    const char *ml = docker_json_str(json_object_get(labels, MULTILINE_LABEL),
                                     DOCKER_NAME_MAX);
    char *ltext = NULL;
    if (json_is_object(labels) && json_object_size(labels) > 0) {
        ltext = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
        if (ltext != NULL && strlen(ltext) > WIRE_MAX_LABELS_LEN) {
            free(ltext);    /* jansson's allocation: plain free */
            ltext = NULL;
        }
    }
    out->name = docker_name_dup(name);
    out->image = docker_name_dup(image != NULL ? image : "");
    out->labels = xstrdup(ltext != NULL ? ltext : "");
    out->multiline = ml != NULL ? xstrdup(ml) : NULL;
    free(ltext);
    json_decref(root);
    return 0;
fail:
    json_decref(root);
    return -1;
}

void
docker_meta_fini(struct docker_meta *m)
{
    free(m->name);
    free(m->image);
    free(m->labels);
    free(m->multiline);
    memset(m, 0, sizeof(*m));
}

/*
 * Reads name in dir (at most out's cap) without following a symlink at
 * either: the directory is opened O_NOFOLLOW and the file relative to it,
 * O_NONBLOCK so a FIFO cannot block the loop. 0, or -1 (errno ELOOP or
 * ENOTDIR: a symlink or a file that is not regular, which the caller counts).
 */
static int
docker_read_small(const char *dir, const char *name, struct buf *out)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
                    O_CLOEXEC);
    int err = errno;
    close(dfd);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
        err = ENOTDIR;  /* not a regular file: refused like a symlink */
    }
    if (fd < 0) {
        errno = err;
        return -1;
    }
    for (;;) {
        if (buf_reserve(out, 65536) < 0)
            break;
        ssize_t n = read(fd, out->data + out->len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return n == 0 ? 0 : -1;
        }
        out->len += (size_t)n;
    }
    close(fd);
    errno = EFBIG;
    return -1;
}

/* The container's rule: its label's, else the default (a bad label is
 * logged and counted each time the container's config changes). */
static void
docker_rule_apply(struct docker *d, struct container *c, const char *spec)
{
    char err[256];

    if (c->has_rule)
        multiline_rule_fini(&c->rule);
    c->has_rule = 0;
    if (spec != NULL) {
        if (multiline_rule_parse(spec, &c->rule, err, sizeof(err)) == 0) {
            c->has_rule = 1;
        } else {
            d->ctr->multiline_bad_rule++;
            log_warn("docker", "bad %s label, using the default "
                     "container=%.12s: %s", MULTILINE_LABEL, c->id, err);
        }
    }
    const struct multiline_rule *r = c->has_rule ? &c->rule :
                                     d->cfg.multiline;
    tail_multiline_set(c->tail, r != NULL && r->kind != MULTILINE_NONE ?
                       r : NULL);
}

/* Loads config.v2.json into c->src; on failure keeps the short id. */
static void
docker_load_meta(struct docker *d, struct container *c)
{
    struct buf text;
    struct docker_meta m;

    c->meta_tried_ns = mono_ns();
    buf_init(&text, DOCKER_CONFIG_MAX);
    int rc = docker_read_small(c->dir, DOCKER_CONFIG_FILE, &text);
    if (rc < 0 && (errno == ELOOP || errno == ENOTDIR) &&
        !c->is_config_refused) {
        c->is_config_refused = 1;
        d->ctr->files_refused++;
        log_warn("docker", "config is a symlink or not a regular file, "
                 "refused container=%.12s", c->id);
    }
    if (rc == 0)
        rc = docker_meta_parse((const char *)text.data, text.len, &m);
    buf_fini(&text);
    if (rc < 0) {
        if (c->has_meta)
            return;     /* keep what we had (mid-rewrite) */
        if (c->src.name == NULL) {
            d->ctr->configs_bad++;
            log_warn("docker", "config missing or unparsable, using short id "
                     "container=%.12s", c->id);
            c->src.name = xstrndup(c->id, DOCKER_SHORT_ID);
            c->src.image = xstrdup("");
            c->src.labels = xstrdup("");
        }
        return;
    }
    if (c->src.name != NULL && strcmp(c->src.name, m.name) == 0 &&
        strcmp(c->src.image, m.image) == 0 &&
        strcmp(c->src.labels, m.labels) == 0) {
        docker_meta_fini(&m);
        c->has_meta = 1;
        return;
    }
    free(c->src.name);
    free(c->src.image);
    free(c->src.labels);
    c->src.name = m.name;
    c->src.image = m.image;
    c->src.labels = m.labels;
    c->src.batch_gen = 0;
    c->has_meta = 1;
    docker_rule_apply(d, c, m.multiline);
    free(m.multiline);
    log_debug("docker", "container meta container=%.12s name=%s image=%s",
              c->id, c->src.name, c->src.image);
}

/* ---- containers ---- */

static struct container *
docker_find(const struct docker *d, const char *id)
{
    for (struct container *c = d->list; c != NULL; c = c->next) {
        if (strcmp(c->id, id) == 0)
            return c;
    }
    return NULL;
}

static struct container *
docker_find_wd(const struct docker *d, int wd)
{
    for (struct container *c = d->list; c != NULL; c = c->next) {
        if (c->wd == wd)
            return c;
    }
    return NULL;
}

static void
docker_container_free(struct docker *d, struct container *c)
{
    if (c->wd >= 0 && d->ifd >= 0)
        inotify_rm_watch(d->ifd, c->wd);
    tail_free(c->tail);
    if (c->has_rule)
        multiline_rule_fini(&c->rule);
    free(c->src.name);
    free(c->src.image);
    free(c->src.labels);
    free(c->src.id);
    free(c->dir);
    free(c);
}

static void
docker_schedule(struct docker *d)
{
    static const struct timeval now = { 0, 0 };

    if (d->work_ev != NULL && !d->is_stopped &&
        !evtimer_pending(d->work_ev, NULL))
        evtimer_add(d->work_ev, &now);
}

static void
docker_add(struct docker *d, const char *id)
{
    struct container *c = xcalloc(1, sizeof(*c));

    memcpy(c->id, id, DOCKER_ID_LEN + 1);
    c->dir = xasprintf("%s/%s", d->cfg.root, id);
    c->src.id = xstrdup(id);
    c->wd = -1;
    if (d->ifd >= 0) {
        c->wd = inotify_add_watch(d->ifd, c->dir, IN_MODIFY | IN_CREATE |
                                  IN_MOVED_TO | IN_DELETE | IN_ONLYDIR);
        if (c->wd < 0)
            log_warn("docker", "cannot watch container=%.12s: %s", id,
                     strerror(errno));
    }
    c->tail = tail_new(c->dir, id, &d->cfg.tail, d->ctr);
    docker_rule_apply(d, c, NULL);
    const struct tail_pos *pos = d->st != NULL ? state_get(d->st, id) : NULL;
    (void)tail_start(c->tail, pos);   /* no file yet: tail_step retries */
    /* After opening the log: Docker writes the config before the log, so a
     * log that exists implies its config does (unless it is broken). */
    docker_load_meta(d, c);
    c->is_marked = 1;
    c->is_seen = 1;
    c->next = d->list;
    d->list = c;
    d->n++;
    log_info("docker", "container found container=%.12s name=%s resume=%s",
             id, c->src.name, pos != NULL ? "saved" : "oldest");
}

/* Keeps c's losses, if any, for docker_foreach_loss (the oldest of
 * DOCKER_RETIRED_MAX goes: by then metrics frames have carried it). */
static void
docker_retire(struct docker *d, struct container *c)
{
    struct tail_loss l;

    tail_loss_get(c->tail, &l);
    if (l.events == 0)
        return;
    struct docker_retired *r = &d->retired[d->retired_next];
    d->retired_next = (d->retired_next + 1) % DOCKER_RETIRED_MAX;
    if (d->n_retired < DOCKER_RETIRED_MAX)
        d->n_retired++;
    free(r->name);
    memcpy(r->id, c->id, sizeof(r->id));
    r->name = xstrdup(c->src.name != NULL ? c->src.name : "");
    r->loss = l;
}

static void
docker_forget(struct docker *d, struct container *c)
{
    struct container **pp = &d->list;

    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    d->n--;
    if (c->is_gone)
        d->n_gone--;
    if (d->st != NULL)
        state_remove(d->st, c->id);
    log_info("docker", "container forgotten container=%.12s name=%s", c->id,
             c->src.name);
    docker_retire(d, c);
    docker_container_free(d, c);
}

/* Keeps at most max_gone deleted containers open: closes the oldest. */
static void
docker_gone_cap(struct docker *d)
{
    while (d->n_gone > d->cfg.max_gone) {
        struct container *old = NULL;
        for (struct container *c = d->list; c != NULL; c = c->next) {
            if (c->is_gone && (old == NULL || c->gone_order < old->gone_order))
                old = c;
        }
        if (old == NULL)
            return;
        d->ctr->deleted_open_dropped++;
        tail_abandon(old->tail);
        log_warn("docker", "too many deleted containers still open, closing "
                 "container=%.12s cap=%zu", old->id, d->cfg.max_gone);
        docker_forget(d, old);
    }
}

static void
docker_mark_gone(struct docker *d, struct container *c)
{
    if (c->is_gone)
        return;
    c->is_gone = 1;
    c->is_marked = 1;
    c->gone_order = ++d->gone_seq;
    d->n_gone++;
    log_debug("docker", "container removed container=%.12s", c->id);
}

static int
docker_dir_exists(const char *root, const char *id)
{
    struct stat st;
    char *path = xasprintf("%s/%s", root, id);
    int rc = stat(path, &st) == 0 && S_ISDIR(st.st_mode);

    free(path);
    return rc;
}

/* ---- polling ---- */

struct docker_emit_ctx {
    struct docker    *d;
    struct container *c;
};

static void
docker_emit_ctx_cb(void *arg, const struct tail_record *r)
{
    struct docker_emit_ctx *x = arg;
    struct container *c = x->c;

    /* A container found mid-creation: its config may have landed since.
     * Always retried before its first record, then at most every 200 ms. */
    if (!c->has_meta && (!c->has_emitted ||
                         mono_ns() - c->meta_tried_ns >= DOCKER_META_RETRY))
        docker_load_meta(x->d, c);
    c->has_emitted = 1;
    x->d->ops.emit(x->d->ops.arg, &c->src, r);
}

/* Polls one container; 1 if it has more to read, 0 if idle, -1 if it was
 * forgotten. */
static int
docker_poll_one(struct docker *d, struct container *c, size_t budget)
{
    struct docker_emit_ctx x = { d, c };
    uint64_t start = tail_logical_get(c->tail);
    enum tail_status rc = TAIL_DATA;

    while (d->ops.can_read(d->ops.arg)) {
        rc = tail_step(c->tail, docker_emit_ctx_cb, &x);
        if (rc != TAIL_DATA)
            break;
        if (budget > 0 && tail_logical_get(c->tail) - start >= budget)
            return 1;
    }
    if (rc == TAIL_DATA)
        return 1;   /* backpressure */
    if (c->is_gone) {
        tail_flush(c->tail, docker_emit_ctx_cb, &x);
        docker_forget(d, c);
        return -1;
    }
    return 0;
}

int
docker_poll(struct docker *d, size_t budget)
{
    int more = 0;
    struct container *next;

    for (struct container *c = d->list; c != NULL; c = next) {
        next = c->next;
        if (!c->is_marked)
            continue;
        if (!d->ops.can_read(d->ops.arg))
            return 1;
        int rc = docker_poll_one(d, c, budget);
        if (rc == 0)
            c->is_marked = 0;
        else if (rc > 0)
            more = 1;
    }
    return more;
}

/* ---- discovery ---- */

static int64_t
docker_now(const struct docker *d)
{
    return d->cfg.clock_ns != NULL ? d->cfg.clock_ns() : mono_ns();
}

/* Lists the root: new containers added, missing ones marked gone, a
 * config that failed before tried again. */
static void
docker_scan_root(struct docker *d)
{
    DIR *dir = opendir(d->cfg.root);

    if (dir == NULL) {
        log_warn("docker", "cannot read docker root %s: %s", d->cfg.root,
                 strerror(errno));
        return;
    }
    for (struct container *c = d->list; c != NULL; c = c->next)
        c->is_seen = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!docker_is_id(de->d_name))
            continue;
        struct container *c = docker_find(d, de->d_name);
        if (c != NULL && !c->is_gone) {
            c->is_seen = 1;
            if (!c->has_meta)
                docker_load_meta(d, c);
        } else if (c == NULL && docker_dir_exists(d->cfg.root, de->d_name)) {
            docker_add(d, de->d_name);
        }
    }
    closedir(dir);
    for (struct container *c = d->list; c != NULL; c = c->next) {
        if (!c->is_seen && !c->is_gone)
            docker_mark_gone(d, c);
    }
    docker_gone_cap(d);
}

static int64_t
docker_look_period(const struct docker *d)
{
    return (int64_t)d->cfg.rescan_ms * 1000000;
}

/* c is active: its next look comes within one period. */
static void
docker_look_soon(struct docker *d, struct container *c, int64_t now)
{
    c->look_shift = 0;
    if (c->look_due_ns > now + docker_look_period(d))
        c->look_due_ns = now + docker_look_period(d);
}

/*
 * A safety-net look at c: notes new files (tail_watch) and polls it. A look
 * that finds nothing read since the previous one, no inotify event and no
 * poll pending doubles the time to the next (up to DOCKER_LOOK_SHIFT); any
 * activity brings it back to rescan_ms (an inotify event at once,
 * docker_look_soon), so a busy container is looked at as often as before.
 * Bytes read since the previous look without an inotify event for c mean
 * inotify misses writes (a filesystem that does not report them): from
 * then on every container is looked at every rescan_ms (logged once; every
 * miss counted in rescan_misses). A forced look (start, queue overflow)
 * takes nothing for granted: its snapshot is not used.
 */
static void
docker_look(struct docker *d, struct container *c, int64_t now,
            int is_forced)
{
    uint64_t logical = tail_logical_get(c->tail);
    int is_moved = c->is_look_valid && logical != c->look_logical;

    if (is_moved && c->n_events == 0) {
        d->ctr->rescan_misses++;
        if (!d->is_inotify_unreliable) {
            log_warn("docker", "a rescan found writes inotify did not "
                     "report, rescanning every %d ms from now on "
                     "container=%.12s", d->cfg.rescan_ms, c->id);
            for (struct container *o = d->list; o != NULL; o = o->next)
                docker_look_soon(d, o, now);
        }
        d->is_inotify_unreliable = 1;
    }
    int is_idle = !is_forced && c->is_look_valid && !is_moved &&
                  c->n_events == 0 && !c->is_marked;
    int can_back_off = d->ifd >= 0 && c->wd >= 0 &&
                       !d->is_inotify_unreliable;
    if (is_idle && can_back_off && c->look_shift < DOCKER_LOOK_SHIFT)
        c->look_shift++;
    else if (!is_idle || !can_back_off)
        c->look_shift = 0;
    c->look_due_ns = now + (docker_look_period(d) << c->look_shift);
    c->is_look_valid = !is_forced && !c->is_marked;
    c->look_logical = logical;
    c->n_events = 0;
    c->is_marked = 1;
    tail_watch(c->tail);
}

void
docker_rescan(struct docker *d)
{
    int64_t now = docker_now(d);

    docker_scan_root(d);
    for (struct container *c = d->list; c != NULL; c = c->next)
        docker_look(d, c, now, 1);
}

size_t
docker_rescan_due(struct docker *d)
{
    int64_t now = docker_now(d);
    /* half a tick early still counts: timer jitter must not push a look
     * to the tick after */
    int64_t early = docker_look_period(d) / 2;
    size_t n = 0;

    docker_scan_root(d);
    for (struct container *c = d->list; c != NULL; c = c->next) {
        if (c->look_due_ns - early <= now) {
            docker_look(d, c, now, 0);
            n++;
        }
    }
    return n;
}

size_t
docker_count(const struct docker *d)
{
    return d->n;
}

void
docker_commit(struct docker *d, const char *id, const struct tail_pos *pos)
{
    if (d->st == NULL || docker_find(d, id) == NULL)
        return;
    if (state_set(d->st, id, pos) < 0)
        log_warn("docker", "position store full container=%.12s", id);
}

/* ---- event callbacks ---- */

static void
docker_work_cb(evutil_socket_t fd, short what, void *arg)
{
    struct docker *d = arg;

    if (d->is_stopped)
        return;
    if (docker_poll(d, DOCKER_SLICE) && d->ops.can_read(d->ops.arg))
        docker_schedule(d);
}

/* Containers with a record being joined: read to the end first (so the
 * split is the one a re-read makes), then end records 1 s old. */
static void
docker_expire_cb(evutil_socket_t fd, short what, void *arg)
{
    struct docker *d = arg;
    struct container *next;

    for (struct container *c = d->list; c != NULL && !d->is_stopped;
         c = next) {
        next = c->next;     /* docker_poll_one may forget c */
        if (!tail_is_joining(c->tail))
            continue;
        if (!d->ops.can_read(d->ops.arg))
            break;
        int rc = docker_poll_one(d, c, DOCKER_SLICE);
        if (rc > 0) {
            c->is_marked = 1;
            docker_schedule(d);
        } else if (rc == 0) {
            struct docker_emit_ctx x = { d, c };
            (void)tail_expire(c->tail, docker_emit_ctx_cb, &x);
        }
    }
}

static void
docker_rescan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct docker *d = arg;

    (void)docker_rescan_due(d);
    docker_schedule(d);
}

static void
docker_root_event(struct docker *d, const struct inotify_event *ev)
{
    if (ev->len == 0 || !docker_is_id(ev->name))
        return;
    struct container *c = docker_find(d, ev->name);
    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        if (c == NULL && docker_dir_exists(d->cfg.root, ev->name))
            docker_add(d, ev->name);
    } else if (c != NULL && (ev->mask & (IN_DELETE | IN_MOVED_FROM))) {
        docker_mark_gone(d, c);
        docker_gone_cap(d);
    }
}

static void
docker_handle_event(struct docker *d, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        log_warn("docker", "inotify queue overflow, rescanning");
        docker_rescan(d);
        return;
    }
    if (ev->wd == d->root_wd) {
        docker_root_event(d, ev);
        return;
    }
    struct container *c = docker_find_wd(d, ev->wd);
    if (c == NULL)
        return;
    if (ev->mask & IN_IGNORED) {
        c->wd = -1;     /* directory gone; the root event or rescan says so */
        return;
    }
    c->n_events++;
    if (c->look_shift > 0)
        docker_look_soon(d, c, docker_now(d));
    if (ev->len > 0 && strcmp(ev->name, DOCKER_CONFIG_FILE) == 0 &&
        (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MODIFY)))
        docker_load_meta(d, c);
    else if (ev->mask & (IN_CREATE | IN_MOVED_TO))
        tail_watch(c->tail);    /* a rotation: note the new files */
    c->is_marked = 1;
}

static void
docker_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct docker *d = arg;
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (;;) {
        ssize_t n = read(d->ifd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            docker_handle_event(d, ev);
            p += sizeof(*ev) + ev->len;
        }
    }
    docker_schedule(d);
}

/* ---- public API ---- */

struct docker *
docker_new(struct event_base *base, const struct docker_config *cfg,
           const struct docker_ops *ops, struct state_store *st,
           struct shipper_counters *ctr)
{
    struct docker *d = xcalloc(1, sizeof(*d));

    d->base = base;
    d->cfg = *cfg;
    d->cfg.root = xstrdup(cfg->root);
    d->ops = *ops;
    d->st = st;
    d->ctr = ctr;
    d->ifd = -1;
    d->root_wd = -1;
    return d;
}

void
docker_free(struct docker *d)
{
    if (d == NULL)
        return;
    while (d->list != NULL) {
        struct container *c = d->list;
        d->list = c->next;
        docker_container_free(d, c);
    }
    if (d->inotify_ev != NULL)
        event_free(d->inotify_ev);
    if (d->rescan_ev != NULL)
        event_free(d->rescan_ev);
    if (d->work_ev != NULL)
        event_free(d->work_ev);
    if (d->expire_ev != NULL)
        event_free(d->expire_ev);
    if (d->ifd >= 0)
        close(d->ifd);
    for (size_t i = 0; i < d->n_retired; i++)
        free(d->retired[i].name);
    free((char *)d->cfg.root);
    free(d);
}

static int
docker_start_inotify(struct docker *d)
{
    d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (d->ifd < 0)
        return -1;
    d->root_wd = inotify_add_watch(d->ifd, d->cfg.root, IN_CREATE |
                                   IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                   IN_ONLYDIR);
    if (d->root_wd < 0)
        return -1;
    d->inotify_ev = event_new(d->base, d->ifd, EV_READ | EV_PERSIST,
                              docker_inotify_cb, d);
    if (d->inotify_ev == NULL || event_add(d->inotify_ev, NULL) < 0)
        return -1;
    return 0;
}

int
docker_start(struct docker *d)
{
    struct stat st;

    if (stat(d->cfg.root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        log_error("docker", "docker root unusable %s: %s", d->cfg.root,
                  strerror(errno ? errno : ENOTDIR));
        return -1;
    }
    if (docker_start_inotify(d) < 0) {
        log_warn("docker", "inotify unavailable, relying on rescans: %s",
                 strerror(errno));
        if (d->ifd >= 0)
            close(d->ifd);
        d->ifd = -1;
    }
    d->work_ev = evtimer_new(d->base, docker_work_cb, d);
    d->rescan_ev = event_new(d->base, -1, EV_PERSIST, docker_rescan_cb, d);
    d->expire_ev = event_new(d->base, -1, EV_PERSIST, docker_expire_cb, d);
    struct timeval tv = { d->cfg.rescan_ms / 1000,
                          (d->cfg.rescan_ms % 1000) * 1000 };
    struct timeval etv = { 0, DOCKER_EXPIRE_MS * 1000 };
    if (d->work_ev == NULL || d->rescan_ev == NULL || d->expire_ev == NULL ||
        event_add(d->rescan_ev, &tv) < 0 ||
        event_add(d->expire_ev, &etv) < 0) {
        log_error("docker", "cannot create timers");
        return -1;
    }
    docker_rescan(d);
    /* Positions of containers that no longer exist are useless. */
    for (size_t i = 0; d->st != NULL && i < state_count(d->st);) {
        if (docker_find(d, state_id_get(d->st, i)) == NULL)
            state_remove(d->st, state_id_get(d->st, i));
        else
            i++;
    }
    docker_schedule(d);
    return 0;
}

void
docker_stop(struct docker *d)
{
    d->is_stopped = 1;
    if (d->work_ev != NULL)
        evtimer_del(d->work_ev);
}

void
docker_kick(struct docker *d)
{
    docker_schedule(d);
}

/* ---- lag ---- */

/*
 * Bytes of c's live file not read yet. When the tailer is in the live file
 * (same dev+ino as its resume point) that is size - read position; while it
 * is still in a rotated file the whole live file counts (a lower bound: the
 * rest of the rotated file is not stat'ed).
 */
static uint64_t
docker_container_lag(const struct container *c)
{
    char path[PATH_MAX];
    struct stat st;

    int n = snprintf(path, sizeof(path), "%s/%s-json.log", c->dir, c->id);
    if (n < 0 || (size_t)n >= sizeof(path) || lstat(path, &st) < 0 ||
        !S_ISREG(st.st_mode) ||
        st.st_size <= 0)
        return 0;
    uint64_t size = (uint64_t)st.st_size;
    if (c->tail == NULL || !tail_is_open(c->tail))
        return size;
    struct tail_pos rp;
    tail_resume_get(c->tail, &rp);
    if (rp.dev != (uint64_t)st.st_dev || rp.ino != (uint64_t)st.st_ino ||
        rp.logical < rp.file_pos)
        return size;
    uint64_t base = rp.logical - rp.file_pos;   /* logical offset of byte 0 */
    uint64_t logical = tail_logical_get(c->tail);
    uint64_t read_pos = logical >= base ? logical - base : 0;
    return size > read_pos ? size - read_pos : 0;
}

void
docker_foreach_loss(const struct docker *d, docker_loss_fn fn, void *arg)
{
    struct tail_loss l;

    for (const struct container *c = d->list; c != NULL; c = c->next) {
        tail_loss_get(c->tail, &l);
        if (l.events > 0)
            fn(arg, c->id, c->src.name != NULL ? c->src.name : "", &l);
    }
    for (size_t i = 0; i < d->n_retired; i++)
        fn(arg, d->retired[i].id, d->retired[i].name, &d->retired[i].loss);
}

uint64_t
docker_lag_bytes(const struct docker *d)
{
    uint64_t sum = 0;

    for (const struct container *c = d->list; c != NULL; c = c->next)
        sum += docker_container_lag(c);
    return sum;
}
