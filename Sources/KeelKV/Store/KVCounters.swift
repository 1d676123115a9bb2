// KVCounters: what INFO's stats section reports, counted by every loop:
// commands processed, connections received, keyspace hits and misses.
// Relaxed atomics, added to once per command at most.

import Synchronization

/// Counters shared by the loops (see the file header).
final class KVCounters: Sendable {
    let commandsProcessed = Atomic<Int>(0)
    let connectionsReceived = Atomic<Int>(0)
    let keyspaceHits = Atomic<Int>(0)
    let keyspaceMisses = Atomic<Int>(0)
    let rejectedConnections = Atomic<Int>(0)
    let authFailures = Atomic<Int>(0)

    init() {}
}
