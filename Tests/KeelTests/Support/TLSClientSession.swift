// TLSClientSession: the client side of a TLS connection as OpenSSL over
// memory BIOs, with no socket of its own: whoever holds it decides how the
// ciphertext travels. TLSTestClient carries it over a blocking loopback
// socket; the TLS fuzz target over a socketpair, in pieces and with faults
// of the fuzzer's choosing.

import COpenSSL
import Glibc

struct TLSClientError: Error, CustomStringConvertible {
    let description: String
}

final class TLSClientSession {
    struct Options {
        var caFile: String?
        var certificate: String?
        var key: String?
        var minVersion = TLS1_2_VERSION
        var maxVersion: Int32 = 0
        var alpn: [String] = []
        /// Ciphertext goes to the socket in pieces of at most this many bytes.
        var chunkBytes = Int.max
        /// A session to resume (from an earlier client's `session`).
        var session: OpaquePointer?
    }

    private let context: OpaquePointer
    let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer

    init(_ options: Options) {
        context = SSL_CTX_new(TLS_client_method())!
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(options.minVersion), nil)
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(options.maxVersion), nil)
        if options.minVersion < TLS1_2_VERSION {
            // Old versions need the legacy security level to be offered at all.
            SSL_CTX_set_security_level(context, 0)
            _ = SSL_CTX_set_cipher_list(context, "DEFAULT:@SECLEVEL=0")
        }
        if let caFile = options.caFile {
            _ = SSL_CTX_load_verify_locations(context, caFile, nil)
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        }
        if let certificate = options.certificate, let key = options.key {
            _ = SSL_CTX_use_certificate_chain_file(context, certificate)
            _ = SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM)
        }
        if !options.alpn.isEmpty {
            var wire: [UInt8] = []
            for name in options.alpn { wire += [UInt8(name.utf8.count)] + Array(name.utf8) }
            _ = SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count))
        }
        let ssl = SSL_new(context)!
        self.ssl = ssl
        readBIO = BIO_new(BIO_s_mem())!
        writeBIO = BIO_new(BIO_s_mem())!
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_connect_state(ssl)
        // SNI (OpenSSL copies the name).
        _ = "localhost".withCString { name in
            SSL_ctrl(
                ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name),
                UnsafeMutableRawPointer(mutating: name))
        }
        if let session = options.session { SSL_set_session(ssl, session) }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Bytes of ciphertext OpenSSL has produced and nobody has taken yet.
    var pendingCiphertextBytes: Int { Int(BIO_ctrl_pending(writeBIO)) }

    /// Takes up to `limit` bytes of the ciphertext OpenSSL has produced.
    func takeCiphertext(upTo limit: Int) -> [UInt8] {
        let wanted = min(limit, pendingCiphertextBytes, 1 << 20)
        guard wanted > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: wanted)
        let count = BIO_read(writeBIO, &bytes, Int32(wanted))
        return count > 0 ? Array(bytes[..<Int(count)]) : []
    }

    /// Hands OpenSSL ciphertext from the server.
    func absorb(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        _ = BIO_write(readBIO, bytes.baseAddress, Int32(bytes.count))
    }

    /// An error naming `what` failed and OpenSSL's reason (which it clears).
    func failure(_ what: String) -> TLSClientError {
        let code = ERR_get_error()
        ERR_clear_error()
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return TLSClientError(
            description:
                "\(what): \(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
    }
}
