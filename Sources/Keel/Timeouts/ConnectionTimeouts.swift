// ConnectionTimeouts: the five deadlines a connection can be under, as one
// value the loop owns, so that what treats them alike (the nearest deadline,
// forgetting a closed connection, counting members, checking invariants) is
// written once, here, and each list is named where its meaning matters.
//
// A connection is on at most these lists at once: firstMessage (until its
// first complete message, when configured), idle (time since its last
// complete message) or write (time since pending output last moved: a
// connection whose replies are draining is not idle), and linger (after a
// graceful close, until the peer's EOF); a TLS connection is on handshake
// too until its handshake completes. Which combinations are legal is
// checked by EventLoop.checkInvariants, against the connection's state.

/// The timeout lists of one loop, one per kind of deadline.
@usableFromInline
struct ConnectionTimeouts {
    /// A connection's first complete message must arrive in time (optional).
    @usableFromInline let firstMessage: TimeoutList?
    /// Time since the last complete message.
    @usableFromInline let idle: TimeoutList
    /// Time since pending output last made progress.
    @usableFromInline let write: TimeoutList
    /// Time a gracefully closed connection may linger (Configuration.lingerTimeoutMs).
    @usableFromInline let linger: TimeoutList
    /// A TLS connection's handshake must complete in time (TLS servers only).
    @usableFromInline let handshake: TimeoutList?
    /// Time since a TLS connection's session last read or wrote: once it
    /// passes `releaseMemoryAfterQuietMs`, OpenSSL's record buffers are
    /// freed (TLS servers only; not a deadline that closes anything).
    @usableFromInline let tlsQuiet: TimeoutList?

    /// A timeout no deadline reaches: 1,000 years past any clock reading,
    /// and far from overflowing when added to one.
    @usableFromInline static let never: Int64 = 1_000 * 365 * 24 * 3_600 * 1_000

    /// Lists for `capacity` slots with the configuration's timeouts.
    @usableFromInline
    init(capacity: Int, configuration: Configuration) {
        firstMessage = configuration.firstMessageTimeoutMs.map {
            TimeoutList(capacity: capacity, timeoutMs: Int64($0))
        }
        // Without an idle timeout the list still runs, with a deadline no
        // clock reaches: the per-message touch stays one unconditional call.
        idle = TimeoutList(capacity: capacity, timeoutMs: configuration.idleTimeoutMs.map { Int64($0) } ?? Self.never)
        write = TimeoutList(capacity: capacity, timeoutMs: Int64(configuration.writeTimeoutMs))
        linger = TimeoutList(capacity: capacity, timeoutMs: Int64(configuration.lingerTimeoutMs))
        handshake = configuration.tls.map { TimeoutList(capacity: capacity, timeoutMs: Int64($0.handshakeTimeoutMs)) }
        tlsQuiet =
            configuration.tls == nil
            ? nil
            : configuration.releaseMemoryAfterQuietMs.map { TimeoutList(capacity: capacity, timeoutMs: Int64($0)) }
    }

    /// The earliest deadline on any list, or `limit` if that is earlier (or
    /// every list is empty). Each list by name (no array of lists, no
    /// optional result): this runs on every loop iteration.
    @inlinable @inline(__always)
    func earliestDeadlineMs(notAfter limit: Int64, handshakes: Bool) -> Int64 {
        var nearest = limit
        if let deadline = idle.earliestDeadlineMs { nearest = min(nearest, deadline) }
        if let deadline = write.earliestDeadlineMs { nearest = min(nearest, deadline) }
        if let deadline = linger.earliestDeadlineMs { nearest = min(nearest, deadline) }
        if let deadline = firstMessage?.earliestDeadlineMs { nearest = min(nearest, deadline) }
        // A constant false in plaintext loops (ConnectionTransport).
        if handshakes, let deadline = handshake?.earliestDeadlineMs { nearest = min(nearest, deadline) }
        if handshakes, let deadline = tlsQuiet?.earliestDeadlineMs { nearest = min(nearest, deadline) }
        return nearest
    }

    /// Takes a closing connection off every list.
    @usableFromInline
    func removeFromAll(_ slot: UInt32) {
        firstMessage?.remove(slot)
        idle.remove(slot)
        write.remove(slot)
        linger.remove(slot)
        handshake?.remove(slot)
        tlsQuiet?.remove(slot)
    }

    /// Connections on any list (a connection on two counts twice).
    @usableFromInline
    var memberCount: Int {
        idle.count + write.count + linger.count + (firstMessage?.count ?? 0) + (handshake?.count ?? 0)
            + (tlsQuiet?.count ?? 0)
    }

    /// Checks each list's own invariants (links, deadline order).
    @usableFromInline
    func checkInvariants() {
        firstMessage?.checkInvariants()
        idle.checkInvariants()
        write.checkInvariants()
        linger.checkInvariants()
        handshake?.checkInvariants()
        tlsQuiet?.checkInvariants()
    }
}
