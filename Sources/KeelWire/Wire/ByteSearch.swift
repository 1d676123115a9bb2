// ByteSearch: where a byte first occurs, read eight bytes at a time.
//
// Why not memchr: the wire layer does not link the C library. A word at a
// time keeps a line scan to a few instructions per eight bytes: XOR with the
// byte repeated makes matching bytes zero, and the classic zero-byte test
// ((w - 0x01…) & ~w & 0x80…) flags them; borrows only run upwards from a
// true zero, so the lowest flag is always the first match.

/// Byte searches over raw memory.
@usableFromInline
package enum ByteSearch {
    /// The offset of the first `byte` in `bytes`, or nil.
    @inlinable
    package static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let pattern = UInt64(byte) &* ones
        var offset = 0
        while offset &+ 8 <= bytes.count {
            // Little-endian order puts the first byte in the lowest bits.
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) ^ pattern
            let flags = (word &- ones) & ~word & (ones << 7)
            if flags != 0 { return offset &+ flags.trailingZeroBitCount >> 3 }
            offset &+= 8
        }
        while offset < bytes.count {
            if base.load(fromByteOffset: offset, as: UInt8.self) == byte { return offset }
            offset &+= 1
        }
        return nil
    }
}
