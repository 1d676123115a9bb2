// List, set and hash commands: LPUSH, RPUSH, LPOP, RPOP, LLEN, LRANGE; SADD,
// SREM, SPOP, SCARD, SISMEMBER, SMEMBERS; HSET, HGET, HDEL, HGETALL, HLEN.
// As in redis-server, a collection that becomes empty is deleted, and a
// command on a key of another type is refused with WRONGTYPE.

import Keel

extension KVCommands {
    /// The collection at `key` through `extract` (nil: the key is missing),
    /// or a WRONGTYPE reply (returns false).
    func withCollection<C>(
        _ key: UnsafeRawBufferPointer, _ reply: RESPReplies, extract: (KVValue) -> C?,
        _ body: (KVShard, Int?, C?) -> Void
    ) {
        let hash = ByteHash.hash(key)
        store.withShard(for: hash) { shard in
            var clock = KVClock()
            guard let position = shard.find(key, hash: hash, clock: &clock) else {
                body(shard, nil, nil)
                return
            }
            guard let collection = extract(shard.table[position: position].value) else {
                reply.error(Self.wrongType)
                return
            }
            body(shard, position, collection)
        }
    }

    static func list(_ value: KVValue) -> KVList? { if case .list(let list) = value { list } else { nil } }
    static func set(_ value: KVValue) -> KVSet? { if case .set(let set) = value { set } else { nil } }
    static func hash(_ value: KVValue) -> KVHash? { if case .hash(let hash) = value { hash } else { nil } }

    // MARK: lists

    func push(_ command: RESPCommand, _ reply: RESPReplies, front: Bool) {
        withCollection(command[1], reply, extract: Self.list) { shard, _, existing in
            let list = existing ?? KVList()
            for index in 2..<command.count {
                if front { list.items.prepend(Array(command[index])) } else { list.items.append(Array(command[index])) }
            }
            if existing == nil { shard.put(command[1], hash: ByteHash.hash(command[1]), KVEntry(.list(list))) }
            reply.integer(list.items.count)
        }
    }

    /// LPOP / RPOP key [count]: one element (or nil), or with a count an
    /// array (or the null array for a missing key).
    func pop(_ command: RESPCommand, _ reply: RESPReplies, front: Bool) {
        guard command.count <= 3 else {
            reply.error("ERR wrong number of arguments for '\(front ? "lpop" : "rpop")' command")
            return
        }
        var count: Int64?
        if command.count == 3 {
            guard let value = command.integer(at: 2) else {
                reply.error(Self.mustBePositive)
                return
            }
            guard value >= 0 else {
                reply.error(Self.mustBePositive)
                return
            }
            count = value
        }
        withCollection(command[1], reply, extract: Self.list) { shard, position, existing in
            guard let list = existing, let position else {
                if count == nil { reply.null() } else { reply.nullArray() }
                return
            }
            guard let count else {
                reply.bulkString(front ? list.items.removeFirst() : list.items.removeLast())
                if list.items.isEmpty { shard.remove(at: position) }
                return
            }
            let taken = Int(min(count, Int64(list.items.count)))
            reply.arrayHeader(taken)
            for _ in 0..<taken { reply.bulkString(front ? list.items.removeFirst() : list.items.removeLast()) }
            if list.items.isEmpty { shard.remove(at: position) }
        }
    }

