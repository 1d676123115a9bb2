// Giving memory back after a burst: a loop whose buffers have been quiet for
// releaseMemoryAfterQuietMs empties its pool and trims malloc, never while a
// buffer is in use, and serves on afterwards.

import Testing

@testable import Keel

@Suite struct MemoryReleaseTests {
    private func configuration(quietMs: Int?) -> Configuration {
        testConfiguration {
            $0.releaseMemoryAfterQuietMs = quietMs
            $0.statisticsIntervalMs = 10
        }
    }

    @Test func quietBuffersAreReleasedAndTheServerServesOn() throws {
        try withEchoServer(configuration(quietMs: 50)) { server, port in
            let client = try TestClient(port: port)
            let message = payload(count: 10_000, seed: 1)
            let framed = client.frame(message)
            // Half a frame parks in the connection's input ring: a pool block in use.
            try client.send(Array(framed[..<5_000]))
            #expect(eventually { server.bufferedBytes > 0 }, "the partial frame is buffered")
            #expect(!client.hasData(withinMs: 300))
            #expect(server.statistics().memoryReleases == 0, "no release while a buffer is in use")
            try client.send(Array(framed[5_000...]))
            #expect(try client.readFrame() == message)
            #expect(eventually { server.statistics().memoryReleases == 1 }, "released once the buffers are quiet")
            #expect(!client.hasData(withinMs: 200))
            #expect(server.statistics().memoryReleases == 1, "nothing more to release until buffers are used")
            try client.send(Array(framed[..<5_000]))
            try client.send(Array(framed[5_000...]))
            #expect(try client.readFrame() == message, "served after the release")
            #expect(eventually { server.statistics().memoryReleases == 2 })
            client.close()
        }
    }

    @Test func nilKeepsTheMemory() throws {
        try withEchoServer(configuration(quietMs: nil)) { server, port in
            let client = try TestClient(port: port)
            let framed = client.frame(payload(count: 10_000, seed: 2))
            try client.send(Array(framed[..<5_000]))
            try client.send(Array(framed[5_000...]))
            #expect(try client.read(exactly: framed.count) == framed)
            #expect(!client.hasData(withinMs: 300))
            #expect(server.statistics().memoryReleases == 0)
            client.close()
        }
    }

    @Test func aQuietPeriodBelowOneMillisecondIsRefused() {
        var configuration = Configuration()
        configuration.releaseMemoryAfterQuietMs = 0
        #expect(throws: ServerError.self) { try configuration.validate() }
    }
}
