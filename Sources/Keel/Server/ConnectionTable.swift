// ConnectionTable: a loop's connection state (slab, buffer pool) and the
// output path that handlers send through.
//
// Sending never makes a syscall. Replies to the connection being served go
// into the loop-wide staging buffer, so all replies to one read leave in one
// write after the handler returns; replies that cannot go there (the
// connection already has pending output, the staging buffer is full, or the
// target is another connection) go into that connection's output ring, and
// other connections are queued for a flush at the end of the iteration.
// `send` frames a message as the server's format does (ReplyFraming);
// `write` adds no framing (formats whose handlers frame their own replies).
//
// Invariant: staged bytes belong to `servedSlot`, whose output ring is empty
// while anything is staged (so staged bytes never overtake pending ones).

/// A loop's connections and the output path handlers send through.
@usableFromInline
final class ConnectionTable {
    @inlinable static var noSlot: UInt32 { UInt32.max }

    /// The owning loop's index (part of every ConnectionID).
    @usableFromInline let loopIndex: UInt32
    /// Every loop's mailbox, for sends to connections on other loops.
    @usableFromInline let mailboxes: Mailboxes
    // Strong lets: reached through a guaranteed `self` (Connection passes the
    // table with _withUnsafeGuaranteedRef), they cost no retain per message.
    @usableFromInline let slab: ClientSlab
    @usableFromInline let pool: BufferPool
    /// How `send` frames a message.
    @usableFromInline let framing: ReplyFraming
    /// Pending output (ring plus staged) beyond this closes the connection.
    @usableFromInline let maxPendingOutputBytes: Int

    @usableFromInline let staging: UnsafeMutableRawPointer
    @usableFromInline let stagingCapacity: Int
    /// Bytes staged for `servedSlot`.
    @usableFromInline @exclusivity(unchecked) var stagedBytes = 0
    /// The connection whose input is being handled, or noSlot.
    @usableFromInline @exclusivity(unchecked) var servedSlot = ConnectionTable.noSlot
    /// Connections (slot, generation) that got output outside their own read.
    @usableFromInline @exclusivity(unchecked) var flushQueue: [EventToken] = []
    /// Messages queued by handlers (folded into the loop's statistics).
    @usableFromInline @exclusivity(unchecked) var messagesOut = 0
    /// Each slot's PROXY header, when the PROXY protocol is on (otherwise empty).
    @usableFromInline @exclusivity(unchecked) var proxyHeaders: [ProxyHeader?]

    @usableFromInline
    init(
        loopIndex: UInt32, capacity: Int, pool: BufferPool, framing: ReplyFraming,
        stagingCapacity: Int, maxPendingOutputBytes: Int, mailboxes: Mailboxes, proxyProtocol: ProxyProtocol = .off
    ) {
        self.loopIndex = loopIndex
        self.mailboxes = mailboxes
        self.slab = ClientSlab(capacity: capacity)
        self.pool = pool
        self.framing = framing
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
    @inlinable
    func beginServing(_ slot: UInt32) {
        assert(servedSlot == ConnectionTable.noSlot && stagedBytes == 0)
        servedSlot = slot
    }

    /// Ends serving; calls `body` with the staged bytes (possibly empty),
    /// which are dropped afterwards.
    @inlinable
    func endServing<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        defer {
            stagedBytes = 0
            servedSlot = ConnectionTable.noSlot
        }
        return body(UnsafeRawBufferPointer(start: staging, count: stagedBytes))
    }

    // MARK: sending

