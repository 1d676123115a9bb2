// Hash commands: HSET, HMSET, HSETNX, HGET, HMGET, HDEL, HLEN, HSTRLEN,
// HINCRBY, HINCRBYFLOAT, HEXISTS, HKEYS, HVALS, HGETALL, HRANDFIELD, HSCAN.
// A hash emptied by a command is deleted, as in Redis.

import KeelWire

enum KVHashCommands {
    /// The hash at `key` for writing: made when absent; nil having replied
    /// WRONGTYPE or the out-of-memory error.
    static func writable(_ context: KVContext, _ key: UnsafeRawBufferPointer) -> KVHashValue? {
        switch context.find(key, as: .hash) {
        case .wrongType:
            context.wrongType()
            return nil
        case .found(let found):
            return KVHashValue(found.entry)
        case .missing:
            guard let object = KVHashValue.makeObject(), context.add(key, .object(object, .hash, .compact)),
                let found = context.find(key)
            else {
                context.outOfMemory()
                return nil
            }
            return KVHashValue(found.entry)
        }
    }

    /// HSET key field value [field value ...] (and HMSET, which answers OK).
    static func hset(_ context: KVContext, name: String, replyOK: Bool) {
        guard context.argumentCount % 2 == 0 else { return context.wrongArguments(name) }
        let key = context[1]
        guard let hash = writable(context, key) else { return }
        var added = 0
        for index in stride(from: 2, to: context.argumentCount, by: 2) {
            guard let isNew = hash.set(context[index], context[index + 1], limits: context.limits) else {
                context.removeIfEmpty(key, count: hash.count)
                return context.outOfMemory()
            }
            if isNew { added += 1 }
        }
        context.touched(key)
        context.notify(.hash, "hset", key)
        if replyOK { context.reply.simpleString("OK") } else { context.reply.integer(added) }
    }

    static func hsetnx(_ context: KVContext) {
        let key = context[1]
        if case .found(let found) = context.find(key, as: .hash), KVHashValue(found.entry).contains(context[2]) {
            return context.reply.integer(0)
        }
        guard let hash = writable(context, key) else { return }
        guard hash.set(context[2], context[3], limits: context.limits) != nil else {
            context.removeIfEmpty(key, count: hash.count)
            return context.outOfMemory()
        }
        context.touched(key)
        context.notify(.hash, "hset", key)
        context.reply.integer(1)
    }

    /// The hash at `key` for reading: nil when absent, having replied
    /// `absent`; nil having replied WRONGTYPE.
    static func readable(_ context: KVContext, _ key: UnsafeRawBufferPointer, absent: () -> Void) -> KVHashValue? {
        switch context.find(key, as: .hash) {
        case .wrongType:
            context.wrongType()
            return nil
        case .missing:
            absent()
            return nil
        case .found(let found):
            return KVHashValue(found.entry)
        }
    }

    static func hget(_ context: KVContext) {
        guard let hash = readable(context, context[1], absent: { context.reply.null() }) else { return }
        if hash.value(of: context[2], { context.reply.bulkString($0) }) == nil { context.reply.null() }
    }

    static func hmget(_ context: KVContext) {
        let hash: KVHashValue?
        switch context.find(context[1], as: .hash) {
        case .wrongType: return context.wrongType()
        case .missing: hash = nil
        case .found(let found): hash = KVHashValue(found.entry)
        }
        context.reply.arrayHeader(context.argumentCount - 2)
        for index in 2..<context.argumentCount {
            if hash?.value(of: context[index], { context.reply.bulkString($0) }) == nil { context.reply.null() }
        }
    }

    static func hdel(_ context: KVContext) {
        let key = context[1]
        guard let hash = readable(context, key, absent: { context.reply.integer(0) }) else { return }
        var removed = 0
        for index in 2..<context.argumentCount where hash.remove(context[index]) { removed += 1 }
        if removed > 0 {
            context.touched(key)
            context.notify(.hash, "hdel", key)
        }
        context.removeIfEmpty(key, count: hash.count)
        context.reply.integer(removed)
    }

    static func hlen(_ context: KVContext) {
        guard let hash = readable(context, context[1], absent: { context.reply.integer(0) }) else { return }
        context.reply.integer(hash.count)
    }

    static func hstrlen(_ context: KVContext) {
        guard let hash = readable(context, context[1], absent: { context.reply.integer(0) }) else { return }
        context.reply.integer(hash.value(of: context[2]) { $0.count } ?? 0)
    }

    static func hexists(_ context: KVContext) {
        guard let hash = readable(context, context[1], absent: { context.reply.integer(0) }) else { return }
        context.reply.integer(hash.contains(context[2]) ? 1 : 0)
    }

    static func hincrby(_ context: KVContext) {
        guard let increment = context.integer(at: 3) else { return }
        let key = context[1]
        let field = context[2]
        if case .wrongType = context.find(key, as: .hash) { return context.wrongType() }
        var current: Int64 = 0
        if case .found(let found) = context.find(key, as: .hash) {
            let parsed: Int64?? = KVHashValue(found.entry).value(of: field) { RESPInteger.parse($0) }
            if let parsed {
                guard let value = parsed else { return context.reply.error("ERR hash value is not an integer") }
                current = value
            }
        }
        let (result, overflow) = current.addingReportingOverflow(increment)
        guard !overflow else { return context.reply.error("ERR increment or decrement would overflow") }
        guard let hash = writable(context, key) else { return }
        let stored = KVInteger.withDigits(result) { hash.set(field, $0, limits: context.limits) }
        guard stored != nil else { return context.outOfMemory() }
        context.touched(key)
        context.notify(.hash, "hincrby", key)
        context.reply.integer(Int(result))
    }

