// Replays the TLS fuzzer's kept corpus and its reproducers through the
// transport seam's property (TLSFuzzCheck), and shows what a script does:
// a well-behaved peer is served, a faulty one is refused and counted.

import KeelTestSupport
import Testing

@testable import Keel

@Suite(.serialized) struct TLSFuzzCorpusTests {
    /// Operation bytes (TLSFuzzCheck.Operation's raw values, peer 0).
    enum Op {
        static let connect: UInt8 = 0, deliver: UInt8 = 1, corrupt: UInt8 = 3, raw: UInt8 = 4, write: UInt8 = 5
        static let read: UInt8 = 7, closeNotify: UInt8 = 8, wait: UInt8 = 11, keyUpdate: UInt8 = 12
    }

    /// A handshake and one frame: connect, then the hello, the client's
    /// Finished and the frame delivered in turn.
    static let servedScript: [UInt8] = [
        Op.connect, 0, Op.deliver, 255, Op.deliver, 255, Op.deliver, 255, Op.write, 20, Op.deliver, 255,
        Op.read, Op.read,
    ]

    @Test(arguments: ["corpus", "regressions"])
    func keptInputsHoldTheProperty(folder: String) throws {
        guard TLSTestFiles.shared != nil else {
            print("TLSFuzzCorpusTests " + TLSTestFiles.skipNote)
            return
        }
        let inputs = try FuzzInputs.inputs("tls/" + folder)
        #expect(folder == "regressions" || inputs.count >= 10, "the kept corpus is in fuzz/tls/corpus")
        for (name, bytes) in inputs {
            let failure = TLSFuzzCheck.run(bytes)
            #expect(failure == nil, "\(name): \(failure ?? "")")
        }
    }

    @Test func aWellBehavedPeerIsServed() {
        guard TLSTestFiles.shared != nil else { return }
        // Server byte 0: no client certificate asked for, TLS 1.2 and up.
        let outcome = TLSFuzzCheck.outcome([0] + Self.servedScript)
        #expect(outcome.failure == nil)
        // The script's peer and the newcomer the check adds.
        #expect(outcome.handshakes == 2)
        #expect(outcome.bytesEchoed >= 4 + 1 + 20 * 9)
        // With a key update on the way (TLS 1.3: the server must answer it).
        let updated = TLSFuzzCheck.outcome([0] + Self.servedScript + [Op.keyUpdate, Op.deliver, 255, Op.read])
        #expect(updated.failure == nil)
        #expect(updated.bytesEchoed >= outcome.bytesEchoed + 7)
    }

    @Test func faultsAreRefusedAndCounted() {
        guard TLSTestFiles.shared != nil else { return }
        // Plaintext where the hello should be.
        let garbage = TLSFuzzCheck.outcome([0, Op.connect, 0, Op.raw, 5, 71, 69, 84, 32, 47])
        #expect(garbage.failure == nil)
        #expect(garbage.handshakeFailures[.notTLS] == 1)
        // A client without a certificate where one is required (server byte 2).
        let anonymous = TLSFuzzCheck.outcome([2] + Self.servedScript)
        #expect(anonymous.failure == nil)
        #expect(anonymous.handshakeFailures[.noClientCertificate] == 1)
        // A hello that stalls past the handshake timeout (64 × 16 ms).
        let stalled = TLSFuzzCheck.outcome([0, Op.connect, 0, Op.wait, 64, Op.wait, 64])
        #expect(stalled.failure == nil)
        #expect(stalled.handshakeFailures[.timeout] == 1)
    }
}
