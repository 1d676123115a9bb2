// String commands: GET, SET (EX, PX, NX, XX, KEEPTTL, GET), DEL, EXISTS,
// INCR, INCRBY, DECR, DECRBY, MGET, MSET, and the expiry commands EXPIRE,
// PEXPIRE (NX, XX, GT, LT), TTL, PTTL.

import Keel

extension KVCommands {
    func get(_ command: RESPCommand, _ reply: RESPReplies) {
        let key = command[1]
        let hash = ByteHash.hash(key)
        store.withShard(for: hash) { shard in
            var clock = KVClock()
            guard let position = shard.find(key, hash: hash, clock: &clock) else {
                reply.null()
                return
            }
            guard case .string(let bytes) = shard.table[position: position].value else {
                reply.error(Self.wrongType)
                return
            }
            reply.bulkString(bytes)
        }
    }

    /// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms |
    /// KEEPTTL], parsed as redis-server parses it: options in any order and
    /// case; an option may repeat (the last amount wins) but not meet one
    /// it excludes, which is a syntax error.
    func set(_ command: RESPCommand, _ reply: RESPReplies) {
        guard let options = SetOptions(command) else {
            reply.error(Self.syntaxError)
            return
        }
        var clock = KVClock()
        var expireAtMs: Int64 = 0
        if let expiry = options.expiry {
            guard let amount = command.integer(at: expiry.index) else {
                reply.error(Self.notAnInteger)
                return
            }
            guard let at = Self.setDeadline(amount, expiry.kind, nowMs: clock.nowMs) else {
                reply.error("ERR invalid expire time in 'set' command")
                return
            }
            expireAtMs = at
        }
        let key = command[1]
        let hash = ByteHash.hash(key)
        store.withShard(for: hash) { shard in
            let position = shard.find(key, hash: hash, clock: &clock)
            var old: [UInt8]?
            if let position {
                if case .string(let bytes) = shard.table[position: position].value {
                    old = bytes
                } else if options.returnOld {
                    reply.error(Self.wrongType)
                    return
                }
            }
            let exists = position != nil
            guard !(options.onlyIfAbsent && exists) && !(options.onlyIfPresent && !exists) else {
                if options.returnOld, let old { reply.bulkString(old) } else { reply.null() }
                return
            }
            if options.keepTTL, let position { expireAtMs = shard.table[position: position].expireAtMs }
            shard.put(key, hash: hash, KVEntry(.string(Array(command[2])), expireAtMs: expireAtMs))
            if options.returnOld {
                if let old { reply.bulkString(old) } else { reply.null() }
            } else {
                reply.simpleString("OK")
            }
        }
    }

    /// How an expiry amount is given.
    enum ExpiryKind {
        /// EX, EXPIRE: seconds from now.
        case seconds
        /// PX, PEXPIRE: milliseconds from now.
        case milliseconds
        /// EXAT, EXPIREAT: a Unix time in seconds.
        case unixSeconds
        /// PXAT, PEXPIREAT: a Unix time in milliseconds.
        case unixMilliseconds

        var isRelative: Bool { self == .seconds || self == .milliseconds }
        var inSeconds: Bool { self == .seconds || self == .unixSeconds }
    }

    /// SET's options, checked as redis-server checks them.
    struct SetOptions {
        var onlyIfAbsent = false
        var onlyIfPresent = false
        var returnOld = false
        var keepTTL = false
        /// The expiry's kind and the index of its amount.
        var expiry: (kind: ExpiryKind, index: Int)?

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

        static func expiryKind(_ command: RESPCommand, _ index: Int) -> ExpiryKind? {
            if command.argument(index, equalsIgnoringCase: "EX") { return .seconds }
            if command.argument(index, equalsIgnoringCase: "PX") { return .milliseconds }
            if command.argument(index, equalsIgnoringCase: "EXAT") { return .unixSeconds }
            if command.argument(index, equalsIgnoringCase: "PXAT") { return .unixMilliseconds }
            return nil
        }
    }

