// Payload sizes: one fixed size ("64") or an inclusive range ("64-4096").

/// The payload size of each message: fixed, or drawn from a range.
public struct SizeRange: Sendable, Equatable, CustomStringConvertible {
    /// Smallest payload in bytes.
    public let minimum: Int
    /// Largest payload in bytes.
    public let maximum: Int

    /// A range from `minimum` to `maximum` bytes.
    public init(minimum: Int, maximum: Int) {
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Parses "N" or "MIN-MAX" (bytes); nil if malformed or MIN > MAX.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2,
            let low = Int(parts[0]), let high = Int(parts[parts.count - 1]),
            low >= 0, low <= high
        else { return nil }
        self.init(minimum: low, maximum: high)
    }

    /// Whether every payload has the same size.
    public var isFixed: Bool { minimum == maximum }

    /// "N" or "MIN-MAX".
    public var description: String { isFixed ? "\(minimum)" : "\(minimum)-\(maximum)" }
}
