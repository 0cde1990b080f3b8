/* SPDX-License-Identifier: MIT */
/*
 * state_test: position store round trips through its file, rejects corrupt
 * files (kept aside, store starts empty and counts it), validates ids and
 * leaves no temp file behind; encoded on the caller's thread and written on
 * a writer thread (filesave with state_write_file, as main.c does), a
 * failed write left for the next one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/filesave.h"
#include "common/xmalloc.h"
#include "shipper/state.h"

#define ID1 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID2 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct fixture {
    char                    dir[64];
    struct shipper_counters ctr;
};

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/state_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char *cmd = xasprintf("rm -rf %s", f->dir);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    free(path);
}

static int
file_exists(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    int rc = access(path, F_OK) == 0;

    free(path);
    return rc;
}

static void
test_state_save_load_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct state_store *st = state_open(f->dir, &f->ctr);
    struct tail_pos p1 = { .dev = 2049, .ino = 1234567, .file_pos = 100,
                           .logical = 5000, .fp_len = 64,
                           .fp = 0xdeadbeef };
    struct tail_pos p2 = { .dev = 1, .ino = UINT64_MAX, .file_pos = 0,
                           .logical = UINT64_MAX };

    assert_non_null(st);
    assert_int_equal(state_count(st), 0);
    assert_false(state_is_dirty(st));
    assert_int_equal(state_set(st, ID1, &p1), 0);
    assert_int_equal(state_set(st, ID2, &p2), 0);
    p1.logical = 6000;
    assert_int_equal(state_set(st, ID1, &p1), 0);
    assert_true(state_is_dirty(st));
    assert_int_equal(state_save(st), 0);
    assert_false(state_is_dirty(st));
    assert_false(file_exists(f->dir, "positions.tmp"));
    state_free(st);

    st = state_open(f->dir, &f->ctr);
    assert_non_null(st);
    assert_int_equal(state_count(st), 2);
    const struct tail_pos *g = state_get(st, ID1);
    assert_non_null(g);
    assert_int_equal(g->logical, 6000);
    assert_int_equal(g->ino, 1234567);
    assert_int_equal(g->dev, 2049);
    assert_int_equal(g->file_pos, 100);
    assert_int_equal(g->fp_len, 64);
    assert_int_equal(g->fp, 0xdeadbeef);
    g = state_get(st, ID2);
    assert_non_null(g);
    assert_int_equal(g->ino, UINT64_MAX);
    assert_false(state_is_dirty(st));
    state_remove(st, ID1);
    assert_null(state_get(st, ID1));
    assert_int_equal(state_count(st), 1);
    assert_true(state_is_dirty(st));
    state_free(st);
    assert_int_equal(f->ctr.state_errors, 0);
}

static void
test_state_missing_file_is_empty(void **state)
{
    struct fixture *f = *state;
    char *sub = xasprintf("%s/new/", f->dir);
    struct state_store *st = state_open(sub, &f->ctr);

    assert_non_null(st);
    assert_int_equal(state_count(st), 0);
    assert_int_equal(f->ctr.state_errors, 0);
    state_free(st);
    free(sub);
}

static void
test_state_corrupt_file_kept_aside(void **state)
{
    struct fixture *f = *state;

    write_file(f->dir, "positions", "logq-shipper-state 1\n" ID1
               " 1 2 3 4\n" ID2 " 1 2 x 4\n");
    struct state_store *st = state_open(f->dir, &f->ctr);
    assert_non_null(st);
    assert_int_equal(state_count(st), 0);
    assert_int_equal(f->ctr.state_errors, 1);
    assert_true(file_exists(f->dir, "positions.corrupt"));
    assert_true(state_is_dirty(st));
    state_free(st);
}

static void
test_state_parse_rejects(void **state)
{
    struct fixture *f = *state;
    struct state_store *st = state_open(f->dir, &f->ctr);
    static const char *const bad[] = {
        "",
        "logq-shipper-state 3\n",
        "logq-shipper-state 1",                         /* no newline */
        "logq-shipper-state 1\n" ID1 " 1 2 3 4",        /* truncated */
        "logq-shipper-state 1\n" ID1 " 1 2 3\n",        /* missing field */
        "logq-shipper-state 1\n" ID1 " 1 2 3 4 5\n",    /* extra field */
        "logq-shipper-state 1\n" ID1 " 1 2 3 -4\n",
        "logq-shipper-state 1\n" ID1 " 1 2 3 99999999999999999999\n",
        "logq-shipper-state 1\n" ID1 " 1 2 9 4\n",      /* pos > logical */
        "logq-shipper-state 1\nxyz! 1 2 3 4\n",         /* bad id */
        "logq-shipper-state 1\n" ID1 " 1 2 3 4\n" ID1 " 1 2 3 4\n",
        "logq-shipper-state 1\n" ID1 "  1 2 3 4\n",
        "logq-shipper-state 1\n" ID1 " 1 2 3 4 64 5\n", /* v2 line in v1 */
        "logq-shipper-state 2\n" ID1 " 1 2 3 4\n",      /* v1 line in v2 */
        "logq-shipper-state 2\n" ID1 " 1 2 3 4 4097 5\n", /* > TAIL_FP_LEN */
        "logq-shipper-state 2\n" ID1 " 1 2 3 4 64 4294967296\n",
    };

    assert_non_null(st);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(state_parse(st, bad[i], strlen(bad[i])), -1);
        assert_int_equal(state_count(st), 0);
    }
    const char *ok = "logq-shipper-state 1\n" ID1 " 1 2 3 4\n";
    assert_int_equal(state_parse(st, ok, strlen(ok)), 0);
    assert_int_equal(state_count(st), 1);
    assert_int_equal(state_get(st, ID1)->fp_len, 0);
    const char *ok2 = "logq-shipper-state 2\n" ID1 " 1 2 3 4 64 4294967295\n";
    assert_int_equal(state_parse(st, ok2, strlen(ok2)), 0);
    assert_int_equal(state_get(st, ID1)->fp_len, 64);
    assert_int_equal(state_get(st, ID1)->fp, 4294967295u);
    state_free(st);
}

