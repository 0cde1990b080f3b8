/* SPDX-License-Identifier: MIT */
/*
 * losses: see losses.h. A flat array of rows and one of hosts (each with
 * its last session), searched linearly: a collector has a few hundred
 * sources that ever lost data at most, and frames carry only those.
 */
#include "collector/ingest/losses.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define LOSSES_ID_LEN 64
#define LOSSES_MAGIC  "logq-losses 1\n"
#define LOSSES_FIELDS 11        /* of a source line, "s" included */
#define LOSSES_STR_MAX (3 * LOSSES_NAME_MAX + 1)    /* escaped */

struct losses_fig {
    uint64_t bytes, lines, events;
};

struct losses_src {
    char            *host;
    char             id[LOSSES_ID_LEN + 1];
    char            *name;
    struct losses_fig base;     /* reported by earlier sessions */
    struct losses_fig cur;      /* by the current session */
    int              flags;     /* 1 bytes bound, 2 lines bound */
};

struct losses_host {
    char    *host;
    double   session;
};

struct losses {
    struct losses_src  *rows;
    size_t              n_rows, max_rows;
    struct losses_host *hosts;
    size_t              n_hosts;    /* at most max_rows */
    uint64_t            n_dropped;
    uint64_t            version;    /* bumped on every change */
};

struct losses *
losses_new(size_t max_rows)
{
    struct losses *l = xcalloc(1, sizeof(*l));

    l->max_rows = max_rows;
    return l;
}

void
losses_free(struct losses *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_rows; i++) {
        free(l->rows[i].host);
        free(l->rows[i].name);
    }
    for (size_t i = 0; i < l->n_hosts; i++)
        free(l->hosts[i].host);
    free(l->rows);
    free(l->hosts);
    free(l);
}

/* ---- helpers ---- */

static int
losses_str_is(const struct wire_str *s, const char *lit)
{
    return s->len == strlen(lit) && memcmp(s->p, lit, s->len) == 0;
}

static char *
losses_dup(const struct wire_str *s)
{
    size_t n = s->len < LOSSES_NAME_MAX ? s->len : LOSSES_NAME_MAX;

    return xstrndup(s->p, n);
}

static int
losses_is_id(const struct wire_str *s)
{
    if (s->len != LOSSES_ID_LEN)
        return 0;
    for (size_t i = 0; i < s->len; i++)
        if (!((s->p[i] >= '0' && s->p[i] <= '9') ||
              (s->p[i] >= 'a' && s->p[i] <= 'f')))
            return 0;
    return 1;
}

/* A new session of host: what its sources reported so far is kept. */
static void
losses_session(struct losses *l, const char *host, double session)
{
    struct losses_host *h = NULL;

    for (size_t i = 0; i < l->n_hosts && h == NULL; i++)
        if (strcmp(l->hosts[i].host, host) == 0)
            h = &l->hosts[i];
    if (h == NULL) {
        if (l->n_hosts >= l->max_rows)
            return;     /* a restart of it is taken for the same session */
        l->hosts = xreallocarray(l->hosts, l->n_hosts + 1, sizeof(*h));
        h = &l->hosts[l->n_hosts++];
        h->host = xstrdup(host);
        h->session = session;
        l->version++;
        return;
    }
    if (h->session == session)
        return;
    h->session = session;
    l->version++;
    for (size_t i = 0; i < l->n_rows; i++) {
        struct losses_src *r = &l->rows[i];
        if (strcmp(r->host, host) != 0)
            continue;
        r->base.bytes += r->cur.bytes;
        r->base.lines += r->cur.lines;
        r->base.events += r->cur.events;
        memset(&r->cur, 0, sizeof(r->cur));
    }
}

static struct losses_src *
losses_row(struct losses *l, const char *host, const struct wire_sample *s)
{
    for (size_t i = 0; i < l->n_rows; i++) {
        struct losses_src *r = &l->rows[i];
        if (memcmp(r->id, s->label.p, LOSSES_ID_LEN) == 0 &&
            strcmp(r->host, host) == 0)
            return r;
    }
    if (l->n_rows >= l->max_rows) {
        if (losses_str_is(&s->name, "shipper.lost.events"))
            l->n_dropped++;         /* once per source and frame */
        return NULL;
    }
    l->rows = xreallocarray(l->rows, l->n_rows + 1, sizeof(*l->rows));
    struct losses_src *r = &l->rows[l->n_rows++];
    memset(r, 0, sizeof(*r));
    r->host = xstrdup(host);
    memcpy(r->id, s->label.p, LOSSES_ID_LEN);
    r->name = xstrdup("");
    l->version++;
    return r;
}

static void
losses_max(struct losses *l, uint64_t *field, double v)
{
    if ((uint64_t)v > *field) {
        *field = (uint64_t)v;
        l->version++;
    }
}

