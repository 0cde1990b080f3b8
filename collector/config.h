/* SPDX-License-Identifier: MIT */
/*
 * config: logq-collector's settings. One table in config.c holds every
 * option (flag name, type, default, range, help, offset); command-line flags
 * are built from it and --help-config prints it. Once parsed the config is
 * read-only; main.c hands each component its part.
 */
#ifndef COLLECTOR_CONFIG_H
#define COLLECTOR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

struct api_auth;
struct hostkeys;
struct tls_ctx;

struct collector_config {
    char    *listen;            /* shipper TCP address, ADDR:PORT */
    char    *http;              /* HTTP API address, ADDR:PORT */
    char    *data_dir;
    char    *token_file;        /* enrolled hosts; NULL: no authentication */
    char    *log_level;
    char    *log_file;          /* NULL: stderr */
    char    *port_file;         /* NULL: none */
    int64_t  max_connections;
    int64_t  max_conns_per_addr;
    int64_t  max_hosts;
    int64_t  max_sources_per_host;
    int64_t  handshake_timeout_ns;
    int64_t  idle_timeout_ns;   /* after WELCOME (PING keeps it open) */
    int64_t  retention_age_ns;  /* 0: keep forever */
    int64_t  retention_bytes;   /* 0: no limit */
    int64_t  retention_interval_ns; /* retention timer period */
    int64_t  segment_size;      /* store_options.segment_size */
    int64_t  block_size;        /* store_options.block_size */
    int64_t  compress_level;    /* 0: the store's default */
    int64_t  recompact_level;   /* store_options.recompact_level */
    int64_t  recompact_age_ns;  /* store_options.recompact_age_ns */
    int64_t  seal_threads;      /* store_options.seal_threads */
    int64_t  seal_direct_io;    /* !store_options.is_seal_buffered */
    int64_t  max_scan_bytes;    /* api_options.max_scan_bytes */
    int64_t  query_threads;     /* api_options.query_threads */
    int64_t  max_searches;      /* api_options.max_searches */
    int64_t  max_followers;     /* api_options.max_followers */
    char    *redis;             /* NULL: metrics disabled */
    int64_t  metrics_retention_ns;
    int64_t  max_series;
    int64_t  max_metrics_hosts;
    int64_t  max_metric_names;
    int64_t  max_metric_names_per_host;
    int64_t  max_series_per_host;
    char    *http_token_file;   /* NULL: the HTTP API asks for no token */
    int64_t  is_insecure;       /* --insecure: non-loopback without tokens */
    char    *http_host;         /* --http-host names, comma list; NULL */
    int64_t  http_max_connections;
    int64_t  http_request_timeout_ns;
    int64_t  http_max_response;
    char    *tls_cert;          /* NULL: both ports speak plain TCP/HTTP */
    char    *tls_key;
    char    *tls_client_ca;     /* NULL: no client certificates asked */
    /* Derived by collector_config_parse. */
    enum log_level level;
    struct hostkeys *host_keys; /* from token_file, NULL without */
    struct api_auth *http_auth; /* from http_token_file, NULL without */
    struct tls_ctx *tls_api;    /* NULL without --tls-cert */
    struct tls_ctx *tls_ingest; /* the same, plus --tls-client-ca */
    int      is_check_only;     /* -t: validate and exit */
};

enum config_result {
    CONFIG_OK,
    CONFIG_EXIT,        /* --help and friends printed: exit 0 */
    CONFIG_ERROR,       /* *errstr set: exit 2 */
};

/* Parses argv over the table's defaults and loads the token file. On
 * CONFIG_ERROR *errstr is a message the caller frees with free(). Free the
 * config with collector_config_fini in every case. */
enum config_result collector_config_parse(struct collector_config *c,
                                          int argc, char **argv,
                                          char **errstr);
void collector_config_fini(struct collector_config *c);
/* SIGHUP (SECURITY.md "Token rotation"): reads the configured token
 * files again, both or neither. 0 with *hk and *au the new sets (NULL for
 * a file not configured; the caller owns them), -1 with *errstr (caller
 * frees) naming the bad file and line: c is never changed. */
int  collector_config_reload_tokens(const struct collector_config *c,
                                    struct hostkeys **hk,
                                    struct api_auth **au, char **errstr);
/* -1 with *errstr (caller frees) when --listen is not a loopback address
 * and no --token-file was given, or --http is not one and no
 * --http-token-file was, unless --insecure (SECURITY.md). */
int  collector_config_check_exposure(const struct collector_config *c,
                                     char **errstr);

/* Parses "50G", "512M", "1024" (binary units K M G T, optional B). */
int config_size_parse(const char *s, int64_t *out);

#endif
