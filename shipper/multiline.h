/* SPDX-License-Identifier: MIT */
/*
 * multiline: the rules that join a stack trace's lines into one record
 * (README.md "Multi-line records"). multiline_classify() looks at one whole
 * line of one stream (Docker's partials already joined) and says whether it
 * starts a record or continues the one before it; a group is the record
 * being joined (text capped like any record, its start as a resume point).
 * No I/O, no clock, no emitting: the tailer (tail_read.c, tail.c's timer)
 * decides when a group ends and hands it to the sender, so every rule is
 * tested on plain strings.
 */
#ifndef SHIPPER_MULTILINE_H
#define SHIPPER_MULTILINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "shipper/tail.h"

#define MULTILINE_LABEL     "logq.multiline"
#define MULTILINE_MAX_LINES 1000
#define MULTILINE_GAP_NS    1000000000LL    /* 1 s: ends a group */
#define MULTILINE_MATCH_BYTES 4096          /* --multiline-match-bytes */

enum multiline_kind {
    MULTILINE_NONE,
    MULTILINE_JAVA,
    MULTILINE_PYTHON,
    MULTILINE_GO,
    MULTILINE_INDENT,
    MULTILINE_REGEX,
};

struct multiline_re;

struct multiline_rule {
    enum multiline_kind  kind;
    struct multiline_re *re;    /* MULTILINE_REGEX: a line matching starts
                                 * (with regexec's cache, which classify
                                 * resets: the rule is const, not this) */
};

enum multiline_verdict {
    MULTILINE_START,        /* starts a record */
    MULTILINE_CONTINUE,     /* continues the record before it */
    MULTILINE_SINGLE,       /* starts a record nothing can continue */
};

/* A group being joined: one per stream of a tailer. */
struct multiline_group {
    struct buf      msg;        /* capped at max_record + marker room */
    int             is_active;
    int             state;      /* the rule's state, 0 outside a trace */
    struct tail_pos start;      /* first byte of its first line */
    uint64_t        last_end;   /* logical offset past its last line */
    int64_t         time_ns;    /* its first line's Docker time */
    int64_t         last_time_ns;
    uint8_t         flags;
    uint64_t        dropped;    /* bytes past max_record */
    uint32_t        n_lines;
    int64_t         read_ns;    /* tail's clock when its last line came */
};

/*
 * Parses a rule: none, java, python, go, indent or regex:ERE. 0, or -1
 * with a one-line reason in err (out untouched). Free with
 * multiline_rule_fini.
 */
int multiline_rule_parse(const char *spec, struct multiline_rule *out,
                         char *err, size_t err_len);
void multiline_rule_fini(struct multiline_rule *r);
/* How often r's regex was compiled again to drop regexec's cache (a
 * budget of bytes matched times the regex's size spent, README.md
 * "Multi-line records"); 0 for the other rules. */
uint64_t multiline_rule_recompiles(const struct multiline_rule *r);
/* A regex rule is matched against at most the first n bytes of a line
 * (cut on a UTF-8 boundary, as if the line ended there), and fewer for a
 * large regex: 65536 / its size in nodes (README.md "Multi-line
 * records"). MULTILINE_MATCH_BYTES until set; no-op for the other rules. */
void multiline_rule_match_bytes(struct multiline_rule *r, size_t n);
/* The bytes of a line r's regex sees (0 for the other rules). */
size_t multiline_rule_match_max(const struct multiline_rule *r);
/* Lines longer than that, whose start alone the regex saw. */
uint64_t multiline_rule_lines_cut(const struct multiline_rule *r);

/*
 * The verdict for line[0..len) (no newline) given the stream's *state
 * (0 at first), which it updates. Never MULTILINE_CONTINUE for
 * MULTILINE_NONE.
 */
enum multiline_verdict multiline_classify(const struct multiline_rule *r,
                                          int *state, const char *line,
                                          size_t len);

void multiline_group_init(struct multiline_group *g, size_t max_record);
void multiline_group_fini(struct multiline_group *g);
/*
 * Adds a line to g (starting g when inactive, at start): its text joined
 * with '\n', cut at max_record on a UTF-8 boundary (the rest counted in
 * dropped, as are the line's own dropped bytes).
 */
void multiline_group_add(struct multiline_group *g, size_t max_record,
                         const uint8_t *text, size_t len, uint64_t dropped,
                         uint8_t flags, int64_t time_ns,
                         const struct tail_pos *start, uint64_t end);

#endif
