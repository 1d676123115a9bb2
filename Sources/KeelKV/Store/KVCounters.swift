// KVCounters: what INFO's stats section reports. Counts made per command
// (commands processed, keyspace hits and misses) are each loop's own
// (KVLoopCounters: written only by their loop, with a plain load and store,
// no read-modify-write shared between cores) and summed when INFO asks;
// rarer events are shared relaxed atomics.

import KeelPosix
import Synchronization

/// One loop's per-command counts (see the file header).
final class KVLoopCounters: Sendable {
    let commandsProcessed = Atomic<Int>(0)
    let keyspaceHits = Atomic<Int>(0)
    let keyspaceMisses = Atomic<Int>(0)

    /// Adds one to `counter`; only the owning loop writes it.
    @inline(__always)
    static func bump(_ counter: borrowing Atomic<Int>) {
        counter.store(counter.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }
}

/// Counters shared by the loops (see the file header).
final class KVCounters: Sendable {
    let connectionsReceived = Atomic<Int>(0)
    let authFailures = Atomic<Int>(0)
    private let loops = Locked<[KVLoopCounters]>([])

    init() {}

    /// A new loop's counters, counted in the totals from now on.
    func register() -> KVLoopCounters {
        let counters = KVLoopCounters()
        loops.withLock { $0.append(counters) }
        return counters
    }

    private func total(_ read: (KVLoopCounters) -> Int) -> Int {
        loops.withLock { $0.reduce(0) { $0 + read($1) } }
    }

    var commandsProcessed: Int { total { $0.commandsProcessed.load(ordering: .relaxed) } }
    var keyspaceHits: Int { total { $0.keyspaceHits.load(ordering: .relaxed) } }
    var keyspaceMisses: Int { total { $0.keyspaceMisses.load(ordering: .relaxed) } }
}
