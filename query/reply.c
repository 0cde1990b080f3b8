/* SPDX-License-Identifier: MIT */
/*
 * reply: see reply.h. jansson parses lists, errors and any record line
 * out of the ordinary. Record lines in the collector's exact shape take
 * reply_fast_parse: one pass that checks the fixed keys, decodes the
 * strings into one allocation and notes whether the line is canonical
 * (what record_json_append would write again), so --json can print it as
 * is. jansson per line was most of logq's time on large results. The fast
 * path only ever says yes to lines jansson accepts with the same result;
 * whatever it is unsure of (whitespace, surrogate escapes, raw control
 * bytes, invalid UTF-8, NUL in a name, a bad time) it hands to jansson.
 */
#include "query/reply.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/escape.h"
#include "common/labelset.h"
#include "common/timeutil.h"
#include "common/utf8.h"
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

const char *
reply_member_str(json_t *o, const char *key, const char *def)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        return def;
    const char *s = json_string_value(v);
    return strlen(s) == json_string_length(v) ? s : def;
}

double
reply_member_num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : NAN;
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
    /* "received" (API.md): absent for records stored without it */
    const char *recv = reply_str(root, *bad = "received", "", &why);
    if (recv == NULL || (recv[0] != '\0' &&
                         (rfc3339_parse_ns(recv, strlen(recv),
                                           &r->recv_ns) < 0 ||
                          r->recv_ns == 0)))
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

/* The line's "labels" object (API.md: the container's Docker labels) as
 * rec.labels, so --json writes it back and --format reads it. Values
 * that are not strings are left out. */
