// BenchConnection: one client connection of the load generator (its
// properties skip dynamic exclusivity checks, as LoadGenerator's do).

import Keel

final class BenchConnection {
    enum State {
        case waiting, connecting, handshaking, open, closed
    }

    let index: Int
    /// Idle connections are opened and held, never used.
    let isIdle: Bool
    @exclusivity(unchecked) var fd: Int32 = -1
    /// The TLS session (--tls), nil for plaintext.
    @exclusivity(unchecked) var ssl: OpaquePointer?
    /// The last TLS read filled the read buffer: OpenSSL may hold more
    /// records, which no readiness will announce.
    @exclusivity(unchecked) var tlsBufferFilled = false
    @exclusivity(unchecked) var state = State.waiting
    @exclusivity(unchecked) var connectDeadlineNs: Int64 = 0
    /// When the current connection's connect began (handshake mode's latency).
    @exclusivity(unchecked) var connectStartNs: Int64 = 0
    /// Handshake mode: its one request was answered; it closes and connects
    /// again once its read has been handled.
    @exclusivity(unchecked) var reconnectQueued = false
    /// Write interest is registered (output is pending).
    @exclusivity(unchecked) var writeArmed = false
    @exclusivity(unchecked) var input = RingBuffer()
    @exclusivity(unchecked) var output = RingBuffer()
    @exclusivity(unchecked) var nextSendSequence: UInt64 = 0
    @exclusivity(unchecked) var nextReceiveSequence: UInt64 = 0
    /// The requests in flight, oldest first.
    @exclusivity(unchecked) var awaiting: InFlightQueue
    /// On the list of connections to flush this iteration.
    @exclusivity(unchecked) var flushQueued = false

    init(index: Int, isIdle: Bool, pipeline: Int) {
        self.index = index
        self.isIdle = isIdle
        awaiting = InFlightQueue(capacity: max(pipeline, 16))
    }

    var inFlight: Int { awaiting.count }

    func release(pool: BufferPool) {
        input.removeAll(pool: pool)
        output.removeAll(pool: pool)
    }
}
