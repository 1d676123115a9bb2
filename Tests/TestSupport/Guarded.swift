// Guarded: a value behind a mutex that closures on any thread may share, for
// tests that record what code under test did (the wire tests cannot use
// KeelPosix's Locked: they depend on the wire layer alone).

import Synchronization

/// A value shared between threads under a mutex.
package final class Guarded<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: Value) {
        mutex = Mutex(value)
    }

    /// Runs `body` with the value, under the mutex.
    package func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
