/* SPDX-License-Identifier: MIT */
/*
 * config: see config.h. The table is the only place defaults and limits
 * live. Sizes accept a K or M suffix (KiB, MiB). The limits on
 * max-record-size and batch-bytes keep any batch under WIRE_MAX_PAYLOAD
 * (sender_batch.c relies on an empty batch always taking one record).
 */
#include "shipper/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/manfmt.h"
#include "common/xmalloc.h"
#include "shipper/multiline.h"

enum config_type { CONFIG_STR, CONFIG_INT };

struct config_opt {
    const char      *name;
    enum config_type type;
    const char      *def;       /* NULL: unset */
    long long        min;
    long long        max;
    const char      *help;
    size_t           offset;
};

#define OFF(f) offsetof(struct shipper_config, f)
#define KIB    1024LL
#define MIB    (1024LL * 1024)

static const struct config_opt config_opts[] = {
    { "collector", CONFIG_STR, NULL, 0, 0,
      "collector address HOST:PORT (required)", OFF(collector) },
    { "docker-root", CONFIG_STR, "/var/lib/docker/containers", 0, 0,
      "Docker containers directory", OFF(docker_root) },
    { "state-dir", CONFIG_STR, NULL, 0, 0,
      "directory for the position file (required)", OFF(state_dir) },
    { "hostname", CONFIG_STR, NULL, 0, 0,
      "host name sent to the collector (default: gethostname)",
      OFF(hostname) },
    { "token-file", CONFIG_STR, NULL, 0, 0,
      "file holding this host's token (enrolled on the collector)",
      OFF(token_file) },
    { "tls-ca", CONFIG_STR, NULL, 0, 0,
      "speak TLS; verify the collector's certificate and name with this CA",
      OFF(tls_ca) },
    { "tls-cert", CONFIG_STR, NULL, 0, 0,
      "client certificate (PEM) naming --hostname, for --tls-client-ca",
      OFF(tls_cert) },
    { "tls-key", CONFIG_STR, NULL, 0, 0,
      "its private key (a private file, 0600)", OFF(tls_key) },
    { "max-record-size", CONFIG_INT, "1M", 1 * KIB, 1 * MIB,
      "bytes of message per record; longer ones are truncated",
      OFF(max_record_size) },
    { "batch-bytes", CONFIG_INT, "512K", 4 * KIB, 2 * MIB,
      "send a batch once it holds this many bytes", OFF(batch_bytes) },
    { "flush-ms", CONFIG_INT, "50", 1, 10000,
      "send a batch this long after its first record", OFF(flush_ms) },
    { "max-inflight-bytes", CONFIG_INT, "4M", 64 * KIB, 1024 * MIB,
      "un-acknowledged bytes before reading pauses",
      OFF(max_inflight_bytes) },
    { "rescan-ms", CONFIG_INT, "1000", 50, 600000,
      "safety-net rescan period (idle containers: up to 16x)",
      OFF(rescan_ms) },
    { "compression", CONFIG_STR, "zstd", 0, 0,
      "zstd|zlib: zstd batches when the collector accepts them, zlib "
      "otherwise; zlib: always zlib", OFF(compression) },
    { "zlevel", CONFIG_INT, "1", 1, 9,
      "deflate level of zlib batches (libdeflate)", OFF(zlevel) },
    { "compress-threads", CONFIG_INT, "1", 0, 16,
      "threads compressing batches (0: on the event loop)",
      OFF(compress_threads) },
    { "writeback-step", CONFIG_INT, "1M", 0, 1024 * MIB,
      "after this many bytes read from a json-file, ask the kernel to "
      "start writing their pages back, so they never pile up dirty for "
      "one burst (0: off)", OFF(writeback_step) },
    { "metrics-interval", CONFIG_INT, "10", 1, 3600,
      "seconds between host/container metrics samples",
      OFF(metrics_interval_s) },
    { "proc-root", CONFIG_STR, "/proc", 0, 0,
      "the host's /proc (metrics)", OFF(proc_root) },
    { "sys-root", CONFIG_STR, "/sys", 0, 0,
      "the host's /sys (metrics, cgroups)", OFF(sys_root) },
    { "host-root", CONFIG_STR, "", 0, 0,
      "prefix of the host's mount points for filesystem metrics",
      OFF(host_root) },
    { "cgroup-pattern", CONFIG_STR, "", 0, 0,
      "extra cgroup path under <sys-root>/fs/cgroup, {id} {controller}",
      OFF(cgroup_pattern) },
    { "multiline", CONFIG_STR, "none", 0, 0,
      "multi-line rule of containers without a logq.multiline label: "
      "none|java|python|go|indent|regex:START", OFF(multiline) },
    { "multiline-match-bytes", CONFIG_INT, "4K", 64, 1 * MIB,
      "bytes of a line a regex: rule is matched against (its start; "
      "fewer for a large regex); longer lines are counted",
      OFF(multiline_match_bytes) },
    { "log-level", CONFIG_STR, "info", 0, 0, "error|warn|info|debug",
      OFF(log_level) },
    { "log-file", CONFIG_STR, NULL, 0, 0, "log to this file, not stderr",
      OFF(log_file) },
};

