/* SPDX-License-Identifier: MIT */
/*
 * block_bound_test: a damaged block body's own claims (its record count)
 * never size an allocation past what its bytes can hold. Codec 9's
 * newline arrays were sized by the claimed count: a 17-byte body that
 * claims billions of records made frame_cuts (block_frame_compress) ask
 * for 7.5 GB (d623d1b; tests/fuzz/corpus/block/oom-codec9-count: only
 * libFuzzer's malloc limit caught it, the plain corpus replay did not).
 * The reader's side (block_decode) bounds its count by the body's length
 * before any allocation. The case runs in a child whose allocations are
 * capped at 256 MiB (RLIMIT_AS; under ASan, whose shadow needs the
 * address space, its max_allocation_size_mb): xmalloc exits on a refused
 * allocation, so an unbounded one fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/store/store_internal.h"
#include "common/buf.h"

#define BOUND_MIB 256

#if defined(__SANITIZE_ADDRESS__)
#define BOUND_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BOUND_ASAN 1
#endif
#endif

#ifdef BOUND_ASAN
/* ASan reads this at start: an allocation over the cap returns NULL
 * (xmalloc then exits) instead of being granted lazily. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
    return "max_allocation_size_mb=256:allocator_may_return_null=1";
}
#endif

/* The fuzzer's input kept in the corpus (fuzz_block's layout: byte 0 picks
 * codec 9, byte 1 the labels, bytes 2-3 a record count; the body from byte
 * 4), whose own count varint claims billions of records. */
static const uint8_t oom_codec9[] = {
    0x00, 0x00, 0xfe, 0xfd, 0xff, 0xfd, 0xfd, 0xfd, 0x06, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x61, 0x0a,
};

/* Compresses the damaged body as a sealed frame would be. */
static void
bound_run(void)
{
    struct buf z;

    buf_init(&z, STORE_MAX_RAW);
    /* the body's count is not believed: its cuts fall back to bytes */
    if (block_frame_compress(&z, oom_codec9 + 4, sizeof(oom_codec9) - 4,
                             STORE_CODEC_FRAMES_NL, 1) != 0)
        _exit(3);
    buf_fini(&z);
}

/* Runs bound_run in a child under the allocation cap: 0 when it ended
 * well. */
static int
bound_child(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
#ifndef BOUND_ASAN
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)BOUND_MIB << 20;
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(5);
#endif
        bound_run();
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
test_bound_frame_cuts(void **state)
{
    (void)state;
    assert_int_equal(bound_child(), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_frame_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
