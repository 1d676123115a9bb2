// TLSConfiguration: what a TLS listener presents and accepts, as one value
// validated before the server starts (Configuration+Ranges.swift), and
// loaded into OpenSSL by TLSContext.

/// Settings for serving TLS: the server's certificate and key, the client
/// certificates it asks for, the versions and ciphers it allows.
public struct TLSConfiguration: Sendable, Equatable {
    /// Whether clients must present a certificate.
    public enum ClientAuthentication: String, Sendable, CaseIterable, CustomStringConvertible {
        /// No certificate is asked for.
        case none
        /// A certificate is asked for; one that is sent must verify against
        /// `clientCAFile`, but a client may send none.
        case optional
        /// Every client must present a certificate that verifies (mutual TLS).
        case required

        /// "none", "optional" or "required".
        public var description: String { rawValue }
    }

    /// The oldest protocol version a client may use. TLS 1.0 and 1.1 are
    /// always refused.
    public enum Version: String, Sendable, CaseIterable, CustomStringConvertible {
        /// TLS 1.2 and 1.3.
        case tls12 = "1.2"
        /// TLS 1.3 only.
        case tls13 = "1.3"

        /// "1.2" or "1.3".
        public var description: String { rawValue }
    }

    /// PEM file with the server's certificate, then any intermediates.
    public var certificateChainFile: String
    /// PEM file with the private key of the chain's first certificate.
    public var privateKeyFile: String
    /// PEM file of the certificate authorities client certificates must
    /// chain to. Required when `clientAuthentication` is not `.none`.
    public var clientCAFile: String? = nil
    /// Whether clients must present a certificate. Default `.none`.
    public var clientAuthentication = ClientAuthentication.none
    /// The oldest version accepted. Default TLS 1.2.
    public var minimumVersion = Version.tls12
    /// TLS 1.2 cipher list in OpenSSL's syntax. Default: forward-secret
    /// AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305).
    public var cipherList = "ECDHE+AESGCM:ECDHE+CHACHA20"
    /// TLS 1.3 cipher suites in OpenSSL's syntax. Default: all three of
    /// TLS 1.3's common suites.
    public var cipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    /// Application protocols offered through ALPN, most preferred first
    /// (e.g. ["redis"]); a client offering none of them is refused. Empty:
    /// ALPN is not negotiated. Default empty.
    public var alpnProtocols: [String] = []
    /// Session resumption through tickets (stateless: the server keeps no
    /// per-session memory). Default on.
    public var sessionTickets = true
    /// Sessions kept by the server for TLS 1.2 clients that resume by
    /// session ID rather than ticket; the cache is bounded to this many and
    /// shared by the loops. 0 turns the cache off. Default 20,480
    /// (redis-server's `tls-session-cache-size`).
    public var sessionCacheSize = 20_480
    /// A connection whose handshake has not completed after this long is
    /// closed. Default 10 s.
    public var handshakeTimeoutMs = 10_000
    /// Whether Keel gives OpenSSL allocation functions that keep freed
    /// 40-byte blocks on a short per-thread list: OpenSSL 3's record layer
    /// mallocs and frees such blocks for every record (three per record
    /// written, one per record read), and with them kept a busy connection
    /// calls malloc for nothing. Process-wide, and only if OpenSSL has not
    /// allocated before the first TLS context built with this on (OpenSSL
    /// takes allocation functions only then): not over an application's
    /// own, not under a sanitizer.
    /// The server logs a notice when they could not be installed. Default on.
    public var recyclesOpenSSLBlocks = true

    /// A configuration presenting the certificate chain and key in these PEM files.
    public init(certificateChainFile: String, privateKeyFile: String) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }
}
