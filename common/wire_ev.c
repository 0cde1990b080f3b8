/* SPDX-License-Identifier: MIT */
/* wire_ev: see wire_ev.h. No logging, no allocation of its own. */
#include "common/wire_ev.h"

#define WIRE_EV_IOV 8

/* Moves min(buffered, room) bytes from in into r, without a copy buffer. */
static enum wire_rd
wire_ev_feed(struct wire_reader *r, struct evbuffer *in)
{
    struct evbuffer_iovec v[WIRE_EV_IOV];
    size_t want = evbuffer_get_length(in);
    size_t room = wire_reader_room(r);

    if (want > room)
        want = room;
    int n = evbuffer_peek(in, (ev_ssize_t)want, NULL, v, WIRE_EV_IOV);
    if (n > WIRE_EV_IOV)
        n = WIRE_EV_IOV;            /* the rest on the next round */
    size_t fed = 0;
    for (int i = 0; i < n && fed < want; i++) {
        size_t k = v[i].iov_len < want - fed ? v[i].iov_len : want - fed;
        enum wire_rd rc = wire_reader_feed(r, v[i].iov_base, k);
        if (rc != WIRE_RD_OK)
            return rc;
        fed += k;
    }
    if (evbuffer_drain(in, fed) < 0)
        return WIRE_RD_OVERFLOW;    /* cannot happen: fed <= length */
    return WIRE_RD_OK;
}

enum wire_rd
wire_ev_next(struct wire_reader *r, struct evbuffer *in, struct wire_frame *f)
{
    for (;;) {
        enum wire_rd rc = wire_reader_next(r, f);
        if (rc != WIRE_RD_NEED_MORE)
            return rc;
        if (evbuffer_get_length(in) == 0 || wire_reader_room(r) == 0)
            return WIRE_RD_NEED_MORE;
        rc = wire_ev_feed(r, in);
        if (rc != WIRE_RD_OK)
            return rc;
    }
}
