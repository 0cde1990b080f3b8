/* SPDX-License-Identifier: MIT */
/*
 * tokenize: the word splitter shared by the store's full-text index and the
 * query side, so both cut text into the same tokens. A token is a maximal
 * run of word characters (the word rule of collector/search/query.h: ASCII
 * letters, digits, '_' and every byte >= 0x80, so "pam_unix" and "café" are
 * one token each), case folded as search terms are under -i (simple Unicode
 * folding, common/casefold.h; invalid UTF-8 is kept byte for byte);
 * everything else separates. Tokens longer than TOKENIZE_MAX_LEN bytes once
 * folded are cut to that prefix (a query term is cut the same way, so it
 * still finds them). Pure: no allocation, no I/O. The rules and the hash
 * are part of the on-disk format (collector/STORE.md, .lqi version 3).
 */
#ifndef COLLECTOR_STORE_TOKENIZE_H
#define COLLECTOR_STORE_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>

#define TOKENIZE_MAX_LEN 64

/* Called per token: tok is the folded (and capped) token, len its length
 * (1..TOKENIZE_MAX_LEN), hash its tokenize_hash(). tok is valid for the call
 * only. Return 0 to go on, non-zero to stop. */
typedef int (*tokenize_fn)(const uint8_t *tok, size_t len, uint32_t hash,
                           void *arg);

/* Calls fn for each token of text[0..len) in order (repeats included).
 * flags: reserved, pass 0. Returns fn's non-zero result if it stopped
 * early, else 0. */
int tokenize_foreach(const void *text, size_t len, unsigned flags,
                     tokenize_fn fn, void *arg);

/* The field token of a JSON or logfmt field (common/fields.h): name, ':'
 * and value, folded as words are (each folded, then joined), cut to
 * TOKENIZE_MAX_LEN bytes, into tok; returns its length. Words never hold
 * ':', so a field token never equals a word token (collector/STORE.md
 * "Field tokens"). */
size_t tokenize_field(const void *name, size_t name_len, const void *value,
                      size_t value_len, uint8_t tok[TOKENIZE_MAX_LEN]);

/* Calls fn with the field token of each field of text[0..len) (none for
 * most plain text: fields_foreach_fast may give those of a prefix that
 * looked structured, which only adds candidate blocks). Returns fn's
 * non-zero result if it stopped early, else 0. */
int tokenize_fields(const void *text, size_t len, tokenize_fn fn, void *arg);

/* The 32-bit hash of an already folded token (never 0): FNV-1a 64 of the
 * bytes, then a mix (collector/STORE.md). Stable across versions. */
uint32_t tokenize_hash(const uint8_t *tok, size_t len);
/* The token's check: the high 32 bits of the same mix (tokenize_hash is
 * the low ones), kept with per-block counts (.lqi version 5) so that a
 * count is taken only for the token it was made for. */
uint32_t tokenize_check(const uint8_t *tok, size_t len);

/* Spellings of a token (its folded bytes): as folded ("error"), with its
 * ASCII letters in upper case ("ERROR"), with its first byte so
 * ("Error"); a run may be in several ("404": all three). */
#define TOKENIZE_FORM_LOWER   1u
#define TOKENIZE_FORM_UPPER   2u
#define TOKENIZE_FORM_CAPITAL 4u
#define TOKENIZE_FORMS        7u

/* The forms of tok (folded, len bytes) that s[0..len) is written in. */
unsigned tokenize_forms(const uint8_t *tok, const uint8_t *s, size_t len);

/* What the index's counting needs of each token: its hash, its check, and
 * the TOKENIZE_FORM_* spellings its run is written in (0 for field
 * tokens). */
typedef int (*tokenize_ex_fn)(uint32_t hash, uint32_t check, unsigned forms,
                              void *arg);
/* tokenize_foreach and tokenize_fields with tokenize_ex_fn. */
int tokenize_foreach_ex(const void *text, size_t len, tokenize_ex_fn fn,
                        void *arg);
int tokenize_fields_ex(const void *text, size_t len, tokenize_ex_fn fn,
                       void *arg);

/* Sub-word tokens (.lqi version 10, collector/STORE.md "Sub-word
 * tokens"): in a token holding a byte >= 0x80 ("cafédb01"), each maximal
 * run of ASCII word bytes ("caf", "db01") also gives the token
 * TOKENIZE_SUB_BYTE, then the run folded, cut to TOKENIZE_MAX_LEN bytes
 * in all ("\001caf", "\001db01"), so that a word a regex bounds by \b,
 * PCRE2's ASCII boundary, narrows the blocks where a UTF-8 letter stands
 * against it too. No word holds that byte and no field token lacks ':',
 * so a sub-word token equals no other but by a hash collision (which
 * only adds blocks). */
#define TOKENIZE_SUB_BYTE 0x01

/* 1 if text[0..len) holds a byte >= 0x80 (and so may give sub-words). */
int tokenize_has_high(const void *text, size_t len);

/* Calls fn (forms 0) for the sub-word token of each ASCII run inside
 * each token of text[0..len) that holds a byte >= 0x80, in order
 * (repeats included). Returns fn's non-zero result if it stopped early,
 * else 0. */
int tokenize_subwords_ex(const void *text, size_t len, tokenize_ex_fn fn,
                         void *arg);

/* The sub-word token of word[0..len) (ASCII word bytes) into tok;
 * returns its length. */
size_t tokenize_subword(const void *word, size_t len,
                        uint8_t tok[TOKENIZE_MAX_LEN]);

/* What tokenize_foreach_ex_memo keeps of the last text it cut: the text
 * (borrowed) and its first TOKENIZE_MEMO_TOKENS tokens, each with the
 * offset where its run ends. */
#define TOKENIZE_MEMO_TOKENS 8
struct tokenize_memo {
    const uint8_t *prev;                /* NULL: nothing kept */
    size_t         prev_len;
    uint32_t       n;
    int            with_subwords;   /* set by the caller: after each token
                                       holding a byte >= 0x80, its sub-word
                                       tokens (kept with its end) */
    struct {
        uint32_t end, hash, check, forms;
    } t[TOKENIZE_MEMO_TOKENS];
};

/* tokenize_foreach_ex (the same calls of fn, in the same order), but a
 * token of text whose run and the byte after it are also the start of
 * the last text given with memo (records of one source in a row: their
 * time stamps, host and program) is taken from memo, not cut and hashed
 * again. memo: zeroed before the first call; the text of the last call
 * must stay readable until the next (or memo be zeroed again). With
 * memo->with_subwords, also the sub-word tokens of tokenize_subwords_ex,
 * each token's right after it (a token's are taken from memo with it). */
int tokenize_foreach_ex_memo(struct tokenize_memo *memo, const void *text,
                             size_t len, tokenize_ex_fn fn, void *arg);
/* tokenize_foreach_ex the plain way, byte at a time through the general
 * loop (tokenize_foreach_ex takes a faster path for ASCII runs): the
 * reference its tests compare it with. */
int tokenize_foreach_ex_ref(const void *text, size_t len, tokenize_ex_fn fn,
                            void *arg);

#endif
