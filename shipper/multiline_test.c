/* SPDX-License-Identifier: MIT */
/*
 * multiline_test: every rule on whole stack traces as Java (with logback's
 * "common frames omitted" and a suppressed exception), Python 3 (a chained
 * traceback) and Go (a nil-pointer panic with two goroutines) print them,
 * checked against the records a reader would want; rule parsing and bad
 * rules; the group's cap on a UTF-8 boundary. The fixtures are written for
 * this test in the exact formats of those runtimes. With $LOGQ_CORPUS (the
 * real log samples beside the tree, tests/run-unit.sh; "none" skips it):
 * no built-in rule joins any of their lines (none is a trace), and python
 * and go send each at once.
 */
#include <dirent.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "shipper/multiline.h"

#define MAX_LINES 64

static const char *const java_trace[] = {
    "2026-12-03 15:40:01.123 ERROR [main] c.e.OrderService - order failed",
    "java.lang.IllegalStateException: order 42 has no lines",
    "\tat com.example.OrderService.total(OrderService.java:88)",
    "\tat com.example.OrderService.checkout(OrderService.java:51)",
    "\tat com.example.Main.main(Main.java:12)",
    "Caused by: java.lang.NullPointerException: Cannot invoke "
    "\"java.util.List.size()\" because \"lines\" is null",
    "\tat com.example.Order.count(Order.java:30)",
    "\t... 3 more",
    "\tSuppressed: java.io.IOException: close failed",
    "\t\tat com.example.Db.close(Db.java:7)",
    "\t\t... 4 common frames omitted",
    "2026-12-03 15:40:01.200 INFO  [main] c.e.Main - at the end",
    "    an indented line that is no frame",
    NULL,
};
/* Index of each record's first line, then the end (line count). */
static const int java_want[] = { 0, 1, 11, 12, 13 };

static const char *const python_trace[] = {
    "INFO:app:starting",
    "Traceback (most recent call last):",
    "  File \"/app/main.py\", line 10, in <module>",
    "    main()",
    "  File \"/app/main.py\", line 6, in main",
    "    int(\"x\")",
    "    ^^^^^^",
    "ValueError: invalid literal for int() with base 10: 'x'",
    "",
    "During handling of the above exception, another exception occurred:",
    "",
    "Traceback (most recent call last):",
    "  File \"/app/main.py\", line 12, in <module>",
    "    raise RuntimeError(\"boom\") from exc",
    "RuntimeError: boom",
    "INFO:app:done",
    "  indented, but outside a traceback",
    "Traceback (most recent call last):",
    "  File \"/app/job.py\", line 3, in <module>",
    "KeyError: 'id'",
    "INFO:app:again",
    NULL,
};
static const int python_want[] = { 0, 1, 15, 16, 17, 20, 21 };

static const char *const go_trace[] = {
    "2026/12/03 15:40:01 starting server on :8080",
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47b0f5]",
    "",
    "goroutine 1 [running]:",
    "main.(*Server).handle(0x0, {0x4c3e20, 0xc000012345})",
    "\t/src/app/server.go:42 +0x15",
    "main.main()",
    "\t/src/app/main.go:9 +0x2f",
    "",
    "goroutine 18 gp=0xc000007c00 m=nil [chan receive]:",
    "main.worker(0xc00001c0c0)",
    "\t/src/app/worker.go:17 +0x45",
    "created by main.main in goroutine 1",
    "\t/src/app/main.go:7 +0x25",
    "exit status 2",
    "fatal error: all goroutines are asleep - deadlock!",
    "",
    "goroutine 1 [chan receive]:",
    "main.main()",
    "\t/src/app/dead.go:5 +0x1d",
    "2026/12/03 15:40:02 restarted (pid 7)",
    NULL,
};
static const int go_want[] = { 0, 1, 15, 16, 21, 22 };

/* Splits lines into records the way tail_read.c does; writes each record's
 * first line index into starts, returns the count. */
