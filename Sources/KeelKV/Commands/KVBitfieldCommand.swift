// BITFIELD and BITFIELD_RO: integers of 1 to 64 bits at any bit offset of a
// string, read, set and incremented, as redis-server 7.0 treats them. Bits
// are numbered as SETBIT numbers them (bit 0 is the first byte's most
// significant), an integer's most significant bit first; `#n` offsets count
// in the integer's width. Increments and sets that leave a type's range
// wrap (the default), saturate or fail (OVERFLOW WRAP | SAT | FAIL, for the
// operations after it; a failed one replies nil and writes nothing).
//
// Every argument is checked before anything is done; a command that writes
// grows the string (zero bytes) to its farthest bit first, even if every
// operation then fails, as redis-server does. A string held as its bytes
// is changed in place when it is long enough (a counter array's usual
// update); otherwise it is rewritten.

import KeelWire

enum KVBitfieldCommand {
    enum Overflow {
        case wrap, saturate, fail
    }

    /// One GET, SET or INCRBY.
    struct Operation {
        enum Kind {
            case get, set, incrementBy
        }
        let kind: Kind
        let signed: Bool
        let bits: Int
        let offset: Int
        /// SET's value or INCRBY's increment.
        let value: Int64
        let overflow: Overflow
    }

    /// BITFIELD key [GET type offset] [SET type offset value]
    /// [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ...
    static func bitfield(_ context: KVContext) {
        run(context, readOnly: false)
    }

    /// BITFIELD_RO key [GET type offset] ...
    static func bitfieldReadOnly(_ context: KVContext) {
        run(context, readOnly: true)
    }

    private static func run(_ context: KVContext, readOnly: Bool) {
        guard let operations = parse(context) else { return }
        let key = context[1]
        let writes = operations.contains { $0.kind != .get }
        guard writes else {
            switch context.find(key, as: .string) {
            case .wrongType: return context.wrongType()
            case .missing: return reply(operations, over: UnsafeRawBufferPointer(start: nil, count: 0), context)
            case .found(let found):
                return context.withString(found.entry) { reply(operations, over: $0, context) }
            }
        }
        guard !readOnly else { return context.reply.error("ERR BITFIELD_RO only supports the GET subcommand") }
        let existing: KVFound?
        switch context.find(key, as: .string) {
        case .wrongType: return context.wrongType()
        case .missing: existing = nil
        case .found(let found): existing = found
        }
        let length = operations.reduce(0) { max($0, $1.kind == .get ? 0 : ($1.offset + $1.bits - 1) >> 3 + 1) }
        if let existing, existing.entry.encoding == .compact, existing.entry.stringBytes.count >= length {
            let stored = existing.entry.stringBytes
            let bytes = UnsafeMutableRawBufferPointer(mutating: stored)
            if execute(operations, on: bytes, context) {
                // Bytes that now read as an integer are held as one.
                if KVInteger.canonical(stored) != nil {
                    guard context.rewriteString(key, Array(stored), over: existing) else {
                        return context.outOfMemory()
                    }
                } else {
                    context.touched(key)
                }
                context.notify(.string, "setbit", key)
            }
            return
        }
        var bytes = existing.map { found in context.withString(found.entry) { Array($0) } } ?? []
        let grown = existing == nil || bytes.count < length
        if bytes.count < length { bytes.append(contentsOf: repeatElement(0, count: length - bytes.count)) }
        let changed = bytes.withUnsafeMutableBytes { execute(operations, on: $0, context) }
        guard grown || changed else { return }
        guard context.rewriteString(key, bytes, over: existing) else { return context.outOfMemory() }
        context.notify(.string, "setbit", key)
    }

