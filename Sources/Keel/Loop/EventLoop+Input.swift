// Reading and decoding: reads go into the loop's read buffer (one per
// readiness when level-triggered, until EAGAIN when edge-triggered); the
// decoder finds whole requests there and each goes to the handler straight
// from the read buffer; an incomplete tail is copied into the connection's
// input ring.
//
// A request begun in an earlier read is completed first (MessageAssembler
// has the rules). Invariant: the input ring holds the start of at most one
// request between reads (never a whole one), and never more than
// `maxRequestBytes`.

extension EventLoop {
    /// What one read left behind.
    @usableFromInline
    enum ReadStep {
        /// The read returned bytes: more may be waiting.
        case more
        /// The socket had nothing (EAGAIN), or the connection stopped
        /// reading or closed.
        case done
    }

    /// Handles read readiness. Level-triggered: one read(2) (the kernel
    /// reports what is left on the next wait). Edge-triggered: reads until
    /// EAGAIN, at most `maxReadsPerWake` times; a connection with data left is
    /// revisited next iteration, as no new edge would announce it. Only EAGAIN
    /// proves the socket drained: a short read is not enough, since a read
    /// stops at TCP's urgent mark with data behind it (tcp(7), "Sockets API").
    /// `peerFinishing` (RDHUP) means EOF follows the data in the socket: then
    /// both modes read on until EOF, so the close is handled in this wakeup.
    @inlinable @inline(__always)
    func handleReadable(_ slot: UInt32, peerFinishing: Bool) {
        var reads = 0
        // A stale readiness from before reading was paused in this batch.
        while slab[slot].isLive && slab[slot].registered.contains(.read) {
            let step = slab[slot].lifecycle.phase.dropsInput ? discardInput(slot) : readOnce(slot)
            reads &+= 1
            guard edgeTriggered || peerFinishing, case .more = step else { return }
            if reads == configuration.maxReadsPerWake {
                revisit(slot, .readQueued)
                return
            }
        }
    }

    /// One read(2) into the loop's buffer, then every complete request.
    @inlinable @inline(__always)
    func readOnce(_ slot: UInt32) -> ReadStep {
        let space = readBuffer.space
        switch receive(slot, into: space) {
        case .bytes(let count):
            stats.bytesIn &+= count
            let bytes = readBuffer.bytes(count)
            let outcome = echoesInPlace && echoInPlace(bytes, from: slot) ? nil : serve(bytes, from: slot)
            guard slab[slot].isLive else { return .done }
            if let reason = outcome {
                close(slot, reason: reason)
                return .done
            }
            settleAfterRead(slot)
            return .more
        case .endOfFile:
            peerFinished(slot)
        case .wouldBlock:
            break
        case .failed:
            if Transport.encrypts && isHandshaking(slot) {
                handshakeFailed(slot, .peerClosed)
            } else {
                close(slot, reason: .peerReset)
            }
        }
        return .done
    }

    /// Puts `slot` on the list of connections to serve again next iteration
    /// (edge-triggered mode: it used its read or write budget with work left,
    /// and no new edge would announce it). `kind` is `.readQueued` or
    /// `.writeQueued`.
    @usableFromInline
    func revisit(_ slot: UInt32, _ kind: SlotFlags) {
        let queued = !slab[slot].flags.isDisjoint(with: .revisitQueued)
        guard !slab[slot].flags.contains(kind) else { return }
        if kind == .readQueued { stats.readsRequeued += 1 }
        slab[slot].flags.insert(kind)
        if !queued { revisits.append(EventToken(slot: slot, generation: slab[slot].generation)) }
    }

