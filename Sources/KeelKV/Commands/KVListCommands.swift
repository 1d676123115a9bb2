// List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE,
// LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP. A list
// emptied by a command is deleted, as in Redis. (The blocking forms are in
// KVBlockingCommands.)

import KeelWire

extension KVContext {
    /// The list object of a list entry.
    func list(_ entry: KVEntry) -> KVQuickList {
        KVObjects.object(entry.object, as: KVQuickList.self)
    }

    /// Pushes `elements` (arguments from `first`) to `key`'s list, making it
    /// when absent (unless `onlyIfExists`); replies the length (0 when
    /// absent and `onlyIfExists`), or an error.
    func push(_ key: UnsafeRawBufferPointer, elementsFrom first: Int, front: Bool, onlyIfExists: Bool) {
        let list: KVQuickList
        switch find(key, as: .list) {
        case .wrongType: return wrongType()
        case .missing:
            if onlyIfExists { return reply.integer(0) }
            let created = KVQuickList(fill: limits.listFill)
            guard add(key, .object(KVObjects.pointer(to: created), .list, .general)) else { return outOfMemory() }
            list = created
        case .found(let found):
            list = self.list(found.entry)
        }
        for index in first..<argumentCount {
            guard list.push(self[index], front: front) else {
                removeIfEmpty(key, count: list.count)
                return outOfMemory()
            }
        }
        touched(key)
        notify(.list, front ? "lpush" : "rpush", key)
        reply.integer(list.count)
    }

    /// A list index (negative from the end) as a position, or nil past the ends.
    func listPosition(_ index: Int64, count: Int) -> Int? {
        let position = index < 0 ? Int64(count) + index : index
        return position >= 0 && position < Int64(count) ? Int(position) : nil
    }
}

enum KVListCommands {
    static func push(_ context: KVContext, front: Bool, onlyIfExists: Bool) {
        context.push(context[1], elementsFrom: 2, front: front, onlyIfExists: onlyIfExists)
    }

    /// LPOP / RPOP key [count]: one element (or null), or with a count an
    /// array (or the null array for a missing key).
    static func pop(_ context: KVContext, front: Bool) {
        guard context.argumentCount <= 3 else { return context.wrongArguments(front ? "lpop" : "rpop") }
        var count: Int?
        if context.argumentCount == 3 {
            guard let value = context.command.integer(at: 2), value >= 0 else {
                return context.reply.error("ERR value is out of range, must be positive")
            }
            count = Int(min(value, Int64(Int.max / 2)))
        }
        let key = context[1]
        switch context.find(key, as: .list) {
        case .wrongType: context.wrongType()
        case .missing: if count == nil { context.reply.null() } else { context.reply.nullArray() }
        case .found(let found):
            let list = context.list(found.entry)
            if let count {
                let taken = min(count, list.count)
                context.reply.arrayHeader(taken)
                for _ in 0..<taken { _ = list.pop(front: front) { context.reply.bulkString($0) } }
                if taken > 0 {
                    context.touched(key)
                    context.notify(.list, front ? "lpop" : "rpop", key)
                }
            } else {
                _ = list.pop(front: front) { context.reply.bulkString($0) }
                context.touched(key)
                context.notify(.list, front ? "lpop" : "rpop", key)
            }
            context.removeIfEmpty(key, count: list.count)
        }
    }

    static func llen(_ context: KVContext) {
        switch context.find(context[1], as: .list) {
        case .wrongType: context.wrongType()
        case .missing: context.reply.integer(0)
        case .found(let found): context.reply.integer(context.list(found.entry).count)
        }
    }

    /// Redis's range arithmetic: negative indices from the end, clamped;
    /// nil when the range is empty.
    static func clamp(_ start: Int64, _ stop: Int64, count: Int) -> (Int, Int)? {
        let length = Int64(count)
        var first = start < 0 ? start + length : start
        var last = stop < 0 ? stop + length : stop
        if first < 0 { first = 0 }
        guard first <= last && first < length else { return nil }
        if last >= length { last = length - 1 }
        return (Int(first), Int(last))
    }

    static func lrange(_ context: KVContext) {
        guard let start = context.integer(at: 2), let stop = context.integer(at: 3) else { return }
        switch context.find(context[1], as: .list) {
        case .wrongType: context.wrongType()
        case .missing: context.reply.arrayHeader(0)
        case .found(let found):
            let list = context.list(found.entry)
            guard let (first, last) = clamp(start, stop, count: list.count) else { return context.reply.arrayHeader(0) }
            context.reply.arrayHeader(last - first + 1)
            list.forEach(from: first, through: last) {
                context.reply.bulkString($0)
                return true
            }
        }
    }

