// ConnectionPhase's transitions, one by one: every legal path of a
// connection's life, and what each phase allows. (Illegal transitions stop
// the process by precondition; the loop's invariant checks run in every
// integration test and would catch a loop that attempted one.)

import Testing

@testable import Keel

@Suite struct ConnectionPhaseTests {
    @Test func aPROXYConnectionIsServedOnceItsHeaderIsRead() {
        var phase = ConnectionPhase.open
        phase.awaitProxyHeader()
        #expect(phase == .awaitingProxyHeader && !phase.stopsInput && !phase.isFinishing)
        phase.headerRead()
        #expect(phase == .open)
    }

    @Test func thePeersEndOfFileFinishesTheConnection() {
        var phase = ConnectionPhase.open
        phase.peerSentEndOfFile()
        #expect(phase == .peerFinished)
        #expect(phase.isFinishing && phase.peerHasFinished && !phase.stopsInput, "waiting requests are still served")
        let asked = phase.askClose()
        #expect(asked)
        #expect(phase == .closingPeerFinished && phase.stopsInput && phase.closeAsked)
    }

    @Test func aGracefulCloseWritesThenLingers() {
        var phase = ConnectionPhase.open
        let asked = phase.askClose()
        #expect(asked)
        #expect(phase == .closing && phase.stopsInput && phase.isFinishing && !phase.peerHasFinished)
        let askedAgain = phase.askClose()
        #expect(!askedAgain, "the first close keeps its reason")
        phase.startLingering()
        #expect(phase == .lingering && phase.closeAsked && phase.isFinishing)
        let askedOnceMore = phase.askClose()
        #expect(!askedOnceMore)
    }

    @Test func theEndOfFileDuringACloseSkipsLingering() {
        var phase = ConnectionPhase.open
        let asked = phase.askClose()
        #expect(asked)
        phase.peerSentEndOfFile()
        #expect(phase == .closingPeerFinished && phase.peerHasFinished)
    }

    @Test func aCloseBeforeTheHeaderNeedsNoHeader() {
        var phase = ConnectionPhase.open
        phase.awaitProxyHeader()
        let asked = phase.askClose()
        #expect(asked)
        #expect(phase == .closing)
        phase = .awaitingProxyHeader
        phase.peerSentEndOfFile()
        #expect(phase == .peerFinished)
    }

    @Test(arguments: [
        ConnectionPhase.open, .awaitingProxyHeader, .peerFinished, .closing, .closingPeerFinished, .lingering,
    ])
    func anAbortSupersedesEveryPhase(from start: ConnectionPhase) {
        var phase = start
        phase.abort()
        #expect(phase == .aborting && phase.stopsInput && !phase.isFinishing && !phase.closeAsked)
        let askedAgain = phase.askClose()
        #expect(!askedAgain, "a graceful close cannot undo an abort")
        phase.peerSentEndOfFile()
        #expect(phase == .aborting)
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
        #expect(MemoryLayout<ConnectionPhase>.size == 1 && MemoryLayout<SlotFlags>.size == 1)
    }
}
