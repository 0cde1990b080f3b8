/* SPDX-License-Identifier: MIT */
/*
 * tls_test: the client-certificate name check (CN or DNS SAN, byte-exact:
 * no case folding, no wildcards, no prefix or embedded NUL tricks, IP SANs
 * and other CNs do not count), and the context builders: a key file the
 * group or others can read is refused like a token file, a key that does
 * not match its certificate is refused, a good pair loads. Certificates are
 * made here with OpenSSL (a fresh P-256 key each run), never committed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/tls.h"

static EVP_PKEY *
key_new(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    assert_non_null(k);
    return k;
}

/* A self-signed certificate with subject CN cn (NULL: none) and the
 * subjectAltName san (OpenSSL config syntax, NULL: none). */
static X509 *
cert_new(EVP_PKEY *k, const char *cn, size_t cn_len, const char *san)
{
    X509 *x = X509_new();

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                               (const unsigned char *)"logq", -1, -1, 0);
    if (cn != NULL)
        assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                         (const unsigned char *)cn, (int)cn_len, -1, 0), 1);
    X509_set_issuer_name(x, n);
    if (san != NULL) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx,
                                                NID_subject_alt_name, san);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    return x;
}

static int
names(X509 *x, const char *host)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);

    assert_true(len > 0);
    int rc = tls_der_names_host(der, (size_t)len, host);
    OPENSSL_free(der);
    return rc;
}

static void
test_names_cn_and_san(void **state)
{
    EVP_PKEY *k = key_new();

    (void)state;
    X509 *cn = cert_new(k, "web1", 4, NULL);
    assert_int_equal(names(cn, "web1"), 1);
    assert_int_equal(names(cn, "web2"), 0);
    assert_int_equal(names(cn, "Web1"), 0);      /* exact bytes */
    assert_int_equal(names(cn, "web"), 0);       /* no prefix */
    assert_int_equal(names(cn, "web1x"), 0);
    assert_int_equal(names(cn, ""), 0);
    assert_int_equal(names(cn, "logq"), 0);      /* O is not a name */
    X509_free(cn);

    X509 *san = cert_new(k, "ops", 3, "DNS:node1,DNS:node1.lab,IP:10.0.0.1");
    assert_int_equal(names(san, "node1"), 1);
    assert_int_equal(names(san, "node1.lab"), 1);
    assert_int_equal(names(san, "ops"), 1);      /* the CN counts too */
    assert_int_equal(names(san, "10.0.0.1"), 0); /* IP SANs name no host */
    assert_int_equal(names(san, "node2"), 0);
    X509_free(san);

    X509 *wild = cert_new(k, NULL, 0, "DNS:*.lab,DNS:*");
    assert_int_equal(names(wild, "node1.lab"), 0);
    assert_int_equal(names(wild, "node1"), 0);
    assert_int_equal(names(wild, "*.lab"), 1);   /* literally, only */
    X509_free(wild);

    X509 *nul = cert_new(k, "web1\0evil", 9, NULL);
    assert_int_equal(names(nul, "web1"), 0);
    X509_free(nul);
    EVP_PKEY_free(k);
}

static void
test_names_garbage(void **state)
{
    static const unsigned char junk[] = { 0x30, 0x82, 0x01, 0x00, 0x02 };

    (void)state;
    assert_int_equal(tls_der_names_host(junk, sizeof(junk), "web1"), 0);
    assert_int_equal(tls_der_names_host(junk, 0, "web1"), 0);
}

/* ---- contexts from files ---- */

static char dir[] = "/tmp/tls_test.XXXXXX";

static void
pem_write(const char *name, X509 *x, EVP_PKEY *k, mode_t mode, char *path,
          size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    if (x != NULL)
        assert_int_equal(PEM_write_X509(fp, x), 1);
    if (k != NULL)
        assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL,
                                              NULL), 1);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void
test_server_ctx_files(void **state)
{
    char cert[300], key[300], open_key[300], other_key[300], *err = NULL;
    EVP_PKEY *k = key_new(), *k2 = key_new();
    X509 *x = cert_new(k, "collector", 9, "DNS:collector");

    (void)state;
    assert_non_null(mkdtemp(dir));
    pem_write("cert.pem", x, NULL, 0644, cert, sizeof(cert));
    pem_write("key.pem", NULL, k, 0600, key, sizeof(key));
    pem_write("open.pem", NULL, k, 0640, open_key, sizeof(open_key));
    pem_write("other.pem", NULL, k2, 0600, other_key, sizeof(other_key));

    struct tls_ctx *t = tls_server_new(cert, key, NULL, &err);
    assert_non_null(t);
    assert_int_equal(tls_ctx_has_client_ca(t), 0);
    tls_ctx_free(t);
    t = tls_server_new(cert, key, cert, &err);  /* self-signed as its CA */
    assert_non_null(t);
    assert_int_equal(tls_ctx_has_client_ca(t), 1);
    tls_ctx_free(t);

    assert_null(tls_server_new(cert, open_key, NULL, &err));
    assert_non_null(strstr(err, "must be private"));
    free(err);
    assert_null(tls_server_new(cert, other_key, NULL, &err));
    assert_non_null(strstr(err, "mismatch"));
    free(err);
    assert_null(tls_server_new(key, key, NULL, &err));  /* not a cert */
    assert_non_null(strstr(err, "certificate"));
    free(err);
    assert_null(tls_client_new(key, NULL, NULL, &err)); /* not a CA */
    assert_non_null(strstr(err, "CA file"));
    free(err);
    t = tls_client_new(cert, NULL, NULL, &err);
    assert_non_null(t);
    tls_ctx_free(t);

    unlink(cert);
    unlink(key);
    unlink(open_key);
    unlink(other_key);
    rmdir(dir);
    X509_free(x);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_cn_and_san),
        cmocka_unit_test(test_names_garbage),
        cmocka_unit_test(test_server_ctx_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