    static func hincrbyfloat(_ context: KVContext) {
        guard let increment = KVDouble.parseLong(context[3]) else {
            return context.reply.error("ERR value is not a valid float")
        }
        guard increment.isFinite else { return context.reply.error("ERR value is NaN or Infinity") }
        let key = context[1]
        let field = context[2]
        if case .wrongType = context.find(key, as: .hash) { return context.wrongType() }
        var current: Float80 = 0
        if case .found(let found) = context.find(key, as: .hash) {
            let parsed: Float80?? = KVHashValue(found.entry).value(of: field) { KVDouble.parseLong($0) }
            if let parsed {
                guard let value = parsed else { return context.reply.error("ERR hash value is not a float") }
                current = value
            }
        }
        let result = current + increment
        guard result.isFinite else { return context.reply.error("ERR increment would produce NaN or Infinity") }
        guard let text = KVDouble.text(result) else { return context.reply.error("ERR hash value is not a float") }
        guard let hash = writable(context, key) else { return }
        guard text.withUnsafeBytes({ hash.set(field, $0, limits: context.limits) }) != nil else {
            return context.outOfMemory()
        }
        context.touched(key)
        context.notify(.hash, "hincrbyfloat", key)
        // Replicas get the result (HSET), not the sum to do again.
        if context.isReplicating {
            context.propagate(["HSET", KVStreamArgument(key), KVStreamArgument(field), KVStreamArgument(bytes: text)])
        }
        context.reply.bulkString(text)
    }

    /// HKEYS, HVALS, HGETALL.
    static func hgetall(_ context: KVContext, fields: Bool, values: Bool) {
        guard
            let hash = readable(
                context, context[1],
                absent: {
                    if fields && values { context.reply.mapHeader(0) } else { context.reply.arrayHeader(0) }
                })
        else { return }
        if fields && values { context.reply.mapHeader(hash.count) } else { context.reply.arrayHeader(hash.count) }
        hash.forEachField { field, value in
            if fields { context.reply.bulkString(field) }
            if values { context.reply.bulkString(value) }
            return true
        }
    }

    /// HRANDFIELD key [count [WITHVALUES]].
    static func hrandfield(_ context: KVContext) {
        guard context.argumentCount <= 4 else { return context.syntaxError() }
        var withValues = false
        if context.argumentCount == 4 {
            guard context.argument(3, is: "WITHVALUES") else { return context.syntaxError() }
            withValues = true
        }
        var count: Int64?
        if context.argumentCount >= 3 {
            guard let value = context.integer(at: 2) else { return }
            guard value != Int64.min else { return context.countOutOfRange() }
            guard !withValues || value >= -Int64.max / 2 else {
                return context.reply.error("ERR value is out of range")
            }
            count = value
        }
        let hash: KVHashValue
        switch context.find(context[1], as: .hash) {
        case .wrongType: return context.wrongType()
        case .missing: return count == nil ? context.reply.null() : context.reply.arrayHeader(0)
        case .found(let found): hash = KVHashValue(found.entry)
        }
        guard let count else {
            var picked = false
            hash.randomFields(1, withRepeats: false, using: &context.random) { field, _ in
                context.reply.bulkString(field)
                picked = true
            }
            if !picked { context.reply.null() }
            return
        }
        let repeats = count < 0
        let wanted = repeats ? Int(-count) : min(Int(count), hash.count)
        let pairs = withValues && context.reply.isRESP3
        context.reply.arrayHeader(withValues && !pairs ? wanted * 2 : wanted)
        hash.randomFields(wanted, withRepeats: repeats, using: &context.random) { field, value in
            if pairs { context.reply.arrayHeader(2) }
            context.reply.bulkString(field)
            if withValues { context.reply.bulkString(value) }
        }
    }

    /// HSCAN key cursor [MATCH pattern] [COUNT count].
    static func hscan(_ context: KVContext) {
        guard let options = KVKeyCommands.ScanOptions(context, cursorIndex: 2, allowType: false) else { return }
        guard
            let hash = readable(
                context, context[1],
                absent: {
                    context.reply.arrayHeader(2)
                    context.reply.bulkString("0")
                    context.reply.arrayHeader(0)
                })
        else { return }
        var items: [[UInt8]] = []
        var cursor = options.cursor
        var steps = options.count * 10
        repeat {
            cursor = hash.scan(cursor) { field, value in
                if options.accepts(field) {
                    items.append(Array(field))
                    items.append(Array(value))
                }
            }
            steps -= 1
        } while cursor != 0 && steps > 0 && items.count / 2 < options.count
        KVScanReply.write(context, cursor: cursor, items: items)
    }
}

/// A SCAN family reply: the cursor (as a bulk string) and the items.
enum KVScanReply {
    static func write(_ context: KVContext, cursor: UInt64, items: [[UInt8]]) {
        context.reply.arrayHeader(2)
        context.reply.bulkString(Array(String(cursor).utf8))
        context.reply.arrayHeader(items.count)
        for item in items { context.reply.bulkString(item) }
    }
}
