// Replays the fuzzer's kept corpus and every crash reproducer through the
// framing property (FramingFuzzCheck), so a fixed bug stays fixed.

import Foundation
import KeelTestSupport
import Testing

@Suite struct FuzzCorpusTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz")

    /// The files of `fuzz/<folder>`; a missing folder is an error, not an empty list.
    static func inputs(_ folder: String) throws -> [URL] {
        let directory = fuzzDirectory.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test func keptCorpusHoldsTheProperty() throws {
        let files = try Self.inputs("corpus")
        #expect(files.count > 50, "the kept corpus is in fuzz/corpus")
        for file in files {
            let failure = FramingFuzzCheck.run(Array(try Data(contentsOf: file)))
            #expect(failure == nil, "\(file.lastPathComponent): \(failure ?? "")")
        }
    }

    @Test func crashReproducersStayFixed() throws {
        let files = try Self.inputs("regressions")
        // The two the fuzzer found (a line limit that depended on how reads fell).
        #expect(files.count >= 2, "reproducers are kept in fuzz/regressions")
        for file in files {
            let failure = FramingFuzzCheck.run(Array(try Data(contentsOf: file)))
            #expect(failure == nil, "\(file.lastPathComponent): \(failure ?? "")")
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
