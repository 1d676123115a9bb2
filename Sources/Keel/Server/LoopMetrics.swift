// LoopMetrics: a loop's counters, reported through swift-metrics. The loop
// counts in plain integers (Statistics) and hands the increase to the
// metrics backend once per statistics interval, so nothing on the
// per-message path touches a metrics handler.

import CoreMetrics

/// swift-metrics counters and gauges of one loop (dimension loop=N).
final class LoopMetrics {
    private let accepted: Counter
    private let closed: [Counter]
    private let messagesIn: Counter
    private let messagesOut: Counter
    private let bytesIn: Counter
    private let bytesOut: Counter
    private let listenerPauses: Counter
    private let writeInterestArms: Counter
    private let staleCommands: Counter
    private let memoryReleases: Counter
    private let busyPollWaits: Counter
    private let openConnections: Gauge
    private var reported = Statistics()

    init(loop: UInt32, factory: MetricsFactory) {
        let loopDimension = ("loop", "\(loop)")
        func counter(_ label: String) -> Counter {
            Counter(label: label, dimensions: [loopDimension], factory: factory)
        }
        accepted = counter("keel_connections_accepted_total")
        closed = CloseReason.allCases.map {
            Counter(
                label: "keel_connections_closed_total", dimensions: [loopDimension, ("reason", "\($0)")],
                factory: factory)
        }
        messagesIn = counter("keel_messages_in_total")
        messagesOut = counter("keel_messages_out_total")
        bytesIn = counter("keel_bytes_in_total")
        bytesOut = counter("keel_bytes_out_total")
        listenerPauses = counter("keel_listener_pauses_total")
        writeInterestArms = counter("keel_write_interest_arms_total")
        staleCommands = counter("keel_stale_commands_total")
        memoryReleases = counter("keel_memory_releases_total")
        busyPollWaits = counter("keel_busy_poll_waits_total")
        openConnections = Gauge(label: "keel_connections_open", dimensions: [loopDimension], factory: factory)
    }

    /// Reports what changed since the last call.
    func report(_ current: Statistics, openConnections open: Int) {
        func add(_ counter: Counter, _ now: Int, _ before: Int) {
            if now > before { counter.increment(by: now - before) }
        }
        add(accepted, current.accepted, reported.accepted)
        // Index loop: CloseReason.allCases would build an array on every report.
        var reason = 0
        while reason < closed.count {
            add(closed[reason], current.closedByReason[reason], reported.closedByReason[reason])
            reason += 1
        }
        add(messagesIn, current.messagesIn, reported.messagesIn)
        add(messagesOut, current.messagesOut, reported.messagesOut)
        add(bytesIn, current.bytesIn, reported.bytesIn)
        add(bytesOut, current.bytesOut, reported.bytesOut)
        add(listenerPauses, current.listenerPauses, reported.listenerPauses)
        add(writeInterestArms, current.writeInterestArms, reported.writeInterestArms)
        add(staleCommands, current.staleCommands, reported.staleCommands)
        add(memoryReleases, current.memoryReleases, reported.memoryReleases)
        add(busyPollWaits, current.busyPollWaits, reported.busyPollWaits)
        openConnections.record(open)
        reported = current
    }
}
