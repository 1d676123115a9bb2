// ConnectionOutputs: the one owner of every byte queued for a loop's
// connections (staging, the output rings, the flush queue, the count of
// messages out), of the requests that end a connection's output (a graceful
// close, an abort), and of what a connection may ask about itself (its
// PROXY header): everything a handler reaches through a `Connection`. Why a
// type of its own: EventLoop is generic over the handler, so the Connection
// values handed to that handler cannot name the loop; they name this, the
// loop's non-generic half. The engine drives it: it brackets a read's
// handler calls (beginServing, endServing), hands it what a send left
// unsent (keepUnsent), counts the echo fast path's replies (countEchoed),
// and drains the flush queue; it appends to no ring itself.
//
// Sending never makes a syscall. Replies to the connection being served go
// into the loop-wide staging buffer, so all replies to one read leave in one
// write after the handler returns; replies that cannot go there (the
// connection already has pending output, the staging buffer is full, or the
// target is another connection) go into that connection's output ring, and
// other connections are queued for a flush at the end of the iteration.
// `send` frames a message as the server's format does (its MessageEncoder);
// `write` adds no framing (formats whose handlers frame their own replies).
//
// What bounds a connection's output. Replies to its own requests (sent while
// it is served) are not capped: a single reply may be as large as the data it
// returns (as redis-server's normal clients), and a peer that does not read
// cannot make more of them, since reading stops above the high watermark (at
// most one request's reply beyond it) and the write timeout ends a stall.
// Output it did not ask for (pushed by other connections' handlers, other
// threads, ticks or its own connectionOpened) is capped by
// `maxPendingOutputBytes`: a subscriber that stops reading is cut off there
// (Redis's pubsub output-buffer limit) instead of growing without bound.
//
// Invariant: staged bytes belong to `servedSlot`, whose output ring is empty
// while anything is staged (so staged bytes never overtake pending ones).

/// Every byte queued for a loop's connections, and the requests that end their output.
@usableFromInline
final class ConnectionOutputs {
    @inlinable static var noSlot: UInt32 { UInt32.max }
    /// No connection's token (slot numbers this high are never clients).
    @inlinable static var closedStaging: UInt64 { UInt64.max }

    /// Whether staging takes replies to the served connection.
    @inlinable var stagingOpen: Bool { stagingToken != ConnectionOutputs.closedStaging }

    /// The owning loop's index (part of every ConnectionID).
    @usableFromInline let loopIndex: UInt32
    /// Every loop's mailbox, for sends to connections on other loops.
    @usableFromInline let mailboxes: Mailboxes
    /// Connections whose requests the handler restricted
    /// (`Connection.restrictRequests`): slot to generation (an entry of a
    /// slot's earlier connection does not count; it is replaced or removed
    /// when the slot's new connection is restricted or lifted).
    @usableFromInline @exclusivity(unchecked) var restrictedSlots: [UInt32: UInt32] = [:] {
        didSet {
            anyRestricted = !restrictedSlots.isEmpty
            // The loop looks again at the served connection's restriction
            // before decoding its next request (one that authenticated may
            // send more in the same read).
            if servedSlot != ConnectionOutputs.noSlot { servedNeedsAttention = true }
        }
    }
    /// Whether any connection is restricted: what the loop reads per read
    /// (a Bool, not the dictionary's emptiness: 110.8 -> 105.7 instructions
    /// a message on the handler path, measured).
    @usableFromInline @exclusivity(unchecked) var anyRestricted = false
    // Strong lets: reached through a guaranteed `self` (Connection passes the
    // outputs with _withUnsafeGuaranteedRef), they cost no retain per message.
    @usableFromInline let slab: ClientSlab
    @usableFromInline let pool: BufferPool
    /// How `send` frames a message: the format's encoder, and what it told
    /// when the loop started (its limit, whether it writes a header, its
    /// trailer), so a send asks it nothing but the header.
    @usableFromInline let encoder: any MessageEncoder
    @usableFromInline let maxPayloadBytes: Int
    @usableFromInline let maxHeaderBytes: Int
    @usableFromInline let trailer: ReplyTrailer
    /// The framing is Keel's default 4-byte little-endian length (the hot
    /// case gets a path of its own, with no call to the encoder).
    @usableFromInline let framingIsU32LE: Bool
    /// Pending output beyond this closes a connection when more is pushed to
    /// it (see the file header).
    @usableFromInline let maxPendingOutputBytes: Int

