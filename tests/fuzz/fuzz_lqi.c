/* SPDX-License-Identifier: MIT */
/*
 * fuzz_lqi: libFuzzer target for a segment's `.lqi` file as the reader
 * loads and searches it (collector/store/index_file.c; collector/STORE.md
 * "Index file (`.lqi`)": versions 3 to 10). Byte 0 picks the mode:
 * - bit 0 clear, a file: the rest of the input is the file, read for
 *   segment 5 through a private temporary file. Bit 1 set: the harness
 *   first writes the header's crc and each page's crc over what it finds
 *   (so mutated pages reach the decoders: a fuzzer cannot forge a crc32).
 *   Invariants: the load refuses the file or answers; a lookup of any
 *   hash (each page's first hash, its neighbours, fixed ones, hashes
 *   read from the input) returns 0 or -1 and sets no bit at or past the
 *   caller's bound (n_bits) nor a frame mask outside bits 0-11 or of a
 *   block it did not set; a count returns -1, 0 or 1; the same lookups
 *   again give the same answers.
 * - bit 0 set, a model: bits 1-3 pick the version the writer writes (10,
 *   8, 7, 6, 5, 3 or 9, in that order, 7 again 10: index_test_*
 *   switches); byte 1 the blocks (1 to 64);
 *   then records: a byte for the block (taken in non-decreasing order),
 *   a byte for the frame bit (0 to 11), a byte for the length, the text.
 *   The writer's image of that map is loaded back: every token of every
 *   text (tokenize_foreach and tokenize_fields) is found in every block
 *   the map has it in (and its sub-words, tokenize_subwords_ex, but in
 *   version 9), with at least the map's frames (keys cut short
 *   and shared keys only widen an answer), also given its check
 *   (index_file_lookup_check); a count the file gives is the map's,
 *   block for block.
 * Seeds: files the writer writes in each version (corpus/lqi/v*) and
 * model inputs (corpus/lqi/model-*).
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/store/index.h"
#include "collector/store/tokenize.h"
#include "common/buf.h"
#include "common/compress.h"
#include "common/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SEQ     5
#define FUZZ_NBITS   64u               /* lookups' bound in blocks */
#define FUZZ_MAXTOKS 4096

/* A private temporary file holding len bytes of p, open for reading. */
static int
fuzz_file(const uint8_t *p, size_t len)
{
    char path[] = "/tmp/fuzz_lqi.XXXXXX";
    int fd = mkstemp(path);

    assert(fd >= 0);
    unlink(path);
    assert(len == 0 || write(fd, p, len) == (ssize_t)len);
    return fd;
}

static uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void
wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Writes the crcs the layout asks for where the lengths the file claims
 * fit inside it (STORE.md: head_crc over bytes 0..27, the block table
 * and the page directory (version 9: and its trailer); each directory
 * entry's crc over its page). */
static void
fuzz_reseal(uint8_t *p, size_t len)
{
    if (len < INDEX_HDR_LEN)
        return;
    uint64_t n_blks = rd32(p + 16), n_pages = rd32(p + 20);
    uint64_t dir = INDEX_HDR_LEN + n_blks * 12, end = dir + n_pages * 12;
    if (rd32(p + 4) >= INDEX_VERSION_RANGE)
        end += INDEX_RANGE_TRAILER;
    if (end > len)
        return;
    uint64_t off = end;
    for (uint64_t i = 0; i < n_pages; i++) {
        uint8_t *e = p + dir + i * 12;
        uint64_t plen = rd32(e + 4);
        if (plen > len - off)
            break;
        wr32(e + 8, compress_crc32(0, p + off, (size_t)plen));
        off += plen;
    }
    uint32_t c = compress_crc32(0, p, 28);
    c = compress_crc32(c, p + INDEX_HDR_LEN, (size_t)(end - INDEX_HDR_LEN));
    wr32(p + 28, c);
}

/* One lookup's answer checked against the caller's bound; returns the
 * result so that a second pass can compare. */
struct fuzz_answer {
    int      r, rc;
    uint64_t bits;
    uint32_t fmask[FUZZ_NBITS], cw[FUZZ_NBITS];
};

static void
fuzz_ask(struct index_file *f, int fd, uint32_t hash, uint32_t n_bits,
         struct fuzz_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->r = index_file_lookup_frames(f, fd, hash, NULL, &a->bits, a->fmask,
                                    n_bits);
    assert(a->r == 0 || a->r == -1);
    if (n_bits < 64)
        assert((a->bits >> n_bits) == 0);
    for (uint32_t b = 0; b < FUZZ_NBITS; b++) {
        assert((a->fmask[b] & ~INDEX_FRAMES_ALL) == 0);
        if (!(a->bits >> b & 1))
            assert(a->fmask[b] == 0);
    }
    a->rc = index_file_counts(f, fd, hash, ~hash, NULL, a->cw, n_bits);
    assert(a->rc >= -1 && a->rc <= 1);
    /* with a check: a subset of the lookup's blocks */
    uint64_t cb = 0;
    int rc = index_file_lookup_check(f, fd, hash, ~hash, 1, NULL, &cb, NULL,
                                     n_bits);
    assert(rc == a->r && (cb & ~a->bits) == 0);
}

static void
fuzz_raw(const uint8_t *data, size_t size, int reseal)
{
    uint8_t *p = xmalloc(size ? size : 1);
    memcpy(p, data, size);
    if (reseal)
        fuzz_reseal(p, size);
    int fd = fuzz_file(p, size);
    const char *why = NULL;
    struct index_file *f = index_file_load(fd, FUZZ_SEQ, &why);
    if (!f) {
        assert(why != NULL);
        goto out;
    }
    uint32_t n_blks = index_file_n_blks(f);
    uint32_t n_bits = n_blks < FUZZ_NBITS ? n_blks : FUZZ_NBITS;
    /* hashes: the directory's first hashes and their neighbours, fixed
     * ones, and words of the input */
    uint32_t hs[96];
    size_t nh = 0;
    hs[nh++] = 0;
    hs[nh++] = 1;
    hs[nh++] = UINT32_MAX;
    hs[nh++] = tokenize_hash((const uint8_t *)"error", 5);
    if (size >= INDEX_HDR_LEN) {
        uint64_t dir = INDEX_HDR_LEN + (uint64_t)rd32(p + 16) * 12;
        uint64_t n_pages = rd32(p + 20);
        for (uint64_t i = 0; i < n_pages && nh + 3 <= 64 &&
             dir + i * 12 + 4 <= size; i++) {
            uint32_t first = rd32(p + dir + i * 12);
            hs[nh++] = first;
            hs[nh++] = first + 1;
            hs[nh++] = first - 1;
        }
    }
    for (size_t at = 0; at + 4 <= size && nh < 96; at += 1 + size / 24)
        hs[nh++] = rd32(p + at);
    struct fuzz_answer *a = xmalloc(sizeof(*a)), *b = xmalloc(sizeof(*b));
    for (size_t i = 0; i < nh; i++) {
        fuzz_ask(f, fd, hs[i], n_bits, a);
        fuzz_ask(f, fd, hs[i], n_bits, b);
        assert(memcmp(a, b, sizeof(*a)) == 0);
    }
    free(a);
    free(b);
    index_file_free(f);
out:
    close(fd);
    free(p);
}

/* The model's tokens: every hash and check of a text, words and fields. */
struct fuzz_toks {
    uint32_t hash[FUZZ_MAXTOKS], check[FUZZ_MAXTOKS];
    size_t   n;
};

static int
fuzz_tok_ex(uint32_t hash, uint32_t check, unsigned forms, void *arg)
{
    struct fuzz_toks *t = arg;

    (void)forms;
    if (t->n < FUZZ_MAXTOKS) {
        t->hash[t->n] = hash;
        t->check[t->n] = check;
        t->n++;
    }
    return 0;
}

static int
fuzz_tok(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    return fuzz_tok_ex(hash, tokenize_check(tok, len), 0, arg);
}

static int
fuzz_tok_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Each token once: a lookup parses its page's keys before it, so the
 * repeats made the model mode ten times slower. */
static void
fuzz_toks_unique(struct fuzz_toks *t)
{
    static uint64_t v[FUZZ_MAXTOKS];
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++)
        v[i] = (uint64_t)t->hash[i] << 32 | t->check[i];
    qsort(v, t->n, sizeof(v[0]), fuzz_tok_cmp);
    for (size_t i = 0; i < t->n; i++) {
        if (i > 0 && v[i] == v[i - 1])
            continue;
        t->hash[n] = (uint32_t)(v[i] >> 32);
        t->check[n] = (uint32_t)v[i];
        n++;
    }
    t->n = n;
}

static void
fuzz_versions(int v)
{
    /* 10 (the writer's), 9, 8, 7, 6, 5, 3 */
    index_test_v9(v == 9);
    index_test_v8(v == 8);
    index_test_v7(v == 7);
    index_test_full_keys(v == 6);
    index_test_without_frames(v == 5);
    index_test_without_fields(v == 3);
}

/* The model's map and the writer's image of it: data[0]'s bits 1-3 pick
 * the version, data[1] the blocks, the rest the records (see the top).
 * 0, or -1 if the input is too short to be a model. */
struct fuzz_model {
    int                  ver;
    uint32_t             n_blks;
    struct index_mem    *m;
    struct fuzz_toks    *t;
    struct index_blkref  refs[64];
    struct buf           img;
};

