/* SPDX-License-Identifier: MIT */
/*
 * store_internal: types shared by the store's files (store.c: open,
 * sources; store_append.c: append, commit; block.c: block/WAL encoding;
 * segment.c: segment files; segment_seal.c: seal jobs; cursor.c: scans;
 * retention.c). Not for use outside collector/store/.
 */
#ifndef COLLECTOR_STORE_STORE_INTERNAL_H
#define COLLECTOR_STORE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "collector/store/index.h"
#include "collector/store/store.h"
#include "common/buf.h"

#define STORE_SEG_MAGIC     0x3153514cu     /* "LQS1" */
#define STORE_BLK_MAGIC     0x3142514cu     /* "LQB1" */
#define STORE_WAL_MAGIC     0x3157514cu     /* "LQW1" */
#define STORE_HW_MAGIC      0x3148514cu     /* "LQH1" */
#define STORE_LABELS_MAGIC  0x314c514cu     /* "LQL1" */
#define STORE_LABELS_VERSION 1
#define STORE_VERSION       1
/* Logs hold secrets: the store's files and directory are its user's alone
 * (whatever the umask; SECURITY.md "Collector data directory"). */
#define STORE_FILE_MODE     0600
#define STORE_DIR_MODE      0700
#define STORE_SEG_HDR_LEN   16
#define STORE_BLK_HDR_LEN   48
#define STORE_WAL_HDR_LEN   16          /* version 2: + u64 generation */
#define STORE_WAL_HDR_LEN_V1 8
#define STORE_WAL_VERSION   5           /* 3: + receive time per record;
                                           4: rows as the tail's (its label
                                           numbers, deltas from the last
                                           times before the entry);
                                           5: + the file's generation per
                                           entry (files reused, not cut) */
#define STORE_WAL_MAX_FILES 8
#define STORE_CODEC_ROW_RECV 0          /* row body with receive times: the
                                           tail, WAL v3; never on disk */
#define STORE_CODEC_ZLIB    1           /* row body (as in WAL v1/v2) */
#define STORE_CODEC_ZLIB_COLS 2         /* columnar body, zlib */
#define STORE_CODEC_ZSTD_COLS 3         /* columnar body, zstd */
#define STORE_CODEC_ZLIB_RECV 4         /* 2 + receive time column */
#define STORE_CODEC_ZSTD_RECV 5         /* 3 + receive time column */
#define STORE_CODEC_ZSTD_FRAMES 6       /* 5 in frames (STORE.md "Frames") */
#define STORE_CODEC_FRAMES_RECV 7       /* 6 + the receive-time range in
                                           its meta ("Receive-time range") */
