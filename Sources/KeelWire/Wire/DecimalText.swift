// DecimalText: integers written as ASCII digits straight into an output
// buffer, for replies that carry lengths and numbers (RESP's `$5\r\n`,
// `:42\r\n`). No String, no allocation.

/// ASCII decimal formatting into raw memory.
@usableFromInline
package enum DecimalText {
    /// The most bytes `write` produces (a sign and 19 digits).
    @inlinable package static var maxBytes: Int { 20 }

    /// Writes `value` in decimal at `destination`; returns the byte count.
    @inlinable
    package static func write(_ value: Int, to destination: UnsafeMutableRawPointer) -> Int {
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, filled from the end
        return withUnsafeMutableBytes(of: &digits) { scratch in
            var position = scratch.count
            repeat {
                position -= 1
                scratch[position] = UInt8(truncatingIfNeeded: 0x30 &+ magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                position -= 1
                scratch[position] = 0x2D
            }
            let count = scratch.count - position
            destination.copyMemory(from: scratch.baseAddress! + position, byteCount: count)
            return count
        }
    }
}
