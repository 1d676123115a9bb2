// DUMP's payload format: redis-server's CRC-64, payloads redis-server 7.0.15
// wrote (a listpack quicklist, an LZF string) read back, every value type
// round-tripped, and damaged bodies (with a CRC that still matches)
// refused without a crash.

import KeelTestSupport
import Testing

@testable import KeelKV

@Suite struct KVDumpFormatTests {
    @Test func crc64IsRedisServers() {
        #expect(KVDumpFormat.crc64(Array("123456789".utf8)) == 0xE9C6_D914_C4B8_D9CA)
    }

    @Test func readsWhatRedisServerWrites() {
        // DUMP of RPUSH l a b, and of SET x hello, from redis-server 7.0.15.
        let list: [UInt8] = [
            0x12, 0x01, 0x02, 0x0D, 0x0D, 0x00, 0x00, 0x00, 0x02, 0x00, 0x81, 0x61, 0x02, 0x81, 0x62, 0x02, 0xFF,
            0x0A, 0x00, 0x68, 0xEB, 0x0A, 0x89, 0x13, 0x41, 0xBB, 0xB1,
        ]
        let hello: [UInt8] =
            [0x00, 0x05] + Array("hello".utf8) + [0x0A, 0x00, 0x63, 0x72, 0xDF, 0x76, 0x65, 0x34, 0x20, 0x0A]
        for (payload, value) in [(list, KVDumpedValue.list([[0x61], [0x62]])), (hello, .string(Array("hello".utf8)))] {
            payload.withUnsafeBytes { bytes in
                #expect(KVDumpFormat.isIntact(bytes))
                #expect(KVDumpFormat.value(of: bytes) == value)
            }
        }
        #expect(KVDumpFormat.payload(.string(Array("hello".utf8))) == hello, "the same bytes as redis-server")
    }

    @Test func everyTypeRoundTrips() {
        let values: [KVDumpedValue] = [
            .string([]), .string(Array("-70000".utf8)), .string(Array(repeating: 0x41, count: 20_000)),
            .list([[1, 2], [], Array("300".utf8)]), .set([Array("a".utf8), Array("17".utf8)]),
            .hash([Array("f".utf8), Array("v".utf8), Array("g".utf8), []]),
            .zset([(Array("m".utf8), 1.5), (Array("n".utf8), -.infinity), (Array("o".utf8), 1e300)]),
        ]
        for value in values {
            let payload = KVDumpFormat.payload(value)
            payload.withUnsafeBytes { bytes in
                #expect(KVDumpFormat.isIntact(bytes))
                #expect(KVDumpFormat.value(of: bytes) == value)
            }
        }
    }

    /// A few bytes announcing gigabytes expanded: refused, nothing reserved.
    @Test func aCompressedStringPastTheLimitIsRefused() {
        // A string (type 0), LZF (0xC3), 3 bytes compressed, 1 GiB expanded.
        var body: [UInt8] = [0x00, 0xC3, 0x03, 0x80, 0x40, 0, 0, 0, 0x00, 0x61, 0x62]
        body += [0x0A, 0x00]
        let crc = KVDumpFormat.crc64(body)
        for shift in stride(from: 0, to: 64, by: 8) { body.append(UInt8(truncatingIfNeeded: crc >> UInt64(shift))) }
        body.withUnsafeBytes { bytes in
            #expect(KVDumpFormat.isIntact(bytes))
            #expect(KVDumpFormat.value(of: bytes) == nil)
        }
        #expect(KVDumpFormat.lzfExpand([0x01, 0x61, 0x62], to: 1 << 33) == nil)
    }

    @Test func expandsLZF() {
        // A literal run "ab", then a back reference copying 6 bytes from 2 back.
        #expect(KVDumpFormat.lzfExpand([0x01, 0x61, 0x62, 0x80, 0x01], to: 8) == Array("abababab".utf8))
        #expect(KVDumpFormat.lzfExpand([0x01, 0x61, 0x62, 0x80, 0x05], to: 8) == nil, "a reference before the start")
        #expect(KVDumpFormat.lzfExpand([0x05, 0x61], to: 6) == nil, "a literal past the input")
    }

    @Test func damagedBodiesAreRefusedNotFollowed() {
        var random = SeededRandom(seed: 27)
        let samples: [KVDumpedValue] = [
            .list((0..<50).map { Array("element\($0)".utf8) }), .set((0..<40).map { Array("\($0)".utf8) }),
            .hash((0..<20).flatMap { [Array("f\($0)".utf8), Array("v\($0)".utf8)] }),
            .zset((0..<30).map { (Array("m\($0)".utf8), Double($0)) }), .string(Array("12345".utf8)),
        ]
        // Listpacks and intsets too: what redis-server writes for small values.
        let listpackHash: [UInt8] = [0x10, 0x0D, 0x0D, 0, 0, 0, 0x02, 0, 0x81, 0x66, 0x02, 0x81, 0x76, 0x02, 0xFF]
        let intset: [UInt8] = [0x0B, 0x0C, 0x02, 0, 0, 0, 0x02, 0, 0, 0, 0x01, 0x00, 0x05, 0x00]
        for (body, value) in [(listpackHash, KVDumpedValue.hash([[0x66], [0x76]])), (intset, .set([[0x31], [0x35]]))] {
            var payload = body + [0x0A, 0x00]
            let crc = KVDumpFormat.crc64(payload)
            for shift in stride(from: 0, to: 64, by: 8) {
                payload.append(UInt8(truncatingIfNeeded: crc >> UInt64(shift)))
            }
            payload.withUnsafeBytes { #expect(KVDumpFormat.value(of: $0) == value) }
        }
        var bodies = samples.map { Array(KVDumpFormat.payload($0).dropLast(10)) }
        bodies += [listpackHash, intset]
        var parsed = 0
        for round in 0..<4_000 {
            var body = bodies[round % bodies.count]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<body.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: body[index] = UInt8.random(in: 0...255, using: &random)
                case 1: body.remove(at: index)
                default: body.insert(UInt8.random(in: 0...255, using: &random), at: index)
                }
                if body.isEmpty { body = [0] }
            }
            body += [0x0A, 0x00]
            let crc = KVDumpFormat.crc64(body)
            for shift in stride(from: 0, to: 64, by: 8) { body.append(UInt8(truncatingIfNeeded: crc >> UInt64(shift))) }
            body.withUnsafeBytes { bytes in
                #expect(KVDumpFormat.isIntact(bytes))
                if KVDumpFormat.value(of: bytes) != nil { parsed += 1 }
            }
        }
        // Some damage still reads as a value (a changed byte of a string).
        #expect(parsed > 0 && parsed < 4_000)
        // A version from the future is refused.
        var future = KVDumpFormat.payload(.string([1]))
        future[future.count - 10] = 11
        future.withUnsafeBytes { #expect(!KVDumpFormat.isIntact($0)) }
    }
}
