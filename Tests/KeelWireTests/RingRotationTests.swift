// RingBuffer's rotation in place (how it straightens a wrapped ring)
// against Array's own rotation.

import Glibc
import KeelTestSupport
import Testing

@testable import KeelWire

@Suite struct RingRotationTests {
    /// Rotation in place against Array's own rotation, for every shift of
    /// sizes around the scratch buffer's chunk.
    @Test(arguments: [1, 2, 7, 1_023, 1_024, 1_025, 3_000])
    func rotatesLikeAnArray(count: Int) {
        let original = payload(count: count, seed: UInt64(count))
        for shift in Set([0, 1, count / 3, count / 2, count - 1, count].filter { $0 >= 0 && $0 <= count }) {
            var bytes = original
            bytes.withUnsafeMutableBytes { RingBuffer.rotateLeft($0.baseAddress!, count: count, by: shift) }
            #expect(bytes == Array(original[shift...] + original[..<shift]), "count \(count), shift \(shift)")
        }
    }
}
