// A connection's end, in one place: the peer's EOF, a graceful close (write
// what is pending, send FIN, linger), an abortive one, the close itself;
// the deadlines that end connections; and the server's shutdown. The
// transitions and their reasons are ConnectionLifecycle's (Slab/).

import Logging

extension EventLoop {
    /// Closes a live connection and releases everything it held: descriptor,
    /// slot, rings (back to the pool) and timeout nodes. Re-enables the
    /// listener if the client limit had switched it off.
    @usableFromInline
    func close(_ slot: UInt32, reason: CloseReason) {
        let fd = slab[slot].fd
        let generation = slab[slot].generation
        precondition(fd >= 0, "closing slot \(slot) that is not live")
        if reason == .outputOverflow || reason == .writeTimeout {
            logCut(slot, fd: fd, reason: reason)
        } else if logger.logLevel <= .debug {
            var metadata = connectionMetadata(slot, fd: fd)
            metadata["reason"] = "\(reason)"
            logger.debug("connection closed", metadata: metadata)
        }
        backend.deregister(fd: fd, token: EventToken(slot: slot, generation: generation))
        if Transport.encrypts { tls?.close(slot) }
        Syscall.close(fd)
        timeouts.removeFromAll(slot)
        let handlerKnows = slab[slot].flags.contains(.announced)
        slab.free(slot, pool: pool)
        control.admission?.release(by: index)
        outputs.forgetProxyHeader(of: slot)
        if outputs.anyRestricted { outputs.restrictedSlots[slot] = nil }
        stats.closedByReason[reason.rawValue] += 1
        if handlerKnows {
            handler.connectionClosed(ConnectionID(loop: index, slot: slot, generation: generation), reason: reason)
        }
        if !acceptGate.isOn && shutdownDeadlineMs == nil { updateListener() }
    }

    /// A connection cut off because it did not read its output: a warning
    /// (at most one a second), since its client lost replies.
    @usableFromInline
    func logCut(_ slot: UInt32, fd: Int32, reason: CloseReason) {
        cutLog.record(nowMs: nowMs) { suppressed in
            var metadata = connectionMetadata(slot, fd: fd)
            metadata["reason"] = "\(reason)"
            metadata["pending_output"] = "\(slab[slot].output.count)"
            metadata["suppressed"] = "\(suppressed)"
            let cause =
                reason == .outputOverflow
                ? "its pending output passed its cap" : "its pending output made no progress"
            logger.warning("closing connection: \(cause)", metadata: metadata)
        }
    }

    /// A finishing connection has written everything. If the peer has sent
    /// its EOF, closing is safe. Otherwise it may still be sending (a
    /// pipelining client, a request in flight): closing a socket that then
    /// receives data makes the kernel answer with RST and discard what it had
    /// not yet delivered, destroying replies already written. So Keel sends
    /// FIN (SHUT_WR) and lingers: input is read and dropped until the peer's
    /// EOF or the linger timeout. (A probe read for unread input would not
    /// do: bytes still on their way arrive after it.) Returns false if it
    /// closed the connection; true if it lingers.
    @usableFromInline
    func startLingering(_ slot: UInt32) -> Bool {
        if slab[slot].lifecycle.phase.peerHasFinished {
            close(slot, reason: slab[slot].lifecycle.closeReason)
            return false
        }
        slab[slot].lifecycle.startLingering()
        if Transport.encrypts { sendCloseNotify(slot) }
        Syscall.shutdownWrites(slab[slot].fd)
        timeouts.idle.remove(slot)
        timeouts.firstMessage?.remove(slot)
        timeouts.linger.touch(slot, nowMs: nowMs)
        return true
    }

    /// The peer sent EOF: close now if nothing is pending, otherwise stop
    /// reading and close once the pending output is written.
    @usableFromInline
    func peerFinished(_ slot: UInt32) {
        // An incomplete request can never complete now; drop it (unless whole
        // requests wait in front of it: they are delivered first).
        if !slab[slot].flags.contains(.requestsWaiting) { slab[slot].input.removeAll(pool: pool) }
        slab[slot].lifecycle.peerSentEndOfFile()
        settle(slot)
    }

