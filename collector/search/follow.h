/* SPDX-License-Identifier: MIT */
/*
 * follow: fan-out of newly committed records to live subscribers (the
 * /api/v1/follow clients). ingest stages each record it stored and
 * publishes the staged records as soon as a commit's WAL entry is
 * written (store_commit_begin, or store_commit_ahead while a sync is in
 * flight, or store_commit_full when the tail is full, which make them
 * visible to cursors in the same loop turn;
 * follow_commit_begin then _end at once, before the fdatasync returns):
 * each goes to every subscriber, then the
 * subscriber's flush callback runs once. Knows
 * nothing of HTTP or sockets: subscribers bound their own output and drop
 * themselves when full. Staging is bounded (the stage and the records of
 * the commit in flight, stage_max bytes each); past the cap records are not
 * shown live (they are stored all the same) and a counter says how many.
 * With no subscriber, a published buffer keeps at most 256 KiB
 * (follow_mem). With a source (follow_set_source: the store's records
 * not yet in a WAL entry) nothing is copied while nobody is subscribed; the
 * first subscriber's arrival reads the records staged meanwhile from
 * the source instead (6% of the collector's ingest instructions were
 * these copies, BENCHMARKS.md "The event loop's own work").
 *
 * No gap for a new subscriber with history: records are staged whether or
 * not anyone listens (copied, or counted and read back from the source
 * when one subscribes), so a subscriber registered between a record's
 * append and its commit still receives it; and since publish runs right
 * after each WAL entry is written, on the same thread, a store cursor
 * created in the same loop turn as the subscription sees exactly the
 * records written before, the subscription exactly those written after. follow_keys is the exact
 * identity set a history reader needs when its cursor is created later
 * (api_follow.c: the tail's second pass).
 */
#ifndef COLLECTOR_FOLLOW_H
#define COLLECTOR_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "common/record.h"

struct follow;
struct follow_sub;

/* One record (borrowed for the call). */
typedef void (*follow_record_fn)(const struct logrec *r, void *arg);
/* End of one publish round; may call follow_unsubscribe on itself. */
typedef void (*follow_flush_fn)(void *arg);

/* stage_max: bytes of staged records held between commit and publish. */
struct follow *follow_new(size_t stage_max);
/* Frees staged records and all subscriptions (no callback runs). */
void follow_free(struct follow *f);

/* Registers a subscriber; flush may be NULL. Returns a handle for
 * follow_unsubscribe. */
struct follow_sub *follow_subscribe(struct follow *f, follow_record_fn rec,
                                    follow_flush_fn flush, void *arg);
/* Removes a subscriber; safe from inside its own callbacks (the handle is
 * then freed after the round). */
void follow_unsubscribe(struct follow *f, struct follow_sub *sub);
size_t follow_n_subscribers(const struct follow *f);

/* Enumerates the records appended and not yet published (not yet in a
 * WAL entry: store_foreach_unwritten), in append order (the commit in
 * flight's first, when a caller ends its commits later): calls rec for
 * each (borrowed for the call) and returns how many. */
typedef size_t (*follow_source_fn)(void *arg, follow_record_fn rec,
                                   void *rec_arg);
/* Makes fn (with arg) the source of the records staged while nobody is
 * subscribed: from then on follow_stage copies them only while someone
 * is. The caller stages every record it appends (and only those), and
 * begins and ends follow's commits exactly with the source's (as
 * ingest_commit.c and ingest_batch.c do: both right after each WAL entry
 * written, store_commit_begin, store_commit_ahead or store_commit_full),
 * so the source's records are
 * those of the commit in flight (none, there), then those of the stage. */
void follow_set_source(struct follow *f, follow_source_fn fn, void *arg);

/* Copies r into the stage (also when nobody is subscribed yet: see
 * above; with a source and no subscriber only counts it). 0 staged, -1
 * when the stage is full (counted in follow_n_dropped). */
int  follow_stage(struct follow *f, const struct logrec *r);
/* Delivers and clears everything staged (follow_commit_begin, then
 * follow_commit_end). */
void follow_publish(struct follow *f);
/* With a commit that completes later (store_commit_begin / _end): begin
 * sets the records staged so far apart as the commit's (after a failed
 * commit, added to the ones still set apart; the set apart records are
 * capped like the stage, past it counted in follow_n_dropped); end
 * delivers and clears those only, the records staged meanwhile wait for
 * the next commit. A failed commit calls neither. */
void follow_commit_begin(struct follow *f);
void follow_commit_end(struct follow *f);
uint64_t follow_n_dropped(const struct follow *f);
/* Bytes the stage holds allocated. With no subscriber a published
 * buffer keeps at most 256 KiB (a burst's copies are not kept for a
 * follower that may never come); with one, both keep their size. */
size_t   follow_mem(const struct follow *f);

/*
 * Receive times (collector/API.md "Resuming a follow"). ingest_batch.c
 * stamps each batch with follow_recv_next(f, now): now, but always above every
 * earlier stamp of this process, so within a process receive order is
 * append order is commit order, whatever the wall clock does.
 */
int64_t follow_recv_next(struct follow *f, int64_t now_ns);
/* The receive point of a subscription made in this loop turn: every
 * record it will be sent (staged now or stamped later) has recv_ns >= the
 * value returned: the oldest staged record's stamp, or the next stamp
 * (reserved: later stamps are not below it, even if the clock steps
 * back). */
int64_t follow_receive_point(struct follow *f, int64_t now_ns);

/* A set of record identities (store_key: time, host, container_id,
 * offset), at most max of them. */
struct follow_keys;
struct follow_keys *follow_keys_new(size_t max);
void follow_keys_free(struct follow_keys *k);
/* Adds r's identity: 0, or -1 when max identities are held. */
int  follow_keys_add(struct follow_keys *k, const struct logrec *r);
/* 1 if r's identity was added. */
int  follow_keys_has(const struct follow_keys *k, const struct logrec *r);
size_t follow_keys_count(const struct follow_keys *k);

#endif
