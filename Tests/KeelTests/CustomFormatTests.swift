// An application's own format (KeelExamples.NetstringFormat) on real
// sockets: its decoder, error reply, limit and encoder.

import CShims
import Glibc
import KeelExamples
import KeelTestSupport
import Testing

@testable import Keel

/// An application's own format (KeelExamples.NetstringFormat) on real sockets.
@Suite(.serialized) struct CustomFormatTests {
    @Test(arguments: LoopMode.all)
    func anApplicationsOwnFormatRunsOnTheLoop(mode: LoopMode) throws {
        let totals = try withServer(
            testConfiguration(mode), format: NetstringFormat(maxBodyBytes: 100),
            handler: ReversingHandler()
        ) { _, port in
            let client = try TestClient(port: port)
            try client.send(bytes("5:hello,3:a"))
            try client.send(bytes("bc,0:,"))
            #expect(try client.read(exactly: 17) == bytes("5:olleh,3:cba,0:,"))
            let bad = try TestClient(port: port)
            try bad.send(bytes("3:abc;"))
            #expect(try bad.readToEnd() == bytes("3:ERR,"), "the format's error reply, then a clean close")
            let huge = try TestClient(port: port)
            try huge.send(bytes("1000:"))
            #expect(try huge.readToEnd() == bytes("3:ERR,"), "refused from its length alone")
        }
        #expect(totals.closed(.protocolError) == 1)
        #expect(totals.closed(.oversizeMessage) == 1)
    }

    /// A reply too large for the loop's staging takes the ring path: the
    /// format's encoder frames it there just as in staging.
    @Test func aReplyLargerThanStagingIsFramedByTheEncoder() throws {
        let configuration = testConfiguration { $0.readBufferBytes = 4096 }
        try withServer(configuration, format: NetstringFormat(maxBodyBytes: 100_000), handler: ReversingHandler()) {
            _, port in
            let client = try TestClient(port: port)
            let body = payload(count: 50_000, seed: 3)
            try client.send(bytes("50000:") + body + bytes(","))
            #expect(try client.read(exactly: 50_007) == bytes("50000:") + body.reversed() + bytes(","))
        }
    }
}