    @usableFromInline let staging: UnsafeMutableRawPointer
    @usableFromInline let stagingCapacity: Int
    /// Bytes staged for `servedSlot`.
    @usableFromInline @exclusivity(unchecked) var stagedBytes = 0
    /// The connection whose input is being handled, or noSlot.
    @usableFromInline @exclusivity(unchecked) var servedSlot = ConnectionOutputs.noSlot
    /// The served connection's token (slot and generation) while its replies
    /// may go into staging (its output ring is empty and it is not being
    /// aborted); otherwise `closedStaging`. One compare admits a reply to
    /// the fast path, without the slab lookups of the general checks.
    @usableFromInline @exclusivity(unchecked) var stagingToken = ConnectionOutputs.closedStaging
    /// The served connection was closed or aborted by its handler: no more
    /// of its input is delivered.
    @usableFromInline @exclusivity(unchecked) var servedInputStopped = false
    /// Something the loop must look at after the request just delivered:
    /// input stopped, or a restriction changed. One flag read per request
    /// on the fast path, whatever the reasons.
    @usableFromInline @exclusivity(unchecked) var servedNeedsAttention = false
    /// Connections (slot, generation) that got output outside their own read.
    @usableFromInline @exclusivity(unchecked) var flushQueue: [EventToken] = []
    /// Messages queued by handlers (folded into the loop's statistics).
    @usableFromInline @exclusivity(unchecked) var messagesOut = 0
    /// Each slot's PROXY header, when the PROXY protocol is on (otherwise empty).
    @exclusivity(unchecked) private var proxyHeaders: [ProxyHeader?]
    /// The loop's TLS sessions (nil on a plaintext server).
    let tls: TLSSessions?

    @usableFromInline
    init(
        loopIndex: UInt32, capacity: Int, pool: BufferPool, encoder: any MessageEncoder,
        stagingCapacity: Int, maxPendingOutputBytes: Int, mailboxes: Mailboxes, proxyProtocol: ProxyProtocol = .off,
        tls: TLSSessions? = nil
    ) {
        self.tls = tls
        self.loopIndex = loopIndex
        self.mailboxes = mailboxes
        self.slab = ClientSlab(capacity: capacity)
        self.pool = pool
        self.encoder = encoder
        maxPayloadBytes = encoder.maxPayloadBytes
        maxHeaderBytes = encoder.maxHeaderBytes
        precondition(maxHeaderBytes >= 0 && maxHeaderBytes <= 32, "a reply header takes at most 32 bytes")
        trailer = encoder.trailer
        framingIsU32LE = (encoder as? LengthPrefixEncoder)?.frame == .u32le
        precondition(stagingCapacity < Int(UInt32.max), "staging must stay below 4 GiB")
        self.stagingCapacity = stagingCapacity
        self.maxPendingOutputBytes = maxPendingOutputBytes
        // Eight bytes of slack: a reply's trailer is stored as one word.
        staging = .allocate(byteCount: stagingCapacity + 8, alignment: 16)
        flushQueue.reserveCapacity(capacity)
        proxyHeaders = proxyProtocol == .off ? [] : Array(repeating: nil, count: capacity)
    }

    deinit {
        staging.deallocate()
    }

    // MARK: serving one connection's input

    /// Starts a read's worth of handler calls for `slot`.
    @inlinable @inline(__always)
    func beginServing(_ slot: UInt32, generation: UInt32) {
        assert(servedSlot == ConnectionOutputs.noSlot && stagedBytes == 0)
        servedSlot = slot
        let phase = slab[slot].lifecycle.phase
        let open = slab[slot].output.isEmpty && phase != .aborting
        stagingToken = open ? EventToken(slot: slot, generation: generation).rawValue : ConnectionOutputs.closedStaging
        servedInputStopped = phase.stopsInput
        servedNeedsAttention = servedInputStopped
    }

    /// Ends serving: returns the replies staged for the served connection
    /// (possibly none), to be sent at once. Staging closes; the bytes stay
    /// valid until the next beginServing.
    @inlinable @inline(__always)
    func endServing() -> UnsafeRawBufferPointer {
        let staged = UnsafeRawBufferPointer(start: staging, count: stagedBytes)
        stagedBytes = 0
        servedSlot = ConnectionOutputs.noSlot
        stagingToken = ConnectionOutputs.closedStaging
        return staged
    }

    /// Keeps what a send did not take, in order, in `slot`'s output ring
    /// (which is empty: the send took the connection's first bytes). False
    /// when the ring cannot grow (the caller aborts the connection).
    @usableFromInline
    func keepUnsent(_ rest: UnsafeRawBufferPointer, for slot: UInt32) -> Bool {
        assert(slab[slot].output.isEmpty, "unsent bytes would overtake pending output")
        return slab[slot].output.append(rest, pool: pool)
    }

    /// The echo fast path sent `count` requests back as their own replies.
    @inlinable @inline(__always)
    func countEchoed(_ count: Int) {
        messagesOut &+= count
    }

    // MARK: sending

