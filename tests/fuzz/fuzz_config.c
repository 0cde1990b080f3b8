/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config: libFuzzer target for the argument parsers of the collector
 * and logq: the collector's option table (collector/config.c; it reads no
 * config file, the flags are the whole configuration), logq's command
 * lines (query/args.c, metrics_view.c) and its server URL (query/url.c,
 * --server or $LOGQ_SERVER); the shipper's flags are fuzz_shipconfig's
 * (its header's names clash with the collector's). The first byte
 * picks the parser, the rest is split at '\n' into argv (at most 64
 * words). A token file named there is read (common/secret.c; fuzz_tokens
 * covers its contents). Each parser runs twice in a row, as a program
 * would run it once: getopt_long's state must not leak from one parse into
 * the next. Invariants checked with assert: an error gives a message, a
 * success gives values within the table's ranges.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/config.h"
#include "query/args.h"
#include "query/metrics_view.h"
#include "query/url.h"
#include "common/xmalloc.h"
#include "tests/fuzz/fuzzargv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW_NS   1795787440123456789LL

static void
fuzz_collector(const uint8_t *p, size_t n)
{
    struct fuzz_argv a;
    struct collector_config c;
    char *err = NULL;

    fuzz_argv_init(&a, "logq-collector", p, n);
    enum config_result rc = collector_config_parse(&c, a.argc, a.argv, &err);
    assert((rc == CONFIG_ERROR) == (err != NULL));
    if (rc == CONFIG_OK) {
        assert(c.data_dir != NULL && c.data_dir[0] != '\0');
        assert(c.listen != NULL && c.http != NULL);
        assert(c.retention_age_ns >= 0 && c.retention_bytes >= 0);
        assert(c.max_connections >= 1 && c.segment_size > 0);
        if (collector_config_check_exposure(&c, &err) < 0) {
            assert(err != NULL);
            free(err);
            err = NULL;
        }
    }
    free(err);
    collector_config_fini(&c);
    fuzz_argv_fini(&a);
}

static void
fuzz_logq(int which, const uint8_t *p, size_t n)
{
    struct fuzz_argv a;
    struct search_args s;
    struct metrics_args m;
    char err[256] = "";
    int rc;

    fuzz_argv_init(&a, "logq", p, n);
    switch (which) {
    case 0:
        rc = args_search_parse(a.argc, a.argv, 1, FUZZ_NOW_NS, &s, err,
                               sizeof(err));
        break;
    case 1:
        rc = args_count_parse(a.argc, a.argv, 1, FUZZ_NOW_NS, &s, err,
                              sizeof(err));
        break;
    case 2:
        rc = args_histogram_parse(a.argc, a.argv, 1, FUZZ_NOW_NS, &s, err,
                                  sizeof(err));
        break;
    default:
        rc = metrics_args_parse(a.argc, a.argv, 1, FUZZ_NOW_NS, &m, err,
                                sizeof(err));
        assert(rc == 0 || err[0] != '\0');
        if (rc == 0) {
            struct buf out;
            buf_init(&out, 64 * 1024);
            (void)metrics_target_format(&m, &out);
            buf_fini(&out);
        }
        fuzz_argv_fini(&a);
        return;
    }
    assert(rc == 0 || err[0] != '\0');
    if (rc == 0) {
        assert(s.before <= ARGS_CONTEXT_MAX && s.after <= ARGS_CONTEXT_MAX);
        assert(s.n_regex <= ARGS_REGEX_MAX && s.limit >= 0);
        args_search_fini(&s);
    }
    fuzz_argv_fini(&a);
}

static void
fuzz_url(const uint8_t *p, size_t n)
{
    char *s = xstrndup((const char *)p, n);
    struct url u;
    char err[256] = "";

    if (url_parse(s, &u, err, sizeof(err)) == 0) {
        assert(u.host != NULL && u.host[0] != '\0' && u.port != 0);
        assert(u.prefix != NULL && (u.prefix[0] == '\0' ||
                                    u.prefix[0] == '/'));
        url_fini(&u);
    } else {
        assert(err[0] != '\0');
    }
    free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 8192)
        return 0;
    for (int round = 0; round < 2; round++) {
        switch (data[0] % 6) {
        case 0: fuzz_collector(data + 1, size - 1); break;
        case 1: fuzz_url(data + 1, size - 1); break;
        default: fuzz_logq(data[0] % 6 - 2, data + 1, size - 1); break;
        }
    }
    return 0;
}
