// Seeded syscall faults (TESTPLAN item 5) under real sockets: EINTR,
// one-byte and partial reads and writes, spurious EAGAIN, accept failures,
// ECONNRESET/EPIPE mid-stream, EPOLLERR|EPOLLHUP with EPOLLIN.
// Transient faults must be invisible: every echo byte-identical. Fatal ones
// may close a connection, but what it received before must be exactly what
// it sent, and no slot, buffer, timeout node or descriptor may leak.

import KeelTestSupport
import Testing

@testable import Keel

// The fault-injecting backend exists in debug builds only.
#if DEBUG

    struct FaultCase: Sendable, CustomStringConvertible {
        let mode: LoopMode
        let plan: FaultPlan
        /// Configuration.busyPollUs (0: the loop blocks in its waits).
        var busyPollUs = 0
        /// Whether the plan can end connections (resets, hangups).
        var isFatal: Bool { plan.connectionErrorPercent > 0 || plan.hangupPercent > 0 }

        var description: String {
            "\(mode) \(plan)" + (busyPollUs > 0 ? ", busy polling \(busyPollUs) µs" : "")
        }

        static let all: [FaultCase] = [UInt64(1), 2, 3].flatMap { seed in
            // Each case gets a plan of its own: a plan carries the report of what it injected.
            func shortIOEverywhere() -> FaultPlan {
                FaultPlan(
                    seed: seed, partialReadPercent: 100, partialWritePercent: 100, interruptPercent: 20,
                    spuriousWouldBlockPercent: 20, acceptErrorPercent: 20)
            }
            func occasionalResets() -> FaultPlan {
                FaultPlan(
                    seed: seed, partialReadPercent: 30, partialWritePercent: 30, interruptPercent: 5,
                    connectionErrorPercent: 2, hangupPercent: 2)
            }
            return [
                FaultCase(mode: .epollLevel, plan: shortIOEverywhere()),
                // Edge-triggered: no short reads or spurious EAGAIN (see FaultPlan).
                FaultCase(
                    mode: .epollEdge,
                    plan: FaultPlan(seed: seed, partialWritePercent: 100, interruptPercent: 10, acceptErrorPercent: 10)),
                FaultCase(
                    mode: .poll,
                    plan: FaultPlan(
                        seed: seed, partialReadPercent: 30, partialWritePercent: 30, interruptPercent: 10,
                        spuriousWouldBlockPercent: 10, acceptErrorPercent: 5)),
                FaultCase(mode: .epollLevel, plan: occasionalResets()),
                FaultCase(
                    mode: .epollEdge,
                    plan: FaultPlan(seed: seed, partialWritePercent: 20, connectionErrorPercent: 20, hangupPercent: 5)),
                // The echo handler's general path (messageReceived and staging), as above.
                FaultCase(mode: .epollLevelThroughHandler, plan: shortIOEverywhere()),
                FaultCase(mode: .epollLevelThroughHandler, plan: occasionalResets()),
                // Interrupted and short polls between the messages.
                FaultCase(mode: .epollLevel, plan: shortIOEverywhere(), busyPollUs: 500),
            ]
        }
    }

    @Suite(.serialized) struct FaultInjectionTests {
        @Test(arguments: FaultCase.all)
        func echoStaysByteIdenticalAndNothingLeaks(faultCase: FaultCase) throws {
            let plan = faultCase.plan
            let configuration = testConfiguration(faultCase.mode) {
                $0.faultPlan = plan
                $0.acceptPauseMs = 5
                $0.busyPollUs = faultCase.busyPollUs
            }
            var completed = 0
            var cutOff = 0
            let totals = try withEchoServer(configuration) { _, port in
                let clients = try (0..<16).map { _ in try TestClient(port: port) }
                var sent: [[[UInt8]]] = []
                for (index, client) in clients.enumerated() {
                    var random = SeededRandom(seed: plan.seed &* 1_000 &+ UInt64(index))
                    let messages = (0..<40).map { number in
                        payload(count: Int(random.next() % 3_000), seed: UInt64(index * 100 + number))
                    }
                    sent.append(messages)
                    do {
                        try client.send(messages.flatMap { client.frame($0) })
                    } catch {
                        #expect(faultCase.isFatal, "\(faultCase): send failed: \(error)")
                    }
                }
                for (index, client) in clients.enumerated() {
                    var received = 0
                    do {
                        while received < sent[index].count {
                            let echoed = try client.readFrame()
                            #expect(
                                echoed == sent[index][received], "\(faultCase): client \(index) message \(received)")
                            if echoed != sent[index][received] { return }
                            received += 1
                        }
                        completed += 1
                    } catch {
                        #expect(faultCase.isFatal, "\(faultCase): client \(index) cut off after \(received): \(error)")
                        // Cut off means the server ended it (EOF or reset); a read
                        // that timed out is a hung connection, a failure.
                        let text = "\(error)"
                        let endedByServer =
                            text.hasPrefix("EOF after") || text.hasSuffix(Errno.connectionReset.description)
                        #expect(endedByServer, "\(faultCase): client \(index) was not closed but: \(text)")
                        cutOff += 1
                    }
                    client.close()
                }
            }
            let injected = plan.report.injected.withLock { $0 }
            #expect(injected.total > 0, "\(faultCase): faults were injected")
            if faultCase.isFatal {
                // Every client cut off is explained by a fault injected on some
                // connection: each reset or hang-up ends at most one.
                let fatal = injected.connectionErrors + injected.hangups
                #expect(fatal > 0, "\(faultCase): resets or hang-ups were injected")
                #expect(cutOff >= 1 && cutOff <= fatal, "\(faultCase): \(cutOff) cut off for \(fatal) fatal faults")
                #expect(completed + cutOff == 16)
            } else {
                #expect(completed == 16, "\(faultCase): every client got every echo")
                #expect(totals.messagesIn == 16 * 40)
            }
            #expect(totals.accepted == totals.closed, "\(faultCase): every accepted connection was released")
        }
    }
#endif
