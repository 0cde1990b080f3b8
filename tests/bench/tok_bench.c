/* SPDX-License-Identifier: MIT */
/*
 * tok_bench: what tokenizing and a block's token set cost, the indexing
 * thread's work (collector/store/indexer.c). Reads plain log lines (one
 * message per line) from the files named on the command line, cuts them
 * into blocks of --block KiB of text as the store does, and times, in CPU
 * seconds of this one thread (CLOCK_THREAD_CPUTIME_ID):
 *   words   tokenize_foreach_ex over every line, a callback that only sums
 *   fields  tokenize_fields_ex over every line, the same callback
 *   set     index_set_add_text of every line into its block's token set
 *           (words, fields, counts, frames: a block cut into 4 by
 *           text bytes), the set reset per block, with a
 *           tokenize_memo as the store's gathering has (tailset.c)
 *   merge   index_mem_add_set of every block's set into a segment map of
 *           --seg blocks (the sealing thread's ix_insert), then its .lqi
 *           image (index_mem_encode); these calls alone are timed
 * and prints ns per text byte and CPU seconds per GiB of text. Each row
 * also prints a checksum of what it produced (hashes, checks, forms,
 * counts, the .lqi bytes), so two builds can be compared for the same
 * output as well as for speed.
 *   tok-bench [--block KiB] [--seg N] [--rounds R] FILE...
 * Not part of make test (the differential test is
 * collector/store/tokenize_diff_test.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector/store/index.h"
#include "collector/store/tokenize.h"
#include "common/buf.h"
#include "common/compress.h"
#include "common/xmalloc.h"

struct line {
    const uint8_t *p;
    size_t         len;
};

struct lines {
    struct line *v;
    size_t       n, cap;
    size_t       bytes;
};

static double
cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 20, n = 0;
    uint8_t *p;

    if (!f) {
        fprintf(stderr, "tok-bench: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    p = xmalloc(cap);
    for (;;) {
        if (n == cap)
            p = xreallocarray(p, cap *= 2, 1);
        size_t k = fread(p + n, 1, cap - n, f);
        if (k == 0)
            break;
        n += k;
    }
    fclose(f);
    *len = n;
    return p;
}

static void
add_lines(struct lines *ls, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;

    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *e = nl ? nl : end;
        if (ls->n == ls->cap) {
            ls->cap = ls->cap ? ls->cap * 2 : 1024;
            ls->v = xreallocarray(ls->v, ls->cap, sizeof(*ls->v));
        }
        ls->v[ls->n].p = p;
        ls->v[ls->n].len = (size_t)(e - p);
        ls->bytes += (size_t)(e - p);
        ls->n++;
        p = nl ? nl + 1 : end;
    }
}

static int
sum_cb(uint32_t hash, uint32_t check, unsigned forms, void *arg)
{
    uint64_t *sum = arg;

    *sum = (*sum * 31) ^ hash ^ ((uint64_t)check << 32) ^ forms;
    return 0;
}

/* Checksum of a set: order-free (a sum of a mix per entry). */
static uint64_t
set_sum(const struct index_set *set)
{
    uint64_t s = 0;

    for (size_t i = 0; i < set->size; i++) {
        const struct index_set_ent *e = &set->tab[i];
        if (!e->hash)
            continue;
        uint64_t v = (uint64_t)e->hash << 32 ^ e->check;
        v = v * 0x9e3779b97f4a7c15ull ^
            ((uint64_t)e->n_recs << 8 | index_set_ent_flags(e));
        v ^= (uint64_t)index_set_ent_fmask(e) << 40;
        s += v * 0xbf58476d1ce4e5b9ull;
    }
    return s;
}

static void
report(const char *what, double s, size_t bytes, uint64_t sum)
{
    printf("%-7s %7.2f ns/byte %7.2f s/GiB  sum %016" PRIx64 "\n", what,
           s * 1e9 / (double)bytes, s * (double)(1u << 30) / (double)bytes,
           sum);
}

/* The blocks' sets: one pass over the lines, the set reset at each block
 * boundary; each set merged into map m (if not NULL) as block b. */
