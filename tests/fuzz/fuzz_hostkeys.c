/* SPDX-License-Identifier: MIT */
/*
 * fuzz_hostkeys: libFuzzer target for the collector's enrolled shippers
 * file (--token-file: HOST TOKEN per line, collector/ingest/hostkeys.c).
 * Invariants checked with assert, against a model written here: a refused
 * file gets an error that names the path; an accepted file has one entry
 * per line that is not blank or a '#' comment, each line's host is a
 * valid host name and looks up exactly its own token (32-1024 visible
 * ASCII bytes, trailing whitespace trimmed as common/secret.c does; no
 * third field), and a host not in the file gets nothing.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/ingest/hostkeys.h"
#include "common/secret.h"
#include "tests/fuzz/fuzzmodel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The entry on one line of an accepted file; 1 if the line holds one. */
static int
fuzz_check_line(const struct hostkeys *hk, const char *line, size_t len)
{
    const char *host, *tok, *got, *extra;
    size_t hl, tl, gl = 0, el;

    len = secret_trim(line, len);
    if (fuzz_field(line, len, 0, &host, &hl) < 0 || host[0] == '#')
        return 0;
    assert(fuzz_field(line, len, 1, &tok, &tl) == 0);
    assert(fuzz_field(line, len, 2, &extra, &el) < 0);
    assert(hostkeys_is_host(host, hl));
    assert(tl >= SECRET_MIN_LEN && tl <= HOSTKEYS_MAX_TOKEN);
    assert(secret_is_bearer(tok, tl));
    got = hostkeys_get(hk, host, hl, &gl);
    assert(got != NULL && gl == tl && memcmp(got, tok, tl) == 0);
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char *err = NULL;
    size_t gl = 0;

    if (size > 64 * 1024)
        return 0;
    (void)hostkeys_is_host(text, size);
    struct hostkeys *hk = hostkeys_parse(text, size, "hosts.txt", &err);
    if (hk == NULL) {
        assert(err != NULL && strncmp(err, "hosts.txt", 9) == 0);
        free(err);
        return 0;
    }
    assert(err == NULL);
    size_t entries = 0;
    for (size_t pos = 0; pos < size;) {
        const char *line = text + pos;
        const char *eol = memchr(line, '\n', size - pos);
        size_t len = eol ? (size_t)(eol - line) : size - pos;
        entries += (size_t)fuzz_check_line(hk, line, len);
        pos += len + 1;
    }
    assert(entries >= 1 && entries == hostkeys_count(hk));
    /* a space is in no host name, so this host is in no file */
    assert(hostkeys_get(hk, "not enrolled", 12, &gl) == NULL);
    hostkeys_free(hk);
    return 0;
}
