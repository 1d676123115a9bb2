// Replays the keel-kv fuzzer's kept corpus and its reproducers through the
// command layer's property (KVFuzzCheck), so a fixed bug stays fixed, and
// shows the property can fail.

import KeelTestSupport
import Testing

@testable import KeelKV

@Suite struct KVFuzzCorpusTests {
    @Test(arguments: ["corpus", "regressions"])
    func keptInputsHoldTheProperty(folder: String) throws {
        let inputs = try FuzzInputs.inputs("kv/" + folder)
        #expect(folder == "regressions" || inputs.count > 50, "the kept corpus is in fuzz/kv/corpus")
        for (name, bytes) in inputs {
            let failure = KVFuzzCheck.run(bytes)
            #expect(failure == nil, "\(name): \(failure ?? "")")
        }
    }

    @Test func scriptsRunAsClientsWouldSendThem() {
        // Steering lines, empty arguments and skipped work are read as the
        // header of KVFuzzCheck says.
        let script = "@shared\nSET k 1 PX 10\n@1\nRPUSH l a  b\nBLPOP q 0\n@2\nLPUSH q x\n@+50\nSETRANGE s 200000 x\n"
        #expect(KVFuzzCheck.run(Array(script.utf8)) == nil)
        #expect(!KVFuzzCheck.admits([Array("SETRANGE".utf8), Array("s".utf8), Array("200000".utf8)]))
        #expect(KVFuzzCheck.admits([Array("INCRBY".utf8), Array("c".utf8), Array("9223372036854775807".utf8)]))
        #expect(!KVFuzzCheck.admits([Array("debug".utf8), Array("sleep".utf8)]))
    }
}
