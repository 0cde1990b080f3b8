/* SPDX-License-Identifier: MIT */
/*
 * tail_restart_test: exactly once across kills, against a brute-force
 * model. A writer appends numbered lines (stdout and stderr, some written
 * in two halves, some long messages in 16 KiB-style partial pieces) and
 * rotates like Docker with max-file=3; the tailer is killed at random
 * points (dropped, resumed from an acknowledged record's resume point that
 * lags behind what the collector already stored), and the writer goes on
 * (rotating the saved file away) while it is down. The model collector
 * stores a record only if its offset is above the highest stored
 * (PROTOCOL.md "Exactly once"): no line may be stored twice. Steps,
 * looks and restarts fall between Docker's renames, but not inside one
 * listing: that race is made by hand (fstatat below).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xmalloc.h"
#include "shipper/tail.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LINES_MAX  1500
#define EMIT_MAX   16384

struct model {
    char            dir[64];
    char           *live;
    uint64_t        rng;
    size_t          live_size;
    int             max_file;
    int             rot_step;   /* next rename of a rotation, or -1 */
    size_t          max_size;
    /* collector */
    uint64_t        hw;
    unsigned        stored[LINES_MAX];
    /* what this tailer emitted (resume points of its records) */
    struct tail_pos resumes[EMIT_MAX];
    size_t          n_emit;
};

static uint32_t
rnd(struct model *m, uint32_t n)
{
    m->rng = m->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(m->rng >> 33) % n;
}

static void
store(void *arg, const struct tail_record *r)
{
    struct model *m = arg;
    unsigned seq;

    assert_true(m->n_emit < EMIT_MAX);
    m->resumes[m->n_emit++] = r->resume;
    if (r->offset <= m->hw)
        return;                         /* records_duplicate */
    m->hw = r->offset;
    char text[64];
    size_t n = r->msg_len < sizeof(text) - 1 ? r->msg_len : sizeof(text) - 1;
    memcpy(text, r->msg, n);
    text[n] = '\0';
    assert_int_equal(sscanf(text, "m%u", &seq), 1);
    assert_true(seq < LINES_MAX);
    m->stored[seq]++;
    if (m->stored[seq] > 1)
        fail_msg("line %u stored twice (offset %llu)", seq,
                 (unsigned long long)r->offset);
}

static void
append(struct model *m, const char *s, size_t n)
{
    FILE *fp = fopen(m->live, "a");

    assert_non_null(fp);
    assert_int_equal(fwrite(s, 1, n, fp), n);
    fclose(fp);
    m->live_size += n;
}

/* One step of Docker's rotation (max-file=n: .n-2 -> .n-1 ... .1 -> .2,
 * live -> .1, a new live file), so that tailer steps, looks and restarts
 * fall between its renames. Returns 1 while the rotation is unfinished. */
static int
rotate_step(struct model *m)
{
    int k = m->rot_step--;

    if (k > 1) {
        char *a = xasprintf("%s.%d", m->live, k - 1);
        char *b = xasprintf("%s.%d", m->live, k);
        if (access(a, F_OK) == 0)
            assert_int_equal(rename(a, b), 0);
        free(a);
        free(b);
    } else if (k == 1) {
        char *b = xasprintf("%s.1", m->live);
        assert_int_equal(rename(m->live, b), 0);
        free(b);
    } else {
        append(m, "", 0);
        m->live_size = 0;
    }
    return m->rot_step >= 0;
}

static void write_line(struct model *m, unsigned seq, char **pending);

/* The writer's next step: a rename of the rotation under way, or a line. */
static void
write_next(struct model *m, unsigned *seq, char **pending)
{
    if (m->rot_step >= 0) {
        (void)rotate_step(m);
        return;
    }
    if (*pending == NULL && m->live_size >= m->max_size) {
        m->rot_step = m->max_file - 1;
        (void)rotate_step(m);
        return;
    }
    write_line(m, (*seq)++, pending);
}

/* Line seq: whole, in two halves (the second written by the next call),
 * or a message in three partial pieces. */
