// Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP,
// SRANDMEMBER, SMOVE, SINTER, SUNION, SDIFF and their STORE forms,
// SINTERCARD, SSCAN. A set emptied by a command is deleted, as in Redis.

import KeelWire

enum KVSetCommands {
    /// The set at `key` for reading; `.missing` when absent; nil having
    /// replied WRONGTYPE.
    static func readable(_ context: KVContext, _ key: UnsafeRawBufferPointer) -> KVSetValue?? {
        switch context.find(key, as: .set) {
        case .wrongType:
            context.wrongType()
            return nil
        case .missing: return .some(nil)
        case .found(let found): return .some(KVSetValue(found.entry))
        }
    }

    /// Adds `members` to the set at `key`, made when absent (with the
    /// encoding its first member calls for). Returns how many were new, or
    /// nil having replied an error.
    static func add(_ context: KVContext, _ key: UnsafeRawBufferPointer, _ members: [UnsafeRawBufferPointer]) -> Int? {
        var set: KVSetValue
        switch context.find(key, as: .set) {
        case .wrongType:
            context.wrongType()
            return nil
        case .found(let found): set = KVSetValue(found.entry)
        case .missing:
            guard let first = members.first,
                let (object, encoding) = KVSetValue.makeObject(for: first, limits: context.limits),
                context.add(key, .object(object, .set, encoding)), let found = context.find(key)
            else {
                context.outOfMemory()
                return nil
            }
            set = KVSetValue(found.entry)
        }
        var added = 0
        for member in members {
            guard let isNew = set.add(member, limits: context.limits) else {
                context.removeIfEmpty(key, count: set.count)
                context.outOfMemory()
                return nil
            }
            if isNew { added += 1 }
        }
        return added
    }

    static func sadd(_ context: KVContext) {
        let key = context[1]
        guard let added = add(context, key, (2..<context.argumentCount).map { context[$0] }) else { return }
        context.touched(key)
        if added > 0 { context.notify(.set, "sadd", key) }
        context.reply.integer(added)
    }

    static func srem(_ context: KVContext) {
        let key = context[1]
        guard let found = readable(context, key) else { return }
        guard let set = found else { return context.reply.integer(0) }
        var removed = 0
        for index in 2..<context.argumentCount where set.remove(context[index]) { removed += 1 }
        if removed > 0 {
            context.touched(key)
            context.notify(.set, "srem", key)
        }
        context.removeIfEmpty(key, count: set.count)
        context.reply.integer(removed)
    }

    static func smembers(_ context: KVContext) {
        guard let found = readable(context, context[1]) else { return }
        guard let set = found else { return context.reply.setHeader(0) }
        context.reply.setHeader(set.count)
        set.forEachMember {
            context.reply.bulkString($0)
            return true
        }
    }

    static func sismember(_ context: KVContext) {
        guard let found = readable(context, context[1]) else { return }
        context.reply.integer(found?.contains(context[2]) == true ? 1 : 0)
    }

    static func smismember(_ context: KVContext) {
        guard let found = readable(context, context[1]) else { return }
        context.reply.arrayHeader(context.argumentCount - 2)
        for index in 2..<context.argumentCount {
            context.reply.integer(found?.contains(context[index]) == true ? 1 : 0)
        }
    }

    static func scard(_ context: KVContext) {
        guard let found = readable(context, context[1]) else { return }
        context.reply.integer(found?.count ?? 0)
    }

    /// SPOP key [count].
    static func spop(_ context: KVContext) {
        guard context.argumentCount <= 3 else { return context.syntaxError() }
        var count: Int?
        if context.argumentCount == 3 {
            guard let value = context.command.integer(at: 2), value >= 0 else {
                return context.reply.error("ERR value is out of range, must be positive")
            }
            count = Int(min(value, Int64(Int.max / 2)))
        }
        let key = context[1]
        guard let found = readable(context, key) else { return }
        guard let set = found else { return count == nil ? context.reply.null() : context.reply.setHeader(0) }
        let taken = min(count ?? 1, set.count)
        // Replicas get SREM per member, or DEL when a count takes them all,
        // as redis-server 7.0 propagates SPOP.
        let takesAll = count != nil && taken == set.count
        if count != nil { context.reply.setHeader(taken) }
        for _ in 0..<taken {
            guard let member = set.randomMember(using: &context.random) else { break }
            context.reply.bulkString(member)
            _ = member.withUnsafeBytes { set.remove($0) }
            if context.isReplicating && !takesAll {
                context.propagate(["SREM", KVStreamArgument(key), KVStreamArgument(bytes: member)])
            }
        }
        if context.isReplicating && takesAll && taken > 0 { context.propagate(["DEL", KVStreamArgument(key)]) }
        if taken > 0 {
            context.touched(key)
            context.notify(.set, "spop", key)
        }
        context.removeIfEmpty(key, count: set.count)
    }

