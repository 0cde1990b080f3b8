/* SPDX-License-Identifier: MIT */
/*
 * dockerlinefx: what the json-file line scanner's tests share
 * (shipper/dockerline_test.c, dockerline_diff_test.c): the Docker time
 * field they put in lines, and the message buffer (4 MiB cap) each test
 * decodes into, made and freed by setup and teardown. Test-only,
 * header-only.
 */
#ifndef TESTS_SUPPORT_DOCKERLINEFX_H
#define TESTS_SUPPORT_DOCKERLINEFX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/buf.h"

#define T_TIME "\"time\":\"2026-11-27T13:50:40.123456789Z\""
#define T_TIME_NS INT64_C(1795787440123456789)

static struct buf msg;

static inline int
setup(void **state)
{
    buf_init(&msg, 1 << 22);
    return 0;
}

static inline int
teardown(void **state)
{
    buf_fini(&msg);
    return 0;
}

#endif
