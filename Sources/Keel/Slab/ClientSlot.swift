// ClientSlot: everything Keel keeps per connection, as one value in the slab.
// Small on purpose: an idle connection costs this struct plus its timeout
// nodes and nothing else (both rings hold no memory while empty).

/// Per-connection state. A free slot has fd == -1 and empty rings.
@usableFromInline
struct ClientSlot: ~Copyable {
    /// The socket, or -1 while the slot is free.
    @usableFromInline var fd: Int32 = -1
    /// Moves on every reuse of the slot (see ConnectionID).
    @usableFromInline var generation: UInt32 = 0
    /// Next free slot while on the free list; -1 ends the list.
    @usableFromInline var nextFree: Int32 = -1
    /// Where the connection is in its life and why it will close (the
    /// transitions: ConnectionLifecycle). (It and the two one-byte fields
    /// share one 4-byte word: the slot stays 80 bytes.)
    @usableFromInline var lifecycle = ConnectionLifecycle()
    /// State bits independent of the phase.
    @usableFromInline var flags: SlotFlags = []
    /// The interest currently registered with the backend.
    @usableFromInline var registered: Interest = []
    /// An incomplete frame (never more than one frame's bytes).
    @usableFromInline var input = RingBuffer()
    /// Bytes the socket has not yet taken, in order.
    @usableFromInline var output = RingBuffer()

    @inlinable init() {}

    @inlinable @inline(__always) var isLive: Bool { fd >= 0 }
}

/// Per-connection state bits, each independent of the others and of the
/// connection's phase.
@usableFromInline
struct SlotFlags: OptionSet {
    @usableFromInline let rawValue: UInt8
    @inlinable init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Output is over the high watermark: reading is paused until it drains
    /// below the low watermark.
    @inlinable static var readPaused: SlotFlags { SlotFlags(rawValue: 1 << 0) }
    /// The handler has been told of the connection (connectionOpened): it is
    /// told of its close too. Unset while a PROXY header is awaited.
    @inlinable static var announced: SlotFlags { SlotFlags(rawValue: 1 << 1) }
    /// At least one complete message has arrived (ends the first-message timeout).
    @inlinable static var greeted: SlotFlags { SlotFlags(rawValue: 1 << 2) }
    /// The slot is on the loop's list of connections to flush this iteration.
    @inlinable static var flushQueued: SlotFlags { SlotFlags(rawValue: 1 << 3) }
    /// Edge-triggered mode: the slot is on the loop's list of connections to
    /// read again next iteration (it used its read budget with data left).
    @inlinable static var readQueued: SlotFlags { SlotFlags(rawValue: 1 << 4) }
    /// Edge-triggered mode: the slot is on the loop's list of connections to
    /// write again next iteration (it used its write budget with output left).
    @inlinable static var writeQueued: SlotFlags { SlotFlags(rawValue: 1 << 5) }
    /// The input ring holds whole requests whose delivery was paused while
    /// the connection's output was over the high watermark.
    @inlinable static var requestsWaiting: SlotFlags { SlotFlags(rawValue: 1 << 6) }
    /// The slot is on the loop's list of connections whose waiting requests
    /// are to be delivered next iteration (its output has drained).
    @inlinable static var deliveryQueued: SlotFlags { SlotFlags(rawValue: 1 << 7) }
    /// Any revisit list flag. (Combinations are built from raw values: an
    /// option-set array literal would allocate an array on every use in
    /// unoptimised builds.)
    @inlinable static var revisitQueued: SlotFlags {
        SlotFlags(rawValue: readQueued.rawValue | writeQueued.rawValue | deliveryQueued.rawValue)
    }
}
