// TLSHandshakeFailure: why a TLS handshake did not complete, as counted
// (keel_tls_handshake_failures_total{reason}) and logged. Read from
// OpenSSL's error queue when the handshake fails.

import COpenSSL

/// Why a TLS handshake failed.
public enum TLSHandshakeFailure: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The bytes were not a TLS ClientHello: plaintext on a TLS port,
    /// garbage, or an SSLv2-style hello.
    case notTLS
    /// The client offered only versions the server refuses (TLS 1.0, 1.1,
    /// or 1.2 when 1.3 is the minimum).
    case protocolVersion
    /// No cipher suite (or group, or signature algorithm) in common.
    case noSharedCipher
    /// Client certificates are required and the client sent none.
    case noClientCertificate
    /// The client's certificate did not verify against the CA.
    case badClientCertificate
    /// The client offered ALPN protocols, none of them the server's.
    case noApplicationProtocol
    /// The handshake did not complete within `TLSConfiguration.handshakeTimeoutMs`.
    case timeout
    /// The peer closed or reset the connection during the handshake.
    case peerClosed
    /// Anything else OpenSSL refused (a bad record, a failed decryption, an alert).
    case other

    /// The reason as it appears in logs and metrics, e.g. "no-client-certificate".
    public var description: String {
        switch self {
        case .notTLS: return "not-tls"
        case .protocolVersion: return "protocol-version"
        case .noSharedCipher: return "no-shared-cipher"
        case .noClientCertificate: return "no-client-certificate"
        case .badClientCertificate: return "bad-client-certificate"
        case .noApplicationProtocol: return "no-application-protocol"
        case .timeout: return "timeout"
        case .peerClosed: return "peer-closed"
        case .other: return "other"
        }
    }

    /// The failure an OpenSSL error code names (ERR_get_error's value).
    static func classify(_ code: UInt) -> TLSHandshakeFailure {
        guard code != 0 else { return .peerClosed }
        switch ERR_GET_REASON(code) {
        case SSL_R_WRONG_VERSION_NUMBER, SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_RECORD_LENGTH_MISMATCH,
            SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_UNEXPECTED_MESSAGE, SSL_R_UNEXPECTED_RECORD,
            SSL_R_LENGTH_MISMATCH, SSL_R_BAD_PACKET_LENGTH, SSL_R_RECORD_TOO_SMALL:
            return .notTLS
        case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_VERSION_TOO_LOW, SSL_R_UNKNOWN_PROTOCOL:
            return .protocolVersion
        case SSL_R_NO_SHARED_CIPHER, SSL_R_NO_SHARED_GROUPS, SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
            return .noSharedCipher
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            return .noClientCertificate
        case SSL_R_CERTIFICATE_VERIFY_FAILED, SSL_R_NO_CERTIFICATES_RETURNED:
            return .badClientCertificate
        case SSL_R_NO_APPLICATION_PROTOCOL:
            return .noApplicationProtocol
        default:
            return .other
        }
    }
}

/// A count per ``TLSHandshakeFailure``, held inline (the loop's counters
/// take no heap memory).
public struct TLSHandshakeFailureCounts: Sendable, Equatable {
    private var notTLS = 0
    private var protocolVersion = 0
    private var noSharedCipher = 0
    private var noClientCertificate = 0
    private var badClientCertificate = 0
    private var noApplicationProtocol = 0
    private var timeout = 0
    private var peerClosed = 0
    private var other = 0

    /// All counts at zero.
    public init() {}

    /// The handshakes that failed for `failure`.
    public subscript(_ failure: TLSHandshakeFailure) -> Int {
        get {
            switch failure {
            case .notTLS: return notTLS
            case .protocolVersion: return protocolVersion
            case .noSharedCipher: return noSharedCipher
            case .noClientCertificate: return noClientCertificate
            case .badClientCertificate: return badClientCertificate
            case .noApplicationProtocol: return noApplicationProtocol
            case .timeout: return timeout
            case .peerClosed: return peerClosed
            case .other: return other
            }
        }
        set {
            switch failure {
            case .notTLS: notTLS = newValue
            case .protocolVersion: protocolVersion = newValue
            case .noSharedCipher: noSharedCipher = newValue
            case .noClientCertificate: noClientCertificate = newValue
            case .badClientCertificate: badClientCertificate = newValue
            case .noApplicationProtocol: noApplicationProtocol = newValue
            case .timeout: timeout = newValue
            case .peerClosed: peerClosed = newValue
            case .other: other = newValue
            }
        }
    }

    /// Adds another loop's counts.
    public mutating func add(_ other: TLSHandshakeFailureCounts) {
        for failure in TLSHandshakeFailure.allCases { self[failure] += other[failure] }
    }
}
