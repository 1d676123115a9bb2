// Statistics: counters each loop keeps as plain integers (one thread writes
// them, nothing is atomic on the hot path) and hands over when it stops.

/// Counters of one loop, or totals over all loops.
public struct Statistics: Sendable, Equatable, CustomStringConvertible {
    /// Connections accepted.
    public var accepted = 0
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

    /// All counters at zero.
    public init() {}

    /// Connections closed for `reason`.
    public func closed(_ reason: CloseReason) -> Int { closedByReason[reason.rawValue] }

    /// Connections closed for any reason.
    public var closed: Int { closedByReason.reduce(0, +) }

    /// Adds another loop's counters.
    public mutating func add(_ other: Statistics) {
        accepted += other.accepted
        for index in closedByReason.indices { closedByReason[index] += other.closedByReason[index] }
        messagesIn += other.messagesIn
        messagesOut += other.messagesOut
        bytesIn += other.bytesIn
        bytesOut += other.bytesOut
        listenerPauses += other.listenerPauses
        acceptErrors += other.acceptErrors
        writeInterestArms += other.writeInterestArms
        staleEvents += other.staleEvents
        readsRequeued += other.readsRequeued
        staleCommands += other.staleCommands
        memoryReleases += other.memoryReleases
        busyPollWaits += other.busyPollWaits
    }

    /// One line: "accepted=3 closed=3 (peer-closed=3) messages-in=..."
    public var description: String {
        let reasons = CloseReason.allCases.filter { closed($0) > 0 }.map { "\($0)=\(closed($0))" }
        return "accepted=\(accepted) closed=\(closed)"
            + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: " ")))")
            + " messages-in=\(messagesIn) messages-out=\(messagesOut)"
            + " bytes-in=\(bytesIn) bytes-out=\(bytesOut)"
            + " listener-pauses=\(listenerPauses) accept-errors=\(acceptErrors)"
            + " memory-releases=\(memoryReleases) busy-poll-waits=\(busyPollWaits)"
    }
}
