// BenchTLS: keel-bench's TLS client side: one SSL_CTX for the run, and per
// connection a session on the connection's own socket (Keel's
// TLSSocketBIO: MSG_NOSIGNAL sends), driven by the engine's readiness like
// the server's: the handshake on want-read/want-write, then SSL_read and
// SSL_write where plaintext used read and send.

import COpenSSL
import Keel

/// How keel-bench checks the server's certificate.
public enum BenchTLSVerification: Sendable, Equatable {
    /// Verified against this CA file (and the name "localhost" or the host's address).
    case certificateAuthority(String)
    /// Not verified (for self-signed test certificates; the handshake's cost is the same).
    case insecure
}

/// A run's TLS client context.
final class BenchTLS {
    let context: OpaquePointer

    init(_ verification: BenchTLSVerification) throws {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw BenchError(description: "SSL_CTX_new failed")
        }
        self.context = context
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        _ = SSL_CTX_ctrl(
            context, SSL_CTRL_MODE,
            Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS),
            nil)
        switch verification {
        case .certificateAuthority(let file):
            guard SSL_CTX_load_verify_locations(context, file, nil) == 1 else {
                throw BenchError(description: "--tls-ca \(file): \(Self.openSSLError())")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        case .insecure:
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A client session on `fd`, verifying the name `host` when verifying.
    func session(fd: Int32, host: String) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        guard let bio = TLSSocketBIO.make(fd: fd) else {
            SSL_free(ssl)
            return nil
        }
        SSL_set_bio(ssl, bio, bio)
        SSL_set_read_ahead(ssl, 1)
        SSL_set_connect_state(ssl)
        _ = SSL_set1_host(ssl, host == "127.0.0.1" || host == "::1" ? "localhost" : host)
        return ssl
    }

    /// The oldest error on OpenSSL's queue as text (the queue is emptied).
    static func openSSLError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "the peer closed the connection" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
