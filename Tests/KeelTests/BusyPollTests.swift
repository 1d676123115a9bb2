// Busy polling over real sockets: a polling loop serves correctly, and is
// still woken by traffic. When it polls and when it blocks again is checked
// to the millisecond by LoopSimulationTests, on a clock the test moves.

import KeelTestSupport
import Testing

@testable import Keel

@Suite struct BusyPollTests {
    private func configuration(_ mode: LoopMode, microseconds: Int) -> Configuration {
        testConfiguration(mode) {
            $0.busyPollUs = microseconds
            $0.statisticsIntervalMs = 10
        }
    }

    @Test(arguments: LoopMode.all)
    func servesWhilePollingAndIsWokenWhenIdle(mode: LoopMode) throws {
        try withEchoServer(configuration(mode, microseconds: 2_000)) { server, port in
            let client = try TestClient(port: port)
            for round in 0..<50 {
                let message = payload(count: 1 + round * 37, seed: UInt64(round))
                #expect(try client.roundTrip(message), "round \(round)")
            }
            #expect(eventually { server.statistics().busyPollWaits > 0 }, "the loop polled between messages")
            // Whether or not its window has passed, the next message is served.
            #expect(try client.roundTrip(payload(count: 100, seed: 99)))
            #expect(eventually { server.statistics().messagesIn == 51 })
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
