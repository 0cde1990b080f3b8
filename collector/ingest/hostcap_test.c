/* SPDX-License-Identifier: MIT */
/*
 * hostcap_test: the host and source caps against a brute-force model
 * (a list of names with counts) over random acquire/release/add/load
 * sequences, and the cases named in hostcap.h one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/ingest/hostcap.h"

static void
test_hostcap_hosts_capped(void **state)
{
    struct hostcap *hc = hostcap_new(2, 10);

    (void)state;
    struct hostcap_host *a = hostcap_acquire(hc, "a");
    struct hostcap_host *b = hostcap_acquire(hc, "b");
    assert_non_null(a);
    assert_non_null(b);
    assert_null(hostcap_acquire(hc, "c"));          /* third host */
    struct hostcap_host *a2 = hostcap_acquire(hc, "a");  /* known: yes */
    assert_ptr_equal(a, a2);
    assert_int_equal(hostcap_n_hosts(hc), 2);
    hostcap_release(hc, b, 1);      /* stored nothing: forgotten */
    assert_int_equal(hostcap_n_hosts(hc), 1);
    struct hostcap_host *c = hostcap_acquire(hc, "c");
    assert_non_null(c);
    assert_int_equal(hostcap_add_source(hc, c), 0);
    hostcap_release(hc, c, 1);      /* has a source: stays known */
    assert_null(hostcap_acquire(hc, "b"));
    hostcap_release(hc, a, 1);
    hostcap_release(hc, a2, 1);     /* last connection: forgotten */
    assert_int_equal(hostcap_n_hosts(hc), 1);
    hostcap_free(hc);
}

static void
test_hostcap_sources_capped(void **state)
{
    struct hostcap *hc = hostcap_new(10, 3);

    (void)state;
    struct hostcap_host *a = hostcap_acquire(hc, "a");
    for (int i = 0; i < 3; i++)
        assert_int_equal(hostcap_add_source(hc, a), 0);
    assert_int_equal(hostcap_add_source(hc, a), -1);
    struct hostcap_host *b = hostcap_acquire(hc, "b");
    assert_int_equal(hostcap_add_source(hc, b), 0);   /* per host */
    hostcap_release(hc, a, 1);
    hostcap_release(hc, b, 1);
    hostcap_free(hc);
}

/* What the store held at start counts, but is never refused. */
static void
test_hostcap_loaded_over_caps(void **state)
{
    struct hostcap *hc = hostcap_new(2, 2);

    (void)state;
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "old%d", i);
        hostcap_load_source(hc, name);
        hostcap_load_source(hc, name);
        hostcap_load_source(hc, name);
    }
    assert_int_equal(hostcap_n_hosts(hc), 5);
    struct hostcap_host *h = hostcap_acquire(hc, "old3");
    assert_non_null(h);                     /* known host, over max_hosts */
    assert_int_equal(hostcap_add_source(hc, h), -1);   /* 3 > 2 already */
    assert_null(hostcap_acquire(hc, "new"));
    hostcap_release(hc, h, 1);
    assert_int_equal(hostcap_n_hosts(hc), 5);
    hostcap_free(hc);
}

/* Random operations against a model: names, sources, connections. */
struct model_host {
    char name[16];
    int  n_sources, n_conns;
};

static void
test_hostcap_random_model(void **state)
{
    enum { N_NAMES = 12, MAX_HOSTS = 5, MAX_SRC = 4, N_OPS = 20000 };
    struct model_host m[N_NAMES];
    struct hostcap_host *held[N_NAMES][64];
    struct hostcap *hc = hostcap_new(MAX_HOSTS, MAX_SRC);

    (void)state;
    memset(m, 0, sizeof(m));
    srand(7);
    for (int i = 0; i < N_NAMES; i++)
        snprintf(m[i].name, sizeof(m[i].name), "h%02d", i);
    for (int op = 0; op < N_OPS; op++) {
        int i = rand() % N_NAMES, known = 0;
        for (int k = 0; k < N_NAMES; k++)
            known += m[k].n_sources > 0 || m[k].n_conns > 0;
        assert_int_equal(hostcap_n_hosts(hc), known);
        int is_known = m[i].n_sources > 0 || m[i].n_conns > 0;
        switch (rand() % 3) {
        case 0:                                     /* acquire */
            if (m[i].n_conns == 64)
                break;
            held[i][m[i].n_conns] = hostcap_acquire(hc, m[i].name);
            if (!is_known && known >= MAX_HOSTS) {
                assert_null(held[i][m[i].n_conns]);
                break;
            }
            assert_non_null(held[i][m[i].n_conns]);
            m[i].n_conns++;
            break;
        case 1:                                     /* release */
            if (m[i].n_conns == 0)
                break;
            hostcap_release(hc, held[i][--m[i].n_conns], 1);
            break;
        default:                                    /* add a source */
            if (m[i].n_conns == 0)
                break;
            int rc = hostcap_add_source(hc, held[i][0]);
            assert_int_equal(rc, m[i].n_sources >= MAX_SRC ? -1 : 0);
            if (rc == 0)
                m[i].n_sources++;
        }
    }
    for (int i = 0; i < N_NAMES; i++)
        while (m[i].n_conns > 0)
            hostcap_release(hc, held[i][--m[i].n_conns], 1);
    hostcap_free(hc);
}

