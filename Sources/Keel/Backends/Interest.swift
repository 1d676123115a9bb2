// Interest: what the loop wants to hear about a descriptor, independent of
// the backend (epoll bits or poll bits are derived from it).

/// Readiness a descriptor is registered for.
struct Interest: OptionSet, Hashable {
    let rawValue: UInt8
    static let read = Interest(rawValue: 1 << 0)
    static let write = Interest(rawValue: 1 << 1)
}
