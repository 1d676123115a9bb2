// Expiry on a clock the test moves: keys vanish when their time comes, on
// access (lazy) and by the loop's ticks (active), and the ticks keep the
// share of expired keys still held small without touching the others.

import Testing

@testable import KeelKV

@Suite struct KVExpiryTests {
    @Test func aKeyExpiresAtItsTime() {
        let kv = KVHarness()
        #expect(kv("SET", "k", "v", "PX", "1500") == ok)
        #expect(kv("PTTL", "k") == int(1_500))
        kv.clock.advance(by: 1_499)
        #expect(kv("GET", "k") == bulk("v"))
        kv.clock.advance(by: 1)
        #expect(kv("GET", "k") == nullBulk)
        #expect(kv("EXISTS", "k") == int(0))
        #expect(kv("DBSIZE") == int(0))
        kv.checkInvariants()
    }

    @Test func writesKeepOrDropTheExpiryAsRedisDoes() {
        let kv = KVHarness()
        kv("SET", "k", "1", "EX", "100")
        #expect(kv("INCR", "k") == int(2))
        #expect(kv("TTL", "k") == int(100), "INCR keeps the expiry")
        #expect(kv("SET", "k", "v", "KEEPTTL") == ok)
        #expect(kv("TTL", "k") == int(100))
        #expect(kv("SET", "k", "w") == ok)
        #expect(kv("TTL", "k") == int(-1), "a plain SET drops it")
        kv("EXPIRE", "k", "50")
        #expect(kv("PERSIST", "k") == int(1))
        #expect(kv("TTL", "k") == int(-1))
        #expect(kv("EXPIRE", "k", "0") == int(1), "a past time deletes")
        #expect(kv("EXISTS", "k") == int(0))
        kv("RPUSH", "list", "a")
        kv("PEXPIRE", "list", "10")
        kv("RPUSH", "list", "b")
        #expect(kv("PTTL", "list") == int(10), "changing a collection keeps it")
        kv.checkInvariants()
    }

    @Test func ticksDeleteExpiredKeysNobodyReads() {
        let kv = KVHarness()
        for index in 0..<20_000 {
            kv("SET", "gone:\(index)", "x", "PX", "100")
            kv("SET", "kept:\(index)", "x")
            if index % 4 == 0 { kv("SET", "later:\(index)", "x", "EX", "3600") }
        }
        #expect(kv.store.volatileCount == 25_000)
        kv.clock.advance(by: 101)
        var ticks = 0
        while kv.store.volatileCount > 5_000 + 20_000 / 10 && ticks < 10_000 {
            kv.tick()
            ticks += 1
        }
        // Redis's promise: about a tenth of the volatile keys may still be
        // expired ones waiting; here the ticks went on until that share.
        #expect(kv.store.volatileCount <= 7_000, "after \(ticks) ticks")
        #expect(kv("DBSIZE") == int(kv.store.volatileCount + 20_000))
        // Nothing that had not expired was touched.
        for index in stride(from: 0, to: 20_000, by: 4) { #expect(kv("EXISTS", "later:\(index)") == int(1)) }
        #expect(kv.store.expirations + kv.store.volatileCount == 25_000)
        kv.checkInvariants()
    }

    @Test func aTickDoesBoundedWork() {
        let kv = KVHarness()
        for index in 0..<50_000 { kv("SET", "k:\(index)", "x", "PX", "10") }
        kv.clock.advance(by: 11)
        kv.tick()
        // One tick may not take them all (a 1 ms budget); it takes some.
        let left = kv.store.volatileCount
        #expect(left < 50_000)
        kv.checkInvariants()
    }
}
