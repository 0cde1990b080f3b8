/* SPDX-License-Identifier: MIT */
/*
 * config: the collector's option table and its command-line parser
 * (getopt_long options built from the table). The table is the only place
 * defaults live. Address values are checked with listen_parse_addr, the
 * same parser ingest.c and api.c bind with, so a value that passes here
 * binds there. Reads the token files (common/secret.c: private, trimmed,
 * 32 bytes or more) and the TLS certificate and key (common/tls.c); logs
 * nothing (main.c reports errors).
 */
#include "collector/config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector/api/api_auth.h"
#include "collector/api/api_host.h"
#include "collector/ingest/hostkeys.h"
#include "collector/ingest/listen.h"
#include "common/manfmt.h"
#include "common/secret.h"
#include "common/tls.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

enum config_type { CONFIG_STR, CONFIG_ADDR, CONFIG_INT, CONFIG_DURATION,
                   CONFIG_SIZE, CONFIG_LEVEL, CONFIG_FLAG,
                   CONFIG_LIST };   /* repeatable: values joined by ',' */

struct config_def {
    const char      *name;
    enum config_type type;
    const char      *def;       /* NULL: unset */
    int64_t          min, max;  /* numeric types */
    size_t           offset;
    const char      *help;
};

#define CFG(f) offsetof(struct collector_config, f)
static const struct config_def config_defs[] = {
    { "listen", CONFIG_ADDR, "0.0.0.0:7070", 0, 0, CFG(listen),
      "shipper listener ADDR:PORT (port 0: any)" },
    { "http", CONFIG_ADDR, "127.0.0.1:7080", 0, 0, CFG(http),
      "HTTP API ADDR:PORT (port 0: any)" },
    { "data-dir", CONFIG_STR, NULL, 0, 0, CFG(data_dir),
      "store directory (required; created 0700 with missing parents)" },
    { "token-file", CONFIG_STR, NULL, 0, 0, CFG(token_file),
      "enrolled shippers, HOST TOKEN per line (unset: no auth; re-read "
      "on SIGHUP)" },
    { "log-level", CONFIG_LEVEL, "info", 0, 0, CFG(log_level),
      "error, warn, info or debug" },
    { "log-file", CONFIG_STR, NULL, 0, 0, CFG(log_file),
      "log to this file instead of stderr" },
    { "port-file", CONFIG_STR, NULL, 0, 0, CFG(port_file),
      "write \"<tcp_port> <http_port>\" here once bound" },
    { "max-connections", CONFIG_INT, "1024", 1, 65536, CFG(max_connections),
      "shipper connections at once" },
    { "max-connections-per-address", CONFIG_INT, "64", 1, 65536,
      CFG(max_conns_per_addr), "shipper connections at once from one IP" },
    { "max-hosts", CONFIG_INT, "1024", 1, 1000000, CFG(max_hosts),
      "distinct shipper host names; a new one past it is refused" },
    { "max-sources-per-host", CONFIG_INT, "4096", 1, 1000000,
      CFG(max_sources_per_host),
      "distinct containers per host; records of new ones past it dropped" },
    { "handshake-timeout", CONFIG_DURATION, "10s", 100000000,
      INT64_C(600000000000), CFG(handshake_timeout_ns),
      "time a shipper has to complete the handshake" },
    { "idle-timeout", CONFIG_DURATION, "20s", INT64_C(10000000000),
      INT64_C(3600000000000), CFG(idle_timeout_ns),
      "close a shipper that completes no frame for this long (idle "
      "shippers PING every 5-7.5 s)" },
    { "retention-age", CONFIG_DURATION, "0s", 0, INT64_MAX,
      CFG(retention_age_ns), "delete logs older than this (0: never)" },
    { "retention-size", CONFIG_SIZE, "0", 0, INT64_MAX, CFG(retention_bytes),
      "keep at most this much on disk, e.g. 50G (0: no limit)" },
    { "retention-interval", CONFIG_DURATION, "10s", 100000000,
      INT64_C(3600000000000), CFG(retention_interval_ns),
      "how often retention runs without traffic" },
    { "segment-size", CONFIG_SIZE, "64M", 4096, INT64_C(1) << 40,
      CFG(segment_size), "raw bytes per store segment" },
    { "block-size", CONFIG_SIZE, "1M", 1024, 128 << 20, CFG(block_size),
      "raw bytes per compressed block (at most 128M)" },
    { "compress-level", CONFIG_INT, "0", 0, 19, CFG(compress_level),
      "zstd level 1..19 for sealed blocks (0: the store's default, 1)" },
    { "recompact-level", CONFIG_INT, "0", 0, 19, CFG(recompact_level),
      "zstd level full segments are compressed again at by a background "
      "thread at nice 19 (0: off; e.g. 9 or 19: collector/STORE.md)" },
    { "recompact-age", CONFIG_DURATION, "1h", 0, INT64_MAX,
      CFG(recompact_age_ns),
      "recompact only segments last written longer ago than this" },
    { "seal-threads", CONFIG_INT, "2", 1, 8, CFG(seal_threads),
      "threads that compress sealed blocks' frames, the sealing thread "
      "included (1: it alone; 2 or more: one more gathering token sets "
      "too; the bytes stored are the same)" },
    { "seal-direct-io", CONFIG_INT, "1", 0, 1, CFG(seal_direct_io),
      "1: sealed blocks and their .lqi written past the page cache "
      "(O_DIRECT where the file system takes it: less CPU; a query's "
      "first read of a block just sealed comes from the disk); 0: through "
      "it" },
    { "max-scan-bytes", CONFIG_SIZE, "16G", 1 << 20, INT64_C(1) << 40,
      CFG(max_scan_bytes),
      "message bytes one search may read before it stops (422)" },
    { "query-threads", CONFIG_INT, "2", 1, 64, CFG(query_threads),
      "worker threads that run searches off the event loop" },
    { "max-searches", CONFIG_INT, "16", 1, 4096, CFG(max_searches),
      "searches/counts/histograms in progress at once; more get 503" },
    { "max-followers", CONFIG_INT, "64", 1, 65536, CFG(max_followers),
      "/follow streams (logq -f) open at once; more get 503" },
    { "redis", CONFIG_STR, NULL, 0, 0, CFG(redis),
      "Redis for metrics: HOST:PORT or /path/to.sock (unset: no metrics)" },
    { "metrics-retention", CONFIG_DURATION, "24h", INT64_C(1000000000),
      INT64_C(31622400000000000), CFG(metrics_retention_ns),
      "keep metrics in Redis this long" },
    { "max-series", CONFIG_INT, "100000", 1, 10000000, CFG(max_series),
      "distinct metric series written to Redis; more are dropped" },
    { "max-metrics-hosts", CONFIG_INT, "10000", 1, 10000,
      CFG(max_metrics_hosts),
      "distinct hosts whose metrics are written to Redis; more are dropped" },
    { "max-metric-names", CONFIG_INT, "10000", 1, 100000,
      CFG(max_metric_names),
      "distinct metric names written to Redis; samples of more are dropped" },
    { "max-metric-names-per-host", CONFIG_INT, "100", 1, 50000,
      CFG(max_metric_names_per_host),
      "distinct metric names of one host (a shipper sends 38; at most half "
      "of --max-metric-names); samples of more are dropped" },
    { "max-series-per-host", CONFIG_INT, "30000", 1, 5000000,
      CFG(max_series_per_host),
      "metric series of one host (4096 containers make about 25000; at "
      "most half of --max-series); samples of more are dropped" },
    /* who gets in (SECURITY.md) */
    { "http-token-file", CONFIG_STR, NULL, 0, 0, CFG(http_token_file),
      "HTTP API bearer tokens, NAME ROLE TOKEN per line (unset: no auth; "
      "re-read on SIGHUP)" },
    { "insecure", CONFIG_FLAG, "0", 0, 1, CFG(is_insecure),
      "allow a non-loopback --listen/--http without its token file" },
    { "http-host", CONFIG_LIST, NULL, 0, 0, CFG(http_host),
      "Host names the API answers besides IPs and localhost: NAME, "
      ".DOMAIN or * (repeatable, or a comma list)" },
    /* HTTP limits (SECURITY.md) */
    { "http-max-connections", CONFIG_INT, "256", 1, 65536,
      CFG(http_max_connections), "HTTP connections at once; more get 503" },
    { "http-request-timeout", CONFIG_DURATION, "10s", 100000000,
      INT64_C(600000000000), CFG(http_request_timeout_ns),
      "a request must arrive whole within this of its connection opening "
      "(or of the previous response)" },
    { "http-max-response", CONFIG_SIZE, "256M", 4096, INT64_C(1) << 40,
      CFG(http_max_response),
      "body bytes one HTTP response may carry; longer ones are cut" },
    /* TLS on both ports (SECURITY.md "TLS") */
    { "tls-cert", CONFIG_STR, NULL, 0, 0, CFG(tls_cert),
      "PEM certificate chain: --listen and --http speak TLS only" },
    { "tls-key", CONFIG_STR, NULL, 0, 0, CFG(tls_key),
      "PEM private key of --tls-cert (a private file, 0600)" },
    { "tls-client-ca", CONFIG_STR, NULL, 0, 0, CFG(tls_client_ca),
      "shippers need a client certificate from this CA naming their host" },
};
#define CONFIG_N_DEFS (sizeof(config_defs) / sizeof(config_defs[0]))

