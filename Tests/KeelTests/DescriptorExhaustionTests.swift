// Descriptor exhaustion on the real kernel (TESTPLAN item 6): a keel child
// limited to 64 descriptors, with 200 clients arriving. It must neither crash
// nor spin: accept fails with EMFILE, the listener pauses and retries, the
// log line is rate-limited, and once clients leave the waiting ones are served.

import Foundation
import Glibc
import Testing

@testable import Keel

@Suite(.serialized) struct DescriptorExhaustionTests {
    @Test func emfilePausesAcceptingWithoutSpinningAndRecovers() throws {
        let server = try KeelChild([], launcher: ["/usr/bin/prlimit", "--nofile=64"])
        var waiting = try (0..<200).map { _ in try TestClient(port: server.port, timeoutSeconds: 20) }
        for (index, client) in waiting.enumerated() { try client.sendFrame([UInt8(index & 0xFF)]) }
        // Let it hit the limit, then measure its CPU over two seconds of
        // clients that cannot be accepted: a spinning loop would use ~2 s.
        usleep(500_000)
        let before = server.child.cpuSeconds()
        usleep(2_000_000)
        let used = server.child.cpuSeconds() - before
        #expect(used < 1.0, "CPU while descriptors are exhausted: \(used) s in 2 s")
        #expect(kill(server.child.pid, 0) == 0, "still running")
        #expect(server.child.readError { $0.contains("accept failed; pausing accepts") })
        let warnings = server.child.standardError.components(separatedBy: "accept failed").count - 1
        #expect(warnings <= 5, "rate-limited: \(warnings) lines in ~2.5 s")
        // Serve and release clients as they are accepted: every one of the
        // 200 is eventually served, by a server that never had more than 64 fds.
        var served = 0
        let deadline = monotonicSeconds() + 30
        while !waiting.isEmpty && monotonicSeconds() < deadline {
            guard let ready = waiting.firstIndex(where: { $0.hasData(withinMs: 1) }) else { continue }
            #expect(try waiting[ready].readFrame().count == 1)
            waiting.remove(at: ready).close()
            served += 1
        }
        #expect(served == 200)
        kill(server.child.pid, SIGTERM)
        let status = server.child.waitForExit()
        if status == nil {
            let proc = (try? String(contentsOfFile: "/proc/\(server.child.pid)/status", encoding: .utf8)) ?? ""
            Issue.record(
                "stuck child: \(proc.split(separator: "\n").filter { $0.hasPrefix("Sig") || $0.hasPrefix("State") || $0.hasPrefix("Threads") })"
            )
        }
        #expect(status == 0)
        #expect(server.child.standardError.contains("accept-errors="))
    }
}
