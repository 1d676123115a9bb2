// PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST over HyperLogLog strings
// (KVHyperLogLog), as redis-server 7.0 answers them. A string that is not a
// HyperLogLog is refused with WRONGTYPE, a corrupt one with INVALIDOBJ.
// PFCOUNT of one key writes the cardinality it computed into the string's
// cache, which is a change to the key (WATCH sees it; replicas are sent the
// PFCOUNT), as in redis-server.

import KeelWire

enum KVHyperLogLogCommands {
    private static let notHyperLogLog = "WRONGTYPE Key is not a valid HyperLogLog string value."
    private static let corrupt = "INVALIDOBJ Corrupted HLL object detected"

    /// What a key holds, as the PF commands see it.
    private enum Value {
        case missing
        case hyperLogLog(KVFound, [UInt8])
        /// The reply (an error) has been written.
        case refused
    }

    private static func value(_ context: KVContext, _ key: UnsafeRawBufferPointer) -> Value {
        switch context.find(key, as: .string) {
        case .missing: return .missing
        case .wrongType:
            context.wrongType()
            return .refused
        case .found(let found):
            // Checked before it is copied: a large string of another kind is refused as it is.
            guard context.withString(found.entry, KVHyperLogLog.isHyperLogLog) else {
                context.reply.error(notHyperLogLog)
                return .refused
            }
            return .hyperLogLog(found, context.withString(found.entry) { Array($0) })
        }
    }

    private static func sparseMaxBytes(_ context: KVContext) -> Int {
        context.store.settings.limits.hllSparseMaxBytes.load(ordering: .relaxed)
    }

    /// PFADD key [element ...]: 1 if the key was made or a register grew.
    static func pfadd(_ context: KVContext) {
        let key = context[1]
        var bytes: [UInt8]
        var existing: KVFound?
        var updated = 0
        switch value(context, key) {
        case .refused: return
        case .missing:
            bytes = KVHyperLogLog.empty()
            updated = 1
        case .hyperLogLog(let found, let current):
            existing = found
            bytes = current
        }
        let limit = sparseMaxBytes(context)
        for index in 2..<max(2, context.argumentCount) {
            guard let grew = KVHyperLogLog.add(context[index], to: &bytes, sparseMaxBytes: limit) else {
                return context.reply.error(corrupt)
            }
            updated += grew
        }
        if updated > 0 {
            KVHyperLogLog.invalidateCache(&bytes)
            guard context.rewriteString(key, bytes, over: existing) else { return context.outOfMemory() }
            context.notify(.string, "pfadd", key)
        }
        context.reply.integer(updated > 0 ? 1 : 0)
    }

    /// PFCOUNT key [key ...]: one key's estimate (cached in it); several
    /// keys' union's (nothing cached).
    static func pfcount(_ context: KVContext) {
        guard context.argumentCount == 2 else { return countUnion(context) }
        let key = context[1]
        switch value(context, key) {
        case .refused: return
        case .missing: context.reply.integer(0)
        case .hyperLogLog(let found, var bytes):
            if let cached = bytes.withUnsafeBytes(KVHyperLogLog.cachedCardinality) {
                return context.reply.integer(Int(truncatingIfNeeded: cached))
            }
            guard let cardinality = bytes.withUnsafeBytes(KVHyperLogLog.count) else {
                return context.reply.error(corrupt)
            }
            KVHyperLogLog.cache(cardinality, in: &bytes)
            guard context.rewriteString(key, bytes, over: found) else { return context.outOfMemory() }
            context.reply.integer(Int(truncatingIfNeeded: cardinality))
        }
    }

    private static func countUnion(_ context: KVContext) {
        var registers = [UInt8](repeating: 0, count: KVHyperLogLog.registerCount)
        for index in 1..<context.argumentCount {
            switch value(context, context[index]) {
            case .refused: return
            case .missing: continue
            case .hyperLogLog(_, let bytes):
                guard bytes.withUnsafeBytes({ KVHyperLogLog.raiseRegisters(&registers, from: $0) }) else {
                    return context.reply.error(corrupt)
                }
            }
        }
        context.reply.integer(Int(truncatingIfNeeded: KVHyperLogLog.count(registers: registers)))
    }

    /// PFMERGE destkey [sourcekey ...]: the destination (itself one of the
    /// inputs) holds the union; dense if any input was.
    static func pfmerge(_ context: KVContext) {
        var registers = [UInt8](repeating: 0, count: KVHyperLogLog.registerCount)
        var anyDense = false
        var destination: (found: KVFound, bytes: [UInt8])?
        for index in 1..<context.argumentCount {
            switch value(context, context[index]) {
            case .refused: return
            case .missing: continue
            case .hyperLogLog(let found, let bytes):
                if bytes[4] == KVHyperLogLog.dense { anyDense = true }
                guard bytes.withUnsafeBytes({ KVHyperLogLog.raiseRegisters(&registers, from: $0) }) else {
                    return context.reply.error(corrupt)
                }
                if index == 1 { destination = (found, bytes) }
            }
        }
        // The sources' lookups may have moved the destination's slot.
        let key = context[1]
        var bytes = destination?.bytes ?? KVHyperLogLog.empty()
        if anyDense && !KVHyperLogLog.toDense(&bytes) { return context.reply.error(corrupt) }
        let limit = sparseMaxBytes(context)
        for (index, value) in registers.enumerated() where value != 0 {
            _ = KVHyperLogLog.set(index, atLeast: value, in: &bytes, sparseMaxBytes: limit)
        }
        KVHyperLogLog.invalidateCache(&bytes)
        let existing: KVFound? =
            if destination != nil, case .found(let found) = context.find(key, as: .string) { found } else { nil }
        guard context.rewriteString(key, bytes, over: existing) else { return context.outOfMemory() }
        context.notify(.string, "pfadd", key)
        context.reply.simpleString("OK")
    }

