/* SPDX-License-Identifier: MIT */
/*
 * multiline: see multiline.h. The built-in rules are small state machines
 * over literal prefixes (no regex per line: they run on every line of a
 * container that has one); only `regex:` runs POSIX regexec, with
 * REG_STARTEND since a decoded line may hold a NUL. States: python 1 in a
 * traceback's body, 2 after its exception line, 3 in a chain between
 * tracebacks; go 1 in a trace.
 */
#include "shipper/multiline.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "common/xmalloc.h"

#define ML_MARKER_ROOM 64   /* tail_read.c's truncation marker */

enum { PY_NONE, PY_BODY, PY_EXC, PY_CHAIN };
enum { GO_NONE, GO_TRACE };

struct ml_line {
    const char *p;
    size_t      len;
};

/* ---- helpers ---- */

static int
ml_has_prefix(struct ml_line l, size_t at, const char *pre)
{
    size_t n = strlen(pre);

    return at <= l.len && l.len - at >= n && memcmp(l.p + at, pre, n) == 0;
}

static int
ml_is_blank_at(struct ml_line l, size_t i)
{
    return i < l.len && (l.p[i] == ' ' || l.p[i] == '\t');
}

static size_t
ml_indent(struct ml_line l)
{
    size_t i = 0;

    while (ml_is_blank_at(l, i))
        i++;
    return i;
}

/* Digits from *at on (at least one); *at moves past them. */
static int
ml_digits(struct ml_line l, size_t *at)
{
    size_t i = *at;

    while (i < l.len && l.p[i] >= '0' && l.p[i] <= '9')
        i++;
    if (i == *at)
        return 0;
    *at = i;
    return 1;
}

/* ---- java ---- */

/* "... 12 more" or "... 12 common frames omitted" (logback). */
static int
ml_java_elided(struct ml_line l, size_t i)
{
    if (!ml_has_prefix(l, i, "... "))
        return 0;
    i += 4;
    if (!ml_digits(l, &i))
        return 0;
    return (l.len - i == 5 && ml_has_prefix(l, i, " more")) ||
           (l.len - i == 22 && ml_has_prefix(l, i, " common frames omitted"));
}

static enum multiline_verdict
ml_java(struct ml_line l)
{
    size_t i = ml_indent(l);

    if ((i > 0 && ml_has_prefix(l, i, "at ")) || ml_java_elided(l, i) ||
        ml_has_prefix(l, i, "Caused by:") ||
        ml_has_prefix(l, i, "Suppressed:"))
        return MULTILINE_CONTINUE;
    return MULTILINE_START;
}

/* ---- python ---- */

static int
ml_py_is_traceback(struct ml_line l)
{
    return l.len == 34 && ml_has_prefix(l, 0,
                                        "Traceback (most recent call last):");
}

static int
ml_py_is_chain(struct ml_line l)
{
    return l.len == 0 ||
           ml_has_prefix(l, 0, "During handling of the above exception, "
                         "another exception occurred:") ||
           ml_has_prefix(l, 0, "The above exception was the direct cause "
                         "of the following exception:");
}

static enum multiline_verdict
ml_python(int *state, struct ml_line l)
{
    if (*state == PY_BODY) {
        if (l.len > 0 && !ml_is_blank_at(l, 0))
            *state = PY_EXC;    /* the exception line ends the body */
        return MULTILINE_CONTINUE;
    }
    if ((*state == PY_EXC || *state == PY_CHAIN) && ml_py_is_chain(l)) {
        *state = PY_CHAIN;
        return MULTILINE_CONTINUE;
    }
    if (*state == PY_CHAIN && ml_py_is_traceback(l)) {
        *state = PY_BODY;
        return MULTILINE_CONTINUE;
    }
    if (ml_py_is_traceback(l)) {
        *state = PY_BODY;
        return MULTILINE_START;
    }
    *state = PY_NONE;
    return MULTILINE_SINGLE;
}