    /// The operations, every argument checked as redis-server checks them
    /// (the first problem replied); nil having replied.
    private static func parse(_ context: KVContext) -> [Operation]? {
        var operations: [Operation] = []
        var overflow = Overflow.wrap
        var index = 2
        while index < context.argumentCount {
            let remaining = context.argumentCount - index - 1
            let kind: Operation.Kind
            if context.argument(index, is: "GET") && remaining >= 2 {
                kind = .get
            } else if context.argument(index, is: "SET") && remaining >= 3 {
                kind = .set
            } else if context.argument(index, is: "INCRBY") && remaining >= 3 {
                kind = .incrementBy
            } else if context.argument(index, is: "OVERFLOW") && remaining >= 1 {
                if context.argument(index + 1, is: "WRAP") {
                    overflow = .wrap
                } else if context.argument(index + 1, is: "SAT") {
                    overflow = .saturate
                } else if context.argument(index + 1, is: "FAIL") {
                    overflow = .fail
                } else {
                    context.reply.error("ERR Invalid OVERFLOW type specified")
                    return nil
                }
                index += 2
                continue
            } else {
                context.syntaxError()
                return nil
            }
            guard let (signed, bits) = type(context[index + 1]) else {
                context.reply.error(
                    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
                return nil
            }
            guard let offset = offset(context[index + 2], bits: bits) else {
                context.reply.error("ERR bit offset is not an integer or out of range")
                return nil
            }
            var value: Int64 = 0
            if kind != .get {
                guard let number = context.integer(at: index + 3) else { return nil }
                value = number
            }
            operations.append(
                Operation(kind: kind, signed: signed, bits: bits, offset: offset, value: value, overflow: overflow))
            index += kind == .get ? 3 : 4
        }
        return operations
    }

    /// "i1" to "i64" or "u1" to "u63" (case as written): signed, and bits.
    private static func type(_ text: UnsafeRawBufferPointer) -> (Bool, Int)? {
        guard let sign = text.first, sign == UInt8(ascii: "i") || sign == UInt8(ascii: "u"),
            let bits = RESPInteger.parse(UnsafeRawBufferPointer(rebasing: text.dropFirst()))
        else { return nil }
        let signed = sign == UInt8(ascii: "i")
        guard bits >= 1 && bits <= (signed ? 64 : 63) else { return nil }
        return (signed, Int(bits))
    }

    /// A bit offset, "#n" counting in `bits`, within the 512 MB string limit.
    private static func offset(_ text: UnsafeRawBufferPointer, bits: Int) -> Int? {
        let counted = text.first == UInt8(ascii: "#")
        guard let number = RESPInteger.parse(counted ? UnsafeRawBufferPointer(rebasing: text.dropFirst()) : text)
        else { return nil }
        // As redis-server multiplies: wrapping, then range-checked.
        let offset = counted ? number &* Int64(bits) : number
        guard offset >= 0 && offset >> 3 < Int64(KVStringLimits.maxBytes) else { return nil }
        return Int(offset)
    }

    /// Read-only: each GET's value, over `bytes` read as zero-padded.
    private static func reply(_ operations: [Operation], over bytes: UnsafeRawBufferPointer, _ context: KVContext) {
        context.reply.arrayHeader(operations.count)
        for operation in operations {
            let raw = KVBitfield.read(bytes, offset: operation.offset, bits: operation.bits)
            context.reply.integer(
                Int(operation.signed ? KVBitfield.signExtended(raw, bits: operation.bits) : Int64(bitPattern: raw)))
        }
    }

    /// Runs `operations` over `bytes` (long enough for every write), their
    /// replies in order; whether any wrote a different value.
    private static func execute(
        _ operations: [Operation], on bytes: UnsafeMutableRawBufferPointer, _ context: KVContext
    ) -> Bool {
        context.reply.arrayHeader(operations.count)
        var changed = false
        for operation in operations {
            let raw = KVBitfield.read(UnsafeRawBufferPointer(bytes), offset: operation.offset, bits: operation.bits)
            let old = operation.signed ? KVBitfield.signExtended(raw, bits: operation.bits) : Int64(bitPattern: raw)
            guard operation.kind != .get else {
                context.reply.integer(Int(old))
                continue
            }
            let increment = operation.kind == .incrementBy ? operation.value : 0
            let start = operation.kind == .incrementBy ? old : operation.value
            let result =
                operation.signed
                ? KVBitfield.signedSum(start, increment, bits: operation.bits, overflow: operation.overflow)
                : KVBitfield.unsignedSum(
                    UInt64(bitPattern: start), increment, bits: operation.bits, overflow: operation.overflow)
            guard let new = result else {
                context.reply.null()
                continue
            }
            context.reply.integer(Int(operation.kind == .incrementBy ? new : old))
            KVBitfield.write(UInt64(bitPattern: new), into: bytes, offset: operation.offset, bits: operation.bits)
            if new != old { changed = true }
        }
        return changed
    }
}
