// The fuzzers' kept inputs (fuzz/<target>/corpus and regressions), which
// the corpus suites replay through each fuzz target's property.

import Foundation

package enum FuzzInputs {
    /// The repository's fuzz folder.
    package static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz")

    /// The files of `fuzz/<folder>`, in name order; a missing folder is an
    /// error, not an empty list.
    package static func files(_ folder: String) throws -> [URL] {
        let path = directory.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: path.path)
        return names.filter { !$0.hasPrefix(".") }.sorted().map { path.appendingPathComponent($0) }
    }

    /// The bytes of each of `fuzz/<folder>`'s files, with its name.
    package static func inputs(_ folder: String) throws -> [(name: String, bytes: [UInt8])] {
        try files(folder).map { ($0.lastPathComponent, Array(try Data(contentsOf: $0))) }
    }
}
