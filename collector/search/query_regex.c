/* SPDX-License-Identifier: MIT */
/*
 * query_regex: PCRE2 wrapper for the search `regex` parameters (choices in
 * query_regex.h) and the required-word extractor the store's token index
 * uses. Alternatives are separate compiled patterns tried in turn rather
 * than one "(?:a)|(?:b)": joining texts would let a back-reference, a
 * trailing \Q or an (?x) comment of one reach into the next. PCRE2
 * allocates through xmalloc (a general context), so only the
 * JIT (executable memory, mmap) can fail at run time; without JIT the
 * interpreter runs the same pattern. Bounded work: the compiled size is
 * capped by PCRE2 itself ("regular expression is too large"), nesting by
 * its parens limit, and each match by a backtracking budget set per call.
 *
 * The extractor reads the pattern text, not PCRE2's compiled form (PCRE2
 * exposes no parse tree), through regex_syntax.c (as regex_must.c does):
 * a flat sequence of atoms at the top level, each
 * a literal word byte (the word rule of query.h: ASCII letter, digit, '_'
 * or any byte >= 0x80), a separator (consumes one or more bytes, none of
 * them a word byte), a boundary assertion (^ $ \A \z \Z: nothing on their
 * far side), a transparent assertion (\b \B \G and look-arounds: zero
 * width, and removing an assertion only adds matches, so the atoms on its
 * two sides decide, as if it were not there) or anything else. PCRE2's \b
 * is not a boundary here: its \w is ASCII, so a byte >= 0x80 may sit on
 * the far side ("\bdb01\b" matches "\xc3\xa9db01", one token); it is
 * transparent, so " \bdb01\b " or "=\bdb01\b," still give "db01". Nor are
 * \W \h \v \R separators (they match bytes >= 0x80: \xa0, \x85). A run
 * of unquantified word literals is a whole token of every match when the
 * atoms on both sides are separators or boundaries. Whatever could change
 * how the rest of the text parses (option settings, \Q, verbs, escapes
 * that take arguments) makes it give up.
 */
#include "collector/search/query_regex.h"

#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "collector/search/regex_anchors.h"
#include "collector/search/regex_must.h"
#include "collector/search/regex_syntax.h"
#include "common/xmalloc.h"

#define QR_JIT_STACK_MIN  ((size_t)32 << 10)
#define QR_JIT_STACK_MAX  ((size_t)1 << 20)
#define QR_HEAP_LIMIT_KIB 16384          /* interpreter backtracking heap */
#define QR_LIMIT_MAX      200000000u
#define QR_MUST_MIN       2     /* PCRE2 finds a lone byte fast itself */

struct qr_pattern {
    pcre2_code        *code;
    int                is_jit;
    struct regex_must  must;        /* bytes every match holds */
};

/* What one thread needs to run the patterns: the compiled code is shared
 * (PCRE2 matches a pattern from several threads at once), these are not. */
struct query_regex_state {
    pcre2_match_data      *md;      /* one pattern runs at a time */
    pcre2_match_context   *mctx;
    pcre2_jit_stack       *stack;
};

struct query_regex {
    pcre2_general_context   *gctx;
    struct query_regex_state st;    /* query_regex_match's */
    struct qr_pattern        pats[QUERY_REGEX_MAX_PATTERNS];
    size_t                   n_pats;
    int                      has_jit;
    int                      is_col;        /* every pattern has a must */
    uint64_t                 n_aborted;     /* atomic: every state's */
};

/* ---- PCRE2 wrapper ---- */

static void *
qr_malloc_cb(size_t size, void *arg)
{
    (void)arg;
    return xmalloc(size == 0 ? 1 : size);
}

static void
qr_free_cb(void *p, void *arg)
{
    (void)arg;
    free(p);
}

static _Thread_local uint64_t qr_n_compiled;

uint64_t
query_regex_n_compiled_here(void)
{
    return qr_n_compiled;
}

/* Compiles text; on error names the pattern as the user wrote it. */
static pcre2_code *
qr_compile_text(pcre2_general_context *gctx, const char *text, int icase,
                const char *pattern, const char *note, char **errstr)
{
    uint32_t opts = PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF |
                    PCRE2_NEVER_UCP | (icase ? PCRE2_CASELESS : 0);
    pcre2_compile_context *cctx = pcre2_compile_context_create(gctx);
    int err = 0;
    PCRE2_SIZE off = 0;

    qr_n_compiled++;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED,
                                     opts, &err, &off, cctx);
    pcre2_compile_context_free(cctx);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
            memcpy(msg, "unknown error", sizeof("unknown error"));
        *errstr = xasprintf("bad regex '%s'%s at offset %zu: %s", pattern,
                            note, (size_t)off, (const char *)msg);
    }
    return code;
}