/* ---- go ---- */

/* "goroutine 7 [running]:" or (Go 1.23+) "goroutine 7 gp=0x... [...]:" */
static int
ml_go_is_goroutine(struct ml_line l)
{
    size_t i = 10;

    if (!ml_has_prefix(l, 0, "goroutine ") || !ml_digits(l, &i))
        return 0;
    return ml_has_prefix(l, i, " [") || ml_has_prefix(l, i, " gp=");
}

/* "main.(*T).run(0xc000010000, {0x4b2f60, 0x5})": no space before the
 * first '(', ends in ')'. */
static int
ml_go_is_call(struct ml_line l)
{
    if (l.len == 0 || l.p[l.len - 1] != ')')
        return 0;
    const char *open = memchr(l.p, '(', l.len);
    if (open == NULL || open == l.p)
        return 0;
    return memchr(l.p, ' ', (size_t)(open - l.p)) == NULL;
}

static int
ml_go_continues(struct ml_line l)
{
    return l.len == 0 || ml_is_blank_at(l, 0) || ml_go_is_goroutine(l) ||
           ml_has_prefix(l, 0, "[signal ") ||
           ml_has_prefix(l, 0, "created by ") ||
           ml_has_prefix(l, 0, "runtime stack:") ||
           ml_has_prefix(l, 0, "...additional frames elided...") ||
           ml_go_is_call(l);
}

static enum multiline_verdict
ml_go(int *state, struct ml_line l)
{
    int is_start = ml_has_prefix(l, 0, "panic: ") ||
                   ml_has_prefix(l, 0, "fatal error: ");

    if (*state == GO_TRACE && !is_start && ml_go_continues(l))
        return MULTILINE_CONTINUE;
    if (is_start || ml_go_is_goroutine(l)) {
        *state = GO_TRACE;
        return MULTILINE_START;
    }
    *state = GO_NONE;
    return MULTILINE_SINGLE;
}

/* ---- regex ---- */

/* glibc's regexec keeps a DFA state per new set of positions it meets, of
 * the regex's size, until regfree: over many lines the cache grew without
 * bound (60 nodes, 40,000 random lines: 192 MiB, 58 CPU-s, its lookups
 * slowing as it grew). Once ML_RE_WORK bytes times nodes were matched,
 * the regex is compiled again (a few us) and the old one freed: 60 nodes
 * then hold about 1.5 MiB, 1.1 CPU-s for those lines. */
#define ML_RE_WORK      (1u << 18)

/* Within one line regexec builds states with the line's length times the
 * regex's size, and keeps them to its end: a never-matching 61-node regex
 * over an 8,000-byte line took 73 MiB and 2 CPU-s, a 600-node one 365 MiB
 * and 6 CPU-s over 1,024 bytes (glibc 2.36). So the regex sees at most
 * the first ML_LINE_WORK / size bytes of a line (and at most the
 * --multiline-match-bytes setting): a line then costs at most ~32 MiB
 * (measured 12 MiB at 61 nodes, 1,074 bytes; README "Multi-line
 * records"). */
#define ML_LINE_WORK    (1u << 16)

struct multiline_re {
    regex_t  re;
    char    *src;
    size_t   size;          /* ml_re_size: nodes, about */
    size_t   match_max;     /* bytes of a line the regex sees */
    uint64_t work;          /* bytes matched times size since compiled */
    uint64_t n_recompiles;
    uint64_t n_cut;         /* lines longer than match_max */
    char    *scratch;       /* match_max + 1: the line matched */
};

/* The bytes of a line a regex of size nodes sees under a setting of n. */
static size_t
ml_re_match_max(size_t size, size_t n)
{
    size_t by_work = ML_LINE_WORK / size;

    return by_work < n ? by_work : n;
}