static int
split(const struct multiline_rule *r, const char *const *lines, int *starts)
{
    int state = 0, n = 0, is_open = 0;

    for (int i = 0; lines[i] != NULL; i++) {
        enum multiline_verdict v = multiline_classify(r, &state, lines[i],
                                                      strlen(lines[i]));
        if (v != MULTILINE_CONTINUE || !is_open)
            starts[n++] = i;
        is_open = v != MULTILINE_SINGLE;
    }
    return n;
}

static void
check_split(const char *spec, const char *const *lines, const int *want,
            size_t n_want)
{
    struct multiline_rule r;
    char err[256];
    int starts[MAX_LINES];

    assert_int_equal(multiline_rule_parse(spec, &r, err, sizeof(err)), 0);
    int n = split(&r, lines, starts);
    int n_lines = 0;
    while (lines[n_lines] != NULL)
        n_lines++;
    assert_int_equal(want[n_want - 1], n_lines);
    assert_int_equal(n, (int)n_want - 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(starts[i], want[i]);
    multiline_rule_fini(&r);
}

#define CHECK(spec, lines, want) \
    check_split(spec, lines, want, sizeof(want) / sizeof(want[0]))

static void
test_multiline_java_trace(void **state)
{
    (void)state;
    CHECK("java", java_trace, java_want);
}

static void
test_multiline_python_chained_traceback(void **state)
{
    (void)state;
    CHECK("python", python_trace, python_want);
}

static void
test_multiline_go_panic(void **state)
{
    (void)state;
    CHECK("go", go_trace, go_want);
}

static void
test_multiline_indent_and_none(void **state)
{
    static const int indent_want[] = { 0, 1, 5, 11, 13 };
    static const int none_want[] = { 0, 1, 2, 3, 4 };
    static const char *const few[] = { "a", "\tb", "c", "  d", NULL };

    (void)state;
    /* The Java trace under indent: the tab-indented frames join the
     * line before them; "Caused by:" is not indented and starts. */
    CHECK("indent", java_trace, indent_want);
    CHECK("none", few, none_want);
}

static void
test_multiline_regex_start(void **state)
{
    static const char *const lines[] = {
        "cont before any start",
        "2026-12-03 15:40:01 first",
        "detail 1",
        "",
        "2026-12-03 15:40:02 second",
        NULL,
    };
    static const int want[] = { 0, 1, 4, 5 };

    (void)state;
    CHECK("regex:^[0-9]{4}-[0-9]{2}-[0-9]{2} ", lines, want);
}

static void
test_multiline_regex_line_with_nul(void **state)
{
    struct multiline_rule r;
    char err[256];
    int st = 0;

    (void)state;
    assert_int_equal(multiline_rule_parse("regex:b$", &r, err, sizeof(err)),
                     0);
    /* "a\0b": REG_STARTEND sees the whole line, past the NUL. */
    assert_int_equal(multiline_classify(&r, &st, "a\0b", 3), MULTILINE_START);
    assert_int_equal(multiline_classify(&r, &st, "a\0c", 3),
                     MULTILINE_CONTINUE);
    assert_int_equal(multiline_classify(&r, &st, "", 0), MULTILINE_CONTINUE);
    multiline_rule_fini(&r);
}

#ifdef __SANITIZE_ADDRESS__
/* sanitizer/allocator_interface.h, which gcc does not install */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Bytes the heap holds now (ASan's allocator under ASan, where freed
 * memory waits in quarantine; glibc's arena counts otherwise). */
static size_t
heap_live(void)
{
#ifdef __SANITIZE_ADDRESS__
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

/* glibc's regexec keeps a DFA state per new set of positions it meets,
 * all of them until regfree: 60 nodes over random lines of 'a' and 'b'
 * (shipper/README.md "Multi-line records": 192 MiB and 58 CPU-s over
 * 40,000 lines) grew the heap by 38 MiB in 2,000 lines. The rule compiles
 * its regex again once a budget of work (bytes matched times its size) is
 * spent: the heap stays within a few MiB, and the recompiles are counted. */
static void
test_multiline_regex_cache_bounded(void **state)
{
    struct multiline_rule r;
    char err[256], line[121];       /* no NUL after it, as in a tailer:
                                     * the sanitizers' regexec reads to
                                     * one (multiline.c copies the line) */
    uint64_t rng = 1;
    int st = 0;

    (void)state;
    assert_int_equal(multiline_rule_parse("regex:(a|b)*a(a|b){18}", &r, err,
                                          sizeof(err)), 0);
    size_t base = heap_live(), peak = 0;
    for (int i = 0; i < 2000; i++) {
        for (size_t j = 0; j < sizeof(line); j++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            line[j] = (rng >> 40) & 1 ? 'a' : 'b';
        }
        multiline_classify(&r, &st, line, sizeof(line));
        size_t now = heap_live();
        if (now > base && now - base > peak)
            peak = now - base;
    }
    assert_true(peak < 8 * 1024 * 1024);
    /* 2000 lines of 121 bytes (+1), 60 nodes: one every 36 lines, the
     * first line past 2^18 / (122 * 60) */
    assert_int_equal(multiline_rule_recompiles(&r), 2000 / 36);
    multiline_rule_fini(&r);
}

/* The peak RSS (KiB) of a child that classifies one random line of 'a'
 * and 'b' of len bytes with rule spec. */
static long
classify_peak_kib(const char *spec, size_t len)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        struct multiline_rule r;
        char err[256];
        char *line = xmalloc(len + 1);
        uint64_t rng = 3;
        int st = 0;
        if (multiline_rule_parse(spec, &r, err, sizeof(err)) < 0)
            _exit(2);
        for (size_t j = 0; j < len; j++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            line[j] = (rng >> 40) & 1 ? 'a' : 'b';
        }
        line[len] = '\0';
        multiline_classify(&r, &st, line, len);
        _exit(0);           /* the child never returns into cmocka */
    }
    int status;
    struct rusage ru;
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return ru.ru_maxrss;
}

/* Within one line glibc's regexec builds states with the line's length
 * times the regex's size: a never-matching 61-node regex over one
 * 8,000-byte line took 73 MiB (more under ASan). The regex sees only the
 * first 65536 / 61 = 1074 bytes of a line (the cut counted): the child's
 * peak stays within 64 MiB of one that matched 64 bytes (ASan build:
 * +25 MiB; +140 MiB without the cut). A start near
 * the beginning is still found; one past the cut is not. */
static void
test_multiline_regex_line_bounded(void **state)
{
    static const char spec[] = "regex:(a|b)*a(a|b){18}c";
    struct multiline_rule r;
    char err[256];
    int st = 0;

    (void)state;
    long base = classify_peak_kib(spec, 64);
    long peak = classify_peak_kib(spec, 8000);
    if (peak - base > 64 * 1024)
        fail_msg("peak RSS %ld KiB over %ld", peak, base);
    assert_int_equal(multiline_rule_parse(spec, &r, err, sizeof(err)), 0);
    assert_true(multiline_rule_match_max(&r) > 1000 &&
                multiline_rule_match_max(&r) < 1100);
    multiline_rule_fini(&r);

    assert_int_equal(multiline_rule_parse("regex:^[0-9]{4}-|TRACE", &r, err,
                                          sizeof(err)), 0);
    assert_int_equal(multiline_rule_match_max(&r), MULTILINE_MATCH_BYTES);
    multiline_rule_match_bytes(&r, 100);
    assert_int_equal(multiline_rule_match_max(&r), 100);
    char line[300];
    memset(line, 'x', sizeof(line));
    memcpy(line, "2026-", 5);
    assert_int_equal(multiline_classify(&r, &st, line, sizeof(line)),
                     MULTILINE_START);
    memcpy(line, "xxxxx", 5);
    memcpy(line + 95, "TRACE", 5);              /* bytes 95-99: seen */
    assert_int_equal(multiline_classify(&r, &st, line, sizeof(line)),
                     MULTILINE_START);
    memcpy(line + 95, "xxxxx", 5);
    memcpy(line + 96, "TRACE", 5);              /* its last byte cut */
    assert_int_equal(multiline_classify(&r, &st, line, sizeof(line)),
                     MULTILINE_CONTINUE);
    assert_int_equal(multiline_rule_lines_cut(&r), 3);
    assert_int_equal(multiline_classify(&r, &st, line, 100),
                     MULTILINE_CONTINUE);
    assert_int_equal(multiline_rule_lines_cut(&r), 3);   /* not longer */
    multiline_rule_fini(&r);
}

/* glibc's regcomp copies an expression once per repeat, so stacked or
 * nested repeats multiply: "\\+" and 100 '+' (a container's label, found
 * by fuzz_shipconfig: corpus/shipconfig/crash-regex-stacked-repeats) took
 * gigabytes. Such a regex is refused before regcomp; real ones pass. */
static void
test_multiline_regex_too_complex(void **state)
{
    static const char *const good[] = {
        "regex:^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}",
        "regex:^(ERROR|WARN|INFO|DEBUG)[[:space:]]+\\[[^]]*\\]",
        "regex:^[[:alpha:]]{3} +[0-9]{1,2} ([0-9]{2}:){2}[0-9]{2}",
        "regex:a{1000}", "regex:(a{0,9}){50}", "regex:x{2,}{3}",
    };
    char bad[700];
    struct multiline_rule r = { .kind = MULTILINE_GO };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(multiline_rule_parse(good[i], &r, err, sizeof(err)),
                         0);
        multiline_rule_fini(&r);
    }
    r.kind = MULTILINE_GO;
    const char *const refused[] = {
        "regex:a{1024}", "regex:((a{9}){9}){99}", "regex:x{2,}{3}{99}",
        "regex:(a|b|[[:alpha:]]|\\)){3,9}+{99}", "regex:((((a+)+)+)+)+{99}",
        "regex:(a*)*\\1", "regex:(b(\\++++++++++++++++++++++++++++++(",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        err[0] = '\0';
        assert_int_equal(multiline_rule_parse(refused[i], &r, err,
                                              sizeof(err)), -1);
        assert_non_null(strstr(err, "too complex"));
        assert_int_equal(r.kind, MULTILINE_GO);     /* out untouched */
    }
    /* the fuzzer's: doubles once per '+' */
    memcpy(bad, "regex:\\", 8);
    memset(bad + 8, '+', 100);
    bad[108] = '\0';
    assert_int_equal(multiline_rule_parse(bad, &r, err, sizeof(err)), -1);
    /* 40 nested groups, and 600 bytes of alternatives */
    memcpy(bad, "regex:", 6);
    memset(bad + 6, '(', 40);
    bad[46] = 'a';
    memset(bad + 47, ')', 40);
    bad[87] = '\0';
    assert_int_equal(multiline_rule_parse(bad, &r, err, sizeof(err)), -1);
    memset(bad + 6, '|', 600);
    bad[606] = '\0';
    assert_int_equal(multiline_rule_parse(bad, &r, err, sizeof(err)), -1);
    assert_int_equal(r.kind, MULTILINE_GO);
}