    /// SET's expiry as a Unix time in milliseconds, or nil where redis-server
    /// answers "invalid expire time": an amount not above zero, or one
    /// whose conversion to milliseconds or addition to now overflows.
    static func setDeadline(_ amount: Int64, _ kind: ExpiryKind, nowMs: Int64) -> Int64? {
        guard amount > 0 else { return nil }
        var milliseconds = amount
        if kind.inSeconds {
            guard amount <= Int64.max / 1_000 else { return nil }
            milliseconds *= 1_000
        }
        guard kind.isRelative else { return milliseconds }
        let (at, overflow) = milliseconds.addingReportingOverflow(nowMs)
        return overflow ? nil : at
    }

    /// EXPIRE's and PEXPIRE's deadline, or nil where redis-server answers
    /// "invalid expire time": seconds whose milliseconds leave Int64, or a
    /// sum past Int64.max. Negative amounts are allowed (the key goes).
    static func expireDeadline(_ amount: Int64, _ kind: ExpiryKind, nowMs: Int64) -> Int64? {
        var milliseconds = amount
        if kind.inSeconds {
            guard amount <= Int64.max / 1_000 && amount >= Int64.min / 1_000 else { return nil }
            milliseconds *= 1_000
        }
        guard kind.isRelative else { return milliseconds }
        guard milliseconds <= Int64.max - nowMs else { return nil }
        return milliseconds + nowMs
    }

    func delete(_ command: RESPCommand, _ reply: RESPReplies) {
        let hashes = (1..<command.count).map { ByteHash.hash(command[$0]) }
        let deleted = store.withShards(for: hashes) {
            var clock = KVClock()
            var deleted = 0
            for index in 1..<command.count {
                let shard = store.shard(for: hashes[index - 1])
                if let position = shard.find(command[index], hash: hashes[index - 1], clock: &clock) {
                    shard.remove(at: position)
                    deleted += 1
                }
            }
            return deleted
        }
        reply.integer(deleted)
    }

    func exists(_ command: RESPCommand, _ reply: RESPReplies) {
        let hashes = (1..<command.count).map { ByteHash.hash(command[$0]) }
        let found = store.withShards(for: hashes) {
            var clock = KVClock()
            var found = 0
            for index in 1..<command.count {
                let shard = store.shard(for: hashes[index - 1])
                if shard.find(command[index], hash: hashes[index - 1], clock: &clock) != nil { found += 1 }
            }
            return found
        }
        reply.integer(found)
    }

    /// INCR, DECR (fixed `by`) and INCRBY (`by` nil: the argument).
    func incrementBy(_ command: RESPCommand, _ reply: RESPReplies, _ by: Int64?) {
        guard let increment = by ?? command.integer(at: 2) else {
            reply.error(Self.notAnInteger)
            return
        }
        add(increment, to: command[1], reply)
    }

    func decrementBy(_ command: RESPCommand, _ reply: RESPReplies) {
        guard let decrement = command.integer(at: 2) else {
            reply.error(Self.notAnInteger)
            return
        }
        guard decrement != Int64.min else {
            reply.error("ERR decrement would overflow")
            return
        }
        add(-decrement, to: command[1], reply)
    }

    /// Adds to the integer a string key holds (a missing key is 0); the key
    /// keeps its expiry.
    func add(_ increment: Int64, to key: UnsafeRawBufferPointer, _ reply: RESPReplies) {
        let hash = ByteHash.hash(key)
        store.withShard(for: hash) { shard in
            var clock = KVClock()
            let position = shard.find(key, hash: hash, clock: &clock)
            var current: Int64 = 0
            if let position {
                guard case .string(let bytes) = shard.table[position: position].value else {
                    reply.error(Self.wrongType)
                    return
                }
                guard let value = bytes.withUnsafeBytes({ RESPInteger.parse($0) }) else {
                    reply.error(Self.notAnInteger)
                    return
                }
                current = value
            }
            let (result, overflow) = current.addingReportingOverflow(increment)
            guard !overflow else {
                reply.error("ERR increment or decrement would overflow")
                return
            }
            let text = Array(String(result).utf8)
            if let position {
                shard.table.modify(at: position) { $0.value = .string(text) }
            } else {
                shard.put(key, hash: hash, KVEntry(.string(text)))
            }
            reply.integer(Int(result))
        }
    }

