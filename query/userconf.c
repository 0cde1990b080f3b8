/* SPDX-License-Identifier: MIT */
/*
 * userconf: see userconf.h. The parser is written by hand: a few
 * "key = value" lines and shell-like word splitting; wordexp(3) would run
 * command substitution, which a config file must never do.
 */
#include "query/userconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "query/args.h"
#include "query/url.h"

/* A fixed "now" for checking a since expression: any valid one parses. */
#define USERCONF_CHECK_NOW (INT64_C(4102444800) * 1000000000)

enum { UC_SERVER, UC_TOKEN_FILE, UC_TLS_CA, UC_COLOR, UC_SINCE, UC_N };
static const char *const userconf_keys[UC_N] = {
    "server", "token-file", "tls-ca", "color", "since",
};

/* ------------------------------------------------------------ words */

static void
userconf_words_free(char **w, int n)
{
    for (int i = 0; i < n; i++)
        free(w[i]);
    free(w);
}

/* Appends the next word of *sp to cur (one word, quotes removed);
 * -1 with err on an unterminated quote. */
static int
userconf_word_next(const char **sp, char *cur, char *err, size_t errlen)
{
    const char *s = *sp;
    size_t n = 0;

    while (*s != '\0' && *s != ' ' && *s != '\t') {
        char q = *s;
        if (q == '\'' || q == '"') {
            const char *end = s + 1;
            for (; *end != '\0' && *end != q; end++)
                if (q == '"' && *end == '\\' && end[1] != '\0' &&
                    strchr("\"\\$`", end[1]) != NULL)
                    cur[n++] = *++end;
                else
                    cur[n++] = *end;
            if (*end != q) {
                snprintf(err, errlen, "unterminated %c quote", q);
                return -1;
            }
            s = end + 1;
        } else if (q == '\\' && s[1] != '\0') {
            cur[n++] = s[1];
            s += 2;
        } else {
            cur[n++] = *s++;
        }
    }
    cur[n] = '\0';
    *sp = s;
    return 0;
}

int
userconf_words_split(const char *s, char ***words, int *n, int max,
                     char *err, size_t errlen)
{
    char **w = xcalloc((size_t)max, sizeof(*w));
    char *cur = xmalloc(strlen(s) + 1);    /* a word is never longer */
    int k = 0;

    for (;;) {
        s += strspn(s, " \t");
        if (*s == '\0')
            break;
        if (k == max) {
            snprintf(err, errlen, "more than %d words", max);
            goto fail;
        }
        if (userconf_word_next(&s, cur, err, errlen) < 0)
            goto fail;
        w[k++] = xstrdup(cur);
    }
    free(cur);
    *words = w;
    *n = k;
    return 0;
fail:
    free(cur);
    userconf_words_free(w, k);
    return -1;
}

/* ------------------------------------------------------------ parser */

void
userconf_fini(struct userconf *c)
{
    free(c->server);
    free(c->token_file);
    free(c->tls_ca);
    free(c->since);
    for (size_t i = 0; i < c->n_queries; i++) {
        free(c->queries[i].name);
        userconf_words_free(c->queries[i].words, c->queries[i].n_words);
    }
    free(c->queries);
    memset(c, 0, sizeof(*c));
}

const struct userconf_query *
userconf_query_get(const struct userconf *c, const char *name)
{
    for (size_t i = 0; i < c->n_queries; i++)
        if (strcmp(c->queries[i].name, name) == 0)
            return &c->queries[i];
    return NULL;
}

static int
userconf_is_name(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                         "VWXYZ0123456789_.-");
    return n > 0 && n <= USERCONF_MAX_NAME && s[n] == '\0';
}

