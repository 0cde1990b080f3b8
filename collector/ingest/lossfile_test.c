/* SPDX-License-Identifier: MIT */
/*
 * lossfile_test: the lost-data table saved in and loaded from a temp
 * directory: a missing file is an empty table, a saved one comes back
 * (mode 0600, no temp file left), a bad, oversized or symlinked file is a
 * clear error (never half loaded), saving replaces a planted symlink
 * instead of writing through it, and an unusable file set aside never
 * overwrites one kept before (at most LOSSFILE_MAX_BAD + 1 kept).
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

#include "collector/ingest/lossfile.h"
#include "collector/ingest/losses.h"
#include "common/buf.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "tests/support/testdir.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static int
setup(void **state)
{
    *state = testdir_file_new("lossfile_test", "losses");
    return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    return testdir_file_free(*state);
}

static void
write_file(const char *path, const char *s, size_t n)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fwrite(s, 1, n, fp), n);
    fclose(fp);
}

/* One METRICS frame from host reporting a loss of ID_A. */
static void
feed(struct losses *l, const char *host, double bytes)
{
    struct wire_metrics_enc e;
    struct wire_metrics m;
    struct buf out;
    const char *err = NULL;

    wire_metrics_enc_init(&e, 1 << 16);
    wire_metrics_enc_reset(&e);
    assert_int_equal(wire_metrics_enc_add(&e, "shipper.session", "", "", 5),
                     0);
    assert_int_equal(wire_metrics_enc_add(&e, "shipper.lost.bytes", "web",
                                          ID_A, bytes), 0);
    assert_int_equal(wire_metrics_enc_add(&e, "shipper.lost.events", "web",
                                          ID_A, 1), 0);
    buf_init(&out, 1 << 16);
    assert_int_equal(wire_metrics_enc_finish(&e, 1, 1000, &out, 0), 0);
    assert_int_equal(wire_metrics_decode(e.samples.data, e.samples.len, &m,
                                         &err), 0);
    losses_feed(l, host, &m);
    buf_fini(&out);
    wire_metrics_enc_fini(&e);
}

static void
bytes_cb(void *arg, const struct losses_row *r)
{
    *(uint64_t *)arg += r->bytes;
}

static uint64_t
total_bytes(const struct losses *l)
{
    uint64_t n = 0;

    losses_foreach(l, bytes_cb, &n);
    return n;
}

static void
test_lossfile_missing_is_empty(void **state)
{
    struct testdir_file *f = *state;
    struct losses *l = NULL;
    char *err = NULL;

    assert_int_equal(lossfile_load(f->path, 16, &l, &err), 0);
    assert_non_null(l);
    assert_int_equal(total_bytes(l), 0);
    losses_free(l);
}

static void
test_lossfile_save_load(void **state)
{
    struct testdir_file *f = *state;
    struct losses *l = losses_new(16), *m = NULL;
    struct stat st;
    char *err = NULL;

    feed(l, "node1", 1234);
    assert_int_equal(lossfile_save(l, 16, f->path, &err), 0);
    feed(l, "node1", 2000);
    assert_int_equal(lossfile_save(l, 16, f->path, &err), 0);  /* replaced */
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(lossfile_load(f->path, 16, &m, &err), 0);
    assert_int_equal(total_bytes(m), 2000);
    char *cmd = xasprintf("test $(ls %s | wc -l) = 1", f->dir);
    assert_int_equal(system(cmd), 0);       /* no temp file left */
    free(cmd);
    losses_free(l);
    losses_free(m);
}

static void
expect_load_error(const struct testdir_file *f, const char *want)
{
    struct losses *l = NULL;
    char *err = NULL;

    assert_int_equal(lossfile_load(f->path, 16, &l, &err), -1);
    assert_null(l);
    assert_non_null(err);
    assert_non_null(strstr(err, f->path));
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" does not say \"%s\"", err, want);
    free(err);
}

