// Sorted set commands: ZADD (NX, XX, GT, LT, CH, INCR), ZINCRBY, ZSCORE,
// ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANGE (BYSCORE, BYLEX, REV, LIMIT,
// WITHSCORES), ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGE, ZREVRANGEBYSCORE,
// ZRANGEBYLEX, ZREVRANGEBYLEX, ZRANK, ZREVRANK (WITHSCORE), ZREM,
// ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZREMRANGEBYLEX, ZPOPMIN, ZPOPMAX,
// ZRANDMEMBER, ZUNIONSTORE, ZINTERSTORE, ZUNION, ZINTER, ZDIFF, ZDIFFSTORE,
// ZINTERCARD, ZMPOP, ZSCAN. Scores are IEEE doubles, read as Redis reads
// them (strtod; "inf", "-inf"; "(" for an exclusive bound) and written
// "%.17g".

import KeelWire

extension KVContext {
    /// A score reply: a double in RESP3, its text as a bulk string in RESP2.
    func replyScore(_ score: Double) {
        KVDouble.withText(score) { reply.double(text: $0) }
    }
}

enum KVSortedSetCommands {
    /// The sorted set at `key` for reading; `.some(nil)` when absent; nil
    /// having replied WRONGTYPE.
    static func readable(_ context: KVContext, _ key: UnsafeRawBufferPointer) -> KVZSetValue?? {
        switch context.find(key, as: .zset) {
        case .wrongType:
            context.wrongType()
            return nil
        case .missing: return .some(nil)
        case .found(let found): return .some(KVZSetValue(found.entry))
        }
    }

    /// The sorted set at `key`, made (for `firstMember`) when absent; nil
    /// having replied an error.
    static func writable(_ context: KVContext, _ key: UnsafeRawBufferPointer, firstMember: UnsafeRawBufferPointer)
        -> KVZSetValue?
    {
        switch context.find(key, as: .zset) {
        case .wrongType:
            context.wrongType()
            return nil
        case .found(let found): return KVZSetValue(found.entry)
        case .missing:
            guard let (object, encoding) = KVZSetValue.makeObject(firstMember: firstMember, limits: context.limits),
                context.add(key, .object(object, .zset, encoding)), let found = context.find(key)
            else {
                context.outOfMemory()
                return nil
            }
            return KVZSetValue(found.entry)
        }
    }

    // MARK: ZADD, ZINCRBY

    /// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
    static func zadd(_ context: KVContext) {
        zaddGeneric(context, firstOption: 2, incrementOnly: false)
    }

    static func zincrby(_ context: KVContext) {
        zaddGeneric(context, firstOption: 2, incrementOnly: true)
    }

    /// ZADD's options.
    struct AddOptions {
        var onlyIfAbsent = false
        var onlyIfPresent = false
        var onlyGreater = false
        var onlyLess = false
        var changed = false
        var increment = false
    }

    private static func zaddGeneric(_ context: KVContext, firstOption: Int, incrementOnly: Bool) {
        var options = AddOptions(increment: incrementOnly)
        var index = firstOption
        if !incrementOnly {
            while index < context.argumentCount {
                if context.argument(index, is: "NX") {
                    options.onlyIfAbsent = true
                } else if context.argument(index, is: "XX") {
                    options.onlyIfPresent = true
                } else if context.argument(index, is: "GT") {
                    options.onlyGreater = true
                } else if context.argument(index, is: "LT") {
                    options.onlyLess = true
                } else if context.argument(index, is: "CH") {
                    options.changed = true
                } else if context.argument(index, is: "INCR") {
                    options.increment = true
                } else {
                    break
                }
                index += 1
            }
        }
        let elements = context.argumentCount - index
        guard elements % 2 == 0 && elements > 0 else { return context.syntaxError() }
        if options.onlyIfAbsent && options.onlyIfPresent {
            return context.reply.error("ERR XX and NX options at the same time are not compatible")
        }
        if (options.onlyGreater && options.onlyIfAbsent) || (options.onlyLess && options.onlyIfAbsent)
            || (options.onlyGreater && options.onlyLess)
        {
            return context.reply.error("ERR GT, LT, and/or NX options at the same time are not compatible")
        }
        if options.increment && elements > 2 {
            return context.reply.error("ERR INCR option supports a single increment-element pair")
        }
        var pairs: [(score: Double, member: Int)] = []
        for pair in stride(from: index, to: context.argumentCount, by: 2) {
            guard let score = KVDouble.parse(context[pair]) else {
                return context.reply.error("ERR value is not a valid float")
            }
            pairs.append((score, pair + 1))
        }
        add(context, options, pairs)
    }

