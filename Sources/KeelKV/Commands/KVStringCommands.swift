// String commands: GET, SET (and its options), SETNX, SETEX, PSETEX, GETSET,
// GETDEL, GETEX, MGET, MSET, MSETNX, APPEND, STRLEN, GETRANGE, SUBSTR,
// SETRANGE, INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT, with redis-server 7's
// replies and errors.

import KeelWire

extension KVContext {
    /// Calls `body` with a string entry's bytes (an integer's digits).
    @inline(__always)
    func withString<R>(_ entry: KVEntry, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if entry.encoding == .integer { return KVInteger.withDigits(entry.integer) { body($0) } }
        return body(entry.stringBytes)
    }

    /// Writes a string entry as a bulk string.
    @inline(__always)
    func replyString(_ entry: KVEntry) {
        withString(entry) { reply.bulkString($0) }
    }

    /// Sets `key` to `value`: replaces whatever it held (with `expireAtMs`:
    /// nil drops an expiry, as SET does) or adds it. False on no memory.
    @discardableResult
    func setString(_ key: UnsafeRawBufferPointer, _ value: KVEntry.Value, expireAtMs: Int64?) -> Bool {
        // An expiry already past: the key is set and gone at once.
        if let expireAtMs, expireAtMs <= nowMs {
            if let found = find(key) { remove(found) }
            touched(key)
            return true
        }
        let done: Bool
        if let found = find(key) {
            // A same-size raw value is written in place.
            if case .string(let bytes) = value, expireAtMs == found.entry.expireAtMs,
                found.entry.type == .string, found.entry.encoding == .compact,
                found.entry.stringBytes.count == bytes.count, KVInteger.canonical(bytes) == nil
            {
                if !bytes.isEmpty {
                    UnsafeMutableRawPointer(mutating: found.entry.stringBytes.baseAddress!).copyMemory(
                        from: bytes.baseAddress!, byteCount: bytes.count)
                }
                done = true
            } else {
                done = replace(found, with: value, expireAtMs: expireAtMs)
            }
        } else {
            done = add(key, value, expireAtMs: expireAtMs)
        }
        if done { touched(key) }
        return done
    }

    /// Writes `bytes` as the string at `key`: over `existing` (keeping its
    /// expiry), or as a new key. False on no memory; the key is touched
    /// otherwise (the rewrite of APPEND-like commands).
    func rewriteString(_ key: UnsafeRawBufferPointer, _ bytes: [UInt8], over existing: KVFound?) -> Bool {
        let done = bytes.withUnsafeBytes { raw -> Bool in
            if let existing { return replace(existing, with: .string(raw), expireAtMs: existing.entry.expireAtMs) }
            return add(key, .string(raw))
        }
        if done { touched(key) }
        return done
    }
}

enum KVStringCommands {
    static func get(_ context: KVContext) {
        switch context.find(context[1], as: .string) {
        case .missing: context.reply.null()
        case .wrongType: context.wrongType()
        case .found(let found): context.replyString(found.entry)
        }
    }

    /// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms |
    /// KEEPTTL], parsed as redis-server parses it: options in any order and
    /// case; an option may repeat (the last amount wins) but not meet one it
    /// excludes, which is a syntax error.
    static func set(_ context: KVContext) {
        guard let options = KVSetOptions(context.command) else { return context.syntaxError() }
        var expireAtMs: Int64?
        if let expiry = options.expiry {
            guard let amount = context.integer(at: expiry.index) else { return }
            guard let at = KVExpiry.setDeadline(amount, expiry.kind, nowMs: context.nowMs) else {
                return context.reply.error("ERR invalid expire time in 'set' command")
            }
            expireAtMs = at
        }
        let key = context[1]
        let existing = context.find(key)
        if options.returnOld, let existing, existing.entry.type != .string { return context.wrongType() }
        let exists = existing != nil
        let mark = context.reply.count
        if options.returnOld {
            if let existing { context.replyString(existing.entry) } else { context.reply.null() }
        }
        guard !(options.onlyIfAbsent && exists) && !(options.onlyIfPresent && !exists) else {
            if !options.returnOld { context.reply.null() }
            return
        }
        if options.keepTTL { expireAtMs = existing?.entry.expireAtMs }
        guard context.setString(key, .string(context[2]), expireAtMs: expireAtMs) else {
            context.reply.truncate(to: mark)
            return context.outOfMemory()
        }
        context.notify(.string, "set", key)
        if options.expiry != nil { context.notify(.generic, "expire", key) }
        if context.isReplicating, options.expiry != nil, let expireAtMs {
            context.propagateSet(key, context[2], expireAtMs: expireAtMs)
        }
        if !options.returnOld { context.reply.simpleString("OK") }
    }