/* The pattern as written is checked first, so errors and their offsets
 * are about the user's text; then \< and \> are rewritten. */
static pcre2_code *
qr_compile(pcre2_general_context *gctx, const char *pattern, int icase,
           char **errstr)
{
    char *rewritten = NULL, *why = NULL;
    pcre2_code *code = qr_compile_text(gctx, pattern, icase, pattern, "",
                                       errstr);

    if (code == NULL)
        return NULL;
    if (regex_anchors_rewrite(pattern, &rewritten, &why) < 0) {
        *errstr = xasprintf("bad regex '%s': %s", pattern, why);
        free(why);
        pcre2_code_free(code);
        return NULL;
    }
    if (rewritten != NULL) {
        pcre2_code_free(code);
        code = qr_compile_text(gctx, rewritten, icase, pattern,
                               " (\\< \\> rewritten)", errstr);
        free(rewritten);
    }
    return code;
}

/* JIT is an optimisation: no JIT support or no executable memory leaves
 * the interpreter, which honours the same limits. */
static void
qr_jit(struct query_regex *re, struct qr_pattern *pat)
{
    if (pcre2_jit_compile(pat->code, PCRE2_JIT_COMPLETE) != 0)
        return;
    pat->is_jit = 1;
    re->has_jit = 1;
}

/* 0, or -1 when PCRE2 cannot make the match data or context, or (with
 * JIT code) the JIT stack: every state must give the same answers. */
static int
qr_state_init(const struct query_regex *re, struct query_regex_state *st)
{
    st->md = pcre2_match_data_create(1, re->gctx);
    st->mctx = pcre2_match_context_create(re->gctx);
    if (st->md == NULL || st->mctx == NULL)
        return -1;
    pcre2_set_heap_limit(st->mctx, QR_HEAP_LIMIT_KIB);
    if (!re->has_jit)
        return 0;
    st->stack = pcre2_jit_stack_create(QR_JIT_STACK_MIN, QR_JIT_STACK_MAX,
                                       re->gctx);
    if (st->stack == NULL)
        return -1;
    pcre2_jit_stack_assign(st->mctx, NULL, st->stack);
    return 0;
}

static void
qr_state_fini(struct query_regex_state *st)
{
    pcre2_jit_stack_free(st->stack);
    pcre2_match_context_free(st->mctx);
    pcre2_match_data_free(st->md);
}

struct query_regex *
query_regex_new_any(const char *const *patterns, size_t n, int icase,
                    char **errstr)
{
    struct query_regex *re = xcalloc(1, sizeof(*re));

    if (n == 0 || n > QUERY_REGEX_MAX_PATTERNS) {
        *errstr = xasprintf("want 1 to %d regexes", QUERY_REGEX_MAX_PATTERNS);
        goto fail;
    }
    re->gctx = pcre2_general_context_create(qr_malloc_cb, qr_free_cb, NULL);
    if (re->gctx == NULL) {
        *errstr = xstrdup("regex: cannot create a PCRE2 context");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct qr_pattern *pat = &re->pats[re->n_pats];
        pat->code = qr_compile(re->gctx, patterns[i], icase, errstr);
        if (pat->code == NULL)
            goto fail;
        re->n_pats++;
        qr_jit(re, pat);
        regex_must_parse(patterns[i], icase, &pat->must);
    }
    if (qr_state_init(re, &re->st) < 0 && re->has_jit) {
        /* no JIT stack: the interpreter runs every pattern */
        qr_state_fini(&re->st);
        memset(&re->st, 0, sizeof(re->st));
        for (size_t i = 0; i < re->n_pats; i++)
            re->pats[i].is_jit = 0;
        re->has_jit = 0;
        if (qr_state_init(re, &re->st) < 0)
            goto fail_md;
    } else if (re->st.md == NULL || re->st.mctx == NULL) {
        goto fail_md;
    }
    re->is_col = 1;
    for (size_t i = 0; i < re->n_pats; i++)
        re->is_col &= re->pats[i].must.len >= QR_MUST_MIN;
    return re;
fail_md:
    *errstr = xstrdup("regex: cannot create PCRE2 match data");
fail:
    query_regex_free(re);
    return NULL;
}

struct query_regex *
query_regex_new(const char *pattern, int icase, char **errstr)
{
    return query_regex_new_any(&pattern, 1, icase, errstr);
}

