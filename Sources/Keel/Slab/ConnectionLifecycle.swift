// ConnectionLifecycle: where a connection is in its life and why it will
// close, as one value with its transitions in one place. Each transition
// states which phases it leaves; anything else is a bug in the loop and
// stops it (precondition), so an illegal combination, such as lingering
// while the peer's EOF is pending, cannot be represented, let alone reached.
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
// The reason travels with the transitions that give one: the first graceful
// close's reason stays (a later timeout or shutdown does not replace it); an
// abort supersedes a graceful close, reason and all (the connection no
// longer finishes its output), and the first abort's reason stays. A
// connection that finishes without a close asked for (the peer's EOF) ends
// as peer-closed.
//
// The order of the phases is used: those at or past `closing` deliver no
// more input, those at or past `lingering` have their input read and
// dropped, and only `open` admits the echo fast path (one compare each on
// the per-read path).

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
}

/// A connection's phase and the reason it will close (see the file header).
@usableFromInline
struct ConnectionLifecycle {
    /// Where the connection is in its life.
    @usableFromInline private(set) var phase = ConnectionPhase.open
    /// The reason given with the close or abort; meaningful once one was.
    @usableFromInline private(set) var givenReason = CloseReason.closedByHandler

    @inlinable init() {}

    /// The reason the connection closes with once it has finished: the one
    /// given with its close or abort, or peer-closed when its peer ended it.
    @inlinable var closeReason: CloseReason {
        phase.closeAsked || phase == .aborting ? givenReason : .peerClosed
    }

    /// A new connection waits for its PROXY header before it is served.
    @inlinable
    mutating func awaitProxyHeader() {
        precondition(phase == .open, "awaiting a PROXY header in phase \(phase)")
        phase = .awaitingProxyHeader
    }

    /// The PROXY header has been read: the connection serves requests.
    @inlinable
    mutating func headerRead() {
        precondition(phase == .awaitingProxyHeader, "header read in phase \(phase)")
        phase = .open
    }

    /// The peer sent EOF. (A lingering connection closes at it instead.)
    @inlinable
    mutating func peerSentEndOfFile() {
        switch phase {
        case .open, .awaitingProxyHeader: phase = .peerFinished
        case .closing: phase = .closingPeerFinished
        case .aborting: break
        case .peerFinished, .closingPeerFinished, .lingering:
            preconditionFailure("EOF read in phase \(phase)")
        }
    }

    /// A graceful close is asked for `reason`; returns false when one was
    /// asked for already, or an abort supersedes it (the first reason stays).
    @inlinable @discardableResult
    mutating func askClose(_ reason: CloseReason) -> Bool {
        switch phase {
        case .open, .awaitingProxyHeader: phase = .closing
        case .peerFinished: phase = .closingPeerFinished
        case .closing, .closingPeerFinished, .lingering, .aborting: return false
        }
        givenReason = reason
        return true
    }

    /// Output is written and our side is shut down.
    @inlinable
    mutating func startLingering() {
        precondition(phase == .closing, "lingering from phase \(phase)")
        phase = .lingering
    }

    /// The connection is to close at once for `reason`, its pending output
    /// dropped; a graceful close's reason gives way, an earlier abort's stays.
    @inlinable
    mutating func abort(_ reason: CloseReason) {
        guard phase != .aborting else { return }
        phase = .aborting
        givenReason = reason
    }
}
