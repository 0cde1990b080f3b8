/* SPDX-License-Identifier: MIT */
/*
 * tail_multiline_test: the tailer with a multi-line rule (README.md
 * "Multi-line records") over a temp directory laid out like a Docker
 * container dir: stdout and stderr grouped separately, a trace cut by
 * rotation, the 1 s timer (fake clock) and the Docker-time gap, the record
 * cap on the joined record, 16 KiB partials inside a trace, and the
 * position rule (no resume point past an unfinished trace; a restart there
 * re-reads it whole).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/record.h"
#include "common/xmalloc.h"
#include "shipper/multiline.h"
#include "shipper/tail.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MAX_RECS 64
#define SEC 1000000000LL

struct rec {
    uint8_t         stream;
    uint8_t         flags;
    uint64_t        offset;
    char           *msg;
    struct tail_pos resume;
};

struct fixture {
    char                    dir[64];
    char                   *live;
    struct shipper_counters ctr;
    struct tail_config      cfg;
    struct multiline_rule   rule;
    struct tailer          *t;
    struct rec              recs[MAX_RECS];
    size_t                  n;
    uint64_t                written;
};

static int64_t fake_now;

static int64_t
fake_clock(void)
{
    return fake_now;
}

static void
collect(void *arg, const struct tail_record *r)
{
    struct fixture *f = arg;

    assert_true(f->n < MAX_RECS);
    struct rec *x = &f->recs[f->n++];
    x->stream = r->stream;
    x->flags = r->flags;
    x->offset = r->offset;
    x->msg = xstrndup(r->msg, r->msg_len);
    x->resume = r->resume;
}

static int
setup_rule(void **state, const char *spec)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char err[256];

    snprintf(f->dir, sizeof(f->dir), "/tmp/tail_ml_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->live = xasprintf("%s/%s-json.log", f->dir, ID);
    f->cfg.max_record = 1 << 20;
    f->cfg.chunk = 256 << 10;
    f->cfg.clock_ns = fake_clock;
    fake_now = 1000 * SEC;
    assert_int_equal(multiline_rule_parse(spec, &f->rule, err, sizeof(err)),
                     0);
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return setup_rule(state, "java");
}

static int
setup_python(void **state)
{
    return setup_rule(state, "python");
}

static int
setup_indent(void **state)
{
    return setup_rule(state, "indent");
}

static int
setup_regex(void **state)
{
    return setup_rule(state, "regex:(a|b)*a(a|b){18}");
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char *cmd = xasprintf("rm -rf %s", f->dir);

    tail_free(f->t);
    multiline_rule_fini(&f->rule);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    for (size_t i = 0; i < f->n; i++)
        free(f->recs[i].msg);
    free(f->live);
    free(f);
    return 0;
}

static void
new_tailer(struct fixture *f, const struct tail_pos *resume)
{
    tail_free(f->t);
    f->t = tail_new(f->dir, ID, &f->cfg, &f->ctr);
    tail_multiline_set(f->t, &f->rule);
    assert_int_equal(tail_start(f->t, resume), 0);
}

/* Appends one json-file line written sec seconds into the minute (Docker
 * time); returns the logical offset past it. */
static uint64_t
put(struct fixture *f, const char *stream, const char *msg, int partial,
    double sec)
{
    char *line = xasprintf("{\"log\":\"%s%s\",\"stream\":\"%s\",\"time\":"
                           "\"2026-01-02T03:04:%012.9fZ\"}\n", msg,
                           partial ? "" : "\\n", stream, sec);
    FILE *fp = fopen(f->live, "a");

    assert_non_null(fp);
    assert_int_equal(fwrite(line, 1, strlen(line), fp), strlen(line));
    fclose(fp);
    f->written += strlen(line);
    free(line);
    return f->written;
}

static void
drain(struct fixture *f)
{
    int steps = 0;

    while (tail_step(f->t, collect, f) == TAIL_DATA)
        assert_true(++steps < 100000);
}

static void
check_offsets_increase(const struct fixture *f)
{
    for (size_t i = 1; i < f->n; i++)
        assert_true(f->recs[i].offset > f->recs[i - 1].offset);
}

/* ---- tests ---- */

