/* SPDX-License-Identifier: MIT */
/*
 * docker_test: config.v2.json parsing (good, partial and broken files),
 * container id recognition, and discovery over a temp Docker root driven
 * without an event loop: containers found with and without config, their
 * records emitted with the right source, resumed from the state store,
 * and forgotten (after their last line) when their directory goes.
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
#include <event2/event.h>

#include "common/wire.h"
#include "common/xmalloc.h"
#include "shipper/docker.h"

#define ID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222222222222222222222222222"

static void
test_docker_is_id(void **state)
{
    assert_true(docker_is_id(ID1));
    assert_false(docker_is_id("111"));
    assert_false(docker_is_id(ID1 "1"));
    assert_false(docker_is_id(
        "A111111111111111111111111111111111111111111111111111111111111111"));
    assert_false(docker_is_id(
        "g111111111111111111111111111111111111111111111111111111111111111"));
    assert_false(docker_is_id(""));
}

static void
test_docker_meta_full(void **state)
{
    const char *j = "{\"ID\":\"x\",\"Name\":\"/web\",\"Config\":{\"Image\":"
                    "\"nginx:1.25\",\"Labels\":{\"b\":\"2\",\"a\":\"1\"}},"
                    "\"State\":{\"Running\":true}}";
    struct docker_meta m;

    assert_int_equal(docker_meta_parse(j, strlen(j), &m), 0);
    assert_string_equal(m.name, "web");
    assert_string_equal(m.image, "nginx:1.25");
    assert_string_equal(m.labels, "{\"a\":\"1\",\"b\":\"2\"}");
    assert_null(m.multiline);
    docker_meta_fini(&m);
}

static void
test_docker_meta_multiline_label(void **state)
{
    const char *j = "{\"Name\":\"/api\",\"Config\":{\"Labels\":"
                    "{\"logq.multiline\":\"regex:^\\\\d\",\"x\":\"y\"}}}";
    const char *n = "{\"Name\":\"/api\",\"Config\":{\"Labels\":"
                    "{\"logq.multiline\":7}}}";
    struct docker_meta m;

    assert_int_equal(docker_meta_parse(j, strlen(j), &m), 0);
    assert_string_equal(m.multiline, "regex:^\\d");
    docker_meta_fini(&m);
    assert_int_equal(docker_meta_parse(n, strlen(n), &m), 0);
    assert_null(m.multiline);       /* not a string: no label */
    docker_meta_fini(&m);
}

static void
test_docker_meta_partial(void **state)
{
    const char *j = "{\"Name\":\"db\",\"Config\":{\"Labels\":null}}";
    struct docker_meta m;

    assert_int_equal(docker_meta_parse(j, strlen(j), &m), 0);
    assert_string_equal(m.name, "db");
    assert_string_equal(m.image, "");
    assert_string_equal(m.labels, "");
    docker_meta_fini(&m);
}

/* Names and images longer than the collector keeps (WIRE_MAX_NAME_LEN,
 * PROTOCOL.md "Source metadata") are cut on a UTF-8 boundary: a long but
 * legal image reference must not get every record of its container
 * refused. */
static void
test_docker_meta_long_cut(void **state)
{
    char img[400], name[420], j[1024];
    size_t n = (size_t)snprintf(img, sizeof(img), "%s",
                                "registry.example.com:5000/");
    while (n < 300)
        img[n++] = 'a';
    snprintf(img + n, sizeof(img) - n, ":1.0");
    n = 0;
    name[n++] = 'x';
    for (int i = 0; i < 200; i++) {
        name[n++] = (char)0xc3;
        name[n++] = (char)0xa9;         /* e acute: 255 is a lead byte */
    }
    name[n] = '\0';
    snprintf(j, sizeof(j), "{\"Name\":\"/%s\",\"Config\":{\"Image\":"
             "\"%s\"}}", name, img);
    struct docker_meta m;

    assert_int_equal(docker_meta_parse(j, strlen(j), &m), 0);
    assert_int_equal(strlen(m.image), WIRE_MAX_NAME_LEN);
    assert_memory_equal(m.image, img, WIRE_MAX_NAME_LEN);
    assert_int_equal(strlen(m.name), WIRE_MAX_NAME_LEN - 1);
    assert_memory_equal(m.name, name, WIRE_MAX_NAME_LEN - 1);
    docker_meta_fini(&m);
}

