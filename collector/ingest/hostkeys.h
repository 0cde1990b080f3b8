/* SPDX-License-Identifier: MIT */
/*
 * hostkeys: the collector's enrolled shippers (--token-file; README,
 * SECURITY.md "Shipper identity"): one line per host, `HOST TOKEN`, '#'
 * comments, fields separated by spaces or tabs, trailing whitespace trimmed
 * as common/secret.c trims every token file. A shipper can authenticate
 * only as the host its token is enrolled for (common/PROTOCOL.md "Identity
 * and handshake"). Pure: parses text, answers lookups, no I/O.
 */
#ifndef COLLECTOR_INGEST_HOSTKEYS_H
#define COLLECTOR_INGEST_HOSTKEYS_H

#include <stddef.h>

#define HOSTKEYS_MAX_HOSTS  10000
#define HOSTKEYS_MAX_HOST   255         /* as a HELLO host name */
#define HOSTKEYS_MAX_TOKEN  1024
#define HOSTKEYS_MAX_FILE   (4u << 20)

struct hostkeys;

/*
 * Parses the file's text; path names it in errors ("path:line: reason").
 * NULL with *errstr (caller frees) on a bad line, a duplicate host or
 * token, a token under SECRET_MIN_LEN bytes, no host at all, or a file
 * that is a single bare token (the shared-token format of protocol
 * version 1, refused with a message naming the new format). Free with
 * hostkeys_free.
 */
struct hostkeys *hostkeys_parse(const char *text, size_t len,
                                const char *path, char **errstr);
/* Zeroes the tokens and frees; NULL is a no-op. */
void             hostkeys_free(struct hostkeys *hk);
size_t           hostkeys_count(const struct hostkeys *hk);
/* The token enrolled for host[0..host_len) (borrowed from hk), or NULL. */
const char      *hostkeys_get(const struct hostkeys *hk, const char *host,
                              size_t host_len, size_t *token_len);
/* 1 if host[0..len) is a valid host name: 1-255 bytes, none a control
 * byte, space or DEL (the rule for HELLO host names too). */
int              hostkeys_is_host(const char *host, size_t len);

#endif
