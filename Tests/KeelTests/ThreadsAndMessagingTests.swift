// Several loops, ConnectionIDs used from other threads, the broadcast
// example, metrics and the service lifecycle.

import Glibc
import KeelExamples
import KeelTestSupport
import Logging
import MetricsTestKit
import ServiceLifecycle
import Synchronization
import Testing

@testable import Keel

func singleID(_ registry: BroadcastRegistry) -> ConnectionID? {
    var ids: [ConnectionID] = []
    registry.snapshot(into: &ids)
    return ids.count == 1 ? ids[0] : nil
}

@Suite(.serialized) struct ThreadsAndMessagingTests {
    @Test func staleIDAfterSlotReuseIsRefusedNotDeliveredToTheNewOwner() throws {
        let registry = BroadcastRegistry()
        let configuration = testConfiguration {
            $0.maxClients = 1
            $0.statisticsIntervalMs = 10
        }
        try withServer(configuration, handler: RecordingEcho(opened: registry)) { server, port in
            let first = try TestClient(port: port)
            #expect(try first.roundTrip([1]))
            let oldID = try #require(singleID(registry))
            first.close()
            #expect(eventually { registry.count == 0 })
            let second = try TestClient(port: port)
            #expect(try second.roundTrip([2]))
            let newID = try #require(singleID(registry))
            #expect(newID.slot == oldID.slot && newID.generation != oldID.generation, "the slot was reused")
            #expect(server.send([9, 9, 9], to: oldID) == .queued)
            #expect(server.close(oldID) == .queued)
            #expect(eventually { server.statistics().staleCommands == 2 }, "both commands refused")
            #expect(!second.hasData(withinMs: 200), "nothing reaches the slot's new owner")
            #expect(server.send([4, 5], to: newID) == .queued)
            #expect(try second.readFrame() == [4, 5], "the current ID works")
        }
    }

