/* SPDX-License-Identifier: MIT */
/*
 * tls: the one OpenSSL user (SECURITY.md "TLS"). Builds server and client
 * contexts with the project's fixed policy (TLS 1.2 minimum; TLS 1.2
 * ciphers limited to ECDHE with AES-GCM or ChaCha20-Poly1305; no
 * compression or renegotiation), wraps sockets in libevent's
 * bufferevent_openssl (collector ports, shipper) or in a non-blocking
 * connection object (logq's blocking client), checks peer names and turns
 * OpenSSL's error queue into one line of text. Private keys are read
 * through common/secret.c, so a key file has the rules of a token file.
 * Logs nothing: failures are returned as text, or reported through the
 * server context's failure hook.
 */
#ifndef COMMON_TLS_H
#define COMMON_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

struct tls_ctx;
struct tls_conn;

/* Called when a server-side handshake fails (plaintext peer, no or bad
 * client certificate, a scanner closing early): fd is the connection's
 * socket (for getpeername), why a short reason from OpenSSL. */
typedef void (*tls_fail_fn)(void *arg, int fd, const char *why);

/* A server context: cert is a PEM chain file (leaf first), key a PEM
 * private key file that must be private (common/secret.c). With client_ca
 * (PEM), every client must present a certificate signed by it. NULL with
 * *errstr (caller frees) naming the file at fault. */
struct tls_ctx *tls_server_new(const char *cert, const char *key,
                               const char *client_ca, char **errstr);
/* A client context that verifies the server's chain against ca (PEM; NULL:
 * the system's default trust store). With
 * cert and key (both or neither) it presents that client certificate. */
struct tls_ctx *tls_client_new(const char *ca, const char *cert,
                               const char *key, char **errstr);
void tls_ctx_free(struct tls_ctx *t);
void tls_ctx_set_fail_cb(struct tls_ctx *t, tls_fail_fn fn, void *arg);
/* 1 if t requires client certificates (tls_server_new with client_ca). */
int  tls_ctx_has_client_ca(const struct tls_ctx *t);

/* A server-side bufferevent on fd (-1: evhttp sets it later), handshake
 * started on setfd; BEV_EVENT_CONNECTED reports its end. Closes fd on
 * free. NULL on allocation failure. */
struct bufferevent *tls_bev_accept(struct tls_ctx *t, struct event_base *base,
                                   int fd);
/* A client-side bufferevent (no socket yet: connect it with
 * bufferevent_socket_connect_hostname) whose handshake verifies host (a
 * DNS name or an IP literal) and sends it as SNI. NULL on failure. */
struct bufferevent *tls_bev_connect(struct tls_ctx *t, struct event_base *base,
                                    const char *host);
/* Why bev's TLS layer failed, as one line into out ("certificate verify
 * failed: unable to get local issuer certificate"); "" if it did not.
 * Drains bev's OpenSSL error list. Returns out. */
const char *tls_bev_error(struct bufferevent *bev, char *out, size_t len);
/* 1 if bev completed a handshake with a verified client certificate
 * whose subject CN or one of whose DNS SANs is exactly host (bytes, no
 * wildcards), else 0. */
int  tls_bev_peer_is(struct bufferevent *bev, const char *host);

/* The name check of tls_bev_peer_is on a DER certificate (for tests). */
int  tls_der_names_host(const unsigned char *der, size_t len,
                        const char *host);

/* A client connection over the non-blocking socket fd (not owned), for
 * logq. NULL with *errstr on failure. */
struct tls_conn *tls_conn_new(struct tls_ctx *t, int fd, const char *host,
                              char **errstr);
void tls_conn_free(struct tls_conn *c);

enum tls_io {
    TLS_IO_ERROR = -1,      /* tls_conn_error says why */
    TLS_IO_WANT_READ = -2,  /* wait for POLLIN, then call again */
    TLS_IO_WANT_WRITE = -3, /* wait for POLLOUT, then call again */
};
/* 0 once the handshake is done, else an enum tls_io. */
int     tls_conn_handshake(struct tls_conn *c);
/* Bytes read (> 0), 0 at the end of the stream, or an enum tls_io. */
ssize_t tls_conn_read(struct tls_conn *c, void *p, size_t n);
/* Bytes written (> 0) or an enum tls_io. */
ssize_t tls_conn_write(struct tls_conn *c, const void *p, size_t n);
/* One line saying why the last call failed. Returns out. */
const char *tls_conn_error(struct tls_conn *c, char *out, size_t len);

#endif
