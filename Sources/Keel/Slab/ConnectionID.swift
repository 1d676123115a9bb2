// ConnectionID and the epoll token: how a connection is named outside its slot.
//
// A slot is reused as soon as its connection closes, so an index alone could
// reach the slot's next owner. The generation moves on every reuse: an ID or
// an epoll event that carries an old generation is recognised and refused.

/// A stable name for one connection: the loop that owns it, its slot, and the
/// slot's generation when the connection was accepted.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    /// Index of the event loop that owns the connection.
    public let loop: UInt32
    /// Index of the connection's slot in that loop's slab.
    public let slot: UInt32
    /// The slot's generation when this connection took it.
    public let generation: UInt32

    /// Makes an ID; normally only Keel does this.
    @inlinable
    public init(loop: UInt32, slot: UInt32, generation: UInt32) {
        self.loop = loop
        self.slot = slot
        self.generation = generation
    }

    /// "loop.slot.generation".
    public var description: String { "\(loop).\(slot).\(generation)" }
}

/// The 64-bit user data Keel registers with the backend for each descriptor:
/// `slot | generation << 32`.
@usableFromInline
struct EventToken: Hashable {
    @usableFromInline let rawValue: UInt64

    @inlinable @inline(__always)
    init(rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable @inline(__always)
    init(slot: UInt32, generation: UInt32) {
        rawValue = UInt64(slot) | UInt64(generation) << 32
    }

    @inlinable @inline(__always) var slot: UInt32 { UInt32(truncatingIfNeeded: rawValue) }
    @inlinable @inline(__always) var generation: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    /// Slot numbers at and above this one name the loop's own descriptors.
    @inlinable static var firstReservedSlot: UInt32 { UInt32.max - 15 }
    /// The listening socket.
    @inlinable static var listener: EventToken { EventToken(slot: UInt32.max, generation: 0) }
    /// The loop's eventfd, written to wake it from another thread.
    @inlinable static var waker: EventToken { EventToken(slot: UInt32.max - 1, generation: 0) }
    /// The loop's timer descriptor, armed for its nearest deadline.
    @inlinable static var timer: EventToken { EventToken(slot: UInt32.max - 2, generation: 0) }
}
