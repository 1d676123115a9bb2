// Bitmaps: SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP over string values,
// as redis-server 7.0 answers them. Bit 0 is the most significant bit of
// the first byte; a string is as long as its highest set byte, and reads
// past its end see zeros (BITPOS of a clear bit without an explicit end
// finds the first bit after the string).

import KeelWire

enum KVBitCommands {
    /// A bit offset (argument `index`) within the 512 MB string limit; nil
    /// having replied with redis-server's error.
    private static func bitOffset(_ context: KVContext, at index: Int) -> Int? {
        guard let offset = context.command.integer(at: index), offset >= 0,
            offset >> 3 < Int64(KVStringLimits.maxBytes)
        else {
            context.reply.error("ERR bit offset is not an integer or out of range")
            return nil
        }
        return Int(offset)
    }

    /// SETBIT key offset 0|1: the bit's old value; the string grows (with
    /// zero bytes) to hold it.
    static func setbit(_ context: KVContext) {
        guard let offset = bitOffset(context, at: 2) else { return }
        guard let on = context.command.integer(at: 3), on == 0 || on == 1 else {
            return context.reply.error("ERR bit is not an integer or out of range")
        }
        let key = context[1]
        let existing: KVFound?
        switch context.find(key, as: .string) {
        case .wrongType: return context.wrongType()
        case .missing: existing = nil
        case .found(let found): existing = found
        }
        let byte = offset >> 3
        let mask = UInt8(0x80) >> UInt8(offset & 7)
        // A bit set to what it was changes nothing: no key is touched or
        // announced, as redis-server 7.0.15 leaves it.
        if let existing, let old = flipInPlace(existing.entry, byte: byte, mask: mask, on: on == 1) {
            if old != on {
                context.touched(key)
                context.notify(.string, "setbit", key)
            }
            return context.reply.integer(old)
        }
        var bytes = existing.map { found in context.withString(found.entry) { Array($0) } } ?? []
        let grows = existing == nil || bytes.count <= byte
        if bytes.count <= byte { bytes.append(contentsOf: repeatElement(0, count: byte + 1 - bytes.count)) }
        let old = bytes[byte] & mask != 0 ? 1 : 0
        if !grows && old == on { return context.reply.integer(old) }
        if on == 1 { bytes[byte] |= mask } else { bytes[byte] &= ~mask }
        guard context.rewriteString(key, bytes, over: existing) else { return context.outOfMemory() }
        context.notify(.string, "setbit", key)
        context.reply.integer(old)
    }

    /// Sets or clears a bit of a stored string in place (a bitmap's usual
    /// update: no copy of the string); the bit's old value, or nil when the
    /// string must be rewritten instead (the byte is past its end, it is
    /// held as an integer, or the change would make it read as one).
    private static func flipInPlace(_ entry: KVEntry, byte: Int, mask: UInt8, on: Bool) -> Int? {
        guard entry.encoding == .compact else { return nil }
        let stored = entry.stringBytes
        guard byte < stored.count else { return nil }
        let bytes = UnsafeMutableRawPointer(mutating: stored.baseAddress!)
        let old = bytes.load(fromByteOffset: byte, as: UInt8.self)
        bytes.storeBytes(of: on ? old | mask : old & ~mask, toByteOffset: byte, as: UInt8.self)
        guard KVInteger.canonical(stored) == nil else {
            bytes.storeBytes(of: old, toByteOffset: byte, as: UInt8.self)
            return nil
        }
        return old & mask != 0 ? 1 : 0
    }

    /// GETBIT key offset: 0 past the end or for a missing key.
    static func getbit(_ context: KVContext) {
        guard let offset = bitOffset(context, at: 2) else { return }
        switch context.find(context[1], as: .string) {
        case .wrongType: context.wrongType()
        case .missing: context.reply.integer(0)
        case .found(let found):
            let bit = context.withString(found.entry) { bytes -> Int in
                let byte = offset >> 3
                guard byte < bytes.count else { return 0 }
                return bytes[byte] & (UInt8(0x80) >> UInt8(offset & 7)) != 0 ? 1 : 0
            }
            context.reply.integer(bit)
        }
    }