static void
ml_re_spend(struct multiline_re *x, size_t len)
{
    regex_t fresh;

    x->work += (uint64_t)(len + 1) * x->size;
    if (x->work < ML_RE_WORK)
        return;
    x->work = 0;
    /* compiled once already: only ENOMEM fails, and the old one stays */
    if (regcomp(&fresh, x->src, REG_EXTENDED | REG_NOSUB) != 0)
        return;
    regfree(&x->re);
    x->re = fresh;
    x->n_recompiles++;
}

static enum multiline_verdict
ml_regex(const struct multiline_rule *r, struct ml_line l)
{
    if (l.len > r->re->match_max) {     /* as if the line ended there */
        l.len = utf8_cut((const uint8_t *)l.p, r->re->match_max);
        r->re->n_cut++;
    }
    /* A tailer's line has no NUL after it, and regexec's callers may read
     * the string to one even with REG_STARTEND (the sanitizers'
     * interceptor does): matched from a NUL-terminated copy in every
     * build, at most match_max bytes. */
    if (l.len > 0)
        memcpy(r->re->scratch, l.p, l.len);
    r->re->scratch[l.len] = '\0';
    regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)l.len };
    int rc = regexec(&r->re->re, r->re->scratch, 1, &m, REG_STARTEND);
    ml_re_spend(r->re, l.len);
    return rc == 0 ? MULTILINE_START : MULTILINE_CONTINUE;
}

/* ---- regex size ---- */

/* glibc's regcomp copies an expression once per repeat ({n,m}: max(n, m)
 * copies, x+: two, x* and x?: one), so stacked or nested repeats multiply:
 * "\\+" and 100 '+' is 2^100 nodes, "((a{99}){99}){99}" a million. A
 * rule comes from any container's label, so such a regex is refused
 * before regcomp (README "Multi-line records"). */
#define ML_RE_MAX_SIZE  1024    /* nodes after the copies, about */
#define ML_RE_MAX_DEPTH 32      /* nested groups */
#define ML_RE_MAX_LEN   512     /* bytes of the regex */

static size_t
ml_re_sat(size_t v)
{
    return v > ML_RE_MAX_SIZE ? ML_RE_MAX_SIZE + 1 : v;
}

/* Past the bracket expression at p ('['): "[]a]", "[^]a]", "[[:alpha:]]",
 * "[[=a=]]", "[[.-.]]"; the end of the string if it has no ']'. */
static const char *
ml_re_bracket_end(const char *p)
{
    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*p != '\0' && *p != ']') {
        if (p[0] == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
            const char *q = p + 2;
            while (*q != '\0' && !(q[0] == p[1] && q[1] == ']'))
                q++;
            p = *q != '\0' ? q + 2 : q;
        } else {
            p++;
        }
    }
    return *p == ']' ? p + 1 : p;
}

/* An interval at p ('{'): "{n}", "{n,}", "{n,m}", "{,m}"; the copies it
 * makes in *reps (at least 1) and the position past it, NULL if it is no
 * interval (regcomp then decides). */
static const char *
ml_re_interval(const char *p, size_t *reps)
{
    size_t n = 0, m = 0;
    int comma = 0, has_m = 0;

    for (p++; *p >= '0' && *p <= '9'; p++)
        n = n > ML_RE_MAX_SIZE ? n : n * 10 + (size_t)(*p - '0');
    if (*p == ',') {
        comma = 1;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            m = m > ML_RE_MAX_SIZE ? m : m * 10 + (size_t)(*p - '0');
            has_m = 1;
        }
    }
    if (*p != '}')
        return NULL;
    *reps = comma && !has_m ? n + 1 : (m > n ? m : n);
    if (*reps == 0)
        *reps = 1;
    return p + 1;
}

/* An upper bound of the nodes regcomp builds for ERE re, saturated at
 * ML_RE_MAX_SIZE + 1, which also stands for groups nested deeper than
 * ML_RE_MAX_DEPTH and for a back-reference (\1 to \9, a GNU extension
 * that makes regexec backtrack: exponential time per line). Syntax errors
 * are left to regcomp. */
