// The `keel` process against what a hostile or unlucky user does to it:
// signals, a closed or abandoned standard error, a log pipe nobody reads, a
// second instance on the same port, and flags whose effect the start line
// must show truthfully.

import CShims
import Glibc
import Testing

@testable import Keel

/// Resident memory of a process, from /proc/PID/status.
func residentKiB(_ pid: Int32) -> Int {
    guard let file = fopen("/proc/\(pid)/status", "r") else { return -1 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmRSS:") { return Int(text.dropFirst(6).filter(\.isNumber)) ?? -1 }
    }
    return -1
}

@Suite(.serialized) struct ProcessRobustnessTests {
    /// A port nothing listens on right now (bound once, then released).
    private func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let address = SocketAddress(host: "127.0.0.1", port: 0)!
        guard address.withSockAddr({ keel_bind(fd, $0, $1) }) == 0 else {
            throw ChildProcessError(description: "bind failed")
        }
        return try SocketAddress.local(of: fd).port
    }

    /// Connects once the server is up (bounded), and checks one echo.
    private func echoes(on port: Int) -> Bool {
        for _ in 0..<400 {
            if let client = try? TestClient(port: port), let echoed = try? client.roundTrip(Array("ping".utf8)) {
                return echoed
            }
            usleep(25_000)
        }
        return false
    }

    @Test func aClosedStandardErrorAndSIGPIPENeverKillTheServer() throws {
        let port = try freePort()
        // Descriptor 2 closed: without care, the listener would take it and
        // the first log line would be written to it (SIGPIPE).
        let child = try ChildProcess(
            arguments: ["--port", "\(port)"], launcher: ["/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&-"])
        #expect(echoes(on: port), "the server serves with standard error closed")
        kill(child.pid, SIGPIPE)
        usleep(200_000)
        #expect(echoes(on: port), "SIGPIPE does not end the process")
        kill(child.pid, SIGTERM)
        #expect(child.waitForExit() == 0)
    }

    @Test func aLogReaderThatGoesAwayDoesNotKillTheServer() throws {
        let server = try KeelChild()
        server.child.closeStandardErrorReader()  // like `keel 2>&1 | head -n 1`
        // An oversize frame makes the server log a warning into the broken pipe.
        let client = try TestClient(port: server.port)
        try client.send([0xFF, 0xFF, 0xFF, 0xFF])
        #expect(client.waitForClose())
        #expect(echoes(on: server.port), "the server serves on after its log write failed")
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit() == 0)
    }

    @Test func aLogPipeNobodyReadsNeverStopsServingOrShutdown() throws {
        // At debug level every connection logs two lines; 1,500 connections
        // write far more than a pipe holds (64 KiB) while nobody reads it.
        let server = try KeelChild(["--log-level", "debug"])
        for index in 0..<1_500 {
            let client = try TestClient(port: server.port, timeoutSeconds: 5)
            #expect(try client.roundTrip([UInt8(index & 0xFF)]), "connection \(index) is served")
            client.close()
        }
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit(seconds: 30) == 0, "SIGTERM still stops the server")
    }

    /// Under an address-space limit, a client that really sends a huge
    /// message runs the server out of memory for its buffer: that connection
    /// alone is closed; the process and its other clients carry on.
    @Test(.enabled(if: AllocationTests.sanitizerless, "sanitizers reserve more address space than the limit"))
    func runningOutOfMemoryClosesOnlyThatConnection() throws {
        let server = try KeelChild(
            ["--max-message", "1000000000"], launcher: ["/usr/bin/prlimit", "--as=1200000000"])
        let hog = try TestClient(port: server.port, timeoutSeconds: 20)
        try hog.send([0x00, 0xE9, 0xA4, 0x35])  // announces 900,000,000 bytes
        let chunk = [UInt8](repeating: 0x78, count: 1 << 20)
        var sent = 0
        while sent < 900_000_000, (try? hog.send(chunk)) != nil { sent += chunk.count }
        #expect(sent < 900_000_000, "the connection was closed before the whole message arrived")
        #expect(echoes(on: server.port), "other clients are served")
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit() == 0)
        #expect(server.child.standardError.contains("out-of-memory=1"), "\(server.child.standardError)")
    }

    /// (Not under ThreadSanitizer: its runtime dies of SIGBUS at start under
    /// a 4 KiB file size limit, before any Keel code runs.)
    @Test(.enabled(if: !AllocationTests.underThreadSanitizer, "TSan's runtime cannot start under `ulimit -f 4`"))
    func aLogFileAtTheFileSizeLimitDoesNotKillTheServer() throws {
        let port = try freePort()
        let log = "/tmp/keel-xfsz-\(getpid()).log"
        defer { unlink(log) }
        // 4 KiB of log allowed: debug lines for 100 connections exceed it (SIGXFSZ).
        let child = try ChildProcess(
            arguments: ["--port", "\(port)", "--log-level", "debug"],
            launcher: ["/bin/sh", "-c", "ulimit -f 4; exec \"$0\" \"$@\" 2>\(log)"])
        for index in 0..<100 {
            // Stop at the first failure: each one waits 10 s for the server.
            guard echoes(on: port) else {
                Issue.record("connection \(index) not served (its log: \(log))")
                break
            }
        }
        kill(child.pid, SIGTERM)
        #expect(child.waitForExit() == 0)
    }

    @Test func memoryReturnsAfterRepeatedLargeMessages() throws {
        let server = try KeelChild(["--max-message", "67108864"])
        let message = [UInt8](repeating: 0x78, count: 40_000_000)
        var baseline: Int?
        for round in 0..<3 {
            let client = try TestClient(port: server.port, timeoutSeconds: 60)
            #expect(try client.roundTrip(message))
            client.close()
            guard let settledSize = baseline else {
                // The first burst's release (a second after the buffers go
                // quiet) sets the baseline; later bursts must fall back to it.
                usleep(2_000_000)
                baseline = residentKiB(server.child.pid)
                continue
            }
            #expect(
                eventually(seconds: 15) { residentKiB(server.child.pid) <= settledSize + 8_192 },
                "round \(round): \(residentKiB(server.child.pid)) KiB resident, baseline \(settledSize)")
        }
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit() == 0)
    }

    @Test func statisticsLinesShorterThanASecondReportTheirOwnRate() throws {
        let server = try KeelChild(["--stats-interval", "0.2"])
        let client = try TestClient(port: server.port)
        let start = monotonicSeconds()
        while monotonicSeconds() - start < 2 { _ = try client.roundTrip([1]) }
        #expect(server.child.readError(seconds: 5) { $0.components(separatedBy: "keel stats:").count > 10 })
        let rates = server.child.standardError.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "msg/s=") else { return nil }
            return Int(line[range.upperBound...].prefix(while: \.isNumber))
        }
        let busy = rates.prefix(8)
        // Each line counts its own interval: most lines during steady load are
        // non-zero (lines that divided a second's count would be 4 zeros in 5).
        #expect(busy.filter { $0 > 0 }.count >= busy.count / 2, "rates \(rates)")
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit() == 0)
    }

    @Test func hangupStopsGracefullyAndUserSignalsLogCounters() throws {
        let server = try KeelChild()
        #expect(echoes(on: server.port))
        kill(server.child.pid, SIGUSR1)
        #expect(server.child.readError { $0.contains("keel stats: open=") }, "SIGUSR1 logs the counters")
        kill(server.child.pid, SIGUSR2)
        #expect(server.child.readError { $0.components(separatedBy: "keel stats: open=").count == 3 })
        #expect(echoes(on: server.port), "user signals do not stop the server")
        kill(server.child.pid, SIGHUP)
        #expect(server.child.waitForExit() == 0)
        #expect(server.child.standardError.contains("keel stopped: accepted=2"), "\(server.child.standardError)")
    }

    @Test(arguments: [["--threads", "1"], ["--threads", "2"]])
    func aSecondInstanceWithSeveralLoopsCannotShareThePort(first: [String]) throws {
        let running = try KeelChild(first)
        let (status, text) = try ChildProcess.run(["--port", "\(running.port)", "--threads", "2"])
        #expect(status == 1, "\(text)")
        #expect(text.contains("127.0.0.1:\(running.port) is already in use"), "\(text)")
        #expect(echoes(on: running.port))
        kill(running.child.pid, SIGTERM)
        #expect(running.child.waitForExit() == 0)
    }

    @Test func theStartLineShowsTheLimitInForce() throws {
        let server = try KeelChild(["--frame", "u8", "--max-message", "1000000"])
        #expect(server.child.standardError.contains("max_message=255"), "\(server.child.standardError)")
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit() == 0)
    }

    @Test func theUnspecifiedIPv6AddressTakesIPv4ClientsToo() throws {
        let server = try KeelChild(["--host", "::"])
        #expect(server.child.standardError.contains("keel listening on [::]:"))
        #expect(echoes(on: server.port), "an IPv4 client is served on ::")
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit() == 0)
    }
}
