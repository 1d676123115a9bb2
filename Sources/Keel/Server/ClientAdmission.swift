// ClientAdmission: the client limit shared by a server's loops.
//
// With several loops, each has its own listener on the port (SO_REUSEPORT)
// and the kernel picks the listener for each new connection by a hash of its
// addresses, not by which loop has room. A limit split into per-loop shares
// therefore left connections waiting in a full loop's backlog while the
// server as a whole was under its limit (with 6 clients allowed over two
// loops, the kernel put 4 on one loop and the fourth waited, unanswered).
// So each loop may hold up to the whole limit (its slab is that large), and
// this counter keeps the sum within it: a loop reserves a place before it
// accepts and gives it back when the connection closes. A loop that finds
// the server full switches its listener off; the close that takes the
// count below the limit again wakes every loop, and each switches its
// listener back on.
//
// One loop needs none of this: its slab's capacity is the limit.

import Synchronization

/// The number of open connections over all of a server's loops, held within
/// the client limit (see the file header).
@usableFromInline
final class ClientAdmission: Sendable {
    /// The most connections the loops may hold together.
    @usableFromInline let limit: Int
    /// Connections open or about to be accepted, over all loops.
    @usableFromInline let open = Atomic<Int>(0)
    /// Each loop's waker, to tell loops with their listeners off that a
    /// place freed (none when the listeners stay on to turn clients away).
    private let wakers: [Waker]

    init(limit: Int, wakers: [Waker]) {
        precondition(limit > 0, "client limit \(limit)")
        self.limit = limit
        self.wakers = wakers
    }

    /// Whether every place is taken.
    @inlinable var isFull: Bool { open.load(ordering: .acquiring) >= limit }

    /// Takes a place for a connection about to be accepted; false when the
    /// server is full. Never counts past the limit, even for a moment, so a
    /// concurrent `release` sees the true count.
    @inlinable
    func reserve() -> Bool {
        var current = open.load(ordering: .acquiring)
        while current < limit {
            let (exchanged, original) = open.weakCompareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives a place back (its connection closed, or nothing was accepted
    /// for it). When that ends a full server, every other loop is woken to
    /// switch its listener back on.
    @inlinable
    func release(by loop: UInt32) {
        let before = open.subtract(1, ordering: .releasing).oldValue
        precondition(before > 0, "client admission released more places than it gave")
        if before == limit { wakeOthers(than: loop) }
    }

    @usableFromInline
    func wakeOthers(than loop: UInt32) {
        for (index, waker) in wakers.enumerated() where index != Int(loop) { waker.wake() }
    }
}
