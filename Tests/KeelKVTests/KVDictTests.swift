// KVDict, through a shard, against a Swift Set: random inserts, finds and
// removals across many resizes, with the invariants checked as it goes; a
// resize spread over the operations; SCAN's guarantee across resizes.

import KeelPosix
import KeelTestSupport
import Testing

@testable import KeelKV

@Suite struct KVDictTests {
    /// These tests hash without a store: the seed is set first, as a
    /// store's init sets it (else the first store made by a test running
    /// beside these writes it while they read it).
    init() {
        ByteHash.prepare()
    }

    static func add(_ shard: KVShard, _ key: String, expireAtMs: Int64? = nil) {
        Array(key.utf8).withUnsafeBytes { bytes in
            let entry = KVEntry.make(key: bytes, value: .integer(1), expireAtMs: expireAtMs)!
            #expect(shard.insert(entry, hash: ByteHash.hash(bytes)))
        }
    }

    static func find(_ shard: KVShard, _ key: String) -> KVSlot? {
        Array(key.utf8).withUnsafeBytes { shard.find($0, hash: ByteHash.hash($0), nowMs: 0) }
    }

    @Test func randomOperationsMatchASet() {
        var random = SeededRandom(seed: 3)
        let shard = KVShard()
        var model = Set<String>()
        for step in 0..<60_000 {
            // Grow, then shrink, then grow again: every phase resizes.
            let phase = step / 20_000
            let key = "k\(Int.random(in: 0..<8_000, using: &random))"
            let insertBias = phase == 1 ? 2 : 7
            if Int.random(in: 0..<10, using: &random) < insertBias {
                if Self.find(shard, key) == nil {
                    Self.add(shard, key)
                    model.insert(key)
                } else {
                    #expect(model.contains(key))
                }
            } else if let slot = Self.find(shard, key) {
                shard.remove(slot)
                #expect(model.remove(key) != nil)
            } else {
                #expect(!model.contains(key))
            }
            if step % 1_000 == 0 { shard.checkInvariants() }
        }
        shard.checkInvariants()
        #expect(shard.count == model.count)
        var seen = Set<String>()
        shard.forEachEntry { seen.insert(String(decoding: $0.key, as: UTF8.self)) }
        #expect(seen == model)
    }

    @Test func growingMovesABucketPerOperationNotTheWholeTable() {
        let shard = KVShard()
        for index in 0..<65_536 { Self.add(shard, "key:\(index)") }
        // The table is full (load 1): the next insertion starts a resize.
        while shard.dict.isRehashing { _ = shard.rehash(buckets: 1_000) }
        Self.add(shard, "one more")
        #expect(shard.dict.isRehashing)
        #expect(shard.dict.secondary.used <= 4, "a resize moved \(shard.dict.secondary.used) entries at once")
        // Each operation after it moves about one bucket.
        for index in 0..<100 { _ = Self.find(shard, "key:\(index)") }
        #expect(shard.dict.secondary.used < 1_000)
        shard.checkInvariants()
        // The loop's ticks finish it.
        var ticks = 0
        while shard.rehash(buckets: KVMaintenance.rehashBucketsPerTick) { ticks += 1 }
        #expect(ticks >= 32 && !shard.dict.isRehashing)
        shard.checkInvariants()
    }

