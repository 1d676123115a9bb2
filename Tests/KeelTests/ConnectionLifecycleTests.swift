// ConnectionLifecycle's transitions, one by one: every legal path of a
// connection's life, what each phase allows, and which reason a connection
// closes with. (Illegal transitions stop the process by precondition; the
// loop's invariant checks run in every integration test and would catch a
// loop that attempted one.)

import Testing

@testable import Keel

@Suite struct ConnectionLifecycleTests {
    @Test func aPROXYConnectionIsServedOnceItsHeaderIsRead() {
        var lifecycle = ConnectionLifecycle()
        lifecycle.awaitProxyHeader()
        let phase = lifecycle.phase
        #expect(phase == .awaitingProxyHeader && !phase.stopsInput && !phase.isFinishing)
        lifecycle.headerRead()
        #expect(lifecycle.phase == .open)
    }

    @Test func thePeersEndOfFileFinishesTheConnection() {
        var lifecycle = ConnectionLifecycle()
        lifecycle.peerSentEndOfFile()
        var phase = lifecycle.phase
        #expect(phase == .peerFinished)
        #expect(phase.isFinishing && phase.peerHasFinished && !phase.stopsInput, "waiting requests are still served")
        #expect(lifecycle.closeReason == .peerClosed)
        let asked = lifecycle.askClose(.idleTimeout)
        #expect(asked)
        phase = lifecycle.phase
        #expect(phase == .closingPeerFinished && phase.stopsInput && phase.closeAsked)
        #expect(lifecycle.closeReason == .idleTimeout)
    }

    @Test func aGracefulCloseWritesThenLingersAndKeepsItsFirstReason() {
        var lifecycle = ConnectionLifecycle()
        let asked = lifecycle.askClose(.closedByHandler)
        #expect(asked)
        let phase = lifecycle.phase
        #expect(phase == .closing && phase.stopsInput && phase.isFinishing && !phase.peerHasFinished)
        let refused = !lifecycle.askClose(.serverShutdown)
        #expect(refused, "asked already")
        #expect(lifecycle.closeReason == .closedByHandler, "the first close keeps its reason")
        lifecycle.startLingering()
        #expect(lifecycle.phase == .lingering && lifecycle.phase.closeAsked && lifecycle.phase.isFinishing)
        let refusedWhileLingering = !lifecycle.askClose(.idleTimeout)
        #expect(refusedWhileLingering)
        #expect(lifecycle.closeReason == .closedByHandler)
    }

    @Test func theEndOfFileDuringACloseSkipsLingering() {
        var lifecycle = ConnectionLifecycle()
        let asked = lifecycle.askClose(.protocolError)
        #expect(asked)
        lifecycle.peerSentEndOfFile()
        #expect(lifecycle.phase == .closingPeerFinished && lifecycle.phase.peerHasFinished)
        #expect(lifecycle.closeReason == .protocolError)
    }

    @Test func aCloseBeforeTheHeaderNeedsNoHeader() {
        var lifecycle = ConnectionLifecycle()
        lifecycle.awaitProxyHeader()
        let asked = lifecycle.askClose(.firstMessageTimeout)
        #expect(asked)
        #expect(lifecycle.phase == .closing)
        var other = ConnectionLifecycle()
        other.awaitProxyHeader()
        other.peerSentEndOfFile()
        #expect(other.phase == .peerFinished)
    }

    /// An abort supersedes every phase and a graceful close's reason; a
    /// second abort or a later close keeps the first abort's reason.
    @Test(arguments: [false, true])
    func anAbortSupersedesEveryPhase(closedFirst: Bool) {
        let paths: [(inout ConnectionLifecycle) -> Void] = [
            { _ in }, { $0.awaitProxyHeader() }, { $0.peerSentEndOfFile() }, { $0.askClose(.idleTimeout) },
            {
                $0.peerSentEndOfFile()
                $0.askClose(.idleTimeout)
            },
            {
                $0.askClose(.idleTimeout)
                $0.startLingering()
            },
        ]
        for path in paths {
            var lifecycle = ConnectionLifecycle()
            path(&lifecycle)
            if closedFirst { lifecycle.askClose(.closedByHandler) }
            lifecycle.abort(.outputOverflow)
            let phase = lifecycle.phase
            #expect(phase == .aborting && phase.stopsInput && !phase.isFinishing && !phase.closeAsked)
            let refused = !lifecycle.askClose(.serverShutdown)
            #expect(refused, "a graceful close cannot undo an abort")
            lifecycle.abort(.outOfMemory)
            lifecycle.peerSentEndOfFile()
            #expect(lifecycle.phase == .aborting)
            #expect(lifecycle.closeReason == .outputOverflow, "the first abort's reason")
        }
    }

    @Test func onlyAnOpenConnectionTakesTheEchoFastPathsOrder() {
        // The per-read checks compare raw values: the order of the cases matters.
        let order: [ConnectionPhase] = [
            .open, .awaitingProxyHeader, .peerFinished, .closing, .closingPeerFinished, .lingering, .aborting,
        ]
        #expect(order.map(\.rawValue) == Array(0...6))
        #expect(order.filter { !$0.stopsInput } == [.open, .awaitingProxyHeader, .peerFinished])
    }

    @Test func theSlotStaysEightyBytes() {
        #expect(MemoryLayout<ClientSlot>.stride <= 80)
        #expect(MemoryLayout<ConnectionLifecycle>.size == 2 && MemoryLayout<SlotFlags>.size == 1)
    }
}