static int
fuzz_model_build(const uint8_t *data, size_t size, struct fuzz_model *md)
{
    static const int vers[7] = { 10, 8, 7, 6, 5, 3, 9 };
    size_t at = 2;
    uint32_t blk = 0;

    if (size < 2)
        return -1;
    md->ver = vers[(data[0] >> 1 & 7) % 7];
    md->n_blks = 1 + data[1] % 64;
    md->m = index_mem_new();
    md->t = xcalloc(1, sizeof(*md->t));
    fuzz_versions(md->ver);         /* version 3's map has no fields */
    while (at + 3 <= size) {
        uint32_t want = data[at] % md->n_blks;
        uint32_t fbit = data[at + 1] % INDEX_FRAME_BITS;
        size_t len = data[at + 2];
        at += 3;
        if (len > size - at)
            len = size - at;
        if (want > blk)
            blk = want;             /* blocks in non-decreasing order */
        index_mem_add_text_frame(md->m, blk, fbit, data + at, len);
        tokenize_foreach(data + at, len, 0, fuzz_tok, md->t);
        if (md->ver != 9)               /* sub-words: not as 9 did */
            tokenize_subwords_ex(data + at, len, fuzz_tok_ex, md->t);
        if (md->ver != 3)
            tokenize_fields(data + at, len, fuzz_tok, md->t);
        at += len;
    }
    index_mem_flush(md->m);
    fuzz_toks_unique(md->t);
    for (uint32_t i = 0; i < md->n_blks; i++) {
        md->refs[i].off = 32 + 4096ull * i;
        md->refs[i].body_crc = i * 7919u;
    }
    buf_init(&md->img, 1u << 24);
    int r = index_mem_encode(md->m, FUZZ_SEQ, md->refs, md->n_blks,
                             &md->img);
    fuzz_versions(10);
    assert(r == 0);
    assert(md->img.len >= 8 && rd32(md->img.data + 4) == (uint32_t)md->ver);
    return 0;
}

static void
fuzz_model_free(struct fuzz_model *md)
{
    buf_fini(&md->img);
    index_mem_free(md->m);
    free(md->t);
}

static void
fuzz_model(const uint8_t *data, size_t size)
{
    struct fuzz_model md;

    if (fuzz_model_build(data, size, &md) < 0)
        return;
    uint32_t n_blks = md.n_blks;
    int fd = fuzz_file(md.img.data, md.img.len);
    const char *why = NULL;
    struct index_file *f = index_file_load(fd, FUZZ_SEQ, &why);
    assert(f != NULL);
    assert(index_file_n_blks(f) == n_blks);
    for (uint32_t i = 0; i < n_blks; i++)
        assert(index_file_blks(f)[i].off == md.refs[i].off &&
               index_file_blks(f)[i].body_crc == md.refs[i].body_crc);
    for (size_t i = 0; i < md.t->n; i++) {
        uint32_t hash = md.t->hash[i], check = md.t->check[i];
        uint64_t mb = 0, fb = 0;
        uint32_t mf[64] = { 0 }, ff[64] = { 0 };
        uint32_t mcw[64] = { 0 }, fcw[64] = { 0 };
        index_mem_lookup_frames(md.m, hash, &mb, mf, n_blks);
        assert(mb != 0);            /* the map has every token it was fed */
        assert(index_file_lookup_frames(f, fd, hash, NULL, &fb, ff,
                                        n_blks) == 0);
        assert((fb & mb) == mb);
        /* its check never drops a block of its own */
        uint64_t cb = 0;
        assert(index_file_lookup_check(f, fd, hash, check, 1, NULL, &cb, NULL,
                                       n_blks) == 0);
        assert((cb & mb) == mb);
        for (uint32_t b = 0; b < n_blks; b++)
            if (mb >> b & 1)
                assert((ff[b] & mf[b]) == mf[b]);
        int rf = index_file_counts(f, fd, hash, check, NULL, fcw, n_blks);
        assert(rf == 0 || rf == 1);
        if (rf == 1) {
            assert(md.ver >= 5);
            assert(index_mem_counts(md.m, hash, check, mcw, n_blks) == 1);
            for (uint32_t b = 0; b < n_blks; b++)
                assert(fcw[b] == mcw[b]);
        }
    }
    index_file_free(f);
    close(fd);
    fuzz_model_free(&md);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_model(data, size);
    else
        fuzz_raw(data + 1, size - 1, data[0] & 2);
    return 0;
}

#ifdef FUZZ_LQI_GEN
/* tests/fuzz/lqicorpus.sh: fuzz_lqi_gen MODEL OUT writes the writer's
 * image of the model input MODEL as a file-mode seed OUT (byte 0: 0)
 * and OUT-reseal (byte 0: 2). */
int
main(int argc, char **argv)
{
    static uint8_t in[1 << 16];
    struct fuzz_model md;
    FILE *fp;
    size_t n;

    if (argc != 3 || !(fp = fopen(argv[1], "rb")))
        return 2;
    n = fread(in, 1, sizeof(in), fp);
    fclose(fp);
    if (fuzz_model_build(in, n, &md) < 0)
        return 1;
    for (int reseal = 0; reseal <= 1; reseal++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s%s", argv[2],
                 reseal ? "-reseal" : "");
        if (!(fp = fopen(path, "wb")))
            return 1;
        fputc(reseal ? 2 : 0, fp);
        fwrite(md.img.data, 1, md.img.len, fp);
        if (fclose(fp) != 0)
            return 1;
    }
    fuzz_model_free(&md);
    return 0;
}
#endif