static void
test_docker_meta_broken(void **state)
{
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "{\"Name\":5}",
        "{\"Config\":{}}",
        "{\"Name\":\"/\"}",
        "{\"Name\":\"a\\u0000b\"}",
        "{\"Name\":\"a\",\"Name\":\"b\"}",
        "{\"Name\":\"web\"} trailing",
    };
    struct docker_meta m = { 0 };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(docker_meta_parse(bad[i], strlen(bad[i]), &m), -1);
        assert_null(m.name);
    }
}

/* ---- discovery over a temp root ---- */

struct fixture {
    char                    root[64];
    struct shipper_counters ctr;
    struct event_base      *base;
    struct state_store     *st;
    struct docker          *d;
    char                    names[16][80];
    char                    msgs[16][80];
    size_t                  n;
    int                     can_read;
    size_t                  read_limit;  /* 0, or can_read until n is */
    const struct multiline_rule *ml;    /* --multiline */
    size_t match_bytes;                 /* --multiline-match-bytes */
};

static void
fx_emit(void *arg, struct sender_source *src, const struct tail_record *r)
{
    struct fixture *f = arg;

    assert_true(f->n < 16);
    snprintf(f->names[f->n], sizeof(f->names[0]), "%s", src->name);
    snprintf(f->msgs[f->n], sizeof(f->msgs[0]), "%.*s", (int)r->msg_len,
             r->msg);
    f->n++;
}

static int
fx_can_read(void *arg)
{
    struct fixture *f = arg;

    return f->can_read && (f->read_limit == 0 || f->n < f->read_limit);
}

static void
put_file(struct fixture *f, const char *id, const char *name,
         const char *text)
{
    char *dir = xasprintf("%s/%s", f->root, id);
    char *path = xasprintf("%s/%s", dir, name);

    mkdir(dir, 0755);
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    free(path);
    free(dir);
}

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    snprintf(f->root, sizeof(f->root), "/tmp/docker_test.XXXXXX");
    assert_non_null(mkdtemp(f->root));
    f->base = event_base_new();
    char *sd = xasprintf("%s/state", f->root);
    f->st = state_open(sd, &f->ctr);
    free(sd);
    f->can_read = 1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char *cmd = xasprintf("rm -rf %s", f->root);

    docker_free(f->d);
    state_free(f->st);
    event_base_free(f->base);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static void
start_docker(struct fixture *f)
{
    struct docker_config cfg = {
        .root = f->root, .tail = { 1 << 20, 256 << 10, NULL },
        .rescan_ms = 1000, .max_gone = 64, .multiline = f->ml,
        .match_bytes = f->match_bytes,
    };
    struct docker_ops ops = { fx_emit, fx_can_read, f };

    f->d = docker_new(f->base, &cfg, &ops, f->st, &f->ctr);
    docker_rescan(f->d);
}

/* "<id>-json.log", in a static buffer (one call per statement). */
static const char *
log_name(const char *id)
{
    static char name[128];

    snprintf(name, sizeof(name), "%s-json.log", id);
    return name;
}

#define LINE(m) "{\"log\":\"" m "\\n\",\"stream\":\"stdout\",\"time\":" \
                "\"2026-01-02T03:04:05Z\"}\n"

static void
test_docker_discovery(void **state)
{
    struct fixture *f = *state;

    put_file(f, ID1, "config.v2.json", "{\"Name\":\"/web\",\"Config\":"
             "{\"Image\":\"nginx\"}}");
    put_file(f, ID1, ID1 "-json.log", LINE("from web"));
    put_file(f, ID2, ID2 "-json.log", LINE("no config"));
    put_file(f, "not-a-container", "x-json.log", LINE("ignored"));
    start_docker(f);
    assert_int_equal(docker_count(f->d), 2);
    assert_int_equal(f->ctr.configs_bad, 1);
    assert_int_equal(docker_poll(f->d, 0), 0);
    assert_int_equal(f->n, 2);
    for (size_t i = 0; i < 2; i++) {
        if (strcmp(f->msgs[i], "from web") == 0)
            assert_string_equal(f->names[i], "web");
        else
            assert_string_equal(f->names[i], "222222222222");
    }
    /* the config appears later: picked up by the next rescan */
    put_file(f, ID2, "config.v2.json", "{\"Name\":\"/late\"}");
    put_file(f, ID2, ID2 "-json.log", LINE("named"));
    docker_rescan(f->d);
    docker_poll(f->d, 0);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->names[2], "late");
}

