// Interest: what the loop wants to hear about a descriptor, independent of
// the backend (epoll bits or poll bits are derived from it).

/// Readiness a descriptor is registered for.
@usableFromInline
package struct Interest: OptionSet, Hashable {
    @usableFromInline package let rawValue: UInt8
    @inlinable package init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable package static var read: Self { Interest(rawValue: 1 << 0) }
    @inlinable package static var write: Self { Interest(rawValue: 1 << 1) }
}
