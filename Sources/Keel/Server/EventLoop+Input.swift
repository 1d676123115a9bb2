// Reading and framing: reads into the loop's read buffer (one per readiness
// when level-triggered, until EAGAIN when edge-triggered);
// complete frames go to the handler straight from there; an incomplete tail
// goes into the connection's input ring, which then never holds more than
// one frame (it is completed from the next read before anything else).

extension EventLoop {
    /// What one read left behind.
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
    @inline(__always)
    func handleReadable(_ slot: UInt32, peerFinishing: Bool) {
        var reads = 0
        // A stale readiness from before reading was paused in this batch.
        while slab[slot].isLive && slab[slot].registered.contains(.read) {
            let step =
                slab[slot].flags.contains(.lingering)
                ? discardInput(slot) : readOnce(slot)
            reads &+= 1
            guard edgeTriggered || peerFinishing, case .more = step else { return }
            if reads == configuration.maxReadsPerWake {
                revisit(slot, .readQueued)
                return
            }
        }
    }

    /// One read(2) into the loop's buffer, then every complete frame.
    @inline(__always)
    private func readOnce(_ slot: UInt32) -> ReadStep {
        let space = readBuffer.space
        switch backend.read(slab[slot].fd, into: space) {
        case .bytes(let count):
            stats.bytesIn &+= count
            let bytes = readBuffer.bytes(count)
            var outcome: CloseReason? = nil
            if !(echoesInPlace && echoInPlace(bytes, from: slot)) {
                outcome = process(bytes, from: slot)
                flushServed(slot)
            }
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
            close(slot, reason: .peerReset)
        }
        return .done
    }

    /// Puts `slot` on the list of connections to serve again next iteration
    /// (edge-triggered mode: it used its read or write budget with work left,
    /// and no new edge would announce it). `kind` is `.readQueued` or
    /// `.writeQueued`.
    func revisit(_ slot: UInt32, _ kind: SlotFlags) {
        let queued = !slab[slot].flags.isDisjoint(with: [.readQueued, .writeQueued])
        guard !slab[slot].flags.contains(kind) else { return }
        if kind == .readQueued { stats.readsRequeued += 1 }
        slab[slot].flags.insert(kind)
        if !queued { revisits.append(EventToken(slot: slot, generation: slab[slot].generation)) }
    }

    /// Delivers every complete frame in `bytes` and parks an incomplete tail
    /// in the input ring. Returns a reason when the connection must close.
    @inline(__always)
    func process(_ bytes: UnsafeRawBufferPointer, from slot: UInt32) -> CloseReason? {
        if slab[slot].flags.contains(.awaitingProxyHeader) { return processProxyHeader(bytes, from: slot) }
        table.beginServing(slot)
        let generation = slab[slot].generation
        // The ring leaves the slot while the handler runs, so the handler's
        // sends (which touch the slot) never overlap an access to it.
        var pending = RingBuffer()
        swap(&pending, &slab[slot].input)
        let outcome = assembler.feed(bytes, pending: &pending, pool: pool) { payload in
            deliver(payload, slot: slot, generation: generation)
            return slab[slot].flags.isDisjoint(with: .stopsInput)
        }
        swap(&pending, &slab[slot].input)
        switch outcome {
        case .consumed(let frames), .stopped(let frames):
            if frames > 0 { noteMessageArrived(slot) }
            return nil
        case .oversize(let announced, let frames):
            if frames > 0 { noteMessageArrived(slot) }
            return oversize(slot, announced: announced)
        case .outOfMemory(let frames):
            if frames > 0 { noteMessageArrived(slot) }
            return outOfMemory(slot)
        }
    }

    /// The echo fast path, for handlers that echo every message: the
    /// complete frames of a read go back in one send straight from the read
    /// buffer (no handler call, no copy), and an incomplete tail waits in the
    /// input ring. It takes only the common case: nothing buffered either
    /// way, nothing stopping input, every announced length within the limit.
    /// Returns false, having done nothing, when the general path must run.
    @inline(__always)
    private func echoInPlace(_ bytes: UnsafeRawBufferPointer, from slot: UInt32) -> Bool {
        guard slab[slot].input.isEmpty && slab[slot].output.isEmpty,
            slab[slot].flags.isDisjoint(with: [.closeRequested, .abortRequested, .awaitingProxyHeader])
        else { return false }
        let scan = decoder.scanCompleteFrames(bytes)
        // The general path delivers the frames before an oversize one, then closes.
        guard !scan.oversize else { return false }
        let end = scan.end
        let frames = scan.frames
        if frames > 0 {
            stats.messagesIn &+= frames
            table.messagesOut &+= frames
            noteMessageArrived(slot)
            sendServed(slot, UnsafeRawBufferPointer(rebasing: bytes[..<end]))
            guard slab[slot].isLive else { return true }
        }
        if end < bytes.count && !slab[slot].input.append(UnsafeRawBufferPointer(rebasing: bytes[end...]), pool: pool) {
            close(slot, reason: outOfMemory(slot))
        }
        return true
    }

    /// A lingering connection's input is read only to be dropped, until EOF.
    private func discardInput(_ slot: UInt32) -> ReadStep {
        switch backend.read(slab[slot].fd, into: readBuffer.space) {
        case .bytes(let count):
            stats.bytesIn &+= count
            return .more
        case .wouldBlock:
            return .done
        case .endOfFile, .failed:
            close(slot, reason: finishingReason(slot))
            return .done
        }
    }

    @inline(__always)
    func deliver(_ payload: UnsafeRawBufferPointer, slot: UInt32, generation: UInt32) {
        stats.messagesIn &+= 1
        handler.messageReceived(payload, on: Connection(table: table, slot: slot, generation: generation))
    }

    /// A complete message counts as activity: it restarts the idle timeout
    /// (and ends the first-message timeout). Once per read, not per message.
    @inline(__always)
    func noteMessageArrived(_ slot: UInt32) {
        if let firstMessageTimeouts, !slab[slot].flags.contains(.greeted) {
            slab[slot].flags.insert(.greeted)
            firstMessageTimeouts.remove(slot)
        }
        idleTimeouts.touch(slot, nowMs: nowMs)
    }

    /// A connection's buffer could not grow: it alone is closed (logged at
    /// most once a second).
    func outOfMemory(_ slot: UInt32) -> CloseReason {
        memoryLog.record(nowMs: nowMs) { suppressed in
            var metadata = connectionMetadata(slot, fd: slab[slot].fd)
            metadata["suppressed"] = "\(suppressed)"
            logger.warning("closing connection: no memory for its buffers", metadata: metadata)
        }
        return .outOfMemory
    }

    private func oversize(_ slot: UInt32, announced: UInt64) -> CloseReason {
        oversizeLog.record(nowMs: nowMs) { suppressed in
            var metadata = connectionMetadata(slot, fd: slab[slot].fd)
            metadata["announced"] = "\(announced)"
            metadata["max"] = "\(decoder.maxMessageBytes)"
            metadata["suppressed"] = "\(suppressed)"
            logger.warning("closing connection: frame announces more than the maximum message size", metadata: metadata)
        }
        return .oversizeMessage
    }
}
