// FrameAssembler: turns the bytes of successive reads into complete frames.
//
// Complete frames in a read are delivered straight from the read's memory
// (no copy). A frame cut by the end of a read waits in the connection's
// pending ring; the next read first completes it (the rest of the header,
// then, once the length is known and checked, exactly the rest of the body)
// and only then scans on. So the pending ring never holds more than one
// frame, and an oversize length is refused before any of its body is kept.
// The ring grows with the bytes that actually arrive (to the next power of
// two of what it holds), never from the announced length: a header
// announcing the maximum followed by one byte costs one small block, not a
// maximum-size one.

/// What feeding one read produced.
public enum FeedOutcome: Equatable, Sendable {
    /// Every byte was used; `frames` frames were delivered.
    case consumed(frames: Int)
    /// `deliver` asked to stop after `frames` frames; the rest was dropped.
    case stopped(frames: Int)
    /// A header announced more than the maximum; the connection must close.
    case oversize(announced: UInt64, frames: Int)
    /// The pending ring could not grow (no memory); the connection must close.
    case outOfMemory(frames: Int)
}

/// Splits reads into frames, keeping a partial frame in a ring between reads.
public struct FrameAssembler: Sendable {
    /// The frame layout and size limit.
    public let decoder: FrameDecoder

    /// An assembler for `decoder`'s format and size limit.
    public init(decoder: FrameDecoder) {
        self.decoder = decoder
    }

    /// Delivers every frame completed by `bytes`, in order, and parks an
    /// incomplete tail in `pending`. `deliver` returns false to stop.
    @inline(__always)
    public func feed(
        _ bytes: UnsafeRawBufferPointer, pending: inout RingBuffer, pool: BufferPool,
        deliver: (UnsafeRawBufferPointer) -> Bool
    ) -> FeedOutcome {
        var offset = 0
        var frames = 0
        if !pending.isEmpty {
            switch complete(&pending, from: bytes, pool: pool, deliver: deliver) {
            case .needMore:
                return .consumed(frames: 0)
            case .delivered(let used, let keepGoing):
                frames = 1
                offset = used
                if !keepGoing { return .stopped(frames: frames) }
            case .oversize(let announced):
                return .oversize(announced: announced, frames: 0)
            case .outOfMemory:
                return .outOfMemory(frames: 0)
            }
        }
        while offset < bytes.count {
            switch decoder.decode(bytes, at: offset) {
            case .frame(let payload, let next):
                frames += 1
                offset = next
                if !deliver(UnsafeRawBufferPointer(rebasing: bytes[payload])) { return .stopped(frames: frames) }
            case .incomplete:
                guard pending.append(UnsafeRawBufferPointer(rebasing: bytes[offset...]), pool: pool) else {
                    return .outOfMemory(frames: frames)
                }
                return .consumed(frames: frames)
            case .oversize(let announced):
                return .oversize(announced: announced, frames: frames)
            }
        }
        return .consumed(frames: frames)
    }

    private enum Completion {
        case needMore
        case delivered(used: Int, keepGoing: Bool)
        case oversize(UInt64)
        case outOfMemory
    }

    /// Feeds the frame waiting in `pending`: first the rest of its header,
    /// then (once the length is known and allowed) the rest of its body.
    private func complete(
        _ pending: inout RingBuffer, from bytes: UnsafeRawBufferPointer, pool: BufferPool,
        deliver: (UnsafeRawBufferPointer) -> Bool
    ) -> Completion {
        let header = decoder.format.headerBytes
        var used = 0
        if pending.count < header {
            used = min(header - pending.count, bytes.count)
            guard pending.append(UnsafeRawBufferPointer(rebasing: bytes[..<used]), pool: pool) else {
                return .outOfMemory
            }
            if pending.count < header { return .needMore }
        }
        var headerValue: UInt64 = 0
        let announced = withUnsafeMutableBytes(of: &headerValue) { raw in
            pending.copyPrefix(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<header]))
            return decoder.format.decodeLength(UnsafeRawPointer(raw.baseAddress!))
        }
        guard let total = decoder.frameBytes(announcing: announced) else { return .oversize(announced) }
        let take = min(total - pending.count, bytes.count - used)
        guard pending.append(UnsafeRawBufferPointer(rebasing: bytes[used..<(used + take)]), pool: pool) else {
            return .outOfMemory
        }
        used += take
        guard pending.count == total else { return .needMore }
        let keepGoing = pending.withContiguousBytes { whole in
            deliver(UnsafeRawBufferPointer(rebasing: whole[header...]))
        }
        pending.removeAll(pool: pool)
        return .delivered(used: used, keepGoing: keepGoing)
    }
}
