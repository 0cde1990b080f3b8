/* SPDX-License-Identifier: MIT */
/*
 * corpusdir.h: where the diff tests find the real log samples
 * (../shared/corpus beside the project, read its README; never copied
 * into the tree): $LOGQ_CORPUS when set and not empty (tests/run-unit.sh
 * sets an absolute path, or "none" when no corpus exists beside the
 * tree: each test then skips its corpus part), else ../shared/corpus from
 * the current directory. Header-only.
 */
#ifndef LOGQ_TESTS_SUPPORT_CORPUSDIR_H
#define LOGQ_TESTS_SUPPORT_CORPUSDIR_H

#include <stdlib.h>

static inline const char *
corpus_dir(void)
{
    const char *env = getenv("LOGQ_CORPUS");

    return env != NULL && *env ? env : "../shared/corpus";
}

#endif
