// The client limit on real sockets: at --max-clients the listener is
// switched off and new connections wait in the kernel's backlog; they are
// accepted, and served, as slots free.

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
}
