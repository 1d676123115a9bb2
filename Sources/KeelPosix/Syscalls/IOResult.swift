// Results of non-blocking socket calls, as values: "would block" and "peer
// closed" are ordinary outcomes on the hot path, not errors to throw.

/// The outcome of one non-blocking read or write.
@usableFromInline package enum IOResult: Equatable, Sendable {
    /// This many bytes moved (0 only when none were asked for).
    case bytes(Int)
    /// The socket has nothing to give or no room to take (EAGAIN).
    case wouldBlock
    /// The peer closed its sending side (read returned 0).
    case endOfFile
    /// The call failed; the connection is unusable (ECONNRESET, EPIPE, ...).
    case failed(Errno)
}

/// The outcome of one non-blocking accept.
@usableFromInline package enum AcceptResult: Equatable, Sendable {
    /// A new connection on this descriptor.
    case accepted(Int32)
    /// The backlog is empty (EAGAIN).
    case wouldBlock
    /// accept4 failed with this errno; the caller decides whether to pause.
    case failed(Errno)
}
