// PayloadSource: what message `sequence` of connection `connection` carries.
//
// Every message differs (its bytes are a window into a random pool at an
// offset derived from the connection and sequence number), so an echo that
// returns the wrong message, a stale buffer or a shifted frame is caught.
// Nothing is stored per message: the expected bytes are recomputed on receipt.
// For line protocols the bytes are printable ASCII (no CR or LF, which would
// end a line early); otherwise every byte value occurs.

import Glibc
import Keel

/// Deterministic, distinct payloads, verifiable without keeping copies.
public final class PayloadSource: @unchecked Sendable {
    /// The payload sizes drawn from.
    public let sizes: SizeRange
    private let pool: UnsafeMutableRawBufferPointer

    /// A source of payloads with `sizes`; the same seed gives the same bytes.
    /// `printable`: bytes 0x21...0x7E only.
    public init(sizes: SizeRange, printable: Bool = false, seed: UInt64 = 0x6B65_656C) {
        self.sizes = sizes
        // Enough room that windows start at many distinct offsets.
        let count = sizes.maximum + 65_536
        pool = .allocate(byteCount: count, alignment: 16)
        var state = seed
        for index in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let byte = UInt8(truncatingIfNeeded: state >> 33)
            pool[index] = printable ? 0x21 + byte % 94 : byte
        }
    }

    deinit {
        pool.deallocate()
    }

    /// The payload of message `sequence` on `connection`.
    @inline(__always)
    public func payload(connection: Int, sequence: UInt64) -> UnsafeRawBufferPointer {
        let hash = splitMix(connection, sequence)
        let span = UInt64(sizes.maximum - sizes.minimum + 1)
        let size = sizes.minimum + Int(hash % span)
        let offset = Int((hash >> 20) % 65_536)
        return UnsafeRawBufferPointer(rebasing: pool[offset..<(offset + size)])
    }

    /// Whether `received` is exactly the payload of that message.
    @inline(__always)
    public func matches(_ received: UnsafeRawBufferPointer, connection: Int, sequence: UInt64) -> Bool {
        let expected = payload(connection: connection, sequence: sequence)
        guard expected.count == received.count else { return false }
        guard !expected.isEmpty else { return true }
        return memcmp(expected.baseAddress!, received.baseAddress!, expected.count) == 0
    }
}

/// A well-spread 64-bit hash of a connection and a sequence number
/// (SplitMix64's finaliser): payload windows, commands and keys are drawn
/// from it, so a run is the same every time and nothing is stored to check it.
@inline(__always)
func splitMix(_ connection: Int, _ sequence: UInt64) -> UInt64 {
    var z = UInt64(truncatingIfNeeded: connection) &* 0x9E37_79B9_7F4A_7C15 &+ sequence
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
