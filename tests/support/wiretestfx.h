/* SPDX-License-Identifier: MIT */
/*
 * wiretestfx: the fixture of common/wire_test.c and wire_payload_test.c:
 * an output buffer (64 MiB cap) and an inflate scratch buffer per test,
 * a wire_str of a C string, and one frame decoded from a buffer that
 * must hold exactly it. Test-only, header-only.
 */
#ifndef TESTS_SUPPORT_WIRETESTFX_H
#define TESTS_SUPPORT_WIRETESTFX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/wire.h"
#include "common/xmalloc.h"

struct fixture {
    struct buf out;
    struct buf scratch;
};

static inline int
setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    buf_init(&fx->out, 64u << 20);
    buf_init(&fx->scratch, WIRE_MAX_INFLATED);
    *state = fx;
    return 0;
}

static inline int
teardown(void **state)
{
    struct fixture *fx = *state;

    buf_fini(&fx->out);
    buf_fini(&fx->scratch);
    free(fx);
    return 0;
}

static inline struct wire_str
str_of(const char *s)
{
    struct wire_str w = { s, strlen(s) };
    return w;
}

static inline int
decode_one(const struct buf *b, struct wire_frame *f, const char **err)
{
    size_t used = 0;

    *err = NULL;
    int rc = wire_frame_decode(b->data, b->len, f, &used, err);
    if (rc == 1)
        assert_int_equal(used, b->len);
    return rc;
}

#endif
