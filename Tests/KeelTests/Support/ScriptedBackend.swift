// ScriptedBackend: an EventBackend whose clock the test sets and whose waits
// never block, so a test drives an EventLoop one iteration at a time and
// decides when time passes (SimulatedLoop). Readiness is real: each wait
// polls the registered descriptors (socketpairs standing in for clients)
// with a zero timeout. The exceptions are the loop's own descriptors that
// belong to the real clock or the network: the deadline timer is ready once
// the test's clock reaches the time the loop armed it for, and the listener
// is ready exactly while the test has queued connections to accept.

import CShims
import Glibc

@testable import Keel

final class ScriptedBackend: EventBackend {
    static var name: String { "scripted" }

    /// The time the loop sees, in nanoseconds; only the test moves it.
    var clockNs: Int64 = 1_000_000_000_000
    /// Descriptors accept() hands out, in order (server ends of socketpairs).
    var pendingAccepts: [Int32] = []
    /// Errors accept() reports before it hands out anything else.
    var acceptFailures: [Errno] = []
    /// Events the next wait adds to what polling finds (e.g. an error).
    var injected: [ReadyEvent] = []
    /// When the loop's deadline timer is armed to expire (set by SimulatedLoop).
    var deadlineTimerArmedAtMs: () -> Int64 = { Int64.max }
    /// The timeout of every wait so far (0: poll, -1: block until an event).
    private(set) var waitTimeouts: [Int32] = []

    private var registered: [Int32: (token: EventToken, interest: Interest)] = [:]
    private var ready: [ReadyEvent] = []

    /// The interest registered for `fd`, or nil when it is not registered.
    func interest(of fd: Int32) -> Interest? { registered[fd]?.interest }

    func register(fd: Int32, token: EventToken, interest: Interest) throws(Errno) {
        precondition(registered[fd] == nil, "fd \(fd) registered twice")
        registered[fd] = (token, interest)
    }

    func modify(fd: Int32, token: EventToken, interest: Interest) {
        precondition(registered[fd]?.token == token, "modifying fd \(fd), which is not registered with \(token)")
        registered[fd] = (token, interest)
    }

    func deregister(fd: Int32, token: EventToken) {
        precondition(registered.removeValue(forKey: fd)?.token == token, "deregistering fd \(fd) with a wrong token")
    }

    func wait(timeoutMs: Int32) -> Int {
        waitTimeouts.append(timeoutMs)
        ready = injected
        injected = []
        // In slot order (the loop's own descriptors last): a test knows
        // which connection's event comes first in a batch.
        for (fd, entry) in registered.sorted(by: { $0.value.token.slot < $1.value.token.slot }) {
            if entry.token == .timer {
                if clockNs / 1_000_000 >= deadlineTimerArmedAtMs() {
                    ready.append(ReadyEvent(token: .timer, readiness: .readable))
                }
                continue
            }
            if entry.token == .listener {
                let waiting = !pendingAccepts.isEmpty || !acceptFailures.isEmpty
                if waiting && entry.interest.contains(.read) {
                    ready.append(ReadyEvent(token: .listener, readiness: .readable))
                }
                continue
            }
            if let readiness = poll(fd, entry.interest) {
                ready.append(ReadyEvent(token: entry.token, readiness: readiness))
            }
        }
        return ready.count
    }

    func event(at index: Int) -> ReadyEvent { ready[index] }

    func close() {}

    func accept(_ listener: Int32) -> AcceptResult {
        if !acceptFailures.isEmpty { return .failed(acceptFailures.removeFirst()) }
        if pendingAccepts.isEmpty { return .wouldBlock }
        return .accepted(pendingAccepts.removeFirst())
    }

    func monotonicNanoseconds() -> Int64 { clockNs }

    /// What poll(2) reports for `fd` now, as the loop's readiness (read
    /// hangups only with read interest, as PollBackend asks); nil if nothing.
    private func poll(_ fd: Int32, _ interest: Interest) -> Readiness? {
        var wanted: Int16 = 0
        if interest.contains(.read) { wanted |= keel_POLLIN | keel_POLLRDHUP }
        if interest.contains(.write) { wanted |= keel_POLLOUT }
        var entry = pollfd(fd: fd, events: wanted, revents: 0)
        // A signal (libFuzzer's timeout alarm) interrupts poll whatever
        // SA_RESTART says: asked again.
        var count = Glibc.poll(&entry, 1, 0)
        while count < 0 && errno == EINTR { count = Glibc.poll(&entry, 1, 0) }
        precondition(count >= 0, "poll: \(Errno(rawValue: errno))")
        var readiness: Readiness = []
        if entry.revents & keel_POLLIN != 0 { readiness.insert(.readable) }
        if entry.revents & keel_POLLOUT != 0 { readiness.insert(.writable) }
        if entry.revents & keel_POLLRDHUP != 0 { readiness.insert(.readHangup) }
        if entry.revents & keel_POLLHUP != 0 { readiness.insert(.hangup) }
        if entry.revents & keel_POLLERR != 0 { readiness.insert(.error) }
        return readiness.isEmpty ? nil : readiness
    }
}
