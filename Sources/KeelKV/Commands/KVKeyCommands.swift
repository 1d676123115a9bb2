// Keyspace commands: DEL, UNLINK, EXISTS, TYPE, RENAME, RENAMENX, COPY, KEYS,
// SCAN, RANDOMKEY, TOUCH, OBJECT, DBSIZE, FLUSHALL, FLUSHDB, SELECT, SWAPDB,
// MOVE; and expiry: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX, XX, GT, LT),
// PERSIST, TTL, PTTL, EXPIRETIME, PEXPIRETIME.

import KeelWire

enum KVKeyCommands {
    static func delete(_ context: KVContext) {
        var deleted = 0
        for index in 1..<context.argumentCount {
            let key = context[index]
            if let found = context.find(key) {
                context.remove(found)
                context.touched(key)
                context.notify(.generic, "del", key)
                deleted += 1
            }
        }
        context.reply.integer(deleted)
    }

    /// UNLINK: DEL whose large values are freed in the background.
    static func unlink(_ context: KVContext) {
        var deleted = 0
        for index in 1..<context.argumentCount {
            let key = context[index]
            if let found = context.find(key) {
                found.shard.removeLazily(found.slot)
                context.touched(key)
                context.notify(.generic, "del", key)
                deleted += 1
            }
        }
        context.reply.integer(deleted)
    }

    /// EXISTS and TOUCH: keys that exist, repeats counted.
    static func exists(_ context: KVContext) {
        var found = 0
        for index in 1..<context.argumentCount where context.find(context[index]) != nil { found += 1 }
        context.reply.integer(found)
    }

    static func type(_ context: KVContext) {
        guard let found = context.find(context[1]) else { return context.reply.simpleString("none") }
        context.reply.simpleString(found.entry.type.name)
    }

    /// RENAME and RENAMENX (`onlyIfAbsent`).
    static func rename(_ context: KVContext, onlyIfAbsent: Bool) {
        let source = context[1]
        let target = context[2]
        guard let found = context.find(source) else { return context.reply.error("ERR no such key") }
        if KVBytes.equal(source, target) {
            return onlyIfAbsent ? context.reply.integer(0) : context.reply.simpleString("OK")
        }
        if let existing = context.find(target) {
            if onlyIfAbsent { return context.reply.integer(0) }
            context.remove(existing)
        }
        // The found slot is stale after the removal: find the source again.
        guard let moving = context.find(source) else { return context.reply.error("ERR no such key") }
        _ = found
        let entry = moving.entry
        let value: KVEntry.Value
        switch (entry.type, entry.encoding) {
        case (.string, .compact): value = .string(entry.stringBytes)
        case (.string, _): value = .integer(entry.integer)
        default: value = .object(entry.object, entry.type, entry.encoding)
        }
        guard let renamed = KVEntry.make(key: target, value: value, expireAtMs: entry.expireAtMs) else {
            return context.outOfMemory()
        }
        if entry.wasUsed { renamed.markUsed() }
        // The object moves to the new entry: unlink the old one, free only its block.
        moving.shard.unlink(moving.slot)
        entry.freeBlock()
        let hash = ByteHash.hash(target)
        context.store.shard(for: hash).insert(renamed, hash: hash)
        context.touched(source)
        context.touched(target)
        context.notify(.new, "new", target)
        context.notify(.generic, "rename_from", source)
        context.notify(.generic, "rename_to", target)
        if onlyIfAbsent { context.reply.integer(1) } else { context.reply.simpleString("OK") }
    }

    /// COPY source destination [DB destination-db] [REPLACE].
    static func copy(_ context: KVContext) {
        var replace = false
        var index = 3
        while index < context.argumentCount {
            if context.argument(index, is: "REPLACE") {
                replace = true
            } else if context.argument(index, is: "DB") && index + 1 < context.argumentCount {
                guard let database = context.integer(at: index + 1) else { return }
                guard database == 0 else { return context.reply.error("ERR DB index is out of range") }
                index += 1
            } else {
                return context.syntaxError()
            }
            index += 1
        }
        let source = context[1]
        let target = context[2]
        if KVBytes.equal(source, target) {
            return context.reply.error("ERR source and destination objects are the same")
        }
        guard let found = context.find(source) else { return context.reply.integer(0) }
        if let existing = context.find(target) {
            guard replace else { return context.reply.integer(0) }
            context.remove(existing)
        }
        guard let current = context.find(source) else { return context.reply.integer(0) }
        _ = found
        let entry = current.entry
        let value: KVEntry.Value
        switch (entry.type, entry.encoding) {
        case (.string, .compact): value = .string(entry.stringBytes)
        case (.string, _): value = .integer(entry.integer)
        default:
            guard let object = KVObjects.duplicate(entry) else { return context.outOfMemory() }
            value = .object(object, entry.type, entry.encoding)
        }
        guard context.add(target, value, expireAtMs: entry.expireAtMs) else { return context.outOfMemory() }
        context.touched(target)
        context.notify(.generic, "copy_to", target)
        context.reply.integer(1)
    }

