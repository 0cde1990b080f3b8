/* SPDX-License-Identifier: MIT */
/*
 * compress: the only zlib, libdeflate and zstd wrapper. One-shot
 * deflate/inflate (libdeflate, zlib format) and zstd compress/decompress
 * (the wire's batches, common/PROTOCOL.md "Compression", and the store's
 * sealed blocks) of whole payloads into caller bufs, with a hard output
 * limit on decompression so a bomb fails after at most max_out bytes
 * (never a stated or guessed size over it allocated up front), and crc32
 * (zlib's value). Compressor and decompressor state is kept per thread and
 * reused between calls because allocating it costs as much as compressing
 * a small batch.
 */
#ifndef COMMON_COMPRESS_H
#define COMMON_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Appends a zlib stream (RFC 1950) of in[0..len) at level (1..12, on
 * zlib's scale; 0 stores, -1 default: 6) to out. -1 if the output does not
 * fit in out's cap, the level is out of range or memory runs out; out's
 * bytes are then left as they were. */
int compress_deflate(struct buf *out, const void *in, size_t len, int level);

/* Appends the inflated form of the zlib stream in[0..len) to out. -1 with
 * *errstr set (static string) if the stream is corrupt, truncated, followed
 * by trailing bytes, inflates to more than max_out bytes, or out's cap is
 * reached; out is then left as it was. out grows to about 8x len or the
 * output's size, never beyond about twice max_out. */
int compress_inflate(struct buf *out, const void *in, size_t len,
                     size_t max_out, const char **errstr);

/* Appends one zstd frame of in[0..len) at level (ZSTD_minCLevel()..19;
 * 0: zstd's default) to out, with the content size in the frame header and
 * no checksum. -1 if out's cap is reached, the level is out of range or
 * zstd fails; out is then left as it was. */
int compress_zstd(struct buf *out, const void *in, size_t len, int level);

/* As compress_zstd, with the hash table's log2 size and the shortest match
 * set over the level's (0: the level's own; zstd's ZSTD_c_hashLog and
 * ZSTD_c_minMatch): zstd level 1 on the wire (common/wire.c). The frame
 * decodes as any other. */
int compress_zstd_tuned(struct buf *out, const void *in, size_t len,
                        int level, int hash_log, int min_match);

/* As compress_zstd, but each of the n_cuts offsets cuts[] (ascending,
 * each inside (0, len)) ends a zstd block there: the parts between cuts
 * get literal tables of their own (the store's frames: columns of
 * numbers apart from the messages' text, collector/STORE.md "Frames").
 * The frame decodes as any other; matches still reach across the cuts.
 * Offsets out of order or out of range are skipped. */
int compress_zstd_cuts(struct buf *out, const void *in, size_t len,
                       const size_t *cuts, size_t n_cuts, int level);

/* Appends the content of the single zstd frame in[0..len) to out. -1 with
 * *errstr set (static string) if in is not a zstd frame (a skippable one
 * neither), is corrupt, truncated, followed by trailing bytes, does not
 * state its content size, states more than max_out bytes, needs a
 * dictionary, or out's cap is reached; out is then left as it was.
 * Allocates at most the stated content size (<= max_out), judged from the
 * frame header before anything is allocated. */
int compress_unzstd(struct buf *out, const void *in, size_t len,
                    size_t max_out, const char **errstr);

/* CRC-32 (zlib's crc32 value, computed by libdeflate): pass 0 as crc to
 * start, the previous result to continue. */
uint32_t compress_crc32(uint32_t crc, const void *p, size_t len);

#endif
