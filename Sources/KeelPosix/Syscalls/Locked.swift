// Locked: a value behind a pthread mutex.
//
// Why not Synchronization.Mutex: on Linux it locks with raw futex calls that
// ThreadSanitizer cannot see, so every access it protects is reported as a
// race and real races would drown in the noise. pthread_mutex_lock is
// intercepted by TSan. Public for handlers that share state across loops
// (the broadcast example does), for the same reason. Keel locks only off the hot path (mailboxes, server
// state, published counters), so the difference in cost does not matter.

import Glibc

/// A value that threads share, reached only while holding its lock.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// Wraps `value`.
    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    public func withLock<Result, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
