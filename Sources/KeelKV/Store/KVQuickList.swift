// KVQuickList: a list as a doubly linked chain of packs (Redis's quicklist):
// each node a KVPack of at most 8 KiB (list-max-listpack-size -2, or as
// that setting says when the list was made), so a
// push or pop at either end touches one small pack, and a list of ten short
// elements is one node. Finding an index walks the nodes by their counts,
// then the one pack.
//
// Node block (24 bytes): previous node, next node, its pack.
//
// Invariants (checkInvariants): the links run both ways from head to tail;
// no node is empty; the packs' counts add up to `count`.

import Glibc
import KeelPosix

/// A list of byte strings in a chain of packs (see the file header).
final class KVQuickList {
    /// What a node may hold, as redis-server's list-max-listpack-size: -1
    /// to -5 cap a pack at 4, 8 (the default, -2), 16, 32 or 64 KiB; a
    /// positive value caps its elements, within 8 KiB. Set when the list is
    /// made, as in Redis (CONFIG SET changes new lists).
    let fill: Int32

    private(set) var head: UnsafeMutableRawPointer?
    private(set) var tail: UnsafeMutableRawPointer?
    private(set) var count = 0
    private(set) var nodeCount = 0

    /// redis-server's default fill (-2: packs of up to 8 KiB).
    static let defaultFill: Int32 = -2

    init(fill: Int32 = KVQuickList.defaultFill) {
        self.fill = fill
    }

    /// Whether `pack` may take one more element encoded in `size` bytes.
    @inline(__always)
    private func fits(_ pack: KVPack, adding size: Int) -> Bool {
        let bytes = pack.bytesUsed &+ size
        if fill < 0 { return bytes <= (4 << 10) << (min(-Int(fill), 5) - 1) }
        return bytes <= 8 << 10 && pack.count < Int(fill)
    }

    deinit {
        var node = head
        while let current = node {
            node = Self.next(current)
            Self.pack(current).release()
            KVHeap.release(current)
        }
    }

    // MARK: nodes

    static func previous(_ node: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        node.load(as: UnsafeMutableRawPointer?.self)
    }

    static func next(_ node: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        node.load(fromByteOffset: 8, as: UnsafeMutableRawPointer?.self)
    }

    static func pack(_ node: UnsafeMutableRawPointer) -> KVPack {
        KVPack(node.load(fromByteOffset: 16, as: UnsafeMutableRawPointer.self))
    }

    private static func setPrevious(_ node: UnsafeMutableRawPointer, _ value: UnsafeMutableRawPointer?) {
        node.storeBytes(of: value, as: UnsafeMutableRawPointer?.self)
    }

    private static func setNext(_ node: UnsafeMutableRawPointer, _ value: UnsafeMutableRawPointer?) {
        node.storeBytes(of: value, toByteOffset: 8, as: UnsafeMutableRawPointer?.self)
    }

    private static func setPack(_ node: UnsafeMutableRawPointer, _ pack: KVPack) {
        node.storeBytes(of: pack.pointer, toByteOffset: 16, as: UnsafeMutableRawPointer.self)
    }

    /// A new node with an empty pack, linked after `previous` (nil: first).
    private func makeNode(after previous: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        guard let node = KVHeap.allocate(24) else { return nil }
        guard let pack = KVPack.make() else {
            KVHeap.release(node)
            return nil
        }
        Self.setPack(node, pack)
        let following = previous.map(Self.next) ?? head
        Self.setPrevious(node, previous)
        Self.setNext(node, following)
        if let previous { Self.setNext(previous, node) } else { head = node }
        if let following { Self.setPrevious(following, node) } else { tail = node }
        nodeCount &+= 1
        return node
    }

    private func removeNode(_ node: UnsafeMutableRawPointer) {
        let previous = Self.previous(node)
        let following = Self.next(node)
        if let previous { Self.setNext(previous, following) } else { head = following }
        if let following { Self.setPrevious(following, previous) } else { tail = previous }
        Self.pack(node).release()
        KVHeap.release(node)
        nodeCount &-= 1
    }

    /// About the bytes the list holds (MEMORY USAGE): itself and its
    /// nodes with their packs, the first `samples` nodes measured (0: all)
    /// and the rest taken to be alike, as redis-server samples a quicklist.
    func approximateBytes(samples: Int) -> Int {
        var measured = 0
        var seen = 0
        var node = head
        while let current = node, samples == 0 || seen < samples {
            measured &+= HeapMemory.blockBytes(current) &+ HeapMemory.blockBytes(Self.pack(current).pointer)
            seen &+= 1
            node = Self.next(current)
        }
        let nodes = seen == 0 ? 0 : Int(Double(measured) / Double(seen) * Double(nodeCount))
        return HeapMemory.blockBytes(Unmanaged.passUnretained(self).toOpaque()) &+ nodes
    }

