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

    /// Delivers every complete frame in `bytes` (after completing the frame
    /// pending in the input ring), and parks an incomplete tail in the ring.
    /// Returns a reason when the connection must close (an oversize frame).
    @inline(__always)
    func process(_ bytes: UnsafeRawBufferPointer, from slot: UInt32) -> CloseReason? {
        table.beginServing(slot)
        let generation = slab[slot].generation
        var offset = 0
        var delivered = 0
        if !slab[slot].input.isEmpty {
            switch completePendingFrame(slot, generation: generation, with: bytes) {
            case .consumed(let used, let frames):
                offset = used
                delivered = frames
            case .oversize(let announced):
                return oversize(slot, announced: announced)
            }
        }
        while offset < bytes.count && !slab[slot].flags.contains(.stopsInput) {
            switch decoder.decode(bytes, at: offset) {
            case .frame(let payload, let next):
                deliver(UnsafeRawBufferPointer(rebasing: bytes[payload]), slot: slot, generation: generation)
                delivered += 1
                offset = next
            case .incomplete:
                slab[slot].input.append(UnsafeRawBufferPointer(rebasing: bytes[offset...]), pool: pool)
                offset = bytes.count
            case .oversize(let announced):
                return oversize(slot, announced: announced)
            }
        }
        if delivered > 0 { noteMessageArrived(slot) }
        return nil
    }

    enum PendingFrameOutcome {
        /// `used` bytes of the read went into the pending frame; `frames`
        /// (0 or 1) frames were delivered.
        case consumed(used: Int, frames: Int)
        case oversize(announced: UInt64)
    }

    /// Feeds the frame waiting in the input ring from `bytes`: first the rest
    /// of its header, then (once the length is known and checked) its body.
    private func completePendingFrame(
        _ slot: UInt32, generation: UInt32, with bytes: UnsafeRawBufferPointer
    ) -> PendingFrameOutcome {
        let header = decoder.format.headerBytes
        var used = 0
        let have = slab[slot].input.count
        if have < header {
            used = min(header - have, bytes.count)
            slab[slot].input.append(UnsafeRawBufferPointer(rebasing: bytes[..<used]), pool: pool)
            if slab[slot].input.count < header { return .consumed(used: used, frames: 0) }
        }
        var headerValue: UInt64 = 0
        let announced = withUnsafeMutableBytes(of: &headerValue) { raw in
            slab[slot].input.copyPrefix(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<header]))
            return decoder.format.decodeLength(UnsafeRawPointer(raw.baseAddress!))
        }
        guard let total = decoder.frameBytes(announcing: announced) else {
            return .oversize(announced: announced)
        }
        let take = min(total - slab[slot].input.count, bytes.count - used)
        slab[slot].input.reserve(total, pool: pool)
        slab[slot].input.append(UnsafeRawBufferPointer(rebasing: bytes[used..<(used + take)]), pool: pool)
        used += take
        guard slab[slot].input.count == total else { return .consumed(used: used, frames: 0) }
        // Move the ring out of the slot while the handler runs, so the
        // handler's sends (which touch the slot) never overlap this access.
        var frame = RingBuffer()
        swap(&frame, &slab[slot].input)
        frame.withContiguousBytes(pool: pool) { whole in
            deliver(UnsafeRawBufferPointer(rebasing: whole[header...]), slot: slot, generation: generation)
        }
        frame.removeAll(pool: pool)
        return .consumed(used: used, frames: 1)
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
