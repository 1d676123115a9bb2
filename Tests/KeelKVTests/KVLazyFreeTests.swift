// Freeing in the background: UNLINK of large collections and FLUSHALL
// ASYNC take the keys out at once and free them on the freer's thread; the
// store stays whole (run under ASan, a double or early free shows).

import Testing

@testable import KeelKV

@Suite struct KVLazyFreeTests {
    @Test func unlinkTakesLargeCollectionsOutAtOnce() {
        let kv = KVHarness()
        for index in 0..<500 {
            kv("RPUSH", "list", String(repeating: "e", count: 100) + "\(index)")
            kv("HSET", "hash", "field\(index)", "value")
            kv("ZADD", "zset", "\(index)", "member\(index)")
            kv("SADD", "set", "member\(index)")
        }
        kv("SET", "string", "value")
        #expect(kv("UNLINK", "list", "hash", "zset", "set", "string", "missing") == int(5))
        #expect(kv("DBSIZE") == int(0))
        KVLazyFree.shared.drain()
        kv.checkInvariants()
    }

    @Test func flushallAsyncEmptiesTheStoreAtOnce() {
        for loops in [1, 2] {
            let kv = KVHarness(loops: loops)
            for index in 0..<50_000 { kv("SET", "key:\(index)", "value", "EX", "100") }
            kv("RPUSH", "list", "a", "b")
            #expect(kv("FLUSHALL", "ASYNC") == ok)
            #expect(kv("DBSIZE") == int(0))
            #expect(kv.store.volatileCount == 0)
            kv("SET", "after", "1")
            #expect(kv("GET", "after") == bulk("1"))
            KVLazyFree.shared.drain()
            kv.checkInvariants()
        }
    }

    @Test func aLargeTablesOldBucketsAreFreedInTheBackground() {
        let kv = KVHarness()
        // 2^17 buckets (1 MiB) and more are handed to the freer as the table grows past them.
        for index in 0..<300_000 { kv("SET", "k\(index)", "v") }
        while kv.store.shards[0].rehash(buckets: 100_000) {}
        KVLazyFree.shared.drain()
        #expect(kv("DBSIZE") == int(300_000))
        kv.checkInvariants()
    }
}