void
query_regex_free(struct query_regex *re)
{
    if (re == NULL)
        return;
    qr_state_fini(&re->st);
    for (size_t i = 0; i < re->n_pats; i++)
        pcre2_code_free(re->pats[i].code);
    pcre2_general_context_free(re->gctx);
    free(re);
}

/* 1 match, 0 no match, -1 gave up (budget or PCRE2 failure). */
static int
qr_match_from(struct query_regex_state *st, const struct qr_pattern *pat,
              PCRE2_SPTR subject, size_t len, size_t from)
{
    int rc;

    if (pat->is_jit)
        rc = pcre2_jit_match(pat->code, subject, len, from, 0, st->md,
                             st->mctx);
    else
        rc = pcre2_match(pat->code, subject, len, from, 0, st->md,
                         st->mctx);
    if (rc >= 0)
        return 1;           /* 0: matched, ovector too small (1 pair) */
    return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static void
qr_set_limit(struct query_regex_state *st, size_t len)
{
    uint64_t limit = QUERY_REGEX_LIMIT_BASE +
                     (uint64_t)QUERY_REGEX_LIMIT_PER_BYTE * len;

    pcre2_set_match_limit(st->mctx, limit > QR_LIMIT_MAX ? QR_LIMIT_MAX
                                                         : (uint32_t)limit);
}

int
query_regex_can_col(const struct query_regex *re)
{
    return re->is_col;
}

int
query_regex_maybe_col(const struct query_regex *re, const char *text,
                      const uint32_t *ends, uint32_t n, uint8_t *maybe)
{
    if (!re->is_col)
        return -1;
    memset(maybe, 0, n);
    for (size_t i = 0; i < re->n_pats; i++)
        regex_must_scan(&re->pats[i].must, text, ends, n, maybe);
    return 0;
}

int
query_regex_maybe_raw(const struct query_regex *re, const char *text,
                      size_t len)
{
    if (!re->is_col)
        return 1;
    for (size_t i = 0; i < re->n_pats; i++)
        if (regex_must_find(&re->pats[i].must, text, len))
            return 1;
    return 0;
}

struct query_regex_state *
query_regex_state_new(const struct query_regex *re)
{
    struct query_regex_state *st = xcalloc(1, sizeof(*st));

    if (qr_state_init(re, st) < 0) {
        query_regex_state_free(st);
        return NULL;
    }
    return st;
}

void
query_regex_state_free(struct query_regex_state *st)
{
    if (st == NULL)
        return;
    qr_state_fini(st);
    free(st);
}

int
query_regex_match_in(const struct query_regex *re,
                     struct query_regex_state *st, const char *msg,
                     size_t len)
{
    int has_given_up = 0;

    qr_set_limit(st, len);
    /* A zero-length message still needs a valid pointer for PCRE2. */
    PCRE2_SPTR subject = (PCRE2_SPTR)(len > 0 ? msg : "");
    for (size_t i = 0; i < re->n_pats; i++) {
        const struct qr_pattern *pat = &re->pats[i];
        /* without the bytes every match holds it cannot match: PCRE2 is
         * not asked (nor can it run out of budget), as when a block's
         * column search rules the message out (query_regex_maybe_col) */
        if (pat->must.len >= QR_MUST_MIN &&
            !regex_must_find(&pat->must, msg, len))
            continue;
        int rc = qr_match_from(st, pat, subject, len, 0);
        if (rc == 1)
            return 1;
        has_given_up |= rc < 0;
    }
    return has_given_up ? -1 : 0;
}

int
query_regex_match(struct query_regex *re, const char *msg, size_t len)
{
    int rc = query_regex_match_in(re, &re->st, msg, len);

    if (rc < 0)
        query_regex_add_aborted(re, 1);
    return rc == 1;
}

void
query_regex_add_aborted(struct query_regex *re, uint64_t n)
{
    __atomic_fetch_add(&re->n_aborted, n, __ATOMIC_RELAXED);
}

size_t
query_regex_spans(struct query_regex *re, const char *msg, size_t len,
                  size_t *out, size_t max)
{
    size_t n = 0;
    PCRE2_SPTR subject = (PCRE2_SPTR)(len > 0 ? msg : "");

    qr_set_limit(&re->st, len);
    for (size_t i = 0; i < re->n_pats; i++) {
        size_t from = 0;
        while (from <= len && n < max &&
               qr_match_from(&re->st, &re->pats[i], subject, len, from)
                   == 1) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->st.md);
            size_t start = ov[0], end = ov[1];
            if (end > start) {
                out[2 * n] = start;
                out[2 * n + 1] = end;
                n++;
            }
            /* An empty match (or \K moving the start back) must still
             * move on, so the loop ends. */
            from = end > from ? end : from + 1;
        }
    }
    return n;
}

