// Sending, receiving and verifying.

import COpenSSL
import CShims
import Glibc
import Keel

extension LoadEngine {
    func handle(_ index: Int) {
        // The run ends at its first problem (errors not allowed): the rest of
        // this wakeup's events are not served, or each connection would
        // count its own first problem.
        if result.firstProblem != nil && !options.allowErrors { return }
        let bits = keel_epoll_event_events(events, Int32(index))
        let connection = connections[Int(keel_epoll_event_data(events, Int32(index)))]
        switch connection.state {
        case .connecting:
            completeConnect(connection)
        case .handshaking:
            advanceHandshake(connection)
        case .open:
            if bits & (keel_EPOLLIN | keel_EPOLLHUP | keel_EPOLLERR) != 0 {
                receive(connection)
                // Records OpenSSL read ahead past a full buffer: no readiness
                // would announce them.
                while connection.state == .open && connection.tlsBufferFilled {
                    receive(connection)
                }
            }
            if connection.state == .open && bits & keel_EPOLLOUT != 0 {
                flush(connection)
            }
        case .waiting, .closed:
            break
        }
    }

    /// One read, then every complete reply: judged, timed, and (closed
    /// loop) answered with the next request.
    private func receive(_ connection: BenchConnection) {
        let n: Int
        switch connection.ssl == nil ? Syscall.read(connection.fd, into: readBuffer) : receiveTLS(connection) {
        case .bytes(let count): n = count
        case .wouldBlock: return
        case .endOfFile, .failed:
            serverClosed(connection)
            return
        }
        let receivedNs = Self.clockNs()
        var input = RingBuffer()
        swap(&input, &connection.input)
        let outcome = MessageAssembler.feed(
            UnsafeRawBufferPointer(rebasing: readBuffer[..<n]), decoder: &decoder, pending: &input, pool: pool
        ) { reply in
            verify(reply, on: connection, receivedNs: receivedNs)
            // At the first problem (errors not allowed) the rest goes unread.
            return result.firstProblem == nil || options.allowErrors
        }
        swap(&input, &connection.input)
        input.removeAll(pool: pool)
        if case .violation(let violation, _) = outcome {
            // Bytes that are no reply: the stream is corrupt from here on.
            result.mismatches += 1
            noteProblem("connection \(connection.index + 1) received bytes that are not a reply: \(violation)")
            serverClosed(connection)
            return
        }
        if connection.reconnectQueued {
            reconnect(connection)
            return
        }
        // The next requests leave now, as a client sends when it is ready,
        // not after the rest of this wakeup's connections are served.
        if connection.state == .open && !connection.output.isEmpty { flush(connection) }
    }

    @inline(__always)
    private func verify(_ reply: Workload.Decoder.Request, on connection: BenchConnection, receivedNs: Int64) {
        let sequence = connection.nextReceiveSequence
        connection.nextReceiveSequence += 1
        guard let request = connection.awaiting.removeFirst() else {
            result.mismatches += 1
            noteProblem("connection \(connection.index + 1) received a reply to nothing it sent")
            return
        }
        var payloadBytes = 0
        switch workload.check(reply, connection: connection.index, sequence: sequence, tag: request.tag) {
        case .expected(let bytes):
            payloadBytes = bytes
        case .errorReply(let description):
            result.errorReplies += 1
            noteProblem(description)
        case .mismatch(let description):
            result.mismatches += 1
            noteProblem(description)
        }
        progressMessages += 1
        result.totalMessages += 1
        if workload.isPreload(request.tag) {
            preloadAnswered += 1
            phaseEndNs = nowNs + Self.preloadStallNs
            enqueuePreload(on: connection)
            return
        }
        if phase == .measuring {
            // Handshake mode times the connect and handshake (LoadEngine+Connections).
            if !options.handshakes { _ = result.latencyNs.record(UInt64(max(0, receivedNs - request.sentNs))) }
            result.messages += 1
            result.payloadBytes += payloadBytes
        }
        if options.handshakes && (phase == .warmingUp || phase == .measuring) {
            // Closes once this read is handled; connects again at once
            // (closed loop) or when the schedule next gives it a start.
            connection.reconnectQueued = true
        } else if options.rate == nil && (phase == .warmingUp || phase == .measuring) {
            enqueueMessage(on: connection, sentAtNs: receivedNs)
        }
    }

    /// Records the first mismatch or error reply (described for the report).
    func noteProblem(_ description: @autoclosure () -> String) {
        if result.firstProblem == nil { result.firstProblem = description() }
    }

    /// Appends the next request to the connection's output; it leaves with
    /// the next flush (one sendmsg for everything queued).
    func enqueueMessage(on connection: BenchConnection, sentAtNs: Int64) {
        guard
            let tag = workload.appendRequest(
                connection: connection.index, sequence: connection.nextSendSequence, to: &connection.output,
                pool: pool)
        else {
            fail(connection, "out of memory for its output buffer")
            return
        }
        connection.nextSendSequence += 1
        connection.awaiting.append(InFlight(sentNs: sentAtNs, tag: tag))
        queueFlush(connection)
    }

    /// Preload requests each connection keeps in flight.
    static var preloadPipeline: Int { 16 }

