// The loop's decisions, tested deterministically: a SimulatedLoop runs one
// iteration per step on a clock the test moves, so every deadline is checked
// at its millisecond (one before: open; at it: closed), with no sleeps and
// no network. The same behaviours have integration tests over real sockets
// elsewhere; these pin down when things happen.

import Glibc
import KeelTestSupport
import Testing

@testable import Keel

@Suite struct LoopSimulationTests {
    private func configuration(_ adjust: (inout Configuration) -> Void = { _ in }) -> Configuration {
        var configuration = Configuration()
        configuration.releaseMemoryAfterQuietMs = nil
        configuration.statisticsIntervalMs = 1_000_000
        adjust(&configuration)
        return configuration
    }

    /// Sends `frame` in two halves, one iteration apart (the first half
    /// waits in a pool block meanwhile), and expects it echoed.
    private func echoInHalves(
        _ frame: [UInt8], from peer: SocketPeer,
        through simulation: SimulatedLoop<LengthPrefixFormat, EchoHandler, PlaintextTransport>,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        peer.send(Array(frame[..<(frame.count / 2)]))
        simulation.step()
        peer.send(Array(frame[(frame.count / 2)...]))
        simulation.step()
        #expect(peer.receive().bytes == frame, sourceLocation: sourceLocation)
    }

    /// Without an idle timeout (redis-server's `timeout 0`, keel-kv's
    /// default) a silent connection stays open however long it waits.
    @Test func withoutAnIdleTimeoutASilentConnectionStaysOpen() throws {
        let simulation = try SimulatedLoop(configuration { $0.idleTimeoutMs = nil })
        defer { simulation.finish() }
        let peer = try simulation.connect()
        simulation.step()
        for _ in 0..<10 { simulation.step(advancingMs: 30 * 24 * 3_600 * 1_000) }  // ten months
        #expect(peer.receive() == ([], false), "still open")
        peer.send(SocketPeer.frame([7]))
        simulation.step()
        #expect(peer.receive().bytes == SocketPeer.frame([7]), "and served")
        #expect(simulation.statistics.closed(.idleTimeout) == 0)
    }

    @Test func anIdleConnectionClosesAtItsDeadlineAndTrafficPostponesIt() throws {
        let simulation = try SimulatedLoop(configuration { $0.idleTimeoutMs = 1_000 })
        defer { simulation.finish() }
        let peer = try simulation.connect()
        simulation.step(advancingMs: 600)
        peer.send(SocketPeer.frame([1, 2, 3]))
        simulation.step()
        #expect(peer.receive().bytes == SocketPeer.frame([1, 2, 3]))
        simulation.step(advancingMs: 999)
        #expect(peer.receive() == ([], false), "open 999 ms after the last message")
        simulation.step(advancingMs: 1)
        #expect(peer.receive().ended, "1000 ms after it, the server shuts its side")
        peer.close()
        simulation.step()
        #expect(simulation.openConnections == 0, "and closes once the peer has gone")
        #expect(simulation.statistics.closed(.idleTimeout) == 1)
    }

    @Test func theFirstMessageTimeoutEndsAtTheFirstWholeMessage() throws {
        let simulation = try SimulatedLoop(
            configuration {
                $0.idleTimeoutMs = 10_000
                $0.firstMessageTimeoutMs = 300
            })
        defer { simulation.finish() }
        let silent = try simulation.connect()
        let greeting = try simulation.connect()
        let frame = SocketPeer.frame(Array(repeating: 7, count: 100))
        silent.send(Array(frame[..<50]))  // half a message does not count
        greeting.send(frame)
        simulation.step(advancingMs: 299)
        #expect(greeting.receive().bytes == frame)
        #expect(silent.receive() == ([], false), "open at 299 ms")
        simulation.step(advancingMs: 1)
        #expect(silent.receive().ended, "shut at 300 ms")
        silent.close()
        simulation.step()
        #expect(simulation.statistics.closed(.firstMessageTimeout) == 1)
        simulation.step(advancingMs: 9_000)
        #expect(greeting.receive() == ([], false), "a connection that sent a message stays")
        #expect(simulation.openConnections == 1)
    }

    @Test func aStalledReaderIsClosedAtTheWriteTimeoutAndProgressRestartsIt() throws {
        let simulation = try SimulatedLoop(configuration { $0.writeTimeoutMs = 500 })
        defer { simulation.finish() }
        let peer = try simulation.connect(serverSendBufferBytes: 4_096)
        simulation.send(SocketPeer.frame(Array(repeating: 9, count: 100_000)), from: peer)
        #expect(simulation.step(until: { simulation.loop.timeouts.write.contains(0) }), "the echo is pending")
        simulation.step(advancingMs: 400)
        #expect(peer.receive().bytes.count > 0)
        simulation.step()  // the socket has room: the loop writes, and the timer restarts
        simulation.step(advancingMs: 499)
        #expect(simulation.openConnections == 1, "499 ms after the last progress")
        simulation.step(advancingMs: 1)
        #expect(simulation.statistics.closed(.writeTimeout) == 1, "500 ms after the last progress")
    }