enum { CONFIG_OPT_HELP = 1000, CONFIG_OPT_HELP_CONFIG, CONFIG_OPT_PRINT,
       CONFIG_OPT_MAN };

/* ---- value parsing ---- */

int
config_size_parse(const char *s, int64_t *out)
{
    char *end;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    int shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    case 'T': case 't': shift = 40; end++; break;
    default: break;
    }
    if (shift != 0 && *end == 'i')
        end++;
    if (*end == 'B')
        end++;
    if (*end != '\0' || n > ((unsigned long long)INT64_MAX >> shift))
        return -1;
    *out = (int64_t)(n << shift);
    return 0;
}

/* Appends v to the comma list *field; the result must parse as
 * --http-host (the only list), so a bad name stops the start here. */
static int
config_list_add(char **field, const char *v, char **errstr)
{
    char *list = *field ? xasprintf("%s,%s", *field, v) : xstrdup(v);
    struct api_hosts *h = api_hosts_parse(list, errstr);

    if (h == NULL) {
        free(list);
        return -1;
    }
    api_hosts_free(h);
    free(*field);
    *field = list;
    return 0;
}

static int
config_set(struct collector_config *c, const struct config_def *d,
           const char *v, char **errstr)
{
    void *field = (char *)c + d->offset;
    int64_t n = 0;
    char *end;
    struct sockaddr_storage ss;
    int ss_len = sizeof(ss);
    enum log_level lvl;

    switch (d->type) {
    case CONFIG_ADDR:
        if (listen_parse_addr(v, &ss, &ss_len) < 0)
            goto bad;
        /* FALLTHROUGH */
    case CONFIG_STR:
    case CONFIG_LEVEL:
        if (d->type == CONFIG_LEVEL && log_level_parse(v, &lvl) < 0)
            goto bad;
        free(*(char **)field);
        *(char **)field = xstrdup(v);
        return 0;
    case CONFIG_LIST:
        return config_list_add((char **)field, v, errstr);
    case CONFIG_INT:
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0')
            goto bad;
        break;
    case CONFIG_DURATION:
        if (strcmp(v, "0") != 0 && duration_parse_ns(v, &n) < 0)
            goto bad;
        break;
    case CONFIG_SIZE:
        if (config_size_parse(v, &n) < 0)
            goto bad;
        break;
    case CONFIG_FLAG:           /* no argument on the command line */
        n = v == NULL || strcmp(v, "0") != 0;
        break;
    }
    if (n < d->min || n > d->max) {
        *errstr = xasprintf("--%s: %s out of range [%" PRId64 ", %" PRId64
                            "]", d->name, v, d->min, d->max);
        return -1;
    }
    *(int64_t *)field = n;
    return 0;
bad:
    *errstr = xasprintf("--%s: bad value '%s'", d->name, v);
    return -1;
}

