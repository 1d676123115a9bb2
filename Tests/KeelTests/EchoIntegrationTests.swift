// Echo over real loopback sockets against an in-process server on port 0.
// Every test ends by checking that connections, timeout nodes and buffer
// bytes went back to zero (withEchoServer), with invariants checked after
// every loop iteration.

import CShims
import Glibc
import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct EchoIntegrationTests {
    @Test(arguments: LoopMode.all)
    func singleEcho(mode: LoopMode) throws {
        let totals = try withEchoServer(testConfiguration(mode)) { _, port in
            let client = try TestClient(port: port)
            #expect(try client.roundTrip(Array("hello, keel".utf8)))
        }
        #expect(totals.messagesIn == 1 && totals.messagesOut == 1)
        #expect(totals.closed(.peerClosed) == 1)
    }

    @Test(arguments: LoopMode.all)
    func zeroLengthFrame(mode: LoopMode) throws {
        try withEchoServer(testConfiguration(mode)) { _, port in
            let client = try TestClient(port: port)
            #expect(try client.roundTrip([]))
            #expect(try client.roundTrip([42]), "the connection still works after an empty frame")
        }
    }

    @Test(arguments: LoopMode.all)
    func thousandFramesCoalescedInOneWrite(mode: LoopMode) throws {
        let totals = try withEchoServer(testConfiguration(mode)) { _, port in
            let client = try TestClient(port: port)
            let messages = (0..<1_000).map { payload(count: $0 % 97, seed: UInt64($0)) }
            try client.send(messages.flatMap { client.frame($0) })
            for (index, message) in messages.enumerated() {
                let echoed = try client.readFrame()
                #expect(echoed == message, "message \(index)")
                if echoed != message { return }
            }
        }
        #expect(totals.messagesIn == 1_000)
    }

    @Test(arguments: LoopMode.all)
    func maximumSizeFrame(mode: LoopMode) throws {
        // The default maximum (1 MiB), through the default configuration.
        try withEchoServer(testConfiguration(mode) { $0.maxClients = 8 }) { _, port in
            let client = try TestClient(port: port)
            let message = payload(count: 1 << 20, seed: 3)
            #expect(try client.roundTrip(message))
        }
    }

    @Test(arguments: LoopMode.all, [UInt32(4097), 0xFFFF_FFFF])
    func oversizeFrameClosesOnlyItsConnection(mode: LoopMode, announced: UInt32) throws {
        let configuration = testConfiguration(mode) { $0.maxMessageBytes = 4096 }
        let totals = try withEchoServer(configuration) { server, port in
            let bystander = try TestClient(port: port)
            #expect(try bystander.roundTrip([1, 2, 3]))
            let offender = try TestClient(port: port)
            var header = [UInt8](repeating: 0, count: 4)
            header.withUnsafeMutableBytes { $0.storeBytes(of: announced.littleEndian, as: UInt32.self) }
            try offender.send(header + [9, 9, 9])
            #expect(offender.waitForClose(), "the oversize frame's connection is closed")
            #expect(try bystander.roundTrip(payload(count: 4096, seed: 4)), "other connections are untouched")
            #expect(eventually { server.openConnections == 1 })
        }
        #expect(totals.closed(.oversizeMessage) == 1)
    }

    @Test(arguments: LoopMode.all)
    func unreadMegabytesComeBackInOrderOnceTheClientReads(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.outputHighWatermarkBytes = 256 << 10
            $0.outputLowWatermarkBytes = 64 << 10
        }
        try withEchoServer(configuration) { server, port in
            let client = try TestClient(port: port, timeoutSeconds: 30)
            let messages = (0..<128).map { payload(count: 64 << 10, seed: UInt64($0)) }
            let stream = messages.flatMap { client.frame($0) }
            // 8 MiB sent by another thread while this one does not read yet:
            // the server must stop reading (backpressure) rather than buffer it all.
            let writer = WriterThread(fd: client.fd, bytes: stream)
            // Sampled while the writer pushes: about the high watermark at most,
            // never the 8 MiB.
            var peak = 0
            for _ in 0..<50 {
                peak = max(peak, server.bufferedBytes)
                usleep(10_000)
            }
            let bound = backpressureBound(configuration, largestMessage: 64 << 10)
            #expect(peak <= bound, "buffered \(peak) bytes while the client did not read, bound \(bound)")
            #expect(peak > 0, "the samples saw the backlog")
            for (index, message) in messages.enumerated() {
                let echoed = try client.readFrame()
                #expect(echoed == message, "message \(index)")
                if echoed != message { break }
            }
            #expect(writer.join() == stream.count, "the writer got every byte through")
        }
    }

    @Test(arguments: LoopMode.all)
    func abruptResetMidFrameReleasesTheConnection(mode: LoopMode) throws {
        let totals = try withEchoServer(testConfiguration(mode)) { server, port in
            let bystander = try TestClient(port: port)
            let client = try TestClient(port: port)
            let frame = client.frame(payload(count: 10_000, seed: 5))
            try client.send(Array(frame[..<5_000]))
            #expect(eventually { server.bufferedBytes > 0 }, "the partial frame is buffered")
            client.reset()
            #expect(eventually { server.openConnections == 1 })
            #expect(try bystander.roundTrip([7]))
        }
        #expect(totals.closed(.peerReset) == 1)
    }

    @Test(arguments: LoopMode.all)
    func partialHeaderOrBodyThenEOFClosesCleanly(mode: LoopMode) throws {
        try withEchoServer(testConfiguration(mode)) { server, port in
            for cut in [2, 6] {
                let client = try TestClient(port: port)
                let frame = client.frame(payload(count: 10, seed: 6))
                try client.send(Array(frame[..<cut]))
                shutdown(client.fd, Int32(SHUT_WR))
                #expect(client.waitForClose(), "cut at \(cut): EOF is answered with a close")
            }
        }
    }

    @Test(arguments: LoopMode.all)
    func halfClosedClientStillGetsEveryReply(mode: LoopMode) throws {
        try withEchoServer(testConfiguration(mode)) { _, port in
            let client = try TestClient(port: port)
            let messages = (0..<50).map { payload(count: 1_000, seed: UInt64($0)) }
            try client.send(messages.flatMap { client.frame($0) })
            shutdown(client.fd, Int32(SHUT_WR))
            for message in messages {
                #expect(try client.readFrame() == message)
            }
            #expect(client.waitForClose())
        }
    }

    @Test(arguments: LoopMode.all)
    func hundredsOfConcurrentConnections(mode: LoopMode) throws {
        let totals = try withEchoServer(testConfiguration(mode)) { server, port in
            let clients = try (0..<300).map { _ in try TestClient(port: port) }
            for (index, client) in clients.enumerated() {
                try client.sendFrame(payload(count: 100, seed: UInt64(index)))
            }
            for (index, client) in clients.enumerated() {
                #expect(try client.readFrame() == payload(count: 100, seed: UInt64(index)))
            }
            #expect(eventually { server.openConnections == 300 })
            for client in clients { client.close() }
        }
        #expect(totals.accepted == 300 && totals.closed == 300)
    }

    @Test(arguments: LoopMode.all, FrameFormat.all)
    func echoInEveryFrameFormat(mode: LoopMode, format: FrameFormat) throws {
        try withEchoServer(testConfiguration(mode) { $0.frame = format }) { _, port in
            let client = try TestClient(port: port, format: format)
            for length in [0, 1, 255, 300].filter({ UInt64($0) <= format.largestLength }) {
                #expect(
                    try client.roundTrip(payload(count: length, seed: UInt64(length))), "\(format) length \(length)")
            }
        }
    }

    @Test(arguments: LoopMode.all)
    func slotsReusedUnderChurnServeOnlyTheirNewClient(mode: LoopMode) throws {
        // Close and reconnect several clients back to back, so closes and
        // accepts for the same slots often land within single wakeups: each
        // new client gets its own echo and nothing meant for the old one
        // (whether a stale event occurs in a given run is up to timing; the
        // generation check that drops them is unit-tested in ClientSlabTests).
        try withEchoServer(testConfiguration(mode) { $0.maxClients = 4 }) { _, port in
            for round in 0..<50 {
                let clients = try (0..<4).map { _ in try TestClient(port: port) }
                for client in clients { try client.sendFrame([UInt8(round)]) }
                for client in clients.prefix(2) { client.reset() }
                for client in clients.suffix(2) {
                    #expect(try client.readFrame() == [UInt8(round)])
                    client.close()
                }
            }
        }
    }
}

/// Writes a byte stream on its own thread (blocking), so a test can hold
/// back reading while the server receives.
final class WriterThread {
    private let thread: LoopThread
    private let written = Locked(0)

    init(fd: Int32, bytes: [UInt8]) {
        let written = self.written
        thread = LoopThread(name: "test-writer") {
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { keel_send(fd, $0.baseAddress! + sent, bytes.count - sent) }
                if n == -Int(EINTR) { continue }
                if n <= 0 { break }
                sent += n
            }
            written.withLock { $0 = sent }
        }
    }

    /// Waits for the writer; returns how many bytes it sent.
    func join() -> Int {
        thread.join()
        return written.withLock { $0 }
    }
}
