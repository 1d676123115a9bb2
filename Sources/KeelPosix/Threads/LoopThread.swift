// LoopThread: a plain pthread per event loop. Loops block in epoll_wait, so
// they must not run on Swift concurrency's cooperative pool.

import CShims
import Glibc

/// A joinable OS thread running one closure.
package final class LoopThread {
    private let thread: pthread_t

    private final class Box {
        let name: String
        let body: () -> Void
        init(name: String, _ body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread named `name` (at most 15 bytes show in
    /// tools like top and perf).
    package init(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(name: String(name.prefix(15)), body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                _ = keel_set_thread_name(box.name)
                box.body()
                return nil
            }, box)
        precondition(rc == 0, "pthread_create: \(Errno(rawValue: rc))")
        self.thread = thread
    }

    /// Starts `body` on a thread nobody joins: its resources go back to the
    /// system as soon as `body` returns.
    package static func detached(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = LoopThread(name: name, body)
        let rc = pthread_detach(thread.thread)
        precondition(rc == 0, "pthread_detach: \(Errno(rawValue: rc))")
    }

    /// Lets the thread end on its own, unjoined; returns nil (nothing is
    /// left to join).
    package func detach() -> LoopThread? {
        let rc = pthread_detach(thread)
        precondition(rc == 0, "pthread_detach: \(Errno(rawValue: rc))")
        return nil
    }

    /// Waits for the closure to return.
    package func join() {
        let rc = pthread_join(thread, nil)
        precondition(rc == 0, "pthread_join: \(Errno(rawValue: rc))")
    }
}

/// Hands a non-Sendable value to exactly one other thread, once.
package struct Transfer<Value>: @unchecked Sendable {
    package let value: Value

    package init(value: Value) {
        self.value = value
    }
}