/* The logq.multiline label picks a container's rule; a bad label counts
 * and falls back to the default (--multiline, here indent). */
static void
test_docker_multiline_by_label(void **state)
{
    struct fixture *f = *state;
    struct multiline_rule indent;
    char err[128];
    const char *trace = LINE("ERROR x") LINE("\\tat a.B(B.java:1)")
                        LINE("Caused by: y") LINE("INFO next");

    assert_int_equal(multiline_rule_parse("indent", &indent, err,
                                          sizeof(err)), 0);
    f->ml = &indent;
    put_file(f, ID1, "config.v2.json", "{\"Name\":\"/java\",\"Config\":"
             "{\"Labels\":{\"logq.multiline\":\"java\"}}}");
    put_file(f, ID1, ID1 "-json.log", trace);
    put_file(f, ID2, "config.v2.json", "{\"Name\":\"/bad\",\"Config\":"
             "{\"Labels\":{\"logq.multiline\":\"jav\"}}}");
    put_file(f, ID2, ID2 "-json.log", trace);
    start_docker(f);
    assert_int_equal(f->ctr.multiline_bad_rule, 1);
    docker_poll(f->d, 0);
    size_t n_java = 0, n_bad = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->names[i], "java") == 0) {
            n_java++;
            assert_string_equal(f->msgs[i], "ERROR x\n\tat a.B(B.java:1)\n"
                                "Caused by: y");
        } else {
            assert_string_equal(f->msgs[i], n_bad == 0 ?
                                "ERROR x\n\tat a.B(B.java:1)" :
                                "Caused by: y");
            n_bad++;
        }
    }
    assert_int_equal(n_java, 1);    /* "INFO next" waits for the timer */
    assert_int_equal(n_bad, 2);
    docker_free(f->d);
    f->d = NULL;
    multiline_rule_fini(&indent);
}

/* A label's regex rule sees --multiline-match-bytes of a line: with 64,
 * "ERROR" at byte 70 is past what it sees, so that line continues the
 * record before it (and is counted); with the default it starts one. */
static void
test_docker_multiline_label_match_bytes(void **state)
{
    struct fixture *f = *state;
    const char *log = LINE("ERROR one")
        LINE("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
             "xxxxxxxxxxxxxxxxxxxxERROR two")
        LINE("ERROR three");

    f->match_bytes = 64;
    put_file(f, ID1, "config.v2.json", "{\"Name\":\"/re\",\"Config\":"
             "{\"Labels\":{\"logq.multiline\":\"regex:ERROR\"}}}");
    put_file(f, ID1, ID1 "-json.log", log);
    start_docker(f);
    docker_poll(f->d, 0);
    assert_int_equal(f->n, 1);          /* "ERROR three" waits */
    assert_non_null(strstr(f->msgs[0], "ERROR one\nxxx"));
    assert_int_equal(f->ctr.multiline_lines_cut, 1);
    docker_free(f->d);
    f->d = NULL;
}

static void
test_docker_backpressure(void **state)
{
    struct fixture *f = *state;

    put_file(f, ID1, ID1 "-json.log", LINE("a") LINE("b"));
    f->can_read = 0;
    start_docker(f);
    assert_int_equal(docker_poll(f->d, 0), 1);
    assert_int_equal(f->n, 0);
    f->can_read = 1;
    assert_int_equal(docker_poll(f->d, 0), 0);
    assert_int_equal(f->n, 2);
}

#define ID3 "3333333333333333333333333333333333333333333333333333333333333333"

