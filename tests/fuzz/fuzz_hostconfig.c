/* SPDX-License-Identifier: MIT */
/*
 * fuzz_hostconfig: libFuzzer target for the hostconfig.json parser
 * (shipper/hostconfig.c: json-file's max-file, read for a container found
 * without a saved position). The input is the file. Invariants checked
 * with assert: a success gives a max-file in 1..HOSTCONFIG_MAX_FILES, a
 * failure leaves the output untouched, and the same input parses the
 * same way twice.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "shipper/hostconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int a = -5, b = -5;

    if (size > HOSTCONFIG_MAX_SIZE)
        return 0;
    int ra = hostconfig_max_file_parse((const char *)data, size, &a);
    int rb = hostconfig_max_file_parse((const char *)data, size, &b);
    assert(ra == rb && a == b);
    if (ra == 0)
        assert(a >= 1 && a <= HOSTCONFIG_MAX_FILES);
    else
        assert(ra == -1 && a == -5);
    return 0;
}
