// KVSortedSet: a sorted set past a pack's limits (Redis's "skiplist"
// encoding): a skip list ordered by (score, member), each level's link
// carrying the number of nodes it skips (its span), so a member's rank and
// the node at a rank are found in O(log n); and a KVDict from member to node
// for O(1) scores. Each member is one block, which is both its skip list node
// and its dict entry:
//
//   0   next           8 bytes   KVDict's chain
//   8   score          Double
//  16   backward       8 bytes   the node before it on level 0
//  24   member length  UInt32
//  28   levels         UInt32    1...32
//  32   per level      forward (8 bytes), span (8 bytes)
//       member         the bytes
//
// Invariants (checkInvariants): level 0 visits `count` nodes in strictly
// increasing (score, member) order, each backward link naming the node
// before it; each level's spans add up to the ranks they skip; the dict
// holds exactly the listed nodes.

import Glibc
import KeelPosix

/// A skip list node (see the file header).
struct KVZNode: Equatable {
    let pointer: UnsafeMutableRawPointer

    @inline(__always) init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }

    static let maxLevels = 32

    var score: Double {
        get { pointer.load(fromByteOffset: 8, as: Double.self) }
        nonmutating set { pointer.storeBytes(of: newValue, toByteOffset: 8, as: Double.self) }
    }

    var backward: KVZNode? {
        get { pointer.load(fromByteOffset: 16, as: UnsafeMutableRawPointer?.self).map(KVZNode.init) }
        nonmutating set {
            pointer.storeBytes(of: newValue?.pointer, toByteOffset: 16, as: UnsafeMutableRawPointer?.self)
        }
    }

    var memberLength: Int { Int(pointer.load(fromByteOffset: 24, as: UInt32.self)) }
    var levels: Int { Int(pointer.load(fromByteOffset: 28, as: UInt32.self)) }

    @inline(__always)
    func forward(_ level: Int) -> KVZNode? {
        pointer.load(fromByteOffset: 32 &+ level &* 16, as: UnsafeMutableRawPointer?.self).map(KVZNode.init)
    }

    @inline(__always)
    func setForward(_ level: Int, _ node: KVZNode?) {
        pointer.storeBytes(of: node?.pointer, toByteOffset: 32 &+ level &* 16, as: UnsafeMutableRawPointer?.self)
    }

    @inline(__always)
    func span(_ level: Int) -> Int {
        pointer.load(fromByteOffset: 40 &+ level &* 16, as: Int.self)
    }

    @inline(__always)
    func setSpan(_ level: Int, _ span: Int) {
        pointer.storeBytes(of: span, toByteOffset: 40 &+ level &* 16, as: Int.self)
    }

    var member: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: pointer + (32 &+ levels &* 16), count: memberLength)
    }

    /// A node with `levels` levels, links cleared; nil when malloc fails.
    static func make(member: UnsafeRawBufferPointer, score: Double, levels: Int) -> KVZNode? {
        guard let block = KVHeap.allocate(32 &+ levels &* 16 &+ member.count) else { return nil }
        memset(block, 0, 32 &+ levels &* 16)
        block.storeBytes(of: score, toByteOffset: 8, as: Double.self)
        block.storeBytes(of: UInt32(member.count), toByteOffset: 24, as: UInt32.self)
        block.storeBytes(of: UInt32(levels), toByteOffset: 28, as: UInt32.self)
        if !member.isEmpty {
            (block + (32 &+ levels &* 16)).copyMemory(from: member.baseAddress!, byteCount: member.count)
        }
        return KVZNode(block)
    }

    /// Whether this node comes before (`score`, `member`).
    @inline(__always)
    func precedes(score: Double, member: UnsafeRawBufferPointer) -> Bool {
        let mine = self.score
        if mine != score { return mine < score }
        return KVBytes.compare(self.member, member) < 0
    }
}

/// Where a node keeps its member, for the member dict.
enum KVZNodeLayout: KVEntryLayout {
    @inline(__always)
    static func key(of entry: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        KVZNode(entry).member
    }
}

