/* SPDX-License-Identifier: MIT */
/*
 * fuzz_shipconfig: libFuzzer target for the shipper's argument parser
 * (shipper/config.c: the option table and HOST:PORT; it reads no config
 * file, the flags are the whole configuration). The input is split at
 * '\n' into argv (at most 64 words). The parser runs twice in a row:
 * getopt_long's state must not leak from one parse into the next.
 * Invariants checked with assert: an error gives a message, a success
 * gives a collector address that splits into a host and a port 1-65535
 * and values within the table's ranges.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "shipper/config.h"
#include "tests/fuzz/fuzzargv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_shipper(const uint8_t *p, size_t n)
{
    struct fuzz_argv a;
    struct shipper_config c;
    char err[256] = "";

    fuzz_argv_init(&a, "logq-shipper", p, n);
    enum config_result rc = shipper_config_parse(&c, a.argc, a.argv, err,
                                                 sizeof(err));
    assert(rc != CONFIG_ERROR || err[0] != '\0');
    if (rc == CONFIG_OK) {
        char *host = NULL;
        int port = 0;
        assert(shipper_config_hostport(c.collector, &host, &port) == 0);
        assert(host != NULL && port >= 1 && port <= 65535);
        assert(c.max_record_size >= 1024 && c.zlevel >= 1 && c.zlevel <= 9);
        assert(c.compress_threads >= 0 && c.compress_threads <= 16);
        free(host);
    }
    shipper_config_fini(&c);
    fuzz_argv_fini(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    fuzz_shipper(data, size);
    fuzz_shipper(data, size);
    return 0;
}
