// BenchProtocol: which wire format keel-bench speaks.

/// The wire format of the server under load.
public enum BenchProtocol: String, Sendable, CaseIterable {
    /// Keel's default: length-prefixed messages, echoed (`--frame` sets the field).
    case length
    /// Lines ended by LF, echoed (`keel --protocol line`).
    case line
    /// Redis's protocol: commands (`--command`, `--mix`), replies checked.
    case resp

    /// "length, line, resp", for error messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
