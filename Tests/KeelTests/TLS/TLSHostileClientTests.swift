// Hostile TLS clients, each against a server that goes on serving its
// neighbours: records of one byte, a client that never reads its replies,
// an oversized record, a crowd that stalls in the middle of the handshake.

import COpenSSL
import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized, .enabled(if: TLSTestFiles.shared != nil, "\(TLSTestFiles.skipNote)"))
struct TLSHostileClientTests {
    let files = TLSTestFiles.shared!

    var verifying: TLSTestClient.Options { files.verifyingClient }

    @Test(arguments: [LoopMode.epollLevel, LoopMode.epollEdge, LoopMode.poll])
    func recordsOfOneByteEachAreAssembled(mode: LoopMode) throws {
        try withEchoServer(tlsConfiguration(mode, files)) { _, port in
            let client = try TLSTestClient(port: port, verifying)
            let message = payload(count: 700, seed: 11)
            for byte in TestClient.frame(message, format: .u32le) {
                try client.send([byte])  // one SSL_write, one record, per byte
            }
            #expect(try client.readFrame() == message)
            client.close()
        }
    }

    /// A reset before the handshake completes (nothing sent, half a
    /// hello, a whole hello) is a failed handshake, counted by reason,
    /// not a reset of a connection the handler knows.
    @Test(arguments: [LoopMode.epollLevel, LoopMode.epollEdge, LoopMode.poll])
    func aResetMidHandshakeCountsAsAFailedHandshake(mode: LoopMode) throws {
        try withEchoServer(tlsConfiguration(mode, files)) { server, port in
            let silent = try TestClient(port: port)
            let halfHello = try TestClient(port: port)
            try halfHello.send([22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3])
            let wholeHello = try TLSTestClient(port: port, verifying, handshake: false)
            try wholeHello.sendClientHello()
            // The server has all three and has answered the whole hello.
            #expect(wholeHello.tcp.hasData(withinMs: 5_000))
            #expect(eventually { server.statistics().accepted == 3 })
            silent.reset()
            halfHello.reset()
            wholeHello.tcp.reset()
            #expect(eventually { server.statistics().tlsHandshakeFailures[.peerClosed] == 3 })
            let statistics = server.statistics()
            #expect(statistics.closed(.peerReset) == 0 && statistics.closed(.tlsHandshakeFailed) == 3)
            let neighbour = try TLSTestClient(port: port, verifying)
            #expect(try neighbour.roundTrip([4, 5]))
            neighbour.close()
        }
    }

    @Test func aClientThatNeverReadsIsHeldToTheBoundAndCutAtTheWriteTimeout() throws {
        var configuration = tlsConfiguration(.epollLevel, files)
        configuration.writeTimeoutMs = 400
        let bound = backpressureBound(configuration, largestMessage: 60_000)
        try withEchoServer(configuration) { server, port in
            let client = try TLSTestClient(port: port, verifying)
            let neighbour = try TLSTestClient(port: port, verifying)
            let message = payload(count: 60_000, seed: 5)
            // Requests until the server stops reading (its replies unread):
            // the client's sends then block and time out.
            var sent = 0
            while sent < 400 {
                do { try client.sendFrame(message) } catch { break }
                sent += 1
            }
            #expect(sent < 400, "the server stopped reading")
            #expect(server.bufferedBytes <= bound, "\(server.bufferedBytes) buffered")
            #expect(try neighbour.roundTrip([1, 2, 3]), "the neighbour is served")
            #expect(eventually { server.statistics().closed(.writeTimeout) == 1 })
            neighbour.close()
        }
    }

    @Test func anOversizedRecordClosesOnlyItsConnection() throws {
        try withEchoServer(tlsConfiguration(.epollLevel, files)) { server, port in
            let client = try TLSTestClient(port: port, verifying)
            let neighbour = try TLSTestClient(port: port, verifying)
            #expect(try client.roundTrip([1]))
            // An application-data record announcing 40,000 bytes (TLS allows 16,640).
            try client.tcp.send([23, 3, 3, 0x9C, 0x40] + [UInt8](repeating: 0x55, count: 1_000))
            // At most an alert record comes back, then the end.
            let answer = (try? client.tcp.readToEnd()) ?? []
            #expect(answer.count < 100, "\(answer.count) bytes after the oversized record")
            #expect(try neighbour.roundTrip([2]))
            neighbour.close()
            #expect(eventually { server.statistics().closed(.peerReset) == 1 })
        }
    }

    @Test func aCrowdStalledMidHandshakeIsCutAtTheTimeoutAndLeavesNothing() throws {
        var configuration = tlsConfiguration(.epollEdge, files) { $0.handshakeTimeoutMs = 500 }
        configuration.maxClients = 400
        try withEchoServer(configuration) { server, port in
            // A TLS record header and the start of a ClientHello, then nothing.
            let start: [UInt8] = [22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3] + [UInt8](repeating: 7, count: 20)
            var crowd: [TestClient] = []
            for _ in 0..<300 {
                let client = try TestClient(port: port)
                try client.send(start)
                crowd.append(client)
            }
            let neighbour = try TLSTestClient(port: port, verifying)
            #expect(try neighbour.roundTrip([9]), "served while the crowd stalls")
            for client in crowd { #expect(client.waitForClose()) }
            #expect(
                eventually { server.statistics().tlsHandshakeFailures[.timeout] == 300 })
            #expect(try neighbour.roundTrip([10]))
            neighbour.close()
        }
    }

    @Test func keyUpdatesAreAnsweredAndRenegotiationIsRefused() throws {
        try withEchoServer(tlsConfiguration(.epollLevel, files)) { _, port in
            // TLS 1.3: a key update that asks for the server's own; the
            // server answers it from inside its read and the stream goes on.
            let client = try TLSTestClient(port: port, verifying)
            for round in 0..<3 {
                #expect(SSL_key_update(client.ssl, SSL_KEY_UPDATE_REQUESTED) == 1)
                #expect(try client.roundTrip(payload(count: 2_000, seed: UInt64(round))), "round \(round)")
            }
            client.close()
            // TLS 1.2: a renegotiation is refused; the connection cannot
            // be made to redo its handshake.
            var tls12 = verifying
            tls12.maxVersion = TLS1_2_VERSION
            let old = try TLSTestClient(port: port, tls12)
            #expect(try old.roundTrip([1]))
            #expect(SSL_renegotiate(old.ssl) == 1)
            #expect(throws: TLSClientError.self) {
                try old.completeHandshake()
                _ = try old.roundTrip([2])
            }
            let neighbour = try TLSTestClient(port: port, verifying)
            #expect(try neighbour.roundTrip([3]))
            neighbour.close()
        }
    }
}