    static func setnx(_ context: KVContext) {
        let key = context[1]
        if context.find(key) != nil { return context.reply.integer(0) }
        guard context.setString(key, .string(context[2]), expireAtMs: nil) else { return context.outOfMemory() }
        context.notify(.string, "set", key)
        context.reply.integer(1)
    }

    /// SETEX (seconds) and PSETEX (milliseconds).
    static func setWithExpiry(_ context: KVContext, kind: KVExpiry.Kind, name: StaticString) {
        guard let amount = context.integer(at: 2) else { return }
        guard let at = KVExpiry.setDeadline(amount, kind, nowMs: context.nowMs) else {
            return context.reply.error("ERR invalid expire time in '\(name)' command")
        }
        guard context.setString(context[1], .string(context[3]), expireAtMs: at) else { return context.outOfMemory() }
        context.notify(.string, "set", context[1])
        context.notify(.generic, "expire", context[1])
        if context.isReplicating { context.propagateSet(context[1], context[3], expireAtMs: at) }
        context.reply.simpleString("OK")
    }

    static func getset(_ context: KVContext) {
        let key = context[1]
        let existing = context.find(key)
        if let existing, existing.entry.type != .string { return context.wrongType() }
        let mark = context.reply.count
        if let existing { context.replyString(existing.entry) } else { context.reply.null() }
        guard context.setString(key, .string(context[2]), expireAtMs: nil) else {
            context.reply.truncate(to: mark)
            return context.outOfMemory()
        }
        context.notify(.string, "set", key)
        if context.isReplicating { context.propagate(["SET", KVStreamArgument(key), KVStreamArgument(context[2])]) }
    }

    static func getdel(_ context: KVContext) {
        let key = context[1]
        switch context.find(key, as: .string) {
        case .missing: context.reply.null()
        case .wrongType: context.wrongType()
        case .found(let found):
            context.replyString(found.entry)
            context.remove(found)
            context.touched(key)
            context.notify(.generic, "del", key)
            if context.isReplicating { context.propagate(["DEL", KVStreamArgument(key)]) }
        }
    }

    /// GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST].
    static func getex(_ context: KVContext) {
        var expiry: (kind: KVExpiry.Kind, index: Int)?
        var persist = false
        var index = 2
        while index < context.argumentCount {
            let hasNext = index + 1 < context.argumentCount
            if let kind = KVSetOptions.expiryKind(context.command, index), hasNext, !persist,
                expiry == nil || expiry!.kind == kind
            {
                expiry = (kind, index + 1)
                index += 2
            } else if context.argument(index, is: "PERSIST") && expiry == nil {
                persist = true
                index += 1
            } else {
                return context.syntaxError()
            }
        }
        let key = context[1]
        switch context.find(key, as: .string) {
        case .missing: context.reply.null()
        case .wrongType: context.wrongType()
        case .found(let found):
            // The amount is checked once the key is found, as redis-server does.
            var expireAtMs: Int64?
            if let expiry {
                guard let amount = context.integer(at: expiry.index) else { return }
                guard let at = KVExpiry.setDeadline(amount, expiry.kind, nowMs: context.nowMs) else {
                    return context.reply.error("ERR invalid expire time in 'getex' command")
                }
                expireAtMs = at
            }
            context.replyString(found.entry)
            if let expireAtMs {
                if expireAtMs <= context.nowMs {
                    context.remove(found)
                    context.notify(.generic, "del", key)
                } else if found.shard.setExpiry(found.slot, expireAtMs) == nil {
                    return
                } else {
                    context.notify(.generic, "expire", key)
                }
                context.touched(key)
                if context.isReplicating { context.propagateExpiry(key, expireAtMs) }
            } else if persist && found.entry.hasExpiry {
                if found.shard.setExpiry(found.slot, nil) != nil {
                    context.touched(key)
                    context.notify(.generic, "persist", key)
                    if context.isReplicating { context.propagate(["PERSIST", KVStreamArgument(key)]) }
                }
            }
        }
    }

    static func mget(_ context: KVContext) {
        context.reply.arrayHeader(context.argumentCount - 1)
        for index in 1..<context.argumentCount {
            if let found = context.find(context[index]), found.entry.type == .string {
                context.replyString(found.entry)
            } else {
                context.reply.null()
            }
        }
    }