    static func lindex(_ context: KVContext) {
        switch context.find(context[1], as: .list) {
        case .wrongType: context.wrongType()
        case .missing: context.reply.null()
        case .found(let found):
            guard let index = context.integer(at: 2) else { return }
            let list = context.list(found.entry)
            guard let position = context.listPosition(index, count: list.count) else { return context.reply.null() }
            _ = list.element(at: position) { context.reply.bulkString($0) }
        }
    }

    static func lset(_ context: KVContext) {
        let key = context[1]
        switch context.find(key, as: .list) {
        case .wrongType: context.wrongType()
        case .missing: context.reply.error("ERR no such key")
        case .found(let found):
            guard let index = context.integer(at: 2) else { return }
            let list = context.list(found.entry)
            guard let position = context.listPosition(index, count: list.count) else {
                return context.reply.error("ERR index out of range")
            }
            guard list.set(position, to: context[3]) else { return context.outOfMemory() }
            context.touched(key)
            context.notify(.list, "lset", key)
            context.reply.simpleString("OK")
        }
    }

    /// LINSERT key BEFORE | AFTER pivot element.
    static func linsert(_ context: KVContext) {
        let after: Bool
        if context.argument(2, is: "AFTER") {
            after = true
        } else if context.argument(2, is: "BEFORE") {
            after = false
        } else {
            return context.syntaxError()
        }
        let key = context[1]
        switch context.find(key, as: .list) {
        case .wrongType: context.wrongType()
        case .missing: context.reply.integer(0)
        case .found(let found):
            let list = context.list(found.entry)
            let pivot = context[3]
            var position: Int?
            var index = 0
            list.forEach(from: 0, through: list.count - 1) { element in
                if KVBytes.equal(element, pivot) {
                    position = index
                    return false
                }
                index += 1
                return true
            }
            guard let position else { return context.reply.integer(-1) }
            guard list.insert(context[4], at: after ? position + 1 : position) else { return context.outOfMemory() }
            context.touched(key)
            context.notify(.list, "linsert", key)
            context.reply.integer(list.count)
        }
    }

    /// LREM key count element: count > 0 from the head, < 0 from the tail,
    /// 0 all.
    static func lrem(_ context: KVContext) {
        guard let count = context.integer(at: 2) else { return }
        let key = context[1]
        switch context.find(key, as: .list) {
        case .wrongType: context.wrongType()
        case .missing: context.reply.integer(0)
        case .found(let found):
            let list = context.list(found.entry)
            let element = context[3]
            let limit = count == 0 ? Int.max : Int(min(count.magnitude, UInt64(Int.max)))
            let removed = list.removeAll(limit: limit, fromTail: count < 0) { KVBytes.equal($0, element) }
            if removed > 0 {
                context.touched(key)
                context.notify(.list, "lrem", key)
            }
            context.removeIfEmpty(key, count: list.count)
            context.reply.integer(removed)
        }
    }

    static func ltrim(_ context: KVContext) {
        guard let start = context.integer(at: 2), let stop = context.integer(at: 3) else { return }
        let key = context[1]
        switch context.find(key, as: .list) {
        case .wrongType: context.wrongType()
        case .missing: context.reply.simpleString("OK")
        case .found(let found):
            let list = context.list(found.entry)
            if let (first, last) = clamp(start, stop, count: list.count) {
                list.trim(keepingFrom: first, through: last)
            } else {
                list.trim(keepingFrom: list.count, through: list.count - 1)
            }
            context.touched(key)
            context.notify(.list, "ltrim", key)
            context.removeIfEmpty(key, count: list.count)
            context.reply.simpleString("OK")
        }
    }