    func multiGet(_ command: RESPCommand, _ reply: RESPReplies) {
        let hashes = (1..<command.count).map { ByteHash.hash(command[$0]) }
        store.withShards(for: hashes) {
            var clock = KVClock()
            reply.arrayHeader(command.count - 1)
            for index in 1..<command.count {
                let shard = store.shard(for: hashes[index - 1])
                if let position = shard.find(command[index], hash: hashes[index - 1], clock: &clock),
                    case .string(let bytes) = shard.table[position: position].value
                {
                    reply.bulkString(bytes)
                } else {
                    reply.null()
                }
            }
        }
    }

    func multiSet(_ command: RESPCommand, _ reply: RESPReplies) {
        guard command.count % 2 == 1 else {
            reply.error("ERR wrong number of arguments for 'mset' command")
            return
        }
        let hashes = stride(from: 1, to: command.count, by: 2).map { ByteHash.hash(command[$0]) }
        store.withShards(for: hashes) {
            for (pair, index) in stride(from: 1, to: command.count, by: 2).enumerated() {
                store.shard(for: hashes[pair]).put(
                    command[index], hash: hashes[pair], KVEntry(.string(Array(command[index + 1]))))
            }
        }
        reply.simpleString("OK")
    }

    /// EXPIRE / PEXPIRE key amount [NX | XX | GT | LT].
    func expire(_ command: RESPCommand, _ reply: RESPReplies, unitMs: Int64, name: StaticString) {
        var onlyWithout = false
        var onlyWith = false
        var onlyLater = false
        var onlyEarlier = false
        for index in 3..<max(3, command.count) {
            if command.argument(index, equalsIgnoringCase: "NX") {
                onlyWithout = true
            } else if command.argument(index, equalsIgnoringCase: "XX") {
                onlyWith = true
            } else if command.argument(index, equalsIgnoringCase: "GT") {
                onlyLater = true
            } else if command.argument(index, equalsIgnoringCase: "LT") {
                onlyEarlier = true
            } else {
                reply.error(bytes: Self.text("ERR Unsupported option ", command[index], ""))
                return
            }
        }
        if onlyWithout && (onlyWith || onlyLater || onlyEarlier) {
            reply.error("ERR NX and XX, GT or LT options at the same time are not compatible")
            return
        }
        if onlyLater && onlyEarlier {
            reply.error("ERR GT and LT options at the same time are not compatible")
            return
        }
        guard let amount = command.integer(at: 2) else {
            reply.error(Self.notAnInteger)
            return
        }
        var clock = KVClock()
        guard let at = Self.expireDeadline(amount, unitMs == 1 ? .milliseconds : .seconds, nowMs: clock.nowMs) else {
            reply.error("ERR invalid expire time in '\(name)' command")
            return
        }
        let key = command[1]
        let hash = ByteHash.hash(key)
        store.withShard(for: hash) { shard in
            guard let position = shard.find(key, hash: hash, clock: &clock) else {
                reply.integer(0)
                return
            }
            let current = shard.table[position: position].expireAtMs  // 0: none, i.e. infinite
            if (onlyWithout && current != 0) || (onlyWith && current == 0)
                || (onlyLater && (current == 0 || at <= current)) || (onlyEarlier && current != 0 && at >= current)
            {
                reply.integer(0)
                return
            }
            if at <= clock.nowMs {
                shard.remove(at: position)
            } else {
                shard.setExpiry(at: position, at)
            }
            reply.integer(1)
        }
    }

    /// TTL (divisor 1,000, rounded) and PTTL (1): -2 missing, -1 no expiry.
    func timeToLive(_ command: RESPCommand, _ reply: RESPReplies, divisor: Int64) {
        let key = command[1]
        let hash = ByteHash.hash(key)
        store.withShard(for: hash) { shard in
            var clock = KVClock()
            guard let position = shard.find(key, hash: hash, clock: &clock) else {
                reply.integer(-2)
                return
            }
            let at = shard.table[position: position].expireAtMs
            guard at != 0 else {
                reply.integer(-1)
                return
            }
            let remaining = max(0, at - clock.nowMs)
            reply.integer(Int(divisor == 1 ? remaining : (remaining + 500) / 1_000))
        }
    }
}
