// RESPInteger: the strict decimal integers of the Redis protocol, as
// redis-server reads them (its string2ll): an optional '-', then digits with
// no leading zero (but "0" itself), no '+', no spaces, at most 20 bytes, and
// within Int64. Bulk lengths, array counts and integer arguments (INCRBY,
// EXPIRE, LRANGE) all use it, so "007", " 7" and "+7" are refused as Redis
// refuses them.

/// Strict decimal integers (Redis's rules).
public enum RESPInteger {
    /// The value of `bytes` read as a strict decimal integer, or nil.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard let base = bytes.baseAddress else { return nil }
        return parse(base, count: bytes.count)
    }

    /// The value of `count` bytes at `base`, or nil.
    @inlinable
    public static func parse(_ base: UnsafeRawPointer, count: Int) -> Int64? {
        guard count > 0 && count <= 20 else { return nil }
        let first = base.load(as: UInt8.self)
        if count == 1 && first == 0x30 { return 0 }
        var index = 0
        let negative = first == 0x2D
        if negative {
            index = 1
            if count == 1 { return nil }
        }
        let lead = base.load(fromByteOffset: index, as: UInt8.self)
        guard lead >= 0x31 && lead <= 0x39 else { return nil }
        var value = UInt64(lead &- 0x30)
        index &+= 1
        while index < count {
            let digit = base.load(fromByteOffset: index, as: UInt8.self) &- 0x30
            guard digit <= 9 else { return nil }
            let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = times.addingReportingOverflow(UInt64(digit))
            guard !overflowTimes && !overflowSum else { return nil }
            value = sum
            index &+= 1
        }
        if negative {
            guard value <= UInt64(Int64.max) + 1 else { return nil }
            return value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)
        }
        guard value <= UInt64(Int64.max) else { return nil }
        return Int64(value)
    }

    /// Parses `text` (for tests and tools).
    public static func parse(_ text: String) -> Int64? {
        Array(text.utf8).withUnsafeBytes { parse($0) }
    }
}