    /// A range's unit (BITCOUNT's and BITPOS's optional last argument).
    private static func unitIsBit(_ context: KVContext, at index: Int) -> Bool? {
        if context.argument(index, is: "BIT") { return true }
        if context.argument(index, is: "BYTE") { return false }
        context.syntaxError()
        return nil
    }

    /// `start` and `end` (inclusive, negative from the end) of a string of
    /// `length` units, clamped to it; nil when the range is empty.
    private static func clamp(_ start: Int64, _ end: Int64, length: Int64) -> ClosedRange<Int64>? {
        var first = start < 0 ? length + start : start
        var last = end < 0 ? length + end : end
        if first < 0 { first = 0 }
        if last < 0 { last = 0 }
        if last >= length { last = length - 1 }
        return first <= last ? first...last : nil
    }

    /// BITCOUNT key [start end [BYTE|BIT]]: the set bits in the range
    /// (the whole string without one). A missing key counts 0 whatever the
    /// arguments, as in redis-server 7.0.
    static func bitcount(_ context: KVContext) {
        let found: KVFound
        switch context.find(context[1], as: .string) {
        case .wrongType: return context.wrongType()
        case .missing: return context.reply.integer(0)
        case .found(let entry): found = entry
        }
        var range: (start: Int64, end: Int64)?
        var inBits = false
        switch context.argumentCount {
        case 2: break
        case 4, 5:
            guard let start = context.integer(at: 2), let end = context.integer(at: 3) else { return }
            // Both from the end, and backwards: nothing (before the unit is
            // read, as redis-server 7.0 does).
            if start < 0 && end < 0 && start > end { return context.reply.integer(0) }
            if context.argumentCount == 5 {
                guard let unit = unitIsBit(context, at: 4) else { return }
                inBits = unit
            }
            range = (start, end)
        default:
            return context.syntaxError()
        }
        let count = context.withString(found.entry) { bytes -> Int in
            let units = Int64(bytes.count) * (inBits ? 8 : 1)
            guard let bits = clamp(range?.start ?? 0, range?.end ?? -1, length: units) else { return 0 }
            let first = inBits ? Int(bits.lowerBound) : Int(bits.lowerBound) * 8
            let last = inBits ? Int(bits.upperBound) : Int(bits.upperBound) * 8 + 7
            return countSetBits(bytes, from: first, through: last)
        }
        context.reply.integer(count)
    }

    /// BITPOS key 0|1 [start [end [BYTE|BIT]]]: the first bit of that value
    /// in the range, -1 when there is none; a clear bit past the string is
    /// found when no end was given (the string reads as zero-padded).
    static func bitpos(_ context: KVContext) {
        guard let wanted = context.integer(at: 2) else { return }
        guard wanted == 0 || wanted == 1 else { return context.reply.error("ERR The bit argument must be 1 or 0.") }
        let found: KVFound
        switch context.find(context[1], as: .string) {
        case .wrongType: return context.wrongType()
        case .missing: return context.reply.integer(wanted == 1 ? -1 : 0)
        case .found(let entry): found = entry
        }
        var start: Int64 = 0
        var end: Int64 = -1
        var endGiven = false
        var inBits = false
        switch context.argumentCount {
        case 3: break
        case 4, 5, 6:
            guard let from = context.integer(at: 3) else { return }
            start = from
            if context.argumentCount == 6 {
                guard let unit = unitIsBit(context, at: 5) else { return }
                inBits = unit
            }
            if context.argumentCount >= 5 {
                guard let to = context.integer(at: 4) else { return }
                end = to
                endGiven = true
            }
        default:
            return context.syntaxError()
        }
        let position = context.withString(found.entry) { bytes -> Int in
            let units = Int64(bytes.count) * (inBits ? 8 : 1)
            guard let range = clamp(start, end, length: units) else { return -1 }
            let first = inBits ? Int(range.lowerBound) : Int(range.lowerBound) * 8
            let last = inBits ? Int(range.upperBound) : Int(range.upperBound) * 8 + 7
            if let position = firstBit(wanted == 1, in: bytes, from: first, through: last) { return position }
            // A clear bit past the range: there when the range runs to the
            // string's end unbounded (zero padding), not when an end was given.
            return wanted == 0 && !endGiven ? last + 1 : -1
        }
        context.reply.integer(position)
    }