    /// Queues one message for the connection (slot, generation), framed as
    /// the format frames replies. A reply to the connection being served
    /// goes straight into staging (the common case, kept small enough to be
    /// inlined into the handler); anything else takes `sendFramed`.
    @inlinable @inline(__always)
    func send(_ payload: UnsafeRawBufferPointer, token: EventToken) -> SendResult {
        if token.rawValue == stagingToken {
            if framingIsU32LE {
                // The staging buffer is far below 4 GiB (init), so whatever
                // fits in it fits the 32-bit length field.
                let total = 4 &+ payload.count
                if stagedBytes &+ total <= stagingCapacity {
                    (staging + stagedBytes).storeBytes(
                        of: UInt32(truncatingIfNeeded: payload.count).littleEndian, as: UInt32.self)
                    stage(payload, at: stagedBytes &+ 4)
                    stagedBytes &+= total
                    messagesOut &+= 1
                    return .queued
                }
            } else if maxHeaderBytes == 0 {
                // No header (lines): the payload and the trailer, inline.
                let total = payload.count &+ trailer.count
                if stagedBytes &+ total <= stagingCapacity {
                    stage(payload, at: stagedBytes)
                    // All eight bytes in one store (staging has eight bytes
                    // of slack past its capacity); only the trailer's count.
                    (staging + (stagedBytes &+ payload.count)).storeBytes(
                        of: trailer.bytes.littleEndian, as: UInt64.self)
                    stagedBytes &+= total
                    messagesOut &+= 1
                    return .queued
                }
            } else if let queued = sendStagedWithHeader(payload) {
                return queued
            }
        }
        return sendFramed(payload, slot: token.slot, generation: token.generation)
    }

    /// `send` into staging for framings with a header other than u32le's
    /// (the encoder writes it); nil when it does not fit.
    @usableFromInline
    func sendStagedWithHeader(_ payload: UnsafeRawBufferPointer) -> SendResult? {
        guard payload.count <= maxPayloadBytes,
            maxHeaderBytes &+ payload.count &+ trailer.count <= stagingCapacity &- stagedBytes
        else { return nil }
        var offset = stagedBytes &+ encoder.writeHeader(payloadLength: payload.count, to: staging + stagedBytes)
        stage(payload, at: offset)
        offset &+= payload.count
        (staging + offset).storeBytes(of: trailer.bytes.littleEndian, as: UInt64.self)
        stagedBytes = offset &+ trailer.count
        messagesOut &+= 1
        return .queued
    }

