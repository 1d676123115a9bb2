// KVBitfield: an integer of 1 to 64 bits at a bit offset of a byte string
// (BITFIELD's): read and written most significant bit first, bit 0 being
// the first byte's most significant; and the sums BITFIELD's SET and INCRBY
// make, with redis-server's overflow rules (wrap around, saturate at the
// type's limit, or fail).

enum KVBitfield {
    /// The `bits`-bit field at bit `offset`, as an unsigned number; bytes
    /// past the end of `bytes` read as zeros.
    static func read(_ bytes: UnsafeRawBufferPointer, offset: Int, bits: Int) -> UInt64 {
        var value: UInt64 = 0
        for bit in offset..<offset + bits {
            let byte = bit >> 3
            let set = byte < bytes.count && bytes[byte] & (UInt8(0x80) >> UInt8(bit & 7)) != 0
            value = value << 1 | (set ? 1 : 0)
        }
        return value
    }

    /// Writes the low `bits` bits of `value` at bit `offset` (within `bytes`).
    static func write(_ value: UInt64, into bytes: UnsafeMutableRawBufferPointer, offset: Int, bits: Int) {
        precondition((offset + bits - 1) >> 3 < bytes.count, "a field past the end of its string")
        for index in 0..<bits {
            let bit = offset + index
            let mask = UInt8(0x80) >> UInt8(bit & 7)
            if value >> UInt64(bits - 1 - index) & 1 == 1 {
                bytes[bit >> 3] |= mask
            } else {
                bytes[bit >> 3] &= ~mask
            }
        }
    }

    /// A `bits`-bit field read as two's complement.
    static func signExtended(_ raw: UInt64, bits: Int) -> Int64 {
        guard bits < 64, raw & (1 << UInt64(bits - 1)) != 0 else { return Int64(bitPattern: raw) }
        return Int64(bitPattern: raw | (~0 << UInt64(bits)))
    }

    /// `value` + `increment` as a signed `bits`-bit integer (`value` may
    /// itself be out of range: a SET's), or nil when it overflows and
    /// `overflow` says fail.
    static func signedSum(
        _ value: Int64, _ increment: Int64, bits: Int, overflow: KVBitfieldCommand.Overflow
    ) -> Int64? {
        let max = bits == 64 ? Int64.max : (Int64(1) << Int64(bits - 1)) - 1
        let min = -max - 1
        let roomUp = Int64(bitPattern: UInt64(bitPattern: max) &- UInt64(bitPattern: value))
        let roomDown = min &- value
        let above =
            value > max || (bits != 64 && increment > roomUp) || (value >= 0 && increment > 0 && increment > roomUp)
        let below =
            !above
            && (value < min || (bits != 64 && increment < roomDown)
                || (value < 0 && increment < 0 && increment < roomDown))
        guard above || below else { return value + increment }
        switch overflow {
        case .fail: return nil
        case .saturate: return above ? max : min
        case .wrap:
            var sum = UInt64(bitPattern: value) &+ UInt64(bitPattern: increment)
            if bits < 64 {
                let high = ~UInt64(0) << UInt64(bits)
                sum = sum & (1 << UInt64(bits - 1)) != 0 ? sum | high : sum & ~high
            }
            return Int64(bitPattern: sum)
        }
    }

    /// `value` + `increment` as an unsigned `bits`-bit integer (1 to 63
    /// bits; `value` may be out of range: a SET's, negative ones read as
    /// huge), or nil when it overflows and `overflow` says fail.
    static func unsignedSum(
        _ value: UInt64, _ increment: Int64, bits: Int, overflow: KVBitfieldCommand.Overflow
    ) -> Int64? {
        let max = bits == 64 ? UInt64.max : (UInt64(1) << UInt64(bits)) - 1
        let roomUp = Int64(bitPattern: max &- value)
        let roomDown = Int64(bitPattern: 0 &- value)
        let above = value > max || (increment > 0 && increment > roomUp)
        let below = !above && increment < 0 && increment < roomDown
        let sum = value &+ UInt64(bitPattern: increment)
        guard above || below else { return Int64(bitPattern: sum) }
        switch overflow {
        case .fail: return nil
        case .saturate: return above ? Int64(bitPattern: max) : 0
        case .wrap: return Int64(bitPattern: bits == 64 ? sum : sum & max)
        }
    }
}
