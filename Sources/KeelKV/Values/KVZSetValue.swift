// A sorted set's members and scores, whichever way they are held: a pack of
// member, score (8 bytes), ... in (score, member) order while small
// (zset-max-listpack-entries and -value), a KVSortedSet (skip list and
// dict) past that, one way only, as in Redis. Ranges are answered as rank
// ranges, then walked by rank.

/// A score bound: a value and whether it is excluded ("(1.5").
struct KVScoreBound {
    var value: Double
    var exclusive: Bool

    /// Whether `score` is on the allowed side of this bound as a minimum.
    func admitsAbove(_ score: Double) -> Bool { exclusive ? score > value : score >= value }
    /// Whether `score` is on the allowed side of this bound as a maximum.
    func admitsBelow(_ score: Double) -> Bool { exclusive ? score < value : score <= value }
}

/// A member bound for the lexicographic commands: "-" (below every
/// member), "+" (above every member), "[a" (inclusive) or "(a" (exclusive).
enum KVLexBound {
    case belowAll
    case aboveAll
    case member([UInt8], exclusive: Bool)

    /// Whether `member` is on the allowed side of this bound as a minimum.
    func admitsAbove(_ member: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .belowAll: return true
        case .aboveAll: return false
        case .member(let bound, let exclusive):
            let order = bound.withUnsafeBytes { KVBytes.compare(member, $0) }
            return exclusive ? order > 0 : order >= 0
        }
    }

    /// Whether `member` is on the allowed side of this bound as a maximum.
    func admitsBelow(_ member: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .belowAll: return false
        case .aboveAll: return true
        case .member(let bound, let exclusive):
            let order = bound.withUnsafeBytes { KVBytes.compare(member, $0) }
            return exclusive ? order < 0 : order <= 0
        }
    }
}

/// The members of one sorted set entry.
struct KVZSetValue {
    let entry: KVEntry

    init(_ entry: KVEntry) {
        precondition(entry.type == .zset, "not a sorted set")
        self.entry = entry
    }

    var isCompact: Bool { entry.encoding == .compact }
    private var list: KVSortedSet { KVObjects.object(entry.object, as: KVSortedSet.self) }

    /// A new sorted set's object: an empty pack, or a skip list when the
    /// first member is already too long for one. Nil when malloc fails.
    static func makeObject(firstMember: UnsafeRawBufferPointer, limits: KVLimits) -> (
        UnsafeMutableRawPointer, KVEncoding
    )? {
        if firstMember.count > limits.zsetValue || limits.zsetEntries == 0 {
            return (KVObjects.pointer(to: KVSortedSet()), .general)
        }
        return KVPack.make().map { ($0.pointer, .compact) }
    }

    var count: Int { isCompact ? KVPack(entry.object).count / 2 : list.count }

    /// A score as a pack stores it: a whole number of at most 47 bits as
    /// its shortest little-endian two's complement (0 to 6 bytes: scores
    /// are often small counters or timestamps), any other double as its 8
    /// bytes.
    @inline(__always)
    static func score(_ bytes: UnsafeRawBufferPointer) -> Double {
        if bytes.count == 8 { return bytes.loadUnaligned(as: Double.self) }
        var value: Int64 = 0
        for index in 0..<bytes.count { value |= Int64(bytes[index]) << (8 * index) }
        // Sign-extend from the top bit of the last byte.
        if bytes.count > 0 && bytes.count < 8 {
            let shift = Int64(64 - 8 * bytes.count)
            value = (value << shift) >> shift
        }
        return Double(value)
    }

    /// Calls `body` with `score` encoded as `score(_:)` reads it.
    @inline(__always)
    static func withScoreBytes<R>(_ score: Double, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if score == score.rounded(.towardZero) && abs(score) < 0x7FFF_FFFF_FFFF && !(score == 0 && score.sign == .minus)
        {
            let integer = Int64(score)
            var length = 0
            if integer != 0 {
                // The fewest bytes whose sign extension gives the value back.
                length = 1
                while length < 6 {
                    let shift = Int64(64 - 8 * length)
                    if (integer << shift) >> shift == integer { break }
                    length += 1
                }
            }
            var value = integer.littleEndian
            return withUnsafeBytes(of: &value) { body(UnsafeRawBufferPointer(rebasing: $0[..<length])) }
        }
        var bits = score
        return withUnsafeBytes(of: &bits) { body($0) }
    }

    /// The score of `member`, or nil.
    func score(of member: UnsafeRawBufferPointer) -> Double? {
        if isCompact {
            let pack = KVPack(entry.object)
            guard let offset = pack.find(member, stride: 2) else { return nil }
            return Self.score(pack.element(at: pack.element(at: offset).next).bytes)
        }
        return list.score(of: member)
    }

