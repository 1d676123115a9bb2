// ByteSearch: where a byte first occurs, sixteen bytes at a time.
//
// Why not memchr: the wire layer does not link the C library. Why not a
// byte loop: a line scan is most of what the line format costs. Bytes are
// compared sixteen at once as a SIMD vector (SSE2 on x86-64, NEON on arm64);
// the comparison, read as two 64-bit words, has 0xFF in each matching byte,
// so the lowest set bit names the first match. A tail shorter than a block
// is read as the last sixteen bytes (they overlap bytes already known not
// to match), not byte by byte. The stdlib's any(_:) on masks is avoided: it
// is a generic reduction that, where the inliner declines it, becomes a
// call per block. What this costs against glibc's memchr (AVX2, 32 bytes a
// step) on 64-byte lines is in BENCHMARKS.md; a word-at-a-time scan and a
// two-block step were measured too, and were slower.

/// Byte searches over raw memory.
@usableFromInline
package enum ByteSearch {
    /// The offset of the first `byte` in `bytes`, or nil.
    @inlinable
    package static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        guard count >= 16 else {
            var offset = 0
            while offset < count {
                if base.load(fromByteOffset: offset, as: UInt8.self) == byte { return offset }
                offset &+= 1
            }
            return nil
        }
        let needle = SIMD16<UInt8>(repeating: byte)
        var offset = 0
        while true {
            // The last block may overlap bytes already searched: none of them matched.
            offset = min(offset, count &- 16)
            let block = base.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
            let matches = unsafeBitCast(block .== needle, to: SIMD2<UInt64>.self)
            if matches[0] | matches[1] != 0 {
                // Little-endian lanes: the first byte is the lowest.
                let low = UInt64(littleEndian: matches[0])
                if low != 0 { return offset &+ low.trailingZeroBitCount &>> 3 }
                return offset &+ 8 &+ UInt64(littleEndian: matches[1]).trailingZeroBitCount &>> 3
            }
            offset &+= 16
            if offset >= count { return nil }
        }
    }
}