static void
test_tml_streams_grouped_apart(void **state)
{
    struct fixture *f = *state;

    put(f, "stdout", "ERROR boom", 0, 1);
    uint64_t err_start = put(f, "stdout", "\\tat a.B.c(B.java:1)", 0, 1);
    uint64_t err_end = put(f, "stderr", "warn on stderr", 0, 1);
    uint64_t trace_end = put(f, "stdout", "\\tat a.B.d(B.java:2)", 0, 1);
    uint64_t next_end = put(f, "stdout", "INFO next", 0, 1);
    new_tailer(f, NULL);
    drain(f);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->recs[0].msg, "ERROR boom\n\tat a.B.c(B.java:1)\n"
                        "\tat a.B.d(B.java:2)");
    assert_int_equal(f->recs[0].stream, LOGREC_STDOUT);
    assert_int_equal(f->recs[0].offset, trace_end);
    /* stderr's line and "INFO next" are still open: resume before both */
    assert_int_equal(f->recs[0].resume.logical, err_start);
    assert_int_equal(tail_expire(f->t, collect, f), 1);  /* not 1 s yet */
    assert_int_equal(f->n, 1);
    fake_now += SEC;
    assert_int_equal(tail_expire(f->t, collect, f), 0);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->recs[1].msg, "warn on stderr");
    assert_int_equal(f->recs[1].stream, LOGREC_STDERR);
    /* its line ends before the trace, which was sent: offset + 1 */
    assert_true(err_end < trace_end);
    assert_int_equal(f->recs[1].offset, trace_end + 1);
    assert_string_equal(f->recs[2].msg, "INFO next");
    assert_int_equal(f->recs[2].offset, next_end);
    assert_int_equal(f->recs[2].resume.logical, next_end);
    check_offsets_increase(f);
}

/* Kill -9 mid-trace: the resume point of everything sent so far is the
 * trace's first byte, and a restart there sends the trace whole. */
static void
test_tml_restart_mid_group_rereads_it(void **state)
{
    struct fixture *f = *state;

    uint64_t before_end = put(f, "stdout", "INFO before", 0, 1);
    put(f, "stdout", "java.lang.IllegalStateException: boom", 0, 1);
    put(f, "stdout", "\\tat a.B.c(B.java:1)", 0, 1);
    new_tailer(f, NULL);
    drain(f);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->recs[0].msg, "INFO before");
    /* not past the exception line that starts the open trace */
    assert_int_equal(f->recs[0].resume.logical, before_end);
    struct tail_pos now;
    tail_resume_get(f->t, &now);
    assert_int_equal(now.logical, before_end);
    struct tail_pos saved = f->recs[0].resume;

    uint64_t trace_end = put(f, "stdout", "\\t... 3 more", 0, 1);
    put(f, "stdout", "INFO after", 0, 1);
    new_tailer(f, &saved);      /* the kill -9: state had `saved` */
    drain(f);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->recs[1].msg, "java.lang.IllegalStateException: "
                        "boom\n\tat a.B.c(B.java:1)\n\t... 3 more");
    assert_int_equal(f->recs[1].offset, trace_end);
    assert_int_equal(f->recs[1].resume.logical, trace_end);
}

static void
docker_rotate(struct fixture *f)
{
    char *to = xasprintf("%s.1", f->live);

    assert_int_equal(rename(f->live, to), 0);
    free(to);
    FILE *fp = fopen(f->live, "a");
    assert_non_null(fp);
    fclose(fp);
}

/* A trace cut by rotation is one record; a restart from a resume point
 * taken mid-trace (in the rotated file) re-reads it whole. */
static void
test_tml_group_cut_by_rotation(void **state)
{
    struct fixture *f = *state;

    put(f, "stdout", "ERROR in .1", 0, 1);
    put(f, "stdout", "\\tat a.B.c(B.java:1)", 0, 1);
    new_tailer(f, NULL);
    drain(f);
    assert_int_equal(f->n, 0);
    struct tail_pos mid;
    tail_resume_get(f->t, &mid);
    assert_int_equal(mid.logical, 0);
    docker_rotate(f);
    uint64_t trace_end = put(f, "stdout", "\\tat a.B.d(B.java:2)", 0, 1);
    put(f, "stdout", "INFO live", 0, 1);
    drain(f);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->recs[0].msg, "ERROR in .1\n\tat a.B.c(B.java:1)\n"
                        "\tat a.B.d(B.java:2)");
    assert_int_equal(f->recs[0].offset, trace_end);
    assert_int_equal(f->ctr.rotations, 1);

    new_tailer(f, &mid);        /* restart inside the rotated file */
    drain(f);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->recs[1].msg, f->recs[0].msg);
    assert_int_equal(f->recs[1].offset, trace_end);
}

/* The 1 s timer ends a trace (a late frame is a record of its own), and
 * on a re-read the Docker times split it the same way. */
