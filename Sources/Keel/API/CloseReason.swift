// CloseReason: why Keel closed a connection. Counted per reason in the
// statistics and passed to the handler's close callback.

/// Why a connection was closed.
public enum CloseReason: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The peer closed its side (EOF) and all pending output was written.
    case peerClosed
    /// The connection failed: reset by the peer (ECONNRESET), broken pipe
    /// (EPIPE), or the kernel reported an error or hangup.
    case peerReset
    /// No complete message arrived within the idle timeout.
    case idleTimeout
    /// No first complete message arrived within the first-message timeout.
    case firstMessageTimeout
    /// Pending output made no progress within the write timeout.
    case writeTimeout
    /// A frame announced a payload over the maximum message size.
    case oversizeMessage
    /// Pending output would have exceeded the hard cap.
    case outputOverflow
    /// The PROXY protocol is on and the connection did not begin with a
    /// valid header.
    case badProxyHeader
    /// The handler asked for the close.
    case closedByHandler
    /// The server shut down.
    case serverShutdown
    /// The bytes broke the wire format (e.g. a RESP protocol error); the
    /// format's error reply, if it has one, was written first.
    case protocolError
    /// A buffer this connection needed could not be allocated (the process
    /// is at its memory or address-space limit); only this connection is
    /// closed.
    case outOfMemory
    /// The TLS handshake failed or did not complete within its timeout
    /// (`Statistics.tlsHandshakeFailures` says why).
    case tlsHandshakeFailed

    /// The reason as it appears in logs and metrics, e.g. "idle-timeout".
    public var description: String {
        switch self {
        case .peerClosed: return "peer-closed"
        case .peerReset: return "peer-reset"
        case .idleTimeout: return "idle-timeout"
        case .firstMessageTimeout: return "first-message-timeout"
        case .writeTimeout: return "write-timeout"
        case .oversizeMessage: return "oversize-message"
        case .outputOverflow: return "output-overflow"
        case .badProxyHeader: return "bad-proxy-header"
        case .closedByHandler: return "closed-by-handler"
        case .serverShutdown: return "server-shutdown"
        case .protocolError: return "protocol-error"
        case .outOfMemory: return "out-of-memory"
        case .tlsHandshakeFailed: return "tls-handshake-failed"
        }
    }
}
