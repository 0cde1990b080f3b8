/* SPDX-License-Identifier: MIT */
/*
 * resume: see resume.h. The kept hashes are an open-addressing table of
 * (hash, printed, met) entries (load <= 1/2, grown by doubling up to
 * RESUME_MAX_KEPT entries: 32 MiB of table at most), so a catch-up of a
 * million lines costs one probe each. A hash of 0 is stored as 1.
 */
#include "query/resume.h"

#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"

void
resume_init(struct resume *r)
{
    memset(r, 0, sizeof(*r));
}

void
resume_fini(struct resume *r)
{
    free(r->tab);
    memset(r, 0, sizeof(*r));
}

/* A new stream's history meets the printed lines again from none. */
void
resume_connect(struct resume *r)
{
    r->is_live = 0;
    for (size_t i = 0; i < r->tab_size; i++)
        r->tab[i].n_seen = 0;
}

/* Live, this runs once a batch: a table grown by a catch-up is freed
 * rather than cleared each time. */
static void
resume_forget(struct resume *r)
{
    if (r->tab_size > 4096) {
        free(r->tab);
        r->tab = NULL;
        r->tab_size = 0;
    } else if (r->tab != NULL) {
        memset(r->tab, 0, r->tab_size * sizeof(*r->tab));
    }
    r->n_kept = 0;
}

int
resume_line(struct resume *r, const char *line, size_t len)
{
    static const char head[] = "{\"resume\":\"";
    const size_t hl = sizeof(head) - 1;
    int64_t ns;

    if (len < hl || memcmp(line, head, hl) != 0)
        return 0;
    while (len > hl && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len < hl + 2 || memcmp(line + len - 2, "\"}", 2) != 0 ||
        rfc3339_parse_ns(line + hl, len - hl - 2, &ns) < 0)
        return -1;
    r->point = ns;
    r->has_point = 1;
    r->is_live = 1;
    resume_forget(r);
    return 1;
}

int
resume_refused(const char *err)
{
    static const char want[] = "unknown parameter 'resume'";

    return strcmp(err, want) == 0;
}

/*
 * The identity hash, 8 bytes a step in two lanes: a round (xor of the
 * word times an odd constant, rotate, times another) is a bijection of
 * the lane for each word, so no input is lost along the way; the field's
 * length closes it; a final mix spreads the bits to the low ones the
 * table indexes by. Only compared within this process (the kept table),
 * so the byte order does not matter. FNV-1a byte by byte was 40% of
 * logq -f's instructions on 1 KiB lines (BENCHMARKS.md "Live tail").
 */
#define RESUME_K1 UINT64_C(0x9e3779b97f4a7c15)
#define RESUME_K2 UINT64_C(0xbf58476d1ce4e5b9)

static uint64_t
resume_rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t
resume_round(uint64_t acc, uint64_t w)
{
    return resume_rotl(acc ^ (w * RESUME_K1), 31) * RESUME_K2;
}

static uint64_t
resume_mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t a = h, c = h ^ RESUME_K2, w = 0, x;
    size_t left = n;

    for (; left >= 16; b += 16, left -= 16) {
        memcpy(&w, b, 8);
        memcpy(&x, b + 8, 8);
        a = resume_round(a, w);
        c = resume_round(c, x);
    }
    if (left >= 8) {
        memcpy(&w, b, 8);
        a = resume_round(a, w);
        b += 8;
        left -= 8;
    }
    w = 0;
    if (left > 0)
        memcpy(&w, b, left);
    a = resume_round(a, w);
    c = resume_round(c, (uint64_t)n);   /* the length delimits the field */
    return resume_round(a, c);
}

uint64_t
resume_record_hash(const struct logrec *rec)
{
    uint64_t h = RESUME_K1;
    unsigned char t[17];

    for (int i = 0; i < 8; i++) {
        t[i] = (unsigned char)((uint64_t)rec->time_ns >> (8 * i));
        t[8 + i] = (unsigned char)((uint64_t)rec->recv_ns >> (8 * i));
    }
    t[16] = rec->stream;
    h = resume_mix(h, t, sizeof(t));
    h = resume_mix(h, rec->host, strlen(rec->host));
    h = resume_mix(h, rec->container, strlen(rec->container));
    h = resume_mix(h, rec->container_id, strlen(rec->container_id));
    h = resume_mix(h, rec->msg, rec->msg_len);
    h ^= h >> 31;
    h *= RESUME_K1;
    h ^= h >> 29;
    return h != 0 ? h : 1;
}

/* The slot holding h, or the empty one where it goes (tab_size > 0). */
static size_t
resume_slot(const struct resume *r, uint64_t h)
{
    size_t i = (size_t)(h ^ (h >> 29)) & (r->tab_size - 1);

    while (r->tab[i].hash != 0 && r->tab[i].hash != h)
        i = (i + 1) & (r->tab_size - 1);
    return i;
}

int
resume_is_repeat(struct resume *r, uint64_t hash)
{
    if (r->is_live || r->n_kept == 0)
        return 0;
    hash = hash != 0 ? hash : 1;
    struct resume_kept *e = &r->tab[resume_slot(r, hash)];
    if (e->hash != hash || e->n_seen >= e->n_printed)
        return 0;
    e->n_seen++;
    return 1;
}

static void
resume_grow(struct resume *r)
{
    size_t old_size = r->tab_size;
    struct resume_kept *old = r->tab;

    r->tab_size = old_size ? old_size * 2 : 1024;
    r->tab = xcalloc(r->tab_size, sizeof(*r->tab));
    for (size_t i = 0; i < old_size; i++)
        if (old[i].hash != 0)
            r->tab[resume_slot(r, old[i].hash)] = old[i];
    free(old);
}

static void
resume_keep(struct resume *r, uint64_t hash)
{
    struct resume_kept *e = r->tab_size > 0 ? &r->tab[resume_slot(r, hash)]
                                            : NULL;

    if (e == NULL || e->hash == 0) {
        if (r->n_kept >= RESUME_MAX_KEPT) {
            r->n_unkept++;
            return;
        }
        if (2 * (r->n_kept + 1) > r->tab_size) {
            resume_grow(r);
            e = &r->tab[resume_slot(r, hash)];
        }
        e->hash = hash;
        r->n_kept++;
    }
    if (e->n_printed < UINT32_MAX) {
        e->n_printed++;
        e->n_seen += !r->is_live;   /* this history is past it too */
    }
}

void
resume_printed(struct resume *r, int64_t recv_ns, uint64_t hash)
{
    hash = hash != 0 ? hash : 1;
    if (r->is_live && recv_ns > r->point) {
        r->point = recv_ns;     /* a newer batch: the older ones are done */
        resume_forget(r);
    }
    resume_keep(r, hash);
}