/// A sorted set as a skip list and a member dict (see the file header).
final class KVSortedSet {
    private var dict = KVDict<KVZNodeLayout>()
    /// The head: a node with every level and no member, never a member.
    private let head: KVZNode
    private(set) var tail: KVZNode?
    private(set) var count = 0
    /// Levels in use (at least 1).
    private var level = 1
    private var random = KVRandom()

    init() {
        guard
            let head = KVZNode.make(
                member: UnsafeRawBufferPointer(start: nil, count: 0), score: 0, levels: KVZNode.maxLevels)
        else { preconditionFailure("no memory for a skip list head") }
        self.head = head
    }

    deinit {
        var node = head.forward(0)
        while let current = node {
            node = current.forward(0)
            KVHeap.release(current.pointer)
        }
        dict.releaseBuckets()
        KVHeap.release(head.pointer)
    }

    /// The first member's node, in ascending order.
    var first: KVZNode? { head.forward(0) }

    /// About the bytes the sorted set holds (MEMORY USAGE): itself, its
    /// head, its member dict's buckets, and its nodes, the first `samples`
    /// measured (0: all) and the rest taken to be alike.
    func approximateBytes(samples: Int) -> Int {
        var measured = 0
        var seen = 0
        var node = first
        while let current = node, samples == 0 || seen < samples {
            measured &+= HeapMemory.blockBytes(current.pointer)
            seen &+= 1
            node = current.forward(0)
        }
        let nodes = seen == 0 ? 0 : Int(Double(measured) / Double(seen) * Double(count))
        return HeapMemory.blockBytes(Unmanaged.passUnretained(self).toOpaque()) &+ HeapMemory.blockBytes(head.pointer)
            &+ dict.bucketCount &* 8 &+ nodes
    }

    /// The node of `member`, or nil.
    func node(of member: UnsafeRawBufferPointer) -> KVZNode? {
        dict.find(member, hash: ByteHash.hash(member)).map { KVZNode($0.entry) }
    }

    func score(of member: UnsafeRawBufferPointer) -> Double? {
        node(of: member)?.score
    }

