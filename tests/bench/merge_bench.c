/* SPDX-License-Identifier: MIT */
/*
 * merge_bench: what a search's merge holds and reads on a store whose
 * sources were shipped in turns of bytes, as a shipper's backlog reads
 * its containers (DOCKER_SLICE bytes of each in turn). Each line of each
 * FILE is a record of container i (the file's number), its times 1 ms a
 * line from the same start, so sources whose lines differ in length
 * drift apart in time as the turns go on (bench.py's four kinds at 10
 * GiB: hours apart), and a frame holding the end of one source's turn
 * and the start of another's spans the gap. The store has the
 * collector's defaults (1 MiB blocks, 256 KiB frames, 64 MiB segments).
 * Then a search for WORD, every match, as the collector's (token
 * prefilter, match_fn, matches only, no block cache), newest-first then
 * oldest-first, each on the store opened afresh: prints the matches,
 * frames read and read again, the most the cursor held
 * (store.cursor_mem_peak) and the CPU time of the query.
 *   make build/release/merge-bench
 *   build/release/merge-bench [--turn BYTES] [--mem-max BYTES] [--repeat N]
 *                             [--reuse] DIR WORD FILE...
 * --turn: bytes of a source appended in a row (default 4 MiB, the
 * shipper's slice); fewer bytes a turn gives more turns, so a small
 * store shows what a large one holds (the mixed frames are one a turn).
 * --repeat N: each FILE's lines N times over (times going on), for a
 * large store from small files.
 * --reuse: DIR holds the store already; only the queries run (FILEs
 * unused). Not part of make test (BENCHMARKS.md "Frames cut where a
 * source's run ends").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector/store/store.h"
#include "common/xmalloc.h"

#define T0 INT64_C(1795787440000000000)

struct input {
    char    *text;
    size_t   len, pos;
    uint64_t n_lines, offset, rng;
    unsigned laps;              /* times the text was read through */
    char     id[65], name[32];
};

static size_t   mem_max;
static unsigned repeat = 1;

static char *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 20, n = 0, got;
    char *p;

    if (!f) {
        fprintf(stderr, "merge-bench: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    p = xmalloc(cap);
    while ((got = fread(p + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            p = xreallocarray(p, cap *= 2, 1);
    }
    fclose(f);
    *len = n;
    return p;
}

static struct store *
open_store(const char *dir)
{
    struct store_options opt = { .cursor_mem_max = mem_max };
    char *err = NULL;
    struct store *s = store_open(dir, &opt, &err);

    if (!s) {
        fprintf(stderr, "merge-bench: %s: %s\n", dir, err);
        exit(1);
    }
    return s;
}

/* Appends up to turn bytes of lines of in: 1 if any. */
static int
append_turn(struct store *s, struct input *in, size_t turn)
{
    size_t got = 0;

    if (in->pos == in->len && ++in->laps < repeat)
        in->pos = 0;            /* --repeat: the text again, times on */
    while (got < turn && in->pos < in->len) {
        char *line = in->text + in->pos, *nl;
        size_t ll = in->len - in->pos;
        if ((nl = memchr(line, '\n', ll)) != NULL)
            ll = (size_t)(nl - line);
        in->pos += ll + (nl != NULL);
        got += ll + 1;
        in->rng = in->rng * 6364136223846793005ull + 1442695040888963407ull;
        int64_t t = T0 + (int64_t)in->n_lines++ * 1000000 +
                    (int64_t)((in->rng >> 33) % 1000000);
        in->offset += ll + 64;
        struct logrec r = {
            .time_ns = t, .recv_ns = T0, .host = "bench1",
            .container_id = in->id, .container = in->name,
            .image = "bench:1", .stream = 0, .offset = in->offset,
            .msg = line, .msg_len = ll,
        };
        if (store_append(s, &r) != 1) {
            fprintf(stderr, "merge-bench: append: %s\n", store_errstr(s));
            exit(1);
        }
    }
    if (got > 0 && store_commit(s) < 0) {
        fprintf(stderr, "merge-bench: commit: %s\n", store_errstr(s));
        exit(1);
    }
    return got > 0;
}

static void
build(const char *dir, char **paths, size_t n, size_t turn)
{
    struct input *in = xcalloc(n, sizeof(*in));
    struct store *s = open_store(dir);

    for (size_t k = 0; k < n; k++) {
        in[k].text = read_all(paths[k], &in[k].len);
        in[k].rng = k + 1;
        for (int j = 0; j < 64; j++)
            in[k].id[j] = "0123456789abcdef"[(k + 1 + j) % 16];
        snprintf(in[k].name, sizeof(in[k].name), "c%zu", k);
    }
    for (int any = 1; any;) {
        any = 0;
        for (size_t k = 0; k < n; k++)
            any |= append_turn(s, &in[k], turn);
    }
    if (store_sync(s) < 0) {
        fprintf(stderr, "merge-bench: sync: %s\n", store_errstr(s));
        exit(1);
    }
    store_close(s);
    for (size_t k = 0; k < n; k++)
        free(in[k].text);
    free(in);
}

static int
match_word(void *arg, const char *msg, size_t len)
{
    const char *w = arg;

    return memmem(msg, len, w, strlen(w)) != NULL;
}

static double
cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
query(const char *dir, const char *word, int newest_first)
{
    struct store *s = open_store(dir);
    const char *toks[] = { word };
    struct store_filter fl = {
        .since_ns = INT64_MIN, .until_ns = INT64_MAX, .stream = -1,
        .tokens = toks, .n_tokens = 1, .is_tokens_required = 1,
        .is_no_cache = 1, .match_fn = match_word,
        .match_arg = (void *)word, .match_arg_helper = (void *)word,
        .is_matches_only = 1,
    };
    struct store_stats st0, st1;
    struct logrec r;
    uint64_t n = 0;
    int rc;

    store_get_stats(s, &st0);
    double c0 = cpu_ms();
    struct store_cursor *c = store_cursor_new(s, &fl, newest_first);
    while ((rc = store_cursor_next(c, &r)) != 0)
        n += rc == 1;
    store_cursor_free(c);
    double c1 = cpu_ms();
    store_get_stats(s, &st1);
    printf("%s matches=%" PRIu64 " frames_read=%" PRIu64
           " reread=%" PRIu64 " cursor_mem_peak=%.1fMiB cpu_ms=%.0f"
           " blocks=%" PRIu64 "\n",
           newest_first ? "newest-first" : "oldest-first", n,
           st1.n_cursor_reads - st0.n_cursor_reads,
           st1.n_cursor_rereads - st0.n_cursor_rereads,
           (double)st1.cursor_mem_peak / (1 << 20), c1 - c0, st1.n_blocks);
    store_close(s);
}

int
main(int argc, char **argv)
{
    size_t turn = 4u << 20;
    int is_reuse = 0, i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--turn") == 0 && i + 1 < argc)
            turn = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--mem-max") == 0 && i + 1 < argc)
            mem_max = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--reuse") == 0)
            is_reuse = 1;
        else
            break;
    }
    if (argc - i < 2 || (!is_reuse && argc - i < 3) || turn == 0) {
        fprintf(stderr, "usage: merge-bench [--turn BYTES] [--mem-max BYTES]"
                        " [--repeat N] [--reuse] DIR WORD FILE...\n");
        return 2;
    }
    const char *dir = argv[i], *word = argv[i + 1];
    if (!is_reuse)
        build(dir, argv + i + 2, (size_t)(argc - i - 2), turn);
    query(dir, word, 1);
    query(dir, word, 0);
    return 0;
}