    @Test func readingPausesAboveTheHighWatermarkAndResumesBelowTheLow() throws {
        let simulation = try SimulatedLoop(
            configuration {
                $0.outputHighWatermarkBytes = 32 << 10
                $0.outputLowWatermarkBytes = 8 << 10
            })
        defer { simulation.finish() }
        let peer = try simulation.connect(serverSendBufferBytes: 4_096)
        let serverFd = simulation.loop.slab[0].fd
        let frame = SocketPeer.frame(Array(repeating: 5, count: 10_000))
        for _ in 0..<8 {
            peer.send(frame)
            simulation.step()
        }
        #expect(simulation.backend.interest(of: serverFd) == .write, "paused: output over 32 KiB")
        var echoed = 0
        for _ in 0..<100 where simulation.backend.interest(of: serverFd) != [.read, .write] {
            echoed += peer.receive(limit: 4_096).bytes.count
            simulation.step()
        }
        #expect(simulation.backend.interest(of: serverFd) == [.read, .write], "reading again")
        #expect(simulation.loop.slab[0].output.count <= 8 << 10, "below the low watermark")
        for _ in 0..<100 where echoed < 8 * frame.count {
            echoed += peer.receive().bytes.count
            simulation.step()
        }
        #expect(echoed == 8 * frame.count, "every message echoed once")
        #expect(simulation.backend.interest(of: serverFd) == .read)
    }

    @Test func aClosedConnectionLingersUntilThePeerFinishesOrTheLingerTimeout() throws {
        let simulation = try SimulatedLoop(
            configuration { $0.lingerTimeoutMs = 2_000 }, format: Configuration().lengthPrefixFormat,
            handler: ReplyThenCloseHandler())
        defer { simulation.finish() }
        let patient = try simulation.connect()
        let prompt = try simulation.connect()
        let frame = SocketPeer.frame([4, 2])
        patient.send(frame)
        prompt.send(frame)
        simulation.step()
        for peer in [patient, prompt] {
            let received = peer.receive()
            #expect(received.bytes == frame && received.ended, "the reply, then the server's FIN")
        }
        #expect(simulation.openConnections == 2, "both linger, reading until the peer's EOF")
        prompt.finishSending()
        simulation.step()
        #expect(simulation.openConnections == 1, "the peer's EOF ends lingering")
        simulation.step(advancingMs: 1_999)
        #expect(simulation.openConnections == 1)
        simulation.step(advancingMs: 1)
        #expect(simulation.openConnections == 0, "the linger timeout ends it")
        #expect(simulation.statistics.closed(.closedByHandler) == 2)
    }

