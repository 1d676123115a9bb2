// Requests cut across reads, at every byte, for every built-in wire format
// and an application's own: on the simulated loop each send is one read
// (the test steps the loop between them), so every cut is exercised exactly,
// with no sleep hoping the kernel keeps two writes apart.

import Glibc
import KeelExamples
import KeelTestSupport
import Testing

@testable import Keel

@Suite struct SplitReadTests {
    /// Sends `stream` cut at every offset, each cut on a fresh connection of
    /// one loop, each part one read, and checks the whole reply.
    private func everyCut<Format: WireFormat, Handler: ConnectionHandler>(
        _ stream: [UInt8], expect expected: [UInt8], format: Format, handler: Handler,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws where Handler.Request == Format.Decoder.Request {
        var configuration = Configuration()
        configuration.releaseMemoryAfterQuietMs = nil
        configuration.statisticsIntervalMs = 1_000_000
        let simulation = try SimulatedLoop(configuration, format: format, handler: handler)
        defer { simulation.finish(sourceLocation: sourceLocation) }
        for cut in 1..<stream.count {
            let peer = try simulation.connect()
            peer.send(Array(stream[..<cut]))
            simulation.step()
            peer.send(Array(stream[cut...]))
            simulation.step()
            #expect(peer.receive().bytes == expected, "cut at \(cut)", sourceLocation: sourceLocation)
            peer.close()
            simulation.step()
        }
        #expect(simulation.statistics.closed(.protocolError) == 0, sourceLocation: sourceLocation)
    }

    @Test func respRequestsCutAtEveryByte() throws {
        let (stream, commands) = WireFormatIntegrationTests.pipeline
        try everyCut(
            stream, expect: RESPArgumentsEcho.replies(to: commands), format: RESPFormat(), handler: RESPArgumentsEcho())
    }

    @Test func linesCutAtEveryByte() throws {
        try everyCut(
            bytes("hello\nworld\r\n\nlast\n"), expect: bytes("hello\nworld\n\nlast\n"), format: LineFormat(),
            handler: EchoHandler())
    }

    @Test(arguments: FrameFormat.all)
    func framesCutAtEveryByte(format: FrameFormat) throws {
        let messages = (0..<4).map { payload(count: 40 * $0, seed: UInt64($0)) }
        let stream = messages.flatMap { frame($0, format: format) }
        try everyCut(
            stream, expect: stream, format: LengthPrefixFormat(frame: format, maxMessageBytes: 1 << 16),
            handler: EchoHandler())
    }

    @Test func netstringsCutAtEveryByte() throws {
        try everyCut(
            bytes("5:hello,3:abc,0:,"), expect: bytes("5:olleh,3:cba,0:,"), format: NetstringFormat(maxBodyBytes: 100),
            handler: ReversingHandler())
    }

    /// A frame arriving one byte a read (every partial header, every partial
    /// body) is delivered once, whole.
    @Test func aFrameSentOneByteAtATime() throws {
        let simulation = try SimulatedLoop(Configuration())
        defer { simulation.finish() }
        let peer = try simulation.connect()
        let message = payload(count: 300, seed: 1)
        let framed = frame(message, format: .u32le)
        for byte in framed {
            peer.send([byte])
            simulation.step()
        }
        #expect(peer.receive().bytes == framed)
        #expect(simulation.statistics.messagesIn == 1)
    }
}
