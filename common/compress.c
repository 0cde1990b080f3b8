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
 * queued frames hold about what they send). Inflate stays zlib's streaming
 * inflate, for its output limit. The compressors and z_streams live in
 * thread-local storage and are kept, not re-created, between calls:
 * allocating them costs as much as compressing a small batch. Inflate writes
 * straight into the caller's buf, growing it with the output actually
 * produced and stopping at max_out, so a bomb costs at most max_out bytes.
 * zstd contexts are kept per thread the same way. Talks to nobody but zlib
 * and libzstd; does not log.
 */
#define ZLIB_CONST
#include "common/compress.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>
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
    z_stream izs;
    int      has_izs;
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
    if (st->has_izs)
        inflateEnd(&st->izs);
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

static z_stream *
compress_inflater(struct compress_state *st)
{
    if (st->has_izs)
        return &st->izs;
    memset(&st->izs, 0, sizeof(st->izs));
    if (inflateInit(&st->izs) != Z_OK)
        return NULL;
    st->has_izs = 1;
    return &st->izs;
}

/* Moves the next slice of input (zlib counts in uInt) into zs. */
static void
compress_feed(z_stream *zs, const uint8_t **in, size_t *left)
{
    if (zs->avail_in != 0 || *left == 0)
        return;
    size_t n = compress_min(*left, UINT_MAX);
    zs->next_in = *in;
    zs->avail_in = (uInt)n;
    *in += n;
    *left -= n;
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
 * Called once max_out bytes have been produced: the stream is acceptable only
 * if it ends without producing one more byte. 1 ended, 0 needs more input
 * consumed (call again), -1 error.
 */
static int
compress_probe_end(z_stream *zs, size_t left, const char **errstr)
{
    uint8_t one;

    zs->next_out = &one;
    zs->avail_out = 1;
    int rc = inflate(zs, Z_NO_FLUSH);
    if (zs->avail_out == 0) {
        *errstr = "inflated size over limit";
        return -1;
    }
    if (rc == Z_STREAM_END)
        return 1;
    if (rc == Z_OK && (zs->avail_in != 0 || left != 0))
        return 0;
    if (rc == Z_OK || rc == Z_BUF_ERROR)
        *errstr = "truncated zlib stream";
    else
        *errstr = "corrupt zlib stream";
    return -1;
}

/* Makes room in out for more output, growing with what was produced. */
static int
compress_grow(struct buf *out, size_t produced, size_t allow, size_t in_len,
              const char **errstr)
{
    if (out->cap > out->len)
        return 0;
    size_t want = produced ? produced : in_len * 4;
    if (want < COMPRESS_MIN_GROW)
        want = COMPRESS_MIN_GROW;
    want = compress_min(want, allow);
    want = compress_min(want, out->max - out->len);
    if (want == 0 || buf_reserve(out, want) < 0) {
        *errstr = "inflate output buffer full";
        return -1;
    }
    return 0;
}

static int
compress_inflate_loop(z_stream *zs, struct buf *out, const uint8_t *ip,
                      size_t len, size_t max_out, const char **errstr)
{
    size_t left = len;
    size_t produced = 0;

    for (;;) {
        compress_feed(zs, &ip, &left);
        if (produced == max_out) {
            int r = compress_probe_end(zs, left, errstr);
            if (r < 0)
                return -1;
            if (r == 0)
                continue;
            break;
        }
        if (compress_grow(out, produced, max_out - produced, len, errstr) < 0)
            return -1;
        size_t avail = compress_min(out->cap - out->len, max_out - produced);
        avail = compress_min(avail, UINT_MAX);
        zs->next_out = out->data + out->len;
        zs->avail_out = (uInt)avail;
        int rc = inflate(zs, Z_NO_FLUSH);
        size_t n = avail - zs->avail_out;
        out->len += n;
        produced += n;
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            *errstr = "corrupt zlib stream";
            return -1;
        }
        if (zs->avail_out != 0 && zs->avail_in == 0 && left == 0) {
            *errstr = "truncated zlib stream";
            return -1;
        }
    }
    if (zs->avail_in != 0 || left != 0) {
        *errstr = "trailing bytes after zlib stream";
        return -1;
    }
    return 0;
}

int
compress_inflate(struct buf *out, const void *in, size_t len, size_t max_out,
                 const char **errstr)
{
    struct compress_state *st = compress_state();
    z_stream *zs = compress_inflater(st);
    if (zs == NULL) {
        *errstr = "zlib inflateInit failed";
        return -1;
    }
    size_t start = out->len;
    zs->next_in = NULL;
    zs->avail_in = 0;
    int rc = compress_inflate_loop(zs, out, in, len, max_out, errstr);
    if (rc < 0)
        out->len = start;
    if (inflateReset(zs) != Z_OK) {
        inflateEnd(zs);
        st->has_izs = 0;
    }
    return rc;
}

/* ---- zstd ---- */

int
compress_zstd(struct buf *out, const void *in, size_t len, int level)
{
    struct compress_state *st = compress_state();
    size_t bound = ZSTD_compressBound(len);

    if (st->zc == NULL && (st->zc = ZSTD_createCCtx()) == NULL)
        return -1;
    if (ZSTD_isError(ZSTD_CCtx_reset(st->zc,
                                     ZSTD_reset_session_and_parameters)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_compressionLevel,
                                            level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_checksumFlag, 0)))
        return -1;
    size_t room = compress_min(bound, out->max - out->len);
    if (buf_reserve(out, room) < 0)
        return -1;
    size_t n = ZSTD_compress2(st->zc, out->data + out->len, room, in, len);
    if (ZSTD_isError(n))
        return -1;
    out->len += n;
    return 0;
}

int
compress_unzstd(struct buf *out, const void *in, size_t len, size_t max_out,
                const char **errstr)
{
    struct compress_state *st = compress_state();

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
    size_t n = ZSTD_decompressDCtx(st->zd, out->data + out->len,
                                   (size_t)csize, in, len);
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