#define STORE_CODEC_FRAMES_TIME 8       /* 7 with the time deltas as a
                                           class byte and bits ("Time
                                           column (codec 8)") */
#define STORE_CODEC_FRAMES_NL 9         /* 8 with messages ended by a
                                           newline, no length column, and
                                           offsets past the time's length
                                           ("Newline-ended messages
                                           (codec 9)") */
#define STORE_CODEC_MAX     9
/* store_options.frame_size unless set: raw bytes a codec 6 frame holds */
#define STORE_FRAME_SIZE    (256u << 10)

/* Which body layout and compression a block codec means. */
/* Codecs 6 to 9: a body of frames, their table in the meta. */
static inline int
store_codec_is_framed(uint32_t codec)
{
    return codec >= STORE_CODEC_ZSTD_FRAMES && codec <= STORE_CODEC_FRAMES_NL;
}

/* Codecs 7 to 9: the receive-time range after the frame table. */
static inline int
store_codec_has_recv_range(uint32_t codec)
{
    return codec >= STORE_CODEC_FRAMES_RECV && codec <= STORE_CODEC_FRAMES_NL;
}

/* The body codec of a framed block's frames: codec 8's and 9's own,
 * else 5. */
static inline uint32_t
store_codec_frame_body(uint32_t codec)
{
    return codec == STORE_CODEC_FRAMES_TIME || codec == STORE_CODEC_FRAMES_NL
           ? codec : STORE_CODEC_ZSTD_RECV;
}

static inline int
store_codec_is_cols(uint32_t codec)
{
    return codec >= STORE_CODEC_ZLIB_COLS;
}

static inline int
store_codec_is_zstd(uint32_t codec)
{
    return codec == STORE_CODEC_ZSTD_COLS || codec == STORE_CODEC_ZSTD_RECV ||
           store_codec_is_framed(codec);
}

static inline int
store_codec_has_recv(uint32_t codec)
{
    return codec == STORE_CODEC_ROW_RECV || codec >= STORE_CODEC_ZLIB_RECV;
}
/* Sanity limits for lengths read from disk. */
#define STORE_MAX_META      (16u << 20)
#define STORE_MAX_RAW       (256u << 20)
#define STORE_MAX_WAL_ENTRY (512u << 20)
/* Uncommitted and unsealed data held in memory. */
#define STORE_MAX_PENDING   (64u << 20)
#define STORE_SPARE_BODIES  8u          /* tail bodies kept for reuse: as
                                           many as a job and s->pend free */
#define STORE_SPARE_IDLE    2u          /* of them kept while idle */
#define STORE_SPARE_SETS    2u          /* token sets kept for reuse */
#define STORE_SPARE_SET_MAX (1u << 16)  /* slots of a set kept (1.5 MiB) */
/* Distinct token hashes the in-memory index of the segment being written
 * may hold (about 24 bytes each) before the segment is sealed. */
#define STORE_IDX_MAX_KEYS  (512u << 10)
/* store_options.index_fds unless set: .lqi files held open */
#define STORE_INDEX_FDS     64

/* An interned (host, container_id, container, image) tuple. */
struct store_label {
    char                *host;
    char                *cid;
    char                *name;
    char                *image;
    size_t               host_len, cid_len, name_len, image_len;
    uint32_t             id;
    uint64_t             hash;
    struct store_source *src;
    struct store_label  *next;          /* hash chain */
    uint64_t             tail_gen;      /* tail.gen when tail_idx valid */
    uint32_t             tail_idx;
};

/* A (host, container_id) source: high water and info. */
struct store_source {
    char                *host;
    char                *cid;
    size_t               host_len, cid_len;
    uint64_t             hash;
    uint64_t             hw;            /* includes pending records */
    uint64_t             sealed_hw;     /* in segment blocks (or deleted
                                           from them): what hw.lqh keeps */
    uint64_t             n_lines;
    int64_t              first_ns, last_ns;
    struct store_label  *latest;        /* NULL if known only from hw.lqh */
    struct store_source *next;
    uint32_t             n_labels;      /* labels (names) it has */
    /* Docker labels (srclabels.c): the current set, NULL if none known;
     * written by the owner, read by cursors without store.mu. */
    _Atomic(const struct labelset *) dl;
    uint64_t             dl_hash;       /* of the sender's text for it */
    uint32_t             n_dl_changes;  /* sets published since open */
    uint8_t              has_dl_hash;
    uint8_t              is_dl_dirty;   /* to append at the next commit */
};

/* Distinct (name, image) labels one source may gain by store_append;
 * past it records go under the source's latest label (n_labels_capped). */
#define STORE_MAX_SOURCE_LABELS 64

struct store_blk_label {
    uint32_t id;                        /* global label id */
    uint32_t n_lines;
    int64_t  min_ns, max_ns;            /* of its lines (when n_lines) */
};

/* One frame of a codec 6 block (its meta's frame table): where its
 * compressed bytes lie in the body, its records and their time range. */
struct store_frame {
    uint64_t off;                       /* in the body */
    uint32_t comp_len, raw_len, n_records, first;   /* first record */
    uint32_t crc;                       /* crc32 of the compressed bytes */
    int64_t  min_ns, max_ns;
};

/* One block in a segment's in-memory directory. */
struct store_blk {
    uint64_t                off;        /* header offset in the file */
    uint32_t                meta_len, raw_len, comp_len, n_records;
    uint32_t                body_crc;
    int64_t                 min_ns, max_ns;
    struct store_blk_label *labels;
    uint32_t                n_labels;
    struct store_frame     *frames;     /* codec 6: its frame table */
    uint32_t                n_frames;
    int64_t                 recv_min, recv_max; /* codec 7: receive
                                           times of its records (0, 0:
                                           none has one) */
    uint8_t                 has_recv_range; /* codec 7 */
    uint8_t                 stream_mask;
    uint8_t                 codec;
    uint8_t                 is_corrupt;  /* cursors report it, never read */
};

struct index_mem;
struct index_file;

struct store_seg {
    uint64_t          seq;
    uint64_t          file_size;        /* end of the last valid block */
    uint64_t          raw_bytes;
    uint64_t          n_records;
    int64_t           min_ns, max_ns;
    int64_t           write_ns;         /* wall clock of its last block
                                           write (mtime at open): what age
                                           retention clamps max_ns to */
    struct store_blk *blks;
    size_t            n_blks, cap_blks;
    /* Token index (segindex.c): imem while the segment is written, then
     * ifile (+ imap: file block -> directory index); neither: unindexed,
     * every block is a candidate. is_full: no more blocks go here. */
    struct index_mem  *imem;
    struct index_file *ifile;
    uint32_t          *imap;
    int                ifd;             /* ifile's file held open for
                                           lookups, -1 (segindex_fd) */
    uint8_t            is_full;
};

/* Per-label stats of the block being filled. */
struct store_tail_label {
    uint32_t id;
    uint32_t n_lines;
    uint64_t max_off;
    int64_t  min_ns, max_ns;
    uint64_t at_epoch;      /* store_tail_at.epoch when last saved (or
                               added): saved again before its next change */
    uint64_t wal_gen;       /* store.wal_gen when in the pending WAL
                               entry's table (by number: a tail may hold
                               a label twice, after a split) */
};

/* A label's stats as they were at the tail's mark. */
struct store_tail_undo {
    uint32_t                idx;
    struct store_tail_label l;
};

/* The tail as it was when the commit in flight began (store_tail_mark):
 * once that commit is durable, what its committed prefix is, so that a
 * seal carrying the records appended during the sync into the next tail
 * reads only those (segment_seal.c tail_carry) instead of decoding the
 * whole tail to count the prefix's stats again. The labels changed since
 * are saved as they were (undo) at their first change. */
struct store_tail_at {
    uint64_t                epoch;          /* 0: no mark */
    size_t                  len;
    uint32_t                n;
    int64_t                 prev_ns[2];
    int64_t                 min_ns, max_ns;
    uint8_t                 stream_mask;
    uint32_t                n_labels;
    struct store_tail_undo *undo;
    uint32_t                n_undo, cap_undo;
};

/* The unsealed block: encoded body, committed (durable: its WAL entry
 * synced) prefix, visible prefix (in a WAL entry written, maybe not
 * synced yet: what cursors copy; committed <= visible, equal whenever no
 * entry is written past the last sync), labels. */
struct store_tail {
    struct buf               body;
    size_t                   committed_len;
    uint32_t                 committed_n;
    size_t                   visible_len;
    uint32_t                 visible_n;
    int64_t                  visible_prev[2];   /* prev_ns at visible_len */
    int64_t                  committed_prev[2]; /* prev_ns at committed_len */
    uint32_t                 n_records;
    int64_t                  prev_ns[2];    /* time, receive time */
    int64_t                  min_ns, max_ns;
    uint8_t                  stream_mask;
    uint64_t                 gen;
    struct store_tail_label *labels;
    uint32_t                 n_labels, cap_labels;
    size_t                   meta_bytes;  /* about what its labels take in
                                             the block meta: counts to the
                                             block being full */
    struct store_tail_at     at;
};

/* A block is full when body + meta bytes reach block_size (so a flood of
 * distinct labels cannot push meta past STORE_MAX_META), or its meta
 * alone reaches this. */
#define STORE_TAIL_META_FULL    (STORE_MAX_META / 4)
/* The interned label of these strings, NULL if there is none. */
struct store_label *store_label_find(struct store *s,
                                     const uint8_t *const str[4],
                                     const size_t len[4]);

/* A decoded record of a block body (strings resolved by label). */
struct store_rec {
    int64_t        time_ns;
    int64_t        recv_ns;             /* 0: not known (older store) */
    uint64_t       offset;
    const uint8_t *msg;
    uint32_t       msg_len;
    uint32_t       label;               /* index into the block's labels */
    uint32_t       seq;                 /* position in the block as decoded */
    uint8_t        stream;
    uint8_t        flags;
};

/* A label as parsed from block meta (borrowed strings). */
struct store_meta_label {
    const uint8_t *str[4];              /* host, cid, name, image */
    size_t         len[4];
    uint64_t       n_lines;
    uint64_t       max_off;
    int64_t        min_ns, max_ns;
};

/* One block being sealed: built by the store's thread (row body moved out
 * of the tail, header placeholder + meta), compressed, indexed and
 * written by the sealing thread (out fields). */
struct seal_chunk {
    struct buf              body;       /* row body (codec 1) */
    uint32_t                n_records, n_labels;
    int64_t                 min_ns, max_ns;
    uint8_t                 stream_mask;
    uint32_t               *ids;        /* block label -> global label id */
    struct store_blk_label *labels;     /* directory entry labels */
    uint64_t               *max_off;    /* per label */
    struct buf              blk;        /* header + meta (+ body, out) */
    size_t                  meta_len;
    struct index_set        set;        /* out: token hashes */
    uint64_t                pos;        /* out: offset in the segment */
    int                     is_bad;     /* cannot be built: quarantined */
    uint8_t                 is_ix;      /* given to the indexing thread
                                           to add under the next number
                                           (not is_bad at the job's
                                           start: indexer_submit) */
    struct tailset_pre     *pre;        /* its token set for cursors,
                                           gathered ahead while it waits
                                           (tailset.c) */
    uint64_t                wal_first;  /* closed (s->closed): numbers
                                           (store.n_wal_writes) of the */
    uint64_t                wal_last;   /* first and the last WAL entry
                                           holding its records (0: some
                                           were replayed at the open,
                                           durable); sealable once
                                           wal_last is synced */
    uint8_t                 is_unwritten; /* closed: its last entries are
                                           in no live file (cut with a
                                           failed sync, or left in a
                                           detached one): the chunk is
                                           written again, as one entry,
                                           before any later entry */
};

/* A seal job: the chunks of one detached tail, written to one segment
 * (created first if is_roll), releasing WAL files wal_mask once done. */
/* Where a seal job's time went on the sealing thread (CLOCK_MONOTONIC
 * ns): building its blocks (decode, columns, zstd on every sealing
 * thread), writing them, the segment's fdatasync (with the .lqi written
 * beside it), waiting for the indexing thread, truncating its WAL files;
 * run: the whole job; lag: from the job's end to its apply on the
 * store's thread (sealer_finish). Summed into store.seal_t, /health. */
struct seal_times {
    uint64_t n_jobs, n_blocks;
    int64_t  run_ns, build_ns, write_ns, sync_ns, ix_wait_ns, wal_cut_ns;
    int64_t  lag_ns;
};

struct seal_job {
    struct seal_chunk *ch;
    size_t             n_ch;
    uint64_t           seq;
    int                is_roll;
    uint32_t           wal_mask;
    int                wal_fd[STORE_WAL_MAX_FILES];     /* of wal_mask */
    uint64_t           wal_hdr_len[STORE_WAL_MAX_FILES];
    uint32_t           wal_keep;        /* of wal_mask, files of version
                                           5 on: never truncated (reused) */
    uint32_t           wal_cut;         /* out: files of wal_mask the
                                           sealing thread truncated to
                                           their header */
    uint32_t           wal_ahead;       /* of wal_keep: files cut back to
                                           wal_ahead_end by the sealing
                                           thread (seal_job_cut_wal) */
    uint64_t           wal_ahead_end[STORE_WAL_MAX_FILES];
    uint64_t           raw_bytes;
    int                rc;              /* out: 0 written, -1 failed */
    struct index_mem  *imem_new;        /* out: is_roll's new segment's
                                           index (owned until applied) */
    uint8_t            is_seg_full;     /* out: the segment is full */
    uint8_t            is_ix_err;       /* out: its .lqi was not written */
    char               err[200];        /* out */
    struct seal_times  t;               /* out: its steps' times */
    int64_t            end_ns;          /* out: when the run ended */
};

/* A WAL file (wal.lqw, wal-<k>.lqw): commits go to wal_cur; a sealed
 * tail releases (truncates) the files that held its records. */
struct store_wal_file {
    int      fd;
    uint64_t len;                       /* end of the last good entry */
    uint64_t gen;                       /* replay order */
    uint64_t hdr_len;
    uint32_t version;                   /* 1..5; 0: header damaged */
    uint8_t  is_dirty;                  /* holds entries */
    uint8_t  is_owned;                  /* by the job in s->job */
    uint8_t  is_bad_hdr;                /* damaged: rewritten after replay */
};

/* The sealing thread and its one-job queue. Fields under mu: job_in,
 * is_done, is_stop; the w* fields belong to the thread while a job is
 * in flight, else to the store's thread. */
/* The sealing thread's indexing helper (indexer.c): job_in is the job
 * whose token sets it is gathering and adding to the segment's map
 * (under mu), NULL once that is done; job_inline, without the thread:
 * the job the sealing thread does it for itself at indexer_wait. The
 * add (indexer_submit): the map (add_m, NULL: none) and the number
 * (add_base) of the job's first block is_ix; is_added (out) once add_m
 * was marked and fed (index_mem_mark: the sealing thread keeps or rolls
 * back). */
struct store_indexer {
    pthread_t         th;
    int               is_started, is_stop;
    pthread_mutex_t   mu;
    pthread_cond_t    cv;
    struct seal_job  *job_in;
    struct seal_job  *job_inline;
    struct index_mem *add_m;
    uint32_t          add_base;
    int               is_added;
    pthread_mutex_t  *ix_mu;            /* the sealer's: cursors read add_m */
    struct store_rec *recs;
    size_t            cap_recs;
    size_t            frame_size;       /* codec 6 blocks: their frames'
                                           size (0: not framed) */
    /* Its helper (has_helper): gathers the token sets of the job's
     * blocks not yet taken (h_next) while this thread adds them in
     * order; under mu: h_job, h_next, h_done[] (per block: its set is
     * gathered), h_stop. */
    pthread_t         hth;
    int               has_helper, h_stop;
    pthread_cond_t    hcv;
    struct seal_job  *h_job;
    size_t            h_next, cap_done;
    uint8_t          *h_done;
    struct store_rec *hrecs;
    size_t            cap_hrecs;
};

/* The sealing thread's compression helpers (sealpool.c): a seal job's
 * frames as tasks, records [i, j) of block ch, compressed by whichever
 * thread takes them into its own arena (ar[0]: the sealing thread's). */
#define STORE_SEAL_MAX_THREADS 8        /* compressing threads, at most */
#define STORE_SEAL_THREADS     2        /* by default: the sealing thread
                                           and one helper */
enum { SEALPOOL_BG_NONE, SEALPOOL_BG_QUEUED, SEALPOOL_BG_RUNNING,
       SEALPOOL_BG_DONE };
struct seal_ftask {
    uint32_t ch, i, j;
    uint32_t arena;                     /* out: ar[] of the compressor */
    size_t   off, len;                  /* out: its bytes there */
    uint32_t raw_len, crc;              /* out */
    int64_t  min_ns, max_ns;            /* out: of its records */
    int      rc;                        /* out: 0 compressed, -1 failed */
};

struct seal_arena {
    struct buf out, cols;
};

struct seal_pool {
    pthread_t          th[STORE_SEAL_MAX_THREADS];
    int                n_threads;       /* helpers started */
    int                is_init, is_sync;
    pthread_mutex_t    mu;
    pthread_cond_t     cv_work, cv_done;
    int                is_stop;         /* under mu */
    size_t             n_t, next, n_done;       /* under mu */
    struct seal_ftask *t;
    size_t             n_plan, cap_t;
    size_t            *first;           /* per block: its first task */
    struct store_rec **recs;            /* per block: decoded records */
    size_t            *cap_recs;
    uint32_t          *n_labels;
    size_t             cap_ch;
    int                level;
    uint32_t           codec;           /* the blocks' (6 to 8) */
    int              (*bg_fn)(void *);  /* the other task (under mu) */
    void              *bg_arg;
    int                bg_state, bg_rc;
    struct seal_arena  ar[STORE_SEAL_MAX_THREADS];
    struct buf         table;           /* a block's frame table */
};

/* A full segment's .lqi written on a sealing helper while the sealing
 * thread syncs the segment (segindex_sealer_early): is_busy 1 while it
 * runs, 2 once rc is in; n_before: the block table's length before the
 * job's blocks were added to it for the file. */
struct seal_lqi {
    const struct store         *s;
    uint64_t                    seq;
    const struct index_mem     *m;
    const struct index_blkref  *refs;
    size_t                      n_refs, n_before;
    int                         is_busy, rc;
};

/* Writes of one writer thread past the page cache (dwrite.c): the
 * sealing thread's segment writes, a .lqi's writer. fd an O_DIRECT
 * descriptor of file seq (path(s, seq); -1: none yet), is_off once
 * O_DIRECT was refused (buffered from then on), buf an aligned staging
 * buffer of cap bytes inside raw, n_direct the writes that took it; last
 * the bytes of the file's last partial page [last_off, last_off +
 * last_len) of file last_seq, written buffered (has_last: kept); what
 * the write hook's name. */
#define STORE_DWRITE_PAGE 4096
struct store_dwrite {
    int         fd, is_off, has_last;
    uint64_t    seq, n_direct, last_seq, last_off;
    size_t      last_len, cap;
    const char *what;
    char     *(*path)(const struct store *s, uint64_t seq);
    uint8_t    *raw, *buf;
    uint8_t     last[STORE_DWRITE_PAGE];
};

/* d for file seq's path(s, seq), through the write hook as what, with a
 * staging buffer of cap bytes (a multiple of STORE_DWRITE_PAGE). */
void dwrite_init(struct store_dwrite *d, const char *what,
                 char *(*path)(const struct store *s, uint64_t seq),
                 size_t cap);
/* Writes p[0..n) at off of file seq (fd: its buffered descriptor,
 * O_RDWR), through the store's write hook (what) as store_write_at:
 * its whole 4 KiB pages, the one it begins in included (the bytes before
 * off from the page kept, or read back: zeros past the file's end),
 * through an O_DIRECT descriptor, its last partial page buffered, so
 * every byte before the file's last page reaches the device in file
 * order. -1 with errno set. */
int  dwrite_at(const struct store *s, struct store_dwrite *d, int fd,
               uint64_t seq, const void *p, size_t n, uint64_t off);
void dwrite_close(struct store_dwrite *d);     /* its file's fd */
void dwrite_fini(struct store_dwrite *d);

struct store_sealer {
    pthread_t         th;
    int               is_started;
    pthread_mutex_t   mu;
    pthread_cond_t    cv;
    struct seal_job  *job_in;           /* submitted, not yet taken */
    int               is_busy, is_done, is_stop;
    int               wake_fd;          /* a byte when a job is done:
                                           the syncer's pipe (under mu) */
    int               wfd;              /* segment being written */
    uint64_t          wseq, wpos;
    struct store_dwrite dw;             /* its writes past the page cache */
    /* The token index of segment ix_seq, which is wseq but after a
     * rolling job whose every block was quarantined (segindex.c, "on the
     * sealing thread"): wimem is that segment's imem (NULL: unindexed or
     * sealed), fed by the indexing thread while each job's blocks are
     * written, under ix_mu, which cursors take to look it up (kept once
     * they are synced, rolled back if not); wrefs its block table
     * (directory order, grown once they are synced), wraw its raw
     * bytes. */
    uint64_t             ix_seq;
    struct index_mem    *wimem;
    struct index_blkref *wrefs;
    size_t               n_wrefs, cap_wrefs;
    uint64_t             wraw;
    size_t               last_keys;     /* keys of the last segment this
                                           thread filled (its next map's
                                           table is made that large) */
    pthread_mutex_t      ix_mu;
    struct store_indexer ix;            /* token sets beside compression */
    struct seal_pool     pool;          /* frames compressed on several
                                           threads (sealpool.c) */
    struct seal_lqi      lqi;
    struct buf        cols;
    struct buf        frames;           /* codec 6: the body being built */
    struct store_rec *recs;
    size_t            cap_recs;
};

/* The WAL syncing thread (syncer.c): fd is the file to fdatasync (-1:
 * nothing asked), err its result; fd, err, is_done and is_stop are under
 * mu, is_busy (a sync asked and not yet collected) is the store's
 * thread's. One byte is written to pipe[1] when a sync returned. */
struct store_syncer {
    pthread_t       th;
    int             is_started, is_init;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             fd, err;
    int             is_busy, is_done, is_stop;
    int             pipe[2];
    int64_t         sync_ns;    /* the last sync's fdatasync (under mu) */
};

/* A WAL sync this long is counted as slow (/health store.wal_syncs). */
#define STORE_WAL_SYNC_SLOW_NS  INT64_C(100000000)

/* The commit in flight (store_commit_begin .. store_commit_end): its WAL
 * entries are written to file wal at [off, end) (the file's durable end
 * to its written end when it began) and being synced; it covers the tail
 * up to len bytes and n records. */
struct store_commit {
    int      is_busy;
    size_t   wal;
    uint64_t off, end;
    size_t   len;
    uint32_t n;
    int64_t  prev_ns[2];        /* the tail's at len */
    /* The written end of the current WAL file (s->wal_cur): entries up
     * to here are written (their records visible) but some not synced
     * yet, past the file's durable end (its len); 0 when every written
     * entry is synced. While a sync is in flight the entries written
     * after its own (store_commit_ahead) go here; the next commit's sync
     * covers them all. */
    uint64_t wend;
    uint64_t n_writes;          /* store.n_wal_writes when it began: the
                                   entries it syncs are those up to it */
};

/* The raw (decompressed, CRC-checked) bodies of the segment blocks cursors
 * read last: a context cursor reads the block the match cursor has just
 * read, and takes it from here instead of reading and decompressing it
 * again (cursor_merge.c). Blocks of at most STORE_BCACHE_MAX bytes; under
 * store.mu. */
#define STORE_BCACHE_N   4
#define STORE_BCACHE_MAX ((size_t)4 << 20)
struct store_bcache_ent {
    uint64_t   seq, off;
    uint32_t   blk, frame;
    uint64_t   tick;                    /* last use; 0: empty */
    struct buf raw;
};

/* Threads (STORE.md "Threads"): one thread owns the store and is the only
 * one that changes it (append, commit, seal results, retention); cursors
 * may run on other threads. mu guards everything a cursor reads after
 * its creation or writes: the segment list and block directories, the
 * token indexes, the committed tail and the blocks being sealed, the
 * block cache, damage marks and the cursor counters. The owner takes mu
 * only to change that state (and to read what cursors write: the
 * getters); a cursor takes it to pick its candidates and to copy one
 * directory entry (or cached block) per block it opens, and never across
 * disk reads, decompression or the caller's matching. The label array
 * grows by copy: replaced arrays are kept until close, so a cursor reads
 * the labels it saw at creation without mu (labels never change). */
/* tailset.c: the thread that gathers the token sets of full tails
 * waiting in s->pend (started at the first one). Under mu: the queue
 * (oldest first), is_stop, each queued chunk's state. */
struct tailset_pre;
struct store_tailset {
    pthread_t           th;
    int                 is_init, is_started, is_failed, is_stop;
    pthread_mutex_t     mu;
    pthread_cond_t      cv, cv_done;    /* work queued; a set gathered */
    struct tailset_pre *q_head, *q_tail;
    uint64_t            n_built;        /* sets it gathered */
    uint64_t            n_recs_taken;   /* decoded records the sealing
                                           thread took (tailset_take_recs) */
    struct store_rec   *recs;           /* its decoded records */
    size_t              cap_recs;
};

struct store_old_labels {
    struct store_label    **labels;
    struct store_old_labels *next;
};

/* recompact.c: the recompacting thread's request and result (under mu;
 * collector/STORE.md "Recompaction of cold segments"). */
struct store_recompactor {
    pthread_t         th;
    pthread_mutex_t   mu;
    pthread_cond_t    cv;
    int               is_started;
    volatile int      is_stop;          /* read between frames unlocked */
    int               has_req, has_res, is_busy, res_rc;
    uint64_t          req_seq, cur_seq, res_old, res_new;
    uint64_t          mark_seq;         /* recompact.lqr: done up to it */
};

struct store {
    char                 *dir;
    pthread_mutex_t       mu;
    struct store_old_labels *old_labels;  /* replaced label arrays */
    struct store_options  opt;
    char                 *errstr;

    struct store_seg    **segs;         /* by seq, ascending */
    size_t                n_segs, cap_segs;
    int                   seg_fd;       /* the last segment at open, -1 if
                                           none (then the sealer's) */
    uint64_t              next_seq;

    struct store_wal_file wals[STORE_WAL_MAX_FILES];
    size_t                n_wals, wal_cur;
    uint64_t              wal_gen_max;
    uint64_t              n_wal_writes;     /* entries written */
    uint64_t              wal_synced;       /* of them, those up to this
                                               number are synced (or cut
                                               off as stale, sealed) */
    uint64_t              n_seal_nowal;     /* jobs sealed without WAL
                                               files (store_detach_tail) */
    uint64_t              n_tail_closes;    /* segment_tail_close */
    uint64_t              n_recs_carried;   /* tail_carry_rest */
    uint64_t              n_recs_split;     /* tail_split, re-encoded */
    uint64_t              n_seal_nowal_run; /* of them, in a row */
    uint8_t               is_closing;       /* store_close's last commit:
                                               it closes the tail where
                                               it begins after such jobs */
    uint64_t              tail_wal_first;   /* number of the first entry
                                               holding the tail's records
                                               (0: replayed, durable;
                                               UINT64_MAX: none yet) */
    uint64_t              wal_trim_writes;  /* n_wal_writes at the last
                                               store_wal_trim */
    struct seal_job      *job;          /* detached tail, in flight or
                                           failed (retried) */
    struct seal_job      *pend;         /* full tails detached while job
                                           was in flight: the next job
                                           (store_seal, "Threads") */
    struct seal_job      *closed;       /* full tails closed at a WAL
                                           write, oldest first, each
                                           sealed once its entry is
                                           synced (STORE.md "Closed
                                           tails"); NULL or no chunk:
                                           none */
    struct store_sealer   sealer;
    struct store_syncer   syncer;
    struct store_commit   cm;
    /* The pending WAL entry: the tail's records from wal_from (its
     * bytes there, written as they are: STORE.md "Write-ahead log") and
     * the table of the tail's labels they use. */
    struct buf            wal_labels;   /* pending entry: label table */
    uint32_t              wal_n_labels, wal_n_recs;
    uint64_t              wal_gen;
    size_t                wal_from;     /* in the tail's body */
    int64_t               wal_from_prev[2];     /* its prev_ns there */

    struct store_tail     tail;
    uint64_t              gen_next;     /* tail generations */
    /* bodies and token sets of sealed jobs' blocks kept for the next
     * (segment_seal.c tail_reserve, chunk_set_init): a fresh body grew by
     * doubling, copied ~13 times; a fresh set was calloc'ed and grown */
    struct buf            spare_body[STORE_SPARE_BODIES];
    size_t                n_spare_body;
    struct index_set      spare_set[STORE_SPARE_SETS];
    size_t                n_spare_set;

    struct store_label  **labels;       /* by id */
    size_t                n_labels, cap_labels;
    struct store_label  **label_tab;    /* hash buckets */
    size_t                label_tab_size;
    struct store_label   *last_label;   /* append fast path */

    struct store_source **sources;      /* creation order */
    size_t                n_sources, cap_sources;
    struct store_source **source_tab;
    size_t                source_tab_size;

    uint64_t              n_corrupt, n_seg_deleted, bytes_deleted;
    uint64_t              n_torn_cuts, n_wal_replayed, n_seal_errors;
    uint64_t              n_wal_syncs;      /* commits' fdatasyncs: how */
    int64_t               wal_sync_ns;      /* long in all, the longest, */
    int64_t               wal_sync_max_ns;  /* the entries' bytes */
    uint64_t              wal_sync_bytes;
    uint64_t              n_wal_syncs_slow; /* of them over 100 ms */
    uint64_t              n_seal_waits;     /* store_seal waited for the */
    int64_t               seal_wait_ns;     /* sealing thread: how long */
    uint64_t              n_seal_waits_for[3];  /* why: STORE_SEAL_WAIT_* */
    struct seal_times     seal_t;           /* applied jobs' steps */
    uint64_t              n_quar_blocks, n_quar_records, n_quar_unsaved;
    uint64_t              n_labels_capped;
    /* Docker labels (srclabels.c): every set published since open (kept
     * until close: cursors may hold one), labels.lql */
    struct labelset     **dl_sets;
    size_t                n_dl_sets, cap_dl_sets;
    int                   dl_fd;
    uint64_t              dl_len;       /* end of the last good entry */
    uint8_t               dl_is_torn;   /* bytes past dl_len to cut first */
    uint64_t              n_dl_entries; /* entries in labels.lql */
    size_t                n_dl_dirty;
    uint64_t              n_dl_capped;
    uint64_t              n_index_rebuilds, n_index_errors;
    uint64_t              n_cursor_reads, n_cursor_rereads;
    uint64_t              n_cursor_cache_hits;
    uint64_t              n_cursor_ahead_reads;
    uint64_t              n_cursor_mem_reads;   /* in-memory blocks
                                                   copied by cursors */
    uint64_t              n_cursor_mem_skips;   /* waiting or sealing
                                                   blocks skipped by
                                                   their token set */
    uint64_t              cursor_mem_peak;      /* store_stats' */
    /* The bytes every open cursor holds together (their mem_held) and
     * the cursors holding any (__atomic, without mu: a cursor changes
     * them as it opens and drops runs; cursor_mem_limit) */
    size_t                cursor_mem_total;
    size_t                n_cursors_mem;
    struct store_tailset  tailset;
    struct store_bcache_ent bcache[STORE_BCACHE_N];
    uint64_t              bcache_tick;
    struct store_rec     *ix_recs;      /* segindex: decoded block */
    size_t                ix_cap;
    /* recompact.c: cursors alive (under mu; a segment is swapped only
     * when none is) and the thread */
    uint64_t              n_cursors_open;
    struct store_recompactor rc;
    uint64_t              n_recompacted, n_recompact_errors;
    uint64_t              recompact_saved;
};

/* recompact.c: the thread started at open when opt.recompact_level > 0
 * (0, or -1 with the error set), stopped at close (a rewrite not swapped
 * in is dropped); cleanup removes temp files a crash left (at open). */
int  recompact_start(struct store *s);
void recompact_stop(struct store *s);
void recompact_cleanup(struct store *s);

/* quarantine.c: writes the records of ch (a block that cannot be built)
 * to a new quarantine-*.lqq file and counts them; a failed write is
 * counted in n_quar_unsaved. Store thread. */
void store_quarantine(struct store *s, const struct seal_chunk *ch);

/* srclabels.c: labels.lql replayed (after the WAL: sources known) and
 * compacted when mostly stale; changed sets appended + fdatasync'ed by
 * srclabels_commit (0, or -1 with the error set: the sets stay dirty). */
int  srclabels_open(struct store *s);
int  srclabels_commit(struct store *s);
void srclabels_close(struct store *s);
const struct labelset *store_source_labels(const struct store_source *src);

/* store.c, store_append.c */
void store_lock(struct store *s);
void store_unlock(struct store *s);
void store_set_err(struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct store_label *store_label_intern(struct store *s,
                                       const uint8_t *const str[4],
                                       const size_t len[4]);
struct store_source *store_source_get(struct store *s, const char *host,
                                      size_t host_len, const char *cid,
                                      size_t cid_len, int create);
void store_tail_init(struct store *s, struct store_tail *t, size_t max);
/* How full t is for sealing: body + meta bytes (block_size once its meta
 * reaches STORE_TAIL_META_FULL). */
size_t store_tail_fill(const struct store_tail *t, size_t block_size);
void store_tail_fini(struct store_tail *t);
/* Marks t as it is now (store_tail_at): at a commit's begin. */
void store_tail_mark(struct store_tail *t);
/* Encodes a record into t and updates its stats; -1 if t is full. */
/* Counts r (encoded as label idx of t) in t's and its label's stats. */
void store_tail_note(struct store_tail *t, uint32_t idx,
                     const struct store_rec *r);
int  store_tail_add(struct store_tail *t, struct store_label *l,
                    const struct store_rec *r);
/* Counts r, whose bytes the caller puts in t's body, under label l of t
 * (added to t's table if new); its number there. */
uint32_t store_tail_count(struct store_tail *t, struct store_label *l,
                          const struct store_rec *r);
/* Adds a record read back from the WAL, with store_append's dedup. */
int  store_replay_record(struct store *s, struct store_label *l,
                         const struct store_rec *r);
int  store_write_at(const struct store *s, int fd, const char *what,
                    const void *p, size_t n, uint64_t off);
/* The same for the n_iov pieces of iov, back to back from off (iov is
 * changed on a short write). */
int  store_writev_at(const struct store *s, int fd, const char *what,
                     struct iovec *iov, int n_iov, uint64_t off);
/* Drops the first n bytes of the n_iov pieces at *iov (a short write):
 * *iov moves to the first piece with bytes left, which is cut; returns
 * the pieces left (0: all n bytes were all there was). */
int  store_iov_skip(struct iovec **iov, int n_iov, size_t n);
int64_t store_now(const struct store *s);
int  store_fsync_dir(const char *dir);
char *store_seg_path(const struct store *s, uint64_t seq);
struct store_seg *store_seg_find(const struct store *s, uint64_t seq);

/* block.c: encoding of block bodies, block meta/headers and WAL entries. */
/* Zigzag: a signed value as an unsigned one, small magnitudes small. */
static inline uint64_t
blk_zz_enc(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t
blk_zz_dec(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Decodes a varint at *pp (< end); -1 if truncated or over 64 bits. */
static inline int
blk_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;

    /* one or two bytes (labels, flags, lengths, offset deltas): no loop */
    if (end - p >= 2) {
        if (p[0] < 0x80) {
            *out = p[0];
            *pp = p + 1;
            return 0;
        }
        if (p[1] < 0x80) {
            *out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
            *pp = p + 2;
            return 0;
        }
    }
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t c = *p++;
        if (shift == 63 && c > 1)
            return -1;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Appends r as a row with receive time (STORE_CODEC_ROW_RECV) under
 * label; prev holds the previous row's time and receive time. */
int  block_rec_encode(struct buf *b, uint32_t label, int64_t prev[2],
                      const struct store_rec *r);
/* Decodes a row body of n records with labels < n_labels into recs (grown
 * as needed), with receive times if has_recv. -1 if malformed. */
int  block_body_decode(const uint8_t *p, size_t len, uint32_t n,
                       uint32_t n_labels, int has_recv,
                       struct store_rec **recs, size_t *cap);
/* The same for a body's part that starts after a record whose time and
 * receive time were prev (block_body_decode: both 0). */
int  block_body_decode_at(const uint8_t *p, size_t len, uint32_t n,
                          uint32_t n_labels, const int64_t prev[2],
                          struct store_rec **recs, size_t *cap);
/* Codecs 2 to 5: a body as columns (labels, time deltas, flags, per-label
 * offset deltas, lengths; 4 and 5 receive time deltas) then the messages
 * back to back; codecs 3 and 5 take the message length off each offset
 * delta. recs' msg point into the caller's memory; -1 if out's cap is
 * reached. */
int  block_cols_encode(struct buf *out, uint32_t codec,
                       const struct store_rec *recs, uint32_t n,
                       uint32_t n_labels);
int  block_cols_decode(uint32_t codec, const uint8_t *p, size_t len,
                       uint32_t n, uint32_t n_labels, struct store_rec **recs,
                       size_t *cap);
/* The message bytes of the n records of a column codec's raw body (a
 * codec 6/7 body only when it is one frame of all n), read from its
 * column lengths without decoding a record: 0 and *out, or -1 when it
 * cannot tell (another codec, several frames, lengths past the end). */
int  block_msg_bytes(uint32_t codec, const uint8_t *p, size_t len,
                     uint32_t n, uint64_t *out);
/* The n messages of one codec 9 frame's raw bytes (varint n, the
 * columns, the messages each ended by a newline), without decoding the
 * columns: where its messages begin (*msgs) and the places of their
 * newlines from there (*nl, grown, *cap_nl: message i ends at nl[i]). 0,
 * or -1 when the bytes are not such a frame (another codec, a length
 * column kept, bytes past the n-th newline): block_decode then tells. */
int  block_frame_nl(uint32_t codec, const uint8_t *p, size_t len,
                    uint32_t n, uint32_t **nl, size_t *cap_nl,
                    const uint8_t **msgs);
/* Sets recs[i].msg, msg_len and seq (the other fields not) of those n
 * messages, as block_decode sets them (*recs grown, *cap). */
void block_frame_recs(const uint8_t *msgs, uint32_t n, const uint32_t *nl,
                      struct store_rec **recs, size_t *cap);
/* block_frame_nl, then block_frame_recs. */
int  block_frame_msgs(uint32_t codec, const uint8_t *p, size_t len,
                      uint32_t n, struct store_rec **recs, size_t *cap,
                      uint32_t **nl, size_t *cap_nl);
/* ... and then its columns, with the newlines block_frame_nl found: the
 * records block_decode gives (*recs grown, *cap). 0, or -1 as
 * block_decode. */
int  block_frame_cols(uint32_t codec, const uint8_t *p, size_t len,
                      uint32_t n, uint32_t n_labels, struct store_rec **recs,
                      size_t *cap, const uint32_t *nl);
/* Decodes a raw body of any codec (STORE_CODEC_ROW_RECV too). */
int  block_decode(uint32_t codec, const uint8_t *p, size_t len, uint32_t n,
                  uint32_t n_labels, struct store_rec **recs, size_t *cap);
/* Receive-time range of a codec 7 meta (STORE.md "Receive-time
 * range"). */
struct block_recv_range {
    int64_t min, max;                   /* 0, 0: no record has one */
};
/* Parses meta; *labels is allocated (caller frees). -1 if malformed.
 * With frames (codecs 6 and 7) the frame table after the labels too
 * (*frames allocated, caller frees), and with recv (codec 7) the
 * receive-time range after it; the last part must end the meta. */
int  block_meta_decode(const uint8_t *p, size_t len, int64_t min_ns,
                       uint8_t *stream_mask, struct store_meta_label **labels,
                       uint32_t *n_labels, struct store_frame **frames,
                       uint32_t *n_frames, struct block_recv_range *recv);
/* Codecs 6 and 7: the frame table of a meta from offset at (its labels'
 * end) to end, or (codec 7: recv not NULL) the frame table then the
 * receive-time range: *frames allocated. -1 if malformed. */
int  block_frames_decode(const uint8_t *p, const uint8_t *end, int64_t min_ns,
                         uint32_t n_records, uint64_t comp_len,
                         uint64_t raw_len, struct store_frame **frames,
                         uint32_t *n_frames, struct block_recv_range *recv);
/* Codec 7: appends the receive-time range of recs (n) to meta. */
int  block_recv_encode(struct buf *meta, const struct store_rec *recs,
                       uint32_t n);
/* Codec 6: the end of the frame starting at record i of recs[0..n) (about
 * size raw bytes, at least one record; earlier where one source's records
 * end, the frame holds at least size / BLOCK_FRAME_MIN_SHARE bytes, and
 * the next source's first time lies outside the frame's time range by
 * more than the range's width + BLOCK_FRAME_GAP_NS: STORE.md "Frames"):
 * how block_frames_encode cuts, and how the indexing thread numbers the
 * frames of its token sets. */
#define BLOCK_FRAME_MIN_SHARE 16
/* ... and a frame full at size takes the block's last records too when
 * they hold less than size / BLOCK_FRAME_TAIL_SHARE bytes (no frame of a
 * few records at a block's end: STORE.md "Frames"). */
#define BLOCK_FRAME_TAIL_SHARE 4
#define BLOCK_FRAME_GAP_NS    INT64_C(1000000000)
uint32_t block_frame_end(const struct store_rec *recs, uint32_t i,
                         uint32_t n, size_t size);
/* A tail's row body (codec 1 with receive times, n records) decoded into
 * *recs (grown, *cap) in the order sealing writes them: grouped by label,
 * stably (each label's records in their order, labels in index order,
 * seq their place: a counting sort into a new array that replaces
 * *recs, STORE.md "Order of records in a block"). Every seal path (chunk_encode, sealpool.c, the
 * token sets of tailset.c/indexer.c) decodes with it, so they cut the
 * same frames. 0, or -1 if the body does not decode. */
int  block_seal_decode(const uint8_t *p, size_t len, uint32_t n,
                       uint32_t n_labels, struct store_rec **recs,
                       size_t *cap);
/* Codecs 6 to 8: compresses recs (n, labels < n_labels) into frames of
 * about frame_size raw bytes of the block codec's frame body appended to
 * body (zstd at level), their table appended to table; *raw_len: their
 * decompressed bytes. cols: scratch. */
int  block_frames_encode(struct buf *body, struct buf *table,
                         struct buf *cols, const struct store_rec *recs,
                         uint32_t n, uint32_t n_labels, int64_t min_ns,
                         size_t frame_size, int level, uint32_t codec,
                         uint32_t *raw_len);
/* The newlines in [p, end) (codec 9's encoder: a message holding one
 * keeps the frame's lengths). */
uint64_t block_nl_count(const uint8_t *p, const uint8_t *end);
/* The positions of the first n newlines of p's len bytes (len < 4 GiB)
 * into pos (n + 64 entries): how many it found if fewer, else at least n
 * (codec 9's messages; block.c). */
uint32_t block_nl_find(const uint8_t *p, size_t len, uint32_t n,
                       uint32_t *pos);
/* Tests only: 1 makes block_nl_find take its path without AVX2 (SSE2,
 * then bytes) on a CPU that has AVX2. */
void block_test_nl_path(int no_avx2);
/* Codecs 6 to 8: appends the zstd frame of one frame's raw bytes (varint
 * n, then the codec's frame body) to out at level, cut into zstd blocks
 * between its columns and before its messages (STORE.md "Frames": the
 * columns' literals apart from the text's); raw bytes that do not parse
 * so are compressed whole. -1 as compress_zstd. */
int  block_frame_compress(struct buf *out, const uint8_t *raw, size_t len,
                          uint32_t codec, int level);
struct store_blk_hdr {
    uint32_t magic, meta_len, raw_len, comp_len, n_records, codec;
    int64_t  min_ns, max_ns;
    uint32_t body_crc, head_crc;
};
void block_hdr_encode(uint8_t out[STORE_BLK_HDR_LEN],
                      const struct store_blk_hdr *h);
void block_hdr_decode(const uint8_t in[STORE_BLK_HDR_LEN],
                      struct store_blk_hdr *h);
int  block_put_str(struct buf *b, const void *p, size_t n);
/* Writes v as a varint (at most 10 bytes) to out; returns its length. */
size_t block_varint_encode(uint8_t out[10], uint64_t v);

/* segment.c */
/* Scans a segment file into seg; the last one may be cut at a torn tail. */
int  segment_scan(struct store *s, struct store_seg *seg, int is_last);
/* Appends a zeroed entry to seg's block directory; returns it. */
struct store_blk *seg_add_blk(struct store_seg *seg);
void segment_free(struct store_seg *seg);
/* Reads and verifies a block body into out (compressed). -1: damaged. */
int  segment_read_body(int fd, const struct store_blk *b, struct buf *out);
/* Decompresses a body read by segment_read_body into raw (reset first)
 * by the block's codec; -1 if it does not give exactly raw_len bytes. */
int  segment_unpack(const struct store_blk *b, const struct buf *comp,
                    struct buf *raw);
/* The same for frame fr of codec 6 block b alone: reads and checks its
 * bytes (its crc32) into comp, decompresses them into raw. -1: damaged. */
int  segment_read_frame(int fd, const struct store_blk *b,
                        const struct store_frame *fr, struct buf *comp,
                        struct buf *raw);

/* segment_seal.c */
/* A new seal job: the closed tails whose WAL entries are synced (the
 * leading ones of s->closed, at least one), or, when no tail is closed,
 * the committed prefix of the tail (split into blocks of about
 * block_size, header placeholders + meta built; records appended past it
 * stay in the tail, uncommitted, those visible still visible). NULL on
 * error. */
struct seal_job *segment_job_new(struct store *s);
/* The tail, every record of it in a WAL entry written (the last one
 * numbered s->n_wal_writes), closed: moved to the end of s->closed as
 * chunks of about block_size; the tail is empty after. Under store.mu.
 * -1 if the tail does not decode (cannot happen: the tail stays). */
int  segment_tail_close(struct store *s);
/* The first closed chunk, if its entries are synced (then sealable). */
int  segment_closed_ready(const struct store *s);
/* Whether closed chunk ch's records are all in synced WAL entries. */
static inline int
store_chunk_is_synced(const struct store *s, const struct seal_chunk *ch)
{
    return !ch->is_unwritten && ch->wal_last <= s->wal_synced;
}
void segment_job_free(struct seal_job *job);
/* Keeps the bodies of a sealed job's blocks (up to STORE_SPARE_BODIES
 * in all, none larger than four blocks) for the next tails, and their
 * token sets (up to STORE_SPARE_SETS, none over STORE_SPARE_SET_MAX
 * slots) for the next jobs; on the store's thread, before
 * segment_job_free. */
void segment_job_spare(struct store *s, struct seal_job *job);
/* An idle store's spare bodies cut to STORE_SPARE_IDLE, none larger than
 * two blocks (what it kept before a burst needed more): store_wal_trim. */
void segment_spare_trim(struct store *s);
/* Moves src's chunks and WAL files to the end of dst and frees src. */
void segment_job_merge(struct seal_job *dst, struct seal_job *src);
/* On the sealing thread: compresses, indexes and writes the job's chunks
 * (creating segment seq first if is_roll), one fdatasync. Sets job->rc. */
void segment_job_run(const struct store *s, struct store_sealer *w,
                     struct seal_job *job);
/* On the store's thread, after a successful run: adds the blocks to the
 * segment directory and its index. */
void segment_job_apply(struct store *s, struct seal_job *job);

/* wal.c */
int  wal_open_replay(struct store *s);
/* Writes the pending entry to the current file at its written end
 * (s->cm.wend, moved past it; no sync) and clears it. -1 with the error
 * set: nothing written. */
int  wal_write(struct store *s);
/* The same for the pending entry's records up to byte to of the tail's
 * body (n_recs of them: the caller sets s->wal_n_recs), the rest left to
 * the caller (the pending entry is not cleared). */
int  wal_write_upto(struct store *s, size_t to);
/* One entry of closed chunk ch in the current file, its rows the
 * chunk's body (label numbers its own, times from 0). 0 or -1 (the
 * error set, nothing written). */
int  wal_write_chunk(struct store *s, const struct seal_chunk *ch);
/* The sync of s->cm's entries returned: is_ok, the file's length (its
 * durable end) moves past them; else the file is cut back to where they
 * began (the entries written since with them) and the caller rebuilds
 * the pending entry from the tail's uncommitted records, so that the
 * next commit writes them all. */
void wal_write_done(struct store *s, int is_ok);
/* Marks the dirty files as owned by a job (returned mask) and switches
 * commits to a clean file (fresh generation). -1 if none can be had. */
int  wal_detach(struct store *s, uint32_t *mask);
/* Truncates the files of mask (their records are sealed; those of cut
 * were truncated by the sealing thread already), or, with is_ok 0, gives
 * them back to the pool as still dirty. */
void wal_release(struct store *s, uint32_t mask, uint32_t cut, int is_ok);
void wal_close_all(struct store *s);
uint64_t wal_bytes(const struct store *s);
void wal_pending_clear(struct store *s);

/* syncer.c: the WAL syncing thread. submit: fdatasync fd (the thread
 * must be idle); poll: 1 and *err (0 or an errno) once that sync
 * returned, 0 while it runs, -1 if none was asked; with is_wait, waits. */
int  syncer_start(struct store *s);
void syncer_stop(struct store *s);
void syncer_submit(struct store *s, int fd);
int  syncer_poll(struct store *s, int is_wait, int *err);

/* sealer.c: the sealing thread. */
int  sealer_start(struct store *s);
void sealer_stop(struct store *s);
/* Submits s->job (the thread must be idle). */
void sealer_submit(struct store *s);
/* 1 if the submitted job is done (result applied), 0 if still running;
 * with is_wait, waits for it. */
int  sealer_poll(struct store *s, int is_wait);

/* store_append.c: once the sealing thread is idle, hands it the tails detached
 * meanwhile (s->pend) as its next job. */
void store_seal_pend(struct store *s);
/* retention.c: store_apply_retention without polling the sealing thread
 * (for sealer_finish). */
int  retention_run(struct store *s);
/* At most this many full tails wait in s->pend for the sealing thread
 * (each holds its WAL file: the job in flight, the pending one and the
 * current file must fit in STORE_WAL_MAX_FILES, which store_pend_fits
 * checks too). With 2 the event loop waited for the sealing thread ~85
 * times in a 0.5 GiB bench ingest (2.8-4.2 s of 13-20 s at load 8-10),
 * with 3 ~53 times, with 6 8-26 times but 10 MiB more peak RSS
 * (BENCHMARKS.md "Where the pipeline waits"). */
#define STORE_PEND_MAX_CH 4
/* At most this many closed tails wait for the sync that makes them
 * sealable (STORE.md "Closed tails"); past it the tail grows, and is
 * closed (split if past one and a half blocks) once there is room. */
#define STORE_CLOSED_MAX_CH 8
/* Jobs in a row sealed without their WAL files (store_detach_tail) after
 * which the tail is closed where a commit begins once it holds half a
 * block (after twice as many, whatever it holds: store_close_now). */
#define STORE_SEAL_NOWAL_MAX 1
/* Why a full tail could not wait in s->pend (store_seal waited): no
 * clean WAL file for the commits after it, STORE_PEND_MAX_CH tails wait
 * already, the pending job would cross the segment's end. */
#define STORE_SEAL_WAIT_WAL     0
#define STORE_SEAL_WAIT_TAILS   1
#define STORE_SEAL_WAIT_SEGMENT 2

/* indexer.c: the sealing thread's indexing thread. start: 0, or -1
 * with errno (then indexer_wait does the work on the caller's thread).
 * submit: starts gathering job's token sets (one job at a time) and,
 * with a map m, adding each block's to m as soon as it is gathered: the
 * blocks is_ix are base, base + 1, ... in job order (the numbers they
 * get in the segment if they all build); wait: until that is done, and
 * returns whether m was fed (then marked: the caller keeps or rolls
 * back, index_mem_keep/_rollback). Sealing thread. */
int  indexer_start(struct store_indexer *x, int has_helper);
void indexer_stop(struct store_indexer *x);
void indexer_submit(struct store_indexer *x, struct seal_job *job,
                    struct index_mem *m, uint32_t base);
int  indexer_wait(struct store_indexer *x);

/* tailset.c: token sets of the full tails waiting for the sealing
 * thread (STORE.md "Waiting tails' token sets"). init/stop: at open and
 * close (stop after the last chunk is freed). chunk_init/_fini: a
 * chunk's state, with the chunk (segment_job_new/_free; fini waits for
 * a set being gathered). queue: the chunks of job (s->pend) not queued
 * yet go to the thread (started the first time). Store's thread. */
void tailset_init(struct store *s);
void tailset_stop(struct store *s);
void tailset_chunk_init(struct store *s, struct seal_chunk *ch);
void tailset_chunk_fini(struct seal_chunk *ch);
void tailset_queue(struct store *s, struct seal_job *job);
/* The token set of a row body (n records, labels < n_labels) into set
 * (reset first), its records' frames numbered as blocks of frame_size
 * are cut (0: one frame), after the seal groups them by label
 * (block_seal_decode); recs: scratch. -1: the body does not decode
 * (the set is then partial). */
int  tailset_gather(const uint8_t *body, size_t len, uint32_t n,
                    uint32_t n_labels, struct index_set *set,
                    struct store_rec **recs, size_t *cap, size_t frame_size);
/* Indexing thread: 1 if ch->set holds ch's token set already (gathered
 * ahead, or on an earlier try of the job), else 0 (ch->set is the
 * caller's to gather; then publish: is_whole if it decoded). */
int  tailset_take(struct seal_chunk *ch);
void tailset_publish(struct seal_chunk *ch, int is_whole);
/* Sealing thread: 1 if ch's records, decoded ahead with its set
 * (block_seal_decode of its body, grouped by source), were left for it:
 * then they replace *recs (freed; *cap their capacity), the caller's
 * from now; else 0 (not gathered yet, being gathered, or taken: the
 * caller decodes). Never waits for the gathering thread. */
int  tailset_take_recs(struct seal_chunk *ch, struct store_rec **recs,
                       size_t *cap);
/* Cursors, under store.mu: 1 if ch's published set lacks one of the
 * word hashes or (where the set has them) the field hashes, or (where
 * it has sub-word tokens) both a bounded word's hash bhashes[i] and its
 * sub-word's shashes[i], or they share no frame: no record of ch can
 * match (collector/STORE.md "Sub-word tokens"); 0 if one may or no set
 * is published. */
int  tailset_lacks(const struct seal_chunk *ch, const uint32_t *hashes,
                   size_t n, const uint32_t *fhashes, size_t n_f,
                   const uint32_t *bhashes, const uint32_t *shashes,
                   size_t n_b);

/* sealpool.c: a seal job's frames compressed on several threads.
 * start: n_threads compressing threads in all, the sealing thread
 * included (<= 1: it alone, no helper; -1 with errno if none could be
 * started: then it works alone too). build: codec 6/7 blocks of job not
 * is_bad built into their blk (as chunk_encode builds them, byte for
 * byte); a block that fails becomes is_bad. Sealing thread. */
int  sealpool_start(struct seal_pool *p, int n_threads);
void sealpool_stop(struct seal_pool *p);
void sealpool_build(struct seal_pool *p, struct seal_job *job,
                    size_t frame_size, int level, uint32_t codec);
/* Runs fn(arg) on a helper once it has no frame to compress (without
 * helpers: now, on the caller's thread); wait: its return value. One at
 * a time. Sealing thread. */
void sealpool_bg_submit(struct seal_pool *p, int (*fn)(void *), void *arg);
int  sealpool_bg_wait(struct seal_pool *p);
/* segment_seal.c: ch's header once its meta (meta_len bytes) and body are in
 * ch->blk: lengths, codec, body and head CRCs. */
void seal_chunk_header(struct seal_chunk *ch, uint32_t codec,
                       size_t meta_len, uint32_t raw_len);

/* segindex.c: the token index of each segment (index.c) kept in step
 * with its blocks. */
/* Indexes the messages of raw block body (n records, n_labels labels),
 * block blk of seg. */
void segindex_add_block(struct store *s, struct store_seg *seg, uint32_t blk,
                        const struct store_blk *b, const uint8_t *body,
                        size_t len);
/* Before the sealing thread starts: hands it the index, block table and
 * size of the last segment. */
void segindex_sealer_init(struct store *s);
/* On the sealing thread: a new segment (job->seq) was created. */
void segindex_sealer_roll(struct store_sealer *w, struct seal_job *job);
/* On the sealing thread, once job's blocks are written and synced (and
 * their token sets fed to the segment's index by the indexer): adds
 * them to the segment's block table; when the segment is full, writes
 * its .lqi and sets job->is_seg_full (job->is_ix_err if the write
 * failed). */
void segindex_sealer_add(const struct store *s, struct store_sealer *w,
                         struct seal_job *job);
/* With helpers, after job's blocks are written and before the segment's
 * fdatasync: if they make the segment full (its raw bytes), waits for
 * the indexer (*is_added, if < 0) and has a helper write the .lqi under
 * its temp name meanwhile (the blocks' offsets and CRCs are known);
 * segindex_sealer_add renames it once the sync returned. early_wait:
 * waits for that write (before the map's add is kept: it reads the map);
 * unearly, after a failed write or sync: waits, unlinks it and drops the
 * job's blocks from the table again. */
void segindex_sealer_early(const struct store *s, struct store_sealer *w,
                           struct seal_job *job, int *is_added);
void segindex_sealer_early_wait(struct store_sealer *w);
void segindex_sealer_unearly(const struct store *s, struct store_sealer *w);
/* On the store's thread, applying a job that filled seg: marks it full,
 * loads the .lqi the sealing thread wrote and drops the in-memory map. */
void segindex_close_full(struct store *s, struct store_seg *seg, int is_err);
/* At open, after the scan: loads or rebuilds seg's index. */
void segindex_open(struct store *s, struct store_seg *seg, int is_last);
/* Sets in bits (seg->n_blks bits, zeroed by the caller) the blocks that
 * may hold every hash and, if fmask (seg->n_blks entries) is not NULL,
 * fmask[b] of each such block to the frames of it that may (bit
 * index_frame_bit(f, n_frames) of frame f; INDEX_FRAMES_ALL where the
 * index does not tell). -1: no index answer (every block is a
 * candidate). */
int  segindex_candidates(struct store *s, struct store_seg *seg,
                         const uint32_t *hashes, const uint32_t *checks,
                         size_t n, uint64_t *bits, uint32_t *fmask);
/* Per-block record counts of the token (hash, check): cw[b] for each
 * block b of seg holding it (index_mem_counts), 1; 0 if the index cannot
 * tell (no index, no counts, a page failed: then dropped as above). */
int  segindex_counts(struct store *s, struct store_seg *seg,
                     uint32_t hash, uint32_t check, uint32_t *cw);
/* Removes *.lqi.tmp leftovers and indexes of missing segments. */
void segindex_cleanup(struct store *s);
void segindex_unlink(struct store *s, uint64_t seq);
/* Loads seg's .lqi (its blocks in the directory); -1 if absent, damaged
 * or stale. */
int  segindex_load(struct store *s, struct store_seg *seg);
void segindex_free(struct store_seg *seg);
uint64_t segindex_disk_bytes(const struct store *s);

/* scan.c: token search in messages (cursor prefilter). */
struct scan_tok {
    uint8_t  b[64];                     /* folded, TOKENIZE_MAX_LEN */
    uint32_t len;
};
void scan_tok_init(struct scan_tok *t, const uint8_t *tok, size_t len);
/* 1 if msg holds t (ASCII case folded). */
int  scan_has(const struct scan_tok *t, const uint8_t *msg, size_t len);
/* 0 if the n_toks tokens toks cannot all be in a record of raw bytes p
 * (the first is nowhere in them, as bytes: no record of them holds it),
 * so nothing needs decoding; 1 otherwise. */
int  scan_may_hold(const struct scan_tok *toks, size_t n_toks,
                   const uint8_t *p, size_t len);
/* Sets keep[i] for each record of recs[0..n) whose message holds t; the
 * messages must lie back to back in recs order (codecs 2 and 3). */
void scan_column(const struct scan_tok *t, const struct store_rec *recs,
                 uint32_t n, uint8_t *keep);

/* blkload.c: a cursor's block reads, on the caller's thread or ahead of
 * it on one helper thread (a queue of BLK_AHEAD requests; the caller
 * runs a queued one itself rather than wait). */
struct blk_load {
    struct buf        comp, raw;
    struct store_rec *recs;
    size_t            cap_recs;
    uint8_t          *keep;             /* with tokens: holds them all */
    size_t            cap_keep;
    uint8_t          *lsel;             /* per block label: selected (the
                                           caller's, set before a load) */
    size_t            n_lsel, cap_lsel;
    uint8_t          *hint;             /* with match_fn: its answers */
    size_t            cap_hint;
    uint32_t         *ends;             /* with match_col_fn: message ends */
    uint8_t          *maybe;            /*   and its answers (cap_ends) */
    size_t            cap_ends;
    /* with is_matches_only: the records whose hint is not 0, in block
     * order, and the message bytes of the others the time range, stream
     * and labels select (those the cursor drops unseen) */
    uint32_t         *cand;
    size_t            cap_cand;
    uint32_t         *nl;               /* codec 9: a frame's newlines */
    size_t            cap_nl;
    uint32_t          n_cand;
    uint64_t          drop_bytes;
    uint64_t          sel_bytes;        /* of every record selected */
    uint64_t          tok_bytes;        /* of those the tokens ruled out
                                           (a part of drop_bytes) */
    int64_t           drop_min_t, drop_max_t;   /* of those dropped; min >
                                                   max: none */
    uint64_t          seq;
    uint32_t          blk;
    uint32_t          n;                /* records decoded: 0 when the raw
                                           bytes lack a required token */
    size_t            skip_raw;         /* then their length, else 0 */
    int               rc;               /* 1 loaded, 0 gone, -1 damaged */
    int               is_by_helper;     /* loaded on the helper thread */
};
/* Reads block blk of segment seq, or only its frame fr (frame is its
 * index; BLK_WHOLE: the whole block). */
#define BLK_WHOLE UINT32_MAX
struct blk_req {
    uint64_t           seq;
    uint32_t           blk;
    uint32_t           frame;
    struct store_blk   b;               /* copy; labels, frames not used */
    struct store_frame fr;              /* copy of frame `frame` */
};

/* Requests held at most (queued, being loaded, or loaded and not yet
 * taken; a cursor also caps their raw bytes, CUR_AHEAD_BYTES). With 3 a
 * scan's helper thread idled whenever its loads ran ahead of the
 * caller's: the entries held loaded frames not yet taken and the one the
 * caller was loading, none queued (BENCHMARKS.md "Full scans: the
 * read-ahead helper kept busy, messages tested before columns"). */
#define BLK_AHEAD 5

enum { BLK_Q_FREE, BLK_Q_QUEUED, BLK_Q_RUNNING, BLK_Q_DONE };

struct blk_ahead {
    struct blk_req   rq;
    struct blk_load *out;
    void            *tag;               /* the caller's, for take */
    size_t           key;               /* the caller's candidate */
    int              state;             /* BLK_Q_*, under mu */
};

struct blk_loader {
    const char            *dir;
    const struct scan_tok *toks;        /* required tokens, or n_toks 0 */
    size_t                 n_toks;
    /* the caller's record test (store_filter.match_fn) and the records
     * it applies to */
    store_match_fn         match_fn;
    store_match_col_fn     match_col_fn;            /* NULL: none */
    store_match_raw_fn     match_raw_fn;            /* NULL: none */
    void                  *match_arg, *hmatch_arg;  /* caller, helper */
    int                    is_matches_only;         /* store_filter's */
    int64_t                since, until;
    int64_t                recv_since;  /* 0: none */
    int                    stream;
    int                    fd, hfd;     /* caller's and helper's */
    uint64_t               fd_seq, hfd_seq;
    int                    is_started;
    pthread_t              th;
    pthread_mutex_t        mu;
    pthread_cond_t         cv;
    struct blk_ahead       q[BLK_AHEAD];    /* under mu */
    int                    is_stop;
};
void blkload_init(struct blk_load *ld);
void blkload_fini(struct blk_load *ld);
/* Marks ld->keep for the n decoded records holding every token. */
void blkload_keep(struct blk_load *ld, uint32_t codec, uint32_t n,
                  const struct scan_tok *toks, size_t n_toks);
/* With a match_fn, sets ld->hint for the n decoded records (keep, lsel
 * and the loader's time range and stream applied first: 0 for the
 * others), on the caller's thread or (is_helper) the helper's; with
 * is_matches_only also ld->cand and ld->drop_bytes. The records' times
 * lie in [lo, hi] (INT64_MIN, INT64_MAX when not known): a time range
 * that holds it is not tested record by record. */
void blkload_hints(const struct blk_loader *lr, struct blk_load *ld,
                   uint32_t n, int64_t lo, int64_t hi, int is_helper);
/* Copies the n block labels' selection into ld->lsel. */
void blkload_set_lsel(struct blk_load *ld, const uint8_t *sel, size_t n);
void blkload_loader_init(struct blk_loader *lr, const char *dir,
                         const struct scan_tok *toks, size_t n_toks);
/* Stops the helper (a request it runs is finished, queued ones are not
 * run) and calls free_tag on the tag of every request still held. */
void blkload_loader_fini(struct blk_loader *lr, void (*free_tag)(void *));
/* Loads rq into ld on the caller's thread. */
void blkload_run(struct blk_loader *lr, const struct blk_req *rq,
                 struct blk_load *ld);
/* Decodes ld->raw (n records of block b, or of its frame) as a load
 * does: records, token marks, match hints; ld->n 0 without decoding
 * when the bytes lack a required token. Sets ld->rc (1, or -1). */
void blkload_decode(const struct blk_loader *lr, int is_helper,
                    const struct store_blk *b, uint32_t n,
                    struct blk_load *ld);
/* The helper thread: start (0, or -1: then load on the caller's thread). */
int  blkload_start(struct blk_loader *lr);
/* 1 when BLK_AHEAD requests are held (submit would fail). */
int  blkload_is_full(struct blk_loader *lr);
/* Queues rq to be loaded into out; key and tag are the caller's. 0, or
 * -1 when full. */
int  blkload_submit(struct blk_loader *lr, const struct blk_req *rq,
                    struct blk_load *out, size_t key, void *tag);
/* The tag of the request for key, loaded (its out->rc set), removed from
 * the queue; NULL if none was submitted. While the helper loads it, the
 * caller loads queued requests itself instead of sleeping. */
void *blkload_take(struct blk_loader *lr, size_t key);

/* retention.c */
int  retention_hw_save(struct store *s);
int  retention_hw_load(struct store *s);

#endif
