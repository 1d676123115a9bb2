// The PROXY protocol on real sockets: the header's client address reaches
// the handler, a header split across reads waits for its rest, data after the
// header is framed, and a connection without a valid header is closed alone,
// unseen by the handler, while its neighbours are served.

import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct ProxyProtocolIntegrationTests {
    private func configuration(_ mode: LoopMode = .epollLevel, _ proxy: ProxyProtocol) -> Configuration {
        testConfiguration(mode) {
            $0.proxyProtocol = proxy
            $0.statisticsIntervalMs = 10
        }
    }

    @Test(arguments: LoopMode.all)
    func v2HeaderNamesTheClientAndWhatFollowsIsFramed(mode: LoopMode) throws {
        let recorder = ProxyRecorder()
        try withServer(configuration(mode, .v2), handler: AddressRecordingEcho(recorder: recorder)) { _, port in
            let client = try TestClient(port: port)
            let message = payload(count: 300, seed: 7)
            // Header and two frames in one write.
            try client.send(proxyV2(body: proxyV2IPv4Body) + client.frame([1, 2, 3]) + client.frame(message))
            #expect(try client.readFrame() == [1, 2, 3])
            #expect(try client.readFrame() == message)
            let opened = recorder.opened.withLock { $0 }
            #expect(opened.count == 1)
            #expect(opened.first?.client == SocketAddress(host: "203.0.113.7", port: 4242))
            #expect(opened.first?.header?.destination == SocketAddress(host: "127.0.0.1", port: 7000))
            #expect(opened.first?.peer?.host == "127.0.0.1", "the socket's peer is still the balancer")
            client.close()
            #expect(eventually { recorder.closed.withLock { $0 } == 1 })
        }
    }

    @Test(arguments: LoopMode.all)
    func aHeaderSplitAcrossReadsWaitsForItsRest(mode: LoopMode) throws {
        let recorder = ProxyRecorder()
        try withServer(configuration(mode, .auto), handler: AddressRecordingEcho(recorder: recorder)) { server, port in
            let client = try TestClient(port: port)
            let header = Array("PROXY TCP6 2001:db8::7 ::1 50000 7000\r\n".utf8)
            try client.send(Array(header[..<9]))
            #expect(eventually { server.bufferedBytes > 0 }, "the first piece is kept")
            try client.send(Array(header[9..<30]))
            #expect(!client.hasData(withinMs: 100))
            #expect(recorder.opened.withLock { $0.isEmpty }, "the handler hears of it only with a whole header")
            let framed = client.frame(Array("after the header".utf8))
            try client.send(Array(header[30...]) + framed[..<3])
            try client.send(Array(framed[3...]))
            #expect(try client.readFrame() == Array("after the header".utf8))
            #expect(recorder.opened.withLock { $0.first?.client } == SocketAddress(host: "2001:db8::7", port: 50_000))
            client.close()
        }
    }

    @Test func aConnectionWithoutAValidHeaderIsClosedAloneAndUnseen() throws {
        let recorder = ProxyRecorder()
        let totals = try withServer(
            configuration(.epollLevel, .auto), handler: AddressRecordingEcho(recorder: recorder)
        ) {
            server, port in
            let good = try TestClient(port: port)
            try good.send(Array("PROXY TCP4 198.51.100.9 127.0.0.1 1234 7000\r\n".utf8))
            #expect(try good.roundTrip([9]))
            let refused: [[UInt8]] = [
                TestClient.frame([1, 2, 3], format: .u32le),  // a client that skipped the balancer
                Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                Array(("PROXY UNKNOWN " + String(repeating: "x", count: 150)).utf8),  // no CRLF in 107 bytes
                proxyV2(command: 3, body: []),
            ]
            for bytes in refused {
                let client = try TestClient(port: port)
                try client.send(bytes)
                #expect(client.waitForClose(), "closed after \(bytes.prefix(8))")
            }
            #expect(eventually { server.statistics().closed(.badProxyHeader) == refused.count })
            #expect(try good.roundTrip([10]), "the neighbour is still served")
            #expect(recorder.opened.withLock { $0.count } == 1, "refused connections never reach the handler")
            #expect(recorder.closed.withLock { $0 } == 0)
            good.close()
        }
        #expect(totals.closed(.badProxyHeader) == 4)
        #expect(recorder.closed.withLock { $0 } == 1, "only the connection it saw open")
    }

    @Test func aLocalHeaderKeepsTheSocketPeerAsTheClient() throws {
        let recorder = ProxyRecorder()
        try withServer(configuration(.epollLevel, .v2), handler: AddressRecordingEcho(recorder: recorder)) { _, port in
            let client = try TestClient(port: port)
            try client.send(proxyV2(command: 0, family: 0, transport: 0, body: []))
            #expect(try client.roundTrip([5]))
            let opened = recorder.opened.withLock { $0 }
            #expect(opened.first?.header == ProxyHeader(version: .v2, source: nil, destination: nil))
            #expect(opened.first?.client != nil && opened.first?.client == opened.first?.peer)
            client.close()
        }
    }

    @Test func withTheProtocolOffAHeaderIsJustBytes() throws {
        let recorder = ProxyRecorder()
        try withServer(configuration(.epollLevel, .off), handler: AddressRecordingEcho(recorder: recorder)) {
            server, port in
            let client = try TestClient(port: port)
            #expect(try client.roundTrip([1]))
            #expect(recorder.opened.withLock { $0.first?.header } == nil)
            // "PROX" read as a little-endian length is far over the maximum message size.
            try client.send(Array("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n".utf8))
            #expect(client.waitForClose())
            #expect(eventually { server.statistics().closed(.oversizeMessage) == 1 })
        }
    }

    @Test func aHandlerThatClosesOnOpenGetsNoMessageThatCameWithTheHeader() throws {
        let messages = Locked(0)
        try withServer(configuration(.epollLevel, .v2), handler: CloseOnOpen(messages: messages)) { _, port in
            let client = try TestClient(port: port)
            try client.send(proxyV2(body: proxyV2IPv4Body) + client.frame([1]) + client.frame([2]))
            #expect(client.waitForClose())
            #expect(messages.withLock { $0 } == 0)
        }
    }
}
