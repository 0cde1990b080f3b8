/* SPDX-License-Identifier: MIT */
/*
 * compress: zlib-format deflate/inflate and zstd frames of whole payloads
 * into bufs, and crc32 (libdeflate's: the same value as zlib's crc32, about
 * 2x its speed here, 7.0-7.6 against 3.2-3.8 GB/s on the bench VM; the
 * store checksums every WAL entry, block and index page with it).
 * Deflate is libdeflate's whole-buffer encoder (the same zlib format, so
 * every inflater reads it; at level 1 it takes about 0.6x zlib's CPU for a
 * smaller output: BENCHMARKS.md "Shipper compression"). It writes into a
 * per-thread scratch buffer of its worst-case bound and the result is
 * copied to out, so out grows by the compressed size only (a sender's
 * queued frames hold about what they send); zstd does the same unless out
 * already has the room. Inflate is libdeflate's decompressor too (a third
 * of zlib's inflate CPU on batches: BENCHMARKS.md "zstd on the wire"),
 * into out with a room that grows by doubling up to max_out, so a bomb
 * costs at most about twice max_out. zstd frames must state their size,
 * which is checked against max_out before anything is allocated. The
 * libdeflate and zstd contexts live in thread-local storage and are kept,
 * not re-created, between calls: allocating them costs as much as
 * compressing a small batch. Talks to nobody but libdeflate and libzstd
 * (zlib itself is only the tests' reference); does not log.
 */
#include "common/compress.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#define ZSTD_STATIC_LINKING_ONLY   /* ZSTD_c_stableInBuffer, stableOutBuffer */
#include <zstd.h>

#include "common/xmalloc.h"

#define COMPRESS_MIN_GROW (16u << 10)
#define COMPRESS_DEFAULT_LEVEL 6
#define COMPRESS_MAX_LEVEL 12      /* libdeflate's */

/* One per thread that compresses; freed by a pthread key destructor when
 * the thread exits (the main thread's lives until the process ends). */
struct compress_state {
    struct libdeflate_compressor *ld;
    int      ld_level;
    struct buf dscratch;        /* deflate output, then copied to out */
    struct libdeflate_decompressor *ldd;
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
};

static _Thread_local struct compress_state *compress_tls;
static pthread_key_t compress_key;
static pthread_once_t compress_once = PTHREAD_ONCE_INIT;

/* ---- helpers ---- */

static void
compress_state_free(void *arg)
{
    struct compress_state *st = arg;

    if (st == NULL)
        return;
    libdeflate_free_compressor(st->ld);
    buf_fini(&st->dscratch);
    libdeflate_free_decompressor(st->ldd);
    ZSTD_freeCCtx(st->zc);
    ZSTD_freeDCtx(st->zd);
    free(st);
}

static void
compress_key_init(void)
{
    if (pthread_key_create(&compress_key, compress_state_free) != 0)
        abort();
}

static struct compress_state *
compress_state(void)
{
    if (compress_tls != NULL)
        return compress_tls;
    if (pthread_once(&compress_once, compress_key_init) != 0)
        abort();
    compress_tls = xcalloc(1, sizeof(*compress_tls));
    buf_init(&compress_tls->dscratch, SIZE_MAX);
    if (pthread_setspecific(compress_key, compress_tls) != 0)
        abort();
    return compress_tls;
}

