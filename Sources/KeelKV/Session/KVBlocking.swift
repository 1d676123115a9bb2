// KVBlocking: which clients wait on which keys (BLPOP, BRPOP, BLMOVE,
// BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP), shared by every loop. A client is
// added under the shard locks of its keys, by the command that found them
// empty; a write to one of those keys (under the same locks) marks the key
// ready for each loop with a client waiting on it, so a push can never slip
// between a waiter's look and its registration. Each loop then serves its
// own waiters, in the order they blocked (a waiter's session belongs to its
// loop's thread): the loop that wrote at once after the command, another
// loop when its tick runs (asked for at once through Keel's mailbox).
//
// Across loops the order is the order in which the loops get to the key:
// with --threads a later waiter on another loop can be served before an
// earlier one. On one loop it is arrival order, as redis-server serves.

import KeelPosix
import Synchronization

/// Blocked clients by key (see the file header).
final class KVBlocking: Sendable {
    /// A blocked client: its connection and its block's serial (a client
    /// that blocks again is a new waiter).
    struct Waiter: Equatable, Sendable {
        let client: KVClientRef
        let serial: Int
    }

    private struct State {
        /// Per key, its waiters in the order they blocked.
        var waiters: [[UInt8]: [Waiter]] = [:]
        /// Per loop, the keys written since it last looked.
        var ready: [Set<[UInt8]>]
        /// Per loop, its clients CLIENT UNBLOCK asked to release (and
        /// whether with an error rather than as a timeout).
        var releases: [[Release]]
    }

    /// A CLIENT UNBLOCK for one block of one client.
    struct Release: Sendable {
        let waiter: Waiter
        let withError: Bool
    }

    private let state: Locked<State>
    /// Releases asked and not yet taken (a tick looks here first).
    let pendingReleases = Atomic<Int>(0)
    /// Clients blocked now (INFO's blocked_clients); a write looks here
    /// first, without the lock, so it costs nothing while no one waits.
    let blockedCount = Atomic<Int>(0)
    private let serials = Atomic<Int>(0)

    init(loops: Int) {
        state = Locked(
            State(
                ready: Array(repeating: [], count: max(loops, 1)), releases: Array(repeating: [], count: max(loops, 1)))
        )
    }

    /// Registers `client` as waiting on `keys`; returns its waiter.
    func block(_ client: KVClientRef, on keys: [[UInt8]]) -> Waiter {
        let waiter = Waiter(client: client, serial: serials.wrappingAdd(1, ordering: .relaxed).newValue)
        state.withLock { state in
            for key in Set(keys) { state.waiters[key, default: []].append(waiter) }
        }
        blockedCount.add(1, ordering: .relaxed)
        return waiter
    }

    /// Takes `waiter` off `keys` (served, timed out, or disconnected).
    func unblock(_ waiter: Waiter, from keys: [[UInt8]]) {
        state.withLock { state in
            for key in Set(keys) {
                guard var list = state.waiters[key] else { continue }
                list.removeAll { $0 == waiter }
                state.waiters[key] = list.isEmpty ? nil : list
            }
        }
        blockedCount.subtract(1, ordering: .relaxed)
    }

    /// `key` was written: marks it ready for every loop with a waiter on
    /// it; returns those loops.
    func signal(_ key: UnsafeRawBufferPointer) -> [UInt32] {
        let name = Array(key)
        return state.withLock { state in
            guard let list = state.waiters[name] else { return [] }
            var loops: [UInt32] = []
            for waiter in list where !loops.contains(waiter.client.loop) {
                loops.append(waiter.client.loop)
                if Int(waiter.client.loop) < state.ready.count { state.ready[Int(waiter.client.loop)].insert(name) }
            }
            return loops
        }
    }

    /// The keys written for loop `loop`'s waiters since it last asked.
    func takeReady(loop: UInt32) -> [[UInt8]] {
        state.withLock { state in
            guard Int(loop) < state.ready.count, !state.ready[Int(loop)].isEmpty else { return [] }
            defer { state.ready[Int(loop)].removeAll() }
            return Array(state.ready[Int(loop)])
        }
    }

    /// Asks the loop of `waiter`'s client to end that block (CLIENT UNBLOCK).
    func requestRelease(of waiter: Waiter, withError: Bool) {
        state.withLock { state in
            guard Int(waiter.client.loop) < state.releases.count else { return }
            state.releases[Int(waiter.client.loop)].append(Release(waiter: waiter, withError: withError))
        }
        pendingReleases.add(1, ordering: .relaxed)
    }

    /// The releases asked of loop `loop` since it last looked.
    func takeReleases(loop: UInt32) -> [Release] {
        guard pendingReleases.load(ordering: .relaxed) > 0 else { return [] }
        return state.withLock { state in
            guard Int(loop) < state.releases.count, !state.releases[Int(loop)].isEmpty else { return [] }
            defer { state.releases[Int(loop)].removeAll() }
            pendingReleases.subtract(state.releases[Int(loop)].count, ordering: .relaxed)
            return state.releases[Int(loop)]
        }
    }

    /// Loop `loop`'s waiters on `key`, in the order they blocked.
    func waiters(on key: [UInt8], loop: UInt32) -> [Waiter] {
        state.withLock { state in (state.waiters[key] ?? []).filter { $0.client.loop == loop } }
    }
}
