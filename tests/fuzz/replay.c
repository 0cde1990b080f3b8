/* SPDX-License-Identifier: MIT */
/*
 * replay: a main() for libFuzzer targets when built without clang's
 * -fsanitize=fuzzer (compiled with -DLOGQ_FUZZ_REPLAY). Calls
 * LLVMFuzzerTestOneInput once per file named on the command line, or per
 * regular file inside a directory named there (not recursive), so the corpus
 * and every minimised crash run in the ordinary ASan build. Exits 1 if an
 * argument cannot be read; a crash in the target aborts as usual.
 */
#ifdef LOGQ_FUZZ_REPLAY

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/xmalloc.h"

#define REPLAY_MAX_INPUT (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the whole file; NULL on error. Caller frees. */
static uint8_t *
replay_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (n == cap) {
            if (cap >= REPLAY_MAX_INPUT)
                goto fail;
            cap = cap ? cap * 2 : 4096;
            data = xreallocarray(data, cap, 1);
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    *len = n;
    return data;
fail:
    free(data);
    fclose(f);
    return NULL;
}

static int
replay_file(const char *path, int *n_run)
{
    size_t len = 0;
    uint8_t *data = replay_read(path, &len);

    if (data == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* an exact-size copy so ASan catches reads one past the input */
    uint8_t *exact = xmalloc(len ? len : 1);
    if (len)
        memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*n_run)++;
    return 0;
}

static int
replay_dir(const char *dir, int *n_run)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            replay_file(path, n_run) < 0)
            rc = -1;
        free(path);
    }
    closedir(d);
    return rc;
}

int
main(int argc, char **argv)
{
    int n_run = 0, rc = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (replay_dir(argv[i], &n_run) < 0)
                rc = 1;
        } else if (replay_file(argv[i], &n_run) < 0) {
            rc = 1;
        }
    }
    printf("replay: %d inputs\n", n_run);
    return rc;
}

#else
/* Built by libFuzzer instead: the unit must still not be empty (ISO C). */
typedef int replay_unused;
#endif