/* ---- tokens ---- */

static int
config_load_host_keys(const char *path, struct hostkeys **out, char **errstr)
{
    char *text, *err = NULL;
    size_t len;

    if (secret_file_read(path, HOSTKEYS_MAX_FILE, &text, &len, &err) < 0) {
        *errstr = xasprintf("--token-file %s", err);
        free(err);
        return -1;
    }
    *out = hostkeys_parse(text, len, path, &err);
    secret_free(text, len);
    if (*out == NULL) {
        *errstr = xasprintf("--token-file %s", err);
        free(err);
        return -1;
    }
    return 0;
}

static int
config_load_http_tokens(const char *path, struct api_auth **out,
                        char **errstr)
{
    char *text, *err = NULL;
    size_t len;

    if (secret_file_read(path, SECRET_MAX_FILE, &text, &len, &err) < 0) {
        *errstr = xasprintf("--http-token-file %s", err);
        free(err);
        return -1;
    }
    *out = api_auth_parse(text, len, path, &err);
    secret_free(text, len);
    if (*out == NULL) {
        *errstr = xasprintf("--http-token-file %s", err);
        free(err);
        return -1;
    }
    return 0;
}

int
collector_config_reload_tokens(const struct collector_config *c,
                               struct hostkeys **hk, struct api_auth **au,
                               char **errstr)
{
    struct hostkeys *new_hk = NULL;
    struct api_auth *new_au = NULL;

    if ((c->token_file != NULL &&
         config_load_host_keys(c->token_file, &new_hk, errstr) < 0) ||
        (c->http_token_file != NULL &&
         config_load_http_tokens(c->http_token_file, &new_au, errstr) < 0)) {
        hostkeys_free(new_hk);
        return -1;
    }
    *hk = new_hk;
    *au = new_au;
    return 0;
}

