// ConnectionID: how a connection is named outside its slot (EventToken,
// in KeelPosix, is the same name inside the loop, without the loop's index).
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
