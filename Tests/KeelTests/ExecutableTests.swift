// The `keel` executable as its users run it: flags, errors, signals, and
// whether it gives back every descriptor.

import Glibc
import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct ExecutableTests {
    @Test func badFlagsPrintWhatIsWrongAndExitWithUsageCode() throws {
        let cases: [([String], String)] = [
            (["--frame", "u9"], "u9"),
            (["--max-clients", "0"], "--max-clients"),
            (["--idle-timeout", "-1"], "--idle-timeout"),
            (["--port", "70000"], "--port must be in 0...65535 (got 70000)"),
            (["--port", "-1"], "--port must be in 0...65535 (got -1)"),
            (["--host", "example.com"], "example.com"),
            (["--bogus"], "--bogus"),
            (["--max-pending-output", "0"], "--max-pending-output"),
            (["--busy-poll", "2000000"], "--busy-poll"),
        ]
        for (arguments, mention) in cases {
            let (status, text) = try ChildProcess.run(arguments)
            #expect(status == 64, "\(arguments): exit status \(String(describing: status))")
            #expect(text.contains(mention), "\(arguments): message should mention \(mention): \(text)")
        }
    }

    @Test func portInUseSaysSoInOneLineAndExitsNonZero() throws {
        let first = try KeelChild()
        let (status, text) = try ChildProcess.run(["--port", "\(first.port)"])
        #expect(status != nil && status != 0)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(text)")
        #expect(text.contains("127.0.0.1:\(first.port) is already in use"))
        kill(first.child.pid, SIGTERM)
        #expect(first.child.waitForExit() == 0)
    }

    @Test func tooFewDescriptorsForEveryLoopFailsInOneLine() throws {
        // 8 loops need 32 descriptors (listener, eventfd, epoll, timerfd each);
        // with 24 in all, a later loop's epoll_create1 fails after earlier
        // loops were built (they are discarded).
        let child = try ChildProcess(
            arguments: ["--port", "0", "--threads", "8"], launcher: ["/usr/bin/prlimit", "--nofile=24"])
        let status = child.waitForExit()
        #expect(status != nil && status != 0)
        let lines = child.standardError.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(child.standardError)")
        #expect(child.standardError.contains("failed: Too many open files"))
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalStopsTheServerWithExitZeroAndTotals(signal: Int32) throws {
        let server = try KeelChild()
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip(Array("before the signal".utf8)))
        kill(server.child.pid, signal)
        #expect(client.waitForClose(), "open connections are closed on shutdown")
        #expect(server.child.waitForExit() == 0)
        #expect(
            server.child.standardError.contains("keel stopped: accepted=1 closed=1"), "\(server.child.standardError)")
        #expect(server.child.standardError.contains("server-shutdown=1"))
    }

    @Test func descriptorsReturnToBaselineAfterClientsLeave() throws {
        let server = try KeelChild(["--max-message", "65536"])
        // Round 0 warms up: runtimes (sanitizers, Dispatch) open some
        // descriptors lazily. The baseline is taken after it settles.
        var baseline = -1
        for round in 0..<4 {
            try connectAndLeaveInMixedWays(port: server.port)
            if round == 0 {
                #expect(eventually { server.child.descriptorCount() < 20 })
                usleep(200_000)
                baseline = server.child.descriptorCount()
                #expect(baseline > 0)
                continue
            }
            #expect(
                eventually { server.child.descriptorCount() == baseline },
                "round \(round): \(server.child.descriptorCount()) open, baseline \(baseline)")
        }
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit() == 0)
    }

    /// 100 clients: some echo, then they leave by clean close, reset, reset
    /// mid-frame, or an oversize frame.
    private func connectAndLeaveInMixedWays(port: Int) throws {
        let clients = try (0..<100).map { _ in try TestClient(port: port) }
        for (index, client) in clients.enumerated() where index % 4 == 0 {
            #expect(try client.roundTrip(payload(count: 100, seed: UInt64(index))))
        }
        for (index, client) in clients.enumerated() {
            switch index % 4 {
            case 0: client.close()
            case 1: client.reset()
            case 2:
                try client.send([10, 0, 0, 0, 1])
                client.reset()
            default:
                try client.send([0xFF, 0xFF, 0xFF, 0xFF])
                _ = client.waitForClose()
            }
        }
    }
}
