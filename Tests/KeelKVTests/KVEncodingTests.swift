// Compact encodings and their conversions, as OBJECT ENCODING reports them:
// a collection stays compact up to Redis's limits and converts once past
// one, holding the same members in the same order afterwards.

import KeelTestSupport
import Testing

@testable import KeelKV

@Suite struct KVEncodingTests {
    @Test func stringsAreIntegersOrRaw() {
        let kv = KVHarness()
        kv("SET", "n", "12345")
        #expect(kv("OBJECT", "ENCODING", "n") == bulk("int"))
        kv("SET", "s", "hello")
        #expect(kv("OBJECT", "ENCODING", "s") == bulk("embstr"))
        kv("SET", "long", String(repeating: "x", count: 45))
        #expect(kv("OBJECT", "ENCODING", "long") == bulk("raw"))
        kv("SET", "z", "012")
        #expect(kv("OBJECT", "ENCODING", "z") == bulk("embstr"), "not canonical: kept as bytes")
        #expect(kv("GET", "z") == bulk("012"))
    }

    @Test func hashesConvertPastEitherLimit() {
        let kv = KVHarness()
        for index in 0..<512 { kv("HSET", "h", "f\(index)", "v\(index)") }
        #expect(kv("OBJECT", "ENCODING", "h") == bulk("listpack"))
        let before = kv("HGETALL", "h")
        kv("HSET", "h", "f512", "v512")
        #expect(kv("OBJECT", "ENCODING", "h") == bulk("hashtable"))
        #expect(kv("HLEN", "h") == int(513))
        #expect(kv("HGET", "h", "f77") == bulk("v77"))
        #expect(before.hasPrefix("*1024\r\n"))
        kv("HSET", "wide", "f", String(repeating: "v", count: 65))
        #expect(kv("OBJECT", "ENCODING", "wide") == bulk("hashtable"))
        kv.checkInvariants()
    }

    @Test func setsOfStringsAreTablesAsInRedisSeven() {
        let kv = KVHarness()
        kv("SADD", "s", "3", "1", "2")
        #expect(kv("OBJECT", "ENCODING", "s") == bulk("intset"))
        kv("SADD", "s", "x")
        #expect(kv("OBJECT", "ENCODING", "s") == bulk("hashtable"))
        kv("SADD", "t", "a")
        #expect(kv("OBJECT", "ENCODING", "t") == bulk("hashtable"))
        #expect(kv("SMEMBERS", "s").hasPrefix("*4\r\n"))
        kv.checkInvariants()
    }

    /// 7.2's packed small sets, when set-max-listpack-entries allows them.
    @Test func setsGoFromIntsetToListpackToHashtable() {
        let kv = KVHarness()
        kv("CONFIG", "SET", "set-max-listpack-entries", "128")
        kv("SADD", "s", "3", "1", "2")
        #expect(kv("OBJECT", "ENCODING", "s") == bulk("intset"))
        #expect(kv("SMEMBERS", "s") == bulks("1", "2", "3"))
        kv("SADD", "s", "x")
        #expect(kv("OBJECT", "ENCODING", "s") == bulk("listpack"))
        #expect(kv("SISMEMBER", "s", "2") == int(1))
        for index in 0..<200 { kv("SADD", "s", "m\(index)") }
        #expect(kv("OBJECT", "ENCODING", "s") == bulk("hashtable"))
        #expect(kv("SCARD", "s") == int(204))
        for index in 0..<600 { kv("SADD", "ints", "\(index)") }
        #expect(kv("OBJECT", "ENCODING", "ints") == bulk("hashtable"))
        #expect(kv("SISMEMBER", "ints", "599") == int(1))
        kv.checkInvariants()
    }

    @Test func sortedSetsKeepTheirOrderAcrossTheConversion() {
        let kv = KVHarness()
        for index in 0..<128 { kv("ZADD", "z", "\(index % 10)", "m\(index)") }
        #expect(kv("OBJECT", "ENCODING", "z") == bulk("listpack"))
        let compact = kv("ZRANGE", "z", "0", "-1", "WITHSCORES")
        let compactReversed = kv("ZRANGE", "z", "0", "-1", "REV")
        let compactRank = kv("ZRANK", "z", "m55")
        kv("ZADD", "z", "100", "last")
        #expect(kv("OBJECT", "ENCODING", "z") == bulk("skiplist"))
        kv("ZREM", "z", "last")
        #expect(kv("ZRANGE", "z", "0", "-1", "WITHSCORES") == compact)
        #expect(kv("ZRANGE", "z", "0", "-1", "REV") == compactReversed)
        #expect(kv("ZRANK", "z", "m55") == compactRank)
        #expect(kv("ZCOUNT", "z", "(2", "5") == int(39))
        kv.checkInvariants()
    }

    @Test func packedScoresReadBackExactly() {
        var random = SeededRandom(seed: 9)
        var scores: [Double] = [
            0, -0.0, 1, -1, 127, 128, -128, -129, 255, 256, 32_767, -32_768, 1e15, -1e15, 0x7FFF_FFFF_FFFE,
            -0x7FFF_FFFF_FFFE, 0x7FFF_FFFF_FFFF, 9_007_199_254_740_992, 0.5, -2.25, .infinity, -.infinity, .pi, 1e300,
            Double.leastNonzeroMagnitude,
        ]
        for _ in 0..<10_000 {
            scores.append(Double(Int64.random(in: -(1 << 50)...(1 << 50), using: &random)))
            scores.append(Double(bitPattern: random.next()))
        }
        for score in scores where !score.isNaN {
            let back = KVZSetValue.withScoreBytes(score) { bytes -> Double in
                #expect(bytes.count <= 8)
                return KVZSetValue.score(bytes)
            }
            #expect(back.bitPattern == score.bitPattern, "\(score)")
        }
        #expect(KVZSetValue.withScoreBytes(100) { $0.count } == 1)
        #expect(KVZSetValue.withScoreBytes(0) { $0.count } == 0)
    }

    @Test func listsAreQuicklists() {
        let kv = KVHarness()
        kv("RPUSH", "l", "a", "b", "c")
        #expect(kv("OBJECT", "ENCODING", "l") == bulk("quicklist"))
        #expect(kv("LRANGE", "l", "-2", "-1") == bulks("b", "c"))
        #expect(kv("RPOP", "l") == bulk("c"))
        #expect(kv("LPOP", "l", "5") == bulks("a", "b"))
        #expect(kv("EXISTS", "l") == int(0), "an emptied list is deleted")
    }
}
