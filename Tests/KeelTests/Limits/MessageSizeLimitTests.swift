// The message size limit on real sockets: a header announcing more than the
// limit is refused before its body is buffered, with a FIN (not a reset)
// after the replies before it; a body is buffered only as its bytes arrive.

import Glibc
import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct MessageSizeLimitTests {
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
}