static void
test_multiline_bad_rules(void **state)
{
    static const char *const bad[] = {
        "", "Java", "java ", "regex:", "regex:(", "regex:a[", "indent,java",
    };
    struct multiline_rule r = { .kind = MULTILINE_GO };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(multiline_rule_parse(bad[i], &r, err, sizeof(err)),
                         -1);
        assert_true(strlen(err) > 10);
        assert_int_equal(r.kind, MULTILINE_GO);     /* out untouched */
    }
}

static void
test_multiline_group_cap_utf8(void **state)
{
    struct multiline_group g;
    struct tail_pos start = { .logical = 7 };
    /* "abc" "\n" "defg" "\n" fill 9 of 10 bytes: "é" would be cut in half */
    const char *a = "abc", *b = "defg", *c = "\xc3\xa9xyz";

    (void)state;
    multiline_group_init(&g, 10);
    multiline_group_add(&g, 10, (const uint8_t *)a, 3, 0, 0, 100, &start, 10);
    multiline_group_add(&g, 10, (const uint8_t *)b, 4, 0, 1, 200, &start, 20);
    multiline_group_add(&g, 10, (const uint8_t *)c, 5, 2, 0, 300, &start, 30);
    assert_int_equal(g.msg.len, 9);
    assert_memory_equal(g.msg.data, "abc\ndefg\n", 9);
    assert_int_equal(g.dropped, 5 + 2);     /* the cut line, its own drop */
    assert_int_equal(g.n_lines, 3);
    assert_int_equal(g.last_end, 30);
    assert_int_equal(g.time_ns, 100);
    assert_int_equal(g.last_time_ns, 300);
    assert_int_equal(g.start.logical, 7);
    assert_int_equal(g.flags, 1);
    multiline_group_fini(&g);
}

