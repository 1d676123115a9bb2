// Accepting: accept4 until EAGAIN or the client limit (the slab's capacity;
// with several loops, the server's count: ClientAdmission). The listener is
// switched off (interest 0) at the client limit and while accept errors that
// mean "no descriptors or memory" cool down, and switched back on when a slot
// frees (on any loop) or the pause ends, so connections waiting in the
// backlog are served.

import Glibc

/// Whether the listener is switched on, and the pause that may keep it off.
@usableFromInline
struct AcceptGate {
    /// Whether the listener is registered for read interest.
    @usableFromInline var isOn = true
    /// While set, accepting stays off until this time (after EMFILE and friends).
    @usableFromInline var pausedUntilMs: Int64?

    @inlinable init() {}

    /// Whether the listener should be on at `nowMs`: a slot is free and no
    /// pause is in force (a pause that has ended is cleared).
    @usableFromInline
    mutating func wanted(slabFull: Bool, nowMs: Int64) -> Bool {
        if let until = pausedUntilMs, nowMs >= until { pausedUntilMs = nil }
        return !slabFull && pausedUntilMs == nil
    }
}

extension EventLoop {
    /// Accepts from `listener` (the plaintext port's, or the TLS port's).
    @usableFromInline
    func acceptConnections(from listener: ListeningSocket?, tls: Bool) {
        guard let listener else { return }
        let admission = control.admission
        // Waiting in the backlog, a place is reserved before accepting, so
        // nothing is accepted without one. Turning away, it is taken after:
        // a loop's reservation for an accept that finds nothing would
        // otherwise make another loop turn a client away in that instant.
        let reservesFirst = configuration.clientLimitReply == nil
        // Turning clients away at most this many per wake, as redis-server
        // caps its accepts per call: clients that reconnect at once cannot
        // keep the loop from its connections (the listener is level-
        // triggered, so the rest are reported again next iteration).
        var turnedAway = 0
        while turnedAway < Self.turnAwaysPerWake {
            var reserved = false
            if reservesFirst {
                guard !slab.isFull, admission?.reserve() ?? true else { break }
                reserved = true
            }
            switch backend.accept(listener.fd) {
            case .accepted(let fd):
                if reserved || (!slab.isFull && admission?.reserve() ?? true) {
                    admit(fd, tls: tls)
                } else {
                    turnAway(fd, tls: tls)
                    turnedAway += 1
                }
            case .wouldBlock:
                if reserved { admission?.release(by: index) }
                return
            case .failed(let errno):
                if reserved { admission?.release(by: index) }
                stats.acceptErrors += 1
                if handleAcceptError(errno) { continue }
                return
            }
        }
        updateListener()
    }

    /// The most connections over the limit turned away in one wake.
    @usableFromInline static var turnAwaysPerWake: Int { 1_000 }

    /// A connection over the client limit: told so (`clientLimitReply`,
    /// one write that does not wait, plaintext only) and closed.
    @usableFromInline
    func turnAway(_ fd: Int32, tls: Bool) {
        if !tls, let reply = configuration.clientLimitReply {
            _ = reply.withUnsafeBytes { Syscall.send(fd, $0) }
        }
        Syscall.close(fd)
        stats.rejected += 1
        rejectLog.record(nowMs: nowMs) { suppressed in
            logger.warning(
                "client limit reached; turning a connection away",
                metadata: ["max_clients": "\(configuration.maxClients)", "suppressed": "\(suppressed)"])
        }
    }

    /// Takes a slot for a new connection and registers it for reading; a
    /// TLS connection gets its session, and its handshake timer.
    @usableFromInline
    func admit(_ fd: Int32, tls: Bool) {
        Syscall.setNoDelay(fd)
        guard let slot = slab.allocate(fd: fd) else {
            preconditionFailure("accepted with a full slab")
        }
        let generation = slab[slot].generation
        do {
            try backend.register(fd: fd, token: EventToken(slot: slot, generation: generation), interest: .read)
        } catch {
            logger.error("cannot watch an accepted connection; closing it", metadata: ["errno": "\(error)"])
            slab.free(slot, pool: pool)
            Syscall.close(fd)
            control.admission?.release(by: index)
            return
        }
        slab[slot].registered = .read
        stats.accepted += 1
        if let firstMessage = timeouts.firstMessage {
            firstMessage.touch(slot, nowMs: nowMs)
        }
        timeouts.idle.touch(slot, nowMs: nowMs)
        if tls && !startSession(slot) { return }
        if configuration.proxyProtocol != .off {
            // The handler hears of it once the header names the client.
            slab[slot].lifecycle.awaitProxyHeader()
            return
        }
        // A TLS connection is announced once its handshake completes.
        if !tls { opened(slot) }
    }

    /// Tells the handler (and the debug log) of a new connection.
    @usableFromInline
    func opened(_ slot: UInt32) {
        if logger.logLevel <= .debug {
            logger.debug("connection opened", metadata: connectionMetadata(slot, fd: slab[slot].fd))
        }
        slab[slot].flags.insert(.announced)
        handler.connectionOpened(
            Connection(outputs: outputs, token: EventToken(slot: slot, generation: slab[slot].generation)))
    }

    /// Returns true when accepting should go on (the error concerned one
    /// connection only); otherwise pauses the listener.
    @usableFromInline
    func handleAcceptError(_ errno: Errno) -> Bool {
        switch errno.rawValue {
        case ECONNABORTED, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP,
            ENETUNREACH:
            // The connection died in the backlog or was refused by a firewall
            // rule: skip it (accept(2), "Error handling").
            return true
        default:
            // EMFILE, ENFILE, ENOBUFS, ENOMEM: retrying at once would spin on a
            // level-triggered listener. Pause; a freed slot or the timer resumes.
            acceptGate.pausedUntilMs = nowMs + Int64(configuration.acceptPauseMs)
            acceptLog.record(nowMs: nowMs) { suppressed in
                logger.warning(
                    "accept failed; pausing accepts",
                    metadata: [
                        "error": "\(errno)", "pause_ms": "\(configuration.acceptPauseMs)",
                        "suppressed": "\(suppressed)",
                    ])
            }
            updateListener()
            return false
        }
    }

    /// Switches the listeners on or off to match the slab and the accept pause.
    @usableFromInline
    func updateListener() {
        guard let listener else { return }
        // Over the limit a listener stays on only to turn connections away.
        let full =
            configuration.clientLimitReply == nil && (slab.isFull || (control.admission?.isFull ?? false))
        let wanted = acceptGate.wanted(slabFull: full, nowMs: nowMs)
        guard wanted != acceptGate.isOn else { return }
        if !wanted { stats.listenerPauses += 1 }
        backend.modify(fd: listener.fd, token: .listener, interest: wanted ? .read : [])
        if let tlsListener { backend.modify(fd: tlsListener.fd, token: .tlsListener, interest: wanted ? .read : []) }
        acceptGate.isOn = wanted
    }
}
