// Writing: replies leave at once (one send of the staged bytes per read);
// whatever the socket does not take waits in the connection's output ring
// (ConnectionOutputs owns every append to it),
// and write interest is registered only while the ring is non-empty. The
// registered interest is tracked per slot, so epoll_ctl runs only when the
// wanted interest really changes (never in steady-state echo).

extension EventLoop {
    /// Sends replies to the connection being served, which has nothing
    /// pending: one send, then what the socket did not take waits in the
    /// output ring. May close the connection.
    @inlinable @inline(__always)
    func sendServed(_ slot: UInt32, _ bytes: UnsafeRawBufferPointer) {
        assert(slab[slot].output.isEmpty, "replies would overtake pending output")
        let result = transmit(slot, bytes)
        var rest = UnsafeRawBufferPointer(start: nil, count: 0)
        switch result {
        case .bytes(let taken):
            rest = UnsafeRawBufferPointer(rebasing: bytes[taken...])
        case .wouldBlock:
            rest = bytes
        case .failed, .endOfFile:
            break
        }
        if !rest.isEmpty && !outputs.keepUnsent(rest, for: slot) {
            outputs.abort(slot: slot, reason: outOfMemory(slot))
        }
        finishSend(slot, result)
    }

    @inlinable @inline(__always)
    func finishSend(_ slot: UInt32, _ result: IOResult) {
        switch result {
        case .bytes(let n):
            stats.bytesOut &+= n
        case .failed:
            close(slot, reason: .peerReset)
        case .wouldBlock, .endOfFile:
            break
        }
    }

    /// Handles write readiness: drains as much of the output ring as the socket takes.
    @inlinable @inline(__always)
    func handleWritable(_ slot: UInt32) {
        if Transport.encrypts, let tls, tls[slot] != nil, tls.states[Int(slot)].wantsWrite {
            let generation = slab[slot].generation
            resumeSession(slot)
            guard slab.isCurrent(slot: slot, generation: generation) else { return }
            if slab[slot].output.isEmpty {
                settle(slot)
                return
            }
        }
        guard !slab[slot].output.isEmpty else { return }
        writeFromRing(slot)
        if slab[slot].isLive { settle(slot) }
    }

    /// Sends the ring's content (two segments when it wraps): once when
    /// level-triggered; when edge-triggered, until drained or EAGAIN (no new
    /// edge comes while the socket still has room), at most
    /// `maxWritesPerWake` times, after which the connection is revisited next
    /// iteration so that one fast reader cannot starve the others.
    @inlinable
    func writeFromRing(_ slot: UInt32) {
        var progressed = false
        defer {
            // Progress restarts the write-stall timer (settle removes it once drained).
            if progressed && slab[slot].isLive { timeouts.write.touch(slot, nowMs: nowMs) }
        }
        var writes = 0
        repeat {
            let result = slab[slot].output.withReadableSegments { first, second in
                transmit(slot, first, second)
            }
            writes &+= 1
            switch result {
            case .bytes(let n):
                stats.bytesOut &+= n
                slab[slot].output.consume(n, pool: pool)
                progressed = progressed || n > 0
            case .failed:
                close(slot, reason: .peerReset)
                return
            case .wouldBlock, .endOfFile:
                return
            }
        } while edgeTriggered && !slab[slot].output.isEmpty && writes < configuration.maxWritesPerWake
        if edgeTriggered && !slab[slot].output.isEmpty { revisit(slot, .writeQueued) }
    }

    /// settle, minus the call in the common case after a read: nothing
    /// pending, nothing finishing or paused, read interest registered, no
    /// write timer (settle would change nothing).
    @inlinable @inline(__always)
    func settleAfterRead(_ slot: UInt32) {
        if slab[slot].output.isEmpty && slab[slot].registered == .read
            && slab[slot].lifecycle.phase.rawValue <= ConnectionPhase.awaitingProxyHeader.rawValue
            && !slab[slot].flags.contains(.readPaused) && !timeouts.write.contains(slot)
            && !(Transport.encrypts && tlsWantsWrite(slot))
        {
            return
        }
        settle(slot)
    }

