// TimeoutList: an intrusive doubly linked list of slab indices, ordered by
// deadline, one list per timeout kind (the seeds' "add more linked lists").
//
// Every member of one list has the same timeout, so a member inserted now has
// the latest deadline: appending at the tail keeps the list sorted, touching
// is unlink + append (O(1)), and enforcement pops from the head until the
// first deadline still in the future (O(expired)). The links live in one
// array indexed by slot, allocated at start-up: nothing allocates per client.
//
// Invariants: walking next from head visits exactly count nodes, each linked,
// with prev pointing back and deadlines non-decreasing, ending at tail.
// Unlinked nodes have prev == notLinked.

/// Slab indices ordered by deadline, for one timeout kind.
@usableFromInline
final class TimeoutList {
    @usableFromInline
    struct Node {
        @usableFromInline var prev: Int32
        @usableFromInline var next: Int32
        @usableFromInline var deadlineMs: Int64

        @inlinable
        init(prev: Int32, next: Int32, deadlineMs: Int64) {
            self.prev = prev
            self.next = next
            self.deadlineMs = deadlineMs
        }
    }

    /// Memory each list spends per slot, whether the slot is in use or not.
    static let bytesPerSlot = MemoryLayout<Node>.stride

    @inlinable static var none: Int32 { -1 }
    @inlinable static var notLinked: Int32 { -2 }

    /// The timeout every member gets, in milliseconds.
    @usableFromInline let timeoutMs: Int64
    /// Highest slot index + 1.
    @usableFromInline let capacity: Int
    @usableFromInline let nodes: UnsafeMutablePointer<Node>
    @usableFromInline @exclusivity(unchecked) var head: Int32 = TimeoutList.none
    @usableFromInline @exclusivity(unchecked) var tail: Int32 = TimeoutList.none
    /// Members.
    @usableFromInline @exclusivity(unchecked) var count = 0

    @usableFromInline
    init(capacity: Int, timeoutMs: Int64) {
        precondition(capacity > 0 && capacity < Int(Int32.max), "timeout list capacity \(capacity)")
        precondition(timeoutMs > 0, "timeout must be positive")
        self.capacity = capacity
        self.timeoutMs = timeoutMs
        nodes = .allocate(capacity: capacity)
        nodes.initialize(
            repeating: Node(prev: TimeoutList.notLinked, next: TimeoutList.none, deadlineMs: 0), count: capacity)
    }

    deinit {
        nodes.deinitialize(count: capacity)
        nodes.deallocate()
    }

    /// Whether `slot` is on the list.
    @inlinable @inline(__always)
    func contains(_ slot: UInt32) -> Bool {
        nodes[Int(slot)].prev != TimeoutList.notLinked
    }

    /// Puts `slot` at the tail with deadline `nowMs + timeoutMs`, moving it
    /// there if it is already a member. `nowMs` never goes backwards.
    @inlinable @inline(__always)
    func touch(_ slot: UInt32, nowMs: Int64) {
        let index = Int32(bitPattern: slot)
        if contains(slot) {
            if index == tail {
                nodes[Int(index)].deadlineMs = nowMs + timeoutMs
                return
            }
            unlink(index)
        }
        let deadline = nowMs + timeoutMs
        assert(tail == TimeoutList.none || nodes[Int(tail)].deadlineMs <= deadline, "clock went backwards")
        nodes[Int(index)] = Node(prev: tail, next: TimeoutList.none, deadlineMs: deadline)
        if tail == TimeoutList.none {
            head = index
        } else {
            nodes[Int(tail)].next = index
        }
        tail = index
        count += 1
    }

    /// Takes `slot` off the list; does nothing if it is not a member.
    @inlinable @inline(__always)
    func remove(_ slot: UInt32) {
        if contains(slot) { unlink(Int32(bitPattern: slot)) }
    }

    /// The earliest deadline, or nil when the list is empty.
    @inlinable
    var earliestDeadlineMs: Int64? {
        head == TimeoutList.none ? nil : nodes[Int(head)].deadlineMs
    }

    /// Unlinks and returns the head if its deadline has passed (≤ nowMs).
    @usableFromInline
    func popExpired(nowMs: Int64) -> UInt32? {
        guard head != TimeoutList.none, nodes[Int(head)].deadlineMs <= nowMs else { return nil }
        let index = head
        unlink(index)
        return UInt32(index)
    }

    @inlinable
    func unlink(_ index: Int32) {
        let node = nodes[Int(index)]
        if node.prev == TimeoutList.none {
            head = node.next
        } else {
            nodes[Int(node.prev)].next = node.next
        }
        if node.next == TimeoutList.none {
            tail = node.prev
        } else {
            nodes[Int(node.next)].prev = node.prev
        }
        nodes[Int(index)].prev = TimeoutList.notLinked
        nodes[Int(index)].next = TimeoutList.none
        count -= 1
    }

    /// Members from head to tail (for tests and shutdown).
    @usableFromInline
    func members() -> [UInt32] {
        var result: [UInt32] = []
        var cursor = head
        while cursor != TimeoutList.none {
            result.append(UInt32(cursor))
            cursor = nodes[Int(cursor)].next
        }
        return result
    }

    /// Checks the list's invariants (see the file header); O(capacity).
    @usableFromInline
    func checkInvariants() {
        var visited = 0
        var previous = TimeoutList.none
        var cursor = head
        var lastDeadline = Int64.min
        while cursor != TimeoutList.none {
            precondition(visited < count, "list longer than its count \(count)")
            let node = nodes[Int(cursor)]
            precondition(node.prev == previous, "node \(cursor) has prev \(node.prev), expected \(previous)")
            precondition(node.deadlineMs >= lastDeadline, "deadlines out of order at node \(cursor)")
            lastDeadline = node.deadlineMs
            previous = cursor
            cursor = node.next
            visited += 1
        }
        precondition(visited == count, "walked \(visited) nodes, count is \(count)")
        precondition(previous == tail, "walk ended at \(previous), tail is \(tail)")
        var linked = 0
        for index in 0..<capacity where nodes[index].prev != TimeoutList.notLinked { linked += 1 }
        precondition(linked == count, "\(linked) nodes linked, count is \(count)")
    }
}