    /// Serves what one read brought, top to bottom: begin serving the
    /// connection (its replies are staged), feed the bytes to the decoder and
    /// each whole request to the handler (an incomplete tail waits in the
    /// input ring: MessageAssembler), end serving, and send every reply in
    /// one send. Returns a reason when the connection must close at once.
    @inlinable @inline(__always)
    func serve(_ bytes: UnsafeRawBufferPointer, from slot: UInt32) -> CloseReason? {
        if slab[slot].lifecycle.phase == .awaitingProxyHeader { return serveProxyHeader(bytes, from: slot) }
        let generation = slab[slot].generation
        let pendingBefore = !slab[slot].output.isEmpty
        outputs.beginServing(slot, generation: generation)
        let outcome = feed(bytes, to: slot, generation: generation)
        let staged = outputs.endServing()
        if !staged.isEmpty {
            sendServed(slot, staged)
        } else if !pendingBefore && !slab[slot].output.isEmpty {
            // The replies outgrew staging and went to the ring: write them now.
            writeFromRing(slot)
        }
        return outcome
    }

    /// Delivers every whole request in `bytes` to the handler, after any
    /// waiting in the input ring, and parks an incomplete tail there.
    @inlinable @inline(__always)
    func feed(_ bytes: UnsafeRawBufferPointer, to slot: UInt32, generation: UInt32) -> CloseReason? {
        // The ring leaves the slot while the handler runs, so the handler's
        // sends (which touch the slot) never overlap an access to it.
        var pending = RingBuffer()
        swap(&pending, &slab[slot].input)
        slab[slot].flags.remove(.requestsWaiting)
        let highWatermark = configuration.outputHighWatermarkBytes
        // Compiled out for formats that cannot restrict; nothing to look up
        // until a handler restricts a connection.
        if Decoder.canRestrictRequests && (outputs.anyRestricted || decoder.restrictsRequests) {
            decoder.restrictsRequests = outputs.isRestricted(slot, generation: generation)
        }
        let outcome = MessageAssembler.feed(bytes, decoder: &decoder, pending: &pending, pool: pool) { request in
            deliver(request, slot: slot, generation: generation)
            if !Decoder.canRestrictRequests {
                if outputs.servedInputStopped { return .stop }
            } else if outputs.servedNeedsAttention {
                if outputs.servedInputStopped { return .stop }
                // A restriction changed (a client authenticated): the rest
                // of the read is decoded under the new one (after a pause,
                // the next feed looks again).
                outputs.servedNeedsAttention = false
                if outputs.stagingOpen || slab[slot].output.count <= highWatermark {
                    return outputs.isRestricted(slot, generation: generation) ? .restrict : .unrestrict
                }
            }
            // Replies over the high watermark: deliver no more of what was
            // read until they drain (an amplifying request, such as a large
            // LRANGE pipelined thousands of times in one read, would
            // otherwise pile up its replies far beyond it). While staging is
            // open the ring is empty and staging is small: nothing to check.
            if !outputs.stagingOpen && slab[slot].output.count > highWatermark { return .pause }
            return .next
        }
        swap(&pending, &slab[slot].input)
        let delivered = outcome.requests
        if delivered > 0 {
            stats.messagesIn &+= delivered
            noteMessageArrived(slot)
        }
        switch outcome {
        case .paused:
            slab[slot].flags.insert(.requestsWaiting)
            return nil
        case .consumed, .stopped: return nil
        case .violation(let violation, _):
            violated(slot, violation)
            return nil
        case .outOfMemory: return outOfMemory(slot)
        }
    }

    /// The echo fast path, for handlers that echo every message in a format
    /// whose replies are its requests' own bytes: the whole requests of a
    /// read go back in one send straight from the read buffer (no handler
    /// call, no copy), and an incomplete tail waits in the input ring. It
    /// takes only the common case: nothing buffered either way, nothing
    /// stopping input, no violation in the read. Returns false, having done
    /// nothing, when the general path must run.
    @inlinable @inline(__always)
    func echoInPlace(_ bytes: UnsafeRawBufferPointer, from slot: UInt32) -> Bool {
        guard slab[slot].input.isEmpty && slab[slot].output.isEmpty, slab[slot].lifecycle.phase == .open else {
            return false
        }
        let scan = decoder.scanWholeRequests(bytes)
        // The general path delivers the requests before a violation, then closes.
        guard !scan.violationFollows else { return false }
        let end = scan.end
        let requests = scan.count
        if requests > 0 {
            stats.messagesIn &+= requests
            outputs.countEchoed(requests)
            noteMessageArrived(slot)
            sendServed(slot, UnsafeRawBufferPointer(rebasing: bytes[..<end]))
            guard slab[slot].isLive else { return true }
        }
        if end < bytes.count && !slab[slot].input.append(UnsafeRawBufferPointer(rebasing: bytes[end...]), pool: pool) {
            close(slot, reason: outOfMemory(slot))
        }
        return true
    }

