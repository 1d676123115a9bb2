// TLSConnectionDetails: what a handler may learn of a TLS connection's
// session, read from OpenSSL when asked (nothing is kept per connection).

import COpenSSL

/// What a connection's TLS handshake negotiated.
public struct TLSConnectionDetails: Sendable, Equatable {
    /// The protocol version, e.g. "TLSv1.3".
    public let version: String
    /// The cipher suite, e.g. "TLS_AES_256_GCM_SHA384".
    public let cipher: String
    /// The application protocol chosen through ALPN, if any.
    public let applicationProtocol: String?
    /// The subject of the client's certificate (RFC 2253, e.g.
    /// "CN=client,O=Example"), present only when the client sent one and it
    /// verified against `TLSConfiguration.clientCAFile`.
    public let peerSubject: String?
    /// The session was resumed (a ticket or the session cache) rather than
    /// negotiated afresh.
    public let resumed: Bool
}

extension TLSSessions {
    /// What `slot`'s session negotiated, once its handshake has completed.
    func details(of slot: UInt32) -> TLSConnectionDetails? {
        guard let ssl = sessions[Int(slot)], states[Int(slot)].established else { return nil }
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "?"
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "?"
        var alpn: UnsafePointer<UInt8>?
        var alpnLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &alpn, &alpnLength)
        let applicationProtocol = alpn.map {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(alpnLength)), as: UTF8.self)
        }
        var subject: String?
        if let certificate = SSL_get0_peer_certificate(ssl), SSL_get_verify_result(ssl) == X509_V_OK {
            subject = Self.text(of: X509_get_subject_name(certificate))
        }
        return TLSConnectionDetails(
            version: version, cipher: cipher, applicationProtocol: applicationProtocol, peerSubject: subject,
            resumed: keel_SSL_session_reused(ssl) == 1)
    }

    /// A certificate name in RFC 2253 form.
    private static func text(of name: OpaquePointer?) -> String? {
        // Errors stay off the thread's queue (the loop's next SSL call reads it).
        defer { ERR_clear_error() }
        guard let name, let memory = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(memory) }
        guard X509_NAME_print_ex(memory, name, 0, keel_XN_FLAG_RFC2253) >= 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(keel_BIO_ctrl_pending(memory)))
        let count = BIO_read(memory, &bytes, Int32(bytes.count))
        return String(decoding: bytes.prefix(max(0, Int(count))), as: UTF8.self)
    }
}