static void
losses_sample(struct losses *l, const char *host, const struct wire_sample *s)
{
    double v = s->value;

    if (!losses_is_id(&s->label) || !(v >= 0) || v > 1e18 || v != floor(v))
        return;
    struct losses_src *r = losses_row(l, host, s);
    if (r == NULL)
        return;
    if (s->container.len > 0) {
        char *name = losses_dup(&s->container);
        if (strcmp(name, r->name) != 0)
            l->version++;
        free(r->name);
        r->name = name;
    }
    /* cumulative within a session: a resent older frame never lowers it */
    if (losses_str_is(&s->name, "shipper.lost.bytes"))
        losses_max(l, &r->cur.bytes, v);
    else if (losses_str_is(&s->name, "shipper.lost.lines"))
        losses_max(l, &r->cur.lines, v);
    else if (losses_str_is(&s->name, "shipper.lost.events"))
        losses_max(l, &r->cur.events, v);
    else if ((r->flags | (int)((uint64_t)v & 3)) != r->flags) {
        r->flags |= (int)((uint64_t)v & 3);    /* v <= 1e18: no int cast */
        l->version++;
    }
}

/* ---- public API ---- */

void
losses_feed(struct losses *l, const char *host, struct wire_metrics *m)
{
    struct wire_sample s;

    while (wire_metrics_next(m, &s) == 1) {
        if (losses_str_is(&s.name, "shipper.session")) {
            losses_session(l, host, s.value);
            continue;
        }
        if (s.name.len > 13 && memcmp(s.name.p, "shipper.lost.", 13) == 0 &&
            (losses_str_is(&s.name, "shipper.lost.bytes") ||
             losses_str_is(&s.name, "shipper.lost.lines") ||
             losses_str_is(&s.name, "shipper.lost.events") ||
             losses_str_is(&s.name, "shipper.lost.flags")))
            losses_sample(l, host, &s);
    }
}

void
losses_foreach(const struct losses *l, losses_fn fn, void *arg)
{
    for (size_t i = 0; i < l->n_rows; i++) {
        const struct losses_src *r = &l->rows[i];
        struct losses_row row = {
            .host = r->host, .id = r->id, .name = r->name,
            .bytes = r->base.bytes + r->cur.bytes,
            .lines = r->base.lines + r->cur.lines,
            .events = r->base.events + r->cur.events,
            .is_bytes_bound = (r->flags & 1) != 0,
            .is_lines_bound = (r->flags & 2) != 0,
        };
        fn(arg, &row);
    }
}

uint64_t
losses_dropped(const struct losses *l)
{
    return l->n_dropped;
}

uint64_t
losses_version(const struct losses *l)
{
    return l->version;
}

/* ---- text form (lossfile.c) ---- */

/* s with bytes outside '!'..'~' and '%' as %XX; "" as "%". */
static int
losses_put_str(struct buf *out, const char *s)
{
    char e[4];

    if (strlen(s) > LOSSES_NAME_MAX)
        return -1;
    if (*s == '\0')
        return buf_append(out, "%", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p > ' ' && *p < 0x7f && *p != '%') {
            if (buf_append(out, p, 1) < 0)
                return -1;
            continue;
        }
        snprintf(e, sizeof(e), "%%%02X", *p);
        if (buf_append(out, e, 3) < 0)
            return -1;
    }
    return 0;
}

static int
losses_put(struct buf *out, const char *s)
{
    return buf_append(out, s, strlen(s));
}

size_t
losses_encoded_max(size_t max_rows)
{
    size_t host_line = 2 + LOSSES_STR_MAX + 1 + 32 + 1;
    size_t src_line = 2 + LOSSES_STR_MAX + 1 + LOSSES_ID_LEN + 3 + 6 * 21 +
                      LOSSES_STR_MAX + 1;

    return sizeof(LOSSES_MAGIC) + max_rows * (host_line + src_line);
}

int
losses_encode(const struct losses *l, struct buf *out)
{
    char num[200];

    buf_reset(out);
    if (losses_put(out, LOSSES_MAGIC) < 0)
        return -1;
    for (size_t i = 0; i < l->n_hosts; i++) {
        snprintf(num, sizeof(num), " %.17g\n", l->hosts[i].session);
        if (losses_put(out, "h ") < 0 ||
            losses_put_str(out, l->hosts[i].host) < 0 ||
            losses_put(out, num) < 0)
            return -1;
    }
    for (size_t i = 0; i < l->n_rows; i++) {
        const struct losses_src *r = &l->rows[i];
        snprintf(num, sizeof(num), " %s %d %" PRIu64 " %" PRIu64 " %" PRIu64
                 " %" PRIu64 " %" PRIu64 " %" PRIu64 " ", r->id, r->flags,
                 r->base.bytes, r->base.lines, r->base.events, r->cur.bytes,
                 r->cur.lines, r->cur.events);
        if (losses_put(out, "s ") < 0 || losses_put_str(out, r->host) < 0 ||
            losses_put(out, num) < 0 || losses_put_str(out, r->name) < 0 ||
            losses_put(out, "\n") < 0)
            return -1;
    }
    return 0;
}

