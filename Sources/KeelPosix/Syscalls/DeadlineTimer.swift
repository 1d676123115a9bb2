// DeadlineTimer: a timerfd that wakes a loop at its nearest deadline.
//
// Why not epoll_wait's timeout: a finite timeout makes the kernel arm and
// cancel a high-resolution timer on every sleep, once per loop iteration
// (visible in perf at one message in flight). The loop waits with no timeout
// instead and arms this timer only when its nearest deadline moves earlier
// than the one armed; when a deadline moves later the timer fires early, the
// loop finds nothing due and arms it again. Under steady load that is one
// timerfd_settime per statistics interval.

import CShims

/// A one-shot timer descriptor on CLOCK_MONOTONIC; owned by one loop.
@usableFromInline
package final class DeadlineTimer {
    /// The timerfd, registered for read interest with the loop's backend.
    @usableFromInline package private(set) var fd: Int32

    package init() throws(Errno) {
        let fd = keel_timerfd_create()
        guard fd >= 0 else { throw Errno(rawValue: -fd) }
        self.fd = fd
    }

    deinit {
        close()
    }

    /// When the timer is armed to expire (Int64.max: not armed). Read on
    /// every wait, by the owning loop's thread only: unchecked, or Swift's
    /// dynamic exclusivity check costs about five instructions a message.
    @usableFromInline @exclusivity(unchecked) package private(set) var armedAtMs = Int64.max

    /// Makes sure the timer expires by the time CLOCK_MONOTONIC reaches
    /// `milliseconds` (at once if that has passed): arms it unless it is
    /// armed for that time or earlier already, which saves a
    /// timerfd_settime per wait while the nearest deadline stays put.
    @inlinable @inline(__always)
    package func arm(byMs milliseconds: Int64) {
        if milliseconds < armedAtMs { arm(atMs: milliseconds) }
    }

    @usableFromInline
    package func arm(atMs milliseconds: Int64) {
        let rc = keel_timerfd_arm_at_ms(fd, max(1, milliseconds))
        precondition(rc == 0, "timerfd_settime: \(Errno(rawValue: -rc))")
        armedAtMs = milliseconds
    }

    /// Clears the expiry so level-triggered readiness ends; the timer is
    /// then unarmed.
    @usableFromInline
    package func drain() {
        Syscall.drainCounter(fd)
        armedAtMs = Int64.max
    }

    /// Closes the descriptor (again: nothing).
    @usableFromInline
    package func close() {
        guard fd >= 0 else { return }
        Syscall.close(fd)
        fd = -1
    }
}