    func listLength(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.list) { _, _, list in
            reply.integer(list?.items.count ?? 0)
        }
    }

    func listRange(_ command: RESPCommand, _ reply: RESPReplies) {
        guard let start = command.integer(at: 2), let stop = command.integer(at: 3) else {
            reply.error(Self.notAnInteger)
            return
        }
        withCollection(command[1], reply, extract: Self.list) { _, _, existing in
            guard let list = existing else {
                reply.arrayHeader(0)
                return
            }
            let length = Int64(list.items.count)
            var first = start < 0 ? start + length : start
            var last = stop < 0 ? stop + length : stop
            if first < 0 { first = 0 }
            guard first <= last && first < length else {
                reply.arrayHeader(0)
                return
            }
            if last >= length { last = length - 1 }
            reply.arrayHeader(Int(last - first + 1))
            for index in Int(first)...Int(last) { reply.bulkString(list.items[index]) }
        }
    }

    // MARK: sets

    func setAdd(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.set) { shard, _, existing in
            let set = existing ?? KVSet()
            var added = 0
            for index in 2..<command.count {
                let member = command[index]
                let hash = ByteHash.hash(member)
                if set.members.position(of: member, hash: hash) == nil {
                    set.members.insert(member, hash: hash, value: ())
                    added += 1
                }
            }
            if existing == nil { shard.put(command[1], hash: ByteHash.hash(command[1]), KVEntry(.set(set))) }
            reply.integer(added)
        }
    }

    func setRemove(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.set) { shard, position, existing in
            guard let set = existing, let position else {
                reply.integer(0)
                return
            }
            var removed = 0
            for index in 2..<command.count {
                let member = command[index]
                if let found = set.members.position(of: member, hash: ByteHash.hash(member)) {
                    set.members.remove(at: found)
                    removed += 1
                }
            }
            if set.members.count == 0 { shard.remove(at: position) }
            reply.integer(removed)
        }
    }

    /// SPOP key [count]: random members, removed.
    func setPop(_ command: RESPCommand, _ reply: RESPReplies) {
        guard command.count <= 3 else {
            reply.error(Self.syntaxError)
            return
        }
        var count: Int64?
        if command.count == 3 {
            guard let value = command.integer(at: 2), value >= 0 else {
                reply.error(Self.mustBePositive)
                return
            }
            count = value
        }
        withCollection(command[1], reply, extract: Self.set) { shard, position, existing in
            guard let set = existing, let position else {
                if count == nil { reply.null() } else { reply.arrayHeader(0) }
                return
            }
            let taken = Int(min(count ?? 1, Int64(set.members.count)))
            if count != nil { reply.arrayHeader(taken) }
            for _ in 0..<taken {
                let random = Int.random(in: 0..<set.members.capacity)
                let found = set.members.occupiedPosition(from: random)!
                reply.bulkString(set.members.key(at: found))
                set.members.remove(at: found)
            }
            if set.members.count == 0 { shard.remove(at: position) }
        }
    }

    func setCardinality(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.set) { _, _, set in
            reply.integer(set?.members.count ?? 0)
        }
    }

    func setIsMember(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.set) { _, _, set in
            let member = command[2]
            let found = set?.members.position(of: member, hash: ByteHash.hash(member)) != nil
            reply.integer(found ? 1 : 0)
        }
    }

    func setMembers(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.set) { _, _, existing in
            guard let set = existing else {
                reply.arrayHeader(0)
                return
            }
            reply.arrayHeader(set.members.count)
            set.members.forEachPosition { reply.bulkString(set.members.key(at: $0)) }
        }
    }

    // MARK: hashes

    func hashSet(_ command: RESPCommand, _ reply: RESPReplies) {
        guard command.count % 2 == 0 else {
            reply.error("ERR wrong number of arguments for 'hset' command")
            return
        }
        withCollection(command[1], reply, extract: Self.hash) { shard, _, existing in
            let hash = existing ?? KVHash()
            var added = 0
            for index in stride(from: 2, to: command.count, by: 2) {
                let field = command[index]
                let fieldHash = ByteHash.hash(field)
                if let found = hash.fields.position(of: field, hash: fieldHash) {
                    hash.fields[position: found] = Array(command[index + 1])
                } else {
                    hash.fields.insert(field, hash: fieldHash, value: Array(command[index + 1]))
                    added += 1
                }
            }
            if existing == nil { shard.put(command[1], hash: ByteHash.hash(command[1]), KVEntry(.hash(hash))) }
            reply.integer(added)
        }
    }

    func hashGet(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.hash) { _, _, hash in
            if let value = hash?.fields.value(for: command[2]) { reply.bulkString(value) } else { reply.null() }
        }
    }

    func hashDelete(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.hash) { shard, position, existing in
            guard let hash = existing, let position else {
                reply.integer(0)
                return
            }
            var removed = 0
            for index in 2..<command.count {
                let field = command[index]
                if let found = hash.fields.position(of: field, hash: ByteHash.hash(field)) {
                    hash.fields.remove(at: found)
                    removed += 1
                }
            }
            if hash.fields.count == 0 { shard.remove(at: position) }
            reply.integer(removed)
        }
    }

    func hashGetAll(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.hash) { _, _, existing in
            guard let hash = existing else {
                reply.arrayHeader(0)
                return
            }
            reply.arrayHeader(hash.fields.count * 2)
            hash.fields.forEachPosition {
                reply.bulkString(hash.fields.key(at: $0))
                reply.bulkString(hash.fields[position: $0])
            }
        }
    }

    func hashLength(_ command: RESPCommand, _ reply: RESPReplies) {
        withCollection(command[1], reply, extract: Self.hash) { _, _, hash in
            reply.integer(hash?.fields.count ?? 0)
        }
    }
}