    /// Queues one message for the connection (slot, generation), framed as
    /// the format frames replies.
    @inlinable
    func send(_ payload: UnsafeRawBufferPointer, slot: UInt32, generation: UInt32) -> SendResult {
        guard slab.isCurrent(slot: slot, generation: generation),
            !slab[slot].flags.contains(.abortRequested)
        else { return .connectionGone }
        switch framing {
        case .lengthPrefix(let frame):
            guard UInt64(payload.count) <= frame.largestLength else { return .tooLarge }
            let header = frame.headerBytes
            if canStage(header + payload.count, for: slot) {
                frame.encodeLength(payload.count, into: staging + stagedBytes)
                stage(payload, at: stagedBytes + header)
                stagedBytes += header + payload.count
                messagesOut &+= 1
                return .queued
            }
            var field: UInt64 = 0
            withUnsafeMutableBytes(of: &field) { frame.encodeLength(payload.count, into: $0.baseAddress!) }
            return withUnsafeBytes(of: &field) {
                enqueue(UnsafeRawBufferPointer(rebasing: $0[..<header]), payload, suffix: nil, slot: slot, count: true)
            }
        case .line:
            var newline: UInt8 = 0x0A
            return withUnsafeBytes(of: &newline) { enqueue(nil, payload, suffix: $0, slot: slot, count: true) }
        case .respBulkString:
            var header: (UInt64, UInt64, UInt64) = (0, 0, 0)
            var trailer: UInt16 = 0x0A0D  // "\r\n" in memory order
            return withUnsafeMutableBytes(of: &header) { raw in
                raw[0] = 0x24  // "$"
                let digits = DecimalText.write(payload.count, to: raw.baseAddress! + 1)
                raw[1 + digits] = 0x0D
                raw[2 + digits] = 0x0A
                return withUnsafeBytes(of: &trailer) { suffix in
                    enqueue(
                        UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(raw)[..<(3 + digits)]), payload,
                        suffix: suffix, slot: slot, count: true)
                }
            }
        case .none:
            return enqueue(nil, payload, suffix: nil, slot: slot, count: true)
        }
    }

    /// Queues `bytes` for the connection as they are (no framing, not
    /// counted as a message).
    @inlinable
    func write(_ bytes: UnsafeRawBufferPointer, slot: UInt32, generation: UInt32) -> SendResult {
        guard slab.isCurrent(slot: slot, generation: generation),
            !slab[slot].flags.contains(.abortRequested)
        else { return .connectionGone }
        return enqueue(nil, bytes, suffix: nil, slot: slot, count: false)
    }

    /// Whether `bytes` more can go into the staging buffer for `slot`.
    @inlinable
    func canStage(_ bytes: Int, for slot: UInt32) -> Bool {
        slot == servedSlot && stagedBytes + bytes <= stagingCapacity && slab[slot].output.isEmpty
    }

    @inlinable
    func stage(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        if !bytes.isEmpty { (staging + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
    }

    /// Queues prefix, body and suffix, in order: staged when they fit,
    /// otherwise in the connection's output ring.
    @inlinable
    func enqueue(
        _ prefix: UnsafeRawBufferPointer?, _ body: UnsafeRawBufferPointer, suffix: UnsafeRawBufferPointer?,
        slot: UInt32, count: Bool
    ) -> SendResult {
        let total = (prefix?.count ?? 0) + body.count + (suffix?.count ?? 0)
        guard canStage(total, for: slot) else {
            return enqueueInRing(prefix, body, suffix: suffix, slot: slot, count: count, total: total)
        }
        var offset = stagedBytes
        if let prefix {
            stage(prefix, at: offset)
            offset += prefix.count
        }
        stage(body, at: offset)
        offset += body.count
        if let suffix { stage(suffix, at: offset) }
        stagedBytes += total
        if count { messagesOut &+= 1 }
        return .queued
    }

    @usableFromInline
    func enqueueInRing(
        _ prefix: UnsafeRawBufferPointer?, _ body: UnsafeRawBufferPointer, suffix: UnsafeRawBufferPointer?,
        slot: UInt32, count: Bool, total: Int
    ) -> SendResult {
        let staged = slot == servedSlot ? stagedBytes : 0
        guard slab[slot].output.count + staged + total <= maxPendingOutputBytes else {
            if slot == servedSlot { stagedBytes = 0 }
            abort(slot: slot, reason: .outputOverflow)
            return .overflow
        }
        // Move what is staged ahead of the new bytes, keeping order.
        var queued = slab[slot].output.append(UnsafeRawBufferPointer(start: staging, count: staged), pool: pool)
        if slot == servedSlot { stagedBytes = 0 }
        if let prefix { queued = queued && slab[slot].output.append(prefix, pool: pool) }
        queued = queued && slab[slot].output.append(body, pool: pool)
        if let suffix { queued = queued && slab[slot].output.append(suffix, pool: pool) }
        guard queued else {
            // No memory for this connection's output: it alone closes.
            abort(slot: slot, reason: .outOfMemory)
            return .overflow
        }
        if count { messagesOut &+= 1 }
        if slot != servedSlot { queueFlush(slot) }
        return .queued
    }

    /// Puts `slot` on the flush queue once per iteration.
    @usableFromInline
    func queueFlush(_ slot: UInt32) {
        guard !slab[slot].flags.contains(.flushQueued) else { return }
        slab[slot].flags.insert(.flushQueued)
        flushQueue.append(EventToken(slot: slot, generation: slab[slot].generation))
    }

    /// Takes the flush queue (the loop drains it at the end of each iteration).
    @inlinable
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
    @usableFromInline
    func requestClose(slot: UInt32, generation: UInt32, reason: CloseReason) {
        guard slab.isCurrent(slot: slot, generation: generation) else { return }
        if !slab[slot].flags.contains(.closeRequested) {
            slab[slot].flags.insert(.closeRequested)
            slab[slot].closeReason = reason
        }
        if slot != servedSlot { queueFlush(slot) }
    }

    /// Marks `slot` to close at once, pending output dropped.
    @usableFromInline
    func abort(slot: UInt32, reason: CloseReason) {
        slab[slot].flags.insert(.abortRequested)
        slab[slot].closeReason = reason
        if slot != servedSlot { queueFlush(slot) }
    }

    /// Checks the staging invariant (see the file header).
    @usableFromInline
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
