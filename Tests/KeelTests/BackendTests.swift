// What is specific to each backend: poll's dense pollfd array through many
// registrations and removals, and edge-triggered reading with a budget.

import CShims
import Glibc
import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct BackendTests {
    @Test func pollArrayShrinksAndGrowsAndReportsTheRightTokens() throws {
        let capacity = 64
        let backend = PollBackend(maxClients: capacity)
        var random = SeededRandom(seed: 11)
        var registered: [UInt32: Int32] = [:]  // slot -> eventfd
        var generation: UInt32 = 0
        defer { for fd in registered.values { Glibc.close(fd) } }
        for round in 0..<200 {
            // Grow or shrink at random, keeping the array dense.
            if registered.count < capacity && (registered.isEmpty || random.next() % 2 == 0) {
                let free = (0..<UInt32(capacity)).filter { registered[$0] == nil }
                let slot = free[Int(random.next() % UInt64(free.count))]
                let fd = keel_eventfd(0, keel_EFD_NONBLOCK | keel_EFD_CLOEXEC)
                #expect(fd >= 0)
                generation &+= 1
                try backend.register(fd: fd, token: EventToken(slot: slot, generation: generation), interest: .read)
                registered[slot] = fd
            } else {
                let slot = registered.keys.sorted()[Int(random.next() % UInt64(registered.count))]
                let fd = registered.removeValue(forKey: slot)!
                backend.deregister(fd: fd, token: EventToken(slot: slot, generation: 0))
                Glibc.close(fd)
            }
            backend.checkInvariants()
            #expect(backend.count == registered.count, "round \(round)")
            // Make a random subset readable; exactly those are reported.
            let readable = Set(registered.keys.filter { _ in random.next() % 3 == 0 })
            for slot in readable {
                var one: UInt64 = 1
                _ = withUnsafeBytes(of: &one) { keel_write(registered[slot]!, $0.baseAddress, 8) }
            }
            let n = backend.wait(timeoutMs: 0)
            let reported = Set((0..<n).map { backend.event(at: $0).token.slot })
            #expect(reported == readable, "round \(round)")
            for slot in readable {
                var value: UInt64 = 0
                _ = withUnsafeMutableBytes(of: &value) { keel_read(registered[slot]!, $0.baseAddress, 8) }
            }
        }
    }

    @Test func pollListenerIsParkedWithNoEventsAndComesBack() throws {
        let backend = PollBackend(maxClients: 4)
        let fd = keel_eventfd(1, keel_EFD_NONBLOCK | keel_EFD_CLOEXEC)
        defer { Glibc.close(fd) }
        try backend.register(fd: fd, token: .listener, interest: .read)
        #expect(backend.wait(timeoutMs: 0) == 1)
        backend.modify(fd: fd, token: .listener, interest: [])
        #expect(backend.wait(timeoutMs: 0) == 0, "events = 0 parks it")
        backend.modify(fd: fd, token: .listener, interest: .read)
        #expect(backend.wait(timeoutMs: 0) == 1)
        backend.deregister(fd: fd, token: .listener)
        #expect(backend.count == 0)
        backend.checkInvariants()
    }

    @Test func edgeTriggeredReadsMoreThanOneBudgetAndRevisitsWithoutANewEdge() throws {
        let configuration = testConfiguration(.epollEdge) {
            $0.readBufferBytes = 4096
            $0.maxReadsPerWake = 2
        }
        let totals = try withEchoServer(configuration) { _, port in
            let client = try TestClient(port: port)
            let messages = (0..<256).map { payload(count: 4000, seed: UInt64($0)) }
            // 1 MiB in one go: far more than 2 reads of 4 KiB take per wakeup.
            let writer = WriterThread(fd: client.fd, bytes: messages.flatMap { client.frame($0) })
            for (index, message) in messages.enumerated() {
                let echoed = try client.readFrame()
                #expect(echoed == message, "message \(index)")
                if echoed != message { break }
            }
            _ = writer.join()
        }
        #expect(totals.readsRequeued > 0, "the read budget was used up and the connection revisited")
        #expect(totals.messagesIn == 256)
    }

    @Test(arguments: LoopMode.all)
    func startLineNamesBackendAndTrigger(mode: LoopMode) throws {
        var arguments = ["--backend", "\(mode.backend)"]
        if mode.edgeTriggered { arguments.append("--edge-triggered") }
        let server = try KeelChild(arguments)
        #expect(server.child.standardError.contains("backend=\(mode.backend)"))
        #expect(server.child.standardError.contains("trigger=\(mode.edgeTriggered ? "edge" : "level")"))
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip([1, 2, 3]))
        kill(server.child.pid, SIGTERM)
        #expect(server.child.waitForExit() == 0)
    }
}
