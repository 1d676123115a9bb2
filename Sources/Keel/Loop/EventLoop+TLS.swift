// The transport seam: every read and send of a connection's bytes goes
// through `receive` and `transmit`, which are the backend's read and send
// for a plaintext connection and OpenSSL's SSL_read and SSL_write for a TLS
// one (TLSSessions: OpenSSL works the socket itself and answers as read(2)
// and send(2) do). Above the seam nothing changes: the rings, watermarks,
// timers and lifecycle are the plaintext ones. A plaintext server's loop is
// specialised with PlaintextTransport and carries none of this
// (ConnectionTransport.swift); in a TLS server's loop the TLS paths are kept
// out of line (@inline(never)), so a plaintext connection beside TLS ones
// pays a call and a lookup per read and per send, not their code.
//
// The handshake is driven by readiness: a TLS connection is accepted with
// its session made and registered for reading, and each readiness advances
// SSL_do_handshake (want-read: wait for the next; want-write: arm write
// interest). The handler hears of the connection only once the handshake
// has completed (after the PROXY header, when there is one), and a
// handshake that fails or outlasts its timeout closes only its connection,
// counted by reason.

import COpenSSL
import Glibc
import KeelPosix

extension EventLoop {
    /// One read of `slot`'s bytes into `space`: plaintext from the socket,
    /// or decrypted records from its TLS session (the handshake first).
    @inlinable @inline(__always)
    func receive(_ slot: UInt32, into space: UnsafeMutableRawBufferPointer) -> IOResult {
        if Transport.encrypts { return receiveEitherWay(slot, into: space) }
        return backend.read(slab[slot].fd, into: space)
    }

    /// One send of `bytes` to `slot`: to the socket, or through its TLS session.
    @inlinable @inline(__always)
    func transmit(_ slot: UInt32, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        if Transport.encrypts { return transmitEitherWay(slot, bytes, UnsafeRawBufferPointer(start: nil, count: 0)) }
        return backend.send(slab[slot].fd, bytes)
    }

    /// One send of two segments (a wrapped ring) to `slot`.
    @inlinable @inline(__always)
    func transmit(_ slot: UInt32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
        if Transport.encrypts { return transmitEitherWay(slot, first, second) }
        return backend.send(slab[slot].fd, first, second)
    }

    /// A read on a server with TLS: the connection may be plaintext (a
    /// plaintext port beside the TLS one, or a PROXY header not yet read).
    @usableFromInline @inline(never)
    func receiveEitherWay(_ slot: UInt32, into space: UnsafeMutableRawBufferPointer) -> IOResult {
        let tls = tls.unsafelyUnwrapped
        if slab[slot].lifecycle.phase != .awaitingProxyHeader {
            if let session = tls[slot] { return receiveTLS(slot, session, into: space) }
            if tls.states[Int(slot)].awaitingHello { return receiveHello(slot, into: space) }
        }
        return backend.read(slab[slot].fd, into: space)
    }

    /// A send on a server with TLS, to a TLS or a plaintext connection.
    @usableFromInline @inline(never)
    func transmitEitherWay(
        _ slot: UInt32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer
    ) -> IOResult {
        guard let session = tls.unsafelyUnwrapped[slot] else {
            return second.isEmpty ? backend.send(slab[slot].fd, first) : backend.send(slab[slot].fd, first, second)
        }
        let head = transmitTLS(slot, session, first)
        guard case .bytes(let taken) = head, taken == first.count, !second.isEmpty else { return head }
        if case .bytes(let more) = transmitTLS(slot, session, second) { return .bytes(taken + more) }
        return head
    }