static void
reply_record_labels(struct reply_record *out)
{
    json_t *l = json_object_get(out->root, "labels");
    size_t n = json_is_object(l) ? json_object_size(l) : 0, m = 0;

    if (n == 0)
        return;
    const char **keys = xcalloc(n, sizeof(char *));
    const char **vals = xcalloc(n, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach(l, k, v) {
        if (json_is_string(v)) {
            keys[m] = k;
            vals[m++] = json_string_value(v);
        }
    }
    out->labels = labelset_new(keys, vals, m, NULL);
    out->rec.labels = out->labels;
    free(keys);
    free(vals);
}

int
reply_record_parse_json(const char *line, size_t len,
                        struct reply_record *out, char *err, size_t errlen)
{
    json_t *root = reply_load(line, len, 0, err, errlen);
    const char *bad = NULL;

    if (root == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    if (reply_record_fill(root, &out->rec, &bad) < 0) {
        snprintf(err, errlen, "bad or missing field \"%s\"", bad);
        json_decref(root);
        return -1;
    }
    out->root = root;
    reply_record_labels(out);
    return 0;
}

/* ------------------------------------------------------------ fast path */

/* 1 for bytes a string copies as they are (printable ASCII but '"' and
 * '\\'). */
static const uint8_t reply_plain[256] = {
    [0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* The first byte at or after p that reply_plain does not pass (end if
 * none): 16 bytes a step with SSE2 (x86-64's baseline; bytes under 0x20
 * or from 0x80 are those under 0x20 as signed), the table for the rest
 * (elsewhere: all of it). A message is mostly such runs: byte by byte
 * they were a third of logq -f's instructions (BENCHMARKS.md "Live
 * tail"). */
static const uint8_t *
reply_plain_end(const uint8_t *p, const uint8_t *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);

    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                              _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits != 0)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (p < end && reply_plain[*p])
        p++;
    return p;
}

/* Whether record_json_append writes the character cp as this escape:
 * \" \\ \n \t \r, and \u00xx (lower-case hex) for other C0 bytes. */
static int
reply_is_canon_escape(uint8_t c, uint32_t cp, unsigned flags)
{
    if (c == 'u')
        return cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r' &&
               !(flags & UTF8_ESC_UPPER_HEX);
    return c == '"' || c == '\\' || c == 'n' || c == 't' || c == 'r';
}

/*
 * Decodes the JSON string whose body starts at p (past the opening quote)
 * into dst, NUL-terminated, *dlen its length. Returns the position past the
 * closing quote, NULL if the fast path does not take it. Clears *canon if
 * record_json_append would escape the string differently.
 */
static const uint8_t *
reply_fast_str(const uint8_t *p, const uint8_t *end, char *dst, size_t *dlen,
               int *canon)
{
    char *d = dst;

    while (p < end) {
        const uint8_t *run = p;
        p = reply_plain_end(p, end);
        memcpy(d, run, (size_t)(p - run));
        d += p - run;
        if (p == end)
            return NULL;
        uint8_t c = *p;
        if (c == '"') {
            *d = '\0';
            *dlen = (size_t)(d - dst);
            return p + 1;
        }
        if (c >= 0x80) {
            uint32_t cp;
            size_t bad, n = utf8_decode(p, (size_t)(end - p), &cp, &bad);
            if (n == 0)
                return NULL;
            memcpy(d, p, n);
            d += n;
            p += n;
            continue;
        }
        if (c != '\\' || end - p < 2)
            return NULL;        /* raw control byte, or cut short */
        uint32_t cp;
        unsigned flags;
        size_t n = utf8_json_escape(p + 1, (size_t)(end - p - 1), &cp, &flags);
        if (n == 0 || (flags & (UTF8_ESC_PAIR | UTF8_ESC_LONE)))
            return NULL;        /* surrogates: jansson pairs them */
        if (!reply_is_canon_escape(p[1], cp, flags))
            *canon = 0;
        p += 1 + n;
        uint8_t u[UTF8_MAX_LEN];
        size_t ul = utf8_encode(cp, u);
        memcpy(d, u, ul);
        d += ul;
    }
    return NULL;
}

/* Matches the literal key part lit at p; position past it or NULL. */
static const uint8_t *
reply_fast_lit(const uint8_t *p, const uint8_t *end, const char *lit,
               size_t n)
{
    if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
        return NULL;
    return p + n;
}

/* The optional "labels" object after "message" (record_json_append's
 * shape: string values only): its pairs decoded into d (advanced), kept
 * in *ls; the position past it, p itself if there is none, NULL if the
 * fast path does not take it. Clears *canon unless the object is exactly
 * the set's canonical text and not empty. */
static const uint8_t *
reply_fast_labels(const uint8_t *p, const uint8_t *end, char **d,
                  struct labelset **ls, int *canon)
{
    static const char key[] = ",\"labels\":";
    const uint8_t *q = reply_fast_lit(p, end, key, sizeof(key) - 1);
    const char *k[LABELSET_MAX_LABELS], *v[LABELSET_MAX_LABELS];
    size_t n = 0, len;

    if (q == NULL)
        return p;
    const uint8_t *obj = q;
    if (q >= end || *q++ != '{')
        return NULL;
    while (q < end && *q != '}') {
        if (n == LABELSET_MAX_LABELS || (n > 0 && *q++ != ',') ||
            q >= end || *q++ != '"')
            return NULL;
        k[n] = *d;
        if ((q = reply_fast_str(q, end, *d, &len, canon)) == NULL ||
            strlen(*d) != len || end - q < 2 || q[0] != ':' || q[1] != '"')
            return NULL;
        *d += len + 1;
        v[n] = *d;
        if ((q = reply_fast_str(q + 2, end, *d, &len, canon)) == NULL ||
            strlen(*d) != len)
            return NULL;
        *d += len + 1;
        n++;
    }
    if (q >= end)
        return NULL;
    q++;                        /* '}' */
    *ls = labelset_new(k, v, n, NULL);
    if (n == 0 ||               /* record_json_append writes none then */
        (*ls)->json_len != (size_t)(q - obj) ||
        memcmp((*ls)->json, obj, (*ls)->json_len) != 0)
        *canon = 0;
    return q;
}

/* The collector's shape only; 0 and out filled, else -1 (nothing kept). */
static int
reply_fast_parse(const char *line, size_t len, struct reply_record *out)
{
    struct labelset *ls = NULL;
    static const char *const keys[7] = {
        "{\"time\":\"", ",\"host\":\"", ",\"container\":\"",
        ",\"container_id\":\"", ",\"image\":\"", ",\"stream\":\"",
        ",\"message\":\"",
    };
    static const char recv_key[] = ",\"received\":\"";
    const uint8_t *p = (const uint8_t *)line, *end = p + len;
    char *mem, *d, *v[7], *rv = NULL;
    size_t vlen[7], rvlen = 0;
    int canon = 1;

    if (len < 8 || line[0] != '{' || line[len - 1] != '}')
        return -1;
    /* Decoded strings are never longer than their JSON form, quotes
     * included, so len bytes hold them all with their NULs. */
    d = mem = xmalloc(len + 1);
    for (int i = 0; i < 7; i++) {
        if ((p = reply_fast_lit(p, end, keys[i], strlen(keys[i]))) == NULL ||
            (p = reply_fast_str(p, end, d, &vlen[i], &canon)) == NULL)
            goto fail;
        v[i] = d;
        d += vlen[i] + 1;
        if (i < 6 && strlen(v[i]) != vlen[i])
            goto fail;          /* NUL in a name: jansson's error */
        /* optional, right after "time" (API.md) */
        const uint8_t *q;
        if (i == 0 && (q = reply_fast_lit(p, end, recv_key,
                                          sizeof(recv_key) - 1)) != NULL) {
            if ((p = reply_fast_str(q, end, d, &rvlen, &canon)) == NULL ||
                strlen(d) != rvlen)
                goto fail;
            rv = d;
            d += rvlen + 1;
        }
    }
    if ((p = reply_fast_labels(p, end, &d, &ls, &canon)) == NULL ||
        p + 1 != end)
        goto fail;
    memset(out, 0, sizeof(*out));
    out->labels = ls;
    out->rec.labels = ls;
    if (rfc3339_parse_ns(v[0], vlen[0], &out->rec.time_ns) < 0 ||
        (rv != NULL && (rfc3339_parse_ns(rv, rvlen, &out->rec.recv_ns) < 0 ||
                        out->rec.recv_ns == 0)) ||
        logrec_stream_parse(v[5], &out->rec.stream) < 0)
        goto fail;
    out->rec.host = v[1];
    out->rec.container = v[2];
    out->rec.container_id = v[3];
    out->rec.image = v[4];
    out->rec.msg = v[6];
    out->rec.msg_len = vlen[6];
    if (vlen[6] > 0 && v[6][vlen[6] - 1] == '\n') {
        out->rec.msg_len--;
        canon = 0;              /* printed without it */
    }
    if (canon) {
        char ts[40];
        size_t n = time_ns_format(out->rec.time_ns, ts);
        canon = n == vlen[0] && memcmp(ts, v[0], n) == 0;
    }
    if (canon && rv != NULL) {
        char ts[40];
        size_t n = time_ns_format(out->rec.recv_ns, ts);
        canon = n == rvlen && memcmp(ts, rv, n) == 0;
    }
    out->mem = mem;
    out->canon = canon ? line : NULL;
    out->canon_len = canon ? len : 0;
    return 0;
fail:
    free(mem);
    labelset_free(ls);
    return -1;
}

int
reply_record_parse(const char *line, size_t len, struct reply_record *out,
                   char *err, size_t errlen)
{
    if (reply_fast_parse(line, len, out) == 0)
        return 0;
    return reply_record_parse_json(line, len, out, err, errlen);
}

void
reply_record_fini(struct reply_record *r)
{
    json_decref(r->root);
    free(r->mem);
    labelset_free(r->labels);
    r->labels = NULL;
    r->rec.labels = NULL;
    r->root = NULL;
    r->mem = NULL;
    r->canon = NULL;
}

/* ------------------------------------------------------------ lists */

static int64_t
reply_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* An RFC 3339 string field as unix ns; -1 if absent, null or bad. */
static int64_t
reply_time(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    int64_t ns;

    if (!json_is_string(v) ||
        rfc3339_parse_ns(json_string_value(v), json_string_length(v),
                         &ns) < 0)
        return -1;
    return ns;
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
    /* null: a connected host with no line stored yet (API.md) */
    it->last_seen = json_is_null(json_object_get(obj, "last_seen")) ? ""
                    : reply_str(obj, "last_seen", "", &why);
    if (it->host == NULL || it->container == NULL || it->image == NULL ||
        it->container_id == NULL || it->last_seen == NULL)
        return -1;
    it->n_containers = reply_int(obj, "containers");
    it->n_lines = reply_int(obj, "lines");
    if (rfc3339_parse_ns(it->last_seen, strlen(it->last_seen),
                         &it->last_seen_ns) < 0)
        it->last_seen_ns = -1;
    it->is_connected = json_is_true(json_object_get(obj, "connected"));
    it->last_contact_ns = reply_time(obj, "last_contact");
    it->down_since_ns = reply_time(obj, "down_since");
    json_t *labels = json_object_get(obj, "labels");
    it->labels = json_is_object(labels) ? labels : NULL;
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

    /* The message and the body are untrusted and go to a terminal:
     * escaped (common/escape.h). */
    if (json_is_string(msg)) {
        escape_str(err, errlen, json_string_value(msg),
                   json_string_length(msg), 0);
        json_decref(root);
        return;
    }
    json_decref(root);
    size_t n = 0;
    while (body != NULL && n < len && n < 200 && body[n] != '\n' &&
           body[n] != '\r')
        n++;
    int k = snprintf(err, errlen, "HTTP %d%s", status, n ? ": " : "");
    if (k > 0 && (size_t)k < errlen)
        escape_str(err + k, errlen - (size_t)k, n ? body : "", n, 0);
}

/* qsort has no context argument: the list being sorted, one at a time
 * (logq is single-threaded). */
static const struct reply_list *reply_sort_list;

static int
reply_item_cmp(const void *a, const void *b)
{
    const struct reply_item *x = &reply_sort_list->items[*(const size_t *)a];
    const struct reply_item *y = &reply_sort_list->items[*(const size_t *)b];
    int c = strcmp(x->host, y->host);

    if (c == 0)
        c = strcmp(x->container, y->container);
    if (c == 0)
        c = strcmp(x->container_id, y->container_id);
    return c;
}

size_t *
reply_list_sorted(const struct reply_list *l)
{
    size_t *idx = xcalloc(l->n_items ? l->n_items : 1, sizeof(*idx));

    for (size_t i = 0; i < l->n_items; i++)
        idx[i] = i;
    reply_sort_list = l;
    qsort(idx, l->n_items, sizeof(*idx), reply_item_cmp);
    reply_sort_list = NULL;
    return idx;
}
