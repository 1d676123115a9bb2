// LoopControl: the only state of a loop that other threads touch: the stop
// request, the waker, and gauges the loop publishes once per iteration
// (relaxed atomics; nothing on the per-message path).

import Synchronization

/// Cross-thread handle to one running loop.
@usableFromInline
final class LoopControl: Sendable {
    @usableFromInline let index: UInt32
    @usableFromInline let waker: Waker
    /// Sends and closes from other threads.
    @usableFromInline let mailbox: Mailbox
    /// The loop's counters as of its last statistics interval (and its end).
    @usableFromInline let published = Locked(Statistics())
    /// Set by `Server.shutdown()`; the loop notices on its next wake.
    @usableFromInline let stopRequested = Atomic<Bool>(false)
    /// The client limit shared with the other loops (nil with one loop).
    @usableFromInline let admission: ClientAdmission?
    /// Open connections, as of the end of the loop's last iteration.
    @usableFromInline let openConnections = Atomic<Int>(0)
    #if DEBUG
        /// Gauges the tests read (debug builds only).
        @usableFromInline let diagnostics = LoopDiagnostics()
    #endif

    init(index: UInt32, waker: Waker, mailbox: Mailbox, admission: ClientAdmission? = nil) {
        self.index = index
        self.waker = waker
        self.mailbox = mailbox
        self.admission = admission
    }

    /// Asks the loop to shut down and wakes it.
    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        waker.wake()
    }
}

#if DEBUG
    /// A loop's internal gauges for the tests, published with the invariant
    /// checks (`checkInvariantsEveryIteration`) and when the loop ends.
    @usableFromInline
    final class LoopDiagnostics: Sendable {
        /// Members of all timeout lists, as of the end of the last iteration.
        @usableFromInline let timeoutMembers = Atomic<Int>(0)
        /// Bytes the connections' rings hold, as of the end of the last iteration.
        @usableFromInline let ringBytes = Atomic<Int>(0)
        /// Whether the listener is switched on.
        @usableFromInline let listenerOn = Atomic<Bool>(true)

        init() {}
    }
#endif
