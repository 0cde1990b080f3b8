/* SPDX-License-Identifier: MIT */
/*
 * index: the full-text index of one segment, mapping token hashes
 * (tokenize.h) to the blocks that may hold the token and, with a check
 * of the token, how many records of each block hold it and in which
 * spellings (for counts without reading blocks). Two forms:
 * index_mem, the growing map of the segment being written, and
 * index_file, a sealed seg-<seq>.lqi file (format in collector/STORE.md)
 * of which only the header, block table and page directory stay in
 * memory; postings pages are read with pread on lookup. Hash collisions
 * only widen a lookup (never miss a block). Knows nothing of block bodies
 * or segment files: segindex.c glues it to the store. Reports, never logs.
 */
#ifndef COLLECTOR_STORE_INDEX_H
#define COLLECTOR_STORE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define INDEX_MAGIC      0x3149514cu    /* "LQI1" */
#define INDEX_VERSION    10             /* 3 to 9: still read */
#define INDEX_VERSION_NO_FIELDS 3       /* no field tokens, no counts */
#define INDEX_VERSION_FIELDS    4       /* field tokens */
#define INDEX_VERSION_COUNTS    5       /* per-block record counts */
#define INDEX_VERSION_FRAMES    6       /* frames of keys in few blocks */
#define INDEX_VERSION_SHORT_KEYS 7      /* keys cut to index_key_bits() */
#define INDEX_VERSION_BITS      8       /* postings coded in bits */
#define INDEX_VERSION_RANGE     9       /* keys in a range, coded frames */
#define INDEX_VERSION_SUBWORDS  10      /* sub-word tokens */
/* Version 7 (STORE.md "Index file"): a key is the top index_key_bits(n)
 * bits of the token hash, n the file's key count, so that about one in
 * 2^INDEX_KEY_SLACK to 2^(INDEX_KEY_SLACK + 1) of the hashes a query
 * looks up hits a key of another token (a superset: the blocks of that
 * key are read too); tokens that share a cut key share one key, the
 * union of their postings, without counts; a page's key gaps are
 * Rice-coded ahead of its postings. Version 8: keys with one bit of
 * slack less (INDEX_KEY_SLACK_BITS: one in 2^7 to 2^8 absent hashes
 * hits a key), the postings coded in bits after the gaps. */
#define INDEX_KEY_SLACK 8u
#define INDEX_KEY_SLACK_BITS 7u
/* Version 9 (STORE.md "Keys in a range"): a key is (hash * range) >> 32,
 * range = INDEX_KEY_SLACK_RANGE times the segment's tokens (written in
 * the file), so that one absent hash in 64 hits a key whatever the
 * token count (version 8: 1 in 128 to 1 in 256 as the count lies in its
 * power of two); what a hit costs is kept small by the counted keys'
 * checks and by merged counted keys keeping their counts. */
#define INDEX_KEY_SLACK_RANGE 64u

/* The key width of a file of version (7 on) holding n_keys keys. */
static inline uint32_t
index_key_bits_v(uint64_t n_keys, uint32_t version)
{
    uint32_t bits = version >= INDEX_VERSION_BITS ? INDEX_KEY_SLACK_BITS
                                                  : INDEX_KEY_SLACK;

    while (n_keys) {
        bits++;
        n_keys >>= 1;
    }
    return bits < 32 ? bits : 32;
}

/* The key range of a version 9 file of n_tokens distinct token hashes
 * (before cutting): its keys are index_key_cut(hash, range). */
static inline uint64_t
index_key_range(uint64_t n_tokens)
{
    uint64_t r = n_tokens ? n_tokens * INDEX_KEY_SLACK_RANGE : 1;

    return r < (1ull << 32) ? r : 1ull << 32;
}

/* The key of hash in a file of key range range (1 to 2^32; versions 7
 * and 8: 2^index_key_bits_v(), the hash's top bits; older: 2^32). */
