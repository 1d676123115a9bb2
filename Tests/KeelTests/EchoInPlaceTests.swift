// The echo fast path: whole frames go back from the read buffer without a
// handler call; a frame split across reads goes through messageReceived.

import CShims
import KeelTestSupport
import Testing

@testable import Keel

@Suite struct EchoInPlaceTests {
    @Test func wholeFramesGoBackWithoutAHandlerCallAndSplitOnesThroughIt() throws {
        let calls = Locked<[String]>([])
        try withServer(testConfiguration(), handler: DeclaredEcho(calls: calls)) { _, port in
            let client = try TestClient(port: port)
            let messages = (0..<3).map { payload(count: 10 + $0, seed: UInt64($0)) }
            try client.send(messages.flatMap { client.frame($0) })
            for message in messages { #expect(try client.readFrame() == message) }
            #expect(calls.withLock { $0 } == ["open"], "whole frames are echoed in place")
            // A frame split across reads completes from the input ring: the general path.
            let framed = client.frame(payload(count: 100, seed: 9))
            try client.send(Array(framed[..<50]))
            #expect(!client.hasData(withinMs: 100))
            try client.send(Array(framed[50...]))
            #expect(try client.read(exactly: framed.count) == framed)
            #expect(calls.withLock { $0 } == ["open", "message"])
            client.close()
            #expect(eventually { calls.withLock { $0.last } == "close" })
        }
    }
}
