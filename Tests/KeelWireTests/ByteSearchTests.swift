// ByteSearch (the line format's scan) against the stdlib's plain search, at
// every length around its 16-byte blocks and their overlapping tail.

import KeelTestSupport
import Testing

@testable import KeelWire

@Suite struct ByteSearchTests {
    /// Every length up to four blocks and a half, the target at every
    /// position and nowhere, in filler that never matches (0x80 and 0xFF
    /// among it, bytes whose high bit a mask test could mistake).
    @Test func findsTheTargetAtEveryPositionOfEveryLength() {
        let filler: [UInt8] = [0x80, 0xFF, 0x0B, 0x09, 0x00, 0x8A, 0x7F, 0x01]
        for length in 0...70 {
            var bytes = (0..<length).map { filler[$0 % filler.count] }
            #expect(bytes.withUnsafeBytes { ByteSearch.firstIndex(of: 0x0A, in: $0) } == nil, "length \(length)")
            for position in 0..<length {
                let kept = bytes[position]
                bytes[position] = 0x0A
                let found = bytes.withUnsafeBytes { ByteSearch.firstIndex(of: 0x0A, in: $0) }
                #expect(found == position, "length \(length), target at \(position)")
                bytes[position] = kept
            }
        }
    }

    /// Random bytes where the target is common, so that later matches
    /// follow earlier ones: the first is found, not just one.
    @Test func findsTheFirstOfSeveral() {
        var random = SeededRandom(seed: 10)
        for length in 0...70 {
            for _ in 0..<100 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 8...12, using: &random) }
                let found = bytes.withUnsafeBytes { ByteSearch.firstIndex(of: 10, in: $0) }
                #expect(found == bytes.firstIndex(of: 10), "\(bytes)")
            }
        }
        for target: UInt8 in [0x00, 0x80, 0xFF] {
            let bytes = [UInt8](repeating: 0x41, count: 40) + [target, target]
            #expect(bytes.withUnsafeBytes { ByteSearch.firstIndex(of: target, in: $0) } == 40)
        }
    }
}
