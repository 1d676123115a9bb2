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

/// Echoes the first `limit` messages of the whole server, then answers nothing.
struct SilencingHandler: ConnectionHandler {
    let limit: Int
    var count = 0

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        count += 1
        if count <= limit { connection.send(payload) }
    }
}

func testConfigurationForBench() -> Configuration {
    var configuration = Configuration()
    configuration.port = 0
    return configuration
}

/// Starts `server`, runs keel-bench against it (a short run, no progress
/// lines, then `adjust`), and shuts the server down.
func runBench<H: ConnectionHandler>(
    against server: Server<H>, _ adjust: (inout BenchOptions) -> Void
) throws -> BenchResult {
    let port = try server.start().port
    defer {
        server.shutdown()
        server.wait()
    }
    var options = BenchOptions()
    options.port = port
    options.durationSeconds = 0.5
    options.warmupSeconds = 0.2
    options.progress = false
    adjust(&options)
    return try LoadGenerator(options: options) { _ in }.run()
}

/// keel-bench's length-prefixed echo check against `handler`: 4 connections
/// pipelining 4.
func runBench<H: ConnectionHandler & Sendable>(
    _ handler: H, _ adjust: (inout BenchOptions) -> Void
) throws -> BenchResult where H.Request == UnsafeRawBufferPointer {
    var configuration = Configuration()
    configuration.port = 0
    return try runBench(against: Server(configuration: configuration) { _ in handler }) {
        $0.connections = 4
        $0.pipeline = 4
        adjust(&$0)
    }
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

    @Test(arguments: [nil, 2_000.0])
    func aServerThatStopsAnsweringFailsTheRun(rate: Double?) throws {
        let result = try runBench(SilencingHandler(limit: 300)) {
            $0.rate = rate
            $0.pipeline = rate == nil ? 8 : 1
        }
        #expect(result.unanswered > 0, "\(result.text)")
        #expect(!result.isClean, "messages left unanswered must fail the run")
        #expect(result.text.contains("unanswered \(result.unanswered)"))
    }

    @Test func aListenerThatNeverAcceptsFailsTheRun() throws {
        // A listening socket nobody accepts on: connects complete in the
        // kernel's backlog, and no reply ever comes.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        let address = SocketAddress(host: "127.0.0.1", port: 0)!
        #expect(
            address.withSockAddr { bind(listener, UnsafeRawPointer($0).assumingMemoryBound(to: sockaddr.self), $1) }
                == 0)
        #expect(listen(listener, 16) == 0)
        let port = try SocketAddress.local(of: listener).port
        var options = BenchOptions()
        options.port = port
        options.connections = 5
        options.durationSeconds = 0.2
        options.warmupSeconds = 0
        options.progress = false
        let result = try LoadGenerator(options: options) { _ in }.run()
        #expect(result.messages == 0)
        #expect(result.unanswered == 5)
        #expect(result.silentConnections == 5)
        #expect(!result.isClean)
    }

    @Test func connectionsLeftWaitingInAFullServersBacklogFailTheRun() throws {
        var configuration = Configuration()
        configuration.port = 0
        configuration.maxClients = 1
        let result = try runBench(against: Server(configuration: configuration)) {
            $0.connections = 5
            $0.durationSeconds = 0.3
            $0.warmupSeconds = 0
        }
        #expect(result.messages > 0, "the one admitted connection is served")
        #expect(result.silentConnections == 4)
        #expect(!result.isClean)
    }

    @Test func aRateTooLowToUseEveryConnectionIsStillClean() throws {
        let result = try runBench(EchoHandler()) {
            $0.connections = 20
            $0.pipeline = 1
            $0.rate = 10
        }
        #expect(result.silentConnections == 0, "connections never sent on are not silent: \(result.text)")
        #expect(result.isClean)
    }

    @Test func aRateTheGeneratorCannotKeepUpWithFailsInBoundedMemory() throws {
        let result = try runBench(EchoHandler()) {
            $0.pipeline = 1
            $0.rate = 1e9
        }
        #expect(result.skipped > 0, "\(result.text)")
        #expect(!result.isClean)
    }

    @Test func anOutputThatCannotBeWrittenFailsTheRun() throws {
        let server = Server(configuration: testConfigurationForBench())
        let port = try server.start().port
        defer {
            server.shutdown()
            server.wait()
        }
        for flag in ["--csv", "--svg"] {
            let command = try KeelBenchCommand.parse([
                "--port", "\(port)", "--conns", "1", "--duration", "0.2", "--warmup", "0", "--quiet", flag, "/dev/full",
            ])
            #expect(throws: (any Error).self, "\(flag) /dev/full") { try command.run() }
        }
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

    /// `--sleep-until-due`: on schedule as before, but asleep between
    /// messages (polling through each last millisecond, a run at 1,000
    /// messages/s keeps a core busy for its whole 0.7 s).
    @Test func anOpenLoopThatSleepsUntilDueKeepsItsScheduleAndTheCoreFree() throws {
        // The engine runs on this thread (the server on its own): its CPU
        // time alone, whatever else the test process does meanwhile.
        func threadCPUSeconds() -> Double {
            var now = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
            return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
        }
        let before = threadCPUSeconds()
        let result = try runBench(EchoHandler()) {
            $0.pipeline = 1
            $0.rate = 1_000
            $0.sleepUntilDue = true
        }
        let cpu = threadCPUSeconds() - before
        #expect(result.messages >= 50)
        #expect(result.isClean, "\(result.text)")
        #expect(cpu < 0.3, "the run took \(cpu) s of CPU")
        // Sent on time, not in bursts after oversleeping (a loose bound: a
        // loaded machine may delay a wake-up by milliseconds).
        #expect(result.latencyMicroseconds(50) < 20_000, "p50 \(result.latencyMicroseconds(50)) µs")
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
        (["--pipeline", "0"], "--pipeline must be in 1...65536 (got 0)"),
        (["--rate", "100", "--pipeline", "4"], "exclude each other"),
        (["--sleep-until-due"], "--sleep-until-due needs --rate"),
        (["--size", "10-5"], "--size '10-5'"),
        (["--frame", "u9"], "--frame 'u9'"),
        (["--frame", "u8", "--size", "300"], "does not fit the u8 length field"),
        (["--conns", "0"], "--conns must be in 1...1000000 (got 0)"),
        (["--conns", "0", "--idle-conns", "3"], "--conns must be in 1...1000000 (got 0)"),
        (["--server-pid", "999999"], "--server-pid 999999: no such process"),
        (["--host", "example.com"], "--host 'example.com'"),
        (["--duration", "0"], "--duration must be in 0.001...1000000 seconds (got 0.0)"),
        (["--duration", "inf"], "--duration must be in"),
        (["--warmup", "1e300"], "--warmup must be in"),
        (["--rate", "1e-300"], "--rate must be in"),
        (["--connect-rate", "1e-300"], "--connect-rate must be in"),
        (["--connect-timeout", "inf"], "--connect-timeout must be in"),
        (["--protocol", "udp"], "--protocol 'udp' is not one of length, line, resp"),
        (["--protocol", "resp", "--frame", "u8"], "--frame applies to --protocol length only"),
        (["--command", "get"], "--command applies to --protocol resp only"),
        (["--protocol", "line", "--keyspace", "5"], "--keyspace applies to --protocol resp only"),
        (["--protocol", "resp", "--command", "get", "--mix", "set:1"], "--command and --mix exclude each other"),
        (["--protocol", "resp", "--mix", "set:1,foo:2"], "each item is NAME:WEIGHT"),
        (["--protocol", "resp", "--mix", "set:0"], "each item is NAME:WEIGHT"),
        (["--protocol", "resp", "--command", "SET k x__data__"], "__data__ must be a whole word"),
        (["--protocol", "resp", "--command", "  "], "--command is empty"),
        (["--protocol", "resp", "--keyspace", "0"], "--keyspace must be in 1...999999999999 (got 0)"),
        (["--tls"], "--tls needs --tls-ca FILE or --tls-insecure"),
        (["--tls-insecure"], "--tls-ca and --tls-insecure apply to --tls only"),
        (["--tls", "--tls-insecure", "--tls-ca", "ca.pem"], "--tls-ca and --tls-insecure exclude each other"),
        (["--handshakes"], "--handshakes needs --tls"),
        (["--tls", "--tls-insecure", "--handshakes", "--pipeline", "4"], "--handshakes makes one request"),
    ])
    func badArgumentsAreNamed(arguments: [String], message: String) {
        #expect {
            _ = try KeelBenchCommand.parse(arguments)
        } throws: { error in
            KeelBenchCommand.message(for: error).contains(message)
        }
    }

    /// Every numeric flag, given values chosen to break conversions: each is
    /// either refused with a message naming the flag, or accepted as a value
    /// that converts without overflow (no crash either way).
    @Test(arguments: [
        "--duration", "--warmup", "--rate", "--connect-rate", "--connect-timeout", "--conns", "--idle-conns",
        "--pipeline", "--port", "--server-pid",
    ])
    func hostileNumbersAreRefusedOrSafe(flag: String) {
        let values = [
            "nan", "inf", "-inf", "1e309", "1e300", "-1", "0", "1e-300", "0.0004", "9223372036854775807",
            "-9223372036854775808", "4294967296",
        ]
        for value in values {
            var arguments = [flag, value]
            if flag == "--rate" { arguments += ["--pipeline", "1"] }
            do {
                let command = try KeelBenchCommand.parse(arguments)
                let options = try command.makeOptions()
                #expect(options.problems().isEmpty, "\(arguments) parsed with problems")
                // What the generator derives from them must be finite and in range.
                #expect(Int64(exactly: (options.durationSeconds * 1e9).rounded()) != nil, "\(arguments)")
                #expect(Int64(exactly: (options.warmupSeconds * 1e9).rounded()) != nil, "\(arguments)")
                #expect(Int64(exactly: (options.connectTimeoutSeconds * 1e9).rounded()) != nil, "\(arguments)")
                if let rate = options.rate { #expect(rate.isFinite && rate > 0, "\(arguments)") }
            } catch {
                let message = KeelBenchCommand.message(for: error)
                #expect(message.contains(flag) || message.contains("value"), "\(arguments): \(message)")
            }
        }
    }

    @Test func anUnwritableOutputFileFailsBeforeTheRun() throws {
        let command = try KeelBenchCommand.parse(["--port", "1", "--csv", "/nonexistent/x.csv", "--quiet"])
        #expect {
            try command.run()
        } throws: { error in
            KeelBenchCommand.message(for: error).contains("cannot write /nonexistent/x.csv")
        }
    }

    @Test func defaultsAreValid() throws {
        let command = try KeelBenchCommand.parse([])
        #expect(try command.makeOptions().problems().isEmpty)
    }
}
