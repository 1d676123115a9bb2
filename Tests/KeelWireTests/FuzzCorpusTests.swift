// Replays the fuzzer's kept corpus and every crash reproducer through the
// framing property (FramingFuzzCheck), so a fixed bug stays fixed.

import KeelTestSupport
import Testing

@Suite struct FuzzCorpusTests {
    @Test func keptCorpusHoldsTheProperty() throws {
        let inputs = try FuzzInputs.inputs("corpus")
        #expect(inputs.count > 50, "the kept corpus is in fuzz/corpus")
        for (name, bytes) in inputs {
            let failure = FramingFuzzCheck.run(bytes)
            #expect(failure == nil, "\(name): \(failure ?? "")")
        }
    }

    @Test func crashReproducersStayFixed() throws {
        let inputs = try FuzzInputs.inputs("regressions")
        // The two the fuzzer found (a line limit that depended on how reads fell).
        #expect(inputs.count >= 2, "reproducers are kept in fuzz/regressions")
        for (name, bytes) in inputs {
            let failure = FramingFuzzCheck.run(bytes)
            #expect(failure == nil, "\(name): \(failure ?? "")")
        }
    }

    @Test func checkCatchesAWrongDecoder() {
        // The property is not vacuous: two frames announced, then cut.
        let input: [UInt8] = [3, 3, 7] + [1, 0, 0, 0, 9] + [2, 0, 0, 0, 8, 8]
        #expect(FramingFuzzCheck.run(input) == nil)
        let reference = FramingFuzzCheck.referenceFrames(
            [1, 0, 0, 0, 9, 2, 0, 0, 0, 8, 8], format: .u32le, maxMessage: 255)
        #expect(reference.frames == [[9], [8, 8]] && !reference.oversize)
        let oversize = FramingFuzzCheck.referenceFrames([0, 1, 0, 0], format: .u32le, maxMessage: 255)
        #expect(oversize.oversize)
    }
}
