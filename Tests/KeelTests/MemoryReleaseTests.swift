// Giving memory back after a burst, over real sockets: a loop whose buffers
// have been quiet for releaseMemoryAfterQuietMs empties its pool and trims
// malloc, and serves on afterwards. When it does (never while a buffer is in
// use, once per use) is checked to the millisecond by LoopSimulationTests.

import KeelTestSupport
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
            // Half a frame parks in the connection's input ring: a pool block.
            try client.send(Array(framed[..<5_000]))
            #expect(eventually { server.bufferedBytes > 0 }, "the partial frame is buffered")
            try client.send(Array(framed[5_000...]))
            #expect(try client.readFrame() == message)
            #expect(eventually { server.statistics().memoryReleases == 1 }, "released once the buffers are quiet")
            try client.send(framed)
            #expect(try client.readFrame() == message, "served after the release")
            client.close()
        }
    }

    @Test func aQuietPeriodBelowOneMillisecondIsRefused() {
        var configuration = Configuration()
        configuration.releaseMemoryAfterQuietMs = 0
        #expect(throws: ServerError.self) { try configuration.validate() }
    }
}