    @Test func crossThreadSendsArriveInOrderPerThread() throws {
        let registry = BroadcastRegistry()
        let configuration = testConfiguration { $0.threads = 2 }
        try withServer(configuration, handler: RecordingEcho(opened: registry)) { server, port in
            let client = try TestClient(port: port, timeoutSeconds: 30)
            #expect(try client.roundTrip([0]))
            let id = try #require(singleID(registry))
            let senders = 4
            let perSender = 500
            let handle = server.handle
            let threads = (0..<senders).map { sender in
                LoopThread(name: "sender-\(sender)") {
                    for sequence in 0..<perSender {
                        let message = [UInt8(sender), UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
                        while handle.send(message, to: id) == .queueFull { usleep(100) }
                    }
                }
            }
            var next = [Int](repeating: 0, count: senders)
            for _ in 0..<(senders * perSender) {
                let message = try client.readFrame()
                let sender = Int(message[0])
                let sequence = Int(message[1]) << 8 | Int(message[2])
                #expect(sequence == next[sender], "sender \(sender) out of order")
                next[sender] = sequence + 1
            }
            for thread in threads { thread.join() }
            #expect(next == [Int](repeating: perSender, count: senders))
        }
    }

    @Test func severalLoopsShareOnePort() throws {
        let configuration = testConfiguration {
            $0.threads = 4
            $0.statisticsIntervalMs = 10
        }
        let totals = try withEchoServer(configuration) { server, port in
            let clients = try (0..<200).map { _ in try TestClient(port: port) }
            for (index, client) in clients.enumerated() {
                #expect(try client.roundTrip(payload(count: 32, seed: UInt64(index))))
            }
            #expect(eventually { server.loopStatistics().reduce(0) { $0 + $1.accepted } == 200 })
            let busyLoops = server.loopStatistics().filter { $0.accepted > 0 }.count
            // The kernel hashes each connection to a listener: all four get
            // some of 200 (a loop left idle by chance: 4 × (3/4)^200 ≈ 1e-24).
            #expect(busyLoops == 4, "every loop accepts: \(server.loopStatistics().map(\.accepted))")
            #expect(server.loopStatistics().count == 4)
        }
        #expect(totals.accepted == 200)
    }

    @Test func maxClientsHoldsOverAllLoopsAndAnyLoopMayServeUpToIt() throws {
        let configuration = testConfiguration {
            $0.threads = 2
            $0.maxClients = 5
        }
        try withEchoServer(configuration) { server, port in
            // However the kernel spreads them over the two listeners, five
            // are served at once (with per-loop shares of 3 and 2, one of
            // them often waited in a full loop's backlog).
            var open = try (0..<5).map { _ in try TestClient(port: port, timeoutSeconds: 10) }
            for (index, client) in open.enumerated() { #expect(try client.roundTrip([UInt8(index)])) }
            var waiting = try (0..<3).map { _ in try TestClient(port: port) }
            for (index, client) in waiting.enumerated() { try client.sendFrame([UInt8(index)]) }
            #expect(!waiting.contains { $0.hasData(withinMs: 100) }, "the server is full")
            #expect(server.openConnections == 5 && server.admittedConnections == 5)
            // Each close lets one waiting client in, on whichever loop holds it.
            var served = 0
            let deadline = monotonicSeconds() + 20
            while !waiting.isEmpty && monotonicSeconds() < deadline {
                if !open.isEmpty { open.removeFirst().close() }
                let ready = waiting.firstIndex { $0.hasData(withinMs: 1_000) }
                guard let ready else { continue }
                #expect(try waiting[ready].readFrame().count == 1)
                open.append(waiting.remove(at: ready))
                served += 1
                // The server's own count: the loops' gauges, published each
                // iteration, may still count a connection another loop closed.
                #expect((server.admittedConnections ?? .max) <= 5, "never more than the limit")
            }
            #expect(served == 3)
        }
    }

    @Test func broadcastReachesEveryOtherClientAndASlowReaderHoldsUpNoOne() throws {
        let registry = BroadcastRegistry()
        let configuration = testConfiguration {
            $0.threads = 2
            $0.maxMessageBytes = 16 << 10
            $0.readBufferBytes = 16 << 10
            $0.outputHighWatermarkBytes = 64 << 10
            $0.outputLowWatermarkBytes = 16 << 10
            $0.maxPendingOutputBytes = 128 << 10
            $0.statisticsIntervalMs = 10
        }
        let totals = try withServer(configuration, handler: BroadcastHandler(registry: registry)) {
            server, port in
            let sender = try TestClient(port: port, timeoutSeconds: 30)
            let readers = try (0..<2).map { _ in try TestClient(port: port, timeoutSeconds: 30) }
            let slow = try TestClient(port: port)
            #expect(eventually { registry.count == 4 })
            try sender.sendFrame(Array("hi".utf8))
            for reader in readers { #expect(try reader.readFrame() == Array("hi".utf8)) }
            #expect(!sender.hasData(withinMs: 100), "the sender does not hear itself")
            // 8 MiB more, which the slow reader never reads: it is cut off at
            // its pending-output cap while the others get every message.
            for index in 0..<1_000 {
                let message = payload(count: 8 << 10, seed: UInt64(index))
                try sender.sendFrame(message)
                for reader in readers {
                    let received = try reader.readFrame()
                    #expect(received == message, "message \(index)")
                    if received != message { return }
                }
            }
            #expect(eventually { server.statistics().closed(.outputOverflow) == 1 }, "the slow reader was cut off")
            slow.close()
        }
        #expect(totals.closed(.outputOverflow) == 1)
    }

    @Test func countersReachSwiftMetrics() throws {
        let metrics = TestMetrics()
        var configuration = testConfiguration()
        configuration.statisticsIntervalMs = 10
        configuration.busyPollUs = 1_000
        configuration.releaseMemoryAfterQuietMs = 5
        let server = Server(configuration: configuration, metricsFactory: metrics)
        let port = try server.start().port
        let client = try TestClient(port: port)
        for index in 0..<10 {
            #expect(try client.roundTrip([UInt8(index)]))
            // A pause after each reply: the loop's next wait is a busy poll
            // that finds nothing (on a loaded machine the next request could
            // otherwise always be there already).
            usleep(3_000)
        }
        // Larger than one read: its tail waits in a pool buffer, released once quiet.
        #expect(try client.roundTrip(payload(count: 100_000, seed: 7)))
        client.close()
        #expect(eventually { metrics.counterTotal(label: "keel_messages_in_total") == 11 })
        #expect(eventually { metrics.counterTotal(label: "keel_memory_releases_total") >= 1 })
        server.shutdown()
        let totals = server.wait()
        #expect(metrics.counterTotal(label: "keel_connections_accepted_total") == 1)
        #expect(totals.busyPollWaits > 0)
        #expect(metrics.counterTotal(label: "keel_busy_poll_waits_total") == Int64(totals.busyPollWaits))
        #expect(metrics.counterTotal(label: "keel_memory_releases_total") == Int64(totals.memoryReleases))
        #expect(metrics.counterTotal(label: "keel_messages_out_total") == 11)
        #expect(metrics.counterTotal(label: "keel_bytes_in_total") == 50 + 100_004)
        #expect(
            metrics.counterTotal(
                label: "keel_connections_closed_total", dimensions: [("loop", "0"), ("reason", "peer-closed")]) == 1)
        // Every counter in the table reaches swift-metrics with the loop's total.
        for counter in Statistics.counters {
            #expect(
                metrics.counterTotal(label: counter.metricLabel) == Int64(totals[keyPath: counter.value]),
                "\(counter.metricLabel)")
        }
    }

    @Test func everyCounterIsAddedReportedAndNamedOnce() {
        var one = Statistics()
        for (index, counter) in Statistics.counters.enumerated() { one[keyPath: counter.value] = index + 1 }
        var sum = Statistics()
        sum.add(one)
        sum.add(one)
        let line = one.description
        for (index, counter) in Statistics.counters.enumerated() {
            #expect(sum[keyPath: counter.value] == 2 * (index + 1), "\(counter.name) is added")
            #expect(
                line.contains(" \(counter.name)=\(index + 1)") || line.hasPrefix("\(counter.name)=\(index + 1)"),
                "\(counter.name) is in the statistics line: \(line)")
        }
        #expect(Set(Statistics.counters.map(\.name)).count == Statistics.counters.count)
        #expect(Set(Statistics.counters.map(\.metricLabel)).count == Statistics.counters.count)
    }