    /// LPOS key element [RANK rank] [COUNT count] [MAXLEN len].
    static func lpos(_ context: KVContext) {
        var rank: Int64 = 1
        var count: Int64?
        var maxLength: Int64 = 0
        var index = 3
        while index < context.argumentCount {
            guard index + 1 < context.argumentCount else { return context.syntaxError() }
            if context.argument(index, is: "RANK") {
                guard let value = context.integer(at: index + 1) else { return }
                guard value != 0 else {
                    return context.reply.error(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
                    )
                }
                // redis-server negates Int64.min into itself, which still
                // counts as "from the end" and matches at once: RANK -1.
                rank = value == Int64.min ? -1 : value
            } else if context.argument(index, is: "COUNT") {
                guard let value = context.command.integer(at: index + 1), value >= 0 else {
                    return context.reply.error("ERR COUNT can't be negative")
                }
                count = value
            } else if context.argument(index, is: "MAXLEN") {
                guard let value = context.command.integer(at: index + 1), value >= 0 else {
                    return context.reply.error("ERR MAXLEN can't be negative")
                }
                maxLength = value
            } else {
                return context.syntaxError()
            }
            index += 2
        }
        switch context.find(context[1], as: .list) {
        case .wrongType: return context.wrongType()
        case .missing:
            if count != nil { context.reply.arrayHeader(0) } else { context.reply.null() }
        case .found(let found):
            let list = context.list(found.entry)
            let element = context[2]
            var matches: [Int] = []
            let wanted = count.map { $0 == 0 ? Int.max : Int($0) } ?? 1
            var skip = Int(rank.magnitude) - 1
            var examined: Int64 = 0
            let visit: (UnsafeRawBufferPointer, Int) -> Bool = { bytes, position in
                if maxLength > 0 && examined >= maxLength { return false }
                examined += 1
                if KVBytes.equal(bytes, element) {
                    if skip > 0 { skip -= 1 } else { matches.append(position) }
                }
                return matches.count < wanted
            }
            if rank > 0 {
                var position = 0
                list.forEach(from: 0, through: list.count - 1) { bytes in
                    defer { position += 1 }
                    return visit(bytes, position)
                }
            } else {
                var position = list.count - 1
                list.forEachReversed(from: list.count - 1, through: 0) { bytes in
                    defer { position -= 1 }
                    return visit(bytes, position)
                }
            }
            if count != nil {
                context.reply.arrayHeader(matches.count)
                for match in matches { context.reply.integer(match) }
            } else if let first = matches.first {
                context.reply.integer(first)
            } else {
                context.reply.null()
            }
        }
    }

    /// Parses LEFT or RIGHT at `index`; nil having replied a syntax error.
    static func end(_ context: KVContext, _ index: Int) -> Bool? {
        if context.argument(index, is: "LEFT") { return true }
        if context.argument(index, is: "RIGHT") { return false }
        context.syntaxError()
        return nil
    }

    /// LMOVE source destination LEFT|RIGHT LEFT|RIGHT, and RPOPLPUSH.
    static func lmove(_ context: KVContext, from sourceFront: Bool, to targetFront: Bool) {
        guard let element = takeForMove(context, sourceKey: context[1], targetKey: context[2], from: sourceFront) else {
            return
        }
        guard let element = element else { return context.reply.null() }
        guard pushMoved(context, element, to: context[2], front: targetFront) else {
            // The element is lost; an emptied source still goes.
            finishMove(context, sourceKey: context[1], from: sourceFront)
            return context.outOfMemory()
        }
        finishMove(context, sourceKey: context[1], from: sourceFront)
        context.reply.bulkString(element)
    }

    /// Checks both keys' types and pops the element a move takes (copied):
    /// nil having replied an error, .some(nil) when the source is empty.
    /// The source, emptied, is deleted once the element is pushed
    /// (finishMove), as redis-server orders it: a list rotated onto itself
    /// is never deleted, and the push is announced before the pop.
    static func takeForMove(
        _ context: KVContext, sourceKey: UnsafeRawBufferPointer, targetKey: UnsafeRawBufferPointer, from front: Bool
    ) -> [UInt8]?? {
        let source: KVFound
        switch context.find(sourceKey, as: .list) {
        case .wrongType:
            context.wrongType()
            return nil
        case .missing: return .some(nil)
        case .found(let found): source = found
        }
        if case .wrongType = context.find(targetKey, as: .list) {
            context.wrongType()
            return nil
        }
        let list = context.list(source.entry)
        let element = list.pop(front: front) { Array($0) }
        context.touched(sourceKey)
        return .some(element)
    }

    /// A move's pop announced, and its source deleted if it is now empty.
    static func finishMove(_ context: KVContext, sourceKey: UnsafeRawBufferPointer, from front: Bool) {
        context.notify(.list, front ? "lpop" : "rpop", sourceKey)
        if case .found(let found) = context.find(sourceKey, as: .list) {
            context.removeIfEmpty(sourceKey, count: context.list(found.entry).count)
        }
    }