/* Undoes losses_put_str in place (NUL-terminated); -1 if malformed. */
static int
losses_unescape(char *s)
{
    char *w = s;

    if (strcmp(s, "%") == 0) {
        *s = '\0';
        return 0;
    }
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c != '%') {
            if (c <= ' ' || c >= 0x7f)
                return -1;
            *w++ = (char)c;
            continue;
        }
        unsigned v;
        char hex[3] = { p[1], p[1] ? p[2] : '\0', '\0' };
        if (strlen(hex) != 2 || strspn(hex, "0123456789ABCDEF") != 2 ||
            sscanf(hex, "%2X", &v) != 1 || v == 0)
            return -1;
        *w++ = (char)v;
        p += 2;
    }
    *w = '\0';
    return w - s > LOSSES_NAME_MAX ? -1 : 0;
}

/* A decimal without sign or spaces, at most 1e18 (what a sample holds). */
static int
losses_u64(const char *s, uint64_t *v)
{
    char *e;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &e, 10);
    if (errno != 0 || *e != '\0' || x > 1000000000000000000ULL)
        return -1;
    *v = x;
    return 0;
}

/* Splits line (modified) at single spaces into at most max fields. */
static size_t
losses_split(char *line, char **f, size_t max)
{
    size_t n = 0;

    for (char *p = line; n < max;) {
        f[n++] = p;
        p = strchr(p, ' ');
        if (p == NULL)
            return n;
        *p++ = '\0';
    }
    return max + 1;     /* too many */
}

static const char *
losses_decode_host(struct losses *l, char **f, size_t n)
{
    char *e;

    if (n != 3 || losses_unescape(f[1]) < 0 || f[1][0] == '\0')
        return "bad host line";
    errno = 0;
    double session = strtod(f[2], &e);
    if (errno != 0 || *e != '\0' || e == f[2] || !isfinite(session))
        return "bad session";
    for (size_t i = 0; i < l->n_hosts; i++)
        if (strcmp(l->hosts[i].host, f[1]) == 0)
            return "host listed twice";
    if (l->n_hosts >= l->max_rows)
        return "too many hosts";
    l->hosts = xreallocarray(l->hosts, l->n_hosts + 1, sizeof(*l->hosts));
    l->hosts[l->n_hosts].host = xstrdup(f[1]);
    l->hosts[l->n_hosts++].session = session;
    return NULL;
}

static const char *
losses_decode_src(struct losses *l, char **f, size_t n)
{
    uint64_t v[7];

    if (n != LOSSES_FIELDS || losses_unescape(f[1]) < 0 || f[1][0] == '\0' ||
        losses_unescape(f[10]) < 0)
        return "bad source line";
    struct wire_str id = { .p = f[2], .len = strlen(f[2]) };
    if (!losses_is_id(&id))
        return "bad container id";
    for (int i = 0; i < 7; i++)
        if (losses_u64(f[3 + i], &v[i]) < 0)
            return "bad number";
    if (v[0] > 3)
        return "bad flags";
    for (size_t i = 0; i < l->n_rows; i++)
        if (memcmp(l->rows[i].id, f[2], LOSSES_ID_LEN) == 0 &&
            strcmp(l->rows[i].host, f[1]) == 0)
            return "source listed twice";
    if (l->n_rows >= l->max_rows)
        return "too many sources";
    l->rows = xreallocarray(l->rows, l->n_rows + 1, sizeof(*l->rows));
    struct losses_src *r = &l->rows[l->n_rows++];
    memset(r, 0, sizeof(*r));
    r->host = xstrdup(f[1]);
    memcpy(r->id, f[2], LOSSES_ID_LEN);
    r->name = xstrdup(f[10]);
    r->flags = (int)v[0];
    r->base = (struct losses_fig){ v[1], v[2], v[3] };
    r->cur = (struct losses_fig){ v[4], v[5], v[6] };
    return NULL;
}

struct losses *
losses_decode(const char *p, size_t len, size_t max_rows, char **errstr)
{
    struct losses *l = losses_new(max_rows);
    size_t lineno = 1, magic = strlen(LOSSES_MAGIC);
    const char *why = NULL;

    if (len < magic || memcmp(p, LOSSES_MAGIC, magic) != 0) {
        why = "not a logq-losses 1 file";
        goto fail;
    }
    char line[2 * LOSSES_STR_MAX + LOSSES_ID_LEN + 256];
    for (size_t at = magic; at < len && why == NULL;) {
        lineno++;
        const char *nl = memchr(p + at, '\n', len - at);
        size_t n = nl == NULL ? 0 : (size_t)(nl - (p + at));
        if (nl == NULL || n >= sizeof(line) || memchr(p + at, '\0', n)) {
            why = nl == NULL ? "unfinished line" : "bad line";
            break;
        }
        memcpy(line, p + at, n);
        line[n] = '\0';
        at += n + 1;
        char *f[LOSSES_FIELDS];
        size_t nf = losses_split(line, f, LOSSES_FIELDS);
        if (strcmp(f[0], "h") == 0)
            why = losses_decode_host(l, f, nf);
        else if (strcmp(f[0], "s") == 0)
            why = losses_decode_src(l, f, nf);
        else
            why = "unknown line";
    }
    if (why == NULL)
        return l;
fail:
    *errstr = xasprintf("line %zu: %s", lineno, why);
    losses_free(l);
    return NULL;
}
