// Clients that found defects: a header announcing a huge frame followed by a
// byte, a client that reads its replies slower than the idle timeout, urgent
// (out-of-band) data under edge-triggered epoll, and a reader fast enough to
// keep one connection writing forever. Each runs under every loop mode.

import CShims
import Glibc
import Testing

@testable import Keel

@Suite(.serialized) struct HostileClientTests {
    /// The partial frame's buffer grows with the bytes that arrive, never
    /// from the announced length: a header announcing 1 GiB and two bytes
    /// costs one small block.
    @Test(arguments: LoopMode.all)
    func aHugeAnnouncementCostsOnlyTheBytesThatArrive(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.maxMessageBytes = 1 << 30
            $0.maxPendingOutputBytes = 2 << 30
        }
        try withEchoServer(configuration) { server, port in
            let client = try TestClient(port: port)
            try client.send([0xFF, 0xFF, 0xFF, 0x3F, 1, 2])  // announces 1 GiB - 1
            #expect(eventually { server.bufferedBytes > 0 }, "the partial frame is parked")
            #expect(server.bufferedBytes <= 4_096, "header + 2 bytes held in \(server.bufferedBytes) bytes")
            // More body arrives in a second read, where the frame is completed
            // from its header: still only what arrived is held.
            try client.send([UInt8](repeating: 7, count: 100_000))
            #expect(eventually { server.bufferedBytes >= 100_000 })
            #expect(server.bufferedBytes <= 256 << 10, "100 kB of body held in \(server.bufferedBytes) bytes")
            client.close()
        }
    }

    /// A client that stops reading for longer than the idle timeout while
    /// its pipelined replies back up (so Keel pauses reading it) is not
    /// idle: once it reads again it gets every reply. Closing it instead
    /// would reset it (its unread requests make the kernel answer the close
    /// with RST) and destroy replies already written.
    @Test(arguments: LoopMode.all)
    func aClientThatPausesReadingItsRepliesIsNotIdle(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.idleTimeoutMs = 1_000
            $0.outputHighWatermarkBytes = 128 << 10
            $0.outputLowWatermarkBytes = 32 << 10
        }
        // 8 MB: more than the kernel's buffers hold (the server's send
        // buffer grows to 4 MiB at most), so replies back up in Keel. Built
        // before connecting: under a sanitizer on a loaded machine building
        // it takes longer than the idle timeout, which starts at the accept.
        let stream = (0..<1_000).flatMap { TestClient.frame(payload(count: 8_000, seed: UInt64($0)), format: .u32le) }
        let totals = try withEchoServer(configuration) { server, port in
            let client = try TestClient(port: port, timeoutSeconds: 20, receiveBufferBytes: 32 << 10)
            let writer = WriterThread(fd: client.fd, bytes: stream)
            #expect(eventually { server.bufferedBytes > 128 << 10 }, "the replies back up in Keel")
            usleep(2_500_000)  // two and a half idle timeouts without reading (Keel has paused reading it)
            let received = try client.read(exactly: stream.count)
            #expect(writer.join() == stream.count, "every request was taken")
            #expect(received == stream, "every reply arrives, in order")
        }
        #expect(totals.closed(.idleTimeout) == 0)
        #expect(totals.closed(.peerReset) == 0)
    }

    /// A client that reads steadily but slower than its replies come is not
    /// stalled: Keel hears that a socket has room only when a third of its
    /// (multi-MiB) buffer is free, which takes longer than the write timeout
    /// here, so the timeout must not take "no room announced" for "no
    /// progress". It gets every reply.
    @Test(arguments: LoopMode.all)
    func aSlowSteadyReaderIsNotCutOffByTheWriteTimeout(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.writeTimeoutMs = 1_500
            $0.outputHighWatermarkBytes = 256 << 10
            $0.outputLowWatermarkBytes = 64 << 10
        }
        let totals = try withEchoServer(configuration) { server, port in
            // A small receive buffer, so that reading 10 kB reopens the TCP
            // window within a few reads. With the kernel's autotuned buffer
            // (MiBs) the receiver reopens it only once a sixteenth of it is
            // free (silly-window avoidance): seconds at this pace, a stall
            // the write timeout would rightly end.
            let client = try TestClient(port: port, timeoutSeconds: 20, receiveBufferBytes: 64 << 10)
            // 16 MB: more than the kernel's buffers between them take (the
            // server's send buffer grows to 4 MiB), so replies back up in Keel.
            let stream = (0..<2_000).flatMap { client.frame(payload(count: 8_000, seed: UInt64($0))) }
            let writer = WriterThread(fd: client.fd, bytes: stream)
            #expect(eventually { server.bufferedBytes > 256 << 10 }, "the replies back up in Keel")
            usleep(500_000)  // every buffer fills
            var received: [UInt8] = []
            received.reserveCapacity(stream.count)
            // 10 kB every 50 ms for 3 s (twice the write timeout): steady,
            // far slower than the replies.
            for _ in 0..<60 {
                received += try client.read(exactly: 10_000)
                usleep(50_000)
            }
            received += try client.read(exactly: stream.count - received.count)
            #expect(writer.join() == stream.count)
            #expect(received == stream, "every reply arrives, in order")
        }
        #expect(totals.closed(.writeTimeout) == 0)
    }

    /// Shutdown while a client still sends (it pipelined without reading,
    /// then trickles): Keel must not close with unread input, which resets
    /// the connection and destroys replies already written. The client gets
    /// a whole number of replies, at least one per message sent before the
    /// shutdown, then a clean EOF.
    @Test(arguments: LoopMode.all)
    func shutdownDoesNotResetAClientThatIsStillSending(mode: LoopMode) throws {
        let server = Server(configuration: testConfiguration(mode))
        let port = try server.start().port
        let client = try TestClient(port: port, timeoutSeconds: 20)
        let first = (0..<1_500).flatMap { client.frame(payload(count: 1_000, seed: UInt64($0))) }
        try client.send(first)
        let fd = client.fd
        let trickle = LoopThread(name: "trickle") {
            let frame = TestClient.frame([UInt8](repeating: 1, count: 1_000), format: .u32le)
            for _ in 0..<1_000 {
                if frame.withUnsafeBytes({ keel_send(fd, $0.baseAddress, $0.count) }) < 0 { return }
                usleep(2_000)
            }
        }
        usleep(200_000)
        server.shutdown()
        let received = try client.readToEnd()  // a reset would throw
        trickle.join()
        server.wait()
        #expect(received.count % 1_004 == 0, "whole replies only: \(received.count) bytes")
        #expect(received.count >= first.count, "every reply to the first 1,500 messages")
        #expect(Array(received[..<first.count]) == first)
    }

    /// Requests whose replies are far larger than themselves (as LRANGE on
    /// a big list), pipelined by a client that does not read: one read holds
    /// 500 of them, whose replies (10 MB) are ten times the hard cap.
    /// Delivery pauses at the high watermark (the rest of the read waits, in
    /// order) instead of piling every reply of the read up, so the
    /// connection is not cut off and gets every reply.
    @Test(arguments: LoopMode.all)
    func amplifyingRequestsWaitForTheirRepliesToDrain(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.outputHighWatermarkBytes = 256 << 10
            $0.outputLowWatermarkBytes = 64 << 10
            $0.maxMessageBytes = 20_000
            $0.maxPendingOutputBytes = 1 << 20
        }
        let totals = try withServer(configuration, handler: BlobHandler(replyBytes: 20_000)) { server, port in
            let client = try TestClient(port: port, timeoutSeconds: 20)
            let requests = (0..<500).map { index in (0..<4).map { UInt8(truncatingIfNeeded: index >> ($0 * 8)) } }
            try client.send(requests.flatMap { client.frame($0) })
            var peak = 0
            #expect(
                eventually {
                    peak = max(peak, server.bufferedBytes)
                    return server.bufferedBytes > 200 << 10
                })
            usleep(300_000)
            peak = max(peak, server.bufferedBytes)
            for request in requests {
                let reply = try client.readFrame()
                #expect(reply.count == 20_000 && Array(reply[..<4]) == request)
            }
            // The cap (1 MiB) is never reached: the watermark plus one reply.
            #expect(peak < 1 << 20, "peak \(peak) bytes buffered")
        }
        #expect(totals.closed(.outputOverflow) == 0)
        #expect(totals.messagesIn == 500)
    }

    /// A read stops at TCP's urgent mark with data behind it; under
    /// edge-triggered epoll a short read must not be taken for "drained".
    /// The three segments go out back to back, so that they are usually all
    /// queued before the server reads: then no later edge announces "d".
    @Test(arguments: LoopMode.all)
    func urgentDataDoesNotStallAConnection(mode: LoopMode) throws {
        try withEchoServer(testConfiguration(mode)) { _, port in
            for round in 0..<20 {
                let client = try TestClient(port: port, timeoutSeconds: 3)
                try client.send([3, 0, 0, 0] + Array("ab".utf8))
                var urgent = UInt8(ascii: "c")
                #expect(Glibc.send(client.fd, &urgent, 1, Int32(MSG_OOB)) == 1)
                try client.send(Array("d".utf8))
                // "c" went out of band; the stream holds "abd", one whole frame.
                #expect(try client.readFrame() == Array("abd".utf8), "round \(round)")
                #expect(try client.roundTrip(Array("after".utf8)))
            }
        }
    }

    /// With one write per wakeup, an edge-triggered connection with a large
    /// backlog is revisited each iteration and still delivers every byte.
    @Test(arguments: [LoopMode.epollEdge, LoopMode(backend: .epoll, edgeTriggered: true, echoInPlace: false)])
    func edgeTriggeredWritesRespectTheirBudget(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) { $0.maxWritesPerWake = 1 }
        try withEchoServer(configuration) { _, port in
            let client = try TestClient(port: port, timeoutSeconds: 20)
            let stream = (0..<40).flatMap { client.frame(payload(count: 50_000, seed: UInt64($0))) }
            let writer = WriterThread(fd: client.fd, bytes: stream)
            let received = try client.read(exactly: stream.count)
            #expect(writer.join() == stream.count)
            #expect(received == stream)
        }
    }
}

/// Answers each request with `replyBytes` bytes: the request, then zeros.
struct BlobHandler: ConnectionHandler {
    let replyBytes: Int

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        var reply = [UInt8](repeating: 0, count: replyBytes)
        for index in 0..<min(payload.count, replyBytes) { reply[index] = payload[index] }
        connection.send(reply)
    }
}