/* Reading paused by backpressure (the window, the compressor) goes on
 * where it stopped, not at the list's head again: a container that
 * keeps writing cannot hold back the ones after it in the list (each
 * pass here reads one container before reading pauses, and the one
 * read gets a new line after each pass: before, that one was read again
 * at every pass and the others never, their lines' latency growing with
 * the pauses). */
static void
test_docker_backpressure_round_robin(void **state)
{
    struct fixture *f = *state;
    const char *ids[3] = { ID1, ID2, ID3 };
    const char *names[3] = { "a", "b", "c" };
    int n_read[3] = { 0, 0, 0 };

    for (int i = 0; i < 3; i++) {
        char *cfg = xasprintf("{\"Name\":\"/%s\"}", names[i]);
        put_file(f, ids[i], "config.v2.json", cfg);
        free(cfg);
        put_file(f, ids[i], log_name(ids[i]), LINE("first"));
    }
    f->read_limit = 1;
    start_docker(f);
    for (int pass = 0; pass < 3; pass++) {
        size_t n0 = f->n;
        assert_int_equal(docker_poll(f->d, 0), 1);  /* paused: more */
        assert_int_equal(f->n, n0 + 1);
        int k = f->names[n0][0] - 'a';
        assert_true(k >= 0 && k < 3);
        n_read[k]++;
        put_file(f, ids[k], log_name(ids[k]), LINE("again"));
        f->read_limit++;
    }
    /* three passes, three containers: each read once */
    for (int i = 0; i < 3; i++)
        assert_int_equal(n_read[i], 1);
    f->read_limit = 0;
    assert_int_equal(docker_poll(f->d, 0), 0);
    assert_int_equal(f->n, 6);
}

static void
test_docker_resume_from_state(void **state)
{
    struct fixture *f = *state;
    size_t l1 = strlen(LINE("old"));

    put_file(f, ID1, ID1 "-json.log", LINE("old") LINE("new"));
    char *path = xasprintf("%s/%s/%s-json.log", f->root, ID1, ID1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    free(path);
    struct tail_pos p = { .dev = (uint64_t)st.st_dev,
                          .ino = (uint64_t)st.st_ino, .file_pos = l1,
                          .logical = l1 + 1000 };
    assert_int_equal(state_set(f->st, ID1, &p), 0);
    start_docker(f);
    docker_poll(f->d, 0);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->msgs[0], "new");
}

static void
test_docker_gone_read_then_forgotten(void **state)
{
    struct fixture *f = *state;

    put_file(f, ID1, ID1 "-json.log", LINE("first"));
    start_docker(f);
    docker_poll(f->d, 0);
    assert_int_equal(f->n, 1);
    put_file(f, ID1, ID1 "-json.log", LINE("last words"));
    char *cmd = xasprintf("rm -rf %s/%s", f->root, ID1);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    docker_rescan(f->d);
    assert_int_equal(docker_count(f->d), 1);     /* still open */
    docker_poll(f->d, 0);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->msgs[1], "last words");
    assert_int_equal(docker_count(f->d), 0);
}

/* An ACK that arrives after its container was deleted, read to the end
 * and forgotten must not put the container back in the position file
 * (entries would pile up until the store is full). */
static void
test_docker_commit_after_forget_dropped(void **state)
{
    struct fixture *f = *state;
    struct tail_pos p = { .dev = 1, .ino = 2, .file_pos = 3, .logical = 4 };

    put_file(f, ID1, ID1 "-json.log", LINE("a"));
    put_file(f, ID2, ID2 "-json.log", LINE("b"));
    start_docker(f);
    docker_poll(f->d, 0);
    docker_commit(f->d, ID1, &p);
    docker_commit(f->d, ID2, &p);
    assert_non_null(state_get(f->st, ID1));
    assert_int_equal(state_count(f->st), 2);
    char *cmd = xasprintf("rm -rf %s/%s", f->root, ID1);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    docker_rescan(f->d);
    docker_poll(f->d, 0);
    assert_int_equal(docker_count(f->d), 1);
    assert_null(state_get(f->st, ID1));
    /* the late ACK for the forgotten container */
    p.logical = 99;
    docker_commit(f->d, ID1, &p);
    assert_null(state_get(f->st, ID1));
    docker_commit(f->d, ID2, &p);
    assert_int_equal(state_get(f->st, ID2)->logical, 99);
    assert_int_equal(state_count(f->st), 1);
}

