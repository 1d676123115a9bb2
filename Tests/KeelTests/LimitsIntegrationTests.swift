// Limits and timeouts on real sockets: the client limit switches the listener
// off and back on; idle, first-message and write-stall timeouts close exactly
// the connections they should; the pending-output cap closes an amplified
// connection. Waits are bounded and generous; nothing asserts speed.

import CShims
import Glibc
import KeelExamples
import Logging
import Testing

@testable import Keel

@Suite(.serialized) struct LimitsIntegrationTests {
    @Test(arguments: LoopMode.all)
    func maxClientsPausesTheListenerAndResumesWhenASlotFrees(mode: LoopMode) throws {
        let totals = try withEchoServer(testConfiguration(mode) { $0.maxClients = 3 }) { server, port in
            let first = try (0..<3).map { _ in try TestClient(port: port) }
            for client in first { #expect(try client.roundTrip([1])) }
            #expect(eventually { !server.isAccepting }, "the listener is switched off at the limit")
            // The kernel completes the handshake from the backlog, but Keel
            // does not accept, so no echo comes back.
            let waiting = try TestClient(port: port)
            try waiting.sendFrame([2])
            #expect(!waiting.hasData(withinMs: 300), "a fourth client is not served while three are open")
            first[0].close()
            #expect(try waiting.readFrame() == [2], "the waiting client is served once a slot frees")
            #expect(eventually { !server.isAccepting }, "full again: listener off again")
            for client in first.dropFirst() { client.close() }
            #expect(eventually { server.isAccepting }, "slots free: listener on")
        }
        #expect(totals.listenerPauses >= 2)
        #expect(totals.accepted == 4)
    }

    @Test(arguments: LoopMode.all)
    func fiftyArriveForTenSlotsAndAllAreServedAsSlotsFree(mode: LoopMode) throws {
        try withEchoServer(testConfiguration(mode) { $0.maxClients = 10 }) { server, port in
            var clients = try (0..<50).map { _ in try TestClient(port: port) }
            for (index, client) in clients.enumerated() { try client.sendFrame([UInt8(index)]) }
            var served = 0
            while !clients.isEmpty {
                #expect(eventually { server.openConnections <= 10 })
                // The first ten in line are (or will be) accepted; serve and close them.
                let batch = clients.prefix(10)
                for client in batch {
                    let echoed = try client.readFrame()
                    #expect(echoed.count == 1)
                    client.close()
                    served += 1
                }
                clients.removeFirst(batch.count)
            }
            #expect(served == 50)
        }
    }

    @Test(arguments: LoopMode.all)
    func idleTimeoutClosesSilentClientsAndSparesActiveOnes(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) { $0.idleTimeoutMs = 1_000 }
        let totals = try withEchoServer(configuration) { server, port in
            let silent = try (0..<20).map { _ in try TestClient(port: port) }
            let active = try TestClient(port: port)
            let start = monotonicSeconds()
            var checkedEarly = false
            // The active client sends every 100 ms, well inside the timeout.
            while monotonicSeconds() - start < 2.5 {
                #expect(try active.roundTrip([3]))
                usleep(100_000)
                if !checkedEarly && monotonicSeconds() - start >= 0.5 {
                    // Half the timeout: no silent client may be closed yet (an
                    // EOF or reset would make its socket readable).
                    checkedEarly = true
                    let closedEarly = silent.filter { $0.hasData(withinMs: 0) }.count
                    #expect(closedEarly == 0, "silent clients closed before the idle timeout")
                }
            }
            #expect(checkedEarly)
            for client in silent {
                #expect(client.waitForClose(), "a silent client is closed by the idle timeout")
            }
            #expect(try active.roundTrip([4]), "the active client is still open")
            #expect(eventually { server.openConnections == 1 })
        }
        #expect(totals.closed(.idleTimeout) == 20)
    }