    /// Delivers requests that waited in the input ring while the
    /// connection's output was over its high watermark (it has drained).
    @usableFromInline
    func deliverWaitingRequests(_ slot: UInt32) {
        guard slab[slot].flags.contains(.requestsWaiting) else { return }
        let outcome = serve(UnsafeRawBufferPointer(start: nil, count: 0), from: slot)
        guard slab[slot].isLive else { return }
        if let reason = outcome {
            close(slot, reason: reason)
            return
        }
        if slab[slot].lifecycle.phase.peerHasFinished && !slab[slot].flags.contains(.requestsWaiting) {
            // The peer has finished: what is left can never become a request.
            slab[slot].input.removeAll(pool: pool)
        }
        settle(slot)
    }

    /// A lingering (or aborted) connection's input is read only to be
    /// dropped, until EOF.
    @usableFromInline
    func discardInput(_ slot: UInt32) -> ReadStep {
        switch backend.read(slab[slot].fd, into: readBuffer.space) {
        case .bytes(let count):
            stats.bytesIn &+= count
            return .more
        case .wouldBlock:
            return .done
        case .endOfFile, .failed:
            close(slot, reason: slab[slot].lifecycle.closeReason)
            return .done
        }
    }

    /// Hands one request to the handler (`process` counts them, once per read).
    @inlinable @inline(__always)
    func deliver(_ request: Decoder.Request, slot: UInt32, generation: UInt32) {
        handler.messageReceived(
            request, on: Connection(outputs: outputs, token: EventToken(slot: slot, generation: generation)))
    }

    /// A complete message counts as activity: it restarts the idle timeout
    /// (and ends the first-message timeout). Once per read, not per message.
    @inlinable @inline(__always)
    func noteMessageArrived(_ slot: UInt32) {
        if let firstMessage = timeouts.firstMessage, !slab[slot].flags.contains(.greeted) {
            slab[slot].flags.insert(.greeted)
            firstMessage.remove(slot)
        }
        timeouts.idle.touch(slot, nowMs: nowMs)
    }

    /// The bytes broke the protocol: the format's error reply, if it has
    /// one, is queued and the connection closes gracefully once it is
    /// written (FIN, then linger): a close with the peer's bytes unread would
    /// make the kernel reset the connection and destroy the replies already
    /// sent. Logged at most once a second.
    @usableFromInline
    func violated(_ slot: UInt32, _ violation: ProtocolViolation) {
        let reason: CloseReason = violation.isOversize ? .oversizeMessage : .protocolError
        (violation.isOversize ? oversizeLog : protocolErrorLog).record(nowMs: nowMs) { suppressed in
            var metadata = connectionMetadata(slot, fd: slab[slot].fd)
            metadata["error"] = "\(violation)"
            if let announced = violation.announcedBytes { metadata["announced"] = "\(announced)" }
            metadata["max"] = "\(maxRequestBytes)"
            metadata["suppressed"] = "\(suppressed)"
            logger.warning("closing connection: it broke the wire protocol", metadata: metadata)
        }
        let token = EventToken(slot: slot, generation: slab[slot].generation)
        if let reply = decoder.errorReply(for: violation) {
            _ = reply.withUnsafeBytes { outputs.write($0, token: token) }
        }
        outputs.requestClose(slot: slot, generation: token.generation, reason: reason)
    }

    /// A connection's buffer could not grow: it alone is closed (logged at
    /// most once a second).
    @usableFromInline
    func outOfMemory(_ slot: UInt32) -> CloseReason {
        memoryLog.record(nowMs: nowMs) { suppressed in
            var metadata = connectionMetadata(slot, fd: slab[slot].fd)
            metadata["suppressed"] = "\(suppressed)"
            logger.warning("closing connection: no memory for its buffers", metadata: metadata)
        }
        return .outOfMemory
    }
}