    /// ZADD's work once its arguments are read (GEOADD's too): each pair
    /// is a score and the index of its member's argument.
    static func add(_ context: KVContext, _ options: AddOptions, _ pairs: [(score: Double, member: Int)]) {
        let key = context[1]
        if options.onlyIfPresent, case .missing = context.find(key, as: .zset) {
            return options.increment ? context.reply.null() : context.reply.integer(0)
        }
        guard let set = writable(context, key, firstMember: context[pairs[0].member]) else { return }
        var added = 0
        var updated = 0
        var result: Double?
        for (score, memberIndex) in pairs {
            let member = context[memberIndex]
            let current = set.score(of: member)
            var newScore = score
            if let current {
                if options.onlyIfAbsent { continue }
                if options.increment {
                    newScore = current + score
                    guard !newScore.isNaN else {
                        context.removeIfEmpty(key, count: set.count)
                        return context.reply.error("ERR resulting score is not a number (NaN)")
                    }
                }
                if (options.onlyGreater && newScore <= current) || (options.onlyLess && newScore >= current) {
                    continue
                }
                result = newScore
                if newScore != current {
                    guard set.set(member, score: newScore, limits: context.limits) != nil else {
                        return context.outOfMemory()
                    }
                    updated += 1
                }
            } else {
                if options.onlyIfPresent { continue }
                guard set.set(member, score: newScore, limits: context.limits) != nil else {
                    context.removeIfEmpty(key, count: set.count)
                    return context.outOfMemory()
                }
                result = newScore
                added += 1
            }
        }
        context.removeIfEmpty(key, count: set.count)
        if added + updated > 0 {
            context.touched(key)
            context.notify(.zset, options.increment ? "zincr" : "zadd", key)
        }
        if options.increment {
            if let result { context.replyScore(result) } else { context.reply.null() }
        } else {
            context.reply.integer(options.changed ? added + updated : added)
        }
    }

    // MARK: reading one member

    static func zscore(_ context: KVContext) {
        guard let found = readable(context, context[1]) else { return }
        guard let score = found?.score(of: context[2]) else { return context.reply.null() }
        context.replyScore(score)
    }

    static func zmscore(_ context: KVContext) {
        guard let found = readable(context, context[1]) else { return }
        context.reply.arrayHeader(context.argumentCount - 2)
        for index in 2..<context.argumentCount {
            if let score = found?.score(of: context[index]) { context.replyScore(score) } else { context.reply.null() }
        }
    }

    static func zcard(_ context: KVContext) {
        guard let found = readable(context, context[1]) else { return }
        context.reply.integer(found?.count ?? 0)
    }

    /// ZRANK / ZREVRANK key member [WITHSCORE].
    static func zrank(_ context: KVContext, reverse: Bool) {
        guard context.argumentCount <= 4 else { return context.wrongArguments(reverse ? "zrevrank" : "zrank") }
        var withScore = false
        if context.argumentCount == 4 {
            guard context.argument(3, is: "WITHSCORE") else { return context.syntaxError() }
            withScore = true
        }
        guard let found = readable(context, context[1]) else { return }
        guard let set = found, let (rank, score) = set.rank(of: context[2], reverse: reverse) else {
            return withScore ? context.reply.nullArray() : context.reply.null()
        }
        if withScore {
            context.reply.arrayHeader(2)
            context.reply.integer(rank)
            context.replyScore(score)
        } else {
            context.reply.integer(rank)
        }
    }

    // MARK: ranges

    /// A score bound as Redis reads it (strtod over the whole argument, not
    /// NaN: "" and "(" are 0, leading spaces pass): "(" makes it
    /// exclusive; nil when not a float.
    static func scoreBound(_ bytes: UnsafeRawBufferPointer) -> KVScoreBound? {
        if bytes.first == UInt8(ascii: "(") {
            guard let value = KVDouble.parseBound(UnsafeRawBufferPointer(rebasing: bytes.dropFirst())) else {
                return nil
            }
            return KVScoreBound(value: value, exclusive: true)
        }
        return KVDouble.parseBound(bytes).map { KVScoreBound(value: $0, exclusive: false) }
    }

    /// Whether a request's min and max read as its kind needs, as
    /// redis-server checks them before it looks the key up; false having
    /// replied the error.
    static func boundsAreValid(_ context: KVContext, _ request: RangeRequest) -> Bool {
        switch request.kind {
        case .rank:
            guard RESPInteger.parse(request.minimum) != nil, RESPInteger.parse(request.maximum) != nil else {
                context.notAnInteger()
                return false
            }
        case .score:
            guard scoreBound(request.minimum) != nil, scoreBound(request.maximum) != nil else {
                context.reply.error("ERR min or max is not a float")
                return false
            }
        case .lex:
            guard lexBound(request.minimum) != nil, lexBound(request.maximum) != nil else {
                context.reply.error("ERR min or max not valid string range item")
                return false
            }
        }
        return true
    }