uint64_t
query_regex_n_aborted(const struct query_regex *re)
{
    return __atomic_load_n(&re->n_aborted, __ATOMIC_RELAXED);
}

/* ---- required words ---- */

enum qr_kind {
    QR_LIT,     /* one word byte, unquantified */
    QR_SEP,     /* consumes >= 1 bytes, none a word byte */
    QR_BOUND,   /* zero width; no word byte on its far side */
    QR_SKIP,    /* zero width, only restricts matches: transparent */
    QR_OTHER,   /* anything else, including zero width */
    QR_START,   /* the pattern's start: unanchored, so not a bound */
};

/* The words give up (QR_BAIL) on syntax they do not model. */
#define QR_BAIL (-1)

/* Kind of the escape "\c" outside a class, or QR_BAIL for escapes that
 * take arguments (\x41 \1 \p{..} \g{..} \k<..> \o{..} \cX) or change the
 * parsing of what follows (\Q \E). An escaped word byte (\_) is a literal,
 * but not one a token can be copied from. */
static int
qr_escape_kind(unsigned char c)
{
    if (c == '\0')
        return QR_BAIL;
    if (c == '<' || c == '>')
        return QR_BOUND;                    /* GNU anchors: regex_anchors.h */
    if (!regex_is_alnum(c))
        return regex_is_word(c) ? QR_OTHER : QR_SEP;   /* \. \( \_: literals */
    if (strchr("AzZ", c) != NULL)
        return QR_BOUND;
    if (strchr("stnrfea", c) != NULL)
        return QR_SEP;
    if (strchr("bBG", c) != NULL)
        return QR_SKIP;                     /* assertions */
    if (strchr("dDwWShHvVRNKXC", c) != NULL)
        return QR_OTHER;
    return QR_BAIL;
}

static int
qr_is_bound(enum qr_kind k)
{
    return k == QR_SEP || k == QR_BOUND;
}

/* The kind of the atom a (and its quantifiers) for the words, or
 * QR_BAIL. */
static int
qr_kind_of(const struct regex_atom *a)
{
    int k;

    switch (a->kind) {
    case REGEX_ATOM_BYTE:
        k = regex_is_word(a->c) ? QR_LIT : QR_SEP;
        break;
    case REGEX_ATOM_ESCAPE:
        k = qr_escape_kind(a->c);
        break;
    case REGEX_ATOM_ANCHOR:
        k = QR_BOUND;
        break;
    case REGEX_ATOM_GROUP:
        k = a->is_lookaround ? QR_SKIP : QR_OTHER;
        break;
    case REGEX_ATOM_QUANT:
        /* a brace that some version reads as a quantifier is unknown;
         * '*' '+' '?' with nothing before them, PCRE2 refuses */
        k = a->c == '{' ? QR_OTHER : QR_BAIL;
        break;
    default:                            /* '.', a class */
        k = QR_OTHER;
    }
    /* Quantified, it is unknown, but for a separator repeated at least
     * once (still only separator bytes on both of its ends). */
    if (k != QR_BAIL && a->n_quant > 0 && (k != QR_SEP || a->min < 1))
        k = QR_OTHER;
    return k;
}

/* Whether the run pattern[off .. off + len) of word bytes is a word for
 * query_regex_words (both ends hard: a separator, an anchor or \< \>
 * beyond them) or, with is_bounded, one for query_regex_bwords: ASCII,
 * each end hard or a \b against it (b_left, b_right), at least one a \b
 * (so the byte beyond a \b end is an ASCII non-word byte, the text's end
 * or a byte >= 0x80: the run is a token or a maximal ASCII run inside
 * one, a sub-word). right is the atom after the run, QR_START at the
 * pattern's end (unanchored). */
static int
qr_run_is_word(const char *pattern, size_t off, size_t len,
               enum qr_kind left, int b_left, enum qr_kind right, int b_right,
               int is_bounded)
{
    int is_left = qr_is_bound(left), is_right = qr_is_bound(right);

    if (!is_bounded)
        return is_left && is_right;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)pattern[off + i] >= 0x80)
            return 0;
    return !(is_left && is_right) && (is_left || b_left) &&
           (is_right || b_right);
}