    // MARK: the ends

    /// Adds `element` at the head or the tail. False when malloc fails.
    func push(_ element: UnsafeRawBufferPointer, front: Bool) -> Bool {
        let size = KVPack.encodedBytes(element.count)
        var node = front ? head : tail
        if node == nil || !fits(Self.pack(node!), adding: size) {
            guard let created = makeNode(after: front ? nil : tail) else { return false }
            node = created
        }
        var pack = Self.pack(node!)
        guard pack.insert([element], at: front ? pack.startOffset : pack.endOffset) else {
            if pack.count == 0 { removeNode(node!) }
            return false
        }
        Self.setPack(node!, pack)
        count &+= 1
        return true
    }

    /// Removes the head or tail element, handing it to `body` first.
    func pop<R>(front: Bool, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard let node = front ? head : tail else { return nil }
        var pack = Self.pack(node)
        let offset = front ? pack.startOffset : pack.lastOffset
        let result = body(pack.element(at: offset).bytes)
        pack.remove(at: offset, elementCount: 1)
        Self.setPack(node, pack)
        count &-= 1
        if pack.count == 0 { removeNode(node) }
        return result
    }

    // MARK: by index

    /// The node holding index `index` and the index within its pack.
    func locate(_ index: Int) -> (node: UnsafeMutableRawPointer, offset: Int)? {
        guard index >= 0 && index < count else { return nil }
        if index < count / 2 {
            var node = head
            var skipped = 0
            while let current = node {
                let inNode = Self.pack(current).count
                if index < skipped &+ inNode { return (current, index &- skipped) }
                skipped &+= inNode
                node = Self.next(current)
            }
        } else {
            var node = tail
            var after = count
            while let current = node {
                let inNode = Self.pack(current).count
                if index >= after &- inNode { return (current, index &- (after &- inNode)) }
                after &-= inNode
                node = Self.previous(current)
            }
        }
        return nil
    }

    /// Calls `body` with the element at `index`, or returns nil.
    func element<R>(at index: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard let (node, inNode) = locate(index) else { return nil }
        let pack = Self.pack(node)
        return body(pack.element(at: pack.offset(ofIndex: inNode)).bytes)
    }

    /// Calls `body` with the elements from `start` through `stop` (indices
    /// within bounds), in order, until it returns false.
    func forEach(from start: Int, through stop: Int, _ body: (UnsafeRawBufferPointer) -> Bool) {
        guard start <= stop, let (first, inNode) = locate(start) else { return }
        var remaining = stop &- start &+ 1
        var node: UnsafeMutableRawPointer? = first
        var index = inNode
        while let current = node, remaining > 0 {
            let pack = Self.pack(current)
            var offset = pack.offset(ofIndex: index)
            while offset < pack.endOffset && remaining > 0 {
                let (bytes, next) = pack.element(at: offset)
                if !body(bytes) { return }
                offset = next
                remaining &-= 1
            }
            node = Self.next(current)
            index = 0
        }
    }

    /// Calls `body` with the elements from `start` down to `stop` (indices
    /// within bounds, start >= stop), until it returns false.
    func forEachReversed(from start: Int, through stop: Int, _ body: (UnsafeRawBufferPointer) -> Bool) {
        guard start >= stop, var (node, inNode) = locate(start) else { return }
        var remaining = start &- stop &+ 1
        while remaining > 0 {
            let pack = Self.pack(node)
            var offset = pack.offset(ofIndex: inNode)
            while remaining > 0 {
                if !body(pack.element(at: offset).bytes) { return }
                remaining &-= 1
                if offset == pack.startOffset { break }
                offset = pack.offset(before: offset)
            }
            guard remaining > 0, let previous = Self.previous(node) else { return }
            node = previous
            inNode = Self.pack(previous).count &- 1
        }
    }

    /// Replaces the element at `index`. False when out of range or malloc fails.
    func set(_ index: Int, to element: UnsafeRawBufferPointer) -> Bool {
        guard let (node, inNode) = locate(index) else { return false }
        var pack = Self.pack(node)
        guard pack.replace(at: pack.offset(ofIndex: inNode), with: element) else { return false }
        Self.setPack(node, pack)
        return true
    }