/* Two server contexts: the shipper port's asks for client certificates
 * when --tls-client-ca is given, the API's never (it has bearer tokens). */
static int
config_load_tls(struct collector_config *c, char **errstr)
{
    char *err = NULL;

    if (c->tls_cert == NULL && c->tls_key == NULL) {
        if (c->tls_client_ca == NULL)
            return 0;
        *errstr = xstrdup("--tls-client-ca needs --tls-cert and --tls-key");
        return -1;
    }
    if (c->tls_cert == NULL || c->tls_key == NULL) {
        *errstr = xstrdup("--tls-cert and --tls-key go together");
        return -1;
    }
    c->tls_api = tls_server_new(c->tls_cert, c->tls_key, NULL, &err);
    if (c->tls_api != NULL)
        c->tls_ingest = tls_server_new(c->tls_cert, c->tls_key,
                                       c->tls_client_ca, &err);
    if (c->tls_ingest == NULL) {
        *errstr = xasprintf("TLS: %s", err);
        free(err);
        return -1;
    }
    return 0;
}

/* 1 if addr (ADDR:PORT, already checked) is a loopback address: 127/8,
 * ::1 or ::ffff:127.x. */
static int
config_is_loopback(const char *addr)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (listen_parse_addr(addr, &ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a6) ||
           (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

int
collector_config_check_exposure(const struct collector_config *c,
                                char **errstr)
{
    if (c->is_insecure)
        return 0;
    if (c->host_keys == NULL && !config_is_loopback(c->listen)) {
        *errstr = xasprintf("--listen %s is not a loopback address: any host "
                            "could send logs; give --token-file FILE (or "
                            "--insecure)", c->listen);
        return -1;
    }
    if (c->http_auth == NULL && !config_is_loopback(c->http)) {
        *errstr = xasprintf("--http %s is not a loopback address: anyone "
                            "could read the logs; give --http-token-file FILE "
                            "(or --insecure)", c->http);
        return -1;
    }
    return 0;
}

/* ---- help ---- */

static void
config_print_help(void)
{
    printf("usage: logq-collector --data-dir DIR [options]\n"
           "  -t                validate the configuration and exit\n"
           "  --help-config     list every option with its default\n"
           "  --print-config    print the effective configuration\n");
}

static void
config_print_table(void)
{
    for (size_t i = 0; i < CONFIG_N_DEFS; i++) {
        const struct config_def *d = &config_defs[i];
        printf("--%-20s %s (default: %s)\n", d->name, d->help,
               d->def ? d->def : "unset");
    }
}

static void
config_print(const struct collector_config *c)
{
    for (size_t i = 0; i < CONFIG_N_DEFS; i++) {
        const struct config_def *d = &config_defs[i];
        const void *field = (const char *)c + d->offset;
        if (d->type == CONFIG_STR || d->type == CONFIG_ADDR ||
            d->type == CONFIG_LEVEL || d->type == CONFIG_LIST) {
            const char *s = *(char *const *)field;
            printf("%s = %s\n", d->name, s ? s : "");
        } else {
            printf("%s = %" PRId64 "\n", d->name, *(const int64_t *)field);
        }
    }
}

/* ---- man page (--man, hidden: make builds logq-collector.8 with it) ---- */

/* The value's name in the synopsis of a flag, from its type and name. */
static const char *
config_value_name(const struct config_def *d)
{
    switch (d->type) {
    case CONFIG_ADDR: return "ADDR:PORT";
    case CONFIG_INT: return "N";
    case CONFIG_DURATION: return "DURATION";
    case CONFIG_SIZE: return "SIZE";
    case CONFIG_LEVEL: return "LEVEL";
    case CONFIG_FLAG: return NULL;
    case CONFIG_LIST: return "NAME";
    default: return manfmt_value_name(d->name);
    }
}

static void
config_print_man(void)
{
    manfmt_man_head(stdout, "logq-collector", "8", "receive container logs "
                    "from logq-shipper, store and index them, serve the "
                    "HTTP API");
    fputs(".SH SYNOPSIS\n\\fBlogq\\-collector\\fR \\fB\\-\\-data\\-dir"
          "\\fR \\fIDIR\\fR [\\fIoptions\\fR]\n.SH DESCRIPTION\n", stdout);
    manfmt_roff(stdout, "Accepts shipper connections on --listen (the "
                "shipper protocol), stores every record in --data-dir (a "
                "missing one is created 0700, with its missing parents) "
                "and answers searches on "
                "the HTTP API at --http (logq(1), Grafana). Metrics go to "
                "Redis with --redis. Every setting is a flag; each has its "
                "default below.");
    fputs("\n.SH OPTIONS\n", stdout);
    manfmt_man_flag(stdout, "help", 'h', NULL, "print the usage and every "
                    "option with its default, and exit");
    manfmt_man_flag(stdout, "help-config", 0, NULL, "print every option "
                    "with its default, and exit");
    manfmt_man_flag(stdout, "print-config", 0, NULL, "print the effective "
                    "configuration after the flags, and exit");
    fputs(".TP\n\\fB\\-t\\fR\nvalidate the configuration (token and TLS "
          "files included) and exit\n", stdout);
    for (size_t i = 0; i < CONFIG_N_DEFS; i++) {
        const struct config_def *d = &config_defs[i];
        char *help = xasprintf("%s (default: %s)", d->help,
                               d->def ? d->def : "unset");
        manfmt_man_flag(stdout, d->name, 0, config_value_name(d), help);
        free(help);
    }
    fputs(".SH SIGNALS\n", stdout);
    manfmt_roff(stdout, "SIGTERM, SIGINT: stop accepting, commit, send the "
                "last ACKs and exit. SIGHUP: read --token-file and "
                "--http-token-file again (those given at start): both "
                "parse, or the old tokens stay in force (logged, counted in "
                "/health token_reload_errors); new requests and shipper "
                "handshakes use the new ones.");
    fputs("\n", stdout);
    fputs(".SH EXIT STATUS\n0 after a clean stop (SIGTERM, SIGINT) or "
          "\\fB\\-t\\fR; 2 for a bad flag or configuration.\n"
          ".SH SEE ALSO\n\\fBlogq\\fR(1), \\fBlogq\\-shipper\\fR(8)\n",
          stdout);
}

/* ---- parsing ---- */

static int
config_defaults(struct collector_config *c, char **errstr)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < CONFIG_N_DEFS; i++)
        if (config_defs[i].def != NULL &&
            config_set(c, &config_defs[i], config_defs[i].def, errstr) < 0)
            return -1;
    return 0;
}

