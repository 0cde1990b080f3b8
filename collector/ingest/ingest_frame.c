/* SPDX-License-Identifier: MIT */
/*
 * ingest_frame: one whole frame of a connection, by its state and type.
 * The frame's MAC is checked and stripped first (PROTOCOL.md "Frame
 * MACs"; a bad one is counted in frames_bad_mac); then HELLO and AUTH go
 * to the handshake (ingest_handshake.c), BATCH and METRICS to the decode
 * jobs (ingest_jobs.c), PING gets its PONG, a shipper's ERROR is logged
 * and closes; anything else is a protocol error. A frame after WELCOME
 * also marks the connection and its host alive (idle timeout, /hosts).
 */
#include "collector/ingest/ingest_internal.h"

#include <stdio.h>

#include "collector/ingest/hostcap.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/wireauth.h"

/* PING: answered with PONG carrying the same u64. */
static int
ingest_conn_ping(struct ingest_conn *c, const struct wire_frame *f)
{
    uint64_t v;
    const char *err = NULL;

    if (f->flags != 0 || wire_u64_decode(f->payload, f->len, &v, &err) < 0) {
        ingest_conn_reject(c, WIRE_ERR_PROTOCOL, "bad PING", err);
        return -1;
    }
    buf_reset(&c->ing->payload);
    if (wire_u64_encode(&c->ing->payload, v) < 0 ||
        ingest_conn_send(c, WIRE_PONG) < 0) {
        ingest_conn_close(c, WIRE_ERR_BUSY, "collector error");
        return -1;
    }
    return 0;
}

/* Checks and strips the frame's MAC (PROTOCOL.md "Frame MACs"). */
static int
ingest_conn_open(struct ingest_conn *c, struct wire_frame *f)
{
    const char *err = NULL;

    if (wireauth_open(&c->auth, f, &err) == 0)
        return 0;
    if (c->auth.is_on)
        c->ing->stats->frames_bad_mac++;
    ingest_conn_reject(c, WIRE_ERR_PROTOCOL, err, NULL);
    return -1;
}

int
ingest_frame_handle(struct ingest_conn *c, struct wire_frame *f)
{
    char detail[32];

    if (ingest_conn_open(c, f) < 0)
        return -1;
    if (c->state == INGEST_HELLO_WAIT && f->type == WIRE_HELLO)
        return ingest_handshake_hello(c, f->payload, f->len);
    if (c->state == INGEST_AUTH_WAIT && f->type == WIRE_AUTH)
        return ingest_handshake_auth(c, f->payload, f->len);
    if (c->state == INGEST_READY) {
        c->last_frame_ns = mono_ns();
        hostcap_touch(c->hc_host, now_ns());
    }
    if (c->state == INGEST_READY &&
        (f->type == WIRE_BATCH || f->type == WIRE_METRICS))
        return ingest_jobs_submit(c, f);
    if (c->state == INGEST_READY && f->type == WIRE_PING)
        return ingest_conn_ping(c, f);
    if (f->type == WIRE_ERROR) {
        uint16_t code = 0;
        struct wire_str msg = { "", 0 };
        const char *err = NULL;
        (void)wire_error_decode(f->payload, f->len, &code, &msg, &err);
        char m[LOG_ESC_SIZE];
        log_esc(m, sizeof(m), msg.p, msg.len);
        if (c->state == INGEST_READY)
            log_info("ingest", "shipper sent error, closing peer=%s host=%s "
                     "code=%u message=\"%s\"", c->peer, c->host_log,
                     (unsigned)code, m);
        else                    /* before authentication: anyone */
            ingest_log_limited(c->ing, "error frame before the handshake "
                               "completed, closing peer=%s host=%s code=%u "
                               "message=\"%s\"", c->peer,
                               c->host[0] ? c->host_log : "-",
                               (unsigned)code, m);
        ingest_conn_close(c, WIRE_ERR_PROTOCOL, "closing");
        return -1;
    }
    snprintf(detail, sizeof(detail), "type %u", (unsigned)f->type);
    ingest_conn_reject(c, WIRE_ERR_PROTOCOL,
                       c->state == INGEST_READY ? "unexpected frame"
                                                : "unexpected frame before "
                                                  "WELCOME", detail);
    return -1;
}