    /// Inserts `element` at `index` (0...count). False when malloc fails.
    func insert(_ element: UnsafeRawBufferPointer, at index: Int) -> Bool {
        if index == 0 { return push(element, front: true) }
        if index == count { return push(element, front: false) }
        guard let (node, inNode) = locate(index) else { return false }
        // Before a node's first element is after the previous node's last.
        if inNode == 0, let previous = Self.previous(node) { return push(element, front: false, after: previous) }
        var pack = Self.pack(node)
        if !fits(pack, adding: KVPack.encodedBytes(element.count)) {
            // Split the node at the insertion point: the rest moves to a new node after it.
            guard split(node, at: inNode) else { return false }
            return push(element, front: false, after: node)
        }
        guard pack.insert([element], at: pack.offset(ofIndex: inNode)) else { return false }
        Self.setPack(node, pack)
        count &+= 1
        return true
    }

    /// Moves the elements of `node` from `index` on to a new node after it.
    private func split(_ node: UnsafeMutableRawPointer, at index: Int) -> Bool {
        guard let created = makeNode(after: node) else { return false }
        var source = Self.pack(node)
        var target = Self.pack(created)
        let offset = source.offset(ofIndex: index)
        let moving = source.count &- index
        var elements: [UnsafeRawBufferPointer] = []
        source.forEachElement { bytes, at in
            if at >= offset { elements.append(bytes) }
            return true
        }
        guard target.insert(elements, at: target.startOffset) else {
            removeNode(created)
            return false
        }
        Self.setPack(created, target)
        source.remove(at: offset, elementCount: moving)
        Self.setPack(node, source)
        return true
    }

    /// Appends `element` to `node`'s pack (its end), starting a node after
    /// it when full.
    private func push(_ element: UnsafeRawBufferPointer, front: Bool, after node: UnsafeMutableRawPointer) -> Bool {
        var pack = Self.pack(node)
        if !fits(pack, adding: KVPack.encodedBytes(element.count)) {
            guard let created = makeNode(after: node) else { return false }
            var fresh = Self.pack(created)
            guard fresh.insert([element], at: fresh.startOffset) else {
                removeNode(created)
                return false
            }
            Self.setPack(created, fresh)
        } else {
            guard pack.insert([element], at: pack.endOffset) else { return false }
            Self.setPack(node, pack)
        }
        count &+= 1
        return true
    }

    /// Removes the elements for which `shouldRemove` is true, at most
    /// `limit` of them, from the head (or the tail when `fromTail`); returns
    /// how many went.
    func removeAll(limit: Int, fromTail: Bool, where shouldRemove: (UnsafeRawBufferPointer) -> Bool) -> Int {
        var removed = 0
        var node = fromTail ? tail : head
        while let current = node, removed < limit {
            let following = fromTail ? Self.previous(current) : Self.next(current)
            var pack = Self.pack(current)
            var offsets: [Int] = []
            pack.forEachElement { bytes, offset in
                if shouldRemove(bytes) { offsets.append(offset) }
                return true
            }
            if fromTail { offsets.reverse() }
            let taking = offsets.prefix(limit &- removed)
            // Remove from the highest offset down, so lower offsets stay valid.
            for offset in taking.sorted(by: >) { pack.remove(at: offset, elementCount: 1) }
            removed &+= taking.count
            count &-= taking.count
            Self.setPack(current, pack)
            if pack.count == 0 { removeNode(current) }
            node = following
        }
        return removed
    }

    /// Keeps only the elements from `start` through `stop` (within bounds;
    /// start > stop empties the list).
    func trim(keepingFrom start: Int, through stop: Int) {
        let dropBack = start > stop ? 0 : count &- 1 &- stop
        drop(min(start, count), front: true)
        drop(min(max(0, dropBack), count), front: false)
    }

    /// Removes `elements` elements from the head (or the tail): whole nodes
    /// first, then one cut of the last pack they reach.
    func drop(_ elements: Int, front: Bool) {
        var remaining = elements
        while remaining > 0, let node = front ? head : tail {
            var pack = Self.pack(node)
            if pack.count <= remaining {
                remaining &-= pack.count
                count &-= pack.count
                removeNode(node)
                continue
            }
            let offset = front ? pack.startOffset : pack.offset(ofIndex: pack.count &- remaining)
            pack.remove(at: offset, elementCount: remaining)
            Self.setPack(node, pack)
            count &-= remaining
            remaining = 0
        }
    }

    func checkInvariants() {
        var node = head
        var previous: UnsafeMutableRawPointer?
        var elements = 0
        var nodes = 0
        while let current = node {
            precondition(Self.previous(current) == previous, "a previous link is wrong")
            let pack = Self.pack(current)
            pack.checkInvariants()
            precondition(pack.count > 0, "an empty node")
            elements += pack.count
            nodes += 1
            previous = current
            node = Self.next(current)
        }
        precondition(tail == previous, "the tail is not the last node")
        precondition(elements == count && nodes == nodeCount, "count \(count)/\(elements), nodes \(nodeCount)/\(nodes)")
    }
}