    @Test func busyPollingPollsForItsWindowAfterTrafficThenBlocks() throws {
        let simulation = try SimulatedLoop(configuration { $0.busyPollUs = 2_000 })
        defer { simulation.finish() }
        let peer = try simulation.connect()
        simulation.step(advancingMs: 10)  // the window after the accept passes
        simulation.step()
        #expect(simulation.backend.waitTimeouts.last == -1, "idle: the wait blocks")
        peer.send(SocketPeer.frame([1]))
        simulation.step()
        #expect(peer.receive().bytes == SocketPeer.frame([1]))
        let pollsBefore = simulation.statistics.busyPollWaits
        simulation.step(advancingMs: 1)
        simulation.step(advancingMs: 1)
        simulation.step()
        #expect(
            Array(simulation.backend.waitTimeouts.suffix(3)) == [0, 0, -1],
            "polls while the 2 ms window after serving lasts, then blocks")
        #expect(simulation.statistics.busyPollWaits == pollsBefore + 2, "two polls found nothing")
        // The loop's own wakeups (here the waker) do not reopen the window.
        simulation.control.waker.wake()
        simulation.step()
        simulation.step()
        #expect(simulation.backend.waitTimeouts.suffix(2) == [-1, -1])
    }

    @Test func quietBuffersAreReleasedOneQuietPeriodAfterTheirLastUse() throws {
        let simulation = try SimulatedLoop(configuration { $0.releaseMemoryAfterQuietMs = 50 })
        defer { simulation.finish() }
        let peer = try simulation.connect()
        let frame = SocketPeer.frame(Array(repeating: 3, count: 10_000))
        peer.send(Array(frame[..<5_000]))  // half a frame holds a pool block
        simulation.step()
        #expect(simulation.loop.pool.outstandingBytes > 0)
        for _ in 0..<10 { simulation.step(advancingMs: 50) }
        #expect(simulation.statistics.memoryReleases == 0, "never while a buffer is in use")
        peer.send(Array(frame[5_000...]))
        simulation.step()
        #expect(peer.receive().bytes == frame)
        #expect(simulation.loop.pool.outstandingBytes == 0)
        simulation.run(forMs: 49)
        #expect(simulation.statistics.memoryReleases == 0, "49 ms quiet")
        simulation.run(forMs: 51)
        #expect(simulation.statistics.memoryReleases == 1, "released within two quiet periods")
        #expect(simulation.loop.pool.retainedBytes == 0)
        for _ in 0..<10 { simulation.step(advancingMs: 50) }
        #expect(simulation.statistics.memoryReleases == 1, "nothing more to release until buffers are used")
        echoInHalves(frame, from: peer, through: simulation)
        simulation.run(forMs: 100)
        #expect(simulation.statistics.memoryReleases == 2)
    }

    @Test func withoutAQuietPeriodTheMemoryIsKept() throws {
        let simulation = try SimulatedLoop(configuration { $0.releaseMemoryAfterQuietMs = nil })
        defer { simulation.finish() }
        let peer = try simulation.connect()
        let frame = SocketPeer.frame(Array(repeating: 3, count: 10_000))
        echoInHalves(frame, from: peer, through: simulation)
        simulation.run(forMs: 5_000)
        #expect(simulation.statistics.memoryReleases == 0)
        #expect(simulation.loop.pool.retainedBytes > 0, "the pool keeps its block")
    }

    @Test func acceptsPauseAfterDescriptorExhaustionForTheAcceptPause() throws {
        let simulation = try SimulatedLoop(configuration { $0.acceptPauseMs = 100 })
        defer { simulation.finish() }
        simulation.backend.acceptFailures = [.tooManyOpenFiles]
        simulation.step()
        #expect(simulation.backend.interest(of: simulation.listenerFd) == [], "the listener is off")
        #expect(simulation.statistics.listenerPauses == 1)
        #expect(simulation.statistics.acceptErrors == 1)
        let (peer, server) = try SocketPeer.pair()
        simulation.backend.pendingAccepts = [server]
        simulation.step(advancingMs: 99)
        #expect(simulation.backend.pendingAccepts == [server], "nothing accepted during the pause")
        simulation.step(advancingMs: 1)
        #expect(simulation.backend.interest(of: simulation.listenerFd) == .read, "back on when the pause ends")
        simulation.step()
        #expect(simulation.backend.pendingAccepts.isEmpty && simulation.openConnections == 1)
        peer.send(SocketPeer.frame([8]))
        simulation.step()
        #expect(peer.receive().bytes == SocketPeer.frame([8]))
    }

    @Test func aConnectionAtTheClientLimitSwitchesTheListenerOffUntilASlotFrees() throws {
        let simulation = try SimulatedLoop(configuration { $0.maxClients = 2 })
        defer { simulation.finish() }
        let first = try simulation.connect()
        let second = try simulation.connect()
        #expect(simulation.backend.interest(of: simulation.listenerFd) == [])
        first.close()
        simulation.step()
        #expect(simulation.openConnections == 1)
        #expect(simulation.backend.interest(of: simulation.listenerFd) == .read)
        second.close()
    }

    @Test func shutdownDrainsOutputUntilItsDeadlineThenCloses() throws {
        let simulation = try SimulatedLoop(configuration { $0.shutdownTimeoutMs = 5_000 })
        defer { simulation.finish() }
        let idle = try simulation.connect()
        let stalled = try simulation.connect(serverSendBufferBytes: 4_096)
        simulation.send(SocketPeer.frame(Array(repeating: 1, count: 60_000)), from: stalled)
        #expect(simulation.step(until: { simulation.loop.timeouts.write.contains(1) }), "the echo is pending")
        simulation.control.requestStop()
        simulation.step()
        #expect(simulation.backend.interest(of: simulation.listenerFd) == nil, "the listener is closed")
        #expect(idle.receive().ended, "an idle connection is shut at once")
        idle.close()
        simulation.step(advancingMs: 4_999)
        #expect(!simulation.finished && simulation.openConnections == 1, "output drains until the deadline")
        simulation.step(advancingMs: 1)
        #expect(simulation.finished, "the loop ends at the shutdown deadline")
        #expect(simulation.statistics.closed(.serverShutdown) == 2)
    }

    private func relayLoop(
        handler: RelayHandler = RelayHandler(), _ adjust: (inout Configuration) -> Void = { _ in }
    ) throws -> SimulatedLoop<LengthPrefixFormat, RelayHandler, PlaintextTransport> {
        try SimulatedLoop(
            configuration {
                $0.maxPendingOutputBytes = 16 << 10
                $0.outputHighWatermarkBytes = 8 << 10
                $0.outputLowWatermarkBytes = 4 << 10
                adjust(&$0)
            }, format: Configuration().lengthPrefixFormat, handler: handler)
    }

    @Test func theHandlerHearsOfAPROXYConnectionOnlyOnceItsHeaderIsRead() throws {
        let simulation = try relayLoop {
            $0.proxyProtocol = .v1
            $0.firstMessageTimeoutMs = 500
        }
        defer { simulation.finish() }
        let header = Array("PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n".utf8)
        let proxied = try simulation.connect()
        let headless = try simulation.connect()
        proxied.send(Array(header[..<10]))
        simulation.step()
        #expect(simulation.loop.handler.opened.isEmpty, "half a header: the handler knows nothing yet")
        proxied.send(Array(header[10...]) + SocketPeer.frame(Array("hi".utf8)))
        simulation.step()
        #expect(simulation.loop.handler.opened.count == 1, "told once the header names the client")
        #expect(simulation.loop.handler.receivedOn == simulation.loop.handler.opened, "and the request behind it")
        let client = simulation.loop.outputs.proxyHeader(of: simulation.loop.handler.opened[0].slot)?.source
        #expect(client?.description == "192.0.2.1:56324")
        simulation.step(advancingMs: 500)
        #expect(headless.receive().ended, "no header within the first-message timeout: shut")
        headless.close()
        simulation.step()
        #expect(simulation.statistics.closed(.firstMessageTimeout) == 1)
        #expect(simulation.loop.handler.closed.isEmpty, "a connection the handler never heard of closes unheard")
        proxied.close()
        simulation.step()
        #expect(simulation.loop.handler.closed == [.peerClosed])
    }

    @Test func theDeadlineTimerIsArmedForTheNearestDeadline() throws {
        let simulation = try SimulatedLoop(configuration { $0.idleTimeoutMs = 1_000 })
        defer { simulation.finish() }
        let startMs = simulation.backend.clockNs / 1_000_000
        let peer = try simulation.connect()
        simulation.step()  // the wait after the accept sees the new deadline
        #expect(simulation.loop.reactor.deadlineTimer.armedAtMs == startMs + 1_000)
        peer.send(SocketPeer.frame([1]))
        simulation.step(advancingMs: 300)
        simulation.step()
        #expect(
            simulation.loop.reactor.deadlineTimer.armedAtMs == startMs + 1_000,
            "a later deadline leaves the timer as armed (it fires early, the loop looks again)")
        simulation.step(advancingMs: 700)
        simulation.step()
        #expect(
            simulation.loop.reactor.deadlineTimer.armedAtMs == startMs + 1_300, "re-armed once the early expiry passed")
    }

    @Test func anAbortOvertakingALingeringConnectionDeliversItNothingMore() throws {
        let simulation = try relayLoop()
        defer { simulation.finish() }
        // The sender's events come first in a batch (lower slot).
        let sender = try simulation.connect()
        let lingering = try simulation.connect()
        lingering.send(SocketPeer.frame(Array("close".utf8)))
        simulation.step()
        let lingeringID = try #require(simulation.loop.handler.target)
        #expect(lingering.receive().ended, "replied, then shut its side: lingering")
        // In one batch: the sender's handler overflows the lingering
        // connection's output (an abort), then the lingering one is readable.
        sender.send(SocketPeer.frame(Array("blast".utf8)))
        lingering.send(SocketPeer.frame(Array("late".utf8)))
        simulation.step()
        #expect(simulation.loop.handler.receivedOn.filter { $0 == lingeringID }.count == 1, "nothing after its close")
        #expect(simulation.statistics.closed(.outputOverflow) == 1)
        #expect(simulation.openConnections == 1)
    }

    @Test func aCloseAfterAnAbortKeepsTheAbortsReason() throws {
        let simulation = try relayLoop(handler: RelayHandler(blastAndCloseOnOpen: true))
        defer { simulation.finish() }
        let peer = try simulation.connect()
        simulation.step()
        #expect(simulation.statistics.closed(.outputOverflow) == 1)
        #expect(simulation.statistics.closed(.closedByHandler) == 0)
        #expect(peer.receive().ended)
    }

    @Test func anErrorEventClosesOnlyItsConnection() throws {
        let simulation = try SimulatedLoop(configuration())
        defer { simulation.finish() }
        let doomed = try simulation.connect()
        let other = try simulation.connect()
        let token = EventToken(slot: 0, generation: simulation.loop.slab[0].generation)
        simulation.backend.injected = [ReadyEvent(token: token, readiness: [.readable, .error])]
        doomed.send(SocketPeer.frame([1]))
        other.send(SocketPeer.frame([2]))
        simulation.step()
        #expect(simulation.statistics.closed(.peerReset) == 1)
        #expect(other.receive().bytes == SocketPeer.frame([2]))
        #expect(simulation.openConnections == 1)
    }
}