    /// SRANDMEMBER key [count]: a negative count may repeat members.
    static func srandmember(_ context: KVContext) {
        guard context.argumentCount <= 3 else { return context.syntaxError() }
        guard let found = readable(context, context[1]) else { return }
        guard context.argumentCount == 3 else {
            guard let set = found, let member = set.randomMember(using: &context.random) else {
                return context.reply.null()
            }
            return context.reply.bulkString(member)
        }
        guard let count = context.integer(at: 2) else { return }
        guard count != Int64.min else { return context.countOutOfRange() }
        guard let set = found else { return context.reply.arrayHeader(0) }
        if count < 0 {
            let wanted = Int(-count)
            context.reply.arrayHeader(wanted)
            for _ in 0..<wanted {
                if let member = set.randomMember(using: &context.random) { context.reply.bulkString(member) }
            }
            return
        }
        let wanted = min(Int(count), set.count)
        context.reply.arrayHeader(wanted)
        set.randomDistinctMembers(wanted, using: &context.random) { context.reply.bulkString($0) }
    }

    static func smove(_ context: KVContext) {
        let sourceKey = context[1]
        let targetKey = context[2]
        let member = context[3]
        // redis-server's order: a missing source answers 0 whatever the
        // destination holds; then both types are checked.
        guard let sourceFound = readable(context, sourceKey) else { return }
        guard let source = sourceFound else { return context.reply.integer(0) }
        guard readable(context, targetKey) != nil else { return }
        guard source.contains(member) else { return context.reply.integer(0) }
        if KVBytes.equal(sourceKey, targetKey) { return context.reply.integer(1) }
        let copy = Array(member)
        _ = copy.withUnsafeBytes { source.remove($0) }
        context.touched(sourceKey)
        context.notify(.set, "srem", sourceKey)
        context.removeIfEmpty(sourceKey, count: source.count)
        guard let added = copy.withUnsafeBytes({ add(context, targetKey, [$0]) }) else { return }
        // A member the destination already holds leaves it unchanged: its
        // watchers are not told (as redis-server).
        if added > 0 {
            context.touched(targetKey)
            context.notify(.set, "sadd", targetKey)
        }
        context.reply.integer(1)
    }

    /// What a set operation does.
    enum Operation {
        case intersection, union, difference
    }

    /// The members of `operation` over the sets at `keys` (copied), or nil
    /// having replied WRONGTYPE.
    static func combine(_ context: KVContext, _ keys: [UnsafeRawBufferPointer], _ operation: Operation) -> [[UInt8]]? {
        var sets: [KVSetValue?] = []
        for key in keys {
            guard let found = readable(context, key) else { return nil }
            sets.append(found)
        }
        switch operation {
        case .union:
            var seen = Set<[UInt8]>()
            var result: [[UInt8]] = []
            for set in sets.compactMap({ $0 }) {
                set.forEachMember { member in
                    let copy = Array(member)
                    if seen.insert(copy).inserted { result.append(copy) }
                    return true
                }
            }
            return result
        case .intersection:
            guard !sets.contains(where: { $0 == nil }) else { return [] }
            let ordered = sets.compactMap { $0 }.sorted { $0.count < $1.count }
            guard let smallest = ordered.first else { return [] }
            var result: [[UInt8]] = []
            smallest.forEachMember { member in
                if ordered.dropFirst().allSatisfy({ $0.contains(member) }) { result.append(Array(member)) }
                return true
            }
            return result
        case .difference:
            guard let first = sets.first, let first else { return [] }
            var result: [[UInt8]] = []
            first.forEachMember { member in
                if !sets.dropFirst().contains(where: { $0?.contains(member) == true }) { result.append(Array(member)) }
                return true
            }
            return result
        }
    }

