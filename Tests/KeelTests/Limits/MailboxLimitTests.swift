// The cross-thread mailbox's limits: sends beyond its capacity in commands
// or bytes are refused with .queueFull, and succeed again once drained.

import Glibc
import KeelExamples
import Testing

@testable import Keel

@Suite(.serialized) struct MailboxLimitTests {
    @Test(arguments: [(capacity: 100, bytesLimit: 1 << 20, size: 10), (capacity: 65_536, bytesLimit: 1_000, size: 100)])
    func crossThreadSendsBeyondTheMailboxAreRefused(capacity: Int, bytesLimit: Int, size: Int) throws {
        let registry = BroadcastRegistry()
        let gate = Gate()
        let configuration = testConfiguration {
            $0.mailboxCapacity = capacity
            $0.mailboxBytesLimit = bytesLimit
        }
        try withServer(configuration, handler: BlockingEcho(registry: registry, gate: gate)) { server, port in
            let client = try TestClient(port: port, timeoutSeconds: 30)
            #expect(try client.roundTrip([1]))
            let id = try #require(singleID(registry))
            try client.sendFrame([0xBB])
            #expect(gate.awaitHeld(), "the loop thread waits on the gate")
            let fits = min(capacity, bytesLimit / size)
            var queued = 0
            for index in 0..<(fits + 50) {
                let message = [UInt8](repeating: UInt8(index & 0x7F), count: size)
                if server.send(message, to: id) == .queueFull { break }
                queued += 1
            }
            #expect(queued == fits, "the mailbox holds \(fits), then refuses")
            gate.open()
            #expect(try client.readFrame() == [0xBB])
            for index in 0..<queued {
                #expect(try client.readFrame() == [UInt8](repeating: UInt8(index & 0x7F), count: size))
            }
            #expect(server.send([2], to: id) == .queued, "room again once the loop drained it")
            #expect(try client.readFrame() == [2])
        }
    }
}