static size_t
ml_re_size(const char *re)
{
    struct {
        size_t sum;     /* nodes of the group so far */
        size_t last;    /* of its last atom, what a repeat copies */
    } st[ML_RE_MAX_DEPTH + 1];
    size_t depth = 0, atom;
    const char *p = re;

    st[0].sum = st[0].last = 0;
    while (*p != '\0') {
        size_t reps = 0;
        const char *q;

        atom = 1;
        switch (*p) {
        case '\\':
            if (p[1] >= '1' && p[1] <= '9')
                return ML_RE_MAX_SIZE + 1;  /* a back-reference */
            p += p[1] != '\0' ? 2 : 1;
            break;
        case '[':
            p = ml_re_bracket_end(p);
            break;
        case '(':
            if (depth == ML_RE_MAX_DEPTH)
                return ML_RE_MAX_SIZE + 1;
            depth++;
            st[depth].sum = st[depth].last = 0;
            p++;
            continue;
        case ')':
            if (depth > 0)
                atom = ml_re_sat(st[depth--].sum + 1);
            p++;
            break;
        case '|':
            st[depth].last = 0;
            p++;
            continue;
        case '*':
        case '?':
            reps = 1;
            p++;
            break;
        case '+':
            reps = 2;
            p++;
            break;
        case '{':
            if ((q = ml_re_interval(p, &reps)) != NULL)
                p = q;
            else
                p++;
            break;
        default:
            p++;
            break;
        }
        if (reps > 0) {         /* copies the atom before it */
            size_t old = st[depth].last;
            atom = ml_re_sat(old * reps + 1);
            st[depth].sum -= old;
        }
        st[depth].sum = ml_re_sat(st[depth].sum + atom);
        st[depth].last = atom;
    }
    size_t sum = 0;             /* groups left open: regcomp built them */
    for (size_t i = 0; i <= depth; i++)
        sum = ml_re_sat(sum + st[i].sum);
    return sum;
}

/* ---- public API ---- */

int
multiline_rule_parse(const char *spec, struct multiline_rule *out, char *err,
                     size_t err_len)
{
    static const struct {
        const char         *name;
        enum multiline_kind kind;
    } names[] = {
        { "none", MULTILINE_NONE }, { "java", MULTILINE_JAVA },
        { "python", MULTILINE_PYTHON }, { "go", MULTILINE_GO },
        { "indent", MULTILINE_INDENT },
    };
    struct multiline_rule r = { .kind = MULTILINE_NONE };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(spec, names[i].name) == 0) {
            r.kind = names[i].kind;
            *out = r;
            return 0;
        }
    }
    if (strncmp(spec, "regex:", 6) != 0 || spec[6] == '\0') {
        snprintf(err, err_len, "unknown multi-line rule '%.64s' (want none, "
                 "java, python, go, indent or regex:START)", spec);
        return -1;
    }
    size_t size = strlen(spec + 6) > ML_RE_MAX_LEN ? ML_RE_MAX_SIZE + 1 :
                  ml_re_size(spec + 6);
    if (size > ML_RE_MAX_SIZE) {
        snprintf(err, err_len, "multi-line regex '%.64s' too complex (at "
                 "most %d bytes, %d groups deep, repeats expanding to %d "
                 "nodes, no back-references)", spec + 6, ML_RE_MAX_LEN,
                 ML_RE_MAX_DEPTH, ML_RE_MAX_SIZE);
        return -1;
    }
    struct multiline_re *x = xcalloc(1, sizeof(*x));
    int rc = regcomp(&x->re, spec + 6, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[128];
        regerror(rc, &x->re, why, sizeof(why));
        snprintf(err, err_len, "bad multi-line regex '%.64s': %s", spec + 6,
                 why);
        free(x);
        return -1;
    }
    x->src = xstrdup(spec + 6);
    x->size = size > 0 ? size : 1;
    x->match_max = ml_re_match_max(x->size, MULTILINE_MATCH_BYTES);
    x->scratch = xmalloc(x->match_max + 1);
    r.kind = MULTILINE_REGEX;
    r.re = x;
    *out = r;
    return 0;
}

