/* SPDX-License-Identifier: MIT */
/*
 * loggen_kinds: logq-loggen's kinds of log (web access and error lines,
 * leveled application lines with Java and Python stack traces, syslog,
 * batch-worker lines and their long result dumps), written from
 * templates (the codes below) and the word lists of loggen_vocab.h.
 */
#include <stdint.h>
#include <string.h>

#include "tests/support/loggen_internal.h"
#include "tests/support/loggen_vocab.h"

static char lg_long_buf[LG_LINE_CAP];

/* ------------------------------------------------------------------ */
/* Templates                                                           */
/* ------------------------------------------------------------------ */

/*
 * Template codes: %u uuid, %a 1..9, %n 1..99999 (mostly < 1000), %N large
 * int, %d millis, %D seconds, %f fraction, %k percent, %i IPv4, %p port,
 * %h host, %w word, %s user, %b HDFS block, %x 8 hex, %X 32 hex, %c class,
 * %t thread, %j job, %q queue, %v version, %m method, %P path, %S bytes,
 * %K kernel uptime; any other character after '%' is written as is.
 */

static void lg_expand(struct lg *g, struct lg_line *l, const char *t);

static void
lg_method(struct lg *g, struct lg_line *l)
{
    uint64_t r = lg_below(g, 100);

    lg_s(l, r < 75 ? "GET" : r < 90 ? "POST" : r < 94 ? "PUT" : r < 97
            ? "DELETE" : r < 99 ? "HEAD" : "OPTIONS");
}

static void
lg_code(struct lg *g, struct lg_line *l, char c)
{
    switch (c) {
    case 'u': lg_uuid(g, l); break;
    case 'n': lg_u(l, 1 + lg_below(g, lg_below(g, 8) ? 999 : 99999), 0); break;
    case 'a': lg_u(l, 1 + lg_below(g, 1 + lg_below(g, 9)), 0); break;
    case 'N': lg_u(l, lg_below(g, 2000000000), 0); break;
    case 'd': lg_u(l, (uint64_t)lg_lognormal(g, 40, 1.2) + 1, 0); break;
    case 'D': lg_fixed(l, lg_lognormal(g, 0.8, 1.0), 3); break;
    case 'f': lg_fixed(l, lg_unit(g), 3); break;
    case 'k': lg_fixed(l, lg_unit(g) * 100, 1); break;
    case 'i': lg_ip(l, lg_addr(g)); break;
    case 'p': lg_u(l, 1024 + lg_below(g, 64511), 0); break;
    case 'h': lg_expand(g, l, LG_PICK(g, lg_hosts)); break;
    case 'w': lg_s(l, LG_PICK(g, lg_words)); break;
    case 's': lg_s(l, LG_PICK(g, lg_users)); break;
    case 'b':
        lg_s(l, lg_below(g, 2) ? "blk_-" : "blk_");
        lg_u(l, lg_next(g) >> 1, 0);
        break;
    case 'x': lg_hex(g, l, 8); break;
    case 'X': lg_hex(g, l, 32); break;
    case 'c':
        lg_s(l, LG_PICK(g, lg_pkgs));
        lg_c(l, '.');
        lg_s(l, LG_PICK(g, lg_classes));
        break;
    case 't': lg_expand(g, l, LG_PICK(g, lg_threads)); break;
    case 'j':
        lg_s(l, "job_");
        lg_u(l, 1700000000000 + lg_below(g, 99999999), 0);
        lg_c(l, '_');
        lg_u(l, lg_below(g, 10000), 4);
        break;
    case 'q': lg_s(l, LG_PICK(g, lg_queues)); break;
    case 'v':
        lg_u(l, lg_below(g, 4), 0);
        lg_c(l, '.');
        lg_u(l, lg_below(g, 20), 0);
        lg_c(l, '.');
        lg_u(l, lg_below(g, 10), 0);
        break;
    case 'm': lg_method(g, l); break;
    case 'P': lg_expand(g, l, LG_PICK(g, lg_paths)); break;
    case 'S': lg_u(l, (uint64_t)lg_lognormal(g, 4000, 1.5), 0); break;
    case 'K':
        lg_u(l, 100 + lg_below(g, 900000), 0);
        lg_c(l, '.');
        lg_u(l, lg_below(g, 1000000), 6);
        break;
    default: lg_c(l, c); break;
    }
}

static void
lg_expand(struct lg *g, struct lg_line *l, const char *t)
{
    for (;;) {
        const char *pct = strchr(t, '%');
        if (pct == NULL) {
            lg_s(l, t);
            return;
        }
        lg_mem(l, t, (size_t)(pct - t));
        if (pct[1] == '\0')
            return;
        lg_code(g, l, pct[1]);
        t = pct + 2;
    }
}

