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
        due = memory.isDue(removals: 0, nowMs: 0)
        #expect(!due)
        due = memory.isDue(removals: 9_999, nowMs: 100)
        #expect(!due, "too few")
        due = memory.isDue(removals: 2_000_000, nowMs: 200)
        #expect(!due, "still removing")
        due = memory.isDue(removals: 2_000_000, nowMs: 300)
        #expect(due, "removals paused: return")
        due = memory.isDue(removals: 2_000_000, nowMs: 400)
        #expect(!due, "once")
        due = memory.isDue(removals: 2_100_000, nowMs: 500)
        #expect(!due)
        due = memory.isDue(removals: 2_100_000, nowMs: 600)
        #expect(!due, "not within a second of the last")
        due = memory.isDue(removals: 2_100_000, nowMs: 1_300)
        #expect(due)
    }
}
