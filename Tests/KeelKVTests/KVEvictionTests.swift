// maxmemory: over its limit the store evicts by its policy before each
// command, and refuses writes when it cannot (noeviction, or no key the
// policy may take), as redis-server does. The memory eviction sees is a
// reading the test controls (a fixed cost per key), so the checks do not
// depend on malloc or on other tests' stores.

import Testing

@testable import KeelKV

/// A memory reading of `bytesPerKey` for each key of a store. The store
/// is held weakly: it holds this reading (a strong reference both ways
/// would leak the store, as LeakSanitizer said).
final class KeyCountMemory: @unchecked Sendable {
    let bytesPerKey: Int
    /// Set once, before the store runs a command; read on its loop only.
    private weak var store: KVStore?

    init(bytesPerKey: Int) { self.bytesPerKey = bytesPerKey }

    func attach(_ store: KVStore) { self.store = store }

    var reading: Int { (store?.count ?? 0) * bytesPerKey }
}

@Suite struct KVEvictionTests {
    /// A harness whose store holds `keys` keys before it is over maxmemory.
    private func harness(policy: String, keys: Int, samples: Int = 5) -> KVHarness {
        let memory = KeyCountMemory(bytesPerKey: 100)
        let kv = KVHarness(memoryReading: { memory.reading })
        memory.attach(kv.store)
        #expect(kv("CONFIG", "SET", "maxmemory", "\(keys * 100)") == ok)
        #expect(kv("CONFIG", "SET", "maxmemory-policy", policy) == ok)
        #expect(kv("CONFIG", "SET", "maxmemory-samples", "\(samples)") == ok)
        return kv
    }

    private func keys(_ kv: KVHarness, _ prefix: String, _ range: Range<Int>) -> Int {
        range.filter { kv("EXISTS", "\(prefix)\($0)") == int(1) }.count
    }