/* A template starting with '!' is an error line (stderr with
 * --stream-mix); returns the template without it. */
static const char *
lg_errmark(const char *t, int *is_err)
{
    *is_err = t[0] == '!';
    return t + *is_err;
}

static void
lg_begin(struct lg *g)
{
    g->line.len = 0;
}

/* ------------------------------------------------------------------ */
/* Kinds                                                               */
/* ------------------------------------------------------------------ */

static int
lg_emit_expand(struct lg *g, const char *t, int is_err)
{
    lg_begin(g);
    lg_expand(g, &g->line, t);
    return lg_emit(g, &g->line, is_err);
}

/* Combined access log line, or now and then an nginx error line. */
static void
lg_web(struct lg *g)
{
    static const uint16_t status[] = {200, 200, 200, 200, 200, 200, 200, 200,
                                      200, 200, 200, 200, 200, 200, 200, 200,
                                      201, 204, 304, 304, 301, 302, 404, 404,
                                      401, 403, 500, 502, 503, 200};
    struct lg_line *l = &g->line;
    uint64_t r = lg_below(g, 1000);

    lg_begin(g);
    if (r < 20) {
        lg_time(g, l, 'n');
        lg_expand(g, l, r < 12 ?
            " [error] 31#31: *%N upstream timed out (110: Connection timed "
            "out) while reading response header from upstream, client: %i, "
            "server: _, request: \"%m %P HTTP/1.1\", upstream: "
            "\"http://%i:8080%P\", host: \"shop.example.com\"" :
            " [warn] 31#31: *%N an upstream response is buffered to a "
            "temporary file /var/cache/nginx/proxy_temp/%n/%n while reading "
            "upstream, client: %i, server: _, request: \"GET %P HTTP/1.1\"");
        lg_emit(g, l, 1);
        return;
    }
    lg_ip(l, lg_addr(g));
    lg_s(l, lg_below(g, 10) ? " - - [" : " - ");
    if (l->p[l->len - 1] != '[') {
        lg_s(l, LG_PICK(g, lg_users));
        lg_s(l, " [");
    }
    lg_time(g, l, 'a');
    lg_s(l, "] \"");
    lg_expand(g, l, "%m %P HTTP/1.1\" ");
    lg_u(l, LG_PICK(g, status), 0);
    lg_c(l, ' ');
    lg_u(l, (uint64_t)lg_lognormal(g, 2500, 1.6), 0);
    lg_expand(g, l, lg_below(g, 3) ? " \"-\" \"" :
                                     " \"https://shop.example.com%P\" \"");
    lg_s(l, LG_PICK(g, lg_agents));
    lg_s(l, "\" rt=");
    lg_fixed(l, lg_lognormal(g, 0.03, 1.3), 3);
    lg_emit(g, l, 0);
}

static void
lg_frames(struct lg *g, int n)
{
    for (int i = 0; i < n; i++) {
        const char *cls = LG_PICK(g, lg_classes);
        const char *dollar = strchr(cls, '$');
        lg_begin(g);
        lg_s(&g->line, "\tat ");
        lg_s(&g->line, LG_PICK(g, lg_pkgs));
        lg_c(&g->line, '.');
        lg_s(&g->line, cls);
        lg_c(&g->line, '.');
        lg_s(&g->line, LG_PICK(g, lg_methods));
        lg_c(&g->line, '(');
        lg_mem(&g->line, cls, dollar ? (size_t)(dollar - cls) : strlen(cls));
        lg_s(&g->line, ".java:");
        lg_u(&g->line, 20 + lg_below(g, 900), 0);
        lg_c(&g->line, ')');
        if (lg_emit(g, &g->line, 1) < 0)
            return;
    }
}

/* Each trace line is its own output line, as Docker sees it. */
static void
lg_java_trace(struct lg *g)
{
    if (lg_emit_expand(g, LG_PICK(g, lg_exceptions), 1) < 0)
        return;
    lg_frames(g, 4 + (int)lg_below(g, 15));
    if (g->is_done || lg_below(g, 5) < 3)
        return;
    lg_begin(g);
    lg_s(&g->line, "Caused by: ");
    lg_expand(g, &g->line, LG_PICK(g, lg_exceptions));
    if (lg_emit(g, &g->line, 1) < 0)
        return;
    lg_frames(g, 2 + (int)lg_below(g, 5));
    if (!g->is_done)
        lg_emit_expand(g, "\t... %n more", 1);
}