    /// `send`, for every case: checks the ID, frames, stages or queues.
    @usableFromInline
    func sendFramed(_ payload: UnsafeRawBufferPointer, slot: UInt32, generation: UInt32) -> SendResult {
        guard slab.isCurrent(slot: slot, generation: generation), slab[slot].lifecycle.phase != .aborting
        else { return .connectionGone }
        guard payload.count <= maxPayloadBytes else { return .tooLarge }
        var header: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: the most an encoder writes
        return withUnsafeMutableBytes(of: &header) { raw in
            let headerCount =
                maxHeaderBytes > 0 ? encoder.writeHeader(payloadLength: payload.count, to: raw.baseAddress!) : 0
            let prefix = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(raw)[..<headerCount])
            return trailer.withBytes { suffix in
                enqueue(prefix, payload, suffix: suffix, slot: slot, count: true)
            }
        }
    }

    /// Queues `bytes` for the connection as they are (no framing, not
    /// counted as a message); staged at once in the common case.
    @inlinable @inline(__always)
    func write(_ bytes: UnsafeRawBufferPointer, token: EventToken) -> SendResult {
        if token.rawValue == stagingToken && stagedBytes &+ bytes.count <= stagingCapacity {
            stage(bytes, at: stagedBytes)
            stagedBytes &+= bytes.count
            return .queued
        }
        return writeQueued(bytes, slot: token.slot, generation: token.generation)
    }

    /// Bytes queued for the connection and not yet written; nil when
    /// `token` is stale.
    func pendingOutputBytes(token: EventToken) -> Int? {
        guard slab.isCurrent(slot: token.slot, generation: token.generation) else { return nil }
        return slab[token.slot].output.count + (token.slot == servedSlot ? stagedBytes : 0)
    }

    /// Queues `bytes` for the connection as the reply to a request of its
    /// own answered after its callback (Connections.writeReply): not held
    /// to the pending-output cap, as a reply in its callback is not.
    func writeReply(_ bytes: UnsafeRawBufferPointer, token: EventToken) -> SendResult {
        guard slab.isCurrent(slot: token.slot, generation: token.generation),
            !slab[token.slot].lifecycle.phase.closeAsked, slab[token.slot].lifecycle.phase != .aborting
        else { return .connectionGone }
        if token.slot == servedSlot { return write(bytes, token: token) }
        return enqueueInRing(nil, bytes, suffix: nil, slot: token.slot, count: false, total: bytes.count, capped: false)
    }

    @usableFromInline
    func writeQueued(_ bytes: UnsafeRawBufferPointer, slot: UInt32, generation: UInt32) -> SendResult {
        guard slab.isCurrent(slot: slot, generation: generation), slab[slot].lifecycle.phase != .aborting
        else { return .connectionGone }
        return enqueue(nil, bytes, suffix: nil, slot: slot, count: false)
    }

    /// Whether `bytes` more can go into the staging buffer for `slot`.
    @inlinable @inline(__always)
    func canStage(_ bytes: Int, for slot: UInt32) -> Bool {
        slot == servedSlot && stagingOpen && stagedBytes + bytes <= stagingCapacity
    }

    @inlinable @inline(__always)
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
        slot: UInt32, count: Bool, total: Int, capped: Bool = true
    ) -> SendResult {
        let staged = slot == servedSlot ? stagedBytes : 0
        // Only output a connection did not ask for is capped (see the file
        // header): replies to its own requests are bounded by reading, which
        // pauses at the high watermark, so one reply of any size is served.
        guard !capped || slot == servedSlot || slab[slot].output.count + total <= maxPendingOutputBytes else {
            abort(slot: slot, reason: .outputOverflow)
            return .overflow
        }
        // Move what is staged ahead of the new bytes, keeping order; from
        // now on this read's replies to it queue behind them.
        var queued = slab[slot].output.append(UnsafeRawBufferPointer(start: staging, count: staged), pool: pool)
        if slot == servedSlot {
            stagedBytes = 0
            stagingToken = ConnectionOutputs.closedStaging
        }
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

    // MARK: what a connection may ask about itself

    /// The PROXY header `slot`'s connection began with; nil when the
    /// protocol is off or the header has not been read.
    func proxyHeader(of slot: UInt32) -> ProxyHeader? {
        proxyHeaders.isEmpty ? nil : proxyHeaders[Int(slot)]
    }

    /// Keeps the header `slot`'s connection began with, until it closes.
    func remember(_ header: ProxyHeader, for slot: UInt32) {
        proxyHeaders[Int(slot)] = header
    }

    /// What `slot`'s TLS session negotiated; nil for a plaintext connection.
    func tlsDetails(of slot: UInt32) -> TLSConnectionDetails? {
        tls?.details(of: slot)
    }

    /// `slot`'s connection has closed.
    func forgetProxyHeader(of slot: UInt32) {
        if !proxyHeaders.isEmpty { proxyHeaders[Int(slot)] = nil }
    }

    // MARK: closing

    /// No more of the served connection's input is delivered (the loop
    /// looks after the request in hand).
    private func stopServedInput() {
        servedInputStopped = true
        servedNeedsAttention = true
    }

    /// Asks for a graceful close: stop reading, write what is pending, close.
    @usableFromInline
    func requestClose(slot: UInt32, generation: UInt32, reason: CloseReason) {
        guard slab.isCurrent(slot: slot, generation: generation) else { return }
        slab[slot].lifecycle.askClose(reason)
        if slot == servedSlot { stopServedInput() } else { queueFlush(slot) }
    }

    /// Marks `slot` to close at once, pending output dropped, if
    /// `generation` is still its connection's.
    @usableFromInline
    func abort(slot: UInt32, generation: UInt32, reason: CloseReason) {
        guard slab.isCurrent(slot: slot, generation: generation) else { return }
        abort(slot: slot, reason: reason)
    }

    /// Marks `slot` to close at once, pending output dropped.
    @usableFromInline
    func abort(slot: UInt32, reason: CloseReason) {
        slab[slot].lifecycle.abort(reason)
        if slot == servedSlot {
            stopServedInput()
            stagingToken = ConnectionOutputs.closedStaging
        } else {
            queueFlush(slot)
        }
    }

    /// Checks the staging invariant (see the file header).
    @usableFromInline
    func checkInvariants() {
        precondition(stagedBytes >= 0 && stagedBytes <= stagingCapacity, "staged \(stagedBytes) bytes")
        if stagedBytes > 0 {
            precondition(servedSlot != ConnectionOutputs.noSlot, "staged bytes without a served slot")
            precondition(slab[servedSlot].output.isEmpty, "staged bytes behind pending output")
        }
        precondition(!stagingOpen || servedSlot != ConnectionOutputs.noSlot, "staging open with nothing served")
        slab.checkInvariants()
        pool.checkInvariants()
    }
}

extension ConnectionOutputs {
    /// Whether connection `slot` of `generation` is restricted.
    @inlinable
    func isRestricted(_ slot: UInt32, generation: UInt32) -> Bool {
        restrictedSlots[slot] == generation
    }
}
