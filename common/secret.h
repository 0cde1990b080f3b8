/* SPDX-License-Identifier: MIT */
/*
 * secret: reading token files, the one way the collector, the shipper and
 * logq do it (SECURITY.md). A file is refused when it is not a regular
 * file or when its mode gives the group or others any access (as ssh does
 * with private keys), and a token shorter than SECRET_MIN_LEN bytes is
 * refused. Trailing whitespace (space, tab, CR, LF) is trimmed the same
 * way everywhere, so "echo TOKEN >file" and "printf TOKEN >file" agree.
 * Reports errors as text; logs nothing.
 */
#ifndef COMMON_SECRET_H
#define COMMON_SECRET_H

#include <stddef.h>

#define SECRET_MIN_LEN   32
#define SECRET_MAX_FILE  (64u * 1024)

/* Reads the whole file at path (at most max bytes) after checking it is a
 * regular file with no group/other permission bits. On success *out is a
 * NUL-terminated copy (caller frees with secret_free(*out, *len)) and *len
 * its length. -1 with *errstr (caller frees) naming the file and, for a
 * bad mode, the mode. */
int    secret_file_read(const char *path, size_t max, char **out,
                        size_t *len, char **errstr);
/* The length of p[0..len) without its trailing whitespace. */
size_t secret_trim(const char *p, size_t len);
/* A shared token file (one token, the whole file): secret_file_read, then
 * secret_trim, then at least SECRET_MIN_LEN bytes. Same contract as
 * secret_file_read; what names the file in errors. */
int    secret_token_file_read(const char *path, const char *what, char **out,
                              size_t *len, char **errstr);
/* 1 if p[0..len) can travel in an HTTP header as a bearer token: visible
 * ASCII (0x21-0x7e) only, at least SECRET_MIN_LEN bytes. */
int    secret_is_bearer(const char *p, size_t len);
/* The entry lines of a token file with one entry per line (the HTTP token
 * file, the collector's enrolled hosts): each line without its trailing
 * whitespace (secret_trim), blank lines and '#' comments skipped, lines
 * numbered from 1 for errors. */
struct secret_lines {
    const char *text;
    size_t      len;
    size_t      pos;
    size_t      lineno;     /* of the line secret_lines_next returned */
};
void   secret_lines_init(struct secret_lines *it, const char *text,
                         size_t len);
/* 1 with the next entry line in *line, *n (trimmed), else 0 at the end. */
int    secret_lines_next(struct secret_lines *it, const char **line,
                         size_t *n);
/* Splits line[0..len) at spaces and tabs into at most max fields (f, fl);
 * returns how many, or max + 1 when there are more. */
size_t secret_fields(const char *line, size_t len, const char **f,
                     size_t *fl, size_t max);
/* Zeroes p[0..len) and frees it; NULL is a no-op. */
void   secret_free(char *p, size_t len);

#endif