    @Test(arguments: LoopMode.all)
    func firstMessageTimeoutIsShorterThanTheIdleTimeout(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.firstMessageTimeoutMs = 300
            $0.idleTimeoutMs = 60_000
        }
        let totals = try withEchoServer(configuration) { _, port in
            let greeter = try TestClient(port: port)
            #expect(try greeter.roundTrip([1]))
            let mute = try TestClient(port: port)
            #expect(mute.waitForClose(), "no first message within 300 ms: closed")
            usleep(400_000)
            #expect(try greeter.roundTrip([2]), "after its first message the idle timeout (60 s) applies")
        }
        #expect(totals.closed(.firstMessageTimeout) == 1)
    }

    @Test(arguments: LoopMode.all)
    func writeTimeoutClosesAClientThatStopsReading(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.writeTimeoutMs = 500
            $0.outputHighWatermarkBytes = 64 << 10
            $0.outputLowWatermarkBytes = 16 << 10
        }
        let totals = try withEchoServer(configuration) { server, port in
            let stalled = try TestClient(port: port, timeoutSeconds: 20)
            // Several MiB of echo that the client never reads: the socket
            // fills, the output stalls, and the write timeout closes it.
            let frame = stalled.frame(payload(count: 60_000, seed: 1))
            let writer = WriterThread(fd: stalled.fd, bytes: Array((0..<100).map { _ in frame }.joined()))
            #expect(eventually(seconds: 20) { server.openConnections == 0 }, "the stalled client is closed")
            _ = writer.join()
        }
        #expect(totals.closed(.writeTimeout) == 1)
    }

    /// A frame over the limit closes its connection gracefully, though the
    /// length format has no error reply: FIN, then the rest of what the
    /// client sent is read and dropped. (Closed at once with its bytes
    /// unread, the kernel would answer with RST and destroy the replies to
    /// the requests before it.)
    @Test(arguments: LoopMode.all)
    func anOversizeFrameEndsWithAFINNotAReset(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) { $0.maxMessageBytes = 1024 }
        let totals = try withEchoServer(configuration) { _, port in
            let client = try TestClient(port: port)
            let oversize = client.frame([UInt8](repeating: 9, count: 200_000))  // far more than one read
            try client.send(client.frame([1, 2, 3]) + oversize)
            #expect(try client.readToEnd() == client.frame([1, 2, 3]), "the reply before it, then EOF (no reset)")
        }
        #expect(totals.closed(.oversizeMessage) == 1)
    }

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
        let warnings = records.withLock { $0 }.filter { $0.message.contains("output pushed to it passed") }
        #expect(warnings.count == 1, "one warning for the cut connection")
        #expect(warnings.first?.metadata["reason"] == "output-overflow")
    }

    @Test(arguments: LoopMode.all)
    func handlerGreetsOnOpenAndClosesAfterItsReplyIsWritten(mode: LoopMode) throws {
        let totals = try withServer(testConfiguration(mode), handler: GreetThenCloseHandler()) { _, port in
            let client = try TestClient(port: port)
            #expect(try client.readFrame() == Array("hello".utf8))
            try client.sendFrame(Array("bye".utf8))
            try client.sendFrame(Array("never delivered".utf8))
            #expect(try client.readFrame() == Array("bye".utf8), "the reply sent before close() is written")
            #expect(client.waitForClose())
        }
        #expect(totals.closed(.closedByHandler) == 1)
        #expect(totals.messagesIn == 1, "messages after close() are not delivered")
    }
}

/// Replies to each message with `copies` copies of it.
struct AmplifyingHandler: ConnectionHandler {
    let copies: Int

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        for _ in 0..<copies where connection.send(payload) == .queued {}
    }
}

/// Sends "hello" on open; echoes the first message and then closes.
struct GreetThenCloseHandler: ConnectionHandler {
    mutating func connectionOpened(_ connection: Connection) {
        connection.send(Array("hello".utf8))
    }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
        connection.close()
    }
}

@Suite(.serialized) struct BackpressureTests {
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
}