    /// Log metadata naming a connection: loop, slot, generation, peer
    /// address, and the client's address from a PROXY header.
    @usableFromInline
    func connectionMetadata(_ slot: UInt32, fd: Int32) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "connection": "\(ConnectionID(loop: index, slot: slot, generation: slab[slot].generation))",
            "peer": "\(SocketAddress.peer(of: fd).map { "\($0)" } ?? "?")",
        ]
        if let client = outputs.proxyHeader(of: slot)?.source {
            metadata["client"] = "\(client)"
        }
        return metadata
    }

    /// Closes every connection whose deadline has passed, and lifts an
    /// accept pause that has ended. O(expired). Idle connections close
    /// gracefully (FIN, then linger: see startLingering), since replies
    /// already written must not be destroyed by a reset; a write stall is
    /// retried once before it closes the connection at once.
    @usableFromInline
    func enforceDeadlines() {
        if Transport.encrypts, let handshake = timeouts.handshake {
            while let slot = handshake.popExpired(nowMs: nowMs) {
                handshakeFailed(slot, .timeout)
            }
            releaseQuietSessionBuffers()
        }
        if let firstMessage = timeouts.firstMessage {
            while let slot = firstMessage.popExpired(nowMs: nowMs) {
                closeGracefully(slot, reason: .firstMessageTimeout)
            }
        }
        while let slot = timeouts.idle.popExpired(nowMs: nowMs) {
            closeGracefully(slot, reason: .idleTimeout)
        }
        while let slot = timeouts.write.popExpired(nowMs: nowMs) {
            if !stillWriting(slot) { close(slot, reason: .writeTimeout) }
        }
        while let slot = timeouts.linger.popExpired(nowMs: nowMs) {
            close(slot, reason: slab[slot].lifecycle.closeReason)
        }
        if let until = acceptGate.pausedUntilMs, nowMs >= until {
            updateListener()
        }
        if let deadline = shutdownDeadlineMs, nowMs >= deadline {
            slab.forEachLive { close($0, reason: .serverShutdown) }
        }
    }

    /// Asks for a graceful close for `reason` (as a handler's close does).
    @usableFromInline
    func closeGracefully(_ slot: UInt32, reason: CloseReason) {
        outputs.requestClose(slot: slot, generation: slab[slot].generation, reason: reason)
        settle(slot)
    }

    /// Whether a connection whose write timer expired is still taking bytes.
    /// Keel hears that a socket has room again only once a third of its
    /// buffer is free (epoll's EPOLLOUT), and a kernel send buffer of several
    /// MiB drains slower than the write timeout for a client that reads
    /// steadily but slowly: so before closing for a stall, one more write.
    /// Bytes taken are progress (the timer restarts); none, a stall.
    @usableFromInline
    func stillWriting(_ slot: UInt32) -> Bool {
        writeFromRing(slot)
        guard slab[slot].isLive else { return true }  // the write failed and closed it
        guard timeouts.write.contains(slot) else { return false }
        settle(slot)
        return true
    }

    /// Stops accepting, closes idle connections, and lets the others finish
    /// writing until the shutdown deadline.
    @usableFromInline
    func beginShutdown() {
        shutdownDeadlineMs = nowMs + Int64(configuration.shutdownTimeoutMs)
        closeListener()
        slab.forEachLive { slot in
            timeouts.firstMessage?.remove(slot)
            timeouts.idle.remove(slot)
            // A connection already closing or aborted keeps its reason.
            slab[slot].lifecycle.askClose(.serverShutdown)
            settle(slot)
        }
    }

    @usableFromInline
    func closeListener() {
        if let tlsListener {
            backend.deregister(fd: tlsListener.fd, token: .tlsListener)
            tlsListener.close()
            self.tlsListener = nil
        }
        guard let listener else { return }
        backend.deregister(fd: listener.fd, token: .listener)
        listener.close()
        self.listener = nil
        acceptGate.isOn = false
    }

    /// Releases the descriptors of a loop that never ran (another loop of the
    /// same server failed to start).
    @usableFromInline
    func discardUnstarted() {
        precondition(slab.liveCount == 0, "discarding a loop that has connections")
        closeListener()
        backend.close()
        reactor.deadlineTimer.close()
    }

    /// Releases the loop's own descriptors once every connection is gone.
    /// The waker stays open: other threads may still wake it; the Server
    /// closes it after joining this loop's thread.
    @usableFromInline
    func finishShutdown() {
        precondition(slab.liveCount == 0, "shutting down with live connections")
        closeListener()
        backend.deregister(fd: control.waker.fd, token: .waker)
        backend.deregister(fd: reactor.deadlineTimer.fd, token: .timer)
        backend.close()
        reactor.deadlineTimer.close()
        pool.trim()
    }
}