struct contact_row {
    char    list[256];
};

static void
contact_cb(const char *host, size_t n_conns, int64_t last, int64_t down,
           void *arg)
{
    struct contact_row *r = arg;
    size_t at = strlen(r->list);

    snprintf(r->list + at, sizeof(r->list) - at, "%s:%zu:%lld:%lld ", host,
             n_conns, (long long)last, (long long)down);
}

/* Last contact and down time per host (for /hosts): touched by frames,
 * down when the last connection goes, not while one is open; a host with
 * a source stays listed after it. */
static void
test_hostcap_contact(void **state)
{
    (void)state;
    struct hostcap *hc = hostcap_new(10, 10);
    struct contact_row r = { "" };

    hostcap_load_source(hc, "old");
    struct hostcap_host *a = hostcap_acquire(hc, "a");
    struct hostcap_host *a2 = hostcap_acquire(hc, "a");
    assert_int_equal(hostcap_add_source(hc, a), 0);
    hostcap_touch(a, 100);
    hostcap_release(hc, a2, 150);           /* one still open: not down */
    hostcap_foreach(hc, contact_cb, &r);
    assert_string_equal(r.list, "a:1:100:0 old:0:0:0 ");
    hostcap_touch(a, 160);
    hostcap_release(hc, a, 200);
    r.list[0] = '\0';
    hostcap_foreach(hc, contact_cb, &r);
    assert_string_equal(r.list, "a:0:160:200 old:0:0:0 ");
    a = hostcap_acquire(hc, "a");           /* back: up again */
    r.list[0] = '\0';
    hostcap_foreach(hc, contact_cb, &r);
    assert_string_equal(r.list, "a:1:160:0 old:0:0:0 ");
    hostcap_release(hc, a, 300);
    hostcap_free(hc);
}

struct ahead_row {
    char list[256];
};

static void
ahead_cb(const char *host, uint64_t n, uint64_t max_ns, void *arg)
{
    struct ahead_row *r = arg;
    size_t len = strlen(r->list);

    snprintf(r->list + len, sizeof(r->list) - len, "%s:%llu:%llu ", host,
             (unsigned long long)n, (unsigned long long)max_ns);
}

/* Records stamped more than the grace ahead of their receive time are
 * counted per host with the largest skew, at the int64 ends too (no
 * overflow); those within the grace, or behind, are not; a host with
 * none is not listed. */
static void
test_hostcap_ahead(void **state)
{
    (void)state;
    struct hostcap *hc = hostcap_new(10, 10);
    struct ahead_row r = { "" };
    struct hostcap_host *a = hostcap_acquire(hc, "a");
    struct hostcap_host *b = hostcap_acquire(hc, "b");

    assert_int_equal(hostcap_add_source(hc, a), 0);
    assert_int_equal(hostcap_add_source(hc, b), 0);
    hostcap_note_time(b, 1000, 1000, 600);      /* on time */
    hostcap_note_time(b, 1600, 1000, 600);      /* within the grace */
    hostcap_note_time(b, INT64_MIN, 1000, 600); /* behind */
    hostcap_note_time(a, 1601, 1000, 600);
    hostcap_note_time(a, INT64_MAX, -5, 600);
    hostcap_note_time(a, 5000, 1000, 600);
    hostcap_foreach_ahead(hc, ahead_cb, &r);
    assert_string_equal(r.list, "a:3:9223372036854775812 ");
    hostcap_release(hc, a, 10);
    hostcap_release(hc, b, 10);
    hostcap_free(hc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostcap_hosts_capped),
        cmocka_unit_test(test_hostcap_sources_capped),
        cmocka_unit_test(test_hostcap_loaded_over_caps),
        cmocka_unit_test(test_hostcap_random_model),
        cmocka_unit_test(test_hostcap_contact),
        cmocka_unit_test(test_hostcap_ahead),
    };
    return cmocka_run_group_tests_name("hostcap", tests, NULL, NULL);
}