    /// PFDEBUG GETREG | DECODE | ENCODING | TODENSE key.
    static func pfdebug(_ context: KVContext) {
        let key = context[2]
        guard case .hyperLogLog(let found, var bytes) = value(context, key) else {
            if case .missing = context.find(key, as: .string) {
                context.reply.error("ERR The specified key does not exist")
            }
            return
        }
        if context.argument(1, is: "GETREG") {
            if bytes[4] == KVHyperLogLog.sparse {
                guard KVHyperLogLog.toDense(&bytes) else { return context.reply.error(corrupt) }
                guard context.rewriteString(key, bytes, over: found) else { return context.outOfMemory() }
            }
            context.reply.arrayHeader(KVHyperLogLog.registerCount)
            for index in 0..<KVHyperLogLog.registerCount {
                context.reply.integer(Int(KVHyperLogLog.denseRegister(bytes, index)))
            }
        } else if context.argument(1, is: "DECODE") {
            guard bytes[4] == KVHyperLogLog.sparse else { return context.reply.error("ERR HLL encoding is not sparse") }
            context.reply.bulkString(Array(bytes.withUnsafeBytes(KVHyperLogLog.decode).utf8))
        } else if context.argument(1, is: "ENCODING") {
            context.reply.simpleString(bytes[4] == KVHyperLogLog.dense ? "dense" : "sparse")
        } else if context.argument(1, is: "TODENSE") {
            guard bytes[4] == KVHyperLogLog.sparse else { return context.reply.integer(0) }
            guard KVHyperLogLog.toDense(&bytes) else { return context.reply.error(corrupt) }
            guard context.rewriteString(key, bytes, over: found) else { return context.outOfMemory() }
            context.reply.integer(1)
        } else {
            context.reply.error(KVContext.text("ERR Unknown PFDEBUG subcommand '", context[1], "'"))
        }
    }

    /// PFSELFTEST: the dense registers read back what was written, and
    /// sparse and dense strings fed the same elements agree, within the
    /// expected error, up to ten million elements.
    static func pfselftest(_ context: KVContext) {
        var generator = context.random
        var dense = [UInt8](repeating: 0, count: KVHyperLogLog.denseSize)
        dense[4] = KVHyperLogLog.dense
        var expected = [UInt8](repeating: 0, count: KVHyperLogLog.registerCount)
        for _ in 0..<1_000 {
            for index in 0..<KVHyperLogLog.registerCount {
                let value = UInt8.random(in: 0...KVHyperLogLog.registerMax, using: &generator)
                expected[index] = value
                KVHyperLogLog.setDenseRegister(&dense, index, value)
            }
            for index in 0..<KVHyperLogLog.registerCount
            where KVHyperLogLog.denseRegister(dense, index) != expected[index] {
                return context.reply.error(
                    "TESTFAILED Register \(index) should be \(expected[index]) but is \(KVHyperLogLog.denseRegister(dense, index))"
                )
            }
        }
        dense = KVHyperLogLog.empty()
        _ = KVHyperLogLog.toDense(&dense)
        var sparse = KVHyperLogLog.empty()
        let limit = sparseMaxBytes(context)
        let relativeError = 1.04 / Double(KVHyperLogLog.registerCount).squareRoot()
        let seed = UInt64.random(in: 0...UInt64.max, using: &generator)
        var checkpoint: UInt64 = 1
        for element in UInt64(1)...10_000_000 {
            var bits = element ^ seed
            withUnsafeBytes(of: &bits) { raw in
                _ = KVHyperLogLog.add(raw, to: &dense, sparseMaxBytes: limit)
                _ = KVHyperLogLog.add(raw, to: &sparse, sparseMaxBytes: limit)
            }
            guard element == checkpoint else { continue }
            if element < UInt64(limit / 2) && sparse[4] != KVHyperLogLog.sparse {
                return context.reply.error("TESTFAILED sparse encoding not used")
            }
            let denseCount = dense.withUnsafeBytes(KVHyperLogLog.count) ?? 0
            guard denseCount == sparse.withUnsafeBytes(KVHyperLogLog.count) else {
                return context.reply.error("TESTFAILED dense/sparse disagree")
            }
            let error = denseCount > checkpoint ? denseCount - checkpoint : checkpoint - denseCount
            let allowed = checkpoint == 10 ? 1 : UInt64((relativeError * 6 * Double(checkpoint)).rounded(.up))
            guard error <= allowed else {
                return context.reply.error("TESTFAILED Too big error. card:\(checkpoint) abserr:\(error)")
            }
            checkpoint *= 10
        }
        context.reply.simpleString("OK")
    }
}