    /// Reads a TLS connection's first record into its input ring, until it
    /// is whole (then the session is made and the handshake begins) or the
    /// socket is dry. Returns what a read would, once there is a session.
    @usableFromInline @inline(never)
    func receiveHello(_ slot: UInt32, into space: UnsafeMutableRawBufferPointer) -> IOResult {
        while true {
            switch backend.read(slab[slot].fd, into: space) {
            case .bytes(let count):
                stats.bytesIn &+= count
                guard slab[slot].input.append(UnsafeRawBufferPointer(rebasing: space[..<count]), pool: pool) else {
                    close(slot, reason: outOfMemory(slot))
                    return .wouldBlock
                }
                let generation = slab[slot].generation
                guard let session = startSessionIfHelloArrived(slot) else {
                    // Incomplete: read on (the socket may hold the rest, or
                    // the peer's EOF, and edge-triggered loops hear no more).
                    guard slab.isCurrent(slot: slot, generation: generation) else { return .wouldBlock }
                    continue
                }
                return receiveTLS(slot, session, into: space)
            case .wouldBlock:
                return .wouldBlock
            case .endOfFile:
                handshakeFailed(slot, .peerClosed)
                return .wouldBlock
            case .failed(let errno):
                return .failed(errno)
            }
        }
    }

    /// Makes `slot`'s session once its first record is whole, handing it the
    /// bytes held so far; nil while the record is incomplete, or when the
    /// bytes are no TLS (the connection is then closed).
    @usableFromInline
    func startSessionIfHelloArrived(_ slot: UInt32) -> OpaquePointer? {
        let tls = tls.unsafelyUnwrapped
        let progress = slab[slot].input.withContiguousBytes { TLSSessions.helloProgress($0) }
        switch progress {
        case .incomplete:
            return nil
        case .invalid:
            handshakeFailed(slot, .notTLS, detail: "the first bytes are not a TLS handshake record")
            return nil
        case .complete:
            guard let tlsContext, tls.open(slot, fd: slab[slot].fd, context: tlsContext.serverContext),
                slab[slot].input.withContiguousBytes({ tls.prependInput(slot, $0) })
            else {
                close(slot, reason: outOfMemory(slot))
                return nil
            }
            slab[slot].input.removeAll(pool: pool)
            return tls[slot]
        }
    }

    /// SSL_read until `space` is full or OpenSSL holds nothing more, so that
    /// the requests of one arrival are served (and answered) together. A
    /// full buffer may leave records inside OpenSSL, which no readiness
    /// would announce: the connection is read again next iteration.
    @usableFromInline @inline(never)
    func receiveTLS(_ slot: UInt32, _ session: OpaquePointer, into space: UnsafeMutableRawBufferPointer) -> IOResult {
        let tls = tls.unsafelyUnwrapped
        if !tls.states[Int(slot)].established {
            guard establish(slot, session) else { return .wouldBlock }
        }
        var total = 0
        while total < space.count {
            var count = 0
            let result = SSL_read_ex(session, space.baseAddress! + total, space.count - total, &count)
            if result == 1 {
                total += count
                // Nothing more buffered in OpenSSL: stop rather than let the
                // next SSL_read find out with a read(2) that returns EAGAIN
                // (a system call per arrival; redis-server reads once per
                // readiness too). Edge-triggered loops read on until EAGAIN
                // anyway, in handleReadable.
                if SSL_has_pending(session) == 0 { break }
                continue
            }
            if tls.states[Int(slot)].readsPrefix && SSL_get_error(session, result) == SSL_ERROR_WANT_READ
                && tls.switchToSocketIfPrefixConsumed(slot, fd: slab[slot].fd)
            {
                continue
            }
            let outcome = sessionFailure(slot, session, result, reading: true)
            if total > 0 {
                // What was read is served now; an end or a failure behind it
                // is met again on the next call, which no readiness would
                // announce (read-ahead emptied the socket): read next
                // iteration.
                if outcome != .wouldBlock { revisit(slot, .readQueued) }
                break
            }
            return outcome
        }
        if total == space.count { revisit(slot, .readQueued) }
        timeouts.tlsQuiet?.touch(slot, nowMs: nowMs)
        return .bytes(total)
    }

    /// SSL_write of all of `bytes`, record by record (partial-write mode
    /// returns after each), until the socket is full.
    @usableFromInline @inline(never)
    func transmitTLS(_ slot: UInt32, _ session: OpaquePointer, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        var total = 0
        while total < bytes.count {
            var count = 0
            let result = SSL_write_ex(session, bytes.baseAddress! + total, bytes.count - total, &count)
            if result == 1 {
                total += count
                continue
            }
            let outcome = sessionFailure(slot, session, result, reading: false)
            if total > 0 { break }
            return outcome
        }
        timeouts.tlsQuiet?.touch(slot, nowMs: nowMs)
        return .bytes(total)
    }