static void
test_lossfile_bad_files(void **state)
{
    struct testdir_file *f = *state;
    const char *bad = "logq-losses 1\nh node1 1\ns node1 zz 0 1 2 3 4 5 6 "
                      "web\n";

    write_file(f->path, bad, strlen(bad));
    expect_load_error(f, "line 3: bad container id");
    write_file(f->path, "garbage", 7);
    expect_load_error(f, "line 1: not a logq-losses 1 file");
    size_t big = losses_encoded_max(16) + 1;
    char *junk = xcalloc(1, big);
    memcpy(junk, "logq-losses 1\n", 14);
    write_file(f->path, junk, big);
    expect_load_error(f, "too large");
    free(junk);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(mkdir(f->path, 0700), 0);
    expect_load_error(f, "not a regular file");
    assert_int_equal(rmdir(f->path), 0);
}

/* A save that cannot complete (a directory in the file's place) says why
 * and where, and leaves no temp file behind (the collector retries). */
static void
test_lossfile_save_fails(void **state)
{
    struct testdir_file *f = *state;
    struct losses *l = losses_new(16);
    char *err = NULL;

    assert_int_equal(mkdir(f->path, 0700), 0);
    feed(l, "node1", 10);
    assert_int_equal(lossfile_save(l, 16, f->path, &err), -1);
    assert_non_null(err);
    assert_non_null(strstr(err, f->path));
    assert_non_null(strstr(err, "directory"));
    free(err);
    char *cmd = xasprintf("test \"$(ls %s)\" = losses", f->dir);
    assert_int_equal(system(cmd), 0);       /* no temp file left */
    free(cmd);
    assert_int_equal(rmdir(f->path), 0);
    losses_free(l);
}

/* A symlink at the path is neither read nor written through. */
static void
test_lossfile_symlink(void **state)
{
    struct testdir_file *f = *state;
    char *target = xasprintf("%s/target", f->dir);
    struct losses *l = losses_new(16);
    struct stat st;
    char *err = NULL;

    write_file(target, "logq-losses 1\n", 14);
    assert_int_equal(symlink(target, f->path), 0);
    expect_load_error(f, "symbolic links");
    feed(l, "node1", 10);
    assert_int_equal(lossfile_save(l, 16, f->path, &err), 0);
    assert_int_equal(lstat(f->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 14);       /* not written through */
    losses_free(l);
    free(target);
}

static char *
read_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *s = xcalloc(1, 256);

    assert_non_null(fp);
    assert_true(fread(s, 1, 255, fp) > 0);
    fclose(fp);
    return s;
}

/* Unusable files (a directory too) go to .bad, .bad.1 ... .bad.3, each
 * kept as it was; then they are not kept, and the path is left as it is
 * (the next save replaces it). */
static void
test_lossfile_set_aside(void **state)
{
    struct testdir_file *f = *state;
    const char *names[] = { "bad", "bad.1", "bad.2", "bad.3" };
    char *kept = NULL, *err = NULL;

    for (int i = 0; i <= LOSSFILE_MAX_BAD; i++) {
        char text[32];
        snprintf(text, sizeof(text), "garbage %d", i);
        write_file(f->path, text, strlen(text));
        assert_int_equal(lossfile_set_aside(f->path, &kept, &err), 0);
        char *want = xasprintf("%s.%s", f->path, names[i]);
        assert_string_equal(kept, want);
        free(kept);
        free(want);
        assert_int_equal(access(f->path, F_OK), -1);
    }
    write_file(f->path, "garbage 4", 9);
    assert_int_equal(lossfile_set_aside(f->path, &kept, &err), -1);
    assert_non_null(strstr(err, "not kept"));
    free(err);
    for (int i = 0; i <= LOSSFILE_MAX_BAD; i++) {
        char *p = xasprintf("%s.%s", f->path, names[i]);
        char *text = read_text(p), want[32];
        snprintf(want, sizeof(want), "garbage %d", i);
        assert_string_equal(text, want);     /* never overwritten */
        free(text);
        free(p);
    }
    char *text = read_text(f->path);
    assert_string_equal(text, "garbage 4");
    free(text);
    /* a directory in the file's place is set aside the same way */
    char *cmd = xasprintf("rm -f %s.bad*", f->path);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(lossfile_set_aside(f->path, &kept, &err), 0);
    free(kept);
    assert_int_equal(access(f->path, F_OK), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lossfile_missing_is_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lossfile_save_load, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lossfile_bad_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lossfile_save_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lossfile_symlink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lossfile_set_aside, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
