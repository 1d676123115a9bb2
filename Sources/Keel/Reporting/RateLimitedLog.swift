// RateLimitedLog: at most one line per interval for events a client can cause
// at will (oversize frames, accept failures), so no peer can flood the log.

/// Lets one log line through per interval and counts the ones it held back.
@usableFromInline
final class RateLimitedLog {
    let intervalMs: Int64
    private var lastMs = Int64.min
    private var suppressed = 0

    @usableFromInline
    init(intervalMs: Int64) {
        self.intervalMs = intervalMs
    }

    /// Calls `body` with the number of events suppressed since the last line,
    /// if a line is due at `nowMs`; otherwise counts this event.
    @usableFromInline
    func record(nowMs: Int64, _ body: (Int) -> Void) {
        if lastMs == Int64.min || nowMs - lastMs >= intervalMs {
            body(suppressed)
            suppressed = 0
            lastMs = nowMs
        } else {
            suppressed += 1
        }
    }
}
