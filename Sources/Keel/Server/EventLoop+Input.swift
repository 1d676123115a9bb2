// Reading and framing: one read per readiness into the loop's read buffer;
// complete frames go to the handler straight from there; an incomplete tail
// goes into the connection's input ring, which then never holds more than
// one frame (it is completed from the next read before anything else).

extension EventLoop {
    /// Handles read readiness: one read(2), then every complete frame.
    /// `peerFinishing` (EPOLLRDHUP) means EOF follows the data in the socket.
    @inline(__always)
    func handleReadable(_ slot: UInt32, peerFinishing: Bool) {
        // A stale readiness from before reading was paused in this batch.
        guard slab[slot].registered.contains(.read) else { return }
        if slab[slot].flags.contains(.lingering) {
            discardInput(slot)
            return
        }
        let space = readBuffer.space
        switch backend.read(slab[slot].fd, into: space) {
        case .bytes(let count):
            stats.bytesIn += count
            let outcome = process(readBuffer.bytes(count), from: slot)
            flushServed(slot)
            guard slab[slot].isLive else { return }
            if let reason = outcome {
                close(slot, reason: reason)
            } else if peerFinishing && count < space.count {
                // RDHUP and the read did not fill the buffer: the data is all
                // in, and the next read would return EOF. Skip that wakeup.
                peerFinished(slot)
            } else {
                settle(slot)
            }
        case .endOfFile:
            peerFinished(slot)
        case .wouldBlock:
            return
        case .failed:
            close(slot, reason: .peerReset)
        }
    }

    /// Delivers every complete frame in `bytes` and parks an incomplete tail
    /// in the input ring. Returns a reason when the connection must close.
    @inline(__always)
    func process(_ bytes: UnsafeRawBufferPointer, from slot: UInt32) -> CloseReason? {
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
        }
    }

    /// A lingering connection's input is read only to be dropped, until EOF.
    private func discardInput(_ slot: UInt32) {
        switch backend.read(slab[slot].fd, into: readBuffer.space) {
        case .bytes(let count):
            stats.bytesIn += count
        case .wouldBlock:
            break
        case .endOfFile, .failed:
            close(slot, reason: finishingReason(slot))
        }
    }

    @inline(__always)
    func deliver(_ payload: UnsafeRawBufferPointer, slot: UInt32, generation: UInt32) {
        stats.messagesIn += 1
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

    private func oversize(_ slot: UInt32, announced: UInt64) -> CloseReason {
        oversizeLog.record(nowMs: nowMs) { suppressed in
            logger.warning(
                "closing connection: frame announces more than the maximum message size",
                metadata: [
                    "slot": "\(slot)", "announced": "\(announced)", "max": "\(decoder.maxMessageBytes)",
                    "suppressed": "\(suppressed)",
                ])
        }
        return .oversizeMessage
    }
}