static inline uint32_t
index_key_cut(uint32_t hash, uint64_t range)
{
    return (uint32_t)(((uint64_t)hash * range) >> 32);
}
#define INDEX_MAX_COUNT  0x1fffffffu    /* records counted per block */
#define INDEX_HDR_LEN    32
#define INDEX_PAGE_KEYS  128            /* keys per postings page */
#define INDEX_PAGE_KEYS_RANGE 256       /* version 9's */
#define INDEX_RANGE_TRAILER 12          /* version 9: range, code */
#define INDEX_MAX_BLKS   (1u << 20)     /* sanity limit from disk */
/* Frame masks (version 6, STORE.md "Index file"): a block's mask has
 * bit index_frame_bit(f, n) set for each frame f (of its n) that holds
 * the token: the frame itself in a block of at most INDEX_FRAME_BITS
 * frames, else a group of ceil(n / INDEX_FRAME_BITS) frames in a row.
 * INDEX_FRAMES_ALL: every frame (not known). */
#define INDEX_FRAME_BITS 12u
#define INDEX_FRAMES_ALL ((1u << INDEX_FRAME_BITS) - 1)

static inline uint32_t
index_frame_bit(uint32_t f, uint32_t n_frames)
{
    uint32_t per = (n_frames + INDEX_FRAME_BITS - 1) / INDEX_FRAME_BITS;

    return per > 1 ? f / per : f % INDEX_FRAME_BITS;
}

/* A block of the indexed segment, as the .lqi records it. */
struct index_blkref {
    uint64_t off;                       /* block header offset */
    uint32_t body_crc;
};

struct index_mem;
struct index_file;

struct index_mem *index_mem_new(void);
/* index_mem_new whose hash table is made at once as large as n_keys keys
 * grow it to (the sealing thread: the last full segment's key count), so
 * that a segment of as many keys never doubles it (each doubling
 * rehashes every key); the same map otherwise (index_test
 * `mem_new_keys`). */
struct index_mem *index_mem_new_keys(size_t n_keys);
void index_mem_free(struct index_mem *m);
/* Adds every token of text, one record's message, to block blk: its
 * words and, for a JSON or logfmt message, its field tokens (tokenize.h).
 * Blocks must be added in non-decreasing order; index_mem_flush after the
 * last one (before any other call). */
void index_mem_add_text(struct index_mem *m, uint32_t blk, const void *text,
                        size_t len);
/* index_mem_add_text of a record in the frames of mask bit fbit
 * (index_frame_bit) of block blk (records of a block in any order). */
void index_mem_add_text_frame(struct index_mem *m, uint32_t blk,
                              uint32_t fbit, const void *text, size_t len);
void index_mem_flush(struct index_mem *m);

#define INDEX_SET_COLLIDED  8u          /* two tokens share the hash */
#define INDEX_SET_FLAGS     15u         /* the forms and INDEX_SET_COLLIDED */
#define INDEX_SET_FSHIFT    4u          /* the frames above them */

/* A token of a block: how many records hold it. 16 bytes, so that a
 * 1 MiB block's set (~13k keys in 32k slots on generated logs) is 512
 * KiB and no entry straddles two cache lines (BENCHMARKS.md "Tokens and
 * the index: where the misses are"). */
struct index_set_ent {
    uint32_t hash, check;               /* hash 0: empty slot */
    uint32_t n_recs;                    /* taken as at most
                                           INDEX_MAX_COUNT */
    uint16_t last;                      /* the last record counted: the
                                           low 16 bits of its number,
                                           never 0 (index_set_add_text) */
    uint16_t fl;                        /* TOKENIZE_FORM_* every occurrence
                                           is in, INDEX_SET_COLLIDED; the
                                           frames holding it
                                           (index_frame_bit) from bit
                                           INDEX_SET_FSHIFT */
};

static inline uint32_t
index_set_ent_flags(const struct index_set_ent *e)
{
    return e->fl & INDEX_SET_FLAGS;
}

static inline uint32_t
index_set_ent_fmask(const struct index_set_ent *e)
{
    return (uint32_t)e->fl >> INDEX_SET_FSHIFT;
}

/* The distinct tokens of one block with their record counts, gathered
 * and merged into the open segment's index_mem on the sealing thread
 * (segindex.c). */
