/* SPDX-License-Identifier: MIT */
/*
 * seen_test: record hashes differ on every field and on field boundaries,
 * membership, and eviction of the oldest entry once the ring is full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "query/seen.h"

static struct logrec
rec(const char *host, const char *ctr, const char *msg)
{
    struct logrec r;

    memset(&r, 0, sizeof(r));
    r.time_ns = 1;
    r.host = host;
    r.container = ctr;
    r.container_id = "id";
    r.image = "img";
    r.msg = msg;
    r.msg_len = strlen(msg);
    return r;
}

static void
test_seen_hash_fields(void **state)
{
    struct logrec a = rec("h", "c", "m"), b;
    uint64_t ha = seen_record_hash(&a);

    (void)state;
    b = a;
    assert_true(seen_record_hash(&b) == ha);
    b.time_ns = 2;
    assert_true(seen_record_hash(&b) != ha);
    b = a;
    b.stream = LOGREC_STDERR;
    assert_true(seen_record_hash(&b) != ha);
    b = rec("h2", "c", "m");
    assert_true(seen_record_hash(&b) != ha);
    b = rec("h", "c2", "m");
    assert_true(seen_record_hash(&b) != ha);
    b = a;
    b.container_id = "id2";
    assert_true(seen_record_hash(&b) != ha);
    b = rec("h", "c", "m2");
    assert_true(seen_record_hash(&b) != ha);
    /* moving bytes between fields changes the hash */
    struct logrec x = rec("ab", "c", "m"), y = rec("a", "bc", "m");
    assert_true(seen_record_hash(&x) != seen_record_hash(&y));
}

static void
test_seen_ring(void **state)
{
    struct seen s;

    (void)state;
    seen_init(&s);
    assert_false(seen_has(&s, 0));     /* empty ring holds nothing */
    for (uint64_t i = 1; i <= SEEN_CAP; i++)
        seen_add(&s, i * 7919);
    assert_true(seen_has(&s, 7919));
    assert_true(seen_has(&s, SEEN_CAP * 7919));
    assert_false(seen_has(&s, 5));
    seen_add(&s, 5);                    /* evicts the oldest */
    assert_true(seen_has(&s, 5));
    assert_false(seen_has(&s, 7919));
    assert_true(seen_has(&s, 2 * 7919));
    assert_int_equal(s.n, SEEN_CAP);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seen_hash_fields),
        cmocka_unit_test(test_seen_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
