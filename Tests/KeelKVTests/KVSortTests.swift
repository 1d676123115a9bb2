// SORT and SORT_RO with the cases Redis documents and the edges the
// differential test also holds against redis-server: numeric and ALPHA
// order, BY and GET patterns (keys and hash fields), LIMIT, STORE.

import Testing

@testable import KeelKV

@Suite struct KVSortTests {
    @Test func sortsNumbersOrBytesAndTakesAWindow() {
        let kv = KVHarness()
        kv("RPUSH", "l", "3", "1", "10", "-5", "1.5")
        #expect(kv("SORT", "l") == bulks("-5", "1", "1.5", "3", "10"))
        #expect(kv("SORT", "l", "DESC", "LIMIT", "1", "2") == bulks("3", "1.5"))
        #expect(kv("SORT", "l", "ALPHA") == bulks("-5", "1", "1.5", "10", "3"))
        #expect(kv("SORT", "l", "BY", "nosort", "DESC") == bulks("1.5", "-5", "10", "1", "3"))
        #expect(kv("SORT", "l", "LIMIT", "9", "2") == "*0\r\n")
        kv("RPUSH", "words", "b", "a")
        #expect(kv("SORT", "words") == "-ERR One or more scores can't be converted into double\r\n")
        #expect(kv("SORT", "missing") == "*0\r\n")
    }

    @Test func patternsNameKeysAndHashFields() {
        let kv = KVHarness()
        kv("RPUSH", "ids", "1", "2", "3")
        kv("MSET", "weight_1", "30", "weight_2", "10", "weight_3", "20", "name_1", "one", "name_3", "three")
        kv("HSET", "user_1", "age", "7")
        kv("HSET", "user_2", "age", "9")
        #expect(kv("SORT", "ids", "BY", "weight_*") == bulks("2", "3", "1"))
        #expect(
            kv("SORT", "ids", "BY", "weight_*", "GET", "name_*", "GET", "#")
                == "*6\r\n$-1\r\n" + bulk("2") + bulk("three") + bulk("3") + bulk("one") + bulk("1"))
        #expect(kv("SORT", "ids", "BY", "user_*->age", "DESC") == bulks("2", "1", "3"))
    }

    @Test func storeWritesAListAndReplacesTheDestination() {
        let kv = KVHarness()
        kv("SADD", "s", "c", "a", "b")
        kv("SET", "dst", "old", "EX", "100")
        #expect(kv("SORT", "s", "ALPHA", "STORE", "dst") == int(3))
        #expect(kv("LRANGE", "dst", "0", "-1") == bulks("a", "b", "c"))
        #expect(kv("TTL", "dst") == int(-1))
        #expect(kv("SORT", "missing", "STORE", "dst") == int(0))
        #expect(kv("EXISTS", "dst") == int(0))
        #expect(kv("SORT_RO", "s", "ALPHA", "STORE", "dst") == "-ERR syntax error\r\n")
        kv("SET", "str", "x")
        #expect(kv("SORT", "str").hasPrefix("-WRONGTYPE"))
        #expect(kv("SORT", "str", "NOPE") == "-ERR syntax error\r\n")
        #expect(kv.auditStore() == nil)
    }
}
