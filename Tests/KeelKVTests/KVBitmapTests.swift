// Bitmaps over strings (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP) with the
// examples Redis documents and the edges the differential test also holds
// against redis-server; and the in-place bit update, which must leave the
// store as a rewrite would.

import Testing

@testable import KeelKV

@Suite struct KVBitmapTests {
    private func bytes(_ values: UInt8...) -> [UInt8] { values }

    /// GET's reply for a binary value.
    private func binaryBulk(_ values: UInt8...) -> [UInt8] {
        Array("$\(values.count)\r\n".utf8) + values + Array("\r\n".utf8)
    }

    private func get(_ kv: KVHarness, _ key: String) -> [UInt8] { kv.run([Array("GET".utf8), Array(key.utf8)]) }

    @Test func setbitAndGetbitGrowTheStringWithZeros() {
        let kv = KVHarness()
        #expect(kv("SETBIT", "k", "7", "1") == int(0))
        #expect(kv("SETBIT", "k", "7", "0") == int(1))
        #expect(kv("SETBIT", "k", "100", "1") == int(0))
        #expect(kv("STRLEN", "k") == int(13))
        #expect(kv("GETBIT", "k", "100") == int(1))
        #expect(kv("GETBIT", "k", "99") == int(0))
        #expect(kv("GETBIT", "k", "1000") == int(0))
        #expect(kv("GETBIT", "missing", "0") == int(0))
        #expect(kv("SETBIT", "k", "4294967296", "1") == "-ERR bit offset is not an integer or out of range\r\n")
        #expect(kv("SETBIT", "k", "-1", "1") == "-ERR bit offset is not an integer or out of range\r\n")
        #expect(kv("SETBIT", "k", "1", "2") == "-ERR bit is not an integer or out of range\r\n")
        kv("LPUSH", "l", "a")
        #expect(kv("SETBIT", "l", "0", "1").hasPrefix("-WRONGTYPE"))
        #expect(kv.auditStore() == nil)
    }

    @Test func aBitFlippedInPlaceKeepsTheStoreAsARewriteWould() {
        let kv = KVHarness()
        // "0" is held as an integer: setting bit 7 makes "1", still one.
        kv("SET", "n", "0")
        #expect(kv("SETBIT", "n", "7", "1") == int(0))
        #expect(kv("GET", "n") == bulk("1"))
        #expect(kv("OBJECT", "ENCODING", "n") == bulk("int"))
        // "a" (0x61) to "1" (0x31) in place would read as an integer: rewritten.
        kv("SET", "s", "a")
        #expect(kv("SETBIT", "s", "1", "0") == int(1))
        #expect(kv("GET", "s") == bulk("!"))
        #expect(kv("SETBIT", "s", "3", "1") == int(0))
        #expect(kv("GET", "s") == bulk("1"))
        #expect(kv("OBJECT", "ENCODING", "s") == bulk("int"))
        // A long string is updated in place, its expiry kept.
        kv("SET", "b", String(repeating: "x", count: 100), "EX", "100")
        #expect(kv("SETBIT", "b", "795", "1") == int(1))
        #expect(kv("SETBIT", "b", "792", "1") == int(0))
        let last = kv.run([Array("GETRANGE".utf8), Array("b".utf8), Array("99".utf8), Array("99".utf8)])
        #expect(last == binaryBulk(0xF8))
        #expect(kv("TTL", "b") == int(100))
        #expect(kv.auditStore() == nil)
    }

    @Test func bitcountCountsBytesOrBits() {
        let kv = KVHarness()
        kv("SET", "k", "foobar")
        #expect(kv("BITCOUNT", "k") == int(26))
        #expect(kv("BITCOUNT", "k", "0", "0") == int(4))
        #expect(kv("BITCOUNT", "k", "1", "1") == int(6))
        #expect(kv("BITCOUNT", "k", "1", "1", "BYTE") == int(6))
        #expect(kv("BITCOUNT", "k", "5", "30", "BIT") == int(17))
        #expect(kv("BITCOUNT", "k", "-2", "-3") == int(0))
        #expect(kv("BITCOUNT", "k", "0", "1", "NOPE") == "-ERR syntax error\r\n")
        #expect(kv("BITCOUNT", "k", "0") == "-ERR syntax error\r\n")
        // A missing key counts 0 whatever follows (redis-server 7.0).
        #expect(kv("BITCOUNT", "missing", "0", "1", "NOPE") == int(0))
    }

    @Test func bitposFindsTheFirstBitOfAValue() {
        let kv = KVHarness()
        kv(bytes: Array("SET".utf8), Array("k".utf8), bytes(0xFF, 0xF0, 0x00))
        #expect(kv("BITPOS", "k", "0") == int(12))
        #expect(kv("BITPOS", "k", "1", "2") == int(-1))
        #expect(kv("BITPOS", "k", "1", "7", "15", "BIT") == int(7))
        // Bits 0-10 are all set, and the end was given: none.
        #expect(kv("BITPOS", "k", "0", "0", "10", "BIT") == int(-1))
        kv(bytes: Array("SET".utf8), Array("f".utf8), bytes(0xFF, 0xFF))
        // All ones: the first clear bit is the one past the string, unless an end was given.
        #expect(kv("BITPOS", "f", "0") == int(16))
        #expect(kv("BITPOS", "f", "0", "0") == int(16))
        #expect(kv("BITPOS", "f", "0", "0", "-1") == int(-1))
        #expect(kv("BITPOS", "missing", "0") == int(0))
        #expect(kv("BITPOS", "missing", "1") == int(-1))
        #expect(kv("BITPOS", "k", "2") == "-ERR The bit argument must be 1 or 0.\r\n")
    }

    @Test func bitopCombinesSourcesPaddedWithZeros() {
        let kv = KVHarness()
        kv(bytes: Array("SET".utf8), Array("a".utf8), bytes(0x0F, 0xF0))
        kv(bytes: Array("SET".utf8), Array("b".utf8), bytes(0xFF))
        #expect(kv("BITOP", "AND", "d", "a", "b") == int(2))
        #expect(get(kv, "d") == binaryBulk(0x0F, 0x00))
        #expect(kv("BITOP", "XOR", "d", "a", "b", "missing") == int(2))
        #expect(get(kv, "d") == binaryBulk(0xF0, 0xF0))
        #expect(kv("BITOP", "NOT", "d", "a") == int(2))
        #expect(get(kv, "d") == binaryBulk(0xF0, 0x0F))
        #expect(kv("BITOP", "NOT", "d", "a", "b") == "-ERR BITOP NOT must be called with a single source key.\r\n")
        #expect(kv("BITOP", "NAND", "d", "a") == "-ERR syntax error\r\n")
        // Nothing to combine: the destination goes.
        #expect(kv("BITOP", "OR", "d", "none", "other") == int(0))
        #expect(kv("EXISTS", "d") == int(0))
        #expect(kv.auditStore() == nil)
    }
}
