// Accept failures: descriptor exhaustion on the real kernel (TESTPLAN item
// 6: a keel child limited to 64 descriptors, 200 clients arriving: no crash,
// no spin, recovery) and every kind of accept error through the
// fault-injecting backend (only process-wide ones pause the listener).

import Foundation
import Glibc
import Testing

@testable import Keel

@Suite(.serialized) struct AcceptPauseTests {
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
}