static size_t
compress_min(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* libdeflate compressor for this level; NULL if out of memory. */
static struct libdeflate_compressor *
compress_compressor(struct compress_state *st, int level)
{
    if (st->ld != NULL && st->ld_level == level)
        return st->ld;
    libdeflate_free_compressor(st->ld);
    st->ld = libdeflate_alloc_compressor(level);
    st->ld_level = level;
    return st->ld;
}

/* ---- deflate ---- */

int
compress_deflate(struct buf *out, const void *in, size_t len, int level)
{
    if (level < 0)
        level = COMPRESS_DEFAULT_LEVEL;
    if (level > COMPRESS_MAX_LEVEL)
        return -1;
    struct compress_state *st = compress_state();
    struct libdeflate_compressor *c = compress_compressor(st, level);
    if (c == NULL)
        return -1;
    /* libdeflate may give up short of the true size when its room is
     * tight, so it always gets the bound; out then takes only the size */
    size_t bound = libdeflate_zlib_compress_bound(c, len);
    if (buf_reserve(&st->dscratch, bound) < 0)
        return -1;
    size_t n = libdeflate_zlib_compress(c, in, len, st->dscratch.data, bound);
    if (n == 0)
        return -1;
    return buf_append(out, st->dscratch.data, n);
}

/* ---- inflate ---- */

/*
 * libdeflate decodes whole buffers only, so the output room is chosen
 * up front: what out already has spare, at least COMPRESS_INFLATE_GUESS
 * times the input, and if that is not enough the room doubles and the
 * stream is decoded again from its start (the work of all tries is under
 * twice the last one's). The room never passes max_out: a stream that
 * needs more is a bomb, refused after at most max_out bytes of output
 * (and about twice that of buffer, as out grows by doubling).
 */
#define COMPRESS_INFLATE_GUESS 8

static struct libdeflate_decompressor *
compress_decompressor(struct compress_state *st)
{
    if (st->ldd == NULL)
        st->ldd = libdeflate_alloc_decompressor();
    return st->ldd;
}

/* The first room to try: out's spare capacity or a guess from in_len. */
static size_t
compress_inflate_room(const struct buf *out, size_t in_len, size_t max_out)
{
    size_t room = in_len > SIZE_MAX / COMPRESS_INFLATE_GUESS
                  ? SIZE_MAX : in_len * COMPRESS_INFLATE_GUESS;
    if (room < COMPRESS_MIN_GROW)
        room = COMPRESS_MIN_GROW;
    if (out->cap - out->len > room)
        room = out->cap - out->len;
    return compress_min(room, max_out);
}

int
compress_inflate(struct buf *out, const void *in, size_t len, size_t max_out,
                 const char **errstr)
{
    struct libdeflate_decompressor *d =
        compress_decompressor(compress_state());
    if (d == NULL) {
        *errstr = "libdeflate decompressor allocation failed";
        return -1;
    }
    size_t limit = compress_min(max_out, out->max - out->len);
    size_t room = compress_inflate_room(out, len, limit);
    for (;;) {
        size_t used = 0, n = 0;
        if (buf_reserve(out, room) < 0) {
            *errstr = "inflate output buffer full";
            return -1;
        }
        enum libdeflate_result rc = libdeflate_zlib_decompress_ex(
            d, in, len, out->data + out->len, room, &used, &n);
        if (rc == LIBDEFLATE_SUCCESS && used != len) {
            *errstr = "trailing bytes after zlib stream";
            return -1;
        }
        if (rc == LIBDEFLATE_SUCCESS) {
            out->len += n;
            return 0;
        }
        if (rc != LIBDEFLATE_INSUFFICIENT_SPACE) {
            *errstr = "corrupt or truncated zlib stream";
            return -1;
        }
        if (room == limit) {
            *errstr = limit == max_out ? "inflated size over limit"
                                       : "inflate output buffer full";
            return -1;
        }
        room = room > limit / 2 ? limit : room * 2;
    }
}

/* ---- zstd ---- */

/* The thread's zstd context, made at its first use, reset for one frame
 * at level: content size in the header, no checksum (what every
 * compress_zstd* writes); hash_log and min_match over the level's when not
 * 0. -1 for a level or parameter zstd does not have or an error. */
static int
zstd_cctx_start(struct compress_state *st, int level, int hash_log,
                int min_match)
{
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return -1;
    if (st->zc == NULL && (st->zc = ZSTD_createCCtx()) == NULL)
        return -1;
    if (ZSTD_isError(ZSTD_CCtx_reset(st->zc,
                                     ZSTD_reset_session_and_parameters)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_compressionLevel,
                                            level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_contentSizeFlag,
                                            1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_checksumFlag, 0)))
        return -1;
    if ((hash_log != 0 &&
         ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_hashLog,
                                             hash_log))) ||
        (min_match != 0 &&
         ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_minMatch,
                                             min_match))))
        return -1;
    return 0;
}

/*
 * Straight into out when it already has the room of the bound (the store's
 * reused block buffers); otherwise into the thread's scratch and then
 * copied, so a new buf grows by the compressed size only (the shipper's
 * queued frames, as for deflate).
 */
int
compress_zstd(struct buf *out, const void *in, size_t len, int level)
{
    return compress_zstd_tuned(out, in, len, level, 0, 0);
}