    /// SINTER, SUNION, SDIFF.
    static func combineCommand(_ context: KVContext, _ operation: Operation) {
        guard let members = combine(context, (1..<context.argumentCount).map { context[$0] }, operation) else { return }
        context.reply.setHeader(members.count)
        for member in members { context.reply.bulkString(member) }
    }

    /// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the result replaces the
    /// destination (deleted when empty).
    static func combineStore(_ context: KVContext, _ operation: Operation) {
        let destination = context[1]
        guard let members = combine(context, (2..<context.argumentCount).map { context[$0] }, operation) else { return }
        let existing = context.find(destination)
        if let existing { context.remove(existing) }
        if !members.isEmpty {
            context.overwriting = existing != nil
            defer { context.overwriting = false }
            guard store(context, destination, members) else { return context.outOfMemory() }
        }
        context.touched(destination)
        let event: StaticString =
            switch operation {
            case .intersection: "sinterstore"
            case .union: "sunionstore"
            case .difference: "sdiffstore"
            }
        context.notifyStored(.set, event, destination, wrote: !members.isEmpty, existed: existing != nil)
        context.reply.integer(members.count)
    }

    /// Makes a set at `key` (absent) of `members` (distinct).
    static func store(_ context: KVContext, _ key: UnsafeRawBufferPointer, _ members: [[UInt8]]) -> Bool {
        guard let first = members.first else { return true }
        let made = first.withUnsafeBytes { KVSetValue.makeObject(for: $0, limits: context.limits) }
        guard let (object, encoding) = made, context.add(key, .object(object, .set, encoding)),
            let found = context.find(key)
        else { return false }
        let set = KVSetValue(found.entry)
        for member in members {
            guard member.withUnsafeBytes({ set.add($0, limits: context.limits) }) != nil else {
                context.removeIfEmpty(key, count: 0)
                return false
            }
        }
        return true
    }

    /// SINTERCARD numkeys key [key ...] [LIMIT limit].
    static func sintercard(_ context: KVContext) {
        guard let numkeys = context.command.integer(at: 1), numkeys > 0 else {
            return context.reply.error("ERR numkeys should be greater than 0")
        }
        guard numkeys <= Int64(context.argumentCount - 2) else {
            return context.reply.error("ERR Number of keys can't be greater than number of args")
        }
        var limit = 0
        var index = 2 + Int(numkeys)
        while index < context.argumentCount {
            guard context.argument(index, is: "LIMIT"), index + 1 < context.argumentCount else {
                return context.syntaxError()
            }
            guard let value = context.command.integer(at: index + 1), value >= 0 else {
                return context.reply.error("ERR LIMIT can't be negative")
            }
            limit = Int(value)
            index += 2
        }
        let keys = (2..<(2 + Int(numkeys))).map { context[$0] }
        guard let members = combine(context, keys, .intersection) else { return }
        context.reply.integer(limit > 0 ? min(limit, members.count) : members.count)
    }

    static func intercardKeys(_ command: RESPCommand) -> [Int] {
        guard let numkeys = command.integer(at: 1), numkeys > 0, numkeys <= Int64(command.count - 2) else { return [] }
        return Array(2..<(2 + Int(numkeys)))
    }

    /// SSCAN key cursor [MATCH pattern] [COUNT count].
    static func sscan(_ context: KVContext) {
        guard let options = KVKeyCommands.ScanOptions(context, cursorIndex: 2, allowType: false) else { return }
        guard let found = readable(context, context[1]) else { return }
        guard let set = found else { return KVScanReply.write(context, cursor: 0, items: []) }
        var items: [[UInt8]] = []
        var cursor = options.cursor
        var steps = options.count * 10
        repeat {
            cursor = set.scan(cursor) { member in
                if options.accepts(member) { items.append(Array(member)) }
            }
            steps -= 1
        } while cursor != 0 && steps > 0 && items.count < options.count
        KVScanReply.write(context, cursor: cursor, items: items)
    }
}
