// LoopControl: the only state of a loop that other threads touch: the stop
// request, the waker, and gauges the loop publishes once per iteration
// (relaxed atomics; nothing on the per-message path).

import Synchronization

/// Cross-thread handle to one running loop.
final class LoopControl: Sendable {
    let index: UInt32
    let waker: Waker
    /// Sends and closes from other threads.
    let mailbox: Mailbox
    /// The loop's counters as of its last statistics interval (and its end).
    let published = Locked(Statistics())
    /// Set by `Server.shutdown()`; the loop notices on its next wake.
    let stopRequested = Atomic<Bool>(false)
    /// Open connections, as of the end of the loop's last iteration.
    let openConnections = Atomic<Int>(0)
    /// Members of all timeout lists, as of the end of the last iteration.
    let timeoutMembers = Atomic<Int>(0)
    /// Bytes the connections' rings hold, as of the end of the last iteration.
    let ringBytes = Atomic<Int>(0)
    /// Whether the listener is switched on.
    let listenerOn = Atomic<Bool>(true)

    init(index: UInt32, waker: Waker, mailbox: Mailbox) {
        self.index = index
        self.waker = waker
        self.mailbox = mailbox
    }

    /// Asks the loop to shut down and wakes it.
    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        waker.wake()
    }
}
