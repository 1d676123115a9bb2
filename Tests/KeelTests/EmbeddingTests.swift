// The library API as the README shows it.

import CShims
import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct EmbeddingTests {
    @Test func readmeExampleServesAndShutsDown() throws {
        var configuration = Configuration()
        configuration.port = 0
        configuration.threads = 2
        let server = Server(configuration: configuration) { loopIndex in Uppercase() }
        let address = try server.start()
        #expect(address.port != 0, "port 0 reports the port the kernel chose")
        #expect(server.localAddress == address)
        let client = try TestClient(port: address.port)
        #expect(try client.readFrame() == Array("welcome".utf8))
        try client.sendFrame(Array("hello, keel".utf8))
        #expect(try client.readFrame() == Array("HELLO, KEEL".utf8))
        server.shutdown()
        server.shutdown()
        let totals = server.wait()
        #expect(totals.accepted == 1 && totals.closed(.serverShutdown) == 1)
        #expect(server.wait() == totals, "wait after stop returns the same totals")
        #expect(client.waitForClose())
    }

    @Test func invalidConfigurationAndAddressInUseAreReportedByStart() throws {
        var bad = Configuration()
        bad.maxClients = 0
        #expect(throws: ServerError.self) { try Server(configuration: bad).start() }

        let first = Server(configuration: testConfiguration())
        let address = try first.start()
        var same = testConfiguration()
        same.port = address.port
        #expect(throws: ServerError.addressInUse(address)) { try Server(configuration: same).start() }
        first.shutdown()
        first.wait()
    }

    @Test func shutdownLetsPendingOutputDrainFirst() throws {
        let configuration = testConfiguration { $0.shutdownTimeoutMs = 10_000 }
        let server = Server(configuration: configuration)
        let port = try server.start().port
        let client = try TestClient(port: port, timeoutSeconds: 20)
        // 4 MiB of replies the client does not read yet, then shutdown.
        let messages = (0..<64).map { payload(count: 64 << 10, seed: UInt64($0)) }
        let writer = WriterThread(fd: client.fd, bytes: messages.flatMap { client.frame($0) })
        #expect(eventually { server.bufferedBytes > 0 }, "output is pending")
        server.shutdown()
        // Every message the server read before it stopped reading is answered,
        // in order, and then the connection closes cleanly (FIN, not RST).
        var received = 0
        var end = "all \(messages.count) answered"
        while received < messages.count {
            do {
                let echoed = try client.readFrame()
                #expect(echoed == messages[received], "message \(received)")
                received += 1
            } catch {
                end = "\(error)"
                break
            }
        }
        if received == messages.count {
            var byte: UInt8 = 0
            let n = keel_read(client.fd, &byte, 1)
            end = n == 0 ? "EOF after 0 of 1 bytes" : "read gave \(n)"
        }
        // A FIN at a frame boundary: EOF before a header's first byte. A reset
        // would read as ECONNRESET, a cut frame as EOF after some bytes.
        #expect(end.hasPrefix("EOF after 0 of"), "the connection ended with: \(end)")
        _ = writer.join()
        let totals = server.wait()
        #expect(received == totals.messagesIn, "every message read was answered before closing")
        #expect(received > 0)
        #expect(totals.closed(.serverShutdown) == 1)
    }
}