/* query_regex_words, or with is_bounded query_regex_bwords. */
static size_t
qr_words(const char *pattern, struct query_regex_word *out, size_t max,
         int is_bounded)
{
    enum qr_kind before = QR_START;     /* atom before the current run */
    size_t run_off = 0, run_len = 0, n = 0;
    int is_icase = 0;                   /* the index folds case anyway */
    size_t i = regex_lead_options(pattern, &is_icase);
    int is_skipped = 0;                 /* a transparent atom since the last */
    int is_b = 0;                       /* a \b among them */
    int b_left = 0;                     /* a \b just before the run */

    while (pattern[i] != '\0') {
        struct regex_atom a;
        if (regex_atom_next(pattern, &i, &a) < 0)
            return 0;
        int k = qr_kind_of(&a);
        if (k == QR_BAIL)
            return 0;   /* also a top-level '|': one branch proves nothing */
        if (k == QR_SKIP) {
            is_skipped = 1;     /* the neighbours decide */
            is_b |= a.kind == REGEX_ATOM_ESCAPE && a.c == 'b';
            continue;
        }
        if (k == QR_LIT && is_skipped && run_len > 0) {
            /* "db\B01": one token of the text, not one slice of the
             * pattern: neither part is whole */
            run_len = 0;
            before = QR_OTHER;
            is_b = 0;
        }
        is_skipped = 0;
        if (k == QR_LIT) {
            if (run_len == 0) {
                run_off = a.off;
                b_left = is_b;
            }
            is_b = 0;
            run_len++;
            continue;
        }
        if (run_len > 0 && n < max &&
            qr_run_is_word(pattern, run_off, run_len, before, b_left,
                           (enum qr_kind)k, is_b, is_bounded)) {
            out[n].off = run_off;
            out[n].len = run_len;
            n++;
        }
        run_len = 0;
        before = (enum qr_kind)k;
        is_b = 0;
    }
    if (run_len > 0 && n < max &&
        qr_run_is_word(pattern, run_off, run_len, before, b_left, QR_START,
                       is_b, is_bounded)) {
        out[n].off = run_off;
        out[n].len = run_len;
        n++;
    }
    return n;
}

size_t
query_regex_words(const char *pattern, struct query_regex_word *out,
                  size_t max)
{
    return qr_words(pattern, out, max, 0);
}

size_t
query_regex_bwords(const char *pattern, struct query_regex_word *out,
                   size_t max)
{
    return qr_words(pattern, out, max, 1);
}

static int
qr_ascii_eq(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

/* Whether w (len bytes) is among the words of pattern (with is_bounded:
 * its bounded words), ASCII case folded. */
static int
qr_has_word(const char *pattern, const char *w, size_t len, int is_bounded)
{
    struct query_regex_word ws[QUERY_REGEX_MAX_WORDS];
    size_t n = qr_words(pattern, ws, QUERY_REGEX_MAX_WORDS, is_bounded);

    for (size_t i = 0; i < n; i++)
        if (ws[i].len == len && qr_ascii_eq(pattern + ws[i].off, w, len))
            return 1;
    return 0;
}

size_t
query_regex_words_all(const char *const *patterns, size_t n,
                      struct query_regex_word *out, size_t max)
{
    struct query_regex_word ws[QUERY_REGEX_MAX_WORDS];
    size_t n_ws = n > 0 ? query_regex_words(patterns[0], ws,
                                            QUERY_REGEX_MAX_WORDS) : 0;
    size_t n_out = 0;

    for (size_t i = 0; i < n_ws && n_out < max; i++) {
        size_t k = 1;
        while (k < n && qr_has_word(patterns[k], patterns[0] + ws[i].off,
                                    ws[i].len, 0))
            k++;
        if (k == n)
            out[n_out++] = ws[i];
    }
    return n_out;
}

size_t
query_regex_bwords_all(const char *const *patterns, size_t n,
                       struct query_regex_word *out, size_t max)
{
    struct query_regex_word ws[2 * QUERY_REGEX_MAX_WORDS];
    size_t n_hard = n > 0 ? query_regex_words(patterns[0], ws,
                                              QUERY_REGEX_MAX_WORDS) : 0;
    size_t n_ws = n_hard + (n > 0 ? query_regex_bwords(patterns[0],
                                                       ws + n_hard,
                                                       QUERY_REGEX_MAX_WORDS)
                                  : 0);
    size_t n_out = 0;

    for (size_t i = 0; i < n_ws && n_out < max; i++) {
        const char *w = patterns[0] + ws[i].off;
        int is_all_hard = i < n_hard;   /* then query_regex_words_all's */
        size_t k = 1;
        for (; k < n; k++) {
            int is_hard = qr_has_word(patterns[k], w, ws[i].len, 0);
            if (!is_hard && !qr_has_word(patterns[k], w, ws[i].len, 1))
                break;
            is_all_hard &= is_hard;
        }
        if (k == n && !is_all_hard)
            out[n_out++] = ws[i];
    }
    return n_out;
}
