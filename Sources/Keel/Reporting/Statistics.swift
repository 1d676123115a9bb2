// Statistics: counters each loop keeps as plain integers (one thread writes
// them, nothing is atomic on the hot path) and hands over when it stops.

/// Counters of one loop, or totals over all loops.
public struct Statistics: Sendable, Equatable, CustomStringConvertible {
    /// Connections accepted.
    public var accepted = 0
    /// Connections over the client limit accepted only to be turned away
    /// (`Configuration.clientLimitReply`).
    public var rejected = 0
    /// Connections closed, per reason (indexed by `CloseReason.rawValue`).
    public var closedByReason = [Int](repeating: 0, count: CloseReason.allCases.count)
    /// Complete messages received.
    public var messagesIn = 0
    /// Messages sent (frames queued by handlers).
    public var messagesOut = 0
    /// Bytes read from sockets.
    public var bytesIn = 0
    /// Bytes written to sockets.
    public var bytesOut = 0
    /// Times the listener was switched off (client limit or accept errors).
    public var listenerPauses = 0
    /// accept4 failures other than EAGAIN.
    public var acceptErrors = 0
    /// Times write interest was registered because a socket took less than offered.
    public var writeInterestArms = 0
    /// Events dropped because their connection had gone (stale generation).
    public var staleEvents = 0
    /// Sends and closes by ConnectionID refused because the connection had gone.
    public var staleCommands = 0
    /// Edge-triggered mode: times a connection used its read budget with
    /// data left and was queued to be read again next iteration.
    public var readsRequeued = 0
    /// Times the loop gave its buffers' memory back after a quiet period.
    public var memoryReleases = 0
    /// Busy polling: waits that found nothing ready (what the polling cost).
    public var busyPollWaits = 0
    /// TLS handshakes completed.
    public var tlsHandshakes = 0
    /// Of those, handshakes that resumed an earlier session (ticket or cache).
    public var tlsResumptions = 0
    /// The completed handshakes' durations, summed, in milliseconds (from
    /// accept, or the PROXY header, to the handshake's end).
    public var tlsHandshakeMilliseconds = 0
    /// TLS handshakes that failed, per reason.
    public var tlsHandshakeFailures = TLSHandshakeFailureCounts()

    /// All counters at zero.
    public init() {}

    /// Connections closed for `reason`.
    public func closed(_ reason: CloseReason) -> Int { closedByReason[reason.rawValue] }

    /// Connections closed for any reason.
    public var closed: Int { closedByReason.reduce(0, +) }

    /// Adds another loop's counters.
    public mutating func add(_ other: Statistics) {
        for index in closedByReason.indices { closedByReason[index] += other.closedByReason[index] }
        tlsHandshakeFailures.add(other.tlsHandshakeFailures)
        for counter in Self.counters { self[keyPath: counter.value] += other[keyPath: counter.value] }
    }

    /// One line: "accepted=3 closed=3 (peer-closed=3) messages-in=..."
    public var description: String {
        let reasons = CloseReason.allCases.filter { closed($0) > 0 }.map { "\($0)=\(closed($0))" }
        var text =
            "accepted=\(accepted) closed=\(closed)" + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: " ")))")
        for counter in Self.counters where counter.name != "accepted" {
            text += " \(counter.name)=\(self[keyPath: counter.value])"
        }
        for failure in TLSHandshakeFailure.allCases where tlsHandshakeFailures[failure] > 0 {
            text += " tls-handshake-failures(\(failure))=\(tlsHandshakeFailures[failure])"
        }
        return text
    }

    /// One of the counters: its name in the statistics line, its
    /// swift-metrics label, and where it is kept.
    public struct Counter: Sendable {
        /// The name in the statistics line, e.g. "messages-in".
        public let name: String
        /// The swift-metrics label, e.g. "keel_messages_in_total".
        public let metricLabel: String
        /// The field that holds it.
        public let value: WritableKeyPath<Statistics, Int> & Sendable
    }

    /// Every counter but the per-reason closes, listed once: the statistics
    /// line, `add` and the swift-metrics report all come from this table.
    public static let counters: [Counter] = [
        Counter(name: "accepted", metricLabel: "keel_connections_accepted_total", value: \.accepted),
        Counter(name: "rejected", metricLabel: "keel_connections_rejected_total", value: \.rejected),
        Counter(name: "messages-in", metricLabel: "keel_messages_in_total", value: \.messagesIn),
        Counter(name: "messages-out", metricLabel: "keel_messages_out_total", value: \.messagesOut),
        Counter(name: "bytes-in", metricLabel: "keel_bytes_in_total", value: \.bytesIn),
        Counter(name: "bytes-out", metricLabel: "keel_bytes_out_total", value: \.bytesOut),
        Counter(name: "listener-pauses", metricLabel: "keel_listener_pauses_total", value: \.listenerPauses),
        Counter(name: "accept-errors", metricLabel: "keel_accept_errors_total", value: \.acceptErrors),
        Counter(name: "write-interest-arms", metricLabel: "keel_write_interest_arms_total", value: \.writeInterestArms),
        Counter(name: "stale-events", metricLabel: "keel_stale_events_total", value: \.staleEvents),
        Counter(name: "stale-commands", metricLabel: "keel_stale_commands_total", value: \.staleCommands),
        Counter(name: "reads-requeued", metricLabel: "keel_reads_requeued_total", value: \.readsRequeued),
        Counter(name: "memory-releases", metricLabel: "keel_memory_releases_total", value: \.memoryReleases),
        Counter(name: "busy-poll-waits", metricLabel: "keel_busy_poll_waits_total", value: \.busyPollWaits),
        Counter(name: "tls-handshakes", metricLabel: "keel_tls_handshakes_total", value: \.tlsHandshakes),
        Counter(name: "tls-resumptions", metricLabel: "keel_tls_resumptions_total", value: \.tlsResumptions),
        Counter(
            name: "tls-handshake-ms", metricLabel: "keel_tls_handshake_milliseconds_total",
            value: \.tlsHandshakeMilliseconds),
    ]
}
