// Reporter: a server's thread for the work that may block and so must never
// run on an event loop: handing the loops' log records to the log handler
// (through a LogRelay) and reporting their counters to swift-metrics once per
// statistics interval. The loops only publish their counters under a lock
// (LoopControl.published) and append log records to the relay's queue.

import Logging

/// Relays a server's log records and reports its counters to swift-metrics.
final class Reporter: Sendable {
    private let relay: LogRelay

    init(controls: [LoopControl], metrics: [LoopMetrics], intervalMs: Int) {
        // Only the relay's thread touches the metrics; the lock carries them there.
        let locked = Locked(metrics)
        relay = LogRelay(name: "keel-reporter", periodicMs: intervalMs) {
            Self.report(controls, locked)
        }
    }

    /// `logger`, with its records going through the relay.
    func relaying(_ logger: Logger) -> Logger {
        relay.relaying(logger)
    }

    /// The last report (the loops have stopped and published their totals)
    /// and the relay's remaining records, on the reporting thread, waited
    /// for at most `timeoutMs`: a blocked backend delays only that thread.
    func finish(timeoutMs: Int) {
        relay.stop(timeoutMs: timeoutMs)
    }

    /// Records the relay dropped because the log output did not keep up.
    var droppedLogRecords: Int { relay.droppedRecords }

    private static func report(_ controls: [LoopControl], _ metrics: Locked<[LoopMetrics]>) {
        metrics.withLock { metrics in
            for (control, loopMetrics) in zip(controls, metrics) {
                let published = control.published.withLock { $0 }
                loopMetrics.report(published, openConnections: control.openConnections.load(ordering: .relaxed))
            }
        }
    }
}