    static func mset(_ context: KVContext) {
        guard context.argumentCount % 2 == 1 else { return context.wrongArguments("mset") }
        for index in stride(from: 1, to: context.argumentCount, by: 2) {
            guard context.setString(context[index], .string(context[index + 1]), expireAtMs: nil) else {
                return context.outOfMemory()
            }
            context.notify(.string, "set", context[index])
        }
        context.reply.simpleString("OK")
    }

    static func msetnx(_ context: KVContext) {
        guard context.argumentCount % 2 == 1 else { return context.wrongArguments("msetnx") }
        for index in stride(from: 1, to: context.argumentCount, by: 2) where context.find(context[index]) != nil {
            return context.reply.integer(0)
        }
        for index in stride(from: 1, to: context.argumentCount, by: 2) {
            guard context.setString(context[index], .string(context[index + 1]), expireAtMs: nil) else {
                return context.outOfMemory()
            }
            context.notify(.string, "set", context[index])
        }
        context.reply.integer(1)
    }

    static func append(_ context: KVContext) {
        let key = context[1]
        let addition = context[2]
        switch context.find(key, as: .string) {
        case .wrongType: context.wrongType()
        case .missing:
            guard context.setString(key, .string(addition), expireAtMs: nil) else { return context.outOfMemory() }
            context.notify(.string, "append", key)
            context.reply.integer(addition.count)
        case .found(let found):
            let length = context.withString(found.entry) { $0.count } + addition.count
            guard length <= KVStringLimits.maxBytes else {
                return context.reply.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
            }
            var value = context.withString(found.entry) { Array($0) }
            value.append(contentsOf: addition)
            guard context.rewriteString(key, value, over: found) else { return context.outOfMemory() }
            context.notify(.string, "append", key)
            context.reply.integer(length)
        }
    }

    static func strlen(_ context: KVContext) {
        switch context.find(context[1], as: .string) {
        case .missing: context.reply.integer(0)
        case .wrongType: context.wrongType()
        case .found(let found): context.reply.integer(context.withString(found.entry) { $0.count })
        }
    }

    /// GETRANGE key start end (and SUBSTR): inclusive, negative from the end.
    static func getrange(_ context: KVContext) {
        guard let start = context.integer(at: 2), let end = context.integer(at: 3) else { return }
        switch context.find(context[1], as: .string) {
        case .missing: context.reply.bulkString(UnsafeRawBufferPointer(start: nil, count: 0))
        case .wrongType: context.wrongType()
        case .found(let found):
            context.withString(found.entry) { bytes in
                let length = Int64(bytes.count)
                // Redis: both negative and start > end: empty.
                if start < 0 && end < 0 && start > end {
                    return context.reply.bulkString(UnsafeRawBufferPointer(start: nil, count: 0))
                }
                var first = start < 0 ? length + start : start
                var last = end < 0 ? length + end : end
                if first < 0 { first = 0 }
                if last < 0 { last = 0 }
                if last >= length { last = length - 1 }
                guard length > 0 && first <= last else {
                    return context.reply.bulkString(UnsafeRawBufferPointer(start: nil, count: 0))
                }
                context.reply.bulkString(UnsafeRawBufferPointer(rebasing: bytes[Int(first)...Int(last)]))
            }
        }
    }

