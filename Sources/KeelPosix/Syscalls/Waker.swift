// Waker: an eventfd that other threads write to wake a loop blocked in
// epoll_wait/poll: shutdown requests and cross-thread sends (the mailbox
// rings it when it goes from empty to non-empty).

import CShims
import Glibc

/// An eventfd used to wake one event loop from any thread.
@usableFromInline
package final class Waker: Sendable {
    /// The eventfd; registered for read interest with the loop's backend.
    @usableFromInline package let fd: Int32

    package init() throws(Errno) {
        let fd = keel_eventfd(0, keel_EFD_NONBLOCK | keel_EFD_CLOEXEC)
        guard fd >= 0 else { throw Errno(rawValue: -fd) }
        self.fd = fd
    }

    /// Makes the loop's next (or current) wait return. Safe from any thread,
    /// and async-signal-safe (one write(2)).
    package func wake() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { keel_write(fd, $0.baseAddress, 8) }
    }

    /// Resets the counter so level-triggered readiness clears.
    @usableFromInline
    package func drain() {
        Syscall.drainCounter(fd)
    }

    package func close() {
        Syscall.close(fd)
    }
}
