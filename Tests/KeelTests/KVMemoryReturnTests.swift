// When keel-kv gives the memory of removed keys back to the system.

import Glibc
import Testing

@testable import Keel
@testable import KeelKV

@Suite struct KVMemoryReturnTests {
    /// Memory goes back once many keys were removed and removals paused for
    /// a tick, at most once a second; never while nothing was removed.
    @Test func memoryReturnsAfterABurstOfRemovals() {
        var memory = KVMemoryReturn()
        var due = false
        due = memory.isDue(removals: 0, nowMs: 0) { 0 }
        #expect(!due)
        due = memory.isDue(removals: 9_999, nowMs: 100) { 0 }
        #expect(!due, "too few")
        due = memory.isDue(removals: 2_000_000, nowMs: 200) { 0 }
        #expect(!due, "still removing")
        due = memory.isDue(removals: 2_000_000, nowMs: 300) { 0 }
        #expect(due, "removals paused: return")
        due = memory.isDue(removals: 2_000_000, nowMs: 400) { 0 }
        #expect(!due, "once")
        due = memory.isDue(removals: 2_100_000, nowMs: 500) { 0 }
        #expect(!due)
        due = memory.isDue(removals: 2_100_000, nowMs: 600) { 0 }
        #expect(!due, "not within a second of the last")
        due = memory.isDue(removals: 2_100_000, nowMs: 1_300) { 0 }
        #expect(due)
    }

    /// A cache whose keys come and go at a steady count (a TTL cache) never
    /// trims: it reuses what it frees, and a trim would hold every request
    /// for the heap walk. Once the store falls to half its peak, it does.
    @Test func aSteadyKeyCountNeverTrims() {
        var memory = KVMemoryReturn()
        var removals = 0
        for tick in 0..<2_000 {
            // 20,000 removals a second, pausing every tenth tick; 3,000 keys live.
            if tick % 10 != 0 { removals += 80 }
            #expect(!memory.isDue(removals: removals, nowMs: Int64(tick * 4)) { 3_000 }, "tick \(tick)")
        }
        #expect(memory.isDue(removals: removals + 100_000, nowMs: 10_000) { 3_000 } == false, "still removing")
        #expect(memory.isDue(removals: removals + 100_000, nowMs: 10_004) { 1_000 }, "shrank below half")
    }
}
