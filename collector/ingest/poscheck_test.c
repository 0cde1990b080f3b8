/* SPDX-License-Identifier: MIT */
/*
 * poscheck_test: the position rule of PROTOCOL.md "Plausible positions":
 * honest batches (fresh, continuing, resent after a reconnect, resent in
 * part after a restart) pass; skipping ahead, a new source not at 0,
 * going backwards and huge jumps are refused, and the rest of the source's
 * batch with them. A property test against a bitmap model: whatever the
 * batch, what is accepted leaves no hole in the positions stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/ingest/poscheck.h"

static void
test_poscheck_new_source_from_zero(void **state)
{
    struct poscheck p;

    (void)state;
    poscheck_begin(&p, 0, 0, 0);
    assert_int_equal(poscheck_record(&p, 10), 0);
    assert_int_equal(poscheck_record(&p, 25), 0);
    assert_int_equal(poscheck_record(&p, 26), 0);
}

static void
test_poscheck_new_source_not_at_zero(void **state)
{
    struct poscheck p;

    (void)state;
    poscheck_begin(&p, 0, 0, 100);
    assert_int_equal(poscheck_record(&p, 120), -1);
    assert_string_equal(p.refused, "a new source must start at 0");
    /* and the rest of the source's batch, even if it looked fine */
    assert_int_equal(poscheck_record(&p, 130), -1);
}

static void
test_poscheck_continues(void **state)
{
    struct poscheck p;

    (void)state;
    poscheck_begin(&p, 1, 1000, 1000);
    assert_int_equal(poscheck_record(&p, 1001), 0);
    assert_int_equal(poscheck_record(&p, 2000), 0);
    assert_int_equal(p.high, 2000);
}

static void
test_poscheck_skips_ahead(void **state)
{
    struct poscheck p;

    (void)state;
    poscheck_begin(&p, 1, 1000, 1001);
    assert_int_equal(poscheck_record(&p, 1100), -1);
    assert_string_equal(p.refused, "batch starts past the stored position");
    assert_int_equal(p.high, 1000);
}

/* A resend after a reconnect: everything at or below the high water goes
 * to the store (which drops it as duplicates); what follows is stored. */
static void
test_poscheck_resend(void **state)
{
    struct poscheck p;

    (void)state;
    poscheck_begin(&p, 1, 1000, 500);
    assert_int_equal(poscheck_record(&p, 800), 0);
    assert_int_equal(poscheck_record(&p, 1000), 0);
    assert_int_equal(poscheck_record(&p, 1200), 0);
    assert_int_equal(p.high, 1200);
    /* a restart from a resume point inside a record already stored (an
     * unfinished partial message): the record straddling the high water
     * is new */
    poscheck_begin(&p, 1, 1000, 900);
    assert_int_equal(poscheck_record(&p, 950), 0);
    assert_int_equal(poscheck_record(&p, 1050), 0);
    assert_int_equal(p.high, 1050);
}

static void
test_poscheck_backwards(void **state)
{
    struct poscheck p;

    (void)state;
    poscheck_begin(&p, 1, 1000, 1000);
    assert_int_equal(poscheck_record(&p, 1100), 0);
    assert_int_equal(poscheck_record(&p, 1050), -1);
    assert_string_equal(p.refused, "offset does not advance");
    assert_int_equal(poscheck_record(&p, 1200), -1);
    poscheck_begin(&p, 1, 1000, 1000);
    assert_int_equal(poscheck_record(&p, 1000), -1);   /* empty record */
    poscheck_begin(&p, 1, 1000, 1000);
    assert_int_equal(poscheck_record(&p, 999), -1);    /* before start */
}

static void
test_poscheck_jump(void **state)
{
    struct poscheck p;

    (void)state;
    poscheck_begin(&p, 0, 0, 0);
    assert_int_equal(poscheck_record(&p, UINT64_MAX), -1);
    assert_string_equal(p.refused,
                        "offset jumps more than 2^36 past the stored "
                        "position");
    poscheck_begin(&p, 1, 1000, 1000);
    assert_int_equal(poscheck_record(&p, 1000 + POSCHECK_MAX_JUMP), 0);
    assert_int_equal(poscheck_record(&p, 1001 + POSCHECK_MAX_JUMP), -1);
    /* many records of one batch cannot add up past it either */
    poscheck_begin(&p, 1, 1000, 1000);
    for (uint64_t i = 1; i <= 4; i++)
        assert_int_equal(poscheck_record(&p, 1000 + i * (POSCHECK_MAX_JUMP /
                                                        4)), 0);
    assert_int_equal(poscheck_record(&p, 1001 + POSCHECK_MAX_JUMP), -1);
    /* near the top, saturating */
    poscheck_begin(&p, 1, UINT64_MAX - 5, UINT64_MAX - 5);
    assert_int_equal(poscheck_record(&p, UINT64_MAX), 0);
}

/* ---- property: no hole, against a bitmap of stored positions ---- */

#define MODEL_N 64

static uint32_t
next_rand(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 16;
}

/* Runs one random batch; checks that positions 1..high are all covered by
 * what was stored before and the records accepted (no hole), and that an
 * honest batch (start <= high, increasing offsets) is accepted whole. */
static void
model_batch(uint32_t *seed)
{
    uint8_t covered[MODEL_N * 2 + 2] = { 0 };
    uint64_t high0 = next_rand(seed) % MODEL_N;
    int is_known = high0 > 0;
    uint64_t start = next_rand(seed) % (MODEL_N + 4);
    struct poscheck p;
    int is_honest = start <= high0, n_refused = 0;
    uint64_t prev = start;

    for (uint64_t i = 1; i <= high0; i++)
        covered[i] = 1;
    poscheck_begin(&p, is_known, high0, start);
    int n = 1 + (int)(next_rand(seed) % 6);
    for (int k = 0; k < n; k++) {
        uint64_t end = next_rand(seed) % (MODEL_N * 2 + 1);
        if (end <= prev)
            is_honest = 0;
        if (poscheck_record(&p, end) < 0) {
            n_refused++;
            continue;
        }
        assert_true(n_refused == 0);    /* none after a refusal */
        for (uint64_t b = prev + 1; b <= end; b++)
            covered[b] = 1;
        prev = end;
    }
    for (uint64_t b = 1; b <= p.high; b++)
        assert_true(covered[b]);
    if (is_honest)
        assert_int_equal(n_refused, 0);
}

static void
test_poscheck_model(void **state)
{
    uint32_t seed = 12345;

    (void)state;
    for (int i = 0; i < 200000; i++)
        model_batch(&seed);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poscheck_new_source_from_zero),
        cmocka_unit_test(test_poscheck_new_source_not_at_zero),
        cmocka_unit_test(test_poscheck_continues),
        cmocka_unit_test(test_poscheck_skips_ahead),
        cmocka_unit_test(test_poscheck_resend),
        cmocka_unit_test(test_poscheck_backwards),
        cmocka_unit_test(test_poscheck_jump),
        cmocka_unit_test(test_poscheck_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