    @Test func serviceGroupGracefulShutdownStopsTheServer() async throws {
        let server = Server(configuration: testConfiguration())
        let port = try server.start().port
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        let client = try TestClient(port: port)
        #expect(try client.roundTrip([1]))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(50))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(server.wait().closed(.serverShutdown) == 1)
        #expect(client.waitForClose())
    }

    @Test func embedExampleServesAndExitsZeroOnSIGTERM() throws {
        let child = try ChildProcess(arguments: ["0"], product: "keel-embed-example")
        #expect(child.readError { $0.contains("keel listening on 127.0.0.1:") && $0.hasSuffix("\n") })
        let text = child.standardError
        let portText = text[text.range(of: "keel listening on 127.0.0.1:")!.upperBound...].prefix(while: \.isNumber)
        let client = try TestClient(port: Int(portText)!)
        #expect(try client.roundTrip(Array("embedded".utf8)))
        // The ticker's first line shows the service group (and its signal
        // handling) is running.
        #expect(child.readError { $0.contains("ticker: open=1") })
        kill(child.pid, SIGTERM)
        #expect(client.waitForClose())
        #expect(child.waitForExit() == 0)
        #expect(child.standardError.contains("keel stopped: accepted=1"))
    }

    /// The flag reaches the server (that every loop takes connections is
    /// checked in-process, by severalLoopsShareOnePort).
    @Test func threadsFlagStartsLoopsThatServe() throws {
        let server = try KeelChild(["--threads", "3", "--stats-interval", "0.2"])
        #expect(server.child.standardError.contains("threads=3"))
        let clients = try (0..<30).map { _ in try TestClient(port: server.port) }
        for client in clients { #expect(try client.roundTrip([7])) }
        #expect(server.child.readError { $0.contains("keel stats: open=30") })
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit() == 0)
        #expect(server.child.standardError.contains("keel stopped: accepted=30"))
    }
}
