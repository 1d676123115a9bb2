// Busy polling (Configuration.busyPollUs): after an iteration that
// served traffic, the loop's waits take a zero timeout until the window
// passes, so the next message is picked up without the thread (and, on a
// virtual machine, its idle core) being woken. The window restarts with every
// iteration that served a connection or the listener, never with the loop's
// own timer or waker, so an idle loop goes back to sleep. All of it runs only
// when busy polling is on: the default loop pays one untaken branch.

extension EventLoop {
    /// After a wait: the clock, in nanoseconds as the window needs, and the
    /// count of polls that found nothing (the price of polling).
    @inlinable @inline(__always)
    func noteWaitWhileBusyPolling(ready: Int) {
        nowNs = backend.monotonicNanoseconds()
        nowMs = nowNs / 1_000_000
        if polledInsteadOfBlocking && ready == 0 { stats.busyPollWaits &+= 1 }
        polledInsteadOfBlocking = false
        eventsAtLastWait = ready
        ownEventsSinceWait = 0
    }

    /// The wait's timeout while busy polling: the usual one (see
    /// `waitTimeoutMs`), but 0 instead of blocking while the window is open.
    /// The window restarts first if the iteration now ending served traffic.
    @inlinable @inline(__always)
    func busyPollingWaitTimeoutMs() -> Int32 {
        if eventsAtLastWait > ownEventsSinceWait { busyPollUntilNs = nowNs &+ busyPollNs }
        eventsAtLastWait = 0
        let timeout = waitTimeoutMs()
        guard timeout < 0 && nowNs < busyPollUntilNs else { return timeout }
        polledInsteadOfBlocking = true
        return 0
    }
}