    /// Appends the next preload request, if any are left.
    func enqueuePreload(on connection: BenchConnection) {
        guard preloadSent < workload.preloadCount else { return }
        guard let tag = workload.appendPreload(preloadSent, to: &connection.output, pool: pool) else {
            fail(connection, "out of memory for its output buffer")
            return
        }
        preloadSent += 1
        connection.nextSendSequence += 1
        connection.awaiting.append(InFlight(sentNs: nowNs, tag: tag))
        queueFlush(connection)
    }

    private func queueFlush(_ connection: BenchConnection) {
        if !connection.flushQueued {
            connection.flushQueued = true
            flushList.append(connection.index)
        }
    }

    func flushPending() {
        for index in flushList {
            let connection = connections[index]
            connection.flushQueued = false
            if connection.state == .open { flush(connection) }
        }
        flushList.removeAll(keepingCapacity: true)
    }

    /// Writes queued output until done or EAGAIN; write interest only while some is left.
    func flush(_ connection: BenchConnection) {
        while !connection.output.isEmpty {
            let result = connection.output.withReadableSegments {
                connection.ssl == nil ? Syscall.send(connection.fd, $0, $1) : sendTLS(connection, $0, $1)
            }
            guard case .bytes(let n) = result, n > 0 else {
                if result == .wouldBlock { break }
                serverClosed(connection)
                return
            }
            connection.output.consume(n, pool: pool)
        }
        let pending = !connection.output.isEmpty
        if pending != connection.writeArmed { setInterest(connection, write: pending) }
    }

    /// SSL_read until the read buffer is full or nothing more has arrived.
    private func receiveTLS(_ connection: BenchConnection) -> IOResult {
        let ssl = connection.ssl.unsafelyUnwrapped
        connection.tlsBufferFilled = false
        var total = 0
        while total < readBuffer.count {
            var count = 0
            if SSL_read_ex(ssl, readBuffer.baseAddress! + total, readBuffer.count - total, &count) == 1 {
                total += count
                // Nothing more inside OpenSSL: the next read would only find
                // the socket dry (EAGAIN).
                if SSL_has_pending(ssl) == 0 { break }
                continue
            }
            let error = SSL_get_error(ssl, 0)
            let wouldBlock = error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE
            if total > 0 {
                // An end or failure behind the data: met on the next call,
                // which no readiness would announce.
                connection.tlsBufferFilled = !wouldBlock
                return .bytes(total)
            }
            if wouldBlock { return .wouldBlock }
            ERR_clear_error()
            return .endOfFile
        }
        connection.tlsBufferFilled = total == readBuffer.count
        return .bytes(total)
    }

    /// SSL_write of both segments, record by record, until the socket is full.
    private func sendTLS(
        _ connection: BenchConnection, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer
    ) -> IOResult {
        let head = sendTLS(connection, first)
        guard case .bytes(let taken) = head, taken == first.count, !second.isEmpty else { return head }
        if case .bytes(let more) = sendTLS(connection, second) { return .bytes(taken + more) }
        return head
    }

    private func sendTLS(_ connection: BenchConnection, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        let ssl = connection.ssl.unsafelyUnwrapped
        var total = 0
        while total < bytes.count {
            var count = 0
            if SSL_write_ex(ssl, bytes.baseAddress! + total, bytes.count - total, &count) == 1 {
                total += count
                continue
            }
            let error = SSL_get_error(ssl, 0)
            if total > 0 { break }
            if error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ { return .wouldBlock }
            ERR_clear_error()
            return .failed(Errno(rawValue: ECONNRESET))
        }
        return .bytes(total)
    }

    // MARK: open loop

    /// Messages the open loop may fall behind its schedule in all, and bytes
    /// of unsent output per connection, before it counts messages as skipped
    /// instead of queuing them: a generator (or server) that cannot keep up
    /// fails the run rather than growing without bound.
    static var maxBacklogPerConnection: UInt64 { 4_096 }
    static var maxUnsentBytesPerConnection: Int { 4 << 20 }

    /// Sends every message whose intended time has come.
    func sendScheduled() {
        guard let rate = options.rate else { return }
        let due = UInt64(max(0, Double(nowNs - scheduleStartNs) * rate / 1e9)) + 1
        let limit = UInt64(options.connections) * Self.maxBacklogPerConnection
        if due > scheduled + limit {
            result.skipped += Int(due - scheduled - limit)
            scheduled = due - limit
        }
        while scheduled < due {
            let intendedNs = scheduleStartNs + Int64(Double(scheduled) * 1e9 / rate)
            let connection = connections[Int(scheduled % UInt64(options.connections))]
            if options.handshakes {
                // A new connection starts now, timed from when it was due.
                if connection.state == .waiting {
                    open(connection)
                    connection.connectStartNs = intendedNs
                } else {
                    result.skipped += 1
                }
                scheduled += 1
                continue
            }
            if connection.state == .open {
                if connection.output.count > Self.maxUnsentBytesPerConnection {
                    result.skipped += 1
                } else {
                    enqueueMessage(on: connection, sentAtNs: intendedNs)
                }
            }
            scheduled += 1
        }
    }

    func nextScheduledNs() -> Int64 {
        guard let rate = options.rate else { return Int64.max }
        return scheduleStartNs + Int64(Double(scheduled) * 1e9 / rate)
    }
}
