/* SPDX-License-Identifier: MIT */
/*
 * config: the shipper's settings. One table (config.c) holds every option's
 * name, type, default, range and help; command-line flags are parsed from
 * it with getopt_long, and --help prints it. Read-only once parsed; main.c
 * hands each component its own part.
 */
#ifndef SHIPPER_CONFIG_H
#define SHIPPER_CONFIG_H

#include <stddef.h>

struct shipper_config {
    char      *collector;       /* HOST:PORT, required */
    char      *docker_root;
    char      *state_dir;       /* required */
    char      *hostname;        /* NULL: gethostname() */
    char      *token_file;
    char      *tls_ca;          /* NULL: plain TCP */
    char      *tls_cert;        /* client certificate, with tls_key */
    char      *tls_key;
    char      *log_level;
    char      *log_file;
    long long  max_record_size;
    long long  batch_bytes;
    long long  flush_ms;
    long long  max_inflight_bytes;
    long long  rescan_ms;
    char      *compression;     /* "zstd" (offered) or "zlib" */
    long long  zlevel;
    long long  compress_threads;    /* 0: compress on the loop thread */
    long long  writeback_step;      /* bytes read per writeback asked; 0:
                                       off (tail_wb.c) */
    long long  metrics_interval_s;  /* METRICS frame period */
    char      *proc_root;
    char      *sys_root;
    char      *host_root;       /* "": statvfs the mount points as they are */
    char      *cgroup_pattern;  /* "": Docker's default layouts only */
    char      *multiline;       /* default multi-line rule (multiline.h) */
    long long  multiline_match_bytes;   /* of a line a regex sees */
};

enum config_result {
    CONFIG_OK,
    CONFIG_HELP,        /* --help was printed: exit 0 */
    CONFIG_ERROR,       /* message in err: exit 2 */
};

/* Fills cfg from defaults then flags. Strings are owned by cfg (free with
 * shipper_config_fini). On CONFIG_ERROR err holds a one-line message. */
enum config_result shipper_config_parse(struct shipper_config *cfg, int argc,
                                        char **argv, char *err,
                                        size_t err_len);
void shipper_config_fini(struct shipper_config *cfg);
/* Splits "host:port" or "[v6]:port"; host is a new string (free()). */
int shipper_config_hostport(const char *s, char **host, int *port);

#endif
