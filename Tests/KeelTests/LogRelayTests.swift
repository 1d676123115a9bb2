// The loop never waits for a log handler or a metrics backend: records go
// through a bounded relay (dropped and counted when the output stalls) and
// counters are reported from the server's reporting thread.

import CoreMetrics
import Glibc
import Logging
import Testing

@testable import Keel

/// A log handler that blocks on its gate, then records the messages.
struct BlockingLogHandler: LogHandler {
    let gate: Gate
    let seen: Locked<[String]>
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        gate.pass()
        seen.withLock { $0.append("\(event.message)") }
    }
}

/// A metrics factory whose counters block on a gate.
final class BlockingMetrics: MetricsFactory, @unchecked Sendable {
    let gate: Gate
    init(gate: Gate) { self.gate = gate }

    final class Handler: CounterHandler, RecorderHandler, TimerHandler, @unchecked Sendable {
        let gate: Gate
        init(gate: Gate) { self.gate = gate }
        func increment(by amount: Int64) { gate.pass() }
        func reset() {}
        func record(_ value: Int64) { gate.pass() }
        func record(_ value: Double) { gate.pass() }
        func recordNanoseconds(_ duration: Int64) {}
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler { Handler(gate: gate) }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        Handler(gate: gate)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler { Handler(gate: gate) }
    func destroyCounter(_ handler: CounterHandler) {}
    func destroyRecorder(_ handler: RecorderHandler) {}
    func destroyTimer(_ handler: TimerHandler) {}
}

@Suite(.serialized) struct LogRelayTests {
    @Test func aStalledHandlerCostsDroppedRecordsNotAWaitingCaller() {
        let gate = Gate()
        let seen = Locked<[String]>([])
        let relay = LogRelay(capacity: 8, name: "test-relay")
        let logger = Logger(label: "test") { _ in
            relay.handler(forwardingTo: BlockingLogHandler(gate: gate, seen: seen))
        }
        let start = monotonicSeconds()
        for index in 0..<100 { logger.info("line \(index)") }
        #expect(monotonicSeconds() - start < 5, "logging returned without waiting for the handler")
        // At most one batch is being handed on and one queue's worth waits.
        #expect(relay.droppedRecords >= 100 - 2 * 8, "beyond the queue and the batch in hand, records drop")
        gate.open()
        #expect(relay.flush(timeoutMs: 10_000))
        let lines = seen.withLock { $0 }
        #expect(lines.first == "line 0")
        let warning = lines.firstIndex { $0.contains("log messages were dropped") }
        #expect(warning != nil, "the drop is reported: \(lines)")
        #expect(warning.map { lines[..<$0].allSatisfy { $0.hasPrefix("line ") } } == true)
        #expect(warning.map { $0 >= 1 && $0 <= 16 } == true, "the warning follows the lines queued before the drops")
        relay.stop(timeoutMs: 1_000)
    }

    @Test func stopIsBoundedWhenTheHandlerNeverReturns() {
        let gate = Gate()
        let relay = LogRelay(capacity: 8, name: "test-relay")
        let logger = Logger(label: "test") { _ in
            relay.handler(forwardingTo: BlockingLogHandler(gate: gate, seen: Locked([])))
        }
        logger.info("stuck")
        #expect(gate.awaitHeld(), "the relay's thread is stuck in the handler")
        let start = monotonicSeconds()
        relay.stop(timeoutMs: 200)
        #expect(monotonicSeconds() - start < 5)
        gate.open()  // lets the abandoned thread finish
    }

    @Test(arguments: [LoopMode.epollLevel, LoopMode.poll])
    func blockedLogAndMetricsBackendsNeverStallTheLoops(mode: LoopMode) throws {
        let gate = Gate()
        let seen = Locked<[String]>([])
        var configuration = testConfiguration(mode)
        configuration.statisticsIntervalMs = 10
        var logger = Logger(label: "blocked") { _ in BlockingLogHandler(gate: gate, seen: seen) }
        logger.logLevel = .debug  // a line per open and per close
        let server = Server(configuration: configuration, logger: logger, metricsFactory: BlockingMetrics(gate: gate))
        let port = try server.start().port
        for index in 0..<300 {
            let client = try TestClient(port: port, timeoutSeconds: 5)
            #expect(try client.roundTrip([UInt8(index & 0xFF)]))
            client.close()
        }
        #expect(eventually { server.openConnections == 0 })
        server.shutdown()
        let start = monotonicSeconds()
        let totals = server.wait()
        #expect(monotonicSeconds() - start < 10, "shutdown waits a bounded time for the blocked handler")
        #expect(totals.accepted == 300)
        #expect(seen.withLock { $0.isEmpty }, "the handler really was blocked throughout")
        gate.open()
    }
}