#define N_OPTS (sizeof(config_opts) / sizeof(config_opts[0]))

static int
config_int_parse(const char *s, long long *out)
{
    char *end;

    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || v < 0)
        return -1;
    long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = KIB, end++;
    else if (*end == 'm' || *end == 'M')
        mul = MIB, end++;
    if (*end != '\0' || v > __LONG_LONG_MAX__ / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static int
config_set(struct shipper_config *cfg, const struct config_opt *o,
           const char *val, char *err, size_t err_len)
{
    char *base = (char *)cfg;

    if (o->type == CONFIG_STR) {
        char **p = (char **)(void *)(base + o->offset);
        free(*p);
        *p = xstrdup(val);
        return 0;
    }
    long long v;
    if (config_int_parse(val, &v) < 0 || v < o->min || v > o->max) {
        snprintf(err, err_len, "--%s: bad value '%s' (want %lld..%lld)",
                 o->name, val, o->min, o->max);
        return -1;
    }
    *(long long *)(void *)(base + o->offset) = v;
    return 0;
}

static void
config_usage(void)
{
    printf("usage: logq-shipper --collector HOST:PORT --state-dir DIR "
           "[options]\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct config_opt *o = &config_opts[i];
        printf("  --%-20s %s%s%s%s\n", o->name, o->help,
               o->def ? " [" : "", o->def ? o->def : "", o->def ? "]" : "");
    }
}

/* The value's name in the man page, from the option's type and name. */
static const char *
config_value_name(const struct config_opt *o)
{
    if (o->type == CONFIG_INT)
        return "N";
    if (strcmp(o->name, "collector") == 0)
        return "HOST:PORT";
    return manfmt_value_name(o->name);
}

/* --man (hidden: make builds logq-shipper.8 with it). */
static void
config_man(void)
{
    manfmt_man_head(stdout, "logq-shipper", "8", "send the logs and "
                    "metrics of a host's Docker containers to "
                    "logq-collector");
    fputs(".SH SYNOPSIS\n\\fBlogq\\-shipper\\fR \\fB\\-\\-collector"
          "\\fR \\fIHOST:PORT\\fR \\fB\\-\\-state\\-dir\\fR \\fIDIR\\fR "
          "[\\fIoptions\\fR]\n.SH DESCRIPTION\n", stdout);
    manfmt_roff(stdout, "Follows the json-file logs of every container "
                "under --docker-root, joins multi-line records, and sends "
                "them in compressed batches to the collector, which "
                "acknowledges each once stored; positions are kept in "
                "--state-dir so a restart neither loses nor repeats a "
                "line. Host and container metrics are sent every "
                "--metrics-interval seconds. Every setting is a flag.");
    fputs("\n.SH OPTIONS\n", stdout);
    manfmt_man_flag(stdout, "help", 'h', NULL, "print every option with "
                    "its default, and exit");
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct config_opt *o = &config_opts[i];
        char *help = o->def != NULL && o->def[0] != '\0'
                     ? xasprintf("%s (default: %s)", o->help, o->def)
                     : xstrdup(o->help);
        manfmt_man_flag(stdout, o->name, 0, config_value_name(o), help);
        free(help);
    }
    fputs(".SH EXIT STATUS\n0 after SIGTERM or SIGINT (positions saved), "
          "2 for a bad flag.\n"
          ".SH SEE ALSO\n\\fBlogq\\fR(1), \\fBlogq\\-collector\\fR(8)\n",
          stdout);
}

