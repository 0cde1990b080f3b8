/* SPDX-License-Identifier: MIT */
/*
 * reply: see reply.h. jansson parses every line; the collector's JSON is
 * small per line and logq is I/O bound, so no hand-written scanner here.
 */
#include "query/reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"

/* ------------------------------------------------------------ helpers */

/* A string member without embedded NUL; def if absent and def != NULL. */
static const char *
reply_str(json_t *obj, const char *key, const char *def, const char **why)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL && def != NULL)
        return def;
    if (!json_is_string(v)) {
        *why = "missing or non-string field";
        return NULL;
    }
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        *why = "NUL byte in field";
        return NULL;
    }
    return s;
}

static json_t *
reply_load(const char *p, size_t len, int want_array, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(p, len, JSON_ALLOW_NUL, &jerr);

    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON: %s", jerr.text);
        return NULL;
    }
    if (want_array ? !json_is_array(root) : !json_is_object(root)) {
        snprintf(err, errlen, "expected a JSON %s",
                 want_array ? "array" : "object");
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ------------------------------------------------------------ records */

static int
reply_record_fill(json_t *root, struct logrec *r, const char **bad)
{
    const char *why = NULL, *t;

    memset(r, 0, sizeof(*r));
    if ((t = reply_str(root, *bad = "time", NULL, &why)) == NULL ||
        (r->host = reply_str(root, *bad = "host", NULL, &why)) == NULL ||
        (r->container = reply_str(root, *bad = "container", NULL,
                                  &why)) == NULL ||
        (r->container_id = reply_str(root, *bad = "container_id", "",
                                     &why)) == NULL ||
        (r->image = reply_str(root, *bad = "image", "", &why)) == NULL)
        return -1;
    *bad = "time";
    if (rfc3339_parse_ns(t, strlen(t), &r->time_ns) < 0)
        return -1;
    const char *stream = reply_str(root, *bad = "stream", NULL, &why);
    if (stream == NULL || logrec_stream_parse(stream, &r->stream) < 0)
        return -1;
    json_t *msg = json_object_get(root, *bad = "message");
    if (!json_is_string(msg))
        return -1;
    r->msg = json_string_value(msg);
    r->msg_len = json_string_length(msg);
    if (r->msg_len > 0 && r->msg[r->msg_len - 1] == '\n')
        r->msg_len--;
    return 0;
}

int
reply_record_parse(const char *line, size_t len, struct reply_record *out,
                   char *err, size_t errlen)
{
    json_t *root = reply_load(line, len, 0, err, errlen);
    const char *bad = NULL;

    if (root == NULL)
        return -1;
    if (reply_record_fill(root, &out->rec, &bad) < 0) {
        snprintf(err, errlen, "bad or missing field \"%s\"", bad);
        json_decref(root);
        return -1;
    }
    out->root = root;
    return 0;
}

void
reply_record_fini(struct reply_record *r)
{
    json_decref(r->root);
    r->root = NULL;
}

/* ------------------------------------------------------------ lists */

static int64_t
reply_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int
reply_item_fill(json_t *obj, struct reply_item *it)
{
    const char *why = NULL;

    if (!json_is_object(obj))
        return -1;
    it->host = reply_str(obj, "host", NULL, &why);
    it->container = reply_str(obj, "container", "", &why);
    it->container_id = reply_str(obj, "container_id", "", &why);
    it->image = reply_str(obj, "image", "", &why);
    it->last_seen = reply_str(obj, "last_seen", "", &why);
    if (it->host == NULL || it->container == NULL || it->image == NULL ||
        it->container_id == NULL || it->last_seen == NULL)
        return -1;
    it->n_containers = reply_int(obj, "containers");
    it->n_lines = reply_int(obj, "lines");
    if (rfc3339_parse_ns(it->last_seen, strlen(it->last_seen),
                         &it->last_seen_ns) < 0)
        it->last_seen_ns = -1;
    return 0;
}

int
reply_list_parse(const char *body, size_t len, struct reply_list *out,
                 char *err, size_t errlen)
{
    json_t *root = reply_load(body, len, 1, err, errlen);

    if (root == NULL)
        return -1;
    size_t n = json_array_size(root);
    struct reply_item *items = xcalloc(n ? n : 1, sizeof(*items));
    for (size_t i = 0; i < n; i++) {
        if (reply_item_fill(json_array_get(root, i), &items[i]) < 0) {
            snprintf(err, errlen, "bad entry %zu in reply", i);
            free(items);
            json_decref(root);
            return -1;
        }
    }
    out->items = items;
    out->n_items = n;
    out->root = root;
    return 0;
}

void
reply_list_fini(struct reply_list *l)
{
    free(l->items);
    json_decref(l->root);
    l->items = NULL;
    l->root = NULL;
    l->n_items = 0;
}

int
reply_list_item_json(const struct reply_list *l, size_t i, struct buf *out)
{
    json_t *obj = json_array_get(l->root, i);
    char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)
                  : NULL;

    if (s == NULL)
        return -1;
    int rc = buf_append(out, s, strlen(s));
    free(s);
    return rc < 0 ? -1 : buf_append(out, "\n", 1);
}

/* ------------------------------------------------------------ errors */

void
reply_error_parse(const char *body, size_t len, int status, char *err,
                  size_t errlen)
{
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *msg = json_is_object(root) ? json_object_get(root, "error")
                                       : NULL;

    if (json_is_string(msg)) {
        snprintf(err, errlen, "%s", json_string_value(msg));
        json_decref(root);
        return;
    }
    json_decref(root);
    size_t n = 0;
    while (body != NULL && n < len && n < 200 && body[n] != '\n' &&
           body[n] != '\r')
        n++;
    snprintf(err, errlen, "HTTP %d%s%.*s", status, n ? ": " : "", (int)n,
             n ? body : "");
    /* The body is untrusted and goes to a terminal: no control bytes. */
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}
