/* SPDX-License-Identifier: MIT */
/*
 * tls: see tls.h. The policy lives in tls_ctx_base(); everything else is
 * plumbing between OpenSSL, libevent's bufferevent_openssl and a plain
 * non-blocking socket. Peer names are compared byte for byte: a host name
 * is an identity in logq (records are stored under it), so "Web1" is not
 * "web1" and no wildcard stands for a host.
 */
#include "common/tls.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/secret.h"
#include "common/xmalloc.h"

/* TLS 1.2 only: forward secrecy and AEAD. TLS 1.3's suites are all that. */
#define TLS_CIPHERS_12 "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"
#define TLS_MAX_KEY_FILE (64u * 1024)

struct tls_ctx {
    SSL_CTX     *ssl;
    int          is_server;
    int          has_client_ca;
    tls_fail_fn  fail_fn;
    void        *fail_arg;
};

struct tls_conn {
    SSL  *ssl;
    char  err[256];
};

/* ---- errors ---- */

/* The reason of OpenSSL error e, with the verification result when it is
 * a certificate failure and a hint when the peer does not speak TLS. */
static void
tls_reason_format(unsigned long e, const SSL *ssl, char *out, size_t len)
{
    const char *r = ERR_reason_error_string(e);
    const char *hint = "";
    char code[32];

    if (r == NULL) {
        snprintf(code, sizeof(code), "error %lu", e);
        r = code;
    }
    if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
        int rc = ERR_GET_REASON(e);
        if (rc == SSL_R_WRONG_VERSION_NUMBER ||
            rc == SSL_R_PACKET_LENGTH_TOO_LONG || rc == SSL_R_HTTP_REQUEST)
            hint = " (the peer does not speak TLS)";
        if (rc == SSL_R_CERTIFICATE_VERIFY_FAILED && ssl != NULL) {
            long v = SSL_get_verify_result(ssl);
            snprintf(out, len, "%s: %s", r, X509_verify_cert_error_string(v));
            return;
        }
    }
    snprintf(out, len, "%s%s", r, hint);
}

/* The oldest error on the thread's queue (the cause), queue cleared. */
static void
tls_queue_format(const SSL *ssl, const char *dflt, char *out, size_t len)
{
    unsigned long e = ERR_get_error();

    if (e == 0)
        snprintf(out, len, "%s", dflt);
    else
        tls_reason_format(e, ssl, out, len);
    ERR_clear_error();
}

static void
tls_fail(char **errstr, const char *what, const char *file)
{
    char why[256];

    tls_queue_format(NULL, "unknown error", why, sizeof(why));
    *errstr = xasprintf("%s %s: %s", what, file, why);
}

/* ---- contexts ---- */

/* A server handshake that ends in failure: an exit with ret <= 0 that left
 * a reason on the error queue (waiting for the socket leaves none). */
static void
tls_info_cb(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_EXIT) || !(where & SSL_ST_ACCEPT) || ret > 0)
        return;
    unsigned long e = ERR_peek_error();
    struct tls_ctx *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (e == 0 || t == NULL || t->fail_fn == NULL)
        return;
    char why[256];
    tls_reason_format(e, ssl, why, sizeof(why));
    t->fail_fn(t->fail_arg, SSL_get_fd(ssl), why);
}

