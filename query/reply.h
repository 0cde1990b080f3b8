/* SPDX-License-Identifier: MIT */
/*
 * reply: parses what the collector sends back (one record per JSON line,
 * the hosts and containers arrays, {"error": ...} objects) into plain
 * structs, and the member getters the views of other replies (health.c,
 * metrics_view.c) use. Untrusted input: every malformed reply is an error
 * with a reason, never a crash.
 */
#ifndef QUERY_REPLY_H
#define QUERY_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/record.h"

struct json_t;
struct labelset;

/* One record line. rec's strings are borrowed from root (jansson path) or
 * mem (fast path: root is then NULL). */
struct reply_record {
    struct logrec   rec;        /* rec.labels: labels, NULL if none */
    struct labelset *labels;    /* owned: the "labels" object, if any */
    struct json_t  *root;
    char           *mem;        /* owned, fast path only */
    /* Not NULL when the line is byte for byte what record_json_append
     * writes for rec (without its '\n'): --json may print it as is.
     * Borrowed from the parsed line: valid while that line is. */
    const char     *canon;
    size_t          canon_len;
};

/* Parses one JSON line of /logs or /follow. Requires the string fields
 * time (RFC 3339), host, container, stream ("stdout"/"stderr"), message;
 * container_id and image default to "". One trailing '\n' of the message is
 * dropped. -1 with a reason in err. Release with reply_record_fini().
 * Lines in the collector's own shape (the fields of record_json_append in
 * its order, no whitespace) take a hand-written scanner; anything else,
 * and anything that scanner doubts, goes to jansson, so results and errors
 * are those of reply_record_parse_json. */
int  reply_record_parse(const char *line, size_t len, struct reply_record *out,
                        char *err, size_t errlen);
/* The same with jansson only (the reference for the fast path's tests). */
int  reply_record_parse_json(const char *line, size_t len,
                             struct reply_record *out, char *err,
                             size_t errlen);
void reply_record_fini(struct reply_record *r);

/* One row of /hosts or /containers; strings borrowed from the list. */
struct reply_item {
    const char *host;
    const char *container;      /* /containers only, else "" */
    const char *container_id;
    const char *image;
    int64_t     n_containers;   /* /hosts only, else -1 */
    int64_t     n_lines;
    const char *last_seen;      /* as sent */
    int64_t     last_seen_ns;   /* -1 if absent or unparseable */
    int         is_connected;   /* /hosts only: "connected" */
    int64_t     last_contact_ns; /* /hosts: -1 if null or absent */
    int64_t     down_since_ns;  /* /hosts: -1 if null or absent */
    /* /containers: "labels", the Docker labels (an object of strings,
     * borrowed from the list's root); NULL if absent */
    const struct json_t *labels;
};

struct reply_list {
    struct reply_item *items;
    size_t             n_items;
    struct json_t     *root;
};

/* Parses a JSON array of host or container objects. -1 with err. */
int  reply_list_parse(const char *body, size_t len, struct reply_list *out,
                      char *err, size_t errlen);
void reply_list_fini(struct reply_list *l);
/* The item indexes sorted by host, then container name, then container
 * id (bytewise): the order logq prints lists in. Caller frees. */
size_t *reply_list_sorted(const struct reply_list *l);
/* Appends item i as one compact JSON line (server's fields, in its order). */
int  reply_list_item_json(const struct reply_list *l, size_t i,
                          struct buf *out);

/* Writes the reason for a non-200 reply into err: the "error" string of a
 * JSON body, else "HTTP <status>" and the body's first line. */
void reply_error_parse(const char *body, size_t len, int status, char *err,
                       size_t errlen);

/* The string member key of object o (borrowed from o), or def when it is
 * missing, not a string or holds a NUL byte. */
const char *reply_member_str(struct json_t *o, const char *key,
                             const char *def);
/* The number member key of object o, or NAN when missing or not one. */
double reply_member_num(struct json_t *o, const char *key);

#endif
