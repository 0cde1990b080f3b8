/* SPDX-License-Identifier: MIT */
/*
 * regex_must: required literals of a pattern (regex_must.h). The pattern
 * is read atom by atom through regex_syntax.c (as query_regex.c reads its
 * words), which skips groups and classes whole and gives up on whatever
 * could change how the rest parses (options, \Q, verbs, escapes with
 * arguments); here it also gives up on any "(?" but "(?:" and on \N.
 * The scan compares 16 bytes at a time for the literal's first and last
 * byte at their distance (SSE2 on x86-64; a byte loop elsewhere), 32 at
 * a time where the CPU has AVX2 (chosen at run time), then checks the
 * whole literal and that it lies inside one message.
 * query_regex.c calls both.
 */
#include "collector/search/regex_must.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RM_HAS_AVX2_PATH 1
#endif

#include "collector/search/regex_syntax.h"

/* Keeps the run in m when it is the longest so far. */
static void
rm_keep(struct regex_must *m, const uint8_t *run, size_t len)
{
    if (len > m->len) {
        memcpy(m->lit, run, len);
        m->len = len;
    }
}

/* Whether the escape "\\c" stands for the byte c. */
static int
rm_escape_is_byte(unsigned char c)
{
    return !regex_is_alnum(c) && c < 0x80 && c != '<' && c != '>';
}

/* The atom a: 1 a literal byte (*b), 0 anything else (a run ends), -1
 * give up: "(?" other than "(?:" (options, look-arounds), \N. */
static int
rm_literal(const struct regex_atom *a, uint8_t *b)
{
    switch (a->kind) {
    case REGEX_ATOM_BYTE:
        *b = a->c;
        return a->n_quant == 0;
    case REGEX_ATOM_ESCAPE:
        if (a->c == 'N')
            return -1;
        *b = a->c;          /* \. \- \\ \  ...; not \d \w \b \n, \< \> */
        return a->n_quant == 0 && rm_escape_is_byte(a->c);
    case REGEX_ATOM_GROUP:
        return a->has_ext ? -1 : 0;
    default:
        return 0;
    }
}

/* p[i] is a '{' that is no quantifier: how far regex_must has always
 * skipped it, as if it were one ("{}", "{,}" whole, else the '{'). */
static size_t
rm_brace_skip(const char *p, size_t i)
{
    size_t k = i + 1;

    while (p[k] == ',' || p[k] == ' ' || (p[k] >= '0' && p[k] <= '9'))
        k++;
    return p[k] == '}' ? k + 1 - i : 1;
}

size_t
regex_must_parse(const char *p, int is_icase, struct regex_must *m)
{
    uint8_t run[REGEX_MUST_MAX];
    size_t run_len = 0, i = 0;

    memset(m, 0, sizeof(*m));
    i = regex_lead_options(p, &is_icase);   /* (?i): folded */
    m->is_icase = is_icase;
    while (p[i] != '\0') {
        struct regex_atom a;
        uint8_t b = 0;
        int k = regex_atom_next(p, &i, &a) < 0 ? -1 : rm_literal(&a, &b);
        if (k < 0) {
            memset(m, 0, sizeof(*m));
            return 0;
        }
        if (a.kind == REGEX_ATOM_QUANT ||
            (a.kind == REGEX_ATOM_BYTE && a.c == '{')) {
            /* Read as a quantifier of the byte before, which leaves the
             * run (conservative for a literal '{'). */
            if (run_len > 0)
                run_len--;
            rm_keep(m, run, run_len);
            run_len = 0;
            if (a.kind == REGEX_ATOM_BYTE && a.n_quant == 0)
                i = a.off + rm_brace_skip(p, a.off);
            continue;
        }
        if (k == 0 || run_len == REGEX_MUST_MAX) {
            rm_keep(m, run, run_len);
            run_len = 0;
        }
        if (k == 1)
            run[run_len++] = b;
    }
    rm_keep(m, run, run_len);
    return m->len;
}

/* ---- scan ---- */

static int
rm_is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static uint8_t
rm_fold(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static int
rm_lit_eq(const struct regex_must *m, const uint8_t *s)
{
    if (!m->is_icase)
        return memcmp(s, m->lit, m->len) == 0;
    for (size_t k = 0; k < m->len; k++)
        if (rm_fold(s[k]) != rm_fold(m->lit[k]))
            return 0;
    return 1;
}

/* Where the scan looks for the literal's first and last byte: the byte,
 * folded, and the bit that folding ORs in (0x20 for a letter under
 * icase, else 0). */
struct rm_probe {
    uint8_t want0, or0, want1, or1;
    size_t  dist;                       /* len - 1 */
};

#if defined(__SSE2__)
/* 16 positions at a time from pos while they fit: the first where both
 * probe bytes sit, or the position where the tail starts. */
static size_t
rm_find_pair_16(const struct rm_probe *pr, const uint8_t *t, size_t pos,
                size_t total, int *is_found)
{
    const __m128i w0 = _mm_set1_epi8((char)pr->want0);
    const __m128i o0 = _mm_set1_epi8((char)pr->or0);
    const __m128i w1 = _mm_set1_epi8((char)pr->want1);
    const __m128i o1 = _mm_set1_epi8((char)pr->or1);

    for (; pos + pr->dist + 16 <= total; pos += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(t + pos));
        __m128i y = _mm_loadu_si128(
            (const __m128i *)(const void *)(t + pos + pr->dist));
        __m128i eq = _mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(x, o0), w0),
                                   _mm_cmpeq_epi8(_mm_or_si128(y, o1), w1));
        int mask = _mm_movemask_epi8(eq);
        if (mask != 0) {
            *is_found = 1;
            return pos + (size_t)__builtin_ctz((unsigned)mask);
        }
    }
    return pos;
}
#else
/* Without SSE2 the byte loop of rm_find_pair does it all. */
static size_t
rm_find_pair_16(const struct rm_probe *pr, const uint8_t *t, size_t pos,
                size_t total, int *is_found)
{
    (void)pr;
    (void)t;
    (void)total;
    (void)is_found;
    return pos;
}
#endif

