// DEBUG: who may run it, digests that follow content and not encoding,
// OBJECT's address kept by an in-place INCR, and SET-ACTIVE-EXPIRE
// stopping the loop's expiry while reads still expire keys.

import Testing

@testable import KeelKV

@Suite struct KVDebugTests {
    private func digests(_ kv: KVHarness, _ keys: String...) -> [Substring] {
        String(decoding: kv.run((["DEBUG", "DIGEST-VALUE"] + keys).map { Array($0.utf8) }), as: UTF8.self).split(
            separator: "\r\n"
        ).filter { $0.hasPrefix("+") }
    }

    @Test func digestsFollowWhatAValueHoldsNotHowItIsHeld() {
        let kv = KVHarness()
        #expect(kv("DEBUG", "DIGEST") == "+" + String(repeating: "0", count: 40) + "\r\n")
        kv("CONFIG", "SET", "set-max-listpack-entries", "128")
        kv("SADD", "packed", "c", "b", "a")
        #expect(kv("OBJECT", "ENCODING", "packed") == bulk("listpack"))
        kv("CONFIG", "SET", "set-max-listpack-entries", "0")
        kv("SADD", "table", "a", "b", "c")
        #expect(kv("OBJECT", "ENCODING", "table") == bulk("hashtable"))
        kv("RPUSH", "l1", "a", "b")
        kv("RPUSH", "l2", "b", "a")
        kv("HSET", "h1", "f", "v", "g", "w")
        kv("HSET", "h2", "g", "w", "f", "v")
        kv("HSET", "h3", "f", "w", "g", "v")
        let values = digests(kv, "packed", "table", "l1", "l2", "h1", "h2", "h3", "missing")
        #expect(values.count == 8)
        #expect(values[0] == values[1], "a set's digest does not depend on its encoding")
        #expect(values[2] != values[3], "a list's order counts")
        #expect(values[4] == values[5] && values[4] != values[6], "a hash's pairs count, not their order")
        #expect(values[7] == "+" + String(repeating: "0", count: 40))
        let before = kv("DEBUG", "DIGEST")
        kv("EXPIRE", "l1", "100")
        #expect(kv("DEBUG", "DIGEST") != before, "an expiry is part of the keyspace's digest")
        #expect(kv("DEBUG", "RELOAD") == ok)
        #expect(kv("SMEMBERS", "packed").hasPrefix("*3\r\n"))
    }

    @Test func objectTellsTheEncodingAndAnInPlaceIncrKeepsTheAddress() {
        let kv = KVHarness()
        kv("SET", "foo", "20000")
        kv("INCR", "foo")
        let first = kv("DEBUG", "OBJECT", "foo")
        kv("INCR", "foo")
        let second = kv("DEBUG", "OBJECT", "foo")
        #expect(first.hasPrefix("+Value at:0x") && first.contains(" encoding:int "))
        #expect(first.split(separator: " ")[1] == second.split(separator: " ")[1])
        kv("CONFIG", "SET", "list-max-listpack-size", "2")
        kv("RPUSH", "l", "a", "b", "c", "d", "e")
        #expect(kv("DEBUG", "OBJECT", "l").contains(" ql_nodes:3 ql_avg_node:1.66 ql_listpack_max:2 "))
        #expect(kv("DEBUG", "OBJECT", "missing") == "-ERR no such key\r\n")
        #expect(kv("DEBUG", "NOPE").hasPrefix("-ERR unknown subcommand or wrong number of arguments for 'NOPE'"))
        #expect(kv("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1b") == ok)
        #expect(kv("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0") == ok)
        #expect(kv("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb").hasPrefix("-ERR argument must be a memory value"))
    }

    @Test func setActiveExpireZeroLeavesExpiredKeysToTheirReaders() {
        let kv = KVHarness()
        #expect(kv("DEBUG", "SET-ACTIVE-EXPIRE", "0") == ok)
        for index in 0..<100 { kv("SET", "k\(index)", "v", "PX", "10") }
        kv.clock.advance(by: 20)
        for _ in 0..<50 { kv.tick() }
        #expect(kv.store.volatileCount == 100, "no tick removed one")
        #expect(kv("GET", "k0") == nullBulk, "a read still expires it")
        #expect(kv("DEBUG", "SET-ACTIVE-EXPIRE", "1") == ok)
        for _ in 0..<50 { kv.tick() }
        #expect(kv.store.volatileCount == 0)
    }

    @Test func onlyTheConnectionsTheFlagAllowsMayRunIt() {
        let refused = KVHarness(settings: KVSettings(debugAccess: .no))
        #expect(refused("DEBUG", "SLEEP", "0").hasPrefix("-ERR DEBUG command not allowed."))
        let open = KVHarness(settings: KVSettings(debugAccess: .yes))
        #expect(open("DEBUG", "SLEEP", "0") == ok)
        // The harness's clients connect from 127.0.0.1: local ones.
        #expect(KVHarness()("DEBUG", "SLEEP", "0") == ok)
    }
}
