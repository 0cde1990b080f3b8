/* SPDX-License-Identifier: MIT */
/*
 * userconf: logq's own config file, $XDG_CONFIG_HOME/logq/config (else
 * ~/.config/logq/config, or $LOGQ_CONFIG): defaults for --server,
 * --token-file, --tls-ca, --color and --since, and named saved queries run
 * as `logq @NAME`. Format, one setting per line, '#' starts a comment
 * line, blank lines skipped:
 *
 *     server = https://logs.example.com:7443
 *     token-file = ~/.config/logq/token
 *     tls-ca = ~/.config/logq/ca.pem
 *     color = auto|always|never
 *     since = 1h
 *     @errors = error -v healthcheck --container 'web*'
 *
 * A saved query's value is split into words like a shell does ('...',
 * "...", \ escapes; nothing is expanded). The file names no secret: a
 * token only through token-file. userconf_parse is pure (bytes in, a
 * struct or a "PATH:LINE: reason" error out), bounded and fuzzed;
 * userconf_load adds the file's rules (a regular file, not writable by
 * group or others, owned by the user or root; at most 64 KiB).
 */
#ifndef QUERY_USERCONF_H
#define QUERY_USERCONF_H

#include <stddef.h>

#define USERCONF_MAX_FILE    (64 * 1024)
#define USERCONF_MAX_LINE    4096
#define USERCONF_MAX_QUERIES 256
#define USERCONF_MAX_WORDS   64     /* words of one saved query */
#define USERCONF_MAX_NAME    64     /* [A-Za-z0-9_.-] */

struct userconf_query {
    char    *name;              /* without '@' */
    char   **words;             /* n_words, each owned */
    int      n_words;
};

struct userconf {
    char    *server;            /* NULL when not set */
    char    *token_file;        /* "~/" expanded by userconf_load */
    char    *tls_ca;
    char    *since;             /* a time expression (checked) */
    int      has_color;
    int      color_mode;        /* enum args_color */
    struct userconf_query *queries;
    size_t   n_queries;
};

/* Parses text (len bytes, need not end in NUL or newline); path is only
 * for messages. -1 with "path:line: reason" in err (out untouched);
 * unknown keys, a key given twice, a bad value, a line over
 * USERCONF_MAX_LINE, a NUL byte or too many queries/words are errors. On
 * success free out with userconf_fini. */
int  userconf_parse(const char *text, size_t len, const char *path,
                    struct userconf *out, char *err, size_t errlen);
void userconf_fini(struct userconf *c);

/* The saved query name (without '@'); NULL if none. */
const struct userconf_query *userconf_query_get(const struct userconf *c,
                                                const char *name);

/* Splits s like a shell into at most max words (owned, caller frees each
 * and the array): '...' literal, "..." with \" \\ \$ \` escapes, \x
 * outside quotes. -1 with a reason in err (unterminated quote, too many
 * words). */
int  userconf_words_split(const char *s, char ***words, int *n, int max,
                          char *err, size_t errlen);

/* The path to read: $LOGQ_CONFIG (empty: none), else
 * $XDG_CONFIG_HOME/logq/config when absolute, else
 * $HOME/.config/logq/config; NULL if none can be formed. Caller frees.
 * *is_explicit: from $LOGQ_CONFIG (a missing file is then an error). */
char *userconf_path(const char *env_config, const char *env_xdg,
                    const char *env_home, int *is_explicit);

/* Reads and parses path (rules above); "~/" in token-file and tls-ca
 * becomes home's. 0 with out filled, 1 when the file does not exist and
 * !is_explicit (out empty), -1 with err. */
int  userconf_load(const char *path, int is_explicit, const char *home,
                   struct userconf *out, char *err, size_t errlen);

#endif