struct tokenize_memo;
struct index_set {
    struct index_set_ent *tab;          /* open addressing */
    size_t                size, n;
    struct tokenize_memo *memo;         /* set by a caller whose texts
                                           stay readable, one after the
                                           other (tokenize_foreach_ex_memo;
                                           its with_subwords as the
                                           index's: !index_test_v9);
                                           NULL: none */
    uint32_t              rec;          /* records added (their numbers
                                           skip those with low 16 bits
                                           0) */
    uint32_t              frame;        /* the mask bit (index_frame_bit)
                                           of the records being added (0
                                           unless set) */
};
void index_set_init(struct index_set *set);
void index_set_fini(struct index_set *set);
void index_set_reset(struct index_set *set);
/* Adds every token of text, one record's message (as index_mem_add_text
 * would). */
void index_set_add_text(struct index_set *set, const void *text, size_t len);
/* The entry of hash in set, NULL if it has none. */
const struct index_set_ent *index_set_find(const struct index_set *set,
                                           uint32_t hash);
/* Adds set's hashes to block blk (same order rule as index_mem_add_text). */
void index_mem_add_set(struct index_mem *m, uint32_t blk,
                       const struct index_set *set);
/* A speculative add (the sealing thread's segment map, fed before the
 * blocks' write returned: STORE.md "Threads"): index_mem_mark notes the
 * map as it is; index_mem_keep forgets the mark (the blocks added since
 * are written); index_mem_rollback takes the map back to the mark: every
 * posting of a block added since, the keys new since and the counts lost
 * since, so that adding the same block numbers again (the retry of the
 * write, whatever its blocks are then) indexes each block once. Blocks
 * added after a mark must be past every block added before it. */
void index_mem_mark(struct index_mem *m);
void index_mem_keep(struct index_mem *m);
void index_mem_rollback(struct index_mem *m);
/* Distinct token hashes, and bytes of memory held. */
size_t index_mem_n_keys(const struct index_mem *m);
size_t index_mem_bytes(const struct index_mem *m);
/* Sets bit b of bits (n_bits long) for each block b that may hold hash. */
void index_mem_lookup(const struct index_mem *m, uint32_t hash,
                      uint64_t *bits, uint32_t n_bits);
/* index_mem_lookup that also sets fmask[b] (n_bits entries) of each such
 * block to the frames that may hold hash (index_frame_bit). */
void index_mem_lookup_frames(const struct index_mem *m, uint32_t hash,
                             uint64_t *bits, uint32_t *fmask,
                             uint32_t n_bits);
/* Per-block counts of the token of hash and check: sets cw[b] (b <
 * n_bits) to the count word of each block b holding it (records holding
 * it << 3 | the TOKENIZE_FORM_* spellings every occurrence in b is in)
 * and returns 1; 0 (cw untouched) if the index cannot tell (two tokens
 * share the hash). */
int index_mem_counts(const struct index_mem *m, uint32_t hash,
                     uint32_t check, uint32_t *cw, uint32_t n_bits);
/* Writes the .lqi image of m for segment seq with blocks blks[0..n_blks)
 * through fn, called with data and its offset in the image: the postings
 * pages in order, in pieces of about chunk bytes (whole pages; SIZE_MAX:
 * one), then the head (header, block table, page directory) at offset 0,
 * so the image need not be held in memory. -1 if fn fails (then stops). */
typedef int (*index_write_fn)(void *arg, uint64_t off, const void *p,
                              size_t len);
int index_mem_write(const struct index_mem *m, uint64_t seq,
                    const struct index_blkref *blks, uint32_t n_blks,
                    size_t chunk, index_write_fn fn, void *arg);
/* Appends the .lqi image of m for segment seq with blocks blks[0..n_blks)
 * (m's block numbers index blks) to out. -1 if out's cap is reached. */
int index_mem_encode(const struct index_mem *m, uint64_t seq,
                     const struct index_blkref *blks, uint32_t n_blks,
                     struct buf *out);

/* Reads and checks the header, block table and page directory of the .lqi
 * open on fd for segment seq. NULL with *errstr (static) if absent or
 * damaged. */
