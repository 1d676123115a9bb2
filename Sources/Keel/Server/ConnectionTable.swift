// ConnectionTable: a loop's connection state (slab, buffer pool) and the
// output path that handlers send through.
//
// Sending never makes a syscall. Replies to the connection being served go
// into the loop-wide staging buffer, so all replies to one read leave in one
// write after the handler returns; replies that cannot go there (the
// connection already has pending output, the staging buffer is full, or the
// target is another connection) go into that connection's output ring, and
// other connections are queued for a flush at the end of the iteration.
//
// Invariant: staged bytes belong to `servedSlot`, whose output ring is empty
// while anything is staged (so staged bytes never overtake pending ones).

/// A loop's connections and the output path handlers send through.
final class ConnectionTable {
    static let noSlot = UInt32.max

    /// The owning loop's index (part of every ConnectionID).
    let loopIndex: UInt32
    /// Every loop's mailbox, for sends to connections on other loops.
    let mailboxes: Mailboxes
    // Strong lets: reached through a guaranteed `self` (Connection passes the
    // table with _withUnsafeGuaranteedRef), they cost no retain per message.
    let slab: ClientSlab
    let pool: BufferPool
    let format: FrameFormat
    /// Pending output (ring plus staged) beyond this closes the connection.
    let maxPendingOutputBytes: Int

    private let staging: UnsafeMutableRawPointer
    let stagingCapacity: Int
    /// Bytes staged for `servedSlot`.
    @exclusivity(unchecked) private(set) var stagedBytes = 0
    /// The connection whose input is being handled, or noSlot.
    @exclusivity(unchecked) private(set) var servedSlot = ConnectionTable.noSlot
    /// Connections (slot, generation) that got output outside their own read.
    @exclusivity(unchecked) private(set) var flushQueue: [EventToken] = []
    /// Frames queued by handlers (folded into the loop's statistics).
    @exclusivity(unchecked) var messagesOut = 0
    /// Each slot's PROXY header, when the PROXY protocol is on (otherwise empty).
    @exclusivity(unchecked) var proxyHeaders: [ProxyHeader?]

    init(
        loopIndex: UInt32, capacity: Int, pool: BufferPool, format: FrameFormat,
        stagingCapacity: Int, maxPendingOutputBytes: Int, mailboxes: Mailboxes, proxyProtocol: ProxyProtocol = .off
    ) {
        self.loopIndex = loopIndex
        self.mailboxes = mailboxes
        self.slab = ClientSlab(capacity: capacity)
        self.pool = pool
        self.format = format
        self.stagingCapacity = stagingCapacity
        self.maxPendingOutputBytes = maxPendingOutputBytes
        staging = .allocate(byteCount: stagingCapacity, alignment: 16)
        flushQueue.reserveCapacity(capacity)
        proxyHeaders = proxyProtocol == .off ? [] : Array(repeating: nil, count: capacity)
    }

    deinit {
        staging.deallocate()
    }

    // MARK: serving one connection's input

    /// Starts a read's worth of handler calls for `slot`.
    @inline(__always)
    func beginServing(_ slot: UInt32) {
        assert(servedSlot == ConnectionTable.noSlot && stagedBytes == 0)
        servedSlot = slot
    }