int
compress_zstd_tuned(struct buf *out, const void *in, size_t len, int level,
                    int hash_log, int min_match)
{
    struct compress_state *st = compress_state();
    size_t bound = ZSTD_compressBound(len);

    if (zstd_cctx_start(st, level, hash_log, min_match) < 0)
        return -1;
    int is_direct = out->cap - out->len >= bound;
    struct buf *dst = is_direct ? out : &st->dscratch;
    if (!is_direct && buf_reserve(&st->dscratch, bound) < 0)
        return -1;
    size_t room = is_direct ? bound : st->dscratch.cap;
    size_t n = ZSTD_compress2(st->zc, dst->data + (is_direct ? out->len : 0),
                              room, in, len);
    if (ZSTD_isError(n))
        return -1;
    if (is_direct) {
        if (n > out->max - out->len)
            return -1;
        out->len += n;
        return 0;
    }
    return buf_append(out, st->dscratch.data, n);
}

/* The cut points end zstd blocks: ZSTD_e_flush at each. Streamed with the
 * input and output buffers stable (no copy into zstd's own window or out
 * buffer): out gets the room of the bound first, as compress_zstd's
 * direct path. */
int
compress_zstd_cuts(struct buf *out, const void *in, size_t len,
                   const size_t *cuts, size_t n_cuts, int level)
{
    struct compress_state *st = compress_state();
    size_t bound = ZSTD_compressBound(len) + 8 * n_cuts + 64;

    if (n_cuts == 0)
        return compress_zstd(out, in, len, level);
    if (zstd_cctx_start(st, level, 0, 0) < 0)
        return -1;
    if (bound > out->max - out->len || buf_reserve(out, bound) < 0)
        return -1;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_stableInBuffer,
                                            1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_stableOutBuffer,
                                            1)) ||
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(st->zc, len)))
        return -1;
    ZSTD_outBuffer ob = { out->data + out->len, bound, 0 };
    ZSTD_inBuffer ib = { in, 0, 0 };
    size_t rc;
    for (size_t k = 0; k <= n_cuts; k++) {
        int is_last = k == n_cuts;
        if (!is_last && (cuts[k] <= ib.size || cuts[k] >= len))
            continue;
        ib.size = is_last ? len : cuts[k];
        do
            rc = ZSTD_compressStream2(st->zc, &ob, &ib,
                                      is_last ? ZSTD_e_end : ZSTD_e_flush);
        while (!ZSTD_isError(rc) && rc != 0);
        if (ZSTD_isError(rc))
            return -1;
    }
    out->len += ob.pos;
    return 0;
}

int
compress_unzstd(struct buf *out, const void *in, size_t len, size_t max_out,
                const char **errstr)
{
    struct compress_state *st = compress_state();

    if (len < 4 || le32_load(in) != ZSTD_MAGICNUMBER) {
        *errstr = "not a zstd frame";
        return -1;
    }
    size_t flen = ZSTD_findFrameCompressedSize(in, len);
    if (ZSTD_isError(flen)) {
        *errstr = "corrupt or truncated zstd frame";
        return -1;
    }
    if (flen != len) {
        *errstr = "trailing bytes after zstd frame";
        return -1;
    }
    unsigned long long csize = ZSTD_getFrameContentSize(in, len);
    if (csize == ZSTD_CONTENTSIZE_UNKNOWN || csize == ZSTD_CONTENTSIZE_ERROR) {
        *errstr = "zstd frame without content size";
        return -1;
    }
    if (ZSTD_getDictID_fromFrame(in, len) != 0) {
        *errstr = "zstd frame needs a dictionary";
        return -1;
    }
    if (csize > max_out) {
        *errstr = "decompressed size over limit";
        return -1;
    }
    if (buf_reserve(out, (size_t)csize) < 0) {
        *errstr = "decompress output buffer full";
        return -1;
    }
    if (st->zd == NULL && (st->zd = ZSTD_createDCtx()) == NULL) {
        *errstr = "zstd context";
        return -1;
    }
    /* an empty frame into an empty buf: no pointer to offset */
    uint8_t *dst = out->data ? out->data + out->len : NULL;
    size_t n = ZSTD_decompressDCtx(st->zd, dst, (size_t)csize, in, len);
    if (ZSTD_isError(n) || n != csize) {
        *errstr = "corrupt zstd frame";
        return -1;
    }
    out->len += n;
    return 0;
}

uint32_t
compress_crc32(uint32_t crc, const void *p, size_t len)
{
    if (len == 0)
        return crc;
    return (uint32_t)libdeflate_crc32(crc, p, len);
}