    /// Adds `member` (absent) with `score`. False when malloc fails.
    func insert(_ member: UnsafeRawBufferPointer, score: Double) -> Bool {
        withUnsafeTemporaryAllocation(of: KVZNode.self, capacity: KVZNode.maxLevels) { update in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: KVZNode.maxLevels) { rank in
                insert(member, score: score, update: update.baseAddress!, rank: rank.baseAddress!)
            }
        }
    }

    private func insert(
        _ member: UnsafeRawBufferPointer, score: Double, update: UnsafeMutablePointer<KVZNode>,
        rank: UnsafeMutablePointer<Int>
    ) -> Bool {
        var node = head
        var index = level &- 1
        while index >= 0 {
            rank[index] = index == level &- 1 ? 0 : rank[index &+ 1]
            while let next = node.forward(index), next.precedes(score: score, member: member) {
                rank[index] &+= node.span(index)
                node = next
            }
            update[index] = node
            index &-= 1
        }
        let levels = randomLevel()
        guard let created = KVZNode.make(member: member, score: score, levels: levels) else { return false }
        if levels > level {
            for extra in level..<levels {
                rank[extra] = 0
                update[extra] = head
                head.setSpan(extra, count)
            }
            level = levels
        }
        for index in 0..<levels {
            created.setForward(index, update[index].forward(index))
            update[index].setForward(index, created)
            created.setSpan(index, update[index].span(index) &- (rank[0] &- rank[index]))
            update[index].setSpan(index, (rank[0] &- rank[index]) &+ 1)
        }
        for index in levels..<level { update[index].setSpan(index, update[index].span(index) &+ 1) }
        created.backward = update[0] == head ? nil : update[0]
        if let next = created.forward(0) { next.backward = created } else { tail = created }
        count &+= 1
        dict.insert(created.pointer, hash: ByteHash.hash(member))
        return true
    }

    /// 1, and each further level with probability 1/4, as Redis.
    private func randomLevel() -> Int {
        var level = 1
        while level < KVZNode.maxLevels && random.next() & 3 == 0 { level &+= 1 }
        return level
    }

    /// Removes `member`; returns whether it was there.
    @discardableResult
    func remove(_ member: UnsafeRawBufferPointer) -> Bool {
        let hash = ByteHash.hash(member)
        guard let (entry, link) = dict.find(member, hash: hash) else { return false }
        dict.remove(at: link, entry: entry, hash: hash)
        unlink(KVZNode(entry))
        KVHeap.release(entry)
        dict.shrinkIfSparse()
        return true
    }

    /// Takes `node` out of the skip list (not the dict).
    private func unlink(_ target: KVZNode) {
        withUnsafeTemporaryAllocation(of: KVZNode.self, capacity: KVZNode.maxLevels) { update in
            unlink(target, update: update.baseAddress!)
        }
    }

    private func unlink(_ target: KVZNode, update: UnsafeMutablePointer<KVZNode>) {
        var node = head
        var index = level &- 1
        let score = target.score
        let member = target.member
        while index >= 0 {
            while let next = node.forward(index), next != target, next.precedes(score: score, member: member) {
                node = next
            }
            update[index] = node
            index &-= 1
        }
        for index in 0..<level {
            if update[index].forward(index) == target {
                update[index].setSpan(index, update[index].span(index) &+ target.span(index) &- 1)
                update[index].setForward(index, target.forward(index))
            } else {
                update[index].setSpan(index, update[index].span(index) &- 1)
            }
        }
        if let next = target.forward(0) { next.backward = target.backward } else { tail = target.backward }
        while level > 1 && head.forward(level &- 1) == nil { level &-= 1 }
        count &-= 1
    }

    /// Gives `member` a new score. False when malloc fails.
    func update(_ member: UnsafeRawBufferPointer, score: Double) -> Bool {
        guard let node = node(of: member) else { return insert(member, score: score) }
        // In place when the order does not change.
        let before = node.backward
        let after = node.forward(0)
        if (before.map { $0.score < score || ($0.score == score && KVBytes.compare($0.member, member) < 0) } ?? true)
            && (after.map { score < $0.score || (score == $0.score && KVBytes.compare(member, $0.member) < 0) }
                ?? true)
        {
            node.score = score
            return true
        }
        let copy = Array(member)
        return copy.withUnsafeBytes { copied in
            remove(copied)
            return insert(copied, score: score)
        }
    }

    /// The 0-based rank of `node` in ascending order.
    func rank(of target: KVZNode) -> Int {
        var rank = 0
        var node = head
        var index = level &- 1
        let score = target.score
        let member = target.member
        while index >= 0 {
            while let next = node.forward(index),
                next == target || next.precedes(score: score, member: member)
            {
                rank &+= node.span(index)
                node = next
                if node == target { return rank &- 1 }
            }
            index &-= 1
        }
        preconditionFailure("a node not in its skip list")
    }

    /// The node at 0-based `rank` (ascending), or nil past the end.
    func node(atRank rank: Int) -> KVZNode? {
        guard rank >= 0 && rank < count else { return nil }
        var traversed = 0
        var node = head
        var index = level &- 1
        let target = rank &+ 1
        while index >= 0 {
            while let next = node.forward(index), traversed &+ node.span(index) <= target {
                traversed &+= node.span(index)
                node = next
            }
            if traversed == target { return node }
            index &-= 1
        }
        return nil
    }

    /// The first node with a score above `minimum` (at or above it when
    /// `inclusive`), or nil.
    func firstNode(scoreAbove minimum: Double, inclusive: Bool) -> KVZNode? {
        var node = head
        var index = level &- 1
        while index >= 0 {
            while let next = node.forward(index), inclusive ? next.score < minimum : next.score <= minimum {
                node = next
            }
            index &-= 1
        }
        return node.forward(0)
    }

    /// The last node with a score below `maximum` (at or below it when
    /// `inclusive`), or nil.
    func lastNode(scoreBelow maximum: Double, inclusive: Bool) -> KVZNode? {
        var node = head
        var index = level &- 1
        while index >= 0 {
            while let next = node.forward(index), inclusive ? next.score <= maximum : next.score < maximum {
                node = next
            }
            index &-= 1
        }
        return node == head ? nil : node
    }

    /// The first node whose member is above `bound` in byte order (at or
    /// above when `inclusive`).
    func firstNode(memberAbove bound: UnsafeRawBufferPointer, inclusive: Bool) -> KVZNode? {
        var node = head
        var index = level &- 1
        while index >= 0 {
            while let next = node.forward(index) {
                let order = KVBytes.compare(next.member, bound)
                guard inclusive ? order < 0 : order <= 0 else { break }
                node = next
            }
            index &-= 1
        }
        return node.forward(0)
    }

    /// The last node whose member is below `bound` (at or below when
    /// `inclusive`).
    func lastNode(memberBelow bound: UnsafeRawBufferPointer, inclusive: Bool) -> KVZNode? {
        var node = head
        var index = level &- 1
        while index >= 0 {
            while let next = node.forward(index) {
                let order = KVBytes.compare(next.member, bound)
                guard inclusive ? order <= 0 : order < 0 else { break }
                node = next
            }
            index &-= 1
        }
        return node == head ? nil : node
    }

    /// A random member's node, nil when empty.
    func randomNode<G: RandomNumberGenerator>(using generator: inout G) -> KVZNode? {
        dict.randomEntry(using: &generator).map(KVZNode.init)
    }

    /// One SCAN step over the members (see KVDict.scan).
    func scan(_ cursor: UInt64, _ body: (KVZNode) -> Void) -> UInt64 {
        dict.scan(cursor) { body(KVZNode($0)) }
    }

    func rehash(buckets: Int) -> Bool {
        dict.rehash(buckets: buckets)
    }

    func checkInvariants() {
        var node = head.forward(0)
        var previous: KVZNode?
        var walked = 0
        while let current = node {
            if let previous {
                precondition(previous.precedes(score: current.score, member: current.member), "nodes out of order")
            }
            precondition(current.backward == previous, "a backward link is wrong")
            precondition(dict.lookup(current.member, hash: ByteHash.hash(current.member))?.entry == current.pointer)
            previous = current
            node = current.forward(0)
            walked += 1
        }
        precondition(walked == count && dict.count == count, "count \(count), listed \(walked), dict \(dict.count)")
        precondition(tail == previous, "the tail is not the last node")
        // Spans: on every level, the ranks reached add up.
        for index in 0..<level {
            var rank = 0
            var at = head
            while let next = at.forward(index) {
                rank += at.span(index)
                precondition(self.rank(of: next) == rank - 1, "level \(index) span is wrong")
                at = next
            }
        }
        dict.checkInvariants()
    }
}

/// Byte strings in Redis's order (memcmp, then the shorter first).
enum KVBytes {
    @inline(__always)
    static func compare(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Int {
        let common = min(lhs.count, rhs.count)
        if common > 0 {
            let order = memcmp(lhs.baseAddress!, rhs.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return lhs.count &- rhs.count
    }

    /// Whether two byte strings are equal ignoring ASCII case.
    static func equalIgnoringCase(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count {
            var left = lhs[index]
            var right = rhs[index]
            if left >= 0x41 && left <= 0x5A { left |= 0x20 }
            if right >= 0x41 && right <= 0x5A { right |= 0x20 }
            if left != right { return false }
        }
        return true
    }

    @inline(__always)
    static func equal(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        lhs.count == rhs.count && (lhs.isEmpty || memcmp(lhs.baseAddress!, rhs.baseAddress!, lhs.count) == 0)
    }
}
