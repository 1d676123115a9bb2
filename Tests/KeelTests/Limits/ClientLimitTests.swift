// The client limit on real sockets: at --max-clients the listener is
// switched off and new connections wait in the kernel's backlog; they are
// accepted, and served, as slots free. With a limit reply, they are told
// and closed instead. (Over several loops: ThreadsAndMessagingTests.)

import Glibc
import Testing

@testable import Keel

@Suite(.serialized) struct ClientLimitTests {
    @Test(arguments: LoopMode.all)
    func maxClientsPausesTheListenerAndResumesWhenASlotFrees(mode: LoopMode) throws {
        let totals = try withEchoServer(testConfiguration(mode) { $0.maxClients = 3 }) { server, port in
            let first = try (0..<3).map { _ in try TestClient(port: port) }
            for client in first { #expect(try client.roundTrip([1])) }
            #expect(eventually { !server.isAccepting }, "the listener is switched off at the limit")
            // The kernel completes the handshake from the backlog, but Keel
            // does not accept, so no echo comes back.
            let waiting = try TestClient(port: port)
            try waiting.sendFrame([2])
            #expect(!waiting.hasData(withinMs: 300), "a fourth client is not served while three are open")
            first[0].close()
            #expect(try waiting.readFrame() == [2], "the waiting client is served once a slot frees")
            #expect(eventually { !server.isAccepting }, "full again: listener off again")
            for client in first.dropFirst() { client.close() }
            #expect(eventually { server.isAccepting }, "slots free: listener on")
        }
        #expect(totals.listenerPauses >= 2)
        #expect(totals.accepted == 4)
    }

    @Test(arguments: LoopMode.all)
    func fiftyArriveForTenSlotsAndAllAreServedAsSlotsFree(mode: LoopMode) throws {
        try withEchoServer(testConfiguration(mode) { $0.maxClients = 10 }) { server, port in
            var clients = try (0..<50).map { _ in try TestClient(port: port) }
            for (index, client) in clients.enumerated() { try client.sendFrame([UInt8(index)]) }
            var served = 0
            while !clients.isEmpty {
                #expect(eventually { server.openConnections <= 10 })
                // The first ten in line are (or will be) accepted; serve and close them.
                let batch = clients.prefix(10)
                for client in batch {
                    let echoed = try client.readFrame()
                    #expect(echoed.count == 1)
                    client.close()
                    served += 1
                }
                clients.removeFirst(batch.count)
            }
            #expect(served == 50)
        }
    }

    @Test(arguments: [1, 2])
    func aClientOverTheLimitIsToldAndClosedWhenAReplyIsSet(threads: Int) throws {
        let configuration = testConfiguration {
            $0.threads = threads
            $0.maxClients = 2
            $0.statisticsIntervalMs = 10
            $0.clientLimitReply = Array("full\r\n".utf8)
        }
        try withEchoServer(configuration) { server, port in
            let open = try (0..<2).map { _ in try TestClient(port: port, timeoutSeconds: 10) }
            for client in open { #expect(try client.roundTrip([1])) }
            let turnedAway = try TestClient(port: port, timeoutSeconds: 10)
            #expect(try turnedAway.readToEnd() == Array("full\r\n".utf8))
            #expect(eventually { server.statistics().rejected == 1 })
            #expect(server.isAccepting, "the listener stays on to turn clients away")
            for client in open { #expect(try client.roundTrip([2]), "those inside carry on") }
            open[0].close()
            #expect(eventually { server.openConnections == 1 })
            let next = try TestClient(port: port, timeoutSeconds: 10)
            #expect(try next.roundTrip([3]), "a freed place is taken again")
        }
    }
}