static void
test_state_set_rejects_bad_id(void **state)
{
    struct fixture *f = *state;
    struct state_store *st = state_open(f->dir, &f->ctr);
    struct tail_pos p = { 0 };

    assert_non_null(st);
    assert_int_equal(state_set(st, "", &p), -1);
    assert_int_equal(state_set(st, "../etc", &p), -1);
    assert_int_equal(state_set(st, "ab cd", &p), -1);
    assert_int_equal(state_count(st), 0);
    state_free(st);
}

static void
test_state_unwritable_dir(void **state)
{
    struct fixture *f = *state;
    char *file = xasprintf("%s/plainfile", f->dir);

    write_file(f->dir, "plainfile", "x");
    assert_null(state_open(file, &f->ctr));
    free(file);
}

/* main.c's path: the entries encoded here (the dirty flag cleared), the
 * file written on the writer thread, read back by a new store; a write
 * that fails (the path is a non-empty directory) reports its error and
 * the next one works. */
static void
test_state_written_off_thread(void **state)
{
    struct fixture *f = *state;
    struct state_store *st = state_open(f->dir, &f->ctr);
    struct tail_pos p1 = { .dev = 7, .ino = 8, .file_pos = 9,
                           .logical = 10, .fp_len = 4, .fp = 11 };
    char *err = NULL;
    struct filesave *fs = filesave_new(state_path(st), "state-test",
                                       state_write_file, &err);
    struct filesave_result r;
    size_t len;

    assert_non_null(fs);
    assert_int_equal(state_set(st, ID1, &p1), 0);
    char *text = state_encode(st, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_false(state_is_dirty(st));
    assert_false(file_exists(f->dir, "positions"));
    filesave_put(fs, text, len, 1);
    filesave_drain(fs);
    filesave_poll(fs, &r);
    assert_int_equal(r.has_saved, 1);
    assert_int_equal(r.n_failed, 0);
    assert_false(file_exists(f->dir, "positions.tmp"));
    struct state_store *back = state_open(f->dir, &f->ctr);
    assert_non_null(back);
    assert_int_equal(state_count(back), 1);
    assert_int_equal(state_get(back, ID1)->logical, 10);
    assert_int_equal(state_get(back, ID1)->fp, 11);
    state_free(back);

    char *path = xasprintf("%s/positions", f->dir);
    char *inner = xasprintf("%s/positions/x", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(mkdir(inner, 0700), 0);
    text = state_encode(st, &len);
    filesave_put(fs, text, len, 2);
    filesave_drain(fs);
    filesave_poll(fs, &r);
    assert_int_equal(r.n_failed, 1);
    assert_int_equal(r.has_saved, 0);
    assert_non_null(r.err);
    assert_non_null(strstr(r.err, path));
    free(r.err);
    assert_int_equal(rmdir(inner), 0);
    assert_int_equal(rmdir(path), 0);
    p1.logical = 20;
    assert_int_equal(state_set(st, ID1, &p1), 0);
    text = state_encode(st, &len);
    filesave_put(fs, text, len, 3);
    filesave_free(fs);              /* writes what is queued first */
    back = state_open(f->dir, &f->ctr);
    assert_non_null(back);
    assert_int_equal(state_get(back, ID1)->logical, 20);
    state_free(back);
    free(inner);
    free(path);
    state_free(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_written_off_thread, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_save_load_roundtrip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_missing_file_is_empty,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_corrupt_file_kept_aside,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_parse_rejects, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_set_rejects_bad_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_unwritable_dir, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
