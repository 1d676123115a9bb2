// LCS with Redis's documented example and the edges the differential test
// also holds against redis-server: which subsequence is chosen, the ranges
// (last first), MINMATCHLEN, the errors and the table-size refusal.

import Testing

@testable import KeelKV

@Suite struct KVLCSTests {
    private func pair(_ a: (Int, Int), _ b: (Int, Int), _ length: Int? = nil) -> String {
        let ranges = "*2\r\n" + int(a.0) + int(a.1) + "*2\r\n" + int(b.0) + int(b.1)
        guard let length else { return "*2\r\n" + ranges }
        return "*3\r\n" + ranges + int(length)
    }

    @Test func findsTheSubsequenceItsLengthAndItsRanges() {
        let kv = KVHarness()
        kv("SET", "a", "ohmytext")
        kv("SET", "b", "mynewtext")
        #expect(kv("LCS", "a", "b") == bulk("mytext"))
        #expect(kv("LCS", "a", "b", "LEN") == int(6))
        #expect(
            kv("LCS", "a", "b", "IDX")
                == "*4\r\n" + bulk("matches") + "*2\r\n" + pair((4, 7), (5, 8)) + pair((2, 3), (0, 1))
                + bulk("len") + int(6))
        #expect(
            kv("LCS", "a", "b", "idx", "minmatchlen", "4", "withmatchlen")
                == "*4\r\n" + bulk("matches") + "*1\r\n" + pair((4, 7), (5, 8), 4) + bulk("len") + int(6))
        // A negative minimum is none.
        #expect(kv("LCS", "a", "b", "MINMATCHLEN", "-5", "IDX") == kv("LCS", "a", "b", "IDX"))
    }

    @Test func missingKeysReadAsEmptyStrings() {
        let kv = KVHarness()
        kv("SET", "a", "abc")
        #expect(kv("LCS", "a", "missing") == bulk(""))
        #expect(kv("LCS", "missing", "other", "IDX") == "*4\r\n" + bulk("matches") + "*0\r\n" + bulk("len") + int(0))
        #expect(kv("LCS", "a", "a", "LEN") == int(3))
    }

    @Test func refusesWhatRedisRefuses() {
        let kv = KVHarness()
        kv("SET", "a", "abc")
        kv("LPUSH", "l", "x")
        #expect(kv("LCS", "a", "l") == "-ERR The specified keys must contain string values\r\n")
        // The type is checked before the options.
        #expect(kv("LCS", "l", "a", "BAD") == "-ERR The specified keys must contain string values\r\n")
        #expect(kv("LCS", "a", "a", "BAD") == "-ERR syntax error\r\n")
        #expect(kv("LCS", "a", "a", "MINMATCHLEN") == "-ERR syntax error\r\n")
        #expect(kv("LCS", "a", "a", "MINMATCHLEN", "x") == "-ERR value is not an integer or out of range\r\n")
        #expect(
            kv("LCS", "a", "a", "LEN", "IDX")
                == "-ERR If you want both the length and indexes, please just use IDX.\r\n")
        // (11,584 + 1) x (11,585 + 1) cells of 4 bytes pass 512 MiB.
        kv("SET", "x", String(repeating: "a", count: 11_584))
        kv("SET", "y", String(repeating: "b", count: 11_585))
        #expect(
            kv("LCS", "x", "y", "LEN")
                == "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n")
        #expect(kv.auditStore() == nil)
    }
}
