/* SPDX-License-Identifier: MIT */
/*
 * fuzzmodel: pieces of the models the fuzz targets check parsers against,
 * written apart from the code under test (so a shared bug cannot hide).
 */
#ifndef TESTS_FUZZ_FUZZMODEL_H
#define TESTS_FUZZ_FUZZMODEL_H

#include <stddef.h>

/* Field i (0-based) of line[0..len) split at spaces and tabs: 0 with
 * *f, *fl, or -1 when the line has no field i. */
static inline int
fuzz_field(const char *line, size_t len, int i, const char **f, size_t *fl)
{
    size_t pos = 0;

    for (int k = 0; k <= i; k++) {
        while (pos < len && (line[pos] == ' ' || line[pos] == '\t'))
            pos++;
        if (pos == len)
            return -1;
        *f = line + pos;
        while (pos < len && line[pos] != ' ' && line[pos] != '\t')
            pos++;
        *fl = (size_t)(line + pos - *f);
    }
    return 0;
}

#endif