    /// A member bound: "-", "+", "[member" or "(member"; nil otherwise.
    static func lexBound(_ bytes: UnsafeRawBufferPointer) -> KVLexBound? {
        guard let first = bytes.first else { return nil }
        switch first {
        case UInt8(ascii: "+"): return bytes.count == 1 ? .aboveAll : nil
        case UInt8(ascii: "-"): return bytes.count == 1 ? .belowAll : nil
        case UInt8(ascii: "("): return .member(Array(bytes.dropFirst()), exclusive: true)
        case UInt8(ascii: "["): return .member(Array(bytes.dropFirst()), exclusive: false)
        default: return nil
        }
    }

    /// How a range is asked for.
    enum RangeKind {
        case rank, score, lex
    }

    /// A parsed ZRANGE family request.
    struct RangeRequest {
        var kind = RangeKind.rank
        var reverse = false
        var withScores = false
        var offset = 0
        var limit = -1
        var minimum: UnsafeRawBufferPointer
        var maximum: UnsafeRawBufferPointer
    }

    /// The ascending ranks a request covers, or nil when none; `false`
    /// having replied an error.
    static func ranks(_ context: KVContext, _ set: KVZSetValue, _ request: RangeRequest) -> (Int, Int)?? {
        switch request.kind {
        case .rank:
            guard let start = RESPInteger.parse(request.minimum), let stop = RESPInteger.parse(request.maximum) else {
                context.notAnInteger()
                return nil
            }
            let total = set.count
            guard let (first, last) = KVListCommands.clamp(start, stop, count: total) else { return .some(nil) }
            // REV counts from the top: rank i from the end is ascending rank total-1-i.
            return .some(request.reverse ? (total - 1 - last, total - 1 - first) : (first, last))
        case .score:
            guard let low = scoreBound(request.reverse ? request.maximum : request.minimum),
                let high = scoreBound(request.reverse ? request.minimum : request.maximum)
            else {
                context.reply.error("ERR min or max is not a float")
                return nil
            }
            return .some(set.ranks(scoresFrom: low, to: high))
        case .lex:
            guard let low = lexBound(request.reverse ? request.maximum : request.minimum),
                let high = lexBound(request.reverse ? request.minimum : request.maximum)
            else {
                context.reply.error("ERR min or max not valid string range item")
                return nil
            }
            return .some(set.ranks(membersFrom: low, to: high))
        }
    }

    /// The members (and scores) a request selects, in reply order.
    static func select(_ set: KVZSetValue, _ ranks: (Int, Int)?, _ request: RangeRequest) -> [([UInt8], Double)] {
        guard let (first, last) = ranks, request.limit != 0 else { return [] }
        var items: [([UInt8], Double)] = []
        var skip = request.offset
        guard skip >= 0 else { return [] }
        set.forEachMember(ranks: first, through: last, reverse: request.reverse) { member, score in
            if skip > 0 {
                skip -= 1
                return true
            }
            items.append((Array(member), score))
            return request.limit < 0 || items.count < request.limit
        }
        return items
    }

    /// Writes selected members, with their scores when asked (pairs in RESP3).
    static func replyMembers(_ context: KVContext, _ items: [([UInt8], Double)], withScores: Bool) {
        let pairs = withScores && context.reply.isRESP3
        context.reply.arrayHeader(withScores && !pairs ? items.count * 2 : items.count)
        for (member, score) in items {
            if pairs { context.reply.arrayHeader(2) }
            context.reply.bulkString(member)
            if withScores { context.replyScore(score) }
        }
    }