static void
test_docker_gone_cap(void **state)
{
    struct fixture *f = *state;

    put_file(f, ID1, ID1 "-json.log", LINE("x"));
    put_file(f, ID2, ID2 "-json.log", LINE("y"));
    struct docker_config cfg = {
        .root = f->root, .tail = { 1 << 20, 256 << 10 }, .rescan_ms = 1000,
        .max_gone = 1,
    };
    struct docker_ops ops = { fx_emit, fx_can_read, f };
    f->d = docker_new(f->base, &cfg, &ops, f->st, &f->ctr);
    docker_rescan(f->d);
    char *cmd = xasprintf("rm -rf %s/%s %s/%s", f->root, ID1, f->root, ID2);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    docker_rescan(f->d);
    assert_int_equal(docker_count(f->d), 1);
    assert_int_equal(f->ctr.deleted_open_dropped, 1);
}

#define ID3 "3333333333333333333333333333333333333333333333333333333333333333"

static void
put_symlink(struct fixture *f, const char *id, const char *name,
            const char *target)
{
    char *dir = xasprintf("%s/%s", f->root, id);
    char *path = xasprintf("%s/%s", dir, name);

    mkdir(dir, 0755);
    assert_int_equal(symlink(target, path), 0);
    free(path);
    free(dir);
}

/*
 * Symlinks planted as a live log, a rotated log or config.v2.json point at
 * files outside the container directory (a root-only file in real life):
 * nothing of theirs is shipped or used as metadata, and each is counted
 * once in files_refused however often it is scanned again.
 */
static void
test_docker_symlinks_refused(void **state)
{
    struct fixture *f = *state;
    char *secret = xasprintf("%s/secret", f->root);
    char *secret_cfg = xasprintf("%s/secret.json", f->root);
    FILE *fp = fopen(secret, "w");

    assert_non_null(fp);
    fputs(LINE("SECRET"), fp);
    fclose(fp);
    fp = fopen(secret_cfg, "w");
    assert_non_null(fp);
    fputs("{\"Name\":\"/stolen\"}", fp);
    fclose(fp);
    put_file(f, ID1, "config.v2.json", "{\"Name\":\"/one\"}");
    put_symlink(f, ID1, ID1 "-json.log", secret);
    put_symlink(f, ID2, "config.v2.json", secret_cfg);
    put_file(f, ID2, ID2 "-json.log", LINE("two"));
    put_file(f, ID3, "config.v2.json", "{\"Name\":\"/three\"}");
    put_symlink(f, ID3, ID3 "-json.log.1", secret);
    put_file(f, ID3, ID3 "-json.log", LINE("three"));
    start_docker(f);
    for (int i = 0; i < 3; i++) {
        docker_rescan(f->d);
        docker_poll(f->d, 0);
    }
    assert_int_equal(f->n, 2);
    for (size_t i = 0; i < f->n; i++) {
        assert_null(strstr(f->msgs[i], "SECRET"));
        assert_string_not_equal(f->names[i], "stolen");
        if (strcmp(f->msgs[i], "two") == 0)
            assert_string_equal(f->names[i], "222222222222");
        else
            assert_string_equal(f->msgs[i], "three");
    }
    assert_int_equal(f->ctr.files_refused, 3);
    assert_int_equal(f->ctr.configs_bad, 1);
    free(secret_cfg);
    free(secret);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_is_id),
        cmocka_unit_test(test_docker_meta_full),
        cmocka_unit_test(test_docker_meta_partial),
        cmocka_unit_test(test_docker_meta_multiline_label),
        cmocka_unit_test(test_docker_meta_long_cut),
        cmocka_unit_test(test_docker_meta_broken),
        cmocka_unit_test_setup_teardown(test_docker_multiline_by_label, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_docker_discovery, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_docker_multiline_label_match_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_backpressure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_docker_backpressure_round_robin,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_resume_from_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_docker_gone_read_then_forgotten,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_docker_commit_after_forget_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_symlinks_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_docker_gone_cap, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