static uint64_t
run_sets(const struct lines *ls, size_t block, struct index_set *set,
         struct index_mem **m, size_t seg, double *merge_s, struct buf *out)
{
    uint64_t sum = 0;
    size_t fill = 0;
    uint32_t b = 0;
    double t0 = 0;

    index_set_reset(set);
    for (size_t i = 0; i <= ls->n; i++) {
        if (i == ls->n || fill >= block) {
            sum += set_sum(set);
            if (m) {
                t0 = cpu_s();
                index_mem_add_set(*m, b, set);
                if (++b == seg || i == ls->n) {
                    struct index_blkref *r = xcalloc(b, sizeof(*r));
                    out->len = 0;
                    if (index_mem_encode(*m, 1, r, b, out) < 0)
                        exit(3);
                    sum += compress_crc32(0, out->data, out->len);
                    free(r);
                    index_mem_free(*m);
                    *m = index_mem_new();
                    b = 0;
                }
                *merge_s += cpu_s() - t0;
            }
            index_set_reset(set);
            fill = 0;
            if (i == ls->n)
                break;
        }
        /* four frames a block, as the indexing thread marks them */
        set->frame = index_frame_bit((uint32_t)(fill * 4 / block), 4);
        index_set_add_text(set, ls->v[i].p, ls->v[i].len);
        fill += ls->v[i].len;
    }
    return sum;
}

int
main(int argc, char **argv)
{
    size_t block = 1024 << 10, seg = 64;
    int rounds = 3, i = 1;
    struct lines ls = { 0 };

    for (; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc)
            break;
        if (strcmp(argv[i], "--block") == 0)
            block = strtoul(argv[i + 1], NULL, 10) << 10;
        else if (strcmp(argv[i], "--seg") == 0)
            seg = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = (int)strtol(argv[i + 1], NULL, 10);
        else
            break;
    }
    if (i >= argc || block == 0 || seg == 0 || rounds < 1) {
        fprintf(stderr, "usage: tok-bench [--block KiB] [--seg N] "
                "[--rounds R] FILE...\n");
        return 2;
    }
    for (; i < argc; i++) {
        size_t len;
        uint8_t *p = slurp(argv[i], &len);
        add_lines(&ls, p, len);       /* p is kept for the run */
    }
    printf("%zu lines, %zu bytes of text, blocks of %zu KiB, %d rounds "
           "(best round shown)\n", ls.n, ls.bytes, block >> 10, rounds);

    double best[4] = { 1e30, 1e30, 1e30, 1e30 };
    uint64_t sums[4] = { 0 };
    struct index_set set;
    struct tokenize_memo memo = { .with_subwords = 1 };    /* as tailset.c */
    struct buf out;
    index_set_init(&set);
    set.memo = &memo;           /* as tailset_gather: the lines stay */
    buf_init(&out, (size_t)1 << 31);
    for (int r = 0; r < rounds; r++) {
        double t = cpu_s();
        uint64_t sum = 0;
        for (size_t k = 0; k < ls.n; k++)
            tokenize_foreach_ex(ls.v[k].p, ls.v[k].len, sum_cb, &sum);
        double d = cpu_s() - t;
        best[0] = d < best[0] ? d : best[0];
        sums[0] = sum;

        t = cpu_s();
        sum = 0;
        for (size_t k = 0; k < ls.n; k++)
            tokenize_fields_ex(ls.v[k].p, ls.v[k].len, sum_cb, &sum);
        d = cpu_s() - t;
        best[1] = d < best[1] ? d : best[1];
        sums[1] = sum;

        t = cpu_s();
        sums[2] = run_sets(&ls, block, &set, NULL, seg, NULL, NULL);
        d = cpu_s() - t;
        best[2] = d < best[2] ? d : best[2];

        struct index_mem *m = index_mem_new();
        d = 0;
        sums[3] = run_sets(&ls, block, &set, &m, seg, &d, &out);
        index_mem_free(m);
        best[3] = d < best[3] ? d : best[3];
    }
    report("words", best[0], ls.bytes, sums[0]);
    report("fields", best[1], ls.bytes, sums[1]);
    report("set", best[2], ls.bytes, sums[2]);
    report("merge", best[3], ls.bytes, sums[3]);
    index_set_fini(&set);
    buf_fini(&out);
    free(ls.v);
    return 0;
}