    /// Parses what follows min and max (from `index`): BYSCORE, BYLEX, REV,
    /// LIMIT offset count, WITHSCORES, as ZRANGE allows (`modern`) or as the
    /// older commands do. False having replied an error.
    static func parseRangeOptions(_ context: KVContext, _ request: inout RangeRequest, from index: Int, modern: Bool)
        -> Bool
    {
        var index = index
        var sawLimit = false
        while index < context.argumentCount {
            if context.argument(index, is: "WITHSCORES") {
                request.withScores = true
            } else if context.argument(index, is: "LIMIT") && index + 2 < context.argumentCount
                && (modern || request.kind != .rank)
            {
                guard let offset = context.integer(at: index + 1), let count = context.integer(at: index + 2) else {
                    return false
                }
                request.offset = Int(clamping: offset)
                request.limit = Int(clamping: count)
                sawLimit = true
                index += 2
            } else if modern && context.argument(index, is: "BYSCORE") && request.kind == .rank {
                request.kind = .score
            } else if modern && context.argument(index, is: "BYLEX") && request.kind == .rank {
                request.kind = .lex
            } else if modern && context.argument(index, is: "REV") && !request.reverse {
                request.reverse = true
            } else {
                context.syntaxError()
                return false
            }
            index += 1
        }
        if sawLimit && request.kind == .rank {
            // redis-server refuses only a count: `LIMIT offset -1` by rank
            // is taken, and both are ignored.
            guard request.limit == -1 else {
                context.reply.error(
                    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
                return false
            }
            request.offset = 0
        }
        if request.withScores && request.kind == .lex {
            context.reply.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
            return false
        }
        return true
    }

    /// ZRANGE and its older forms (`kind`, `reverse` given by the command).
    static func zrange(_ context: KVContext, kind: RangeKind? = nil, reverse: Bool = false) {
        var request = RangeRequest(minimum: context[2], maximum: context[3])
        request.reverse = reverse
        if let kind { request.kind = kind }
        guard parseRangeOptions(context, &request, from: 4, modern: kind == nil) else { return }
        guard boundsAreValid(context, request) else { return }
        guard let found = readable(context, context[1]) else { return }
        guard let set = found else { return context.reply.arrayHeader(0) }
        guard let ranks = ranks(context, set, request) else { return }
        replyRange(context, set, ranks, request)
    }

    /// Writes what `select` would select straight into the reply, members
    /// unread into arrays (a ZRANGE of a million members spent most of its
    /// time copying them): the ranks, offset and count say how many come.
    static func replyRange(_ context: KVContext, _ set: KVZSetValue, _ ranks: (Int, Int)?, _ request: RangeRequest) {
        var count = 0
        if let (first, last) = ranks, request.limit != 0, request.offset >= 0 {
            count = max(0, last - first + 1 - request.offset)
            if request.limit > 0 { count = min(count, request.limit) }
        }
        let withScores = request.withScores
        let pairs = withScores && context.reply.isRESP3
        context.reply.arrayHeader(withScores && !pairs ? count * 2 : count)
        guard count > 0, let (first, last) = ranks else { return }
        var skip = request.offset
        var left = count
        set.forEachMember(ranks: first, through: last, reverse: request.reverse) { member, score in
            if skip > 0 {
                skip -= 1
                return true
            }
            if pairs { context.reply.arrayHeader(2) }
            context.reply.bulkString(member)
            if withScores { context.replyScore(score) }
            left -= 1
            return left > 0
        }
        assert(left == 0, "ZRANGE wrote \(count - left) of the \(count) members it announced")
    }

    /// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count].
    static func zrangestore(_ context: KVContext) {
        var request = RangeRequest(minimum: context[3], maximum: context[4])
        guard parseRangeOptions(context, &request, from: 5, modern: true) else { return }
        if request.withScores { return context.syntaxError() }
        guard boundsAreValid(context, request) else { return }
        guard let found = readable(context, context[2]) else { return }
        var items: [([UInt8], Double)] = []
        if let set = found {
            guard let ranks = ranks(context, set, request) else { return }
            items = select(set, ranks, request)
        }
        store(context, context[1], items, event: "zrangestore")
    }

    /// Replaces the sorted set at `key` with `items` (deleted when empty);
    /// replies the count. `event`: what it announces when not empty.
    static func store(
        _ context: KVContext, _ key: UnsafeRawBufferPointer, _ items: [([UInt8], Double)], event: StaticString
    ) {
        let existing = context.find(key)
        if let existing { context.remove(existing) }
        context.overwriting = existing != nil
        defer { context.overwriting = false }
        if let first = items.first {
            guard let set = first.0.withUnsafeBytes({ writable(context, key, firstMember: $0) }) else { return }
            for (member, score) in items {
                guard member.withUnsafeBytes({ set.set($0, score: score, limits: context.limits) }) != nil else {
                    return context.outOfMemory()
                }
            }
        }
        // Nothing written where nothing was: no key changed (WATCH holds).
        if existing != nil || !items.isEmpty { context.touched(key) }
        context.notifyStored(.zset, event, key, wrote: !items.isEmpty, existed: existing != nil)
        context.reply.integer(items.count)
    }

    /// ZCOUNT key min max.
    static func zcount(_ context: KVContext, lex: Bool) {
        let request = RangeRequest(kind: lex ? .lex : .score, minimum: context[2], maximum: context[3])
        guard boundsAreValid(context, request) else { return }
        guard let found = readable(context, context[1]) else { return }
        guard let set = found else { return context.reply.integer(0) }
        guard let ranks = ranks(context, set, request) else { return }
        context.reply.integer(ranks.map { $0.1 - $0.0 + 1 } ?? 0)
    }

    // MARK: removing

    static func zrem(_ context: KVContext) {
        let key = context[1]
        guard let found = readable(context, key) else { return }
        guard let set = found else { return context.reply.integer(0) }
        var removed = 0
        for index in 2..<context.argumentCount where set.remove(context[index]) { removed += 1 }
        if removed > 0 {
            context.touched(key)
            context.notify(.zset, "zrem", key)
        }
        context.removeIfEmpty(key, count: set.count)
        context.reply.integer(removed)
    }

    /// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX.
    static func zremrange(_ context: KVContext, kind: RangeKind) {
        let key = context[1]
        let request = RangeRequest(kind: kind, minimum: context[2], maximum: context[3])
        guard boundsAreValid(context, request) else { return }
        guard let found = readable(context, key) else { return }
        guard let set = found else { return context.reply.integer(0) }
        guard let ranks = ranks(context, set, request) else { return }
        let items = select(set, ranks, request)
        for (member, _) in items { _ = member.withUnsafeBytes { set.remove($0) } }
        if !items.isEmpty {
            context.touched(key)
            let event: StaticString =
                switch kind {
                case .rank: "zremrangebyrank"
                case .score: "zremrangebyscore"
                case .lex: "zremrangebylex"
                }
            context.notify(.zset, event, key)
        }
        context.removeIfEmpty(key, count: set.count)
        context.reply.integer(items.count)
    }

    /// ZPOPMIN / ZPOPMAX key [count].
    static func zpop(_ context: KVContext, max: Bool) {
        guard context.argumentCount <= 3 else { return context.syntaxError() }
        var count = 1
        let counted = context.argumentCount == 3
        if counted {
            guard let value = context.command.integer(at: 2), value >= 0 else {
                return context.reply.error("ERR value is out of range, must be positive")
            }
            count = Int(min(value, Int64(Int.max / 2)))
        }
        let key = context[1]
        guard let found = readable(context, key) else { return }
        guard let set = found else { return context.reply.arrayHeader(0) }
        let items = pop(set, count: count, max: max)
        if !items.isEmpty {
            context.touched(key)
            context.notify(.zset, max ? "zpopmax" : "zpopmin", key)
        }
        context.removeIfEmpty(key, count: set.count)
        if counted {
            replyMembers(context, items, withScores: true)
        } else {
            context.reply.arrayHeader(items.count * 2)
            for (member, score) in items {
                context.reply.bulkString(member)
                context.replyScore(score)
            }
        }
    }

    /// Takes `count` members from the bottom (or top) of `set`.
    static func pop(_ set: KVZSetValue, count: Int, max: Bool) -> [([UInt8], Double)] {
        let total = set.count
        let taken = min(count, total)
        guard taken > 0 else { return [] }
        let request = RangeRequest(
            reverse: max, minimum: UnsafeRawBufferPointer(start: nil, count: 0),
            maximum: UnsafeRawBufferPointer(start: nil, count: 0))
        let items = select(set, max ? (total - taken, total - 1) : (0, taken - 1), request)
        for (member, _) in items { _ = member.withUnsafeBytes { set.remove($0) } }
        return items
    }

    /// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count].
    static func zmpop(_ context: KVContext) {
        if !multiPop(context, numkeysIndex: 1) { context.reply.nullArray() }
    }

    /// ZMPOP's work from its numkeys (BZMPOP's too): pops from the first
    /// non-empty sorted set; false when all are empty (nothing replied).
    static func multiPop(_ context: KVContext, numkeysIndex: Int) -> Bool {
        guard let (keys, min, count) = KVListCommands.parseMultiPop(context, numkeysIndex: numkeysIndex, ends: false)
        else { return true }
        for index in keys {
            let key = context[index]
            let set: KVZSetValue
            switch context.find(key, as: .zset) {
            case .wrongType:
                // A blocked client waits on through a key of another type.
                if context.isRetryingBlocked { continue }
                context.wrongType()
                return true
            case .missing: continue
            case .found(let found): set = KVZSetValue(found.entry)
            }
            let items = pop(set, count: count, max: !min)
            context.touched(key)
            context.notify(.zset, min ? "zpopmin" : "zpopmax", key)
            context.removeIfEmpty(key, count: set.count)
            if context.isReplicating {
                context.propagate(
                    [min ? "ZPOPMIN" : "ZPOPMAX", KVStreamArgument(key), KVStreamArgument(Int64(items.count))])
            }
            // Each member with its score as a pair, in RESP2 too.
            context.reply.arrayHeader(2)
            context.reply.bulkString(key)
            context.reply.arrayHeader(items.count)
            for (member, score) in items {
                context.reply.arrayHeader(2)
                context.reply.bulkString(member)
                context.replyScore(score)
            }
            return true
        }
        return false
    }

    /// ZRANDMEMBER key [count [WITHSCORES]].
    static func zrandmember(_ context: KVContext) {
        guard context.argumentCount <= 4 else { return context.syntaxError() }
        var withScores = false
        if context.argumentCount == 4 {
            guard context.argument(3, is: "WITHSCORES") else { return context.syntaxError() }
            withScores = true
        }
        var count: Int64?
        if context.argumentCount >= 3 {
            guard let value = context.integer(at: 2) else { return }
            guard value != Int64.min else { return context.countOutOfRange() }
            guard !withScores || value >= -Int64.max / 2 else {
                return context.reply.error("ERR value is out of range")
            }
            count = value
        }
        guard let found = readable(context, context[1]) else { return }
        guard let set = found else { return count == nil ? context.reply.null() : context.reply.arrayHeader(0) }
        guard let count else {
            guard let (member, _) = set.randomMember(using: &context.random) else { return context.reply.null() }
            return context.reply.bulkString(member)
        }
        var items: [([UInt8], Double)] = []
        if count < 0 {
            for _ in 0..<Int(-count) {
                if let item = set.randomMember(using: &context.random) { items.append(item) }
            }
        } else {
            let total = set.count
            let wanted = Int(min(count, Int64(total)))
            if wanted == total {
                set.forEachMember(ranks: 0, through: total - 1, reverse: false) { member, score in
                    items.append((Array(member), score))
                    return true
                }
            } else {
                // Each rank found in O(log n) (a skip list) or by a walk of a small pack.
                for rank in KVSampling.distinctPositions(wanted, of: total, using: &context.random) {
                    set.forEachMember(ranks: rank, through: rank, reverse: false) { member, score in
                        items.append((Array(member), score))
                        return false
                    }
                }
            }
        }
        replyMembers(context, items, withScores: withScores)
    }

    // MARK: combining

    /// How scores of a member in several sets combine.
    enum Aggregate {
        case sum, min, max

        /// Two scores of one member combined (a NaN sum, inf + -inf, is 0).
        func combine(_ a: Double, _ b: Double) -> Double {
            switch self {
            case .sum:
                let sum = a + b
                return sum.isNaN ? 0 : sum
            case .min: return Swift.min(a, b)
            case .max: return Swift.max(a, b)
            }
        }
    }

    /// The members and scores of a union, intersection or difference of the
    /// sets (sorted sets, or plain sets scored 1) at `keys`, with `weights`;
    /// nil having replied WRONGTYPE.
    static func combine(
        _ context: KVContext, keys: [UnsafeRawBufferPointer], weights: [Double], aggregate: Aggregate,
        operation: KVSetCommands.Operation
    ) -> [([UInt8], Double)]? {
        var sources: [Source?] = []
        for key in keys {
            guard let found = context.find(key) else {
                sources.append(nil)
                continue
            }
            switch found.entry.type {
            case .zset: sources.append(.zset(KVZSetValue(found.entry)))
            case .set: sources.append(.set(KVSetValue(found.entry)))
            default:
                context.wrongType()
                return nil
            }
        }
        // An intersection walks its smallest input and looks each member up
        // in the others, as redis-server does: nothing else is copied.
        if operation == .intersection {
            return intersection(of: sources, weights: weights, aggregate: aggregate)
        }
        let inputs: [[([UInt8], Double)]?] = sources.map { source in
            source.map { source in
                var items: [([UInt8], Double)] = []
                items.reserveCapacity(source.count)
                source.forEachMember { member, score in items.append((Array(member), score)) }
                return items
            }
        }
        func weighted(_ score: Double, _ index: Int) -> Double { Self.weighted(score, weights[index]) }
        func combined(_ a: Double, _ b: Double) -> Double { aggregate.combine(a, b) }
        var result: [[UInt8]: Double] = [:]
        var order: [[UInt8]] = []
        switch operation {
        case .union:
            for (index, items) in inputs.enumerated() {
                for (member, score) in items ?? [] {
                    let value = weighted(score, index)
                    if let existing = result[member] {
                        result[member] = combined(existing, value)
                    } else {
                        result[member] = value
                        order.append(member)
                    }
                }
            }
        case .intersection:
            preconditionFailure("intersections are taken by intersection(of:)")
        case .difference:
            guard let first = inputs.first, let first else { return [] }
            let others = inputs.dropFirst().compactMap { $0 }.map { Set($0.map(\.0)) }
            for (member, score) in first where !others.contains(where: { $0.contains(member) }) {
                result[member] = score
                order.append(member)
            }
        }
        return sortedByScore(order.map { ($0, result[$0]!) })
    }

    /// `score` times `weight`; 0 for NaN (inf × 0), as redis-server takes it.
    static func weighted(_ score: Double, _ weight: Double) -> Double {
        let product = score * weight
        return product.isNaN ? 0 : product
    }

    /// Members in the order a sorted set holds them: by score, then bytes.
    static func sortedByScore(_ items: [([UInt8], Double)]) -> [([UInt8], Double)] {
        items.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0.lexicographicallyPrecedes($1.0)) }
    }

    /// The members in every source, scored by `aggregate` over their
    /// weighted scores; empty when a source is missing.
    static func intersection(of sources: [Source?], weights: [Double], aggregate: Aggregate) -> [([UInt8], Double)] {
        guard !sources.isEmpty, !sources.contains(where: { $0 == nil }) else { return [] }
        // Walked in order of size, the smallest first, as redis-server orders
        // its inputs (and so adds their scores in that order).
        let ordered = sources.indices.map { (source: sources[$0]!, weight: weights[$0]) }
            .enumerated().sorted { ($0.element.source.count, $0.offset) < ($1.element.source.count, $1.offset) }
            .map(\.element)
        var items: [([UInt8], Double)] = []
        ordered[0].source.forEachMember { member, score in
            var value = weighted(score, ordered[0].weight)
            for other in ordered.dropFirst() {
                guard let found = other.source.score(of: member) else { return }
                // Only the first input's NaN product (inf × 0) is made 0, as
                // redis-server does; the others' go to the aggregate (a NaN
                // sum is 0, MIN and MAX keep what they have).
                value = aggregate.combine(value, found * other.weight)
            }
            items.append((Array(member), value))
        }
        return sortedByScore(items)
    }

    /// A ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE input: a sorted set, or a
    /// set whose members all score 1.
    enum Source {
        case zset(KVZSetValue)
        case set(KVSetValue)

        var count: Int {
            switch self {
            case .zset(let set): set.count
            case .set(let set): set.count
            }
        }

        func forEachMember(_ body: (UnsafeRawBufferPointer, Double) -> Void) {
            switch self {
            case .zset(let set):
                set.forEachMember(ranks: 0, through: set.count - 1, reverse: false) { member, score in
                    body(member, score)
                    return true
                }
            case .set(let set):
                set.forEachMember { member in
                    body(member, 1)
                    return true
                }
            }
        }

        func score(of member: UnsafeRawBufferPointer) -> Double? {
            switch self {
            case .zset(let set): set.score(of: member)
            case .set(let set): set.contains(member) ? 1 : nil
            }
        }
    }

    /// numkeys and the keys from `numkeysIndex`, then WEIGHTS, AGGREGATE
    /// (when `weighted`) and WITHSCORES (when `scores`), as Redis parses them.
    struct CombineRequest {
        var keys: [UnsafeRawBufferPointer] = []
        var weights: [Double] = []
        var aggregate = Aggregate.sum
        var withScores = false
    }

    static func parseCombine(_ context: KVContext, numkeysIndex: Int, weighted: Bool, scores: Bool) -> CombineRequest? {
        guard let numkeys = context.integer(at: numkeysIndex) else { return nil }
        guard numkeys > 0 else {
            context.reply.error(
                "ERR at least 1 input key is needed for '\(context.row.name)' command")
            return nil
        }
        let first = numkeysIndex + 1
        guard numkeys <= Int64(context.argumentCount - first) else {
            context.syntaxError()
            return nil
        }
        var request = CombineRequest()
        request.keys = (first..<(first + Int(numkeys))).map { context[$0] }
        request.weights = Array(repeating: 1, count: Int(numkeys))
        guard sourcesHaveSetTypes(context, request.keys) else { return nil }
        var index = first + Int(numkeys)
        while index < context.argumentCount {
            let remaining = context.argumentCount - index
            if weighted && context.argument(index, is: "WEIGHTS") && remaining > Int(numkeys) {
                for position in 0..<Int(numkeys) {
                    guard let weight = KVDouble.parse(context[index + 1 + position]) else {
                        context.reply.error("ERR weight value is not a float")
                        return nil
                    }
                    request.weights[position] = weight
                }
                index += Int(numkeys) + 1
            } else if weighted && context.argument(index, is: "AGGREGATE") && remaining > 1 {
                if context.argument(index + 1, is: "SUM") {
                    request.aggregate = .sum
                } else if context.argument(index + 1, is: "MIN") {
                    request.aggregate = .min
                } else if context.argument(index + 1, is: "MAX") {
                    request.aggregate = .max
                } else {
                    context.syntaxError()
                    return nil
                }
                index += 2
            } else if scores && context.argument(index, is: "WITHSCORES") {
                request.withScores = true
                index += 1
            } else {
                context.syntaxError()
                return nil
            }
        }
        return request
    }

    /// Whether every existing source is a sorted set or a set; false having
    /// replied WRONGTYPE. Checked before the options are read, as
    /// redis-server does (a wrong type wins over a syntax error).
    private static func sourcesHaveSetTypes(_ context: KVContext, _ keys: [UnsafeRawBufferPointer]) -> Bool {
        for key in keys {
            if let found = context.find(key), found.entry.type != .zset && found.entry.type != .set {
                context.wrongType()
                return false
            }
        }
        return true
    }

    /// ZUNION, ZINTER, ZDIFF numkeys key [key ...] [...] [WITHSCORES].
    static func combineCommand(_ context: KVContext, _ operation: KVSetCommands.Operation) {
        guard let request = parseCombine(context, numkeysIndex: 1, weighted: operation != .difference, scores: true),
            let items = combine(
                context, keys: request.keys, weights: request.weights, aggregate: request.aggregate,
                operation: operation)
        else { return }
        replyMembers(context, items, withScores: request.withScores)
    }

    /// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE dst numkeys key [key ...] [...].
    static func combineStore(_ context: KVContext, _ operation: KVSetCommands.Operation) {
        guard let request = parseCombine(context, numkeysIndex: 2, weighted: operation != .difference, scores: false),
            let items = combine(
                context, keys: request.keys, weights: request.weights, aggregate: request.aggregate,
                operation: operation)
        else { return }
        let event: StaticString =
            switch operation {
            case .intersection: "zinterstore"
            case .union: "zunionstore"
            case .difference: "zdiffstore"
            }
        store(context, context[1], items, event: event)
    }

    /// ZINTERCARD numkeys key [key ...] [LIMIT limit].
    static func zintercard(_ context: KVContext) {
        guard let numkeys = context.integer(at: 1) else { return }
        guard numkeys > 0 else {
            return context.reply.error("ERR at least 1 input key is needed for 'zintercard' command")
        }
        guard numkeys <= Int64(context.argumentCount - 2) else {
            return context.syntaxError()
        }
        let keys = (2..<(2 + Int(numkeys))).map { context[$0] }
        guard sourcesHaveSetTypes(context, keys) else { return }
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
        guard
            let items = combine(
                context, keys: keys, weights: Array(repeating: 1, count: keys.count), aggregate: .sum,
                operation: .intersection)
        else { return }
        context.reply.integer(limit > 0 ? min(limit, items.count) : items.count)
    }

    /// The keys of ZUNION/ZINTER/ZDIFF/ZINTERCARD (numkeys at 1) and the
    /// STORE forms (destination at 1, numkeys at 2), for locking.
    static func combineKeys(_ command: RESPCommand, numkeysIndex: Int) -> [Int] {
        guard let numkeys = command.integer(at: numkeysIndex), numkeys > 0,
            numkeys <= Int64(command.count - numkeysIndex - 1)
        else { return numkeysIndex == 2 ? [1] : [] }
        let keys = Array((numkeysIndex + 1)...(numkeysIndex + Int(numkeys)))
        return numkeysIndex == 2 ? [1] + keys : keys
    }

    /// ZSCAN key cursor [MATCH pattern] [COUNT count].
    static func zscan(_ context: KVContext) {
        guard let options = KVKeyCommands.ScanOptions(context, cursorIndex: 2, allowType: false) else { return }
        guard let found = readable(context, context[1]) else { return }
        guard let set = found else { return KVScanReply.write(context, cursor: 0, items: []) }
        var items: [[UInt8]] = []
        var cursor = options.cursor
        var steps = options.count * 10
        repeat {
            cursor = set.scan(cursor) { member, score in
                if options.accepts(member) {
                    items.append(Array(member))
                    // A packed set's scores as redis-server's listpack holds
                    // them (written by its d2string); a skip list's as replies.
                    items.append(set.isCompact ? KVDouble.packedText(score) : KVDouble.text(score))
                }
            }
            steps -= 1
        } while cursor != 0 && steps > 0 && items.count / 2 < options.count
        KVScanReply.write(context, cursor: cursor, items: items)
    }
}