    /// What a failed SSL_read (`reading`) or SSL_write means, as a socket
    /// call's result.
    @usableFromInline @inline(never)
    func sessionFailure(_ slot: UInt32, _ session: OpaquePointer, _ result: Int32, reading: Bool) -> IOResult {
        let tls = tls.unsafelyUnwrapped
        switch SSL_get_error(session, result) {
        case SSL_ERROR_WANT_READ:
            return .wouldBlock
        case SSL_ERROR_WANT_WRITE:
            // A blocked SSL_write is a full socket, as send(2)'s EAGAIN: its
            // plaintext waits in the output ring, and settle arms write
            // interest. A read that must write first (the answer to a key
            // update, with the socket full) waits for write readiness with
            // read interest off (else the readable socket would spin the
            // loop): wantsWrite, which settle and handleWritable honour.
            if reading {
                tls.states[Int(slot)].wantsWrite = true
                settle(slot)
            }
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN where reading:
            // close_notify, or the peer's FIN (SSL_OP_IGNORE_UNEXPECTED_EOF).
            // (A write after the peer's FIN that fails reads the same; it
            // is a failure.)
            return .endOfFile
        default:
            let reason = TLSError.drainOpenSSLErrors()
            if logger.logLevel <= .debug {
                var metadata = connectionMetadata(slot, fd: slab[slot].fd)
                metadata["error"] = "\(reason)"
                logger.debug("TLS session failed", metadata: metadata)
            }
            return .failed(Errno(rawValue: ECONNRESET))
        }
    }

    /// Advances `slot`'s handshake; true once it has completed and the
    /// handler has been told of the connection (and the connection still
    /// takes input). False while it waits for the peer, or when it failed
    /// (the connection is then closed).
    @usableFromInline @inline(never)
    func establish(_ slot: UInt32, _ session: OpaquePointer) -> Bool {
        let tls = tls.unsafelyUnwrapped
        while true {
            let result = SSL_do_handshake(session)
            if result == 1 { break }
            switch SSL_get_error(session, result) {
            case SSL_ERROR_WANT_READ:
                if tls.switchToSocketIfPrefixConsumed(slot, fd: slab[slot].fd) { continue }
                return false
            case SSL_ERROR_WANT_WRITE:
                tls.states[Int(slot)].wantsWrite = true
                settle(slot)
                return false
            case let error:
                let code = ERR_peek_error()
                let failure: TLSHandshakeFailure =
                    error == SSL_ERROR_SYSCALL || error == SSL_ERROR_ZERO_RETURN
                    ? .peerClosed : TLSHandshakeFailure.classify(code)
                handshakeFailed(slot, failure)
                return false
            }
        }
        let generation = slab[slot].generation
        tls.states[Int(slot)].established = true
        memoryRelease.foreignWork &+= 1
        stats.tlsHandshakes += 1
        if keel_SSL_session_reused(session) == 1 { stats.tlsResumptions += 1 }
        stats.tlsHandshakeMilliseconds += Int(max(0, nowMs - tls.states[Int(slot)].startedMs))
        timeouts.handshake?.remove(slot)
        // A connection that stays silent after its handshake gives its
        // record buffers back too.
        timeouts.tlsQuiet?.touch(slot, nowMs: nowMs)
        opened(slot)
        // The handler may have closed the connection from connectionOpened.
        return slab.isCurrent(slot: slot, generation: generation) && !slab[slot].lifecycle.phase.stopsInput
    }

    /// Whether `slot` is a TLS connection whose handshake has not completed
    /// (its hello still arriving, or the session mid-handshake): a reset
    /// then is a failed handshake, counted as one, not a reset of a
    /// connection the handler knows.
    @usableFromInline
    func isHandshaking(_ slot: UInt32) -> Bool {
        guard let tls else { return false }
        let state = tls.states[Int(slot)]
        return state.awaitingHello || (tls[slot] != nil && !state.established)
    }

