// Reactor: the half of a loop that waits. It blocks in the backend until a
// descriptor is ready or the nearest deadline comes, reads the loop's clock
// once per wait, arms the deadline timer, and busy-polls when configured.
// It knows nothing of connections: the connection engine (EventLoop) tells
// it its nearest deadline (Int64.min while work is queued), then serves the
// events the wait returned. Redis splits its server the same way (ae.c
// waits, networking.c serves clients).
//
// A value the loop stores inline and whose methods are inlined: the wait
// and the dispatch that follows stay one specialised function, as before
// the split (bench/instructions.sh measures it).
//
// Timer discipline: the wait either polls (timeout 0: work is queued, a
// deadline has passed, or busy polling) or blocks with no timeout. Before
// blocking, the deadline timer (a timerfd) is armed for the nearest
// deadline unless it is already armed for that time or earlier
// (DeadlineTimer.arm): it is re-armed when the deadline moves earlier and
// after it fires, not on every wait, so a steady loop costs no system call
// per iteration beyond the wait.

/// Waiting, the clock and the deadline timer of one loop.
@usableFromInline
struct Reactor<Backend: EventBackend> {
    /// Readiness and the clock (the engine keeps its own reference for I/O).
    @usableFromInline let backend: Backend
    /// Wakes the loop at its nearest deadline.
    @usableFromInline let deadlineTimer: DeadlineTimer
    /// The loop's clock, read once after each wait.
    @usableFromInline var nowMs: Int64
    /// The nearest deadline as of the last wait (Int64.min: unknown, look).
    /// Deadlines set during an iteration are never due before the next wait,
    /// which accounts for them, so the engine enforces deadlines only once
    /// this passes.
    @usableFromInline var nearestDeadlineMs = Int64.min
    /// Busy polling (Configuration.busyPollUs).
    @usableFromInline var busyPoll: BusyPollWindow

    @usableFromInline
    init(backend: Backend, deadlineTimer: DeadlineTimer, busyPollUs: Int) {
        self.backend = backend
        self.deadlineTimer = deadlineTimer
        busyPoll = BusyPollWindow(lengthUs: busyPollUs)
        nowMs = backend.monotonicNanoseconds() / 1_000_000
    }

    /// Waits for readiness, then reads the clock. Once `nearestDeadlineMs`
    /// has passed (Int64.min when work is queued: poll), the wait does not
    /// block; otherwise it blocks until an event, with the timer armed for
    /// that deadline. Returns how many events are ready (read them with
    /// `backend.event(at:)`) and whether it was a busy poll that found
    /// nothing (the price of polling, counted by the engine).
    @inlinable @inline(__always)
    mutating func wait(nearestDeadlineMs nearest: Int64) -> (ready: Int, emptyPoll: Bool) {
        if !busyPoll.isOn {
            let ready = backend.wait(timeoutMs: timeoutMs(nearestDeadlineMs: nearest))
            nowMs = backend.monotonicNanoseconds() / 1_000_000
            return (ready, false)
        }
        busyPoll.restartIfServed()
        let usual = timeoutMs(nearestDeadlineMs: nearest)
        let ready = backend.wait(timeoutMs: busyPoll.timeout(replacing: usual))
        let nowNs = backend.monotonicNanoseconds()
        nowMs = nowNs / 1_000_000
        return (ready, busyPoll.noteWait(ready: ready, nowNs: nowNs))
    }

    /// Whether the nearest deadline known at the last wait has come.
    @inlinable @inline(__always)
    var deadlinesDue: Bool { nowMs >= nearestDeadlineMs }

    /// The timer or the waker fired: the loop's own events, which do not
    /// keep a busy-polling window open.
    @inlinable @inline(__always)
    mutating func noteOwnEvent(timerFired: Bool) {
        busyPoll.ownEventsSinceWait &+= 1
        if timerFired { deadlineTimer.drain() }
    }

    /// The wait's timeout: 0 once the deadline has passed, else none (-1),
    /// with the deadline timer armed for it.
    @inlinable @inline(__always)
    mutating func timeoutMs(nearestDeadlineMs nearest: Int64) -> Int32 {
        nearestDeadlineMs = nearest
        if nearest <= nowMs { return 0 }
        deadlineTimer.arm(byMs: nearest)
        return -1
    }
}