    @Test func noevictionRefusesWritesAndServesTheRest() {
        let kv = harness(policy: "noeviction", keys: 10)
        for index in 0..<11 { #expect(kv("SET", "k\(index)", "v") == ok) }
        let refused = "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
        #expect(kv("SET", "k11", "v") == refused)
        #expect(kv("LPUSH", "list", "a") == refused)
        #expect(kv("GET", "k0") == bulk("v"), "reads go on")
        #expect(kv("DEL", "k0", "k1") == int(2), "deleting goes on")
        #expect(kv("SET", "k11", "v") == ok)
        // Inside MULTI any queued command is refused, and EXEC then aborts.
        kv("SET", "k12", "v")
        #expect(kv("MULTI") == ok)
        #expect(kv("GET", "k2") == refused)
        #expect(kv("EXEC").hasPrefix("-EXECABORT"))
        #expect(kv("DBSIZE") == int(11), "nothing was evicted")
        #expect(kv("INFO", "stats").contains("evicted_keys:0\r\n"))
        kv.checkInvariants()
    }

    @Test func anExecOfWritesQueuedBeforeTheLimitIsAborted() {
        let kv = harness(policy: "noeviction", keys: 5)
        let first = kv.session
        #expect(kv("MULTI") == ok)
        for index in 0..<3 { #expect(kv("SET", "k\(index)", "v") == "+QUEUED\r\n") }
        kv.use(kv.openClient())
        for index in 0..<6 { #expect(kv("SET", "other\(index)", "v") == ok) }
        kv.use(first)
        #expect(
            kv("EXEC")
                == "-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n"
        )
        #expect(kv("EXEC") == "-ERR EXEC without MULTI\r\n", "the transaction was discarded")
        #expect(kv.store.count == 6)
        kv.checkInvariants()
    }

    @Test func allkeysRandomKeepsTheStoreAtItsLimit() {
        let kv = harness(policy: "allkeys-random", keys: 100)
        for index in 0..<1_000 { #expect(kv("SET", "k\(index)", "v") == ok) }
        // Each SET over the limit made room first: at most one key over.
        #expect(kv.store.count == 101)
        #expect(kv.store.evictions == 899)
        // Any command makes room first, INFO too.
        #expect(kv("INFO", "stats").contains("evicted_keys:900\r\n"))
        #expect(kv.store.count == 100)
        #expect(kv("INFO", "memory").contains("maxmemory_policy:allkeys-random\r\n"))
        kv.checkInvariants()
    }

    @Test func volatileTTLTakesTheSoonestToExpireAndNothingElse() {
        // Sampling every candidate: the choice is exact.
        let kv = harness(policy: "volatile-ttl", keys: 60, samples: 1_000)
        for index in 0..<40 { kv("SET", "kept\(index)", "v") }
        for index in 0..<30 { kv("SET", "ttl\(index)", "v", "EX", "\(1_000 + index)") }
        #expect(kv.store.count == 61)
        // The nine keys closest to expiring went, in that order, and the
        // next command (EXISTS) took the tenth.
        #expect(keys(kv, "ttl", 0..<10) == 0)
        #expect(keys(kv, "ttl", 10..<30) == 20)
        #expect(keys(kv, "kept", 0..<40) == 40)
        // Without keys with an expiry left to take, writes are refused.
        for index in 10..<30 { kv("PERSIST", "ttl\(index)") }
        #expect(kv("SET", "more", "v") == ok, "at the limit, not over it")
        #expect(kv("SET", "more2", "v").hasPrefix("-OOM"))
        #expect(kv.store.count == 61)
        kv.checkInvariants()
    }

    @Test func volatileRandomSparesKeysWithoutAnExpiry() {
        let kv = harness(policy: "volatile-random", keys: 50)
        for index in 0..<30 { kv("SET", "kept\(index)", "v") }
        for index in 0..<200 { kv("SET", "ttl\(index)", "v", "PX", "100000") }
        #expect(kv.store.count == 51)
        #expect(keys(kv, "kept", 0..<30) == 30)
        kv.checkInvariants()
    }

    @Test func allkeysLRUKeepsTheKeysInUse() {
        let kv = harness(policy: "allkeys-lru", keys: 200)
        for index in 0..<200 { kv("SET", "hot\(index)", "v") }
        // 50 keys read between writes; 300 new keys push the others out.
        for index in 0..<300 {
            kv("SET", "new\(index)", "v")
            for hot in 0..<50 { kv("GET", "hot\(hot)") }
        }
        // Random eviction would keep about 11 of the 50 (each survives 300
        // draws of 1 in 200 with probability 0.22); the use bit keeps
        // nearly all, and takes the keys nobody read.
        let hotKept = keys(kv, "hot", 0..<50)
        let coldKept = keys(kv, "hot", 50..<200)
        #expect(hotKept >= 40, "\(hotKept) of 50 keys in use kept")
        #expect(coldKept < 75, "\(coldKept) of 150 unused keys kept")
        kv.checkInvariants()
    }

    @Test func theTickEvictsWhenTheLimitIsLowered() {
        let kv = harness(policy: "allkeys-random", keys: 1_000)
        for index in 0..<500 { kv("SET", "k\(index)", "v") }
        #expect(kv("CONFIG", "SET", "maxmemory", "\(100 * 100)") == ok)
        // A tick evicts for at most 1 ms (a debug build may need several).
        var ticks = 0
        while kv.store.count > 100 && ticks < 1_000 {
            kv.tick()
            ticks += 1
        }
        #expect(kv.store.count == 100, "after \(ticks) ticks")
        kv.checkInvariants()
    }

    @Test func aFullCacheDoesNotDoubleItsTableUntilChainsGrowLong() {
        // 1,100 keys fit; 1,024 buckets doubled would take 16 KiB more,
        // past the limit: the table waits (1.07 keys per bucket at most).
        let kv = harness(policy: "allkeys-random", keys: 1_100)
        for index in 0..<3_000 { kv("SET", "k\(index)", "v") }
        #expect(kv.store.count == 1_101)
        #expect(kv.store.shards[0].bucketCount == 1_024)
        // With room to spare it grows as usual.
        #expect(kv("CONFIG", "SET", "maxmemory", "0") == ok)
        kv("SET", "one-more", "v")
        #expect(kv.store.shards[0].bucketCount > 1_024)
        kv.checkInvariants()
    }

    @Test func aTableShortOfMemoryGrowsPastAKeyAndAHalfPerBucket() {
        // Growing would never fit: the table still doubles, at 1.625.
        let memory = KeyCountMemory(bytesPerKey: 0)
        let kv = KVHarness(memoryReading: { memory.reading + 1_000_000 })
        memory.attach(kv.store)
        #expect(kv("CONFIG", "SET", "maxmemory", "1000001") == ok)
        #expect(kv("CONFIG", "SET", "maxmemory-policy", "allkeys-random") == ok)
        var largest = 0
        for index in 0..<5_000 {
            kv("SET", "k\(index)", "v")
            // (A table of a few buckets overshoots by a key's share.)
            if index >= 100 { largest = max(largest, kv.store.count * 8 / kv.store.shards[0].bucketCount) }
        }
        #expect(kv.store.count == 5_000, "nothing to evict for: the keys cost nothing")
        #expect(largest <= 13, "at most 1.625 keys per bucket (\(largest) eighths)")
        kv.checkInvariants()
    }

    @Test func configAndFlagsSpeakRedisWords() {
        let kv = KVHarness()
        #expect(kv("CONFIG", "GET", "maxmemory") == bulks("maxmemory", "0"))
        #expect(kv("CONFIG", "SET", "maxmemory", "100mb") == ok)
        #expect(kv("CONFIG", "GET", "maxmemory") == bulks("maxmemory", "104857600"))
        #expect(
            kv("CONFIG", "SET", "maxmemory", "-1")
                == "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"
        )
        #expect(kv("CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU") == ok)
        #expect(kv("CONFIG", "GET", "maxmemory-policy") == bulks("maxmemory-policy", "allkeys-lru"))
        #expect(
            kv("CONFIG", "SET", "maxmemory-policy", "foo")
                == "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n"
        )
        #expect(kv("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu").hasPrefix("-ERR CONFIG SET failed"))
        #expect(kv("CONFIG", "GET", "maxmemory-policy") == bulks("maxmemory-policy", "allkeys-lru"))
        #expect(kv("CONFIG", "SET", "maxmemory-samples", "0").hasPrefix("-ERR CONFIG SET failed"))
        #expect(kv("CONFIG", "SET", "maxmemory-samples", "10") == ok)
        #expect(kv("INFO", "memory").contains("maxmemory:104857600\r\nmaxmemory_human:100.00M\r\n"))
        #expect(KVSettings.parseMemory("2gb") == 2 << 30)
        #expect(KVSettings.parseMemory("12x") == nil)
        #expect(KVSettings.parseMemory("") == nil)
        #expect(KVSettings.parseMemory("18446744073709551615") == Int.max)
        #expect(kv("CONFIG", "SET", "maxmemory", "18446744073709551615") == ok)
        #expect(kv("CONFIG", "GET", "maxmemory") == bulks("maxmemory", "9223372036854775807"))
        #expect(KVSettings(maxMemory: 1_000, evictionPolicy: "volatile-ttl").evictionPolicy == .volatileTTL)
    }

    @Test func aUsedKeyKeepsItsBitAndItsLength() throws {
        for length in [0, 1, 127, 128, 300] {
            let key = [UInt8](repeating: 0x61, count: length)
            let entry = try #require(
                key.withUnsafeBytes { KVEntry.make(key: $0, value: .integer(7), expireAtMs: nil) })
            #expect(!entry.wasUsed, "a new key starts unused")
            entry.markUsed()
            #expect(entry.wasUsed && entry.keyLength == length && entry.integer == 7)
            entry.clearUsed()
            #expect(!entry.wasUsed)
            #expect(entry.keyLength == length)
            KVObjects.releaseEntry(entry)
        }
    }
}