static int
config_finish(struct collector_config *c, char **errstr)
{
    if (c->data_dir == NULL || c->data_dir[0] == '\0') {
        *errstr = xstrdup("--data-dir is required");
        return -1;
    }
    if (log_level_parse(c->log_level, &c->level) < 0) {
        *errstr = xstrdup("--log-level: bad value");
        return -1;
    }
    if (c->token_file != NULL &&
        config_load_host_keys(c->token_file, &c->host_keys, errstr) < 0)
        return -1;
    if (c->http_token_file != NULL &&
        config_load_http_tokens(c->http_token_file, &c->http_auth,
                                errstr) < 0)
        return -1;
    return config_load_tls(c, errstr);
}

enum config_result
collector_config_parse(struct collector_config *c, int argc, char **argv,
                       char **errstr)
{
    struct option opts[CONFIG_N_DEFS + 5];
    int print = 0, opt, idx;

    if (config_defaults(c, errstr) < 0)
        return CONFIG_ERROR;
    for (size_t i = 0; i < CONFIG_N_DEFS; i++)
        opts[i] = (struct option){ config_defs[i].name,
                                   config_defs[i].type == CONFIG_FLAG
                                   ? no_argument : required_argument,
                                   NULL, (int)i };
    opts[CONFIG_N_DEFS] = (struct option){ "help", no_argument, NULL,
                                           CONFIG_OPT_HELP };
    opts[CONFIG_N_DEFS + 1] = (struct option){ "help-config", no_argument,
                                               NULL, CONFIG_OPT_HELP_CONFIG };
    opts[CONFIG_N_DEFS + 2] = (struct option){ "print-config", no_argument,
                                               NULL, CONFIG_OPT_PRINT };
    opts[CONFIG_N_DEFS + 3] = (struct option){ "man", no_argument, NULL,
                                               CONFIG_OPT_MAN };
    opts[CONFIG_N_DEFS + 4] = (struct option){ NULL, 0, NULL, 0 };
    optind = 0;     /* glibc: 0 resets getopt fully, 1 does not */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "th", opts, &idx)) != -1) {
        if (opt >= 0 && (size_t)opt < CONFIG_N_DEFS) {
            if (config_set(c, &config_defs[opt], optarg, errstr) < 0)
                return CONFIG_ERROR;
        } else if (opt == 't') {
            c->is_check_only = 1;
        } else if (opt == 'h' || opt == CONFIG_OPT_HELP) {
            config_print_help();
            config_print_table();
            return CONFIG_EXIT;
        } else if (opt == CONFIG_OPT_HELP_CONFIG) {
            config_print_table();
            return CONFIG_EXIT;
        } else if (opt == CONFIG_OPT_MAN) {
            config_print_man();
            return CONFIG_EXIT;
        } else if (opt == CONFIG_OPT_PRINT) {
            print = 1;
        } else {
            *errstr = xasprintf("unknown or incomplete option '%s'",
                                argv[optind - 1]);
            return CONFIG_ERROR;
        }
    }
    if (optind < argc) {
        *errstr = xasprintf("unexpected argument '%s'", argv[optind]);
        return CONFIG_ERROR;
    }
    if (config_finish(c, errstr) < 0)
        return CONFIG_ERROR;
    if (print) {
        config_print(c);
        return CONFIG_EXIT;
    }
    return CONFIG_OK;
}

void
collector_config_fini(struct collector_config *c)
{
    for (size_t i = 0; i < CONFIG_N_DEFS; i++) {
        const struct config_def *d = &config_defs[i];
        if (d->type == CONFIG_STR || d->type == CONFIG_ADDR ||
            d->type == CONFIG_LEVEL || d->type == CONFIG_LIST) {
            char **field = (char **)((char *)c + d->offset);
            free(*field);
            *field = NULL;
        }
    }
    hostkeys_free(c->host_keys);
    c->host_keys = NULL;
    api_auth_free(c->http_auth);
    c->http_auth = NULL;
    tls_ctx_free(c->tls_api);
    tls_ctx_free(c->tls_ingest);
    c->tls_api = NULL;
    c->tls_ingest = NULL;
}