struct index_file *index_file_load(int fd, uint64_t seq,
                                   const char **errstr);
void index_file_free(struct index_file *f);
/* 1 if the file lists field tokens (version 4 on), 0 for version 3: a
 * cursor must not require field tokens of such a segment. */
int index_file_has_fields(const struct index_file *f);
/* 1 if f lists sub-word tokens (tokenize_subwords_ex; version 10). */
int index_file_has_subwords(const struct index_file *f);
/* Tests only: index without field tokens and write version 3, as the
 * collector did before them (to check that such stores still answer). */
void index_test_without_fields(int on);
/* Tests only: write version 5 (no frame masks), as the collector did
 * before them. */
void index_test_without_frames(int on);
/* Tests only: write version 6 (keys of the full 32-bit hash), as the
 * collector did before version 7. */
void index_test_full_keys(int on);
/* Tests only: write version 7 (postings as varints), as the collector
 * did before version 8. */
void index_test_v7(int on);
/* Tests only: write version 8 (keys of index_key_bits_v bits, frame
 * fields of fixed widths), as the collector did before version 9. */
void index_test_v8(int on);
/* Tests only: no sub-word tokens in any token set, and write version 9,
 * as the collector did before version 10. */
void index_test_v9(int on);
/* 1 if the token sets (index_set_add_text) hold sub-word tokens: 0 only
 * under index_test_v9. */
int index_sets_have_subwords(void);
/* Tests only: the .lqi encoder's choice of an Exp-Golomb parameter for
 * v[0..n) (every stride-th word, shifted right by shift) and its bits,
 * by one pass (the encoder's) or by trying every parameter (is_ref). */
uint32_t index_test_eg_best(const uint32_t *v, size_t n, size_t stride,
                            uint32_t shift, uint64_t *len, int is_ref);
uint32_t index_file_n_blks(const struct index_file *f);
/* Borrowed: the block table, index_file_n_blks() entries. */
const struct index_blkref *index_file_blks(const struct index_file *f);
/* Sets bit map[b] of bits for each file block b that may hold hash
 * (skipping map[b] == UINT32_MAX or >= n_bits). Reads one page from fd.
 * -1 if the page cannot be read or is damaged (the caller scans). */
int index_file_lookup(const struct index_file *f, int fd, uint32_t hash,
                      const uint32_t *map, uint64_t *bits, uint32_t n_bits);
/* index_file_lookup that also sets fmask[map[b]] of each such block to
 * the frames that may hold hash (INDEX_FRAMES_ALL where the file does
 * not tell: version 5 and older, keys in 4 blocks or more). */
int index_file_lookup_frames(const struct index_file *f, int fd,
                             uint32_t hash, const uint32_t *map,
                             uint64_t *bits, uint32_t *fmask,
                             uint32_t n_bits);
/* index_file_lookup_frames of a token of check tokenize_check (if
 * has_check): a key that holds counts is one token's (no other token
 * under its hash nor its cut key; version 9 marks a counted key merged
 * with others', which this does not narrow), so a token whose check
 * differs is not in the segment and sets nothing. Where an absent word hits another
 * token's key (about 1 lookup in 64 of a version 9 file, STORE.md "Keys
 * in a range") and that token is in 4 blocks or more, the lookup no
 * longer takes its blocks. */
int index_file_lookup_check(const struct index_file *f, int fd,
                            uint32_t hash, uint32_t check, int has_check,
                            const uint32_t *map, uint64_t *bits,
                            uint32_t *fmask, uint32_t n_bits);
/* index_mem_counts for a file (map as for index_file_lookup): 1 with cw
 * set, 0 if the file has no counts for the token (version 3 or 4, a key
 * in fewer than 4 blocks, two tokens under the hash, or another token's
 * check), -1 if the page cannot be read or is damaged. */
int index_file_counts(const struct index_file *f, int fd, uint32_t hash,
                      uint32_t check, const uint32_t *map, uint32_t *cw,
                      uint32_t n_bits);
/* Bytes of the file (for stats). */
uint64_t index_file_size(const struct index_file *f);

#endif
