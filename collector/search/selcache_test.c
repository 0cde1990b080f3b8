/* SPDX-License-Identifier: MIT */
/*
 * selcache_test: the per-source cache of a name selection against the
 * brute force (namesel_match on every lookup): random selections (exact
 * hosts and images, container globs, exclusions) over random triples from
 * a small pool of names, with caches small enough to be emptied often;
 * every answer equal, and namesel_match called once per triple between
 * resets (so the cache is used: the check can fail).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "collector/search/selcache.h"
#include "common/labelset.h"
#include "collector/store/namesel.h"

static const char *const hosts[] = { "node1", "node2", "web-1", "", "n" };
static const char *const names[] = {
    "web", "web-1", "web-2", "api", "api-canary", "db", "db-0", "", "w[b]",
    "cache_redis", "x*y",
};
static const char *const images[] = { "nginx", "redis:7", "img", "" };
static const char *const globs[] = {
    "web*", "api-*", "db-?", "*", "w[a-f]b", "*canary", "x\\*y", "[!a]*",
    "web", "cache_*",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static struct namesel *
random_sel(void)
{
    struct namesel *ns = namesel_new();
    char *err = NULL, pat[64];

    for (int k = rand() % 4; k > 0; k--) {
        int field = rand() % 3;
        const char *p = field == 0 ? hosts[rand() % 3]
                        : field == 1 ? globs[rand() % N_OF(globs)]
                        : images[rand() % 3];
        snprintf(pat, sizeof(pat), "%s%s", rand() % 4 == 0 ? "!" : "", p);
        if (namesel_add(ns, (enum namesel_field)field, pat, &err) < 0) {
            free(err);          /* empty patterns are refused: fine */
            err = NULL;
        }
    }
    return ns;
}

static void
test_selcache_model(void **state)
{
    uint64_t n_lookups = 0, n_matched = 0, n_resets = 0;

    srand(31337);
    for (int round = 0; round < 300; round++) {
        struct namesel *ns = random_sel();
        size_t max = 1 + (size_t)(rand() % 64);
        struct selcache *c = selcache_new(ns, max);
        uint64_t misses = 0, resets = 0;
        /* triples seen since the last reset: a miss is a new one */
        char seen[N_OF(hosts)][N_OF(names)][N_OF(images)];

        memset(seen, 0, sizeof(seen));
        for (int i = 0; i < 1000; i++) {
            size_t h = (size_t)rand() % N_OF(hosts);
            size_t n = (size_t)rand() % N_OF(names);
            size_t m = (size_t)rand() % N_OF(images);
            int want = namesel_match(ns, hosts[h], names[n], images[m], NULL);
            int got = selcache_match(c, hosts[h], names[n], images[m], NULL);
            assert_int_equal(got, want);
            n_matched += got;
            n_lookups++;
            if (selcache_n_resets(c) != resets) {
                resets = selcache_n_resets(c);
                memset(seen, 0, sizeof(seen));
                seen[h][n][m] = 1;
                misses++;
            } else if (!seen[h][n][m]) {
                seen[h][n][m] = 1;
                misses++;
            }
            assert_int_equal(selcache_n_misses(c), misses);
        }
        n_resets += resets;
        selcache_free(c);
        namesel_free(ns);
    }
    /* both answers, and the full cache's reset, were seen */
    assert_true(n_matched > 1000 && n_matched < n_lookups - 1000);
    assert_true(n_resets > 100);
}

/* Names that share a prefix or differ only in where the NULs fall are
 * distinct triples. */
static void
test_selcache_boundaries(void **state)
{
    struct namesel *ns = namesel_new();
    char *err = NULL;

    assert_int_equal(namesel_add(ns, NAMESEL_CONTAINER, "ab", &err), 0);
    struct selcache *c = selcache_new(ns, 16);
    assert_int_equal(selcache_match(c, "a", "b", "c", NULL), 0);
    assert_int_equal(selcache_match(c, "", "ab", "c", NULL), 1);
    assert_int_equal(selcache_match(c, "a", "b", "c", NULL), 0);
    assert_int_equal(selcache_match(c, "", "ab", "c", NULL), 1);
    assert_int_equal(selcache_match(c, NULL, "ab", NULL, NULL), 1);
    assert_int_equal(selcache_match(c, "", "ab", "", NULL), 1);
    assert_int_equal(selcache_n_misses(c), 3);
    selcache_free(c);

    /* the same names with other Docker labels (a container recreated by
     * Compose under its name): another answer, each cached */
    const char *jw = "{\"com.docker.compose.service\":\"web\"}";
    const char *jd = "{\"com.docker.compose.service\":\"db\"}";
    struct labelset *w = labelset_parse(jw, strlen(jw), NULL, &err);
    struct labelset *d = labelset_parse(jd, strlen(jd), NULL, &err);
    assert_int_equal(namesel_add(ns, NAMESEL_SERVICE, "web", &err), 0);
    c = selcache_new(ns, 16);
    assert_int_equal(selcache_match(c, "h", "ab", "i", w), 1);
    assert_int_equal(selcache_match(c, "h", "ab", "i", d), 0);
    assert_int_equal(selcache_match(c, "h", "ab", "i", NULL), 0);
    assert_int_equal(selcache_match(c, "h", "ab", "i", w), 1);
    assert_int_equal(selcache_match(c, "h", "ab", "i", d), 0);
    assert_int_equal(selcache_n_misses(c), 3);
    selcache_free(c);
    labelset_free(w);
    labelset_free(d);
    namesel_free(ns);
}

/* What the cache saves (printed, not asserted: figures for the README
 * would need a quiet machine). */
static void
test_selcache_cost(void **state)
{
    struct namesel *ns = namesel_new();
    char *err = NULL;
    static const char *const pats[] = { "web-*", "api-*", "*-canary",
                                        "db-?", "!*-test" };
    struct timespec t0, t1, t2;
    uint64_t n = 0;

    for (size_t i = 0; i < N_OF(pats); i++)
        assert_int_equal(namesel_add(ns, NAMESEL_CONTAINER, pats[i], &err),
                         0);
    struct selcache *c = selcache_new(ns, 1024);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 200000; i++)
        n += namesel_match(ns, "node-17", names[i % N_OF(names)], "img",
                           NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int i = 0; i < 200000; i++)
        n -= selcache_match(c, "node-17", names[i % N_OF(names)], "img", NULL);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    assert_int_equal(n, 0);
    print_message("namesel_match %.0f ns, selcache_match %.0f ns a record\n",
                  ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec))
                  / 200000.0,
                  ((t2.tv_sec - t1.tv_sec) * 1e9 + (t2.tv_nsec - t1.tv_nsec))
                  / 200000.0);
    selcache_free(c);
    namesel_free(ns);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selcache_model),
        cmocka_unit_test(test_selcache_boundaries),
        cmocka_unit_test(test_selcache_cost),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