    /// A replica's snapshot walks a shard by bucket position with resizing
    /// paused, here in the middle of a resize: keys deleted and added again
    /// meanwhile (behind and ahead of the walk) must not be met twice.
    @Test func aPausedWalkMeetsEachKeyOnceWhateverIsReAdded() {
        var random = SeededRandom(seed: 11)
        let shard = KVShard()
        for index in 0..<65_536 { Self.add(shard, "key:\(index)") }
        while shard.dict.isRehashing { _ = shard.rehash(buckets: 1_000) }
        Self.add(shard, "grows")
        _ = shard.rehash(buckets: 5_000)
        #expect(shard.dict.isRehashing, "the walk starts halfway through a resize")
        shard.beginSnapshotWalk()
        var met = Set<[UInt8]>()
        var position: Int? = 0
        while let start = position {
            position = shard.forEachEntry(fromBucket: start, buckets: 64) { entry in
                #expect(
                    met.insert(Array(entry.key)).inserted, "\(String(decoding: entry.key, as: UTF8.self)) met twice")
            }
            // Delete and add again keys on both sides of the walk.
            for _ in 0..<50 {
                let key = "key:\(Int.random(in: 0..<65_536, using: &random))"
                if let slot = Self.find(shard, key) {
                    shard.remove(slot)
                    Self.add(shard, key)
                }
            }
        }
        #expect(met.count >= 65_536)
        shard.endSnapshotWalk()
        while shard.rehash(buckets: 1_000) {}
        shard.checkInvariants()
    }

    /// A small hash's or set's table is one object of malloc's 80-byte
    /// class (16 B of object header and the dict's 56): a stored pause flag
    /// took it to the 96-byte class, 16 B more per key of 100k sets.
    @Test func aValuesTableStoresNoPauseFlag() {
        #expect(MemoryLayout<KVDict<KVFieldLayout>>.size == 56)
        #expect(MemoryLayout<KVDict<KVZNodeLayout>>.size == 56)
        #expect(MemoryLayout<KVDict<KVKeyLayout>>.size == 57)
        let table = KVFieldTable()
        #expect(HeapMemory.blockBytes(Unmanaged.passUnretained(table).toOpaque()) <= 72)
        withExtendedLifetime(table) {}
    }

    @Test func aSparseTableShrinks() {
        let shard = KVShard()
        for index in 0..<10_000 { Self.add(shard, "key:\(index)") }
        while shard.rehash(buckets: 10_000) {}
        let grown = shard.dict.bucketCount
        for index in 0..<9_990 { shard.remove(Self.find(shard, "key:\(index)")!) }
        while shard.rehash(buckets: 10_000) {}
        #expect(shard.dict.bucketCount <= 8 * 10 && grown >= 8_192, "\(grown) buckets, then \(shard.dict.bucketCount)")
        shard.checkInvariants()
    }

    @Test func scanVisitsEveryKeyPresentThroughoutAcrossResizes() {
        var random = SeededRandom(seed: 5)
        let shard = KVShard()
        for index in 0..<3_000 { Self.add(shard, "stay:\(index)") }
        var visited = Set<String>()
        var cursor: UInt64 = 0
        var steps = 0
        var added = 0
        var removed = 0
        repeat {
            // As SCAN with COUNT 10: about ten buckets per call.
            for _ in 0..<10 where steps == 0 || cursor != 0 {
                cursor = shard.scan(cursor) { visited.insert(String(decoding: $0.key, as: UTF8.self)) }
                steps += 1
            }
            // Between calls the table grows (and rehashes), then shrinks.
            if added < 12_000 {
                for _ in 0..<20 {
                    Self.add(shard, "new:\(added)")
                    added += 1
                }
            } else if removed < added {
                for _ in 0..<40 where removed < added {
                    shard.remove(Self.find(shard, "new:\(removed)")!)
                    removed += 1
                }
            }
            _ = shard.rehash(buckets: Int.random(in: 1..<8, using: &random))
        } while cursor != 0 && steps < 1_000_000
        #expect(cursor == 0)
        let missing = (0..<3_000).filter { !visited.contains("stay:\($0)") }
        #expect(missing.isEmpty, "\(missing.count) keys never returned")
        shard.checkInvariants()
    }

    @Test func expiredKeysAreDeletedWhenFound() {
        let shard = KVShard()
        Self.add(shard, "old", expireAtMs: 100)
        Self.add(shard, "new", expireAtMs: 10_000)
        #expect(shard.volatileCount == 2)
        let found = Array("old".utf8).withUnsafeBytes { shard.find($0, hash: ByteHash.hash($0), nowMs: 100) }
        #expect(found == nil && shard.count == 1 && shard.expirations == 1 && shard.volatileCount == 1)
        shard.checkInvariants()
    }

    /// The clock is read only for a key with an expiry (a read was 3% of a
    /// SET's CPU at pipeline 16); a missing key and a key without one need
    /// no time.
    @Test func findingReadsTheClockOnlyForAKeyWithAnExpiry() {
        let shard = KVShard()
        Self.add(shard, "plain")
        Self.add(shard, "timed", expireAtMs: 10_000)
        var reads = 0
        func clock() -> Int64 {
            reads += 1
            return 5_000
        }
        for key in ["plain", "absent", "plain"] {
            _ = Array(key.utf8).withUnsafeBytes { shard.find($0, hash: ByteHash.hash($0), nowMs: clock()) }
        }
        #expect(reads == 0)
        let timed = Array("timed".utf8).withUnsafeBytes { shard.find($0, hash: ByteHash.hash($0), nowMs: clock()) }
        #expect(timed != nil && reads == 1)
    }
}

/// SRANDMEMBER with a negative count draws with replacement: from a table
/// (small, and large enough for the rejection sampling), every member must
/// come up about equally often (Redis's own test: chi-square below 40 for
/// ten members; picking a bucket and then a chain's entry failed it).
@Suite struct KVRandomMemberTests {
    private func chiSquare(_ kv: KVHarness, _ key: String, members: Int, draws: Int) -> Double {
        let reply = kv("SRANDMEMBER", key, "-\(draws)")
        var counts: [Substring: Int] = [:]
        for line in reply.split(separator: "\r\n") where !line.hasPrefix("*") && !line.hasPrefix("$") {
            counts[line, default: 0] += 1
        }
        let expected = Double(draws) / Double(members)
        let seen = counts.values.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        return seen + Double(members - counts.count) * expected
    }

    @Test func aTablesMembersComeUpEquallyOften() {
        let kv = KVHarness()
        _ = kv.run([Array("SADD".utf8), Array("small".utf8)] + (0..<10).map { Array("member\($0)".utf8) })
        _ = kv.run([Array("SADD".utf8), Array("large".utf8)] + (0..<1_000).map { Array("member\($0)".utf8) })
        #expect(kv("OBJECT", "ENCODING", "small") == bulk("hashtable"))
        // df 9: above 40 one time in 100,000; df 999: 1,200 is far out.
        #expect(chiSquare(kv, "small", members: 10, draws: 10_000) < 40)
        #expect(chiSquare(kv, "large", members: 1_000, draws: 20_000) < 1_200)
    }
}
