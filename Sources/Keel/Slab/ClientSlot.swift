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
    /// Connection state bits. (Declared before the one-byte fields so that
    /// the three of them share one 4-byte word: the slot stays 80 bytes.)
    @usableFromInline var flags: SlotFlags = []
    /// The interest currently registered with the backend.
    @usableFromInline var registered: Interest = []
    /// Why the connection will close, once closeRequested or abortRequested is set.
    @usableFromInline var closeReason: CloseReason = .closedByHandler
    /// An incomplete frame (never more than one frame's bytes).
    @usableFromInline var input = RingBuffer()
    /// Bytes the socket has not yet taken, in order.
    @usableFromInline var output = RingBuffer()

    @inlinable init() {}

    @inlinable @inline(__always) var isLive: Bool { fd >= 0 }
}

/// Per-connection state bits.
@usableFromInline
struct SlotFlags: OptionSet {
    @usableFromInline let rawValue: UInt16
    @inlinable init(rawValue: UInt16) { self.rawValue = rawValue }
    /// Output is over the high watermark: reading is paused until it drains
    /// below the low watermark.
    @inlinable static var readPaused: SlotFlags { SlotFlags(rawValue: 1 << 0) }
    /// The peer sent EOF while output was pending: finish writing, then close.
    @inlinable static var peerFinished: SlotFlags { SlotFlags(rawValue: 1 << 1) }
    /// At least one complete message has arrived (ends the first-message timeout).
    @inlinable static var greeted: SlotFlags { SlotFlags(rawValue: 1 << 2) }
    /// The slot is on the loop's list of connections to flush this iteration.
    @inlinable static var flushQueued: SlotFlags { SlotFlags(rawValue: 1 << 3) }
    /// Close once pending output is written (a handler's close, shutdown).
    @inlinable static var closeRequested: SlotFlags { SlotFlags(rawValue: 1 << 4) }
    /// Close as soon as the loop regains control, dropping pending output.
    @inlinable static var abortRequested: SlotFlags { SlotFlags(rawValue: 1 << 5) }
    /// Output is written and our side is shut down (SHUT_WR); input is read
    /// and discarded until the peer's EOF or the linger timeout.
    @inlinable static var lingering: SlotFlags { SlotFlags(rawValue: 1 << 6) }
    /// Edge-triggered mode: the slot is on the loop's list of connections to
    /// read again next iteration (it used its read budget with data left).
    @inlinable static var readQueued: SlotFlags { SlotFlags(rawValue: 1 << 7) }
    /// The PROXY protocol is on and the connection's header has not been
    /// read yet: its bytes are not frames, and the handler has not been told
    /// of the connection (it learns of it with the client's real address).
    @inlinable static var awaitingProxyHeader: SlotFlags { SlotFlags(rawValue: 1 << 8) }
    /// Edge-triggered mode: the slot is on the loop's list of connections to
    /// write again next iteration (it used its write budget with output left).
    @inlinable static var writeQueued: SlotFlags { SlotFlags(rawValue: 1 << 9) }
    /// The input ring holds whole requests whose delivery was paused while
    /// the connection's output was over the high watermark.
    @inlinable static var requestsWaiting: SlotFlags { SlotFlags(rawValue: 1 << 10) }
    /// The slot is on the loop's list of connections whose waiting requests
    /// are to be delivered next iteration (its output has drained).
    @inlinable static var deliveryQueued: SlotFlags { SlotFlags(rawValue: 1 << 11) }
    /// Either flag stops delivering further messages (test with isDisjoint,
    /// not contains, which would ask for both). Combinations are built from
    /// raw values: an option-set array literal would allocate an array on
    /// every use in unoptimised builds.
    @inlinable static var stopsInput: SlotFlags {
        SlotFlags(rawValue: closeRequested.rawValue | abortRequested.rawValue)
    }
    /// Flags under which settle may change interest or close (see settleAfterRead).
    @inlinable static var changeInterest: SlotFlags {
        SlotFlags(rawValue: stopsInput.rawValue | peerFinished.rawValue | readPaused.rawValue | lingering.rawValue)
    }
    /// Either revisit list flag.
    @inlinable static var revisitQueued: SlotFlags {
        SlotFlags(rawValue: readQueued.rawValue | writeQueued.rawValue | deliveryQueued.rawValue)
    }
    /// Flags under which the echo fast path steps aside.
    @inlinable static var blocksInPlaceEcho: SlotFlags {
        SlotFlags(rawValue: stopsInput.rawValue | awaitingProxyHeader.rawValue)
    }
}
