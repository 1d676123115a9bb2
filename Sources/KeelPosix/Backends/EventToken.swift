// EventToken: what a backend reports with each ready descriptor.

/// The 64-bit user data Keel registers with the backend for each descriptor:
/// `slot | generation << 32`.
@usableFromInline
package struct EventToken: Hashable {
    @usableFromInline package let rawValue: UInt64

    @inlinable @inline(__always)
    package init(rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable @inline(__always)
    package init(slot: UInt32, generation: UInt32) {
        rawValue = UInt64(slot) | UInt64(generation) << 32
    }

    @inlinable @inline(__always) package var slot: UInt32 { UInt32(truncatingIfNeeded: rawValue) }
    @inlinable @inline(__always) package var generation: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    /// Slot numbers at and above this one name the loop's own descriptors.
    @inlinable package static var firstReservedSlot: UInt32 { UInt32.max - 15 }
    /// The listening socket.
    @inlinable package static var listener: EventToken { EventToken(slot: UInt32.max, generation: 0) }
    /// The loop's eventfd, written to wake it from another thread.
    @inlinable package static var waker: EventToken { EventToken(slot: UInt32.max - 1, generation: 0) }
    /// The loop's timer descriptor, armed for its nearest deadline.
    @inlinable package static var timer: EventToken { EventToken(slot: UInt32.max - 2, generation: 0) }
    /// The listening socket of the TLS port, when TLS has a port of its own.
    @inlinable package static var tlsListener: EventToken { EventToken(slot: UInt32.max - 3, generation: 0) }
}