static void
write_line(struct model *m, unsigned seq, char **pending)
{
    const char *stream = seq % 4 == 0 ? "stderr" : "stdout";
    char *line;

    if (*pending != NULL) {
        append(m, *pending, strlen(*pending));
        free(*pending);
        *pending = NULL;
    }
    if (seq % 11 == 0) {
        for (int p = 0; p < 3; p++) {
            line = xasprintf("{\"log\":\"%sm%u piece %d %s\",\"stream\":"
                             "\"%s\",\"time\":\"2026-01-02T03:04:05Z\"}\n",
                             p == 0 ? "" : "-", seq, p, p == 2 ? "\\n" : "",
                             stream);
            append(m, line, strlen(line));
            free(line);
        }
        return;
    }
    line = xasprintf("{\"log\":\"m%u line\\n\",\"stream\":\"%s\",\"time\":"
                     "\"2026-01-02T03:04:05Z\"}\n", seq, stream);
    size_t n = strlen(line);
    if (seq % 7 == 0) {
        append(m, line, n / 2);
        *pending = xstrdup(line + n / 2);
    } else {
        append(m, line, n);
    }
    free(line);
}

/*
 * readdir is no snapshot: a listing stats its names one by one while
 * Docker renames. fstatat of the live name is made to fail here the way it
 * does when Docker's rotation ran between the stat of ".1" (the older
 * file, seen there before it moved on to ".2") and that of the live name
 * (moved to ".1" already, the new live file not created yet): the live
 * file is in neither place in that listing.
 */
static const char *miss_name;   /* fstatat of this name fails ... */
static int miss_left;           /* ... this many more times */

int
fstatat(int dfd, const char *name, struct stat *st, int flags)
{
    if (miss_name != NULL && miss_left > 0 && strcmp(name, miss_name) == 0) {
        miss_left--;
        errno = ENOENT;
        return -1;
    }
    return (int)syscall(SYS_newfstatat, dfd, name, st, flags);
}

static struct model *
model_new(void)
{
    struct model *m = xcalloc(1, sizeof(*m));

    snprintf(m->dir, sizeof(m->dir), "/tmp/tail_restart.XXXXXX");
    assert_non_null(mkdtemp(m->dir));
    m->live = xasprintf("%s/%s-json.log", m->dir, ID);
    m->max_file = 3;
    m->rot_step = -1;
    miss_name = NULL;   /* a failed test may have left it */
    miss_left = 0;
    return m;
}

static void
model_free(struct model *m)
{
    char *cmd = xasprintf("rm -rf %s", m->dir);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(m->live);
    free(m);
}

static void
rotate(struct model *m)
{
    m->rot_step = m->max_file - 1;
    while (rotate_step(m))
        ;
}

/* Regression (91-fault-shipper-kill soak: 258 lines stored twice): a
 * restart whose one listing missed the saved file mid-rotation took it for
 * deleted and started at the oldest file, an older one, under the saved
 * (higher) logical offset: its lines and the saved file's were sent again
 * under new offsets above the stored ones. Gone means missed by two
 * listings in a row, as for noted files (tail_ahead_update). */
static void
test_tail_restart_saved_file_missed_by_listing(void **state)
{
    struct model *m = model_new();
    struct shipper_counters ctr;
    struct tail_config cfg = { .max_record = 1 << 20, .chunk = 4096 };
    char *pending = NULL;
    unsigned seq = 0;

    (void)state;
    memset(&ctr, 0, sizeof(ctr));
    for (int i = 0; i < 4; i++)         /* the older file, now .1 */
        write_line(m, seq++, &pending);
    rotate(m);
    write_line(m, seq++, &pending);     /* the saved file, live */
    write_line(m, seq++, &pending);
    struct tailer *t = tail_new(m->dir, ID, &cfg, &ctr);
    assert_int_equal(tail_start(t, NULL), 0);
    for (int i = 0; i < 100 && tail_step(t, store, m) == TAIL_DATA; i++)
        ;
    assert_int_equal(m->n_emit, 6);
    struct tail_pos saved = m->resumes[4];      /* acked up to line 4 */
    tail_free(t);                               /* kill */

    write_line(m, seq++, &pending);
    t = tail_new(m->dir, ID, &cfg, &ctr);
    miss_name = strrchr(m->live, '/') + 1;
    miss_left = 1;
    assert_int_equal(tail_start(t, &saved), 0);
    miss_name = NULL;
    for (int i = 0; i < 100 && tail_step(t, store, m) == TAIL_DATA; i++)
        ;
    for (unsigned i = 0; i < seq; i++)
        assert_int_equal(m->stored[i], 1);
    assert_int_equal(ctr.gaps, 0);
    tail_free(t);
    model_free(m);
}

/* Writes four lines, rotates, writes two (the saved file, live), reads
 * them all and returns the resume point of line 4 (acknowledged: the
 * collector stored lines 0-5); then writes line 6 while the tailer is
 * down. */