    /// BITOP AND|OR|XOR|NOT destkey key [key ...]: the result's length (the
    /// longest source's; shorter and missing ones read as zeros), stored
    /// at destkey as a plain string, or destkey deleted when it is empty.
    static func bitop(_ context: KVContext) {
        let operation: (UInt8, UInt8) -> UInt8
        var isNot = false
        if context.argument(1, is: "AND") {
            operation = { $0 & $1 }
        } else if context.argument(1, is: "OR") {
            operation = { $0 | $1 }
        } else if context.argument(1, is: "XOR") {
            operation = { $0 ^ $1 }
        } else if context.argument(1, is: "NOT") {
            operation = { a, _ in ~a }
            isNot = true
        } else {
            return context.syntaxError()
        }
        if isNot && context.argumentCount != 4 {
            return context.reply.error("ERR BITOP NOT must be called with a single source key.")
        }
        var sources: [[UInt8]] = []
        for index in 3..<context.argumentCount {
            switch context.find(context[index], as: .string) {
            case .wrongType: return context.wrongType()
            case .missing: sources.append([])
            case .found(let found): sources.append(context.withString(found.entry) { Array($0) })
            }
        }
        let length = sources.map(\.count).max() ?? 0
        var result = [UInt8](repeating: 0, count: length)
        for position in 0..<length {
            var value = position < sources[0].count ? sources[0][position] : 0
            if isNot {
                value = operation(value, 0)
            } else {
                for source in sources.dropFirst() {
                    value = operation(value, position < source.count ? source[position] : 0)
                }
            }
            result[position] = value
        }
        let destination = context[2]
        if length == 0 {
            if let existing = context.find(destination) {
                context.remove(existing)
                context.touched(destination)
                context.notify(.generic, "del", destination)
            }
            return context.reply.integer(0)
        }
        let done = result.withUnsafeBytes { context.setString(destination, .string($0), expireAtMs: nil) }
        guard done else { return context.outOfMemory() }
        context.touched(destination)
        context.notify(.string, "set", destination)
        context.reply.integer(length)
    }

    /// Set bits from bit `first` through bit `last` of `bytes` (both within it).
    static func countSetBits(_ bytes: UnsafeRawBufferPointer, from first: Int, through last: Int) -> Int {
        var count = 0
        var bit = first
        // The edges bit by bit; whole bytes between them by population count.
        while bit <= last && bit & 7 != 0 {
            if bytes[bit >> 3] & (UInt8(0x80) >> UInt8(bit & 7)) != 0 { count += 1 }
            bit += 1
        }
        while bit + 7 <= last {
            count += bytes[bit >> 3].nonzeroBitCount
            bit += 8
        }
        while bit <= last {
            if bytes[bit >> 3] & (UInt8(0x80) >> UInt8(bit & 7)) != 0 { count += 1 }
            bit += 1
        }
        return count
    }

    /// The first bit equal to `set` from bit `first` through bit `last`.
    static func firstBit(_ set: Bool, in bytes: UnsafeRawBufferPointer, from first: Int, through last: Int) -> Int? {
        var bit = first
        // A byte all of the other value is skipped whole.
        let skip: UInt8 = set ? 0x00 : 0xFF
        while bit <= last {
            if bit & 7 == 0 && bit + 7 <= last && bytes[bit >> 3] == skip {
                bit += 8
                continue
            }
            if (bytes[bit >> 3] & (UInt8(0x80) >> UInt8(bit & 7)) != 0) == set { return bit }
            bit += 1
        }
        return nil
    }
}
