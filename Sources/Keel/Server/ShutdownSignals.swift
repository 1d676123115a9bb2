// ShutdownSignals: SIGINT/SIGTERM handled with sigwait(2) on a dedicated
// thread. The signals are blocked before any other thread exists, so every
// thread inherits the mask and only the waiting thread ever receives them.
// Unlike a Dispatch signal source, this needs no descriptor and no other
// machinery, so it still works after the process has run out of descriptors.

import Glibc

/// Turns SIGINT and SIGTERM (or other signals) into a callback on a thread of its own.
public final class ShutdownSignals: Sendable {
    private let signals: [Int32]

    /// Blocks `signals` (by default SIGINT and SIGTERM) in the calling thread,
    /// and so in every thread it starts afterwards. Create this first thing
    /// in `main`, before any thread (including Keel's loops) is started.
    /// A blocked signal no longer takes its default action (for SIGHUP,
    /// SIGUSR1 and SIGUSR2: ending the process); `onSignal` decides instead.
    public init(signals: [Int32] = [SIGINT, SIGTERM]) {
        self.signals = signals
        var set = Self.set(of: signals)
        let rc = pthread_sigmask(SIG_BLOCK, &set, nil)
        precondition(rc == 0, "pthread_sigmask: \(Errno(rawValue: rc))")
    }

    private static func set(of signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    /// Calls `action` with the signal number each time one of the signals
    /// arrives, on a dedicated thread that lives as long as the process.
    public func onSignal(_ action: @escaping @Sendable (Int32) -> Void) {
        let signals = signals
        LoopThread.detached(name: "keel-signals") {
            var set = ShutdownSignals.set(of: signals)
            while true {
                var received: Int32 = 0
                if sigwait(&set, &received) == 0 { action(received) }
            }
        }
    }
}
