// Numbers as redis-server reads and writes them: integers in its strict
// decimal form (string2ll), doubles through strtod with its checks
// (string2d: no leading space, nothing left over, no NaN, no overflow),
// long doubles for INCRBYFLOAT (string2ld, and "%.17Lf" with trailing zeros
// cut), and scores written "%.17g" (redis-server 7.0's addReplyDouble).

import Glibc
import KeelPosix
import KeelWire

/// Integers as Redis keeps them.
enum KVInteger {
    /// `bytes` as an integer when they are one in Redis's canonical form
    /// (what it stores with the "int" encoding): at most 20 bytes, no
    /// sign but "-", no leading zeros, no spaces.
    @inline(__always)
    static func canonical(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        bytes.count <= 20 ? RESPInteger.parse(bytes) : nil
    }

    /// `value` in decimal.
    static func text(_ value: Int64) -> [UInt8] {
        withDigits(value) { Array($0) }
    }

    /// Calls `body` with `value` in decimal, formatted on the stack.
    @inline(__always)
    static func withDigits<R>(_ value: Int64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw in
            let count = DecimalText.write(Int(value), to: raw.baseAddress!)
            return body(UnsafeRawBufferPointer(rebasing: raw[..<count]))
        }
    }
}

/// Doubles as Redis reads and writes them.
enum KVDouble {
    /// Redis's string2d: the whole of `bytes` read by strtod, not starting
    /// with a space, not NaN, not out of range. "inf", "-inf", "+inf" and
    /// the like are accepted.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard !bytes.isEmpty, !isSpace(bytes[0]) else { return nil }
        return withCString(bytes) { text, count in
            errno = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(text, &end)
            guard let end, UnsafePointer(end) - text == count, !value.isNaN else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            return value
        }
    }

    /// A range bound as redis-server reads one (zslParseRange): strtod over
    /// `bytes` as a C string, so an embedded NUL ends it ("1\0x" is 1), not
    /// NaN; "" is 0, leading spaces and out of range values (to ±inf) pass.
    static func parseBound(_ bytes: UnsafeRawBufferPointer) -> Double? {
        withCString(bytes) { text, _ in
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(text, &end)
            guard let end, end.pointee == 0, !value.isNaN else { return nil }
            return value
        }
    }

    /// Redis's string2ld for INCRBYFLOAT: strtold over the whole of the
    /// bytes (an embedded NUL is not the end of the number: redis-server
    /// 7.0 refuses "1\0" as a float, whether the argument or the value
    /// held), not starting with a space, not NaN, not out of range.
    static func parseLong(_ bytes: UnsafeRawBufferPointer) -> Float80? {
        guard !bytes.isEmpty, bytes.count < 5 * 1024, !isSpace(bytes[0]) else { return nil }
        return withCString(bytes) { text, count in
            errno = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtold(text, &end)
            guard let end, UnsafePointer(end) - text == count, errno != EINVAL, !value.isNaN else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            return value
        }
    }

    /// A score or double reply: "%.17g", or "inf" / "-inf".
    static func text(_ value: Double) -> [UInt8] {
        withText(value) { Array($0) }
    }

    /// Calls `body` with `value` as `text(_:)` writes it, formatted on the
    /// stack: whole numbers below 1e17 (which %.17g writes as plain digits)
    /// as integers, the rest by snprintf (a ZRANGE WITHSCORES of a million
    /// members spent most of its time formatting scores).
    @inline(__always)
    static func withText<R>(_ value: Double, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if value.isInfinite {
            let text: StaticString = value > 0 ? "inf" : "-inf"
            return body(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        if abs(value) < 1e17 && value == value.rounded(.towardZero) && !(value == 0 && value.sign == .minus) {
            return KVInteger.withDigits(Int64(value), body)
        }
        // The longest: "-2.2250738585072014e-308", 24 bytes and a NUL.
        var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw in
            let count = min(Syscall.formatDouble(value, into: raw), raw.count - 1)
            return body(UnsafeRawBufferPointer(rebasing: raw[..<count]))
        }
    }

    /// A score as redis-server writes it into a packed sorted set (its
    /// d2string): a whole number within ±2^62 in plain digits, otherwise
    /// as a reply writes it.
    static func packedText(_ value: Double) -> [UInt8] {
        let bound = Double(Int64.max / 2)
        if value >= -bound && value <= bound && value == value.rounded(.towardZero) {
            return KVInteger.text(Int64(value))
        }
        return text(value)
    }

    /// INCRBYFLOAT's result: "%.17Lf" without trailing zeros (nor a trailing
    /// point), "-0" as "0"; nil when too long (Redis's 5 KiB limit).
    static func text(_ value: Float80) -> [UInt8]? {
        withText(value) { Array($0) }
    }

    /// Calls `body` with `value` as `text(_:)` writes it; nil when too
    /// long. Formatted on the stack when it fits in 128 bytes (every
    /// coordinate and most sums do).
    static func withText<R>(_ value: Float80, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        let small = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer -> R?? in
            let written = withVaList([value]) { vsnprintf(buffer.baseAddress!, buffer.count, "%.17Lf", $0) }
            guard written >= 0 && Int(written) < buffer.count else { return .none }
            return .some(
                trimmed(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[..<Int(written)]), body))
        }
        if let small { return small }
        var buffer = [CChar](repeating: 0, count: 5 * 1024)
        let written = buffer.withUnsafeMutableBufferPointer { raw in
            withVaList([value]) { vsnprintf(raw.baseAddress!, raw.count, "%.17Lf", $0) }
        }
        guard written >= 0 && Int(written) < buffer.count else { return nil }
        return buffer.withUnsafeBytes { trimmed(UnsafeRawBufferPointer(rebasing: $0[..<Int(written)]), body) }
    }

    /// Calls `body` with the double `value` as `text(Float80(value))`
    /// writes it, exactly and without printf when |value| is in
    /// [2^-60, 2^52) or 0 (every coordinate a GEO reply carries but the
    /// tiniest): the double times 10^17 in 128-bit integers, rounded half
    /// to even as glibc's printf rounds, is the 17 decimals.
    static func withFixedText<R>(_ value: Double, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let magnitude = abs(value)
        guard value == 0 || (magnitude >= 0x1p-60 && magnitude < 0x1p52) else {
            return withText(Float80(value), body)!
        }
        var scaled: UInt128 = 0
        if value != 0 {
            let significand = UInt128(magnitude.significandBitPattern | (1 << 52))
            let shift = 52 - Int(magnitude.exponent)
            let product = significand * 100_000_000_000_000_000
            scaled = product >> shift
            let remainder = product & ((1 << shift) - 1)
            let half = UInt128(1) << (shift - 1)
            if remainder > half || (remainder == half && scaled & 1 == 1) { scaled += 1 }
        }
        return withFixedPoint(scaled, decimals: 17, negative: value.sign == .minus && scaled != 0, trimmed: true, body)
    }

    /// Calls `body` with `magnitude` / 10^`decimals` in decimal, formatted
    /// on the stack: at least one whole digit, then the point and the
    /// decimals (without trailing zeros, nor a bare point, when `trimmed`),
    /// "-" first when `negative`.
    static func withFixedPoint<R>(
        _ magnitude: UInt128, decimals: Int, negative: Bool, trimmed: Bool, _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        // A sign, 39 digits and a point at most.
        var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw in
            var rest = magnitude
            var end = raw.count
            var start = end
            var digits = 0
            while rest > 0 || digits <= decimals {
                if digits == decimals && decimals > 0 {
                    start -= 1
                    raw[start] = UInt8(ascii: ".")
                }
                start -= 1
                raw[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
                digits += 1
            }
            if trimmed && decimals > 0 {
                while raw[end - 1] == UInt8(ascii: "0") { end -= 1 }
                if raw[end - 1] == UInt8(ascii: ".") { end -= 1 }
            }
            if negative {
                start -= 1
                raw[start] = UInt8(ascii: "-")
            }
            return body(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
        }
    }

    /// `text` without trailing zeros after a point (nor the point), "-0"
    /// as "0".
    private static func trimmed<R>(_ text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var end = text.count
        if text.contains(UInt8(ascii: ".")) {
            while end > 0 && text[end - 1] == UInt8(ascii: "0") { end -= 1 }
            if end > 0 && text[end - 1] == UInt8(ascii: ".") { end -= 1 }
        }
        if end == 2 && text[0] == UInt8(ascii: "-") && text[1] == UInt8(ascii: "0") {
            return body(UnsafeRawBufferPointer(rebasing: text[1..<2]))
        }
        return body(UnsafeRawBufferPointer(rebasing: text[..<end]))
    }

    /// C's isspace in the "C" locale.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// `bytes` as a NUL-terminated C string (and its length) for `body`.
    private static func withCString<R>(
        _ bytes: UnsafeRawBufferPointer, _ body: (UnsafePointer<CChar>, Int) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.copyMemory(from: bytes)
            buffer[bytes.count] = 0
            return body(buffer.baseAddress!, bytes.count)
        }
    }
}
