// The wire formats on real sockets under every loop mode: RESP requests
// split at every byte still get every reply in order; protocol errors get
// redis-server's reply and then a clean close (FIN, not RST); limits refuse
// requests before they are buffered; the line format echoes lines.

import CShims
import Glibc
import KeelExamples
import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct WireFormatIntegrationTests {
    static let pipeline: ([UInt8], [[[UInt8]]]) = {
        var stream: [UInt8] = []
        var commands: [[[UInt8]]] = []
        for index in 0..<12 {
            let command = [bytes("SET"), bytes("key:\(index)"), payload(count: index * 7, seed: UInt64(index))]
            stream += multibulk(command)
            commands.append(command)
            if index % 4 == 0 {
                stream += bytes("PING \"a b\"\r\n\r\n")
                commands.append([bytes("PING"), bytes("a b")])
            }
        }
        return (stream, commands)
    }()

    /// The pipeline in one write, and in halves (cuts at every byte, one
    /// read each, are SplitReadTests' on the simulated loop).
    @Test(arguments: LoopMode.all)
    func respPipelinesGetEveryReply(mode: LoopMode) throws {
        let (stream, commands) = Self.pipeline
        let expected = RESPArgumentsEcho.replies(to: commands)
        let totals = try withServer(testConfiguration(mode), format: RESPFormat(), handler: RESPArgumentsEcho()) {
            _, port in
            for cut in [stream.count, stream.count / 2] {
                let client = try TestClient(port: port)
                try client.send(Array(stream[..<cut]))
                try client.send(Array(stream[cut...]))
                #expect(try client.read(exactly: expected.count) == expected, "split at \(cut)")
            }
        }
        #expect(totals.closed(.protocolError) == 0)
    }

    @Test(arguments: LoopMode.all)
    func respProtocolErrorsAreAnsweredThenClosedCleanly(mode: LoopMode) throws {
        let totals = try withServer(testConfiguration(mode), format: RESPFormat(), handler: RESPArgumentsEcho()) {
            _, port in
            let client = try TestClient(port: port)
            try client.send(bytes("PING\r\n*1\r\nfoo\r\nPING\r\n"))
            let reply = try client.readToEnd()  // EOF: a FIN, a reset would throw
            #expect(reply == bytes("*1\r\n$4\r\nPING\r\n-ERR Protocol error: expected '$', got 'f'\r\n"))
            let other = try TestClient(port: port)
            try other.send(bytes("QUIT\r\n"))
            #expect(try other.readToEnd() == bytes("+OK\r\n"), "others are not affected; QUIT closes cleanly")
        }
        #expect(totals.closed(.protocolError) == 1)
    }

    @Test(arguments: LoopMode.all)
    func respLimitsRefuseRequestsBeforeTheyAreBuffered(mode: LoopMode) throws {
        let format = RESPFormat(maxBulkBytes: 1 << 20, maxRequestBytes: 2 << 20)
        try withServer(testConfiguration(mode), format: format, handler: RESPArgumentsEcho()) { server, port in
            let huge = try TestClient(port: port)
            try huge.send(bytes("*1\r\n$2000000000\r\n") + [UInt8](repeating: 0x41, count: 1_000))
            #expect(try huge.readToEnd() == bytes("-ERR Protocol error: invalid bulk length\r\n"))
            // Three bulks of 1 MiB each are within the bulk limit but not the
            // request limit: refused as soon as the request is known to need
            // more than 2 MiB, with an error reply and a graceful close (a
            // FIN: readToEnd throws on a reset).
            let tooLarge = bytes("-ERR Protocol error: request larger than the maximum\r\n")
            let large = try TestClient(port: port)
            try large.send(
                bytes("*3\r\n$1048576\r\n") + [UInt8](repeating: 0x42, count: 1_048_576) + bytes("\r\n$1048576\r\n"))
            #expect(try large.readToEnd() == tooLarge)
            #expect(server.bufferedBytes <= 2 << 20)
            let many = try TestClient(port: port)
            try many.send(bytes("*3000000000\r\n"))
            #expect(try many.readToEnd() == bytes("-ERR Protocol error: invalid multibulk length\r\n"))
            // Within the count limit, but six bytes an argument at least are
            // more than the request limit: refused at once.
            let announced = try TestClient(port: port)
            try announced.send(bytes("*2000000\r\n"))
            #expect(try announced.readToEnd() == tooLarge)
            let endless = try TestClient(port: port)
            try endless.send([UInt8](repeating: 0x41, count: 70_000))
            #expect(try endless.readToEnd() == bytes("-ERR Protocol error: too big inline request\r\n"))
        }
    }

    @Test(arguments: LoopMode.all)
    func linesAreEchoedWithALineFeed(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) {
            $0.messageProtocol = .line
            $0.maxMessageBytes = 100
        }
        let totals = try withEchoServer(configuration) { _, port in
            let client = try TestClient(port: port)
            try client.send(bytes("hello\nwor"))
            try client.send(bytes("ld\r\n\n"))
            #expect(try client.read(exactly: 13) == bytes("hello\nworld\n\n"))
            let long = try TestClient(port: port)
            try long.send([UInt8](repeating: 0x41, count: 103))
            #expect(try long.readToEnd() == [], "a line longer than the limit closes the connection")
        }
        #expect(totals.closed(.protocolError) == 1)
        #expect(totals.messagesIn == 3)
    }
}
