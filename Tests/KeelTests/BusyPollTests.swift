// Busy polling: after serving traffic a loop polls for a window before it
// blocks again; it still serves correctly, and an idle loop stops polling
// and sleeps (its count of empty polls stops growing).

import Glibc
import Testing

@testable import Keel

@Suite struct BusyPollTests {
    private func configuration(_ mode: LoopMode, microseconds: Int) -> Configuration {
        testConfiguration(mode) {
            $0.busyPollUs = microseconds
            $0.statisticsIntervalMs = 10
        }
    }

    /// The count of empty polls, once it has stayed put for 200 ms.
    private func settledPollCount(_ server: Server<EchoHandler>) -> Int? {
        var settled: Int?
        let quiet = eventually {
            let before = server.statistics().busyPollWaits
            usleep(200_000)
            let after = server.statistics().busyPollWaits
            settled = after
            return after == before
        }
        return quiet ? settled : nil
    }

    @Test(arguments: LoopMode.all)
    func pollsWhileServingThenSleepsWhenIdle(mode: LoopMode) throws {
        try withEchoServer(configuration(mode, microseconds: 2_000)) { server, port in
            let client = try TestClient(port: port)
            for round in 0..<50 {
                let message = payload(count: 1 + round * 37, seed: UInt64(round))
                #expect(try client.roundTrip(message), "round \(round)")
            }
            #expect(eventually { server.statistics().busyPollWaits > 0 }, "the loop polled between messages")
            let settled = try #require(settledPollCount(server), "the idle loop stops polling")
            // Asleep in its wait, the loop is still woken by the next message.
            #expect(try client.roundTrip(payload(count: 100, seed: 99)))
            #expect(eventually { server.statistics().messagesIn == 51 })
            #expect(eventually { server.statistics().busyPollWaits > settled }, "and polls again after serving it")
            client.close()
        }
    }

    @Test func offByDefaultNeverPolls() throws {
        #expect(Configuration().busyPollUs == 0)
        let totals = try withEchoServer(configuration(.epollLevel, microseconds: 0)) { server, port in
            let client = try TestClient(port: port)
            for round in 0..<20 {
                #expect(try client.roundTrip(payload(count: 64, seed: UInt64(round))))
            }
            client.close()
        }
        #expect(totals.messagesIn == 20)
        #expect(totals.busyPollWaits == 0)
    }

    @Test(arguments: [-1, 1_000_001])
    func aWindowOutsideZeroToOneSecondIsRefused(microseconds: Int) {
        var configuration = Configuration()
        configuration.busyPollUs = microseconds
        #expect(throws: ServerError.self) { try configuration.validate() }
    }
}