static int
userconf_query_add(struct userconf *c, const char *name, const char *v,
                   char *err, size_t errlen)
{
    struct userconf_query q = { 0 };
    char why[128];

    if (!userconf_is_name(name)) {
        snprintf(err, errlen, "bad query name '@%s' (letters, digits, "
                 "_ . -; at most %d)", name, USERCONF_MAX_NAME);
        return -1;
    }
    if (userconf_query_get(c, name) != NULL) {
        snprintf(err, errlen, "query @%s given twice", name);
        return -1;
    }
    if (c->n_queries == USERCONF_MAX_QUERIES) {
        snprintf(err, errlen, "more than %d saved queries",
                 USERCONF_MAX_QUERIES);
        return -1;
    }
    if (userconf_words_split(v, &q.words, &q.n_words, USERCONF_MAX_WORDS,
                             why, sizeof(why)) < 0) {
        snprintf(err, errlen, "query @%s: %s", name, why);
        return -1;
    }
    q.name = xstrdup(name);
    c->queries = xreallocarray(c->queries, c->n_queries + 1,
                               sizeof(*c->queries));
    c->queries[c->n_queries++] = q;
    return 0;
}

/* Checks a setting's value; -1 with err. */
static int
userconf_value_check(int key, const char *v, struct userconf *c, char *err,
                     size_t errlen)
{
    struct url u;
    int64_t ns;
    char why[256];

    switch (key) {
    case UC_SERVER:
        if (url_parse(v, &u, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "bad server '%s': %s", v, why);
            return -1;
        }
        url_fini(&u);
        return 0;
    case UC_COLOR:
        if (args_color_parse(v, &c->color_mode) < 0) {
            snprintf(err, errlen, "bad color '%s' (auto, always or never)",
                     v);
            return -1;
        }
        c->has_color = 1;
        return 0;
    case UC_SINCE:
        if (args_time_parse(v, USERCONF_CHECK_NOW, &ns) < 0) {
            snprintf(err, errlen, "bad since '%s' (e.g. 15m, 2h, 7d, now-1h "
                     "or an RFC 3339 time)", v);
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}

static int
userconf_setting(struct userconf *c, const char *key, const char *v,
                 char *err, size_t errlen)
{
    char **fields[UC_N] = { &c->server, &c->token_file, &c->tls_ca, NULL,
                            &c->since };

    if (key[0] == '@')
        return userconf_query_add(c, key + 1, v, err, errlen);
    for (int k = 0; k < UC_N; k++) {
        if (strcmp(key, userconf_keys[k]) != 0)
            continue;
        if ((fields[k] != NULL && *fields[k] != NULL) ||
            (k == UC_COLOR && c->has_color)) {
            snprintf(err, errlen, "%s given twice", key);
            return -1;
        }
        if (userconf_value_check(k, v, c, err, errlen) < 0)
            return -1;
        if (fields[k] != NULL)
            *fields[k] = xstrdup(v);
        return 0;
    }
    snprintf(err, errlen, "unknown setting '%s' (server, token-file, "
             "tls-ca, color, since, or @NAME for a saved query)", key);
    return -1;
}

static char *
userconf_trim(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
                     s[n - 1] == '\r'))
        s[--n] = '\0';
    return s + strspn(s, " \t");
}

/* One line (NUL-terminated copy, without its newline). */
static int
userconf_line(struct userconf *c, char *line, char *err, size_t errlen)
{
    for (const char *p = line; *p != '\0'; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t' && *p != '\r') ||
            *p == 0x7f) {
            snprintf(err, errlen, "control byte 0x%02x",
                     (unsigned char)*p);
            return -1;
        }
    char *s = userconf_trim(line);
    if (*s == '\0' || *s == '#')
        return 0;
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "expected KEY = VALUE");
        return -1;
    }
    *eq = '\0';
    char *key = userconf_trim(s), *v = userconf_trim(eq + 1);
    if (*key == '\0' || *v == '\0') {
        snprintf(err, errlen, *key == '\0' ? "no key before '='"
                 : "%s has no value", key);
        return -1;
    }
    return userconf_setting(c, key, v, err, errlen);
}

