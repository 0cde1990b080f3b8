/* SPDX-License-Identifier: MIT */
/*
 * template: see template.h. A template is a list of segments: literal
 * text (unescaped at parse time) or a placeholder naming a record field
 * or a label.
 */
#include "query/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/escape.h"
#include "common/fields.h"
#include "common/labelset.h"
#include "common/xmalloc.h"
#include "query/output.h"

enum template_kind {
    TEMPLATE_LIT, TEMPLATE_TIME, TEMPLATE_HOST, TEMPLATE_CONTAINER,
    TEMPLATE_CONTAINER_ID, TEMPLATE_IMAGE, TEMPLATE_STREAM, TEMPLATE_MESSAGE,
    TEMPLATE_LABEL, TEMPLATE_FIELD,
};

struct template_seg {
    enum template_kind kind;
    char              *text;    /* literal, or the label's or field's key */
    size_t             len;
};

struct template {
    struct template_seg segs[TEMPLATE_MAX_SEGS];
    size_t              n_segs;
};

static const struct {
    const char        *name;
    enum template_kind kind;
} template_names[] = {
    { "time", TEMPLATE_TIME }, { "host", TEMPLATE_HOST },
    { "container", TEMPLATE_CONTAINER },
    { "container_id", TEMPLATE_CONTAINER_ID }, { "image", TEMPLATE_IMAGE },
    { "stream", TEMPLATE_STREAM }, { "message", TEMPLATE_MESSAGE },
};

/* ------------------------------------------------------------ parsing */

static int
template_add(struct template *t, enum template_kind kind, const char *text,
             size_t len, char *err, size_t errlen)
{
    if (t->n_segs == TEMPLATE_MAX_SEGS) {
        snprintf(err, errlen, "template too long (at most %d parts)",
                 TEMPLATE_MAX_SEGS);
        return -1;
    }
    t->segs[t->n_segs++] = (struct template_seg){
        kind, xstrndup(text, len), len };
    return 0;
}

/* The placeholder name[0..len). */
static int
template_placeholder(struct template *t, const char *name, size_t len,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(template_names) / sizeof(*template_names);
         i++)
        if (strlen(template_names[i].name) == len &&
            memcmp(template_names[i].name, name, len) == 0)
            return template_add(t, template_names[i].kind, "", 0, err,
                                errlen);
    if (len > 6 && memcmp(name, "label.", 6) == 0)
        return template_add(t, TEMPLATE_LABEL, name + 6, len - 6, err,
                            errlen);
    if (len > 6 && memcmp(name, "field.", 6) == 0)
        return template_add(t, TEMPLATE_FIELD, name + 6, len - 6, err,
                            errlen);
    char shown[72];     /* err is one line: the name escaped, cut */
    escape_str(shown, sizeof(shown), name, len, 0);
    snprintf(err, errlen, "unknown placeholder {%s} (known: time, host, "
             "container, container_id, image, stream, message, label.KEY, "
             "field.NAME)", shown);
    return -1;
}

/* Literal text up to the next placeholder into lit; *pp moves past it. */
static int
template_literal(const char **pp, struct buf *lit, char *err, size_t errlen)
{
    const char *p = *pp, *start = p;
    int rc = 0;

    for (; *p != '\0' && rc == 0; p++) {
        if (p[0] == '{' && p[1] != '{')
            break;
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            rc = buf_append(lit, p++, 1);
        } else if (p[0] == '}') {
            snprintf(err, errlen, "single } at offset %zu (write }} for "
                     "a brace)", (size_t)(p - start));
            return -1;
        } else if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n' ||
                                    p[1] == '\\')) {
            rc = buf_append(lit, p[1] == 't' ? "\t" : p[1] == 'n' ? "\n"
                                                                 : "\\", 1);
            p++;
        } else {
            rc = buf_append(lit, p, 1);
        }
    }
    *pp = p;
    if (rc < 0)
        snprintf(err, errlen, "template too long");
    return rc;
}

struct template *
template_parse(const char *text, char *err, size_t errlen)
{
    struct template *t = xcalloc(1, sizeof(*t));
    const char *p = text;
    struct buf lit;

    buf_init(&lit, 64 * 1024);
    while (*p != '\0') {
        buf_reset(&lit);
        if (template_literal(&p, &lit, err, errlen) < 0 ||
            (lit.len > 0 && template_add(t, TEMPLATE_LIT,
                                         (const char *)lit.data, lit.len,
                                         err, errlen) < 0))
            goto fail;
        if (*p != '{')
            continue;
        const char *close = strchr(p, '}');
        if (close == NULL) {
            snprintf(err, errlen, "unterminated { at offset %zu",
                     (size_t)(p - text));
            goto fail;
        }
        if (template_placeholder(t, p + 1, (size_t)(close - p - 1), err,
                                 errlen) < 0)
            goto fail;
        p = close + 1;
    }
    buf_fini(&lit);
    return t;
fail:
    buf_fini(&lit);
    template_free(t);
    return NULL;
}

void
template_free(struct template *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_segs; i++)
        free(t->segs[i].text);
    free(t);
}

/* ------------------------------------------------------------ render */

static const char *
template_label(const struct reply_record *rr, const char *key)
{
    const char *v = labelset_get(rr->rec.labels, key);

    return v != NULL ? v : "";
}

static int
template_value(const struct template_seg *s, const struct reply_record *rr,
               struct buf *out)
{
    const struct logrec *r = &rr->rec;
    const char *v = NULL;
    char t[40], f[FIELDS_MAX_VALUE];
    size_t f_len;

    switch (s->kind) {
    case TEMPLATE_LIT: return buf_append(out, s->text, s->len);
    case TEMPLATE_TIME: output_time_compact(r->time_ns, t); v = t; break;
    case TEMPLATE_HOST: v = r->host; break;
    case TEMPLATE_CONTAINER: v = r->container; break;
    case TEMPLATE_CONTAINER_ID: v = r->container_id; break;
    case TEMPLATE_IMAGE: v = r->image; break;
    case TEMPLATE_STREAM: v = logrec_stream_name(r->stream); break;
    case TEMPLATE_MESSAGE:
        return escape_append(out, r->msg, r->msg_len, ESCAPE_KEEP_TAB);
    case TEMPLATE_LABEL: v = template_label(rr, s->text); break;
    case TEMPLATE_FIELD:
        fields_get(r->msg, r->msg_len, s->text, s->len, f, sizeof(f),
                   &f_len);
        return escape_append(out, f, f_len, ESCAPE_KEEP_TAB);
    }
    return escape_append(out, v, strlen(v), ESCAPE_KEEP_TAB);
}

int
template_render(const struct template *t, const struct reply_record *rr,
                struct buf *out)
{
    size_t saved = out->len;

    for (size_t i = 0; i < t->n_segs; i++)
        if (template_value(&t->segs[i], rr, out) < 0)
            goto fail;
    if (buf_append(out, "\n", 1) == 0)
        return 0;
fail:
    out->len = saved;
    return -1;
}