    /// Ends serving; calls `body` with the staged bytes (possibly empty),
    /// which are dropped afterwards.
    @inline(__always)
    func endServing<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        defer {
            stagedBytes = 0
            servedSlot = ConnectionTable.noSlot
        }
        return body(UnsafeRawBufferPointer(start: staging, count: stagedBytes))
    }

    // MARK: sending

    /// Queues one framed message for the connection (slot, generation).
    @inline(__always)
    func send(_ payload: UnsafeRawBufferPointer, slot: UInt32, generation: UInt32) -> SendResult {
        guard slab.isCurrent(slot: slot, generation: generation),
            !slab[slot].flags.contains(.abortRequested)
        else { return .connectionGone }
        guard UInt64(payload.count) <= format.largestLength else { return .tooLarge }
        let frameBytes = format.headerBytes + payload.count
        if slot == servedSlot && stagedBytes + frameBytes <= stagingCapacity && slab[slot].output.isEmpty {
            format.encodeLength(payload.count, into: staging + stagedBytes)
            if !payload.isEmpty {
                (staging + stagedBytes + format.headerBytes).copyMemory(
                    from: payload.baseAddress!, byteCount: payload.count)
            }
            stagedBytes += frameBytes
            messagesOut &+= 1
            return .queued
        }
        return sendToRing(payload, slot: slot, frameBytes: frameBytes)
    }

    private func sendToRing(_ payload: UnsafeRawBufferPointer, slot: UInt32, frameBytes: Int) -> SendResult {
        let staged = slot == servedSlot ? stagedBytes : 0
        guard slab[slot].output.count + staged + frameBytes <= maxPendingOutputBytes else {
            if slot == servedSlot { stagedBytes = 0 }
            abort(slot: slot, reason: .outputOverflow)
            return .overflow
        }
        // Move what is staged ahead of the new frame, keeping order.
        let movedStaged = slab[slot].output.append(UnsafeRawBufferPointer(start: staging, count: staged), pool: pool)
        if slot == servedSlot { stagedBytes = 0 }
        var header: UInt64 = 0
        withUnsafeMutableBytes(of: &header) { format.encodeLength(payload.count, into: $0.baseAddress!) }
        let queued =
            movedStaged
            && withUnsafeBytes(of: &header) {
                slab[slot].output.append(UnsafeRawBufferPointer(rebasing: $0[..<format.headerBytes]), pool: pool)
            } && slab[slot].output.append(payload, pool: pool)
        guard queued else {
            // No memory for this connection's output: it alone closes.
            abort(slot: slot, reason: .outOfMemory)
            return .overflow
        }
        messagesOut &+= 1
        if slot != servedSlot { queueFlush(slot) }
        return .queued
    }

    /// Puts `slot` on the flush queue once per iteration.
    private func queueFlush(_ slot: UInt32) {
        guard !slab[slot].flags.contains(.flushQueued) else { return }
        slab[slot].flags.insert(.flushQueued)
        flushQueue.append(EventToken(slot: slot, generation: slab[slot].generation))
    }

    /// Takes the flush queue (the loop drains it at the end of each iteration).
    func takeFlushQueue(_ body: (EventToken) -> Void) {
        var index = 0
        // Flushing can queue more (a close callback that sends): loop by index.
        while index < flushQueue.count {
            let token = flushQueue[index]
            if slab.isCurrent(slot: token.slot, generation: token.generation) {
                slab[token.slot].flags.remove(.flushQueued)
                body(token)
            }
            index += 1
        }
        flushQueue.removeAll(keepingCapacity: true)
    }

    // MARK: closing

    /// Asks for a graceful close: stop reading, write what is pending, close.
    func requestClose(slot: UInt32, generation: UInt32) {
        guard slab.isCurrent(slot: slot, generation: generation) else { return }
        if !slab[slot].flags.contains(.closeRequested) {
            slab[slot].flags.insert(.closeRequested)
            slab[slot].closeReason = .closedByHandler
        }
        if slot != servedSlot { queueFlush(slot) }
    }

    /// Marks `slot` to close at once, pending output dropped.
    func abort(slot: UInt32, reason: CloseReason) {
        slab[slot].flags.insert(.abortRequested)
        slab[slot].closeReason = reason
        if slot != servedSlot { queueFlush(slot) }
    }

    /// Checks the staging invariant (see the file header).
    func checkInvariants() {
        precondition(stagedBytes >= 0 && stagedBytes <= stagingCapacity, "staged \(stagedBytes) bytes")
        if stagedBytes > 0 {
            precondition(servedSlot != ConnectionTable.noSlot, "staged bytes without a served slot")
            precondition(slab[servedSlot].output.isEmpty, "staged bytes behind pending output")
        }
        slab.checkInvariants()
        pool.checkInvariants()
    }
}
