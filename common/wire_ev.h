/* SPDX-License-Identifier: MIT */
/*
 * wire_ev: the frame reader of common/wire.h on a libevent input buffer,
 * the one loop both the collector's ingest and the shipper's sender use
 * (as hiredis keeps its reader apart from adapters/libevent.h). Moves only
 * what the reader has room for out of the evbuffer, so a connection holds
 * at most its bufferevent's read high watermark plus one frame.
 */
#ifndef COMMON_WIRE_EV_H
#define COMMON_WIRE_EV_H

#include <event2/buffer.h>

#include "common/wire.h"

/*
 * The next whole frame from r, feeding it from in as needed: WIRE_RD_OK
 * with *f filled (borrowed until the next call), WIRE_RD_NEED_MORE when in
 * holds no more of it, or the reader's error (close the connection).
 */
enum wire_rd wire_ev_next(struct wire_reader *r, struct evbuffer *in,
                          struct wire_frame *f);

#endif
