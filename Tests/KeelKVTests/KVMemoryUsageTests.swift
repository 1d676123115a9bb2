// MEMORY USAGE: what a key holds by malloc's count, growing with its
// value, sampled for large collections; and its errors as redis-server's.

import Testing

@testable import KeelKV

@Suite struct KVMemoryUsageTests {
    /// The integer of a `:n` reply.
    private func bytes(_ reply: String) -> Int? {
        guard reply.hasPrefix(":") else { return nil }
        return Int(reply.dropFirst().prefix(while: \.isNumber))
    }

    @Test func aKeyHoldsAtLeastItsBytesAndMoreAsItGrows() throws {
        let kv = KVHarness()
        kv("SET", "s", String(repeating: "v", count: 100))
        let string = try #require(bytes(kv("MEMORY", "USAGE", "s")))
        #expect(string >= 101 && string < 400)
        for type in ["hash", "list", "set", "zset"] {
            var small = 0
            for round in 0..<2 {
                for index in 0..<(round == 0 ? 3 : 600) {
                    switch type {
                    case "hash": kv("HSET", "k\(type)", "field\(index)", "value\(index)")
                    case "list": kv("RPUSH", "k\(type)", "element\(index)")
                    case "set": kv("SADD", "k\(type)", "member\(index)")
                    default: kv("ZADD", "k\(type)", "\(index)", "member\(index)")
                    }
                }
                let usage = try #require(bytes(kv("MEMORY", "USAGE", "k\(type)")), "\(type)")
                if round == 0 {
                    small = usage
                } else {
                    // 600 more elements of 8 or more bytes each, sampled.
                    #expect(usage > small + 600 * 8, "\(type): \(small) then \(usage)")
                    let exact = try #require(bytes(kv("MEMORY", "USAGE", "k\(type)", "SAMPLES", "0")))
                    #expect(exact > small + 600 * 8, "\(type)")
                }
            }
        }
        #expect(kv.auditStore() == nil)
    }

    @Test func answersAsRedisForMissingKeysAndBadArguments() {
        let kv = KVHarness()
        kv("SET", "s", "v")
        #expect(kv("MEMORY", "USAGE", "missing") == "$-1\r\n")
        #expect(kv("MEMORY", "USAGE", "s", "SAMPLES") == "-ERR syntax error\r\n")
        #expect(kv("MEMORY", "USAGE", "s", "SAMPLES", "-1") == "-ERR syntax error\r\n")
        #expect(kv("MEMORY", "USAGE", "s", "SAMPLES", "x") == "-ERR value is not an integer or out of range\r\n")
        #expect(kv("MEMORY", "USAGE", "s", "FOO") == "-ERR syntax error\r\n")
        #expect(kv("MEMORY", "PURGE") == "+OK\r\n")
        #expect(kv("MEMORY", "STATS").hasPrefix("*12\r\n$14\r\npeak.allocated\r\n"))
    }
}
