// ClientSlot: everything Keel keeps per connection, as one value in the slab.
// Small on purpose: an idle connection costs this struct plus its timeout
// nodes and nothing else (both rings hold no memory while empty).

/// Per-connection state. A free slot has fd == -1 and empty rings.
struct ClientSlot: ~Copyable {
    /// The socket, or -1 while the slot is free.
    var fd: Int32 = -1
    /// Moves on every reuse of the slot (see ConnectionID).
    var generation: UInt32 = 0
    /// Next free slot while on the free list; -1 ends the list.
    var nextFree: Int32 = -1
    /// Connection state bits. (Declared before the one-byte fields so that
    /// the three of them share one 4-byte word: the slot stays 80 bytes.)
    var flags: SlotFlags = []
    /// The interest currently registered with the backend.
    var registered: Interest = []
    /// Why the connection will close, once closeRequested or abortRequested is set.
    var closeReason: CloseReason = .closedByHandler
    /// An incomplete frame (never more than one frame's bytes).
    var input = RingBuffer()
    /// Bytes the socket has not yet taken, in order.
    var output = RingBuffer()

    init() {}

    @inline(__always) var isLive: Bool { fd >= 0 }
}

/// Per-connection state bits.
struct SlotFlags: OptionSet {
    let rawValue: UInt16
    /// Output is over the high watermark: reading is paused until it drains
    /// below the low watermark.
    static let readPaused = SlotFlags(rawValue: 1 << 0)
    /// The peer sent EOF while output was pending: finish writing, then close.
    static let peerFinished = SlotFlags(rawValue: 1 << 1)
    /// At least one complete message has arrived (ends the first-message timeout).
    static let greeted = SlotFlags(rawValue: 1 << 2)
    /// The slot is on the loop's list of connections to flush this iteration.
    static let flushQueued = SlotFlags(rawValue: 1 << 3)
    /// Close once pending output is written (a handler's close, shutdown).
    static let closeRequested = SlotFlags(rawValue: 1 << 4)
    /// Close as soon as the loop regains control, dropping pending output.
    static let abortRequested = SlotFlags(rawValue: 1 << 5)
    /// Output is written and our side is shut down (SHUT_WR); input is read
    /// and discarded until the peer's EOF or the linger timeout.
    static let lingering = SlotFlags(rawValue: 1 << 6)
    /// Edge-triggered mode: the slot is on the loop's list of connections to
    /// read again next iteration (it used its read budget with data left).
    static let readQueued = SlotFlags(rawValue: 1 << 7)
    /// The PROXY protocol is on and the connection's header has not been
    /// read yet: its bytes are not frames, and the handler has not been told
    /// of the connection (it learns of it with the client's real address).
    static let awaitingProxyHeader = SlotFlags(rawValue: 1 << 8)
    /// Edge-triggered mode: the slot is on the loop's list of connections to
    /// write again next iteration (it used its write budget with output left).
    static let writeQueued = SlotFlags(rawValue: 1 << 9)
    /// Either flag stops delivering further messages (test with isDisjoint,
    /// not contains, which would ask for both).
    static let stopsInput: SlotFlags = [.closeRequested, .abortRequested]
    /// Flags under which settle may change interest or close (see settleAfterRead).
    static let changeInterest: SlotFlags = [.abortRequested, .closeRequested, .peerFinished, .readPaused, .lingering]
}
