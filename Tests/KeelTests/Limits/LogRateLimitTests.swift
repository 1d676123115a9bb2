// Client-caused warnings are logged at most once a second, and each line
// says how many it held back.

import Logging
import Testing

@testable import Keel

@Suite(.serialized) struct LogRateLimitTests {
    @Test func clientCausedWarningsAreLoggedAtMostOnceASecond() throws {
        let records = Locked<[(message: String, metadata: Logger.Metadata)]>([])
        let logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) }
        let configuration = testConfiguration { $0.maxMessageBytes = 100 }
        let server = Server(configuration: configuration, logger: logger) { _ in EchoHandler() }
        let port = try server.start().port
        let start = monotonicSeconds()
        let offenders = 50
        for _ in 0..<offenders {
            let client = try TestClient(port: port)
            try client.send([0xFF, 0xFF, 0, 0])  // announces 65,535 bytes: over the limit
            #expect(client.waitForClose())
        }
        let elapsed = monotonicSeconds() - start
        server.shutdown()
        let totals = server.wait()
        #expect(totals.closed(.oversizeMessage) == offenders)
        let lines = records.withLock { $0 }.filter { $0.message.contains("broke the wire protocol") }
        // One line, then at most one per second that passed.
        #expect(lines.count >= 1)
        #expect(Double(lines.count) <= elapsed + 1, "\(lines.count) lines in \(elapsed) s")
        #expect(lines.count < offenders)
        // Lines after the first carry what they held back: the lines and
        // their suppressed counts never exceed the events.
        let suppressed = lines.compactMap { Int("\($0.metadata["suppressed"] ?? "0")") }.reduce(0, +)
        #expect(lines.count + suppressed <= offenders)
    }

    @Test func rateLimitedLogLetsOneLineThroughPerInterval() {
        let log = RateLimitedLog(intervalMs: 1_000)
        var lines: [(atMs: Int64, suppressed: Int)] = []
        for nowMs in stride(from: Int64(0), through: 2_500, by: 100) {
            log.record(nowMs: nowMs) { lines.append((nowMs, $0)) }
        }
        #expect(lines.map(\.atMs) == [0, 1_000, 2_000])
        #expect(lines.map(\.suppressed) == [0, 9, 9])
    }
}
