/* SPDX-License-Identifier: MIT */
/*
 * walgen: writes a store whose WAL holds a few commits (tests/fuzz/
 * walcorpus.sh builds it against the store of each WAL version and keeps
 * the wal.lqw it leaves as a seed of fuzz_wal). Uses only the store API
 * every version since WAL version 2 has; -DWALGEN_RECV sets receive times
 * (version 3 on). Usage: walgen DIR.
 * Commits: records of two hosts and three containers, one renamed
 * between commits (a second label for its source), a late record, an
 * empty message, a long one, stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/store/store.h"

#define WALGEN_T0 1700000000000000000LL

int
main(int argc, char **argv)
{
    static const char *const hosts[] = { "web1", "db1", "web1" };
    static const char *const cids[] = { "3f2a9c", "77d01e", "a0b1c2" };
    struct store_options opt;
    char *err = NULL;
    char msg[600];

    if (argc != 2) {
        fprintf(stderr, "usage: walgen DIR\n");
        return 2;
    }
    memset(&opt, 0, sizeof(opt));
    opt.block_size = 1 << 20;           /* nothing sealed: all in the WAL */
    struct store *s = store_open(argv[1], &opt, &err);
    if (s == NULL) {
        fprintf(stderr, "walgen: %s\n", err);
        return 1;
    }
    int64_t t = WALGEN_T0;
    for (int c = 0; c < 4; c++) {
        for (int i = 0; i < 5; i++) {
            int k = (c + i) % 3;
            struct logrec r;
            memset(&r, 0, sizeof(r));
            r.host = hosts[k];
            r.container_id = cids[k];
            r.container = k == 0 && c >= 2 ? "web-renamed" : "web";
            r.image = k == 1 ? "postgres:16" : "nginx:1.25";
            r.stream = (uint8_t)(i == 3);
            r.offset = (uint64_t)(c * 5 + i + 1) * 100;
            t += i == 2 ? -3000000 : 1000000;   /* one late record */
            r.time_ns = t;
#ifdef WALGEN_RECV
            r.recv_ns = WALGEN_T0 + (int64_t)c * 50000000;
#endif
            if (i == 4 && c == 1) {
                r.msg = "";
            } else if (i == 4 && c == 3) {
                memset(msg, 'x', sizeof(msg));
                r.msg = msg;
                r.msg_len = sizeof(msg);
            } else {
                snprintf(msg, sizeof(msg), "GET /api/v%d/items/%d 200 %dms",
                         c, i, 3 * i + c);
                r.msg = msg;
                r.msg_len = strlen(msg);
            }
            if (store_append(s, &r) < 0) {
                fprintf(stderr, "walgen: append failed\n");
                return 1;
            }
        }
        if (store_commit(s) < 0) {
            fprintf(stderr, "walgen: commit failed\n");
            return 1;
        }
    }
    store_close(s);
    return 0;
}
