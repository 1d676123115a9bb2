// Clients that found defects, beyond what a single limit covers (those are
// in Limits/): a client still sending through shutdown, urgent
// (out-of-band) data under every loop mode, and a handler that greets on
// open and closes after its reply.

import CShims
import Glibc
import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct HostileClientTests {
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
