// HyperLogLogs in redis-server's own string layout: the same bytes for the
// same elements (checked against bytes redis-server 7.0.15 wrote), the
// cached cardinality, sparse to dense, merges, and corrupt strings refused.

import Testing

@testable import KeelKV

@Suite struct KVHyperLogLogTests {
    @Test func theBytesAreRedisServers() {
        let kv = KVHarness()
        #expect(kv("PFADD", "h", "a", "b", "c", "foo", "bar") == int(1))
        #expect(
            kv("PFDEBUG", "DECODE", "h")
                == bulk("Z:7348 v:5,1 Z:1087 v:1,1 Z:1570 v:1,1 Z:2703 v:2,1 Z:3068 v:1,1 Z:603"))
        let sparse: [UInt8] =
            Array("HYLL".utf8) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]
            + [0x5C, 0xB3, 0x90, 0x44, 0x3E, 0x80, 0x46, 0x21, 0x80, 0x4A, 0x8E, 0x84, 0x4B, 0xFB, 0x80, 0x42, 0x5A]
        #expect(kv.run([Array("GET".utf8), Array("h".utf8)]) == Array("$33\r\n".utf8) + sparse + [13, 10])
        #expect(kv("PFCOUNT", "h") == int(5))
        // The count is cached in the header, its "not cached" bit cleared.
        #expect(kv("GETRANGE", "h", "8", "15") == bulk("\u{5}\0\0\0\0\0\0\0"))
        #expect(kv("PFADD", "h", "a") == int(0), "no register grew")
        #expect(kv("GETRANGE", "h", "15", "15") == bulk("\0"), "the cache kept")
        kv("PFADD", "h", "new")
        #expect(kv("PFCOUNT", "h") == int(6))
    }

    @Test func aNewKeyIsAnEmptySparseHyperLogLog() {
        let kv = KVHarness()
        #expect(kv("PFADD", "h") == int(1))
        #expect(kv("PFADD", "h") == int(0))
        #expect(kv("PFCOUNT", "h") == int(0))
        #expect(kv("STRLEN", "h") == int(18))
        #expect(kv("PFDEBUG", "ENCODING", "h") == "+sparse\r\n")
        #expect(kv("PFCOUNT", "missing") == int(0))
    }

    @Test func estimatesStayWithinTheErrorAndSparseTurnsDense() {
        let kv = KVHarness()
        for batch in 0..<20 {
            let elements = (0..<500).map { "element-\(batch * 500 + $0)" }
            kv.run([Array("PFADD".utf8), Array("h".utf8)] + elements.map { Array($0.utf8) })
        }
        let count = Int(kv("PFCOUNT", "h").dropFirst().dropLast())!  // "\r\n" is one Character
        #expect(abs(count - 10_000) < 10_000 * 5 / 100, "\(count)")
        #expect(kv("PFDEBUG", "ENCODING", "h") == "+dense\r\n", "past hll-sparse-max-bytes")
        #expect(kv("STRLEN", "h") == int(KVHyperLogLog.denseSize))
        #expect(kv("CONFIG", "GET", "hll-sparse-max-bytes") == bulks("hll-sparse-max-bytes", "3000"))
        kv("CONFIG", "SET", "hll-sparse-max-bytes", "30")
        kv.run([Array("PFADD".utf8), Array("small".utf8)] + (0..<20).map { Array("\($0)".utf8) })
        #expect(kv("PFDEBUG", "ENCODING", "small") == "+dense\r\n")
    }

    @Test func sparseAndDenseCountAlike() {
        let kv = KVHarness()
        for index in 0..<300 { kv("PFADD", "s", "x\(index)") }
        #expect(kv("PFDEBUG", "ENCODING", "s") == "+sparse\r\n")
        let sparse = kv("PFCOUNT", "s")
        kv("SET", "copy", "x")
        kv("COPY", "s", "d", "REPLACE")
        #expect(kv("PFDEBUG", "TODENSE", "d") == int(1))
        #expect(kv("PFDEBUG", "TODENSE", "d") == int(0))
        #expect(kv("PFDEBUG", "DECODE", "d") == "-ERR HLL encoding is not sparse\r\n")
        kv("PFADD", "d", "x0")
        #expect(kv("PFCOUNT", "d") == sparse)
        #expect(kv("PFCOUNT", "s", "d") == sparse, "the union of two equal sets")
    }

    @Test func mergeTakesEachRegistersMaximumAndTheDestinationIsAnInput() {
        let kv = KVHarness()
        kv("PFADD", "a", "1", "2", "3")
        kv("PFADD", "b", "3", "4", "5")
        kv("PFADD", "d", "6")
        #expect(kv("PFMERGE", "d", "a", "b", "missing") == ok)
        #expect(kv("PFCOUNT", "d") == int(6))
        #expect(kv("PFDEBUG", "ENCODING", "d") == "+sparse\r\n")
        #expect(kv("PFMERGE", "empty") == ok)
        #expect(kv("PFCOUNT", "empty") == int(0))
        kv("PFDEBUG", "TODENSE", "b")
        kv("PFMERGE", "e", "a", "b")
        #expect(kv("PFDEBUG", "ENCODING", "e") == "+dense\r\n", "dense when an input is")
        #expect(kv("PFCOUNT", "e") == int(5))
    }

    @Test func otherValuesAndCorruptStringsAreRefused() {
        let kv = KVHarness()
        kv("SET", "s", "not a hyperloglog")
        kv("LPUSH", "l", "x")
        let notOne = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
        #expect(kv("PFADD", "s", "x") == notOne)
        #expect(kv("PFCOUNT", "s") == notOne)
        #expect(kv("PFMERGE", "d", "s") == notOne)
        #expect(kv("PFADD", "l", "x") == "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
        #expect(kv("PFDEBUG", "GETREG", "missing") == "-ERR The specified key does not exist\r\n")
        kv("PFADD", "h", "a", "b")
        #expect(kv("PFDEBUG", "NOPE", "h") == "-ERR Unknown PFDEBUG subcommand 'NOPE'\r\n")
        // A run past the 16,384 registers, and a truncated long zero run.
        kv("APPEND", "h", "\u{7f}")
        #expect(kv("PFCOUNT", "h") == "-INVALIDOBJ Corrupted HLL object detected\r\n")
        #expect(kv("PFCOUNT", "h", "h") == "-INVALIDOBJ Corrupted HLL object detected\r\n")
        #expect(kv("PFDEBUG", "GETREG", "h") == "-INVALIDOBJ Corrupted HLL object detected\r\n")
        kv("SETRANGE", "h", "4", "\u{0}")
        #expect(kv("PFCOUNT", "h") == notOne, "dense, of the wrong length")
        // Every register past what an element can set: the estimate has no
        // finite value, and redis-server answers LLONG_MIN.
        let impossible: [UInt8] =
            Array("HYLL".utf8) + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]
            + [UInt8](repeating: 0xFF, count: KVHyperLogLog.denseSize - 16)
        kv.run([Array("SET".utf8), Array("full".utf8), impossible])
        #expect(kv("PFCOUNT", "full") == ":-9223372036854775808\r\n")
        #expect(kv("PFCOUNT", "full", "full") == ":-9223372036854775808\r\n")
    }
}