#if defined(RM_HAS_AVX2_PATH)
/* rm_find_pair_16 with 32 positions at a time (only called where the CPU
 * has AVX2). */
__attribute__((target("avx2"))) static size_t
rm_find_pair_32(const struct rm_probe *pr, const uint8_t *t, size_t pos,
                size_t total, int *is_found)
{
    const __m256i w0 = _mm256_set1_epi8((char)pr->want0);
    const __m256i o0 = _mm256_set1_epi8((char)pr->or0);
    const __m256i w1 = _mm256_set1_epi8((char)pr->want1);
    const __m256i o1 = _mm256_set1_epi8((char)pr->or1);

    for (; pos + pr->dist + 32 <= total; pos += 32) {
        __m256i x = _mm256_loadu_si256(
            (const __m256i *)(const void *)(t + pos));
        __m256i y = _mm256_loadu_si256(
            (const __m256i *)(const void *)(t + pos + pr->dist));
        __m256i eq = _mm256_and_si256(
            _mm256_cmpeq_epi8(_mm256_or_si256(x, o0), w0),
            _mm256_cmpeq_epi8(_mm256_or_si256(y, o1), w1));
        unsigned mask = (unsigned)_mm256_movemask_epi8(eq);
        if (mask != 0) {
            *is_found = 1;
            return pos + (size_t)__builtin_ctz(mask);
        }
    }
    return pos;
}

/* 0: the AVX2 loop runs; 1: not (no AVX2, or regex_must_force_sse2);
 * -1: the CPU not yet asked. */
static int rm_no_avx2 = -1;

static int
rm_is_avx2(void)
{
    int no = __atomic_load_n(&rm_no_avx2, __ATOMIC_RELAXED);

    if (no < 0) {
        __builtin_cpu_init();
        no = !__builtin_cpu_supports("avx2");
        __atomic_store_n(&rm_no_avx2, no, __ATOMIC_RELAXED);
    }
    return !no;
}
#endif

void
regex_must_force_sse2(int is_on)
{
#if defined(RM_HAS_AVX2_PATH)
    __atomic_store_n(&rm_no_avx2, is_on ? 1 : -1, __ATOMIC_RELAXED);
#else
    (void)is_on;
#endif
}

/* The first position >= pos (and + dist < total) where both probe bytes
 * sit, or total. */
static size_t
rm_find_pair(const struct rm_probe *pr, const uint8_t *t, size_t pos,
             size_t total)
{
    int is_found = 0;

#if defined(RM_HAS_AVX2_PATH)
    if (rm_is_avx2()) {
        pos = rm_find_pair_32(pr, t, pos, total, &is_found);
        if (is_found)
            return pos;
    }
#endif
    pos = rm_find_pair_16(pr, t, pos, total, &is_found);
    if (is_found)
        return pos;
    for (; pos + pr->dist < total; pos++)
        if ((t[pos] | pr->or0) == pr->want0 &&
            (t[pos + pr->dist] | pr->or1) == pr->want1)
            return pos;
    return total;
}

/* The probe of m's first and last byte. */
static struct rm_probe
rm_probe_of(const struct regex_must *m)
{
    uint8_t first = m->lit[0], last = m->lit[m->len - 1];
    struct rm_probe pr = {
        .dist = m->len - 1,
        .or0 = m->is_icase && rm_is_letter(first) ? 0x20 : 0,
        .or1 = m->is_icase && rm_is_letter(last) ? 0x20 : 0,
    };

    pr.want0 = (uint8_t)(first | pr.or0);
    pr.want1 = (uint8_t)(last | pr.or1);
    return pr;
}

int
regex_must_find(const struct regex_must *m, const char *text, size_t len)
{
    const uint8_t *t = (const uint8_t *)text;
    struct rm_probe pr = rm_probe_of(m);
    size_t pos = 0;

    while ((pos = rm_find_pair(&pr, t, pos, len)) < len) {
        if (pos + m->len <= len && rm_lit_eq(m, t + pos))
            return 1;
        pos++;
    }
    return 0;
}

void
regex_must_scan(const struct regex_must *m, const char *text,
                const uint32_t *ends, uint32_t n, uint8_t *maybe)
{
    const uint8_t *t = (const uint8_t *)text;
    size_t total = n > 0 ? ends[n - 1] : 0, pos = 0;
    struct rm_probe pr = rm_probe_of(m);
    uint32_t i = 0;

    while ((pos = rm_find_pair(&pr, t, pos, total)) < total) {
        while (i < n && ends[i] <= pos)
            i++;                        /* the message holding pos */
        if (pos + m->len <= ends[i] && rm_lit_eq(m, t + pos)) {
            maybe[i] = 1;
            pos = ends[i++];            /* on to the next message */
        } else {
            pos++;
        }
    }
}
