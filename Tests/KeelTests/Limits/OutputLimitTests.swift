// What bounds a connection's output: backpressure (reading stops above the
// high watermark, delivery pauses for amplifying requests), the cap on
// output a connection did not ask for, and the write budget per wakeup.

import CShims
import Glibc
import KeelExamples
import KeelTestSupport
import Logging
import Testing

@testable import Keel

@Suite(.serialized) struct OutputLimitTests {
    /// The pending-output cap bounds output a connection did not ask for:
    /// one request's reply larger than the cap (a big LRANGE, say) is served
    /// whole to a client that reads it, as redis-server serves it.
    @Test(arguments: LoopMode.all)
    func aReplyLargerThanThePendingOutputCapIsServedWhole(mode: LoopMode) throws {
        // A handler that answers each message with 64 copies of it (64 KiB),
        // four times the cap.
        let configuration = testConfiguration(mode) {
            $0.readBufferBytes = 4096
            $0.outputHighWatermarkBytes = 8 << 10
            $0.outputLowWatermarkBytes = 4 << 10
            $0.maxMessageBytes = 1024
            $0.maxPendingOutputBytes = 16 << 10
        }
        let totals = try withServer(configuration, handler: AmplifyingHandler(copies: 64)) { _, port in
            let client = try TestClient(port: port)
            let message = payload(count: 1024, seed: 1)
            try client.sendFrame(message)
            for copy in 0..<64 { #expect(try client.readFrame() == message, "copy \(copy)") }
        }
        #expect(totals.closed(.outputOverflow) == 0)
    }

    /// A staging buffer larger than the read buffer (keel-kv's 16 KiB reads
    /// with 64 KiB of staging): one read's replies fill staging several
    /// times over and spill into the output ring, the echo fast path's
    /// in-place replies share staging with a handler's, and every reply
    /// leaves whole and in order, in every loop mode.
    @Test(arguments: LoopMode.all)
    func stagingLargerThanTheReadBufferCarriesRepliesLargerThanARead(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.readBufferBytes = 4096
            $0.outputStagingBytes = (16 << 10) + 64
            $0.maxMessageBytes = 4096
        }
        // Echo: 16 messages of 1,000 to 3,000 bytes in one send (one read
        // holds one or a few of them); the replies, 32 KiB, twice staging.
        let echoed = try withEchoServer(configuration) { _, port in
            let client = try TestClient(port: port)
            for round in 0..<4 {
                let messages = (0..<16).map { payload(count: 1_000 + 133 * $0, seed: UInt64(round * 16 + $0)) }
                try client.send(messages.flatMap { client.frame($0) })
                for (index, message) in messages.enumerated() {
                    #expect(try client.readFrame() == message, "round \(round), message \(index)")
                }
            }
        }
        #expect(echoed.closed(.outputOverflow) == 0)
        // A handler answering each message 8 times: a 4 KiB read holds two
        // of its 1.5 KB messages, about 24 KiB of replies, more than
        // staging holds.
        let totals = try withServer(configuration, handler: AmplifyingHandler(copies: 8)) { _, port in
            let client = try TestClient(port: port)
            let messages = (0..<8).map { payload(count: 1_500, seed: UInt64(100 + $0)) }
            try client.send(messages.flatMap { client.frame($0) })
            for (index, message) in messages.enumerated() {
                for copy in 0..<8 { #expect(try client.readFrame() == message, "message \(index), copy \(copy)") }
            }
        }
        #expect(totals.closed(.outputOverflow) == 0)
    }

    /// Output pushed to a connection that does not read it is cut at the
    /// cap, and the cut is logged at the default level (the recording
    /// handler takes info and above).
    @Test(arguments: LoopMode.all)
    func outputPushedPastTheCapClosesTheConnectionWithAWarning(mode: LoopMode) throws {
        let records = Locked<[(message: String, metadata: Logger.Metadata)]>([])
        let logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) }
        let registry = BroadcastRegistry()
        let configuration = testConfiguration(mode) {
            $0.outputHighWatermarkBytes = 16 << 10
            $0.outputLowWatermarkBytes = 4 << 10
            $0.maxPendingOutputBytes = 64 << 10
        }
        let server = Server(configuration: configuration, logger: logger) { _ in BroadcastHandler(registry: registry) }
        let port = try server.start().port
        let deaf = try TestClient(port: port, receiveBufferBytes: 4096)
        let sender = try TestClient(port: port)
        #expect(eventually { registry.count == 2 })
        // 16 MB: more than the kernel buffers between them can hold.
        for index in 0..<2_000 { try sender.sendFrame(payload(count: 8 << 10, seed: UInt64(index))) }
        #expect(eventually { server.statistics().closed(.outputOverflow) == 1 }, "the deaf client was cut off")
        server.shutdown()
        _ = server.wait()
        deaf.close()
        let warnings = records.withLock { $0 }.filter { $0.message.contains("pending output passed its cap") }
        #expect(warnings.count == 1, "one warning for the cut connection")
        #expect(warnings.first?.metadata["reason"] == "output-overflow")
    }

    /// A handler may cut off a peer that has fallen too far behind: its
    /// queued output is dropped and it closes at once (a graceful close
    /// would hold the output until the write timeout, 30 s), from its own
    /// loop and from another (through the mailbox).
    @Test(arguments: [1, 2])
    func anAbortedConnectionClosesAtOnceWithItsOutputDropped(threads: Int) throws {
        let deaf = Locked<ConnectionID?>(nil)
        let configuration = testConfiguration {
            $0.threads = threads
            $0.maxMessageBytes = 64 << 10
        }
        let totals = try withServer(configuration, handler: CuttingHandler(deaf: deaf)) { server, port in
            let client = try TestClient(port: port, receiveBufferBytes: 4096)
            try client.sendFrame(Array("fill".utf8))
            #expect(eventually { deaf.withLock { $0 } != nil })
            #expect(eventually { server.bufferedBytes >= 2 << 20 }, "the reply waits, unread")
            let deafLoop = try #require(deaf.withLock { $0 }).loop
            // With two loops, a cutter on the other loop (accepts spread
            // the connections; a bounded number of tries).
            func loopOf(_ client: TestClient) throws -> UInt32 {
                try client.sendFrame(Array("loop".utf8))
                return UInt32(try #require(try client.readFrame().first))
            }
            var cutter = try TestClient(port: port)
            var cutterLoop = try loopOf(cutter)
            for _ in 0..<32 where threads == 2 && cutterLoop == deafLoop {
                cutter = try TestClient(port: port)
                cutterLoop = try loopOf(cutter)
            }
            #expect((cutterLoop == deafLoop) == (threads == 1), "cutter on loop \(cutterLoop), deaf on \(deafLoop)")
            try cutter.sendFrame(Array("cut".utf8))
            #expect(try cutter.readFrame() == [UInt8(cutterLoop)])
            #expect(eventually { server.openConnections == 1 }, "the deaf connection closed at once")
            #expect(eventually { server.bufferedBytes < 1 << 20 }, "its output dropped")
            client.close()
            cutter.close()
        }
        #expect(totals.closed(.outputOverflow) == 1)
    }

    @Test(arguments: LoopMode.all)
    func pipeliningWithoutReadingCostsBoundedMemoryWhileOthersAreServed(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.outputHighWatermarkBytes = 256 << 10
            $0.outputLowWatermarkBytes = 64 << 10
        }
        try withEchoServer(configuration) { server, port in
            // Tries to push 1 GiB without ever reading; its sends block (and
            // time out) once Keel stops reading it and the kernel buffers fill.
            let pusher = try TestClient(port: port, timeoutSeconds: 2)
            let chunk = (0..<16).flatMap { _ in pusher.frame(payload(count: 64 << 10, seed: 1)) }
            let fd = pusher.fd
            let pusherThread = LoopThread(name: "pusher") {
                var sent = 0
                while sent < 1 << 30 {
                    let n = chunk.withUnsafeBytes { keel_send(fd, $0.baseAddress, $0.count) }
                    if n <= 0 && n != -Int(EINTR) { break }  // the 2 s send timeout: Keel stopped reading
                    sent += max(0, n)
                }
            }
            let other = try TestClient(port: port)
            var peak = 0
            for index in 0..<200 {
                #expect(try other.roundTrip(payload(count: 1_000, seed: UInt64(index))))
                peak = max(peak, server.bufferedBytes)
            }
            pusherThread.join()
            peak = max(peak, server.bufferedBytes)
            // What the README promises: about the high watermark. Without
            // backpressure the pusher's gigabyte would pile up, or the
            // connection would hit the pending-output cap (16 MiB) and close.
            let bound = backpressureBound(configuration, largestMessage: 64 << 10)
            #expect(peak <= bound, "buffered \(peak) bytes, bound \(bound)")
            #expect(server.openConnections == 2, "the pusher is held, not closed, and the other served")
            pusher.close()
        }
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

/// The first connection to say "fill" gets 4 MiB it then does not read;
/// "cut" from another aborts it; every other message is answered with the
/// loop's index.
private struct CuttingHandler: ConnectionHandler, Sendable {
    let deaf: Locked<ConnectionID?>

    mutating func messageReceived(_ message: UnsafeRawBufferPointer, on connection: Connection) {
        let loop = [UInt8(truncatingIfNeeded: connection.id.loop)]
        switch String(decoding: message, as: UTF8.self) {
        case "fill":
            deaf.withLock { $0 = connection.id }
            let chunk = [UInt8](repeating: 0x61, count: 60 << 10)
            for _ in 0..<70 { connection.send(chunk) }
        case "cut":
            if let id = deaf.withLock({ $0 }) { connection.connections.abort(id) }
            connection.send(loop)
        default:
            connection.send(loop)
        }
    }
}
