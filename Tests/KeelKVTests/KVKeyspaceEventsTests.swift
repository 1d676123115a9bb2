// Keyspace notifications: what each change announces, on which channel,
// in redis-server's order (the differential scenario checks many more
// commands against redis-server itself); the store's own removals
// (expiry found on access or by the active cycle, eviction) too.

import Testing

@testable import KeelKV

@Suite struct KVKeyspaceEventsTests {
    /// A RESP3 subscriber to every key event of `kv`; commands go to a new client.
    static func listening(_ kv: KVHarness, _ classes: String) -> KVSession {
        kv("CONFIG", "SET", "notify-keyspace-events", classes)
        let listener = kv.openClient()
        kv.use(listener)
        kv("HELLO", "3")
        kv("PSUBSCRIBE", "__key*__:*")
        kv.use(kv.openClient())
        return listener
    }

    /// The (channel, message) pairs delivered since the last look.
    static func events(_ kv: KVHarness) -> [String] {
        kv.delivered().map { delivery in
            // >4 $8 pmessage $n pattern $n channel $n message
            let parts = delivery.text.split(separator: "\r\n").map(String.init)
            return parts[6] + " " + parts[8]
        }
    }

    @Test func classesAreReadAndShownAsRedisServerShowsThem() {
        let kv = KVHarness()
        #expect(kv("CONFIG", "GET", "notify-keyspace-events") == bulks("notify-keyspace-events", ""))
        kv("CONFIG", "SET", "notify-keyspace-events", "KEA")
        #expect(kv("CONFIG", "GET", "notify-keyspace-events") == bulks("notify-keyspace-events", "AKE"))
        kv("CONFIG", "SET", "notify-keyspace-events", "Elgn$m")
        #expect(kv("CONFIG", "GET", "notify-keyspace-events") == bulks("notify-keyspace-events", "g$lnEm"))
        #expect(
            kv("CONFIG", "SET", "notify-keyspace-events", "Q")
                == "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"
        )
    }

    @Test func writesAnnounceOnBothChannelsInOrder() {
        let kv = KVHarness()
        _ = Self.listening(kv, "KEA")
        kv("SET", "k", "v", "EX", "100")
        #expect(
            Self.events(kv) == [
                "__keyspace@0__:k set", "__keyevent@0__:set k", "__keyspace@0__:k expire", "__keyevent@0__:expire k",
            ])
        kv("RPUSH", "l", "a")
        kv("LMOVE", "l", "m", "LEFT", "RIGHT")
        #expect(
            Self.events(kv).filter { $0.hasPrefix("__keyevent") } == [
                "__keyevent@0__:rpush l", "__keyevent@0__:rpush m", "__keyevent@0__:lpop l", "__keyevent@0__:del l",
            ])
        kv("SADD", "s", "x")
        kv("SADD", "s", "x")
        kv("SREM", "s", "x", "y")
        #expect(
            Self.events(kv).filter { $0.hasPrefix("__keyevent") } == [
                "__keyevent@0__:sadd s", "__keyevent@0__:srem s", "__keyevent@0__:del s",
            ])
    }

    @Test func onlyTheClassesAskedForAreAnnounced() {
        let kv = KVHarness()
        _ = Self.listening(kv, "Kn")
        kv("SET", "k", "v")
        kv("SET", "k", "w")
        #expect(Self.events(kv) == ["__keyspace@0__:k new"])
        kv("CONFIG", "SET", "notify-keyspace-events", "Em")
        kv("GET", "missing")
        kv("SET", "missing2", "v")
        #expect(Self.events(kv) == ["__keyevent@0__:keymiss missing"])
        kv("CONFIG", "SET", "notify-keyspace-events", "")
        kv("DEL", "k")
        #expect(Self.events(kv).isEmpty)
    }

    /// As redis-server 7.0.15 (checked side by side): a *STORE over a key
    /// overwrites it (no "new"), a bit set to what it was changes nothing,
    /// and every read-only lookup that misses is a keymiss.
    @Test func overwritesNoOpsAndMissesAsRedisServerAnnouncesThem() {
        let kv = KVHarness()
        _ = Self.listening(kv, "En$")
        kv("SADD", "s", "a")
        kv("SET", "dst", "x")
        #expect(Self.events(kv) == ["__keyevent@0__:new s", "__keyevent@0__:new dst", "__keyevent@0__:set dst"])
        kv("SINTERSTORE", "dst", "s")
        kv("SORT", "s", "ALPHA", "STORE", "dst")
        kv("ZUNIONSTORE", "dst", "1", "s")
        #expect(Self.events(kv).isEmpty, "no new: the destination was there")
        kv("SETBIT", "b", "3", "1")
        kv("SETBIT", "b", "3", "1")
        #expect(Self.events(kv) == ["__keyevent@0__:new b", "__keyevent@0__:setbit b"])
        kv("CONFIG", "SET", "notify-keyspace-events", "Em")
        kv("EXISTS", "nokey")
        kv("MGET", "nokey", "b")
        kv("TTL", "nokey")
        kv("SCAN", "0")
        kv("DEL", "nokey")
        #expect(Self.events(kv) == Array(repeating: "__keyevent@0__:keymiss nokey", count: 3))
    }

    @Test func expiriesFoundOnAccessOrByTheCycleAreAnnounced() {
        let kv = KVHarness()
        _ = Self.listening(kv, "Ex")
        kv("SET", "a", "1", "PX", "10")
        kv.clock.advance(by: 20)
        #expect(kv("GET", "a") == nullBulk)
        kv.tick()
        #expect(Self.events(kv) == ["__keyevent@0__:expired a"], "found by GET, announced by the tick")
        kv("SET", "b", "1", "PX", "10")
        kv.clock.advance(by: 20)
        for _ in 0..<20 { kv.tick() }
        #expect(Self.events(kv) == ["__keyevent@0__:expired b"], "found by the active cycle")
    }

    @Test func evictionsAreAnnounced() {
        let memory = KeyCountMemory(bytesPerKey: 100)
        let kv = KVHarness(memoryReading: { memory.reading })
        memory.attach(kv.store)
        // The listener is a client, not a key: the limit counts keys.
        _ = Self.listening(kv, "Ee")
        kv("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        kv("SET", "victim", "v")
        kv("CONFIG", "SET", "maxmemory", "50")
        kv("SET", "other", "v")
        kv.tick()
        let events = Self.events(kv)
        #expect(events.first == "__keyevent@0__:evicted victim", "before SET, then the tick's own")
        #expect(events.allSatisfy { $0.hasPrefix("__keyevent@0__:evicted ") })
    }
}