    /// Closes a connection whose handshake failed, counting and logging why
    /// (at most one line a second).
    @usableFromInline @inline(never)
    func handshakeFailed(_ slot: UInt32, _ failure: TLSHandshakeFailure, detail: String? = nil) {
        let detail = detail ?? (failure == .timeout ? "\(failure)" : TLSError.drainOpenSSLErrors())
        ERR_clear_error()
        stats.tlsHandshakeFailures[failure] += 1
        memoryRelease.foreignWork &+= 1
        // A peer that connects and leaves (a port probe, a health check) is
        // counted, and logged at debug level only.
        if failure == .peerClosed {
            if logger.logLevel <= .debug {
                var metadata = connectionMetadata(slot, fd: slab[slot].fd)
                metadata["reason"] = "\(failure)"
                logger.debug("TLS handshake not completed: the peer closed", metadata: metadata)
            }
            close(slot, reason: .tlsHandshakeFailed)
            return
        }
        tlsLog.record(nowMs: nowMs) { suppressed in
            var metadata = connectionMetadata(slot, fd: slab[slot].fd)
            metadata["reason"] = "\(failure)"
            metadata["error"] = "\(detail)"
            metadata["suppressed"] = "\(suppressed)"
            logger.warning("closing connection: TLS handshake failed", metadata: metadata)
        }
        close(slot, reason: .tlsHandshakeFailed)
    }

    /// Write readiness for a session that asked to write before going on:
    /// the handshake resumes, or the read that wanted the write.
    @usableFromInline @inline(never)
    func resumeSession(_ slot: UInt32) {
        guard let tls, let session = tls[slot], tls.states[Int(slot)].wantsWrite else { return }
        tls.states[Int(slot)].wantsWrite = false
        let generation = slab[slot].generation
        // Read interest back (it was off while OpenSSL waited to write).
        settle(slot)
        guard slab.isCurrent(slot: slot, generation: generation) else { return }
        if !tls.states[Int(slot)].established {
            guard establish(slot, session) else { return }
        }
        handleReadable(slot, peerFinishing: false)
    }

    /// A connection accepted on a TLS port: its handshake timer starts, and
    /// its session is made once its first record has arrived.
    @usableFromInline @inline(never)
    func startSession(_ slot: UInt32) -> Bool {
        guard let tls else { return false }
        tls.awaitHello(slot, nowMs: nowMs)
        timeouts.handshake?.touch(slot, nowMs: nowMs)
        return true
    }

    /// The PROXY header of a TLS connection has been read: the bytes after
    /// it begin the handshake, which starts at once (they may hold the
    /// whole ClientHello, and no readiness would announce them again).
    @usableFromInline @inline(never)
    func beginHandshakeAfterProxyHeader(_ slot: UInt32, rest: UnsafeRawBufferPointer) -> CloseReason? {
        guard let tls, tls.states[Int(slot)].awaitingHello else { return nil }
        tls.states[Int(slot)].startedMs = nowMs
        if !rest.isEmpty && !slab[slot].input.append(rest, pool: pool) { return outOfMemory(slot) }
        guard let session = startSessionIfHelloArrived(slot) else { return nil }
        // Records that came with the handshake's last flight are read next
        // iteration (not from here, inside this read's own serving).
        if establish(slot, session) { revisit(slot, .readQueued) }
        return nil
    }

    /// Frees the record buffers of sessions quiet for
    /// `releaseMemoryAfterQuietMs` (OpenSSL keeps them otherwise, 16 KiB or
    /// more each way; a buffer still holding bytes is kept).
    @usableFromInline @inline(never)
    func releaseQuietSessionBuffers() {
        guard let quiet = timeouts.tlsQuiet, let tls else { return }
        while let slot = quiet.popExpired(nowMs: nowMs) {
            if let session = tls[slot], SSL_free_buffers(session) != 1 { ERR_clear_error() }
            // The freed buffers go back to the kernel at the next release.
            memoryRelease.foreignWork &+= 1
        }
    }

    /// Sends close_notify before the FIN of a graceful close (best effort:
    /// a full socket drops it, and the FIN still ends the stream).
    @usableFromInline @inline(never)
    func sendCloseNotify(_ slot: UInt32) {
        guard let tls, let session = tls[slot], tls.states[Int(slot)].established else { return }
        if SSL_shutdown(session) < 0 { ERR_clear_error() }
    }
}