static struct tls_ctx *
tls_ctx_base(int is_server)
{
    struct tls_ctx *t = xcalloc(1, sizeof(*t));

    t->is_server = is_server;
    t->ssl = SSL_CTX_new(is_server ? TLS_server_method() : TLS_client_method());
    if (t->ssl == NULL) {
        free(t);
        return NULL;
    }
    SSL_CTX_set_app_data(t->ssl, t);
    if (SSL_CTX_set_min_proto_version(t->ssl, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(t->ssl, TLS_CIPHERS_12) != 1) {
        tls_ctx_free(t);
        return NULL;
    }
    SSL_CTX_set_options(t->ssl, SSL_OP_NO_COMPRESSION |
                        SSL_OP_NO_RENEGOTIATION |
                        SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* peers (libevent's bufferevents) close without close_notify; the
     * protocols above frame their own ends */
    SSL_CTX_set_options(t->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (is_server)
        SSL_CTX_set_info_callback(t->ssl, tls_info_cb);
    return t;
}

/* The key through secret.c (private regular file), parsed from memory. */
static int
tls_key_load(struct tls_ctx *t, const char *path, char **errstr)
{
    char *pem, *err = NULL;
    size_t len;

    if (secret_file_read(path, TLS_MAX_KEY_FILE, &pem, &len, &err) < 0) {
        *errstr = xasprintf("key %s", err);
        free(err);
        return -1;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    secret_free(pem, len);
    int rc = pk != NULL && SSL_CTX_use_PrivateKey(t->ssl, pk) == 1 ? 0 : -1;
    EVP_PKEY_free(pk);
    if (rc < 0) {
        tls_fail(errstr, "key", path);
        return -1;
    }
    if (SSL_CTX_check_private_key(t->ssl) != 1) {
        tls_fail(errstr, "key (does not match the certificate)", path);
        return -1;
    }
    return 0;
}

static int
tls_pair_load(struct tls_ctx *t, const char *cert, const char *key,
              char **errstr)
{
    if (SSL_CTX_use_certificate_chain_file(t->ssl, cert) != 1) {
        tls_fail(errstr, "certificate", cert);
        return -1;
    }
    return tls_key_load(t, key, errstr);
}

static int
tls_ca_load(struct tls_ctx *t, const char *ca, char **errstr)
{
    if (SSL_CTX_load_verify_locations(t->ssl, ca, NULL) != 1) {
        tls_fail(errstr, "CA file", ca);
        return -1;
    }
    return 0;
}

struct tls_ctx *
tls_server_new(const char *cert, const char *key, const char *client_ca,
               char **errstr)
{
    struct tls_ctx *t = tls_ctx_base(1);

    if (t == NULL) {
        *errstr = xstrdup("cannot create a TLS context");
        return NULL;
    }
    if (tls_pair_load(t, cert, key, errstr) < 0)
        goto fail;
    if (client_ca != NULL) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
        if (names == NULL || tls_ca_load(t, client_ca, errstr) < 0) {
            if (names == NULL)
                tls_fail(errstr, "client CA file", client_ca);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(t->ssl, names);
        SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER |
                           SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        t->has_client_ca = 1;
    }
    return t;
fail:
    tls_ctx_free(t);
    return NULL;
}

struct tls_ctx *
tls_client_new(const char *ca, const char *cert, const char *key,
               char **errstr)
{
    struct tls_ctx *t = tls_ctx_base(0);

    if (t == NULL) {
        *errstr = xstrdup("cannot create a TLS context");
        return NULL;
    }
    if (ca == NULL && SSL_CTX_set_default_verify_paths(t->ssl) != 1) {
        tls_fail(errstr, "CA store", "(system default)");
        goto fail;
    }
    if (ca != NULL && tls_ca_load(t, ca, errstr) < 0)
        goto fail;
    SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
    if (cert != NULL && tls_pair_load(t, cert, key, errstr) < 0)
        goto fail;
    return t;
fail:
    tls_ctx_free(t);
    return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ssl);
    free(t);
}

void
tls_ctx_set_fail_cb(struct tls_ctx *t, tls_fail_fn fn, void *arg)
{
    t->fail_fn = fn;
    t->fail_arg = arg;
}

int
tls_ctx_has_client_ca(const struct tls_ctx *t)
{
    return t->has_client_ca;
}

/* ---- names ---- */

static int
tls_asn1_is(const ASN1_STRING *s, const char *host, size_t len)
{
    return s != NULL && ASN1_STRING_length(s) >= 0 &&
           (size_t)ASN1_STRING_length(s) == len &&
           memcmp(ASN1_STRING_get0_data(s), host, len) == 0;
}

static int
tls_x509_names_host(X509 *x, const char *host)
{
    size_t len = strlen(host);
    int is_named = 0;

    if (len == 0)
        return 0;
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
                                           NULL);
    for (int i = 0; i < sk_GENERAL_NAME_num(sans) && !is_named; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_DNS)
            is_named = tls_asn1_is(g->d.dNSName, host, len);
    }
    GENERAL_NAMES_free(sans);
    const X509_NAME *sub = X509_get_subject_name(x);
    for (int i = -1; !is_named && sub != NULL;) {
        i = X509_NAME_get_index_by_NID(sub, NID_commonName, i);
        if (i < 0)
            break;
        X509_NAME_ENTRY *e = X509_NAME_get_entry(sub, i);
        is_named = tls_asn1_is(X509_NAME_ENTRY_get_data(e), host, len);
    }
    return is_named;
}

int
tls_der_names_host(const unsigned char *der, size_t len, const char *host)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);

    if (x == NULL) {
        ERR_clear_error();
        return 0;
    }
    int rc = tls_x509_names_host(x, host);
    X509_free(x);
    return rc;
}

