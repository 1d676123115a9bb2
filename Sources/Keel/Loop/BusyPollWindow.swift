// Busy polling (Configuration.busyPollUs): after an iteration that
// served traffic, the loop's waits take a zero timeout until the window
// passes, so the next message is picked up without the thread (and, on a
// virtual machine, its idle core) being woken. The window restarts with every
// iteration that served a connection or the listener, never with the loop's
// own timer or waker, so an idle loop goes back to sleep. All of it runs only
// when busy polling is on: the default loop pays one untaken branch.

/// The busy-polling window and what it needs to know of the last wait.
@usableFromInline
struct BusyPollWindow {
    /// The window's length; 0 when busy polling is off.
    @usableFromInline let lengthNs: Int64
    /// The clock as read after the last wait, in nanoseconds.
    @usableFromInline var nowNs: Int64 = 0
    /// The loop polls instead of blocking until this time.
    @usableFromInline var untilNs: Int64 = 0
    /// Events the last wait returned, and how many of them were the loop's
    /// own (timer, waker): the rest were traffic.
    @usableFromInline var eventsAtLastWait = 0
    @usableFromInline var ownEventsSinceWait = 0
    /// The last wait was a poll that would otherwise have blocked.
    @usableFromInline var polledInsteadOfBlocking = false

    @inlinable
    init(lengthUs: Int) {
        lengthNs = Int64(lengthUs) * 1_000
    }

    @inlinable var isOn: Bool { lengthNs != 0 }

    /// After a wait that returned `ready` events at `nowNs`: whether it was
    /// a poll that found nothing (the price of polling).
    @inlinable @inline(__always)
    mutating func noteWait(ready: Int, nowNs: Int64) -> Bool {
        self.nowNs = nowNs
        let emptyPoll = polledInsteadOfBlocking && ready == 0
        polledInsteadOfBlocking = false
        eventsAtLastWait = ready
        ownEventsSinceWait = 0
        return emptyPoll
    }

    /// Restarts the window if the iteration now ending served traffic.
    @inlinable @inline(__always)
    mutating func restartIfServed() {
        if eventsAtLastWait > ownEventsSinceWait { untilNs = nowNs &+ lengthNs }
        eventsAtLastWait = 0
    }

    /// The wait's timeout: `usual`, but 0 instead of blocking while the window is open.
    @inlinable @inline(__always)
    mutating func timeout(replacing usual: Int32) -> Int32 {
        guard usual < 0 && nowNs < untilNs else { return usual }
        polledInsteadOfBlocking = true
        return 0
    }
}