    /// Brings a live slot's interest, backpressure and timers in line with its
    /// output, and closes it if it was finishing and has nothing left to write.
    @inlinable
    func settle(_ slot: UInt32) {
        let phase = slab[slot].lifecycle.phase
        if phase == .aborting {
            close(slot, reason: slab[slot].lifecycle.closeReason)
            return
        }
        var flags = slab[slot].flags
        let pending = slab[slot].output.count
        let finishing = phase.isFinishing
        var lingering = phase == .lingering
        // A peer that has finished sending may still have requests waiting
        // for their turn (see requestsWaiting): they are served first.
        let waiting = flags.contains(.requestsWaiting) && !phase.closeAsked
        if finishing && pending == 0 && !lingering && !waiting {
            guard startLingering(slot) else { return }
            lingering = true
        }
        if flags.contains(.readPaused) {
            if pending <= configuration.outputLowWatermarkBytes {
                flags.remove(.readPaused)
                // Records OpenSSL read ahead: no readiness announces them.
                if Transport.encrypts, let tls, tls[slot] != nil, tls.hasBufferedInput(slot) {
                    revisit(slot, .readQueued)
                }
            }
        } else if pending > configuration.outputHighWatermarkBytes {
            flags.insert(.readPaused)
        }
        slab[slot].flags = flags
        // Requests that waited for the output to drain are delivered next
        // iteration (not from here: settle runs inside other paths).
        if waiting && !flags.contains(.readPaused) && pending <= configuration.outputLowWatermarkBytes {
            revisit(slot, .deliveryQueued)
        }
        var wanted: Interest = []
        let sessionWantsWrite = tlsWantsWrite(slot)
        if lingering || (!finishing && !flags.contains(.readPaused) && !sessionWantsWrite) {
            wanted.insert(.read)
        }
        if pending > 0 || sessionWantsWrite { wanted.insert(.write) }
        let registered = slab[slot].registered
        if wanted != registered {
            if wanted.contains(.write) && !registered.contains(.write) { stats.writeInterestArms += 1 }
            backend.modify(
                fd: slab[slot].fd, token: EventToken(slot: slot, generation: slab[slot].generation), interest: wanted)
            slab[slot].registered = wanted
        }
        // While output is pending the connection is not idle: it is waiting
        // for its peer to read (and reading may be paused by Keel itself), so
        // the write timeout, which progress restarts, is the clock that
        // counts. The idle clock starts afresh once the output has drained.
        if pending > 0 {
            if !timeouts.write.contains(slot) { timeouts.write.touch(slot, nowMs: nowMs) }
            timeouts.idle.remove(slot)
        } else {
            timeouts.write.remove(slot)
            // The idle clock runs for open connections only (finishing ones
            // have their linger timer).
            if !finishing && shutdownDeadlineMs == nil && !timeouts.idle.contains(slot) {
                timeouts.idle.touch(slot, nowMs: nowMs)
            }
        }
    }

    /// Whether `slot`'s TLS session waits to write (a handshake flight or
    /// a record that did not fit the socket).
    @inlinable @inline(__always)
    func tlsWantsWrite(_ slot: UInt32) -> Bool {
        guard Transport.encrypts, let tls, tls[slot] != nil else { return false }
        return tls.states[Int(slot)].wantsWrite
    }

    /// Writes to connections that got output outside their own read (sends
    /// to other connections, a greeting in connectionOpened, close requests).
    @inlinable
    func flushQueuedConnections() {
        outputs.takeFlushQueue { token in
            let slot = token.slot
            if !slab[slot].output.isEmpty && slab[slot].lifecycle.phase != .aborting {
                writeFromRing(slot)
            }
            if slab.isCurrent(slot: slot, generation: token.generation) { settle(slot) }
        }
    }
}
