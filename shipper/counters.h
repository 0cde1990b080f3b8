/* SPDX-License-Identifier: MIT */
/*
 * counters: the shipper's process-wide counters. One struct owned by main.c
 * and handed by pointer to docker, tail and sender, which only increment
 * it; main.c logs it periodically at debug and once at exit. Plain
 * integers: the shipper is single-threaded.
 */
#ifndef SHIPPER_COUNTERS_H
#define SHIPPER_COUNTERS_H

#include <stdint.h>

struct shipper_counters {
    uint64_t lines;               /* json-file lines parsed */
    uint64_t bytes;               /* log file bytes read */
    uint64_t records;             /* records handed to the sender */
    uint64_t records_raw;         /* malformed lines shipped raw */
    uint64_t records_truncated;   /* records cut at the max record size */
    uint64_t rotations;           /* moves to a newer file */
    uint64_t truncations;         /* file shrank under us */
    uint64_t gaps;                /* saved/next file gone: possible loss */
    uint64_t read_errors;         /* open/read/stat failures */
    uint64_t configs_bad;         /* missing or unparsable config.v2.json */
    uint64_t files_refused;       /* symlink/non-regular log or config */
    uint64_t multiline_bad_rule;  /* logq.multiline labels not a rule */
    uint64_t multiline_recompiles;/* regex rules compiled again to drop
                                     regexec's cache (multiline.c) */
    uint64_t multiline_lines_cut; /* lines a regex rule saw the start of
                                     only (--multiline-match-bytes) */
    uint64_t deleted_open_dropped;/* deleted containers closed at the cap */
    uint64_t rescan_misses;       /* rescan looks that read bytes no inotify
                                     event announced (docker_look.c) */
    uint64_t files_held;          /* gauge: newer log files held open ahead
                                     (tail_ahead.c, at most 256 in all) */
    uint64_t reconnects;          /* connection attempts after the first */
    uint64_t collector_auth_failures; /* collector failed to prove itself */
    uint64_t frames_bad_mac;      /* frames from the collector refused */
    uint64_t batches_sent;        /* frames written (incl. resends) */
    uint64_t batches_acked;
    uint64_t batches_resent;
    uint64_t metrics_dropped;     /* METRICS frames refused: queue full */
    uint64_t state_writes;
    uint64_t state_errors;
    /* Reading paused by the sender (sender_can_accept said no), by what
     * ended the pause: ACKs (the in-flight window was full) or the
     * compressor (a closed batch waited for it); and how long in all. */
    uint64_t window_waits;
    uint64_t window_wait_ms;
    uint64_t compress_waits;
    uint64_t compress_wait_ms;
    /* Writeback asked of the kernel for json-file pages read (tail_wb.c):
     * calls, bytes, time spent in them (total, longest), failures. */
    uint64_t wb_calls;
    uint64_t wb_bytes;
    uint64_t wb_ns;
    uint64_t wb_max_ns;
    uint64_t wb_errors;
};

#endif
