// KVCommandStats: INFO commandstats, per command (a subcommand counts as its
// own, "client|list"): calls, calls refused before they ran (arity, NOAUTH,
// OOM, a transaction's or the subscriber context's refusals) and calls that
// replied an error, as redis-server counts them. Each loop counts in its own
// table (a plain load and store per command, no shared read-modify-write),
// summed when INFO asks. No clock is read per command: usec is reported as 0.

import Synchronization

/// One loop's counts, by the command's statsIndex (see the file header).
final class KVCommandStats: @unchecked Sendable {
    /// The most commands and subcommands the table may hold.
    static let capacity = 1_024
    enum Count: Int, CaseIterable {
        case calls = 0
        case rejected, failed
    }

    // Atomics in place (three per command): written by the owning loop,
    // read and reset by INFO and CONFIG RESETSTAT from any. The loop's
    // context keeps the pointer, so a count costs no retain.
    let counts: UnsafeMutablePointer<Atomic<Int>>

    init() {
        counts = .allocate(capacity: Self.capacity * Count.allCases.count)
        for index in 0..<Self.capacity * Count.allCases.count { (counts + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: Self.capacity * Count.allCases.count)
        counts.deallocate()
    }

    @inline(__always)
    func bump(_ count: Count, _ spec: KVCommandSpec) {
        Self.bump(count, spec, in: counts)
    }

    @inline(__always)
    static func bump(_ count: Count, _ spec: KVCommandSpec, in counts: UnsafeMutablePointer<Atomic<Int>>) {
        let slot = counts + (spec.statsIndex * Count.allCases.count + count.rawValue)
        slot.pointee.store(slot.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    func value(_ count: Count, _ spec: KVCommandSpec) -> Int {
        counts[spec.statsIndex * Count.allCases.count + count.rawValue].load(ordering: .relaxed)
    }

    /// CONFIG RESETSTAT (a count its loop bumps meanwhile may survive it).
    func reset() {
        for index in 0..<Self.capacity * Count.allCases.count { counts[index].store(0, ordering: .relaxed) }
    }
}