/* Every line of one corpus file under every built-in rule; returns the
 * number of lines. */
static size_t
corpus_file(const char *path, struct multiline_rule *rules, size_t n_rules)
{
    FILE *fp = fopen(path, "r");
    char line[65536];
    size_t n = 0;
    int st[8] = { 0 };

    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        size_t len = strcspn(line, "\r\n");
        for (size_t i = 0; i < n_rules; i++) {
            enum multiline_verdict v = multiline_classify(&rules[i], &st[i],
                                                          line, len);
            if (v == MULTILINE_CONTINUE)
                fail_msg("%s: rule %d joins line %zu: %.*s", path,
                         (int)rules[i].kind, n + 1, (int)len, line);
            if ((rules[i].kind == MULTILINE_PYTHON ||
                 rules[i].kind == MULTILINE_GO) && v != MULTILINE_SINGLE)
                fail_msg("%s: rule %d holds line %zu back", path,
                         (int)rules[i].kind, n + 1);
        }
        n++;
    }
    fclose(fp);
    return n;
}

static void
test_multiline_corpus_never_joined(void **state)
{
    static const char *const specs[] = { "java", "python", "go", "indent" };
    struct multiline_rule rules[4];
    const char *dir = getenv("LOGQ_CORPUS");
    char err[256];

    (void)state;
    if (dir == NULL || strcmp(dir, "none") == 0)
        skip();
    DIR *d = opendir(dir);
    assert_non_null(d);     /* LOGQ_CORPUS names a missing directory */
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(multiline_rule_parse(specs[i], &rules[i], err,
                                              sizeof(err)), 0);
    size_t n_lines = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".log") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        n_lines += corpus_file(path, rules, 4);
    }
    closedir(d);
    assert_true(n_lines > 0);
    for (size_t i = 0; i < 4; i++)
        multiline_rule_fini(&rules[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multiline_java_trace),
        cmocka_unit_test(test_multiline_python_chained_traceback),
        cmocka_unit_test(test_multiline_go_panic),
        cmocka_unit_test(test_multiline_indent_and_none),
        cmocka_unit_test(test_multiline_regex_start),
        cmocka_unit_test(test_multiline_regex_line_with_nul),
        cmocka_unit_test(test_multiline_regex_too_complex),
        cmocka_unit_test(test_multiline_regex_cache_bounded),
        cmocka_unit_test(test_multiline_regex_line_bounded),
        cmocka_unit_test(test_multiline_bad_rules),
        cmocka_unit_test(test_multiline_group_cap_utf8),
        cmocka_unit_test(test_multiline_corpus_never_joined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
