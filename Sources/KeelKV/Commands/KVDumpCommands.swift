// DUMP and RESTORE: a key's value as a payload in Redis's RDB encoding
// (KVDumpFormat), and back, with redis-server 7.0's options and errors.
// A payload keel-kv writes restores into redis-server, and redis-server's
// restore here; RESTORE builds the value as the commands that write it
// would, so the compact encodings' limits apply.

import KeelWire

enum KVDumpCommands {
    /// DUMP key: the payload, or null for a missing key.
    static func dump(_ context: KVContext) {
        guard let found = context.find(context[1]) else { return context.reply.null() }
        context.reply.bulkString(KVDumpFormat.payload(value(of: found.entry, context)))
    }

    /// What `entry` holds, in the form a dump carries.
    static func value(of entry: KVEntry, _ context: KVContext) -> KVDumpedValue {
        switch entry.type {
        case .string:
            return .string(context.withString(entry) { Array($0) })
        case .list:
            var elements: [[UInt8]] = []
            let list = context.list(entry)
            list.forEach(from: 0, through: list.count - 1) {
                elements.append(Array($0))
                return true
            }
            return .list(elements)
        case .set:
            var members: [[UInt8]] = []
            KVSetValue(entry).forEachMember {
                members.append(Array($0))
                return true
            }
            return .set(members)
        case .hash:
            var pairs: [[UInt8]] = []
            KVHashValue(entry).forEachField { field, value in
                pairs.append(Array(field))
                pairs.append(Array(value))
                return true
            }
            return .hash(pairs)
        case .zset:
            var members: [([UInt8], Double)] = []
            let set = KVZSetValue(entry)
            set.forEachMember(ranks: 0, through: set.count - 1, reverse: false) { member, score in
                members.append((Array(member), score))
                return true
            }
            return .zset(members)
        }
    }

    /// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]:
    /// checked in redis-server's order (options, an existing key, the TTL,
    /// the payload's footer, then its body). IDLETIME and FREQ are read
    /// and checked; keel-kv keeps neither.
    static func restore(_ context: KVContext) {
        var replace = false
        var absolute = false
        var idleGiven = false
        var frequencyGiven = false
        var index = 4
        while index < context.argumentCount {
            let left = context.argumentCount - index - 1
            if context.argument(index, is: "REPLACE") {
                replace = true
            } else if context.argument(index, is: "ABSTTL") {
                absolute = true
            } else if context.argument(index, is: "IDLETIME") && left >= 1 && !frequencyGiven {
                guard let idle = context.integer(at: index + 1) else { return }
                guard idle >= 0 else { return context.reply.error("ERR Invalid IDLETIME value, must be >= 0") }
                idleGiven = true
                index += 1
            } else if context.argument(index, is: "FREQ") && left >= 1 && !idleGiven {
                guard let frequency = context.integer(at: index + 1) else { return }
                guard frequency >= 0 && frequency <= 255 else {
                    return context.reply.error("ERR Invalid FREQ value, must be >= 0 and <= 255")
                }
                frequencyGiven = true
                index += 1
            } else {
                return context.syntaxError()
            }
            index += 1
        }
        let key = context[1]
        let existing = context.find(key)
        if !replace && existing != nil { return context.reply.error("BUSYKEY Target key name already exists.") }
        guard let ttl = context.integer(at: 2) else { return }
        guard ttl >= 0 else { return context.reply.error("ERR Invalid TTL value, must be >= 0") }
        let payload = context[3]
        guard KVDumpFormat.isIntact(payload) else {
            return context.reply.error("ERR DUMP payload version or checksum are wrong")
        }
        guard let value = KVDumpFormat.value(of: payload, maxStringBytes: context.store.settings.maxBulkBytes) else {
            return context.reply.error("ERR Bad data format")
        }
        var expireAtMs: Int64?
        if ttl > 0 {
            let (sum, overflow) = context.nowMs.addingReportingOverflow(ttl)
            expireAtMs = absolute ? ttl : (overflow ? Int64.max : sum)
        }
        if let existing { context.remove(existing) }
        // Already expired: the key is gone (and an existing one deleted).
        if let expireAtMs, expireAtMs <= context.nowMs {
            if existing != nil {
                context.touched(key)
                context.notify(.generic, "del", key)
                if context.isReplicating { context.propagate(["DEL", KVStreamArgument(key)]) }
            }
            return context.reply.simpleString("OK")
        }
        guard store(value, at: key, context) else {
            if existing != nil { context.touched(key) }
            return
        }
        if let expireAtMs, let found = context.find(key), found.shard.setExpiry(found.slot, expireAtMs) == nil {
            context.remove(found)
            return context.outOfMemory()
        }
        context.touched(key)
        context.notify(.generic, "restore", key)
        if context.isReplicating, let expireAtMs, !absolute {
            // The TTL as the time it ends (ABSTTL), as redis-server propagates it.
            var arguments = (0..<context.argumentCount).map { KVStreamArgument(context[$0]) }
            arguments[2] = KVStreamArgument(expireAtMs)
            arguments.append("ABSTTL")
            context.propagate(arguments)
        }
        context.reply.simpleString("OK")
    }

    /// Writes `value` at the absent `key`; false having replied the error.
    private static func store(_ value: KVDumpedValue, at key: UnsafeRawBufferPointer, _ context: KVContext) -> Bool {
        var stored = true
        switch value {
        case .string(let bytes):
            stored = bytes.withUnsafeBytes { context.add(key, .string($0)) }
        case .list(let elements):
            let list = KVQuickList(fill: context.limits.listFill)
            for element in elements where stored { stored = element.withUnsafeBytes { list.push($0, front: false) } }
            stored = stored && context.add(key, .object(KVObjects.pointer(to: list), .list, .general))
        case .set(let members):
            for member in members where stored {
                guard let added = member.withUnsafeBytes({ KVSetCommands.add(context, key, [$0]) }) else {
                    if let partial = context.find(key) { context.remove(partial) }
                    return false
                }
                stored = added == 1
            }
        case .hash(let pairs):
            guard let hash = KVHashCommands.writable(context, key) else { return false }
            for index in stride(from: 0, to: pairs.count, by: 2) where stored {
                stored = pairs[index].withUnsafeBytes { field in
                    pairs[index + 1].withUnsafeBytes { hash.set(field, $0, limits: context.limits) != nil }
                }
            }
        case .zset(let members):
            guard
                let set = members[0].0.withUnsafeBytes({
                    KVSortedSetCommands.writable(context, key, firstMember: $0)
                })
            else { return false }
            for (member, score) in members where stored {
                stored = member.withUnsafeBytes { set.set($0, score: score, limits: context.limits) != nil }
            }
        }
        if !stored {
            if let partial = context.find(key) { context.remove(partial) }
            context.outOfMemory()
        }
        return stored
    }
}
