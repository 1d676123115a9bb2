// ConnectionPhase: where a connection is in its life, as one value with its
// transitions in one place. Each transition states which phases it leaves;
// anything else is a bug in the loop and stops it (precondition), so an
// illegal combination, such as lingering while the peer's EOF is pending,
// cannot be represented, let alone reached.
//
//   accept ─┬─> awaitingProxyHeader ──header read──> open
//           └──────────────────────────────────────> open
//   open ──peer's EOF──> peerFinished ──output written──> (closed)
//   open, awaitingProxyHeader ──close asked──> closing
//   peerFinished ──close asked──> closingPeerFinished
//   closing ──peer's EOF──> closingPeerFinished ──output written──> (closed)
//   closing ──output written, SHUT_WR sent──> lingering ──EOF or timeout──> (closed)
//   any ──abort──> aborting ──loop regains control──> (closed)
//
// The order of the cases is used: the phases at or past `closing` deliver no
// more input, those at or past `lingering` have their input read and dropped,
// and only `open` admits the echo fast path (one compare each on the
// per-read path).

/// The lifecycle of one connection (see the file header for the transitions).
@usableFromInline
enum ConnectionPhase: UInt8, Sendable {
    /// Serving: reading, delivering requests, writing replies.
    case open = 0
    /// The PROXY protocol is on and the header has not been read: the bytes
    /// are not requests, and the handler has not been told of the connection.
    case awaitingProxyHeader = 1
    /// The peer sent EOF: requests already read are still delivered and
    /// replies written, then the connection closes.
    case peerFinished = 2
    /// A graceful close was asked for (a handler, a timeout, shutdown, a
    /// protocol error with an error reply): no more input is delivered;
    /// pending output is written, then the connection lingers.
    case closing = 3
    /// Closing, and the peer has sent EOF too: it closes once output is written.
    case closingPeerFinished = 4
    /// Output written and SHUT_WR sent: input is read and dropped until the
    /// peer's EOF or the linger timeout (see EventLoop.startLingering).
    case lingering = 5
    /// Closes as soon as the loop regains control; pending output is dropped.
    case aborting = 6

    /// No more input is delivered to the handler.
    @inlinable var stopsInput: Bool { rawValue >= ConnectionPhase.closing.rawValue }
    /// Input is read only to be dropped (lingering, or aborted: an abort
    /// can overtake a lingering connection, which must not start reading
    /// requests again).
    @inlinable var dropsInput: Bool { rawValue >= ConnectionPhase.lingering.rawValue }
    /// The connection is writing what is pending and then closes or lingers.
    @inlinable var isFinishing: Bool {
        rawValue >= ConnectionPhase.peerFinished.rawValue && self != .aborting
    }
    /// The peer has sent EOF (nothing more can be read).
    @inlinable var peerHasFinished: Bool { self == .peerFinished || self == .closingPeerFinished }
    /// A graceful close was asked for (and not superseded by an abort).
    @inlinable var closeAsked: Bool {
        self == .closing || self == .closingPeerFinished || self == .lingering
    }

    // MARK: transitions

    /// A new connection waits for its PROXY header before it is served.
    @inlinable
    mutating func awaitProxyHeader() {
        precondition(self == .open, "awaiting a PROXY header in phase \(self)")
        self = .awaitingProxyHeader
    }

    /// The PROXY header has been read: the connection serves requests.
    @inlinable
    mutating func headerRead() {
        precondition(self == .awaitingProxyHeader, "header read in phase \(self)")
        self = .open
    }

    /// The peer sent EOF. (A lingering connection closes at it instead.)
    @inlinable
    mutating func peerSentEndOfFile() {
        switch self {
        case .open, .awaitingProxyHeader: self = .peerFinished
        case .closing: self = .closingPeerFinished
        case .aborting: break
        case .peerFinished, .closingPeerFinished, .lingering:
            preconditionFailure("EOF read in phase \(self)")
        }
    }

    /// A graceful close is asked for; returns false when one was asked for
    /// already, or an abort supersedes it (the first reason stays).
    @inlinable
    mutating func askClose() -> Bool {
        switch self {
        case .open, .awaitingProxyHeader: self = .closing
        case .peerFinished: self = .closingPeerFinished
        case .closing, .closingPeerFinished, .lingering, .aborting: return false
        }
        return true
    }

    /// Output is written and our side is shut down.
    @inlinable
    mutating func startLingering() {
        precondition(self == .closing, "lingering from phase \(self)")
        self = .lingering
    }

    /// The connection is to close at once.
    @inlinable
    mutating func abort() {
        self = .aborting
    }
}