static void
test_tml_one_second_flush(void **state)
{
    struct fixture *f = *state;

    put(f, "stdout", "ERROR slow", 0, 1);
    uint64_t first_end = put(f, "stdout", "\\tat a.B.c(B.java:1)", 0, 1.2);
    new_tailer(f, NULL);
    drain(f);
    fake_now += SEC - 1;
    assert_int_equal(tail_expire(f->t, collect, f), 1);
    assert_int_equal(f->n, 0);
    fake_now += 1;
    assert_int_equal(tail_expire(f->t, collect, f), 0);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->recs[0].msg, "ERROR slow\n\tat a.B.c(B.java:1)");
    assert_int_equal(f->recs[0].offset, first_end);
    put(f, "stdout", "\\tat a.B.late(B.java:9)", 0, 2.3);
    drain(f);
    fake_now += SEC;
    assert_int_equal(tail_expire(f->t, collect, f), 0);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->recs[1].msg, "\tat a.B.late(B.java:9)");

    new_tailer(f, NULL);        /* a re-read from 0: same records */
    drain(f);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->recs[2].msg, f->recs[0].msg);
    fake_now += SEC;
    tail_expire(f->t, collect, f);
    assert_int_equal(f->n, 4);
    assert_string_equal(f->recs[3].msg, f->recs[1].msg);
    /* exactly 1 s apart is not a gap */
    put(f, "stdout", "ERROR at 5", 0, 5);
    put(f, "stdout", "\\tat a.B.c(B.java:1)", 0, 6);
    put(f, "stdout", "INFO end", 0, 6);
    drain(f);
    assert_int_equal(f->n, 5);
    assert_string_equal(f->recs[4].msg, "ERROR at 5\n\tat a.B.c(B.java:1)");
}

/* The cap applies to the joined record: cut, marked, counted once. */
static void
test_tml_cap_on_joined_record(void **state)
{
    struct fixture *f = *state;
    char frame[80];

    f->cfg.max_record = 1024;
    put(f, "stdout", "ERROR deep", 0, 1);
    for (int i = 0; i < 40; i++) {
        snprintf(frame, sizeof(frame), "\\tat a.B.frame%02d(B.java:%d)", i,
                 i);
        put(f, "stdout", frame, 0, 1);
    }
    put(f, "stdout", "INFO fine", 0, 1);
    new_tailer(f, NULL);
    drain(f);
    fake_now += SEC;
    tail_expire(f->t, collect, f);
    assert_int_equal(f->n, 2);
    /* 10 + 40 joins of "\n\tat a.B.frameNN(B.java:N)": 1080 > 1024 */
    const char *m = f->recs[0].msg;
    assert_true(f->recs[0].flags & LOGREC_F_TRUNCATED);
    assert_int_equal(strncmp(m, "ERROR deep\n\tat a.B.frame00(", 27), 0);
    const char *mark = strstr(m, " [logq: truncated ");
    assert_non_null(mark);
    assert_int_equal(mark - m, 1024);
    assert_string_equal(mark, " [logq: truncated 56 bytes]");
    assert_int_equal(f->ctr.records_truncated, 1);
    assert_string_equal(f->recs[1].msg, "INFO fine");
    assert_int_equal(f->recs[1].flags & LOGREC_F_TRUNCATED, 0);
}

/* Docker's 16 KiB partials are joined first: the rule sees whole lines. */
static void
test_tml_partials_inside_trace(void **state)
{
    struct fixture *f = *state;
    char *piece = xmalloc(16385);

    memset(piece, 'x', 16384);
    piece[16384] = '\0';
    put(f, "stdout", "ERROR big", 0, 1);
    put(f, "stdout", "\\tat a.B.c(", 1, 1);     /* "\tat ..." split */
    put(f, "stdout", piece, 1, 1);
    put(f, "stdout", ")", 0, 1);
    put(f, "stdout", "INFO next", 0, 1);
    new_tailer(f, NULL);
    drain(f);
    assert_int_equal(f->n, 1);
    assert_int_equal(strlen(f->recs[0].msg), 9 + 1 + 10 + 16384 + 1);
    assert_int_equal(strncmp(f->recs[0].msg, "ERROR big\n\tat a.B.c(xxx", 23),
                     0);
    free(piece);
}

/* Lines nothing can continue (python outside a traceback) go at once; the
 * container gone flushes the open traceback. */
