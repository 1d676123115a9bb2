// LoopMetrics: a loop's counters, reported through swift-metrics. The loop
// counts in plain integers (Statistics) and hands the increase to the
// metrics backend once per statistics interval, so nothing on the
// per-message path touches a metrics handler.

import CoreMetrics

/// swift-metrics counters and gauges of one loop (dimension loop=N).
final class LoopMetrics {
    /// One swift-metrics counter per entry of `Statistics.counters`, in order.
    private let counters: [Counter]
    private let closed: [Counter]
    private let handshakeFailures: [Counter]
    private let openConnections: Gauge
    private var reported = Statistics()

    init(loop: UInt32, factory: MetricsFactory) {
        let loopDimension = ("loop", "\(loop)")
        counters = Statistics.counters.map {
            Counter(label: $0.metricLabel, dimensions: [loopDimension], factory: factory)
        }
        closed = CloseReason.allCases.map {
            Counter(
                label: "keel_connections_closed_total", dimensions: [loopDimension, ("reason", "\($0)")],
                factory: factory)
        }
        handshakeFailures = TLSHandshakeFailure.allCases.map {
            Counter(
                label: "keel_tls_handshake_failures_total", dimensions: [loopDimension, ("reason", "\($0)")],
                factory: factory)
        }
        openConnections = Gauge(label: "keel_connections_open", dimensions: [loopDimension], factory: factory)
    }

    /// Reports what changed since the last call.
    func report(_ current: Statistics, openConnections open: Int) {
        func add(_ counter: Counter, _ now: Int, _ before: Int) {
            if now > before { counter.increment(by: now - before) }
        }
        var index = 0
        while index < counters.count {
            let field = Statistics.counters[index].value
            add(counters[index], current[keyPath: field], reported[keyPath: field])
            index += 1
        }
        // Index loop: CloseReason.allCases would build an array on every report.
        var reason = 0
        while reason < closed.count {
            add(closed[reason], current.closedByReason[reason], reported.closedByReason[reason])
            reason += 1
        }
        var failure = 0
        while failure < handshakeFailures.count {
            let reason = TLSHandshakeFailure(rawValue: failure)!
            add(handshakeFailures[failure], current.tlsHandshakeFailures[reason], reported.tlsHandshakeFailures[reason])
            failure += 1
        }
        openConnections.record(open)
        reported = current
    }
}