    /// KEYS pattern: every live key that matches, shard by shard. Over a
    /// large keyspace the loop walks it a slice per iteration (KVKeysWalk)
    /// and replies when done; inside EXEC, at once, and for a (RESP3)
    /// subscriber, whose pushes would otherwise land inside the reply.
    static func keys(_ context: KVContext) {
        let walk = KVKeysWalk(pattern: context[1], nowMs: context.nowMs)
        if !context.isInTransaction && !context.session.isSubscriber
            && context.store.count > KVKeysWalk.atOnceKeys
        {
            context.pendingWalk = walk
            return
        }
        walk.run(context.store, into: context.reply)
    }

    /// SCAN's cursor, MATCH, COUNT and TYPE, as redis-server parses them;
    /// nil having replied an error.
    struct ScanOptions {
        var cursor: UInt64 = 0
        var pattern: UnsafeRawBufferPointer?
        var count = 10
        var type: UnsafeRawBufferPointer?

        init?(_ context: KVContext, cursorIndex: Int, allowType: Bool) {
            guard let cursor = Self.parseCursor(context[cursorIndex]) else {
                context.reply.error("ERR invalid cursor")
                return nil
            }
            self.cursor = cursor
            var index = cursorIndex + 1
            while index < context.argumentCount {
                let remaining = context.argumentCount - index
                if context.argument(index, is: "COUNT") && remaining >= 2 {
                    guard let value = context.integer(at: index + 1) else { return nil }
                    guard value >= 1 else {
                        context.syntaxError()
                        return nil
                    }
                    count = Int(min(value, Int64(Int32.max)))
                } else if context.argument(index, is: "MATCH") && remaining >= 2 {
                    let candidate = context[index + 1]
                    pattern = candidate.count == 1 && candidate[0] == UInt8(ascii: "*") ? nil : candidate
                } else if allowType && context.argument(index, is: "TYPE") && remaining >= 2 {
                    type = context[index + 1]
                } else {
                    context.syntaxError()
                    return nil
                }
                index += 2
            }
        }

