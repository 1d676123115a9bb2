// LoadGenerator: keel-bench's entry point as a library: validated options
// in, a result out. It picks the workload for the wire protocol and runs
// the load engine specialised for it.

import Keel

/// Why a run could not be carried out.
public struct BenchError: Error, CustomStringConvertible {
    /// What went wrong, naming the connection where one is concerned.
    public let description: String

    /// An error saying `description`.
    public init(description: String) {
        self.description = description
    }
}

/// Runs one load against a server and returns what it measured.
public final class LoadGenerator {
    private let options: BenchOptions
    private let progress: (String) -> Void

    /// - Parameter progress: receives a progress line each second (when
    ///   `options.progress`) and notes (pass `{ _ in }` to drop them).
    public init(options: BenchOptions, progress: @escaping (String) -> Void) throws {
        let problems = options.problems()
        guard problems.isEmpty else { throw BenchError(description: problems.joined(separator: "\n")) }
        self.options = options
        self.progress = progress
    }

    /// Connects, loads the server, and returns what it measured.
    public func run() throws -> BenchResult {
        switch options.wireProtocol {
        case .length:
            let payloads = PayloadSource(sizes: options.sizes)
            return try run(LengthEchoWorkload(payloads: payloads, frame: options.frame))
        case .line:
            return try run(LineEchoWorkload(payloads: PayloadSource(sizes: options.sizes, printable: true)))
        case .resp:
            return try run(RESPWorkload(spec: options.command, keyspace: options.keyspace, sizes: options.sizes))
        }
    }

    private func run<Workload: BenchWorkload>(_ workload: Workload) throws -> BenchResult {
        try LoadEngine(options: options, workload: workload, progress: progress).run()
    }
}