void
multiline_rule_fini(struct multiline_rule *r)
{
    if (r->re != NULL) {
        regfree(&r->re->re);
        free(r->re->src);
        free(r->re->scratch);
        free(r->re);
    }
    r->re = NULL;
    r->kind = MULTILINE_NONE;
}

uint64_t
multiline_rule_recompiles(const struct multiline_rule *r)
{
    return r->re != NULL ? r->re->n_recompiles : 0;
}

void
multiline_rule_match_bytes(struct multiline_rule *r, size_t n)
{
    if (r->re == NULL)
        return;
    r->re->match_max = ml_re_match_max(r->re->size, n > 0 ? n : 1);
    free(r->re->scratch);
    r->re->scratch = xmalloc(r->re->match_max + 1);
}

size_t
multiline_rule_match_max(const struct multiline_rule *r)
{
    return r->re != NULL ? r->re->match_max : 0;
}

uint64_t
multiline_rule_lines_cut(const struct multiline_rule *r)
{
    return r->re != NULL ? r->re->n_cut : 0;
}

enum multiline_verdict
multiline_classify(const struct multiline_rule *r, int *state,
                   const char *line, size_t len)
{
    struct ml_line l = { line, len };

    switch (r->kind) {
    case MULTILINE_JAVA:
        return ml_java(l);
    case MULTILINE_PYTHON:
        return ml_python(state, l);
    case MULTILINE_GO:
        return ml_go(state, l);
    case MULTILINE_INDENT:
        return ml_is_blank_at(l, 0) ? MULTILINE_CONTINUE : MULTILINE_START;
    case MULTILINE_REGEX:
        return ml_regex(r, l);
    case MULTILINE_NONE:
        break;
    }
    return MULTILINE_SINGLE;
}

void
multiline_group_init(struct multiline_group *g, size_t max_record)
{
    memset(g, 0, sizeof(*g));
    buf_init(&g->msg, max_record + ML_MARKER_ROOM);
}

void
multiline_group_fini(struct multiline_group *g)
{
    buf_fini(&g->msg);
}

/* Appends what fits under max_record (cut on a UTF-8 boundary); once
 * something was cut, everything after it only counts in dropped. */
static void
ml_group_append(struct multiline_group *g, size_t max_record,
                const uint8_t *p, size_t n)
{
    size_t room = g->msg.len < max_record ? max_record - g->msg.len : 0;
    size_t cut = 0;

    if (g->dropped == 0 && n <= room) {
        if (buf_append(&g->msg, p, n) == 0)
            return;
        room = 0;   /* cannot happen: the cap is max_record + marker room */
    }
    if (g->dropped == 0 && room > 0)
        cut = utf8_cut(p, room);
    if (cut > 0 && buf_append(&g->msg, p, cut) < 0)
        cut = 0;
    g->dropped += n - cut;
}

void
multiline_group_add(struct multiline_group *g, size_t max_record,
                    const uint8_t *text, size_t len, uint64_t dropped,
                    uint8_t flags, int64_t time_ns,
                    const struct tail_pos *start, uint64_t end)
{
    if (!g->is_active) {
        g->is_active = 1;
        g->start = *start;
        g->time_ns = time_ns;
        g->flags = 0;
        g->dropped = 0;
        g->n_lines = 0;
        buf_reset(&g->msg);
    } else {
        ml_group_append(g, max_record, (const uint8_t *)"\n", 1);
    }
    ml_group_append(g, max_record, text, len);
    g->dropped += dropped;
    g->flags |= flags;
    g->last_end = end;
    g->last_time_ns = time_ns;
    g->n_lines++;
}