        /// Redis reads a cursor with strtoul: decimal digits after an
        /// optional sign, any value that fits in 64 bits; a minus sign
        /// negates it modulo 2^64 ("-1" is the largest cursor).
        static func parseCursor(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
            var digits = bytes[...]
            let negative = digits.first == UInt8(ascii: "-")
            if negative || digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
            guard !digits.isEmpty else { return nil }
            var value: UInt64 = 0
            for byte in digits {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - 0x30))
                guard !overflow1 && !overflow2 else { return nil }
                value = sum
            }
            return negative ? 0 &- value : value
        }

        func accepts(_ key: UnsafeRawBufferPointer) -> Bool {
            guard let pattern else { return true }
            return KVGlob.matches(pattern, key)
        }
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor
    /// names a shard (its low bits) and a place in that shard's table (the
    /// rest): every key present for the whole scan is returned at least once.
    static func scan(_ context: KVContext) {
        guard let options = ScanOptions(context, cursorIndex: 1, allowType: true) else { return }
        let store = context.store
        let bits = UInt64(store.shardBits)
        var shardIndex = Int(options.cursor & store.shardMask)
        var cursor = options.cursor >> bits
        var keys: [[UInt8]] = []
        var expired: [[UInt8]] = []
        var steps = options.count * 10
        let now = context.nowMs
        repeat {
            let shard = store.shards[shardIndex]
            cursor = store.withShards(store.bit(of: shard)) {
                shard.scan(cursor) { entry in
                    if let at = entry.expireAtMs, at <= now {
                        if options.accepts(entry.key) { expired.append(Array(entry.key)) }
                        return
                    }
                    if let type = options.type, !KVBytes.equalIgnoringCase(type, Self.bytes(entry.type.name)) { return }
                    if options.accepts(entry.key) { keys.append(Array(entry.key)) }
                }
            }
            if cursor == 0 {
                shardIndex += 1
                if shardIndex == store.shards.count { break }
            }
            steps -= 1
        } while steps > 0 && keys.count < options.count
        // Expired keys it passed that match are deleted, as redis-server's
        // SCAN deletes them (each one a DEL for replicas).
        for key in expired {
            key.withUnsafeBytes { key in
                let hash = ByteHash.hash(key)
                store.withShards(UInt64(1) << UInt64(store.shardIndex(for: hash))) { _ = context.find(key) }
            }
        }
        let next: UInt64 = shardIndex == store.shards.count ? 0 : (cursor << bits) | UInt64(shardIndex)
        context.reply.arrayHeader(2)
        KVInteger.withDigits(Int64(bitPattern: next)) { digits in
            if next > UInt64(Int64.max) {
                context.reply.bulkString(Array(String(next).utf8))
            } else {
                context.reply.bulkString(digits)
            }
        }
        context.reply.arrayHeader(keys.count)
        for key in keys { context.reply.bulkString(key) }
    }

    static func bytes(_ text: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    static func randomkey(_ context: KVContext) {
        let store = context.store
        let now = context.nowMs
        // A few tries past expired keys, as Redis tries. While CLIENT PAUSE
        // holds the store still they stay: one is then the answer, as
        // redis-server's (not a null while keys are there).
        var heldExpired: [UInt8]?
        for _ in 0..<100 {
            let nonEmpty = store.shards.filter { shard in store.withShards(store.bit(of: shard)) { shard.count > 0 } }
            guard let shard = nonEmpty.randomElement(using: &context.random) else { return context.reply.null() }
            let picked: ([UInt8], Bool)? = store.withShards(store.bit(of: shard)) {
                guard let entry = shard.randomEntry(using: &context.random) else { return nil }
                let expired = entry.expireAtMs.map { $0 <= now } ?? false
                return (Array(entry.key), expired)
            }
            guard let (key, expired) = picked else { continue }
            if expired {
                // Delete it (lazy expiry) and try again.
                _ = key.withUnsafeBytes { context.find($0) }
                if !context.mayExpire { heldExpired = key }
                continue
            }
            return context.reply.bulkString(key)
        }
        if let heldExpired { return context.reply.bulkString(heldExpired) }
        context.reply.null()
    }

    /// EXPIRE key amount [NX | XX | GT | LT], and its kin by `kind`.
    static func expire(_ context: KVContext, kind: KVExpiry.Kind, name: StaticString) {
        var onlyWithout = false
        var onlyWith = false
        var onlyLater = false
        var onlyEarlier = false
        for index in 3..<max(3, context.argumentCount) {
            if context.argument(index, is: "NX") {
                onlyWithout = true
            } else if context.argument(index, is: "XX") {
                onlyWith = true
            } else if context.argument(index, is: "GT") {
                onlyLater = true
            } else if context.argument(index, is: "LT") {
                onlyEarlier = true
            } else {
                return context.reply.error(KVContext.text("ERR Unsupported option ", context[index], ""))
            }
        }
        if onlyWithout && (onlyWith || onlyLater || onlyEarlier) {
            return context.reply.error("ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if onlyLater && onlyEarlier {
            return context.reply.error("ERR GT and LT options at the same time are not compatible")
        }
        guard let amount = context.integer(at: 2) else { return }
        guard let at = KVExpiry.expireDeadline(amount, kind, nowMs: context.nowMs) else {
            return context.reply.error("ERR invalid expire time in '\(name)' command")
        }
        let key = context[1]
        guard let found = context.find(key) else { return context.reply.integer(0) }
        let current = found.entry.expireAtMs  // nil: none, i.e. infinite
        if (onlyWithout && current != nil) || (onlyWith && current == nil)
            || (onlyLater && (current == nil || at <= current!)) || (onlyEarlier && current != nil && at >= current!)
        {
            return context.reply.integer(0)
        }
        if at <= context.nowMs {
            context.remove(found)
            context.notify(.generic, "del", key)
        } else if found.shard.setExpiry(found.slot, at) == nil {
            return context.outOfMemory()
        } else {
            context.notify(.generic, "expire", key)
        }
        context.touched(key)
        if context.isReplicating {
            // PEXPIREAT at the absolute time, options kept, as redis-server
            // rewrites it; DEL when that time has passed.
            if at <= context.nowMs {
                context.propagate(["DEL", KVStreamArgument(key)])
            } else {
                var arguments: [KVStreamArgument] = ["PEXPIREAT", KVStreamArgument(key), KVStreamArgument(at)]
                for index in 3..<max(3, context.argumentCount) { arguments.append(KVStreamArgument(context[index])) }
                context.propagate(arguments)
            }
        }
        context.reply.integer(1)
    }

    static func persist(_ context: KVContext) {
        let key = context[1]
        guard let found = context.find(key), found.entry.hasExpiry else { return context.reply.integer(0) }
        guard found.shard.setExpiry(found.slot, nil) != nil else { return context.outOfMemory() }
        context.touched(key)
        context.notify(.generic, "persist", key)
        context.reply.integer(1)
    }

    /// TTL, PTTL (remaining, in seconds rounded or milliseconds) and
    /// EXPIRETIME, PEXPIRETIME (absolute): -2 missing, -1 no expiry.
    static func timeToLive(_ context: KVContext, milliseconds: Bool, absolute: Bool) {
        guard let found = context.find(context[1]) else { return context.reply.integer(-2) }
        guard let at = found.entry.expireAtMs else { return context.reply.integer(-1) }
        if absolute { return context.reply.integer(Int(milliseconds ? at : (at + 500) / 1_000)) }
        let remaining = max(0, at - context.nowMs)
        context.reply.integer(Int(milliseconds ? remaining : (remaining + 500) / 1_000))
    }

    /// OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT key.
    static func object(_ context: KVContext, what: StaticString) {
        guard let found = context.find(context[2]) else { return context.reply.null() }
        switch "\(what)" {
        case "encoding":
            context.reply.bulkString(KVObjects.encodingName(found.entry))
        case "freq":
            context.reply.error(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
            )
        case "idletime":
            // keel-kv keeps no access times: every key reads as just used.
            context.reply.integer(0)
        default:
            // Redis shares the integers 0...9999 between keys.
            let entry = found.entry
            let shared =
                entry.type == .string && entry.encoding == .integer && entry.integer >= 0 && entry.integer < 10_000
            context.reply.integer(shared ? Int(Int32.max) : 1)
        }
    }

    static func dbsize(_ context: KVContext) {
        context.reply.integer(context.store.count)
    }

    /// FLUSHALL and FLUSHDB [ASYNC | SYNC].
    static func flush(_ context: KVContext) {
        guard
            context.argumentCount == 1
                || (context.argumentCount == 2 && (context.argument(1, is: "SYNC") || context.argument(1, is: "ASYNC")))
        else { return context.syntaxError() }
        // A flush changes the watched keys it removes; one that did not
        // exist is not changed (as redis-server judges it).
        let store = context.store
        let removed = store.watches.watched.filter { key in
            key.withUnsafeBytes { bytes in
                let hash = ByteHash.hash(bytes)
                return store.withShards(UInt64(1) << UInt64(store.shardIndex(for: hash))) {
                    store.shard(for: hash).peek(bytes, hash: hash) != nil
                }
            }
        }
        if context.argumentCount == 2 && context.argument(1, is: "ASYNC") {
            store.removeAllLazily()
        } else {
            store.removeAll()
        }
        for key in removed { key.withUnsafeBytes { store.watches.touch($0) } }
        context.trackingFlushed()
        // Replicas flush too, whatever there was to remove; snapshots being
        // written begin again.
        context.forcePropagation()
        store.replication.noteFlush()
        context.reply.simpleString("OK")
    }

    /// SELECT: keel-kv has one database (redis-server has 16 by default).
    static func select(_ context: KVContext) {
        guard let index = context.integer(at: 1) else { return }
        if index == 0 { context.reply.simpleString("OK") } else { context.reply.error("ERR DB index is out of range") }
    }

    static func swapdb(_ context: KVContext) {
        guard let first = context.command.integer(at: 1) else {
            return context.reply.error("ERR invalid first DB index")
        }
        guard let second = context.command.integer(at: 2) else {
            return context.reply.error("ERR invalid second DB index")
        }
        guard first == 0 && second == 0 else { return context.reply.error("ERR DB index is out of range") }
        context.reply.simpleString("OK")
    }

    static func move(_ context: KVContext) {
        guard let database = context.command.integer(at: 2) else {
            return context.reply.error("ERR value is not an integer or out of range")
        }
        if database == 0 { return context.reply.error("ERR source and destination objects are the same") }
        context.reply.error("ERR DB index is out of range")
    }
}