int
userconf_parse(const char *text, size_t len, const char *path,
               struct userconf *out, char *err, size_t errlen)
{
    struct userconf c = { 0 };
    char *line = xmalloc(USERCONF_MAX_LINE + 1), why[512];
    size_t at = 0;
    unsigned lineno = 0;

    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - text - at) : len - at;
        lineno++;
        if (n > USERCONF_MAX_LINE || memchr(text + at, '\0', n) != NULL) {
            snprintf(why, sizeof(why), n > USERCONF_MAX_LINE
                     ? "line longer than %d bytes" : "NUL byte",
                     USERCONF_MAX_LINE);
            goto fail;
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        if (userconf_line(&c, line, why, sizeof(why)) < 0)
            goto fail;
        at += n + 1;
    }
    free(line);
    *out = c;
    return 0;
fail:
    snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
    free(line);
    userconf_fini(&c);
    return -1;
}

/* ------------------------------------------------------------ file */

char *
userconf_path(const char *env_config, const char *env_xdg,
              const char *env_home, int *is_explicit)
{
    *is_explicit = env_config != NULL;
    if (env_config != NULL)
        return env_config[0] != '\0' ? xstrdup(env_config) : NULL;
    if (env_xdg != NULL && env_xdg[0] == '/')
        return xasprintf("%s/logq/config", env_xdg);
    if (env_home != NULL && env_home[0] == '/')
        return xasprintf("%s/.config/logq/config", env_home);
    return NULL;
}

/* "~/x" -> home + "/x" (NULL home: left as it is). */
static void
userconf_tilde(char **p, const char *home)
{
    if (*p == NULL || strncmp(*p, "~/", 2) != 0 || home == NULL ||
        home[0] != '/')
        return;
    char *full = xasprintf("%s/%s", home, *p + 2);
    free(*p);
    *p = full;
}

/* The file's rules: a regular file, owned by the user or root, not
 * writable by group or others (it chooses the server logq sends the
 * token to). -1 with err. */
static int
userconf_file_check(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -1;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen, "%s: owned by uid %u, not by you", path,
                 (unsigned)st.st_uid);
        return -1;
    }
    if ((st.st_mode & 022) != 0) {
        snprintf(err, errlen, "%s: mode %04o lets the group or others "
                 "change it (chmod go-w)", path,
                 (unsigned)(st.st_mode & 07777));
        return -1;
    }
    if (st.st_size > USERCONF_MAX_FILE) {
        snprintf(err, errlen, "%s: larger than %d bytes", path,
                 USERCONF_MAX_FILE);
        return -1;
    }
    return 0;
}

int
userconf_load(const char *path, int is_explicit, const char *home,
              struct userconf *out, char *err, size_t errlen)
{
    /* O_NONBLOCK: a FIFO is refused below, not waited on for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    char *text;
    ssize_t n = 0;

    if (fd < 0 && errno == ENOENT && !is_explicit) {
        memset(out, 0, sizeof(*out));
        return 1;
    }
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (userconf_file_check(fd, path, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    text = xmalloc(USERCONF_MAX_FILE + 1);
    size_t len = 0;
    while (len <= USERCONF_MAX_FILE &&
           (n = read(fd, text + len, USERCONF_MAX_FILE + 1 - len)) > 0)
        len += (size_t)n;
    int rc = n < 0 || len > USERCONF_MAX_FILE ? -1 : 0;
    if (n < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    else if (rc < 0)
        snprintf(err, errlen, "%s: larger than %d bytes", path,
                 USERCONF_MAX_FILE);
    close(fd);
    if (rc == 0)
        rc = userconf_parse(text, len, path, out, err, errlen);
    free(text);
    if (rc == 0) {
        userconf_tilde(&out->token_file, home);
        userconf_tilde(&out->tls_ca, home);
    }
    return rc;
}