    /// Sets `member`'s score: true when the member is new, false when it was
    /// there, nil when memory ran out.
    func set(_ member: UnsafeRawBufferPointer, score: Double, limits: KVLimits) -> Bool? {
        if isCompact {
            var pack = KVPack(entry.object)
            var isNew = true
            if let offset = pack.find(member, stride: 2) {
                isNew = false
                // Copy: the member's bytes may be this pack's, which is changing.
                let copy = Array(member)
                pack.remove(at: offset, elementCount: 2)
                entry.object = pack.pointer
                return copy.withUnsafeBytes { insertCompact($0, score: score) } ? false : nil
            }
            if pack.count / 2 < limits.zsetEntries && member.count <= limits.zsetValue
                && pack.hasRoom(for: member.count, 8)
            {
                return insertCompact(member, score: score) ? isNew : nil
            }
            guard convertToSkipList() else { return nil }
        }
        let existed = list.node(of: member) != nil
        guard list.update(member, score: score) else { return nil }
        return !existed
    }

    /// Inserts into the pack at the place (score, member) sorts.
    private func insertCompact(_ member: UnsafeRawBufferPointer, score given: Double) -> Bool {
        // -0 is held as 0, as redis-server's packed sets write it (a skip
        // list keeps -0, as redis-server's does).
        let score = given + 0
        var pack = KVPack(entry.object)
        var offset = pack.startOffset
        while offset < pack.endOffset {
            let (existing, next) = pack.element(at: offset)
            let (scoreBytes, after) = pack.element(at: next)
            let existingScore = Self.score(scoreBytes)
            if existingScore > score || (existingScore == score && KVBytes.compare(existing, member) > 0) { break }
            offset = after
        }
        let inserted = Self.withScoreBytes(score) { pack.insert([member, $0], at: offset) }
        if inserted { entry.object = pack.pointer }
        return inserted
    }

    /// Removes `member`; whether it was there.
    func remove(_ member: UnsafeRawBufferPointer) -> Bool {
        if isCompact {
            var pack = KVPack(entry.object)
            guard let offset = pack.find(member, stride: 2) else { return false }
            pack.remove(at: offset, elementCount: 2)
            entry.object = pack.pointer
            return true
        }
        return list.remove(member)
    }

    /// The 0-based rank of `member` (ascending, or descending when `reverse`).
    func rank(of member: UnsafeRawBufferPointer, reverse: Bool) -> (rank: Int, score: Double)? {
        let total = count
        if isCompact {
            let pack = KVPack(entry.object)
            var rank = 0
            var found: (Int, Double)?
            var offset = pack.startOffset
            while offset < pack.endOffset {
                let (existing, next) = pack.element(at: offset)
                let (scoreBytes, after) = pack.element(at: next)
                if KVBytes.equal(existing, member) {
                    found = (rank, Self.score(scoreBytes))
                    break
                }
                rank += 1
                offset = after
            }
            return found.map { (reverse ? total - 1 - $0.0 : $0.0, $0.1) }
        }
        guard let node = list.node(of: member) else { return nil }
        let rank = list.rank(of: node)
        return (reverse ? total - 1 - rank : rank, node.score)
    }

    /// Calls `body` with the members and scores from ascending rank `first`
    /// through `last` (within bounds), ascending or, when `reverse`, from
    /// `last` down to `first`, until it returns false.
    func forEachMember(
        ranks first: Int, through last: Int, reverse: Bool,
        _ body: (UnsafeRawBufferPointer, Double) -> Bool
    ) {
        guard first <= last, first >= 0, last < count else { return }
        if isCompact {
            let pack = KVPack(entry.object)
            // Members and scores alternate: a member is two elements back.
            var offset = pack.offset(ofIndex: (reverse ? last : first) * 2)
            for _ in first...last {
                let (member, next) = pack.element(at: offset)
                let (scoreBytes, after) = pack.element(at: next)
                if !body(member, Self.score(scoreBytes)) { return }
                offset =
                    reverse
                    ? (offset == pack.startOffset ? offset : pack.offset(before: pack.offset(before: offset))) : after
            }
            return
        }
        var node = list.node(atRank: reverse ? last : first)
        var remaining = last - first + 1
        while let current = node, remaining > 0 {
            if !body(current.member, current.score) { return }
            remaining -= 1
            node = reverse ? current.backward : current.forward(0)
        }
    }

    /// Calls `body` with the members whose scores lie in [lower, upper),
    /// ascending, until it returns false: one descent of the skip list and a
    /// walk along it (no ranks counted).
    func forEachMember(
        scoresFrom lower: Double, below upper: Double, _ body: (UnsafeRawBufferPointer, Double) -> Bool
    ) {
        if isCompact {
            forEachMember(ranks: 0, through: count - 1, reverse: false) { member, score in
                if score < lower { return true }
                return score < upper && body(member, score)
            }
            return
        }
        var node = list.firstNode(scoreAbove: lower, inclusive: true)
        while let current = node, current.score < upper {
            if !body(current.member, current.score) { return }
            node = current.forward(0)
        }
    }

