/* SPDX-License-Identifier: MIT */
/*
 * docker_meta: what a container's config.v2.json says (name, image,
 * labels as compact JSON, the logq.multiline label), read with jansson
 * once per container and on change (never on the per-line path), without
 * following symlinks and from regular files only (a refused one is
 * counted in files_refused). Names and images are cut to what the
 * collector keeps; a config missing or unparsable leaves the short id as
 * the name. Also the container's multi-line rule: its label's, else the
 * default.
 */
#include "shipper/docker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "shipper/multiline.h"
#include "shipper/tail.h"

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
void
docker_meta_rule_apply(struct docker *d, struct container *c, const char *spec)
{
    char err[256];

    if (c->has_rule)
        multiline_rule_fini(&c->rule);
    c->has_rule = 0;
    if (spec != NULL) {
        if (multiline_rule_parse(spec, &c->rule, err, sizeof(err)) == 0) {
            c->has_rule = 1;
            if (d->cfg.match_bytes > 0)
                multiline_rule_match_bytes(&c->rule, d->cfg.match_bytes);
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
void
docker_meta_load(struct docker *d, struct container *c)
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
    docker_meta_rule_apply(d, c, m.multiline);
    free(m.multiline);
    log_debug("docker", "container meta container=%.12s name=%s image=%s",
              c->id, c->src.name, c->src.image);
}
