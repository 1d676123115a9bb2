// TLSError: why a TLS configuration could not be loaded, with OpenSSL's own
// words for it.

import COpenSSL

/// A TLS certificate, key or setting that OpenSSL refused.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What Keel was doing, and OpenSSL's reason, e.g. "loading the
    /// private key /etc/keel/key.pem: error:...:PEM routines::no start line".
    public let description: String

    init(_ what: String) {
        description = "\(what): \(TLSError.drainOpenSSLErrors())"
    }

    /// The oldest error on this thread's OpenSSL error queue as text (the
    /// queue is emptied: stale errors would be blamed on the next call).
    static func drainOpenSSLErrors() -> String {
        let code = ERR_get_error()
        defer { ERR_clear_error() }
        guard code != 0 else { return "no reason given" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
