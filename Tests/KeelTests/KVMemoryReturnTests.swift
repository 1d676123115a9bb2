// When keel-kv gives the memory of removed values back to the system.

import Glibc
import Testing

@testable import Keel
@testable import KeelKV

@Suite struct KVMemoryReturnTests {
    static let mebibyte = 1 << 20

    /// Memory goes back once the store fell to half its peak, by 16 MiB or
    /// more, and stopped falling for a tick; at most once a second.
    @Test func memoryReturnsOnceTheStoreHasShrunk() {
        let mb = Self.mebibyte
        var memory = KVMemoryReturn()
        func due(_ bytes: Int, _ nowMs: Int64) -> Bool { memory.isDue(usedBytes: bytes, nowMs: nowMs) }
        #expect(!due(0, 0))
        #expect(!due(300 * mb, 100), "growing")
        #expect(!due(160 * mb, 200), "above half the peak")
        #expect(!due(40, 300), "still falling")
        #expect(due(40, 400), "fell and stopped: return")
        #expect(!due(40, 500), "once")
        #expect(!due(100 * mb, 600))
        #expect(!due(10 * mb, 700))
        #expect(!due(10 * mb, 800), "not within a second of the last")
        #expect(due(10 * mb, 1_500))
    }

    /// A small store's frees, however many, are not worth a heap walk.
    @Test func aSmallFallNeverTrims() {
        var memory = KVMemoryReturn()
        func due(_ bytes: Int, _ nowMs: Int64) -> Bool { memory.isDue(usedBytes: bytes, nowMs: nowMs) }
        for tick in 0..<100 {
            let bytes = tick % 2 == 0 ? 15 * Self.mebibyte : 0
            #expect(!due(bytes, Int64(tick) * 1_000), "tick \(tick)")
        }
    }

    /// A cache whose size holds steady while keys come and go (a TTL cache)
    /// never trims: it reuses what it frees, and a trim would hold every
    /// request for the heap walk. Once the store falls to half its peak, it does.
    @Test func aSteadySizeNeverTrims() {
        let mb = Self.mebibyte
        var memory = KVMemoryReturn()
        func due(_ bytes: Int, _ nowMs: Int64) -> Bool { memory.isDue(usedBytes: bytes, nowMs: nowMs) }
        for tick in 0..<2_000 {
            // 300 MiB, give or take a tenth as keys expire and arrive.
            let bytes = 300 * mb + (tick % 20 - 10) * 3 * mb
            #expect(!due(bytes, Int64(tick * 4)), "tick \(tick)")
        }
        #expect(!due(100 * mb, 10_000), "still falling")
        #expect(due(100 * mb, 10_004), "shrank below half")
    }
}