    /// The ascending ranks of the members whose scores lie in [min, max]
    /// (each bound inclusive or not), or nil when none do.
    func ranks(scoresFrom minimum: KVScoreBound, to maximum: KVScoreBound) -> (first: Int, last: Int)? {
        if isCompact {
            var first: Int?
            var last: Int?
            var rank = 0
            forEachMember(ranks: 0, through: count - 1, reverse: false) { _, score in
                if minimum.admitsAbove(score) && maximum.admitsBelow(score) {
                    if first == nil { first = rank }
                    last = rank
                }
                rank += 1
                return maximum.admitsBelow(score)
            }
            guard let first, let last else { return nil }
            return (first, last)
        }
        guard let low = list.firstNode(scoreAbove: minimum.value, inclusive: !minimum.exclusive),
            maximum.admitsBelow(low.score),
            let high = list.lastNode(scoreBelow: maximum.value, inclusive: !maximum.exclusive),
            minimum.admitsAbove(high.score)
        else { return nil }
        let first = list.rank(of: low)
        let last = list.rank(of: high)
        return first <= last ? (first, last) : nil
    }

    /// The ascending ranks of the members in the lexicographic range, or
    /// nil. (Redis's lexicographic commands assume every score is equal;
    /// with a skip list the bounds are found by member along its order.)
    func ranks(membersFrom minimum: KVLexBound, to maximum: KVLexBound) -> (first: Int, last: Int)? {
        var first: Int?
        var last: Int?
        if isCompact {
            var rank = 0
            forEachMember(ranks: 0, through: count - 1, reverse: false) { member, _ in
                if minimum.admitsAbove(member) && maximum.admitsBelow(member) {
                    if first == nil { first = rank }
                    last = rank
                }
                rank += 1
                return true
            }
        } else {
            let low: KVZNode?
            switch minimum {
            case .belowAll: low = list.first
            case .aboveAll: low = nil
            case .member(let bound, let exclusive):
                low = bound.withUnsafeBytes { list.firstNode(memberAbove: $0, inclusive: !exclusive) }
            }
            let high: KVZNode?
            switch maximum {
            case .belowAll: high = nil
            case .aboveAll: high = list.tail
            case .member(let bound, let exclusive):
                high = bound.withUnsafeBytes { list.lastNode(memberBelow: $0, inclusive: !exclusive) }
            }
            if let low, let high, maximum.admitsBelow(low.member), minimum.admitsAbove(high.member) {
                first = list.rank(of: low)
                last = list.rank(of: high)
            }
        }
        guard let first, let last, first <= last else { return nil }
        return (first, last)
    }

    /// A random member and its score (copied), or nil when empty.
    func randomMember<G: RandomNumberGenerator>(using generator: inout G) -> ([UInt8], Double)? {
        let total = count
        guard total > 0 else { return nil }
        var result: ([UInt8], Double)?
        let rank = Int.random(in: 0..<total, using: &generator)
        forEachMember(ranks: rank, through: rank, reverse: false) { member, score in
            result = (Array(member), score)
            return false
        }
        return result
    }

    /// One ZSCAN step: a pack is returned whole (cursor 0).
    func scan(_ cursor: UInt64, _ body: (UnsafeRawBufferPointer, Double) -> Void) -> UInt64 {
        if isCompact {
            forEachMember(ranks: 0, through: count - 1, reverse: false) {
                body($0, $1)
                return true
            }
            return 0
        }
        return list.scan(cursor) { body($0.member, $0.score) }
    }

    private func convertToSkipList() -> Bool {
        let pack = KVPack(entry.object)
        let list = KVSortedSet()
        var ok = true
        var offset = pack.startOffset
        while offset < pack.endOffset && ok {
            let (member, next) = pack.element(at: offset)
            let (scoreBytes, after) = pack.element(at: next)
            ok = list.insert(member, score: Self.score(scoreBytes))
            offset = after
        }
        guard ok else { return false }
        pack.release()
        entry.object = KVObjects.pointer(to: list)
        entry.setEncoding(.general)
        return true
    }

    func checkInvariants() {
        if isCompact {
            let pack = KVPack(entry.object)
            pack.checkInvariants()
            precondition(pack.count % 2 == 0, "a sorted set pack with an odd element count")
            var previous: (UnsafeRawBufferPointer, Double)?
            forEachMember(ranks: 0, through: count - 1, reverse: false) { member, score in
                if let (member0, score0) = previous {
                    precondition(score0 < score || (score0 == score && KVBytes.compare(member0, member) < 0))
                }
                previous = (member, score)
                return true
            }
        } else {
            list.checkInvariants()
        }
    }
}