    static func setrange(_ context: KVContext) {
        guard let offset = context.integer(at: 2) else { return }
        guard offset >= 0 else { return context.reply.error("ERR offset is out of range") }
        let key = context[1]
        let value = context[3]
        let existing: KVFound?
        switch context.find(key, as: .string) {
        case .wrongType: return context.wrongType()
        case .missing: existing = nil
        case .found(let found): existing = found
        }
        let current = existing.map { found in context.withString(found.entry) { $0.count } } ?? 0
        // Nothing to write: the length, unchanged (and no key is made).
        if value.isEmpty { return context.reply.integer(current) }
        let (total, overflow) = offset.addingReportingOverflow(Int64(value.count))
        guard !overflow, total <= Int64(KVStringLimits.maxBytes) else {
            return context.reply.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        }
        var bytes = existing.map { found in context.withString(found.entry) { Array($0) } } ?? []
        let end = Int(offset) + value.count
        if bytes.count < end { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
        bytes.withUnsafeMutableBytes { raw in
            UnsafeMutableRawBufferPointer(rebasing: raw[Int(offset)..<end]).copyMemory(from: value)
        }
        guard context.rewriteString(key, bytes, over: existing) else { return context.outOfMemory() }
        context.notify(.string, "setrange", key)
        context.reply.integer(bytes.count)
    }

    /// INCR, DECR, INCRBY, DECRBY: `by` nil reads the amount from argument
    /// 2, `negate` for DECRBY.
    static func increment(_ context: KVContext, by fixed: Int64?, negate: Bool = false) {
        var amount: Int64
        if let fixed {
            amount = fixed
        } else {
            guard let value = context.integer(at: 2) else { return }
            amount = value
        }
        if negate {
            guard amount != Int64.min else { return context.reply.error("ERR decrement would overflow") }
            amount = -amount
        }
        let key = context[1]
        switch context.find(key, as: .string) {
        case .wrongType: context.wrongType()
        case .missing:
            guard context.add(key, .integer(amount)) else { return context.outOfMemory() }
            context.touched(key)
            context.notify(.string, "incrby", key)
            context.reply.integer(Int(amount))
        case .found(let found):
            let entry = found.entry
            let current: Int64
            if entry.encoding == .integer {
                current = entry.integer
            } else {
                guard let value = RESPInteger.parse(entry.stringBytes) else { return context.notAnInteger() }
                current = value
            }
            let (result, overflow) = current.addingReportingOverflow(amount)
            guard !overflow else { return context.reply.error("ERR increment or decrement would overflow") }
            if entry.encoding == .integer {
                entry.integer = result
            } else {
                guard context.replace(found, with: .integer(result), expireAtMs: entry.expireAtMs) else {
                    return context.outOfMemory()
                }
            }
            context.touched(key)
            context.notify(.string, "incrby", key)
            context.reply.integer(Int(result))
        }
    }

    static func incrbyfloat(_ context: KVContext) {
        let key = context[1]
        // redis-server's order: the key's type, its value, then the increment.
        let existing: KVFound?
        switch context.find(key, as: .string) {
        case .wrongType: return context.wrongType()
        case .missing: existing = nil
        case .found(let found): existing = found
        }
        var current: Float80 = 0
        if let existing {
            guard let value = context.withString(existing.entry, { KVDouble.parseLong($0) }) else {
                return context.reply.error("ERR value is not a valid float")
            }
            current = value
        }
        guard let increment = KVDouble.parseLong(context[2]) else {
            return context.reply.error("ERR value is not a valid float")
        }
        let result = current + increment
        guard result.isFinite else { return context.reply.error("ERR increment would produce NaN or Infinity") }
        guard let text = KVDouble.text(result) else { return context.reply.error("ERR value is not a valid float") }
        guard context.rewriteString(key, text, over: existing) else { return context.outOfMemory() }
        context.notify(.string, "incrbyfloat", key)
        // Replicas get the result, not the sum to do again: floating point
        // need not round the same way there.
        if context.isReplicating {
            context.propagate(["SET", KVStreamArgument(key), KVStreamArgument(bytes: text), "KEEPTTL"])
        }
        context.reply.bulkString(text)
    }
}

/// Redis's limit on a string's length (proto-max-bulk-len): 512 MiB.
enum KVStringLimits {
    static let maxBytes = 512 << 20
}

/// SET's options, checked as redis-server checks them.
struct KVSetOptions {
    var onlyIfAbsent = false
    var onlyIfPresent = false
    var returnOld = false
    var keepTTL = false
    /// The expiry's kind and the index of its amount.
    var expiry: (kind: KVExpiry.Kind, index: Int)?

    init?(_ command: RESPCommand) {
        var index = 3
        while index < command.count {
            let hasNext = index + 1 < command.count
            if command.argument(index, equalsIgnoringCase: "NX") && !onlyIfPresent {
                onlyIfAbsent = true
            } else if command.argument(index, equalsIgnoringCase: "XX") && !onlyIfAbsent {
                onlyIfPresent = true
            } else if command.argument(index, equalsIgnoringCase: "GET") {
                returnOld = true
            } else if command.argument(index, equalsIgnoringCase: "KEEPTTL") && expiry == nil {
                keepTTL = true
            } else if let kind = Self.expiryKind(command, index),
                hasNext && !keepTTL
                    && (expiry == nil || expiry!.kind == kind)
            {
                // The same option again replaces the amount (redis-server's rule).
                expiry = (kind, index + 1)
                index += 1
            } else {
                return nil
            }
            index += 1
        }
    }

    static func expiryKind(_ command: RESPCommand, _ index: Int) -> KVExpiry.Kind? {
        if command.argument(index, equalsIgnoringCase: "EX") { return .seconds }
        if command.argument(index, equalsIgnoringCase: "PX") { return .milliseconds }
        if command.argument(index, equalsIgnoringCase: "EXAT") { return .unixSeconds }
        if command.argument(index, equalsIgnoringCase: "PXAT") { return .unixMilliseconds }
        return nil
    }
}
