// The rows of the README's limits table that had no test: the linger after
// a graceful close, the cross-thread mailbox's `.queueFull`, every kind of
// accept failure, a trickle of bytes against the idle timeout, and the
// once-a-second log limit.

import CShims
import Glibc
import KeelExamples
import Logging
import Testing

@testable import Keel

/// Answers the first message, then closes (gracefully: FIN, then linger).
struct AnswerOnceThenClose: ConnectionHandler {
    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
        connection.close()
    }
}

/// Echoes; a message [0xBB] holds the loop thread until `gate` opens.
struct BlockingEcho: ConnectionHandler {
    let registry: BroadcastRegistry
    let gate: Gate

    mutating func connectionOpened(_ connection: Connection) {
        registry.add(connection.id)
    }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        if payload.count == 1 && payload[0] == 0xBB { gate.pass() }
        connection.send(payload)
    }

    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {
        registry.remove(id)
    }
}

/// Records every log event's message and metadata.
struct RecordingLogHandler: LogHandler {
    let records: Locked<[(message: String, metadata: Logger.Metadata)]>
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.withLock { $0.append(("\(event.message)", event.metadata ?? [:])) }
    }
}

@Suite(.serialized) struct LimitCoverageTests {
    @Test(arguments: LoopMode.all)
    func lingerEndsAtItsLimitWhenThePeerKeepsSending(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) { $0.lingerTimeoutMs = 500 }
        let totals = try withServer(configuration, handler: AnswerOnceThenClose()) { _, port in
            let client = try TestClient(port: port)
            #expect(try client.roundTrip([1, 2, 3]))
            // Keel's FIN: the reply came, then EOF.
            var byte: UInt8 = 0
            #expect(keel_read(client.fd, &byte, 1) == 0, "FIN after the reply")
            let finAt = monotonicSeconds()
            // Keep sending: while Keel lingers it reads and drops; once the
            // linger is over it closes, and the kernel answers with RST.
            var resetAt: Double?
            let chunk = [UInt8](repeating: 7, count: 100)
            while monotonicSeconds() - finAt < 10 {
                let n = chunk.withUnsafeBytes { keel_send(client.fd, $0.baseAddress, $0.count) }
                if n < 0 && n != -Int(EINTR) {
                    resetAt = monotonicSeconds()
                    break
                }
                usleep(20_000)
            }
            let lingered = try #require(resetAt, "the connection was never released") - finAt
            #expect(lingered >= 0.4, "input was read and dropped for the linger: \(lingered) s")
            #expect(lingered < 10)
        }
        #expect(totals.closed(.closedByHandler) == 1)
        #expect(totals.accepted == totals.closed)
    }

    @Test func lingerEndsAtThePeersEOF() throws {
        let configuration = testConfiguration { $0.lingerTimeoutMs = 60_000 }
        let totals = try withServer(configuration, handler: AnswerOnceThenClose()) { server, port in
            let client = try TestClient(port: port)
            #expect(try client.roundTrip([1]))
            #expect(client.waitForClose())
            client.close()  // our FIN ends the linger long before its 60 s
            #expect(eventually { server.openConnections == 0 })
        }
        #expect(totals.closed(.closedByHandler) == 1)
    }

    @Test(arguments: [(capacity: 100, bytesLimit: 1 << 20, size: 10), (capacity: 65_536, bytesLimit: 1_000, size: 100)])
    func crossThreadSendsBeyondTheMailboxAreRefused(capacity: Int, bytesLimit: Int, size: Int) throws {
        let registry = BroadcastRegistry()
        let gate = Gate()
        let configuration = testConfiguration {
            $0.mailboxCapacity = capacity
            $0.mailboxBytesLimit = bytesLimit
        }
        try withServer(configuration, handler: BlockingEcho(registry: registry, gate: gate)) { server, port in
            let client = try TestClient(port: port, timeoutSeconds: 30)
            #expect(try client.roundTrip([1]))
            let id = try #require(singleID(registry))
            try client.sendFrame([0xBB])  // the loop thread now waits on the gate
            usleep(100_000)
            let fits = min(capacity, bytesLimit / size)
            var queued = 0
            for index in 0..<(fits + 50) {
                let message = [UInt8](repeating: UInt8(index & 0x7F), count: size)
                if server.send(message, to: id) == .queueFull { break }
                queued += 1
            }
            #expect(queued == fits, "the mailbox holds \(fits), then refuses")
            gate.open()
            #expect(try client.readFrame() == [0xBB])
            for index in 0..<queued {
                #expect(try client.readFrame() == [UInt8](repeating: UInt8(index & 0x7F), count: size))
            }
            #expect(server.send([2], to: id) == .queued, "room again once the loop drained it")
            #expect(try client.readFrame() == [2])
        }
    }

    #if DEBUG  // the fault-injecting backend exists in debug builds only
        /// EMFILE, ENFILE, ENOBUFS and ENOMEM pause the listener (no busy loop)
        /// and connections are still served once it resumes; ECONNABORTED and
        /// EPROTO concern one connection and are skipped without a pause.
        @Test(arguments: [
            (EMFILE, true), (ENFILE, true), (ENOBUFS, true), (ENOMEM, true), (ECONNABORTED, false), (EPROTO, false),
        ])
        func acceptFailuresPauseOnlyWhenTheyConcernTheProcess(errno: Int32, pauses: Bool) throws {
            let plan = FaultPlan(seed: 7, acceptErrorPercent: 50, acceptErrors: [Errno(rawValue: errno)])
            let configuration = testConfiguration {
                $0.faultPlan = plan
                $0.acceptPauseMs = 5
            }
            let totals = try withEchoServer(configuration) { _, port in
                for index in 0..<20 {
                    let client = try TestClient(port: port)
                    #expect(try client.roundTrip([UInt8(index)]), "\(Errno(rawValue: errno)): client \(index) served")
                    client.close()
                }
            }
            let injected = plan.report.injected.withLock { $0 }
            #expect(injected.acceptErrors > 0)
            #expect(totals.acceptErrors == injected.acceptErrors)
            if pauses {
                #expect(totals.listenerPauses > 0, "\(Errno(rawValue: errno)) pauses the listener")
            } else {
                #expect(totals.listenerPauses == 0, "\(Errno(rawValue: errno)) is skipped without a pause")
            }
        }
    #endif

    @Test(arguments: LoopMode.all)
    func aTrickleOfBytesDoesNotKeepAConnection(mode: LoopMode) throws {
        let configuration = testConfiguration(mode) { $0.idleTimeoutMs = 1_000 }
        let totals = try withEchoServer(configuration) { _, port in
            let client = try TestClient(port: port)
            // A header announcing 1,000 bytes, then one byte every 100 ms: the
            // message never completes, so the connection is idle throughout.
            try client.send([0xE8, 0x03, 0, 0])
            let start = monotonicSeconds()
            var closedAt: Double?
            while monotonicSeconds() - start < 10 {
                if client.hasData(withinMs: 100) {
                    closedAt = monotonicSeconds()
                    break
                }
                let n = [UInt8(1)].withUnsafeBytes { keel_send(client.fd, $0.baseAddress, 1) }
                if n < 0 {
                    closedAt = monotonicSeconds()
                    break
                }
            }
            let elapsed = try #require(closedAt, "the trickling client was never closed") - start
            #expect(elapsed >= 0.8, "not before the idle timeout: \(elapsed) s")
        }
        #expect(totals.closed(.idleTimeout) == 1)
    }

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
