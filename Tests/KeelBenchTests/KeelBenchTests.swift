// keel-bench's own tests: it must catch a corrupting or closing server,
// compute percentiles right, and refuse bad arguments with clear messages.

import Glibc
import Histogram
import KeelBenchCore
import Testing

@testable import Keel

/// Echoes, but flips one byte of every `every`-th message.
struct CorruptingHandler: ConnectionHandler {
    let every: Int
    var count = 0

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        count += 1
        guard count % every == 0, !payload.isEmpty else {
            connection.send(payload)
            return
        }
        var copy = Array(payload)
        copy[copy.count / 2] ^= 0x01
        connection.send(copy)
    }
}

/// Echoes `limit` messages per connection, then closes it.
struct ClosingHandler: ConnectionHandler {
    let limit: Int
    var counts: [ConnectionID: Int] = [:]

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        let seen = counts[connection.id, default: 0] + 1
        counts[connection.id] = seen
        connection.send(payload)
        if seen == limit { connection.close() }
    }
}

func runBench<H: ConnectionHandler & Sendable>(
    _ handler: H, _ adjust: (inout BenchOptions) -> Void
) throws -> BenchResult {
    var configuration = Configuration()
    configuration.port = 0
    let server = Server(configuration: configuration) { _ in handler }
    let address = try server.start()
    defer {
        server.shutdown()
        server.wait()
    }
    var options = BenchOptions()
    options.port = address.port
    options.connections = 4
    options.pipeline = 4
    options.durationSeconds = 0.5
    options.warmupSeconds = 0.2
    options.progress = false
    adjust(&options)
    return try LoadGenerator(options: options) { _ in }.run()
}

@Suite(.serialized) struct LoadGeneratorTests {
    @Test func cleanEchoIsVerifiedAndTimed() throws {
        let result = try runBench(EchoHandler()) { $0.sizes = SizeRange("1-2000")! }
        #expect(result.messages > 0)
        #expect(result.isClean, "\(result.text)")
        #expect(result.latencyNs.totalCount == UInt64(result.messages))
        #expect(result.latencyMicroseconds(50) > 0)
        #expect(result.unanswered == 0)
    }

    @Test func detectsAServerThatFlipsBytes() throws {
        let result = try runBench(CorruptingHandler(every: 50)) { _ in }
        #expect(result.mismatches > 0)
        #expect(!result.isClean)
    }

    @Test func detectsAServerThatClosesEarly() throws {
        let result = try runBench(ClosingHandler(limit: 20)) { _ in }
        #expect(result.earlyCloses > 0)
        #expect(!result.isClean)
    }

    @Test func openLoopSendsOnScheduleAndAnswersEverything() throws {
        let result = try runBench(EchoHandler()) {
            $0.pipeline = 1
            $0.rate = 2_000
        }
        #expect(result.messages > 0)
        #expect(result.isClean)
        #expect(result.json.contains("\"rate\": 2000"))
    }

    @Test func idleConnectionsAreHeldAndServerCPUIsRead() throws {
        let result = try runBench(EchoHandler()) {
            $0.idleConnections = 20
            $0.serverPID = getpid()
        }
        #expect(result.openAtEnd == 24)
        #expect(result.serverCPUSeconds != nil)
    }

    @Test func refusedConnectionIsAClearError() throws {
        // Bind a port, then close it, so nothing listens there.
        var configuration = Configuration()
        configuration.port = 0
        let server = Server(configuration: configuration)
        let port = try server.start().port
        server.shutdown()
        server.wait()
        var options = BenchOptions()
        options.port = port
        options.progress = false
        #expect {
            _ = try LoadGenerator(options: options) { _ in }.run()
        } throws: { error in
            "\(error)".contains("refused the connection")
        }
    }
}

@Suite struct ReportTests {
    @Test func percentilesOfKnownInputs() {
        var options = BenchOptions()
        options.durationSeconds = 1
        var result = BenchResult(options: options)
        for microseconds in 1...10_000 { _ = result.latencyNs.record(UInt64(microseconds) * 1_000) }
        result.messages = 10_000
        result.measuredSeconds = 2
        #expect(abs(result.latencyMicroseconds(50) - 5_000) <= 5)
        #expect(abs(result.latencyMicroseconds(99) - 9_900) <= 10)
        #expect(abs(result.latencyMicroseconds(99.9) - 9_990) <= 10)
        #expect(abs(result.maxLatencyMicroseconds - 10_000) <= 10)
        #expect(result.messagesPerSecond == 5_000)
        let points = LatencyChart.points(result.latencyNs)
        #expect(points.first!.percentile <= 1)
        #expect(points.last!.percentile == 100)
        #expect(points.last!.totalCount == 10_000, "the running total reaches every recorded value")
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.totalCount <= $1.totalCount })
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.latencyMicroseconds <= $1.latencyMicroseconds })
        let csv = LatencyChart.csv(points)
        #expect(csv.hasPrefix("percentile,latency_us,total_count,one_over_one_minus_percentile\n"))
        #expect(csv.split(separator: "\n").count == points.count + 1)
        let svg = LatencyChart.svg(points, title: "test <run>")
        #expect(svg.hasPrefix("<svg") && svg.contains("<polyline") && svg.contains("99.9%"))
        #expect(svg.contains("test &lt;run&gt;"))
        #expect(result.json.contains("\"p50\": ") && result.json.contains("\"msgs_per_s\": 5000.0"))
    }

    @Test func sizeRangesParse() {
        #expect(SizeRange("64") == SizeRange(minimum: 64, maximum: 64))
        #expect(SizeRange("1-4096") == SizeRange(minimum: 1, maximum: 4096))
        #expect(SizeRange("10-5") == nil)
        #expect(SizeRange("-5") == nil)
        #expect(SizeRange("abc") == nil)
    }

    @Test func payloadsDifferPerMessageAndVerify() {
        let source = PayloadSource(sizes: SizeRange("100")!)
        let a = Array(source.payload(connection: 0, sequence: 0))
        let b = Array(source.payload(connection: 0, sequence: 1))
        let c = Array(source.payload(connection: 1, sequence: 0))
        #expect(a != b && a != c)
        #expect(a.withUnsafeBytes { source.matches($0, connection: 0, sequence: 0) })
        #expect(!b.withUnsafeBytes { source.matches($0, connection: 0, sequence: 0) })
    }
}

@Suite struct ArgumentTests {
    @Test(arguments: [
        (["--pipeline", "0"], "--pipeline must be at least 1"),
        (["--rate", "100", "--pipeline", "4"], "exclude each other"),
        (["--size", "10-5"], "--size '10-5'"),
        (["--frame", "u9"], "--frame 'u9'"),
        (["--frame", "u8", "--size", "300"], "does not fit the u8 length field"),
        (["--conns", "0"], "--conns plus --idle-conns must be at least 1"),
        (["--host", "example.com"], "--host 'example.com'"),
        (["--duration", "0"], "--duration must be positive"),
    ])
    func badArgumentsAreNamed(arguments: [String], message: String) {
        #expect {
            _ = try KeelBenchCommand.parse(arguments)
        } throws: { error in
            KeelBenchCommand.message(for: error).contains(message)
        }
    }

    @Test func defaultsAreValid() throws {
        let command = try KeelBenchCommand.parse([])
        #expect(try command.makeOptions().problems().isEmpty)
    }
}