/* Verification of the server's name: an IP literal against its IP SANs,
 * anything else against its DNS names (and sent as SNI). */
static int
tls_ssl_expect_host(SSL *ssl, const char *host)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1)
        return 0;
    ERR_clear_error();
    if (SSL_set1_host(ssl, host) != 1 ||
        SSL_set_tlsext_host_name(ssl, host) != 1)
        return -1;
    return 0;
}

/* ---- bufferevents ---- */

struct bufferevent *
tls_bev_accept(struct tls_ctx *t, struct event_base *base, int fd)
{
    SSL *ssl = SSL_new(t->ssl);

    if (ssl == NULL)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

struct bufferevent *
tls_bev_connect(struct tls_ctx *t, struct event_base *base, const char *host)
{
    SSL *ssl = SSL_new(t->ssl);

    if (ssl == NULL || tls_ssl_expect_host(ssl, host) < 0) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

const char *
tls_bev_error(struct bufferevent *bev, char *out, size_t len)
{
    unsigned long e, first = 0;

    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        if (first == 0)
            first = e;
    if (first == 0)
        snprintf(out, len, "%s", "");
    else
        tls_reason_format(first, bufferevent_openssl_get_ssl(bev), out, len);
    return out;
}

int
tls_bev_peer_is(struct bufferevent *bev, const char *host)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);

    if (ssl == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return 0;
    X509 *x = SSL_get0_peer_certificate(ssl);
    return x != NULL && tls_x509_names_host(x, host);
}

/* ---- blocking client (logq) ---- */

struct tls_conn *
tls_conn_new(struct tls_ctx *t, int fd, const char *host, char **errstr)
{
    struct tls_conn *c = xcalloc(1, sizeof(*c));

    c->ssl = SSL_new(t->ssl);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1 ||
        tls_ssl_expect_host(c->ssl, host) < 0) {
        char why[256];
        tls_queue_format(NULL, "out of memory", why, sizeof(why));
        *errstr = xasprintf("cannot set up TLS: %s", why);
        tls_conn_free(c);
        return NULL;
    }
    return c;
}

void
tls_conn_free(struct tls_conn *c)
{
    if (c == NULL)
        return;
    SSL_free(c->ssl);
    free(c);
}

/* Maps the result rc of an SSL call to an enum tls_io (or 0 for a clean
 * end of stream), keeping the reason of an error. */
static int
tls_conn_result(struct tls_conn *c, int rc)
{
    int e = SSL_get_error(c->ssl, rc);

    switch (e) {
    case SSL_ERROR_WANT_READ:
        return TLS_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            snprintf(c->err, sizeof(c->err), "%s", errno != 0
                     ? strerror(errno) : "connection closed by the peer");
            return TLS_IO_ERROR;
        }
        break;
    default:
        break;
    }
    tls_queue_format(c->ssl, "TLS error", c->err, sizeof(c->err));
    return TLS_IO_ERROR;
}

int
tls_conn_handshake(struct tls_conn *c)
{
    ERR_clear_error();
    errno = 0;
    int rc = SSL_connect(c->ssl);
    if (rc == 1)
        return 0;
    rc = tls_conn_result(c, rc);
    if (rc == 0) {
        snprintf(c->err, sizeof(c->err), "closed during the handshake");
        return TLS_IO_ERROR;
    }
    return rc;
}

ssize_t
tls_conn_read(struct tls_conn *c, void *p, size_t n)
{
    int want = n > INT32_MAX ? INT32_MAX : (int)n;

    ERR_clear_error();
    errno = 0;
    int rc = SSL_read(c->ssl, p, want);
    return rc > 0 ? rc : tls_conn_result(c, rc);
}

/* SSL_write goes through write(2), which raises SIGPIPE on a closed peer:
 * it is blocked during the call and a SIGPIPE it caused is taken off the
 * pending set, so logq keeps SIGPIPE for its own stdout. */
ssize_t
tls_conn_write(struct tls_conn *c, const void *p, size_t n)
{
    sigset_t pipe_set, old, pending;
    int want = n > INT32_MAX ? INT32_MAX : (int)n;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ERR_clear_error();
    errno = 0;
    int rc = SSL_write(c->ssl, p, want);
    int saved = errno;
    sigpending(&pending);
    if (!was_pending && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = { 0, 0 };
        (void)sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return rc > 0 ? rc : tls_conn_result(c, rc);
}

const char *
tls_conn_error(struct tls_conn *c, char *out, size_t len)
{
    snprintf(out, len, "%s", c->err[0] ? c->err : "TLS error");
    return out;
}