static void
test_tml_python_single_and_flush(void **state)
{
    struct fixture *f = *state;

    put(f, "stderr", "INFO:app:start", 0, 1);
    put(f, "stderr", "Traceback (most recent call last):", 0, 1);
    put(f, "stderr", "  File \\\"/app/m.py\\\", line 1, in <module>", 0, 1);
    uint64_t end = put(f, "stderr", "KeyError: 'id'", 0, 1);
    new_tailer(f, NULL);
    drain(f);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->recs[0].msg, "INFO:app:start");
    tail_flush(f->t, collect, f);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->recs[1].msg, "Traceback (most recent call last):"
                        "\n  File \"/app/m.py\", line 1, in <module>\n"
                        "KeyError: 'id'");
    assert_int_equal(f->recs[1].offset, end);
    assert_int_equal(f->recs[1].stream, LOGREC_STDERR);
}

/* A traceback right after another: the second's state survives the first
 * being sent (regression: it was reset with it, and its lines went out one
 * by one). */
static void
test_tml_python_back_to_back(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 2; i++) {
        put(f, "stderr", "Traceback (most recent call last):", 0, 1);
        put(f, "stderr", "  File \\\"/app/m.py\\\", line 1, in <module>", 0, 1);
        put(f, "stderr", "KeyError: 'id'", 0, 1);
    }
    put(f, "stderr", "INFO:app:done", 0, 1);
    new_tailer(f, NULL);
    drain(f);
    assert_int_equal(f->n, 3);
    for (int i = 0; i < 2; i++)
        assert_string_equal(f->recs[i].msg, "Traceback (most recent call "
                            "last):\n  File \"/app/m.py\", line 1, in "
                            "<module>\nKeyError: 'id'");
    assert_string_equal(f->recs[2].msg, "INFO:app:done");
}

/* A record ends at MULTILINE_MAX_LINES lines (the resume point cannot lag
 * behind an endless group); the next line starts one. */
static void
test_tml_max_lines(void **state)
{
    struct fixture *f = *state;

    put(f, "stdout", "head", 0, 1);
    for (int i = 1; i <= MULTILINE_MAX_LINES; i++)
        put(f, "stdout", " c", 0, 1);
    new_tailer(f, NULL);
    drain(f);
    assert_int_equal(f->n, 1);
    size_t n_lines = 1;
    for (const char *p = f->recs[0].msg; *p != '\0'; p++)
        n_lines += *p == '\n';
    assert_int_equal(n_lines, MULTILINE_MAX_LINES);
    fake_now += SEC;
    tail_expire(f->t, collect, f);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->recs[1].msg, " c");
    check_offsets_increase(f);
}

/* The regex's recompiles (multiline.c: once 2^18 bytes times its 60
 * nodes were matched, every 36 lines of 121 bytes) are counted in the
 * shipper's counters (multiline_recompiles, logged with the others). */
static void
test_tml_regex_recompiles_counted(void **state)
{
    struct fixture *f = *state;
    char msg[122];
    uint64_t rng = 7;

    for (int i = 0; i < 60; i++) {       /* under MAX_RECS records */
        for (size_t j = 0; j < sizeof(msg) - 1; j++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            msg[j] = (rng >> 40) & 1 ? 'a' : 'b';
        }
        msg[sizeof(msg) - 1] = '\0';
        put(f, "stdout", msg, 0, 1);
    }
    new_tailer(f, NULL);
    drain(f);
    assert_int_equal(multiline_rule_recompiles(&f->rule), 1);
    assert_int_equal(f->ctr.multiline_recompiles, 1);
}

/* A line longer than what the regex sees (multiline.c: 65536 / its 60
 * nodes = 1092 bytes) is counted in multiline_lines_cut, once. */
static void
test_tml_regex_lines_cut_counted(void **state)
{
    struct fixture *f = *state;
    char msg[3001];

    memset(msg, 'b', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    put(f, "stdout", msg, 0, 1);
    put(f, "stdout", "short", 0, 1);
    new_tailer(f, NULL);
    drain(f);
    assert_int_equal(multiline_rule_lines_cut(&f->rule), 1);
    assert_int_equal(f->ctr.multiline_lines_cut, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tml_streams_grouped_apart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tml_regex_recompiles_counted,
                                        setup_regex, teardown),
        cmocka_unit_test_setup_teardown(test_tml_regex_lines_cut_counted,
                                        setup_regex, teardown),
        cmocka_unit_test_setup_teardown(test_tml_restart_mid_group_rereads_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tml_group_cut_by_rotation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tml_one_second_flush, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tml_cap_on_joined_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tml_partials_inside_trace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tml_python_single_and_flush,
                                        setup_python, teardown),
        cmocka_unit_test_setup_teardown(test_tml_python_back_to_back,
                                        setup_python, teardown),
        cmocka_unit_test_setup_teardown(test_tml_max_lines, setup_indent,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
