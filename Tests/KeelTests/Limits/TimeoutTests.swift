// The timeouts on real sockets: idle (a partial message is not activity; a
// connection whose replies are draining is not idle), first message, write
// stall (a slow but steady reader is not a stall), and the linger after a
// graceful close. Waits are bounded and generous; nothing asserts speed.

import CShims
import Glibc
import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct TimeoutTests {
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
    func aTrickleOfBytesDoesNotKeepAConnection(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) { $0.idleTimeoutMs = 1_000 }
        let totals = try withEchoServer(configuration) { _, port in
            let client = try TestClient(port: port)
            // A header announcing 1,000 bytes, then one byte every 100 ms: the
            // message never completes, so the connection is idle throughout.
            try client.send([0xE8, 0x03, 0, 0])
            let start = monotonicSeconds()
            var closedAt: Double?
            while monotonicSeconds() - start < 10 {
                if client.hasData(withinMs: 100) {
                    closedAt = monotonicSeconds()
                    break
                }
                let n = [UInt8(1)].withUnsafeBytes { keel_send(client.fd, $0.baseAddress, 1) }
                if n < 0 {
                    closedAt = monotonicSeconds()
                    break
                }
            }
            let elapsed = try #require(closedAt, "the trickling client was never closed") - start
            #expect(elapsed >= 0.8, "not before the idle timeout: \(elapsed) s")
        }
        #expect(totals.closed(.idleTimeout) == 1)
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

    @Test(arguments: LoopMode.all)
    func lingerEndsAtItsLimitWhenThePeerKeepsSending(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) { $0.lingerTimeoutMs = 500 }
        let totals = try withServer(configuration, handler: ReplyThenCloseHandler()) { _, port in
            let client = try TestClient(port: port)
            #expect(try client.roundTrip([1, 2, 3]))
            // Keel's FIN: the reply came, then EOF.
            var byte: UInt8 = 0
            #expect(keel_read(client.fd, &byte, 1) == 0, "FIN after the reply")
            let finAt = monotonicSeconds()
            // Keep sending: while Keel lingers it reads and drops; once the
            // linger is over it closes, and the kernel answers with RST.
            var resetAt: Double?
            let chunk = [UInt8](repeating: 7, count: 100)
            while monotonicSeconds() - finAt < 10 {
                let n = chunk.withUnsafeBytes { keel_send(client.fd, $0.baseAddress, $0.count) }
                if n < 0 && n != -Int(EINTR) {
                    resetAt = monotonicSeconds()
                    break
                }
                usleep(20_000)
            }
            let lingered = try #require(resetAt, "the connection was never released") - finAt
            #expect(lingered >= 0.4, "input was read and dropped for the linger: \(lingered) s")
            #expect(lingered < 10)
        }
        #expect(totals.closed(.closedByHandler) == 1)
        #expect(totals.accepted == totals.closed)
    }

    @Test func lingerEndsAtThePeersEOF() throws {
        let configuration = testConfiguration { $0.lingerTimeoutMs = 60_000 }
        let totals = try withServer(configuration, handler: ReplyThenCloseHandler()) { server, port in
            let client = try TestClient(port: port)
            #expect(try client.roundTrip([1]))
            #expect(client.waitForClose())
            client.close()  // our FIN ends the linger long before its 60 s
            #expect(eventually { server.openConnections == 0 })
        }
        #expect(totals.closed(.closedByHandler) == 1)
    }
}