static struct tail_pos
read_then_kill(struct model *m, struct tail_config *cfg,
               struct shipper_counters *ctr, unsigned *seq, char **pending)
{
    for (int i = 0; i < 4; i++)         /* the older file, now .1 */
        write_line(m, (*seq)++, pending);
    rotate(m);
    write_line(m, (*seq)++, pending);   /* the saved file, live */
    write_line(m, (*seq)++, pending);
    struct tailer *t = tail_new(m->dir, ID, cfg, ctr);
    assert_int_equal(tail_start(t, NULL), 0);
    for (int i = 0; i < 100 && tail_step(t, store, m) == TAIL_DATA; i++)
        ;
    assert_int_equal(m->n_emit, 6);
    struct tail_pos saved = m->resumes[4];
    tail_free(t);                       /* kill */
    write_line(m, (*seq)++, pending);
    return saved;
}

/* Steps until idle, restarting (tail_step -> tail_start) while it waits. */
static void
drain(struct tailer *t, struct model *m)
{
    for (int i = 0; i < 100; i++)
        if (tail_step(t, store, m) == TAIL_IDLE)
            break;
}

/* A fresh start (no saved position) whose one listing missed the oldest
 * file (".1" stat'ed while Docker renamed it on to ".2") started at the
 * live file: .1's lines were never read, and nothing counted. It now
 * takes two listings in a row that name the same files, as a restart
 * does. */
static void
test_tail_fresh_start_oldest_missed_by_listing(void **state)
{
    struct model *m = model_new();
    struct shipper_counters ctr;
    struct tail_config cfg = { .max_record = 1 << 20, .chunk = 4096 };
    char *pending = NULL;
    unsigned seq = 0;

    (void)state;
    memset(&ctr, 0, sizeof(ctr));
    for (int i = 0; i < 4; i++)         /* the older file, now .1 */
        write_line(m, seq++, &pending);
    rotate(m);
    write_line(m, seq++, &pending);     /* live */
    write_line(m, seq++, &pending);
    struct tailer *t = tail_new(m->dir, ID, &cfg, &ctr);
    char *old = xasprintf("%s.1", strrchr(m->live, '/') + 1);
    miss_name = old;
    miss_left = 1;
    assert_int_equal(tail_start(t, NULL), 0);
    miss_name = NULL;
    free(old);
    drain(t, m);
    for (unsigned i = 0; i < seq; i++)
        assert_int_equal(m->stored[i], 1);
    assert_int_equal(ctr.gaps, 0);
    tail_free(t);
    model_free(m);
}

/* Two listings in a row missed the saved file (the live name failed to
 * stat in both, as mid-rotation): taken for gone, the oldest file (.1,
 * older than the saved one) was read under the saved offsets, its lines
 * stored twice. Two listings that differ, or agree but lack the live
 * file, are no proof: the tailer waits (tail_start -1) and lists again at
 * the next step. */
static void
test_tail_restart_saved_file_missed_by_two_listings(void **state)
{
    struct model *m = model_new();
    struct shipper_counters ctr;
    struct tail_config cfg = { .max_record = 1 << 20, .chunk = 4096 };
    char *pending = NULL;
    unsigned seq = 0;

    (void)state;
    memset(&ctr, 0, sizeof(ctr));
    struct tail_pos saved = read_then_kill(m, &cfg, &ctr, &seq, &pending);
    struct tailer *t = tail_new(m->dir, ID, &cfg, &ctr);
    miss_name = strrchr(m->live, '/') + 1;
    miss_left = 2;
    (void)tail_start(t, &saved);
    drain(t, m);
    assert_int_equal(miss_left, 0);
    miss_name = NULL;
    for (unsigned i = 0; i < seq; i++)
        assert_int_equal(m->stored[i], 1);
    assert_int_equal(ctr.gaps, 0);
    tail_free(t);
    model_free(m);
}

/* The same, missed by six listings: still waits, never reads .1 again. */
static void
test_tail_restart_saved_file_missed_by_many_listings(void **state)
{
    struct model *m = model_new();
    struct shipper_counters ctr;
    struct tail_config cfg = { .max_record = 1 << 20, .chunk = 4096 };
    char *pending = NULL;
    unsigned seq = 0;

    (void)state;
    memset(&ctr, 0, sizeof(ctr));
    struct tail_pos saved = read_then_kill(m, &cfg, &ctr, &seq, &pending);
    struct tailer *t = tail_new(m->dir, ID, &cfg, &ctr);
    miss_name = strrchr(m->live, '/') + 1;
    miss_left = 6;
    assert_int_equal(tail_start(t, &saved), -1);
    assert_int_equal(tail_step(t, store, m), TAIL_NOFILE);
    drain(t, m);
    assert_int_equal(miss_left, 0);
    miss_name = NULL;
    for (unsigned i = 0; i < seq; i++)
        assert_int_equal(m->stored[i], 1);
    assert_int_equal(ctr.gaps, 0);
    tail_free(t);
    model_free(m);
}

