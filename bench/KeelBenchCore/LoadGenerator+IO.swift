// Sending, receiving and verifying.

import CShims
import Glibc
import Keel

extension LoadGenerator {
    func handle(_ index: Int) {
        let bits = keel_epoll_event_events(events, Int32(index))
        let connection = connections[Int(keel_epoll_event_data(events, Int32(index)))]
        switch connection.state {
        case .connecting:
            completeConnect(connection)
        case .open:
            if bits & (keel_EPOLLIN | keel_EPOLLHUP | keel_EPOLLERR) != 0 {
                receive(connection)
            }
            if connection.state == .open && bits & keel_EPOLLOUT != 0 {
                flush(connection)
            }
        case .waiting, .closed:
            break
        }
    }

    /// One read, then every complete reply: verified, timed, and (closed
    /// loop) answered with the next message.
    private func receive(_ connection: BenchConnection) {
        let n = keel_read(connection.fd, readBuffer.baseAddress, readBuffer.count)
        if n == -Int(EAGAIN) || n == -Int(EINTR) { return }
        guard n > 0 else {
            serverClosed(connection)
            return
        }
        let receivedNs = Self.clockNs()
        var input = RingBuffer()
        swap(&input, &connection.input)
        let outcome = MessageAssembler.feed(
            UnsafeRawBufferPointer(rebasing: readBuffer[..<n]), decoder: &decoder, pending: &input, pool: pool
        ) { payload in
            verify(payload, on: connection, receivedNs: receivedNs)
            return true
        }
        swap(&input, &connection.input)
        input.removeAll(pool: pool)
        if case .violation = outcome {
            // A length we never sent: the stream is corrupt from here on.
            result.mismatches += 1
            serverClosed(connection)
        }
    }

    @inline(__always)
    private func verify(_ payload: UnsafeRawBufferPointer, on connection: BenchConnection, receivedNs: Int64) {
        let sequence = connection.nextReceiveSequence
        connection.nextReceiveSequence += 1
        guard let sentNs = connection.sendTimes.removeFirst() else {
            result.mismatches += 1  // a reply to nothing we sent
            return
        }
        if !payloads.matches(payload, connection: connection.index, sequence: sequence) {
            result.mismatches += 1
        }
        progressMessages += 1
        result.totalMessages += 1
        if phase == .measuring {
            _ = result.latencyNs.record(UInt64(max(0, receivedNs - sentNs)))
            result.messages += 1
            result.payloadBytes += payload.count
        }
        if options.rate == nil && (phase == .warmingUp || phase == .measuring) {
            enqueueMessage(on: connection, sentAtNs: receivedNs)
        }
    }

    /// Appends the next message to the connection's output; it leaves with
    /// the next flush (one sendmsg for everything queued).
    func enqueueMessage(on connection: BenchConnection, sentAtNs: Int64) {
        let payload = payloads.payload(connection: connection.index, sequence: connection.nextSendSequence)
        connection.nextSendSequence += 1
        var header: UInt64 = 0
        withUnsafeMutableBytes(of: &header) { options.frame.encodeLength(payload.count, into: $0.baseAddress!) }
        let appended =
            withUnsafeBytes(of: &header) {
                connection.output.append(UnsafeRawBufferPointer(rebasing: $0[..<options.frame.headerBytes]), pool: pool)
            } && connection.output.append(payload, pool: pool)
        guard appended else {
            fail(connection, "out of memory for its output buffer")
            return
        }
        connection.sendTimes.append(sentAtNs)
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
            let n = connection.output.withReadableSegments { first, second in
                var vectors = (
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count)
                )
                return withUnsafePointer(to: &vectors) {
                    $0.withMemoryRebound(to: iovec.self, capacity: 2) {
                        keel_sendv(connection.fd, $0, second.isEmpty ? 1 : 2)
                    }
                }
            }
            if n == -Int(EINTR) { continue }
            if n == -Int(EAGAIN) { break }
            guard n > 0 else {
                serverClosed(connection)
                return
            }
            connection.output.consume(n, pool: pool)
        }
        let pending = !connection.output.isEmpty
        if pending != connection.writeArmed { setInterest(connection, write: pending) }
    }

    // MARK: open loop

    /// Messages the open loop may fall behind its schedule in all, and bytes
    /// of unsent output per connection, before it counts messages as skipped
    /// instead of queuing them: a generator (or server) that cannot keep up
    /// fails the run rather than growing without bound.
    static let maxBacklogPerConnection: UInt64 = 4_096
    static let maxUnsentBytesPerConnection = 4 << 20

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
