// ByteSearch (the line format's scan) against the stdlib's plain search, at
// every length around its 16-byte blocks and their overlapping tail.

import Testing

@testable import KeelWire

@Suite struct ByteSearchTests {
    @Test func findsTheFirstOccurrenceAtEveryOffsetAndLength() {
        var random = SeededRandom(seed: 10)
        for length in 0...70 {
            for _ in 0..<200 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 8...12, using: &random) }
                let found = bytes.withUnsafeBytes { ByteSearch.firstIndex(of: 10, in: $0) }
                #expect(found == bytes.firstIndex(of: 10), "\(bytes)")
            }
        }
        // 0x80 and neighbours of the target stress the zero-byte test's borrows.
        let tricky: [UInt8] = [0x80, 0x0B, 0x09, 0x01, 0x00, 0xFF, 0x8A, 0x0A]
        #expect(tricky.withUnsafeBytes { ByteSearch.firstIndex(of: 0x0A, in: $0) } == 7)
        #expect(tricky.withUnsafeBytes { ByteSearch.firstIndex(of: 0x00, in: $0) } == 4)
        #expect(tricky.withUnsafeBytes { ByteSearch.firstIndex(of: 0x42, in: $0) } == nil)
    }
}
