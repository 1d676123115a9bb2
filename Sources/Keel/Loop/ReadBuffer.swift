// ReadBuffer: the loop-wide buffer every read(2) lands in. Complete frames are
// handed to the handler straight from here; only an incomplete tail is copied
// into that connection's input ring.

/// One loop's scratch buffer for reads, allocated once.
@usableFromInline
final class ReadBuffer {
    @usableFromInline let capacity: Int
    @usableFromInline let storage: UnsafeMutableRawPointer

    @usableFromInline
    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit {
        storage.deallocate()
    }

    /// The whole buffer, to read into.
    @inlinable @inline(__always)
    var space: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: storage, count: capacity)
    }

    /// The first `count` bytes, as read.
    @inlinable @inline(__always)
    func bytes(_ count: Int) -> UnsafeRawBufferPointer {
        assert(count <= capacity)
        return UnsafeRawBufferPointer(start: storage, count: count)
    }
}
