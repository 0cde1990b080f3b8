/* SPDX-License-Identifier: MIT */
/*
 * escape: makes bytes that came from elsewhere (a log line, a container
 * name, a peer's host name) safe to put on a terminal or into a log line.
 * Escaped: \n \r (and \t unless ESCAPE_KEEP_TAB) as two-character escapes;
 * every other C0 byte, DEL and each byte of an invalid UTF-8 sequence as
 * \xNN; the C1 controls U+0080..U+009F (valid UTF-8, but CSI, OSC... to a
 * terminal) as \u00NN; with ESCAPE_QUOTE also '"' and '\' (a value inside
 * key="..." in a log line cannot close its quotes). Everything else
 * (printable ASCII, valid UTF-8 from U+00A0) is copied, so the result is
 * valid UTF-8 with no control character. A backslash is otherwise kept:
 * the escapes are for people to read, not to reverse. Pure; fuzzed by the
 * unit test's random model check.
 */
#ifndef COMMON_ESCAPE_H
#define COMMON_ESCAPE_H

#include <stddef.h>

#include "common/buf.h"

#define ESCAPE_KEEP_TAB 1u      /* a tab stays a tab (record messages) */
#define ESCAPE_QUOTE    2u      /* '"' -> \", '\' -> \\ (quoted log values) */

/* Appends s[0..n) escaped to out. -1 on out's cap (out unchanged). */
int   escape_append(struct buf *out, const char *s, size_t n,
                    unsigned flags);
/* Writes s[0..n) escaped into dst as a NUL-terminated string of at most
 * size - 1 bytes; if it does not fit it is cut between two escapes and
 * ends with "...". size 0 writes nothing. Returns dst. */
char *escape_str(char *dst, size_t size, const char *s, size_t n,
                 unsigned flags);
/* 1 if s[0..n) would come out of escape_append unchanged. */
int   escape_is_plain(const char *s, size_t n, unsigned flags);

#endif