static void
lg_python_trace(struct lg *g)
{
    if (lg_emit_expand(g, "Traceback (most recent call last):", 1) < 0)
        return;
    for (int i = 0, n = 2 + (int)lg_below(g, 5); i < n; i++) {
        if (lg_emit_expand(g, "  File \"/app/%w/%w.py\", line %n, in %w",
                           1) < 0)
            return;
        lg_begin(g);
        lg_s(&g->line, "    ");
        lg_s(&g->line, LG_PICK(g, lg_py_code));
        if (lg_emit(g, &g->line, 1) < 0)
            return;
    }
    lg_emit_expand(g, LG_PICK(g, lg_py_errors), 1);
}

static void
lg_app(struct lg *g)
{
    static const char *const info[] = {
        "Order %n created for customer %N total=%f EUR req=%u",
        "Completed %m %P in %d ms status=200",
        "User %s logged in from %i session=%X",
        "Cache refresh done: %n entries loaded in %d ms",
        "Scheduled task %w-%w finished in %D s",
        "Published event %w.updated id=%u partition=%n offset=%N",
        "Connection pool stats (total=%n, active=%n, idle=%n, waiting=%n)",
        "Received heartbeat from %h:%p",
        "Processing batch %N of size %n",
        "Starting %w service v%v on port %p with profile [prod]"};
    static const char *const warn[] = {
        "Slow query detected (%d ms): update %w set status=? where id=?",
        "Retrying call to %h:%p (attempt %a of 5) after %d ms",
        "Request %u rejected: rate limit exceeded for %i",
        "Heap usage at %k%% of max, consider tuning -Xmx"};
    static const char *const err[] = {
        "Failed to process order %n for customer %N",
        "Unhandled exception in handler for %m %P",
        "Task %j failed after %D s",
        "Could not connect to %h:%p: Connection refused"};
    struct lg_line *l = &g->line;
    uint64_t r = lg_below(g, 100);
    int level = r < 78 ? 0 : r < 83 ? 1 : r < 94 ? 2 : 3;
    static const char *const names[] = {"INFO ", "DEBUG", "WARN ", "ERROR"};

    lg_begin(g);
    lg_time(g, l, 'i');
    lg_c(l, ' ');
    lg_s(l, names[level]);
    lg_expand(g, l, " [%t] %c - ");
    if (level == 1)
        lg_expand(g, l, "SQL select id, status from %w where id = ? [%N] "
                        "took %d ms");
    else
        lg_expand(g, l, level == 0 ? LG_PICK(g, info) : level == 2 ?
                        LG_PICK(g, warn) : LG_PICK(g, err));
    if (lg_emit(g, l, level == 3) < 0 || level != 3 || lg_below(g, 3) == 0)
        return;
    if (lg_below(g, 10) < 7)
        lg_java_trace(g);
    else
        lg_python_trace(g);
}

static void
lg_sys(struct lg *g)
{
    static const struct {
        const char *proc, *msg;
    } m[] = {
        {"sshd", "!Failed password for invalid user %s from %i port %p ssh2"},
        {"sshd", "!Failed password for root from %i port %p ssh2"},
        {"sshd", "Accepted publickey for %s from %i port %p ssh2: "
                 "ED25519 SHA256:%X"},
        {"sshd", "Invalid user %s from %i port %p"},
        {"sshd", "Received disconnect from %i port %p:11: Bye Bye [preauth]"},
        {"sshd", "Disconnected from authenticating user root %i port %p "
                 "[preauth]"},
        {"sshd", "pam_unix(sshd:session): session opened for user %s(uid=%n) "
                 "by (uid=0)"},
        {"sshd", "pam_unix(sshd:auth): authentication failure; logname= uid=0 "
                 "euid=0 tty=ssh ruser= rhost=%i  user=root"},
        {"sshd", "!error: maximum authentication attempts exceeded for root "
                 "from %i port %p ssh2 [preauth]"},
        {"kernel", "[%K] eth0: Link is Up - 1Gbps/Full - flow control rx/tx"},
        {"kernel", "![%K] Out of memory: Killed process %n (%w) "
                   "total-vm:%NkB, anon-rss:%SkB, oom_score_adj:0"},
        {"kernel", "[%K] EXT4-fs (sda1): re-mounted. Quota mode: none."},
        {"kernel", "[%K] audit: type=1400 audit(%N.%n:%n): apparmor=\"DENIED\""
                   " operation=\"open\" profile=\"%w\" name=\"/proc/%n/status\""
                   " pid=%n comm=\"%w\""},
        {"kernel", "[%K] TCP: request_sock_TCP: Possible SYN flooding on port "
                   "%p. Sending cookies."},
        {"CRON", "(root) CMD (/usr/local/bin/%w-%w.sh > /dev/null 2>&1)"},
        {"systemd", "Started Session %n of User %s."},
        {"systemd", "!%w.service: Main process exited, code=exited, "
                    "status=1/FAILURE"},
        {"systemd", "Starting Daily apt upgrade and clean activities..."},
        {"su", "pam_unix(su:session): session opened for user root by "
               "%s(uid=%n)"},
        {"dhclient", "DHCPREQUEST for %i on eth0 to %i port 67"},
        {"ntpd", "synchronized to %i, stratum %a"},
        {"postfix/smtpd", "connect from unknown[%i]"},
        {"postfix/smtpd", "!lost connection after AUTH from unknown[%i]"},
    };
    static const char *const hosts[] = {"web-01", "web-02", "db-01",
                                        "ci-runner", "edge-3"};
    struct lg_line *l = &g->line;
    size_t i = (size_t)lg_below(g, sizeof(m) / sizeof(m[0]));
    int is_err;
    const char *msg = lg_errmark(m[i].msg, &is_err);

    lg_begin(g);
    lg_time(g, l, 's');
    lg_c(l, ' ');
    lg_s(l, LG_PICK(g, hosts));
    lg_c(l, ' ');
    lg_s(l, m[i].proc);
    if (strcmp(m[i].proc, "kernel") != 0) {
        lg_c(l, '[');
        lg_u(l, 300 + lg_below(g, 32000), 0);
        lg_c(l, ']');
    }
    lg_s(l, ": ");
    lg_expand(g, l, msg);
    lg_emit(g, l, is_err);
}

