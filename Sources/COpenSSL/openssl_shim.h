// OpenSSL 3 (Debian's libssl-dev) for Keel's TLS transport: the headers, and
// the few API entries that are macros in C, as inline functions Swift can
// call. Declarations and one-line wrappers only; every decision is Swift's.
#ifndef KEEL_OPENSSL_SHIM_H
#define KEEL_OPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

static inline long keel_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline int keel_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long keel_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long keel_SSL_CTX_sess_set_cache_size(SSL_CTX *ctx, long size) {
    return SSL_CTX_sess_set_cache_size(ctx, size);
}
static inline long keel_SSL_CTX_set_num_tickets(SSL_CTX *ctx, size_t count) {
    return SSL_CTX_set_num_tickets(ctx, count);
}
static inline long keel_BIO_set_mem_eof_return(BIO *bio, long value) { return BIO_set_mem_eof_return(bio, value); }
static inline size_t keel_BIO_ctrl_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
static inline int keel_SSL_session_reused(const SSL *ssl) { return (int)SSL_session_reused(ssl); }

static const long keel_SSL_MODE_ENABLE_PARTIAL_WRITE = SSL_MODE_ENABLE_PARTIAL_WRITE;
static const long keel_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const long keel_SSL_MODE_RELEASE_BUFFERS = SSL_MODE_RELEASE_BUFFERS;
static const uint64_t keel_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t keel_SSL_OP_IGNORE_UNEXPECTED_EOF = SSL_OP_IGNORE_UNEXPECTED_EOF;
static const uint64_t keel_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t keel_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
static const uint64_t keel_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;

static const int keel_BIO_FLAGS_RWS = BIO_FLAGS_RWS;
static const unsigned long keel_XN_FLAG_RFC2253 = XN_FLAG_RFC2253;

#endif