    /// Pushes a moved element to `key` (made when absent).
    static func pushMoved(_ context: KVContext, _ element: [UInt8], to key: UnsafeRawBufferPointer, front: Bool) -> Bool
    {
        let list: KVQuickList
        switch context.find(key, as: .list) {
        case .wrongType: return false
        case .missing:
            list = KVQuickList(fill: context.limits.listFill)
            guard context.add(key, .object(KVObjects.pointer(to: list), .list, .general)) else { return false }
        case .found(let found): list = context.list(found.entry)
        }
        let pushed = element.withUnsafeBytes { list.push($0, front: front) }
        if pushed {
            context.touched(key)
            context.notify(.list, front ? "lpush" : "rpush", key)
        }
        return pushed
    }

    static func lmoveCommand(_ context: KVContext) {
        guard let from = end(context, 3), let to = end(context, 4) else { return }
        lmove(context, from: from, to: to)
    }

    /// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count].
    static func lmpop(_ context: KVContext) {
        if !multiPop(context, numkeysIndex: 1) { context.reply.nullArray() }
    }

    /// LMPOP's work from its numkeys (BLMPOP's too): pops from the first
    /// non-empty list; false when all are empty (nothing replied).
    static func multiPop(_ context: KVContext, numkeysIndex: Int) -> Bool {
        guard let (keys, front, count) = parseMultiPop(context, numkeysIndex: numkeysIndex, ends: true) else {
            return true
        }
        for index in keys {
            let key = context[index]
            switch context.find(key, as: .list) {
            case .wrongType:
                // A blocked client waits on through a key of another type.
                if context.isRetryingBlocked { continue }
                context.wrongType()
                return true
            case .missing: continue
            case .found(let found):
                let list = context.list(found.entry)
                let taken = min(count, list.count)
                context.reply.arrayHeader(2)
                context.reply.bulkString(key)
                context.reply.arrayHeader(taken)
                for _ in 0..<taken { _ = list.pop(front: front) { context.reply.bulkString($0) } }
                context.touched(key)
                context.notify(.list, front ? "lpop" : "rpop", key)
                context.removeIfEmpty(key, count: list.count)
                if context.isReplicating {
                    context.propagate([front ? "LPOP" : "RPOP", KVStreamArgument(key), KVStreamArgument(Int64(taken))])
                }
                return true
            }
        }
        return false
    }

    /// numkeys, the keys, LEFT|RIGHT (or MIN|MAX) and COUNT, as LMPOP and
    /// ZMPOP parse them; nil having replied an error.
    static func parseMultiPop(_ context: KVContext, numkeysIndex: Int, ends: Bool) -> ([Int], Bool, Int)? {
        guard let numkeys = context.command.integer(at: numkeysIndex), numkeys > 0 else {
            context.reply.error("ERR numkeys should be greater than 0")
            return nil
        }
        let first = numkeysIndex + 1
        guard Int64(context.argumentCount - first) > numkeys else {
            context.syntaxError()
            return nil
        }
        let keys = Array(first..<(first + Int(numkeys)))
        let whereIndex = first + Int(numkeys)
        let front: Bool
        if context.argument(whereIndex, is: ends ? "LEFT" : "MIN") {
            front = true
        } else if context.argument(whereIndex, is: ends ? "RIGHT" : "MAX") {
            front = false
        } else {
            context.syntaxError()
            return nil
        }
        var count = 1
        var index = whereIndex + 1
        var sawCount = false
        while index < context.argumentCount {
            guard !sawCount, context.argument(index, is: "COUNT"), index + 1 < context.argumentCount else {
                context.syntaxError()
                return nil
            }
            guard let value = context.command.integer(at: index + 1), value > 0 else {
                context.reply.error("ERR count should be greater than 0")
                return nil
            }
            count = Int(min(value, Int64(Int.max / 2)))
            sawCount = true
            index += 2
        }
        return (keys, front, count)
    }

    /// LMPOP's and ZMPOP's keys, for locking.
    static func multiPopKeys(_ command: RESPCommand, numkeysIndex: Int) -> [Int] {
        guard let numkeys = command.integer(at: numkeysIndex), numkeys > 0,
            Int64(command.count - numkeysIndex - 1) >= numkeys
        else { return [] }
        return Array((numkeysIndex + 1)...(numkeysIndex + Int(numkeys)))
    }
}