/* ---- public API ---- */

enum config_result
shipper_config_parse(struct shipper_config *cfg, int argc, char **argv,
                     char *err, size_t err_len)
{
    struct option lopts[N_OPTS + 3];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct config_opt *o = &config_opts[i];
        lopts[i] = (struct option){ o->name, required_argument, NULL,
                                    (int)i + 1 };
        if (o->def != NULL && config_set(cfg, o, o->def, err, err_len) < 0)
            return CONFIG_ERROR;
    }
    lopts[N_OPTS] = (struct option){ "help", no_argument, NULL, 'h' };
    lopts[N_OPTS + 1] = (struct option){ "man", no_argument, NULL, 'M' };
    lopts[N_OPTS + 2] = (struct option){ NULL, 0, NULL, 0 };
    optind = 0;     /* glibc: 0 resets getopt fully, 1 does not */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", lopts, NULL)) != -1) {
        if (c == 'h' || c == 'M') {
            if (c == 'h')
                config_usage();
            else
                config_man();
            return CONFIG_HELP;
        }
        if (c >= 1 && (size_t)c <= N_OPTS) {
            if (config_set(cfg, &config_opts[c - 1], optarg, err,
                           err_len) < 0)
                return CONFIG_ERROR;
            continue;
        }
        snprintf(err, err_len, "%s: %s", c == ':' ? "missing value" :
                 "unknown option", argv[optind - 1]);
        return CONFIG_ERROR;
    }
    if (optind < argc) {
        snprintf(err, err_len, "unexpected argument: %s", argv[optind]);
        return CONFIG_ERROR;
    }
    char *host;
    int port;
    if (cfg->collector == NULL || cfg->state_dir == NULL) {
        snprintf(err, err_len, "--collector and --state-dir are required");
        return CONFIG_ERROR;
    }
    if (shipper_config_hostport(cfg->collector, &host, &port) < 0) {
        snprintf(err, err_len, "--collector: want HOST:PORT, got '%s'",
                 cfg->collector);
        return CONFIG_ERROR;
    }
    free(host);
    struct multiline_rule rule;
    char why[192];
    if (multiline_rule_parse(cfg->multiline, &rule, why, sizeof(why)) < 0) {
        snprintf(err, err_len, "--multiline: %s", why);
        return CONFIG_ERROR;
    }
    multiline_rule_fini(&rule);
    if (strcmp(cfg->compression, "zstd") != 0 &&
        strcmp(cfg->compression, "zlib") != 0) {
        snprintf(err, err_len, "--compression: want zstd or zlib, got '%s'",
                 cfg->compression);
        return CONFIG_ERROR;
    }
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL) ||
        (cfg->tls_cert != NULL && cfg->tls_ca == NULL)) {
        snprintf(err, err_len, "--tls-cert and --tls-key go together, and "
                 "with --tls-ca");
        return CONFIG_ERROR;
    }
    return CONFIG_OK;
}

void
shipper_config_fini(struct shipper_config *cfg)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (config_opts[i].type != CONFIG_STR)
            continue;
        char **p = (char **)(void *)((char *)cfg + config_opts[i].offset);
        free(*p);
        *p = NULL;
    }
}

int
shipper_config_hostport(const char *s, char **host, int *port)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hlen;

    if (colon == NULL)
        return -1;
    hlen = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hlen < 2 || s[hlen - 1] != ']')
            return -1;
        h = s + 1;
        hlen -= 2;
    } else if (memchr(s, ':', hlen) != NULL) {
        return -1;      /* bare IPv6 needs brackets */
    }
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (hlen == 0 || errno != 0 || end == colon + 1 || *end != '\0' ||
        p < 1 || p > 65535)
        return -1;
    *host = xstrndup(h, hlen);
    *port = (int)p;
    return 0;
}