static void
lg_worker(struct lg *g)
{
    static const char *const m[] = {
        "job=%j queue=%q attempt=1 state=started payload_bytes=%S",
        "job=%j queue=%q state=done duration_ms=%d items=%n",
        "job=%j queue=%q state=done duration_ms=%d items=%n",
        "!job=%j queue=%q attempt=%a state=failed error=\"timeout after "
        "30s\" retry_in=%ds",
        "progress job=%j processed=%N rows (%k%%) rate=%n/s",
        "Finished task %n.0 in stage %a.0 (TID %N) in %d ms on %h "
        "(executor %a) (%n/1000)",
        "Receiving block %b src: /%i:%p dest: /%i:50010",
        "BLOCK* addStoredBlock: %i:50010 is added to %b size %S",
        "Fetched %n rows from %w in %d ms, spilling %S bytes to "
        "/tmp/spill-%x",
        "Heartbeat sent to scheduler %h:%p, %n tasks running"};
    struct lg_line *l = &g->line;
    int is_err;
    const char *msg = lg_errmark(LG_PICK(g, m), &is_err);

    lg_begin(g);
    lg_time(g, l, 'z');
    lg_s(l, " worker-");
    lg_u(l, lg_below(g, 8), 0);
    lg_c(l, ' ');
    lg_expand(g, l, msg);
    lg_emit(g, l, is_err);
}

static size_t
lg_digits(uint64_t v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* A result dump of exactly --long-size bytes (marker included), longer
 * than Docker's 16 KiB split when the size asks for it. */
void
lg_long_line(struct lg *g)
{
    struct lg_line l = {lg_long_buf, 0};
    size_t target = g->o.long_size;

    if (g->o.marker != NULL) {
        size_t m = 2 + strlen(g->o.marker) + lg_digits(g->seq + 1);
        target = target > m ? target - m : 0;
    }
    lg_time(g, &l, 'z');
    lg_expand(g, &l, " worker-%n job=%j result={\"batch\":%n,\"rows\":[");
    while (l.len < target)
        lg_expand(g, &l, "{\"id\":%N,\"sku\":\"%x\",\"qty\":%n,\"price\":%f,"
                         "\"tags\":[\"%w\",\"%w\"],\"note\":\"a<b & c>d\"},");
    l.len = target;
    g->in_long = 1;
    lg_emit(g, &l, 0);
    g->in_long = 0;
}

void
lg_event(struct lg *g)
{
    enum lg_kind k = g->o.kind;

    if (k == LG_MIXED) {
        uint64_t r = lg_below(g, 100);
        k = r < 35 ? LG_WEB : r < 65 ? LG_APP : r < 80 ? LG_SYS : LG_WORKER;
    }
    g->t_ns = lg_line_time(g, g->seq + 1);
    switch (k) {
    case LG_WEB: lg_web(g); break;
    case LG_APP: lg_app(g); break;
    case LG_SYS: lg_sys(g); break;
    default: lg_worker(g); break;
    }
}