/* Copies name to a new inode (the data root copied while the shipper was
 * stopped): the same bytes under another inode number. */
static void
copy_to_new_inode(const char *name)
{
    char *cmd = xasprintf("cp -p '%s' '%s.tmp' && mv '%s.tmp' '%s'", name,
                          name, name, name);

    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* No file has the saved inode, but one has the saved file's first bytes
 * (every file copied to a new inode): that is the saved file, resumed at
 * the saved position. Started at the oldest file instead, .1 and the
 * saved file were read again under the saved offsets: stored twice. */
static void
test_tail_restart_saved_file_found_by_fingerprint(void **state)
{
    struct model *m = model_new();
    struct shipper_counters ctr;
    struct tail_config cfg = { .max_record = 1 << 20, .chunk = 4096 };
    char *pending = NULL;
    unsigned seq = 0;

    (void)state;
    memset(&ctr, 0, sizeof(ctr));
    struct tail_pos saved = read_then_kill(m, &cfg, &ctr, &seq, &pending);
    char *older = xasprintf("%s.1", m->live);
    copy_to_new_inode(older);
    copy_to_new_inode(m->live);
    free(older);
    struct tailer *t = tail_new(m->dir, ID, &cfg, &ctr);
    assert_int_equal(tail_start(t, &saved), 0);
    drain(t, m);
    for (unsigned i = 0; i < seq; i++)
        assert_int_equal(m->stored[i], 1);
    assert_int_equal(ctr.gaps, 0);
    struct tail_loss loss;
    tail_loss_get(t, &loss);
    assert_int_equal(loss.events, 0);
    tail_free(t);
    model_free(m);
}

static void
run_seed(uint64_t seed)
{
    struct model *m = model_new();
    struct shipper_counters ctr;
    struct tail_config cfg = { .max_record = 1 << 20, .chunk = 97 };
    char *pending = NULL;

    memset(&ctr, 0, sizeof(ctr));
    m->rng = seed;
    m->max_size = 300 + rnd(m, 400);
    cfg.chunk = 40 + rnd(m, 200);

    struct tail_pos saved;
    int has_saved = 0;
    struct tailer *t = tail_new(m->dir, ID, &cfg, &ctr);
    unsigned seq = 0;
    for (int iter = 0; iter < 1000000 && seq < LINES_MAX - 1; iter++) {
        uint32_t op = rnd(m, 100);
        if (op < 45) {
            write_next(m, &seq, &pending);
        } else if (op < 85) {
            for (uint32_t i = rnd(m, 4); i-- > 0;)
                if (tail_step(t, store, m) != TAIL_DATA)
                    break;
        } else if (op < 90) {
            tail_watch(t);
        } else if (op < 92 && m->n_emit > 0) {
            /* kill: the last ack saved lags behind what was stored */
            size_t back = rnd(m, 30);
            if (back < m->n_emit) {
                saved = m->resumes[m->n_emit - 1 - back];
                has_saved = 1;
            }
            tail_free(t);
            m->n_emit = 0;
            for (uint32_t i = rnd(m, 40); i-- > 0 && seq < LINES_MAX - 1;)
                write_next(m, &seq, &pending);
            t = tail_new(m->dir, ID, &cfg, &ctr);
            (void)tail_start(t, has_saved ? &saved : NULL);
        }
    }
    tail_free(t);
    free(pending);
    model_free(m);
}

static void
test_tail_restart_never_stores_twice(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++)
        run_seed(seed);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_restart_saved_file_missed_by_listing),
        cmocka_unit_test(test_tail_fresh_start_oldest_missed_by_listing),
        cmocka_unit_test(test_tail_restart_saved_file_missed_by_two_listings),
        cmocka_unit_test(test_tail_restart_saved_file_missed_by_many_listings),
        cmocka_unit_test(test_tail_restart_saved_file_found_by_fingerprint),
        cmocka_unit_test(test_tail_restart_never_stores_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
