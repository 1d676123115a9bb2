// MessageAssembler: turns the bytes of successive reads into requests, for
// any MessageDecoder. Pure (no system calls), so the event loop, keel-bench,
// the fuzzer and tests all run the same code.
//
// Whole requests in a read are decoded and delivered in place (no copy). A
// request cut by the end of a read waits in the pending ring; the next read
// first completes it, taking from the new bytes only what the decoder says
// the request still needs (its `needMore` bound; everything when the bound is
// unknown, or once it has moved four times), so a small request never drags
// the rest of the read into the ring; then decoding carries on in place.
//
// A consumer can also pause delivery (Keel does when a connection's output
// passes its high watermark): the rest of the bytes, whole requests
// included, then wait in the ring, in order, and are delivered from there by
// a later feed (an empty one will do).
//
// Invariant between reads: unless paused, the pending ring holds the start of
// at most one request (never a whole one) and never more than
// `maxRequestBytes`; when paused, at most that plus one read.

/// How feeding one read ended.
@frozen
@usableFromInline package enum AssemblyOutcome: Equatable {
    /// Every byte was used (requests delivered, a tail kept).
    case consumed(requests: Int)
    /// `deliver` asked to stop; the rest was dropped.
    case stopped(requests: Int)
    /// `deliver` asked to pause; the rest waits in the pending ring.
    case paused(requests: Int)
    /// The bytes broke the protocol after `requests` requests.
    case violation(ProtocolViolation, requests: Int)
    /// The pending ring could not grow after `requests` requests.
    case outOfMemory(requests: Int)

    /// Requests delivered.
    @inlinable
    package var requests: Int {
        switch self {
        case .consumed(let count), .stopped(let count), .paused(let count), .violation(_, let count),
            .outOfMemory(let count):
            return count
        }
    }
}

/// What a consumer wants after taking one request.
@frozen
@usableFromInline package enum Delivery {
    /// Go on with the next request.
    case next
    /// Stop: drop the rest (the connection is closing).
    case stop
    /// Pause: keep the rest, in order, for a later feed.
    case pause
    /// Go on, decoding the rest with the decoder's restrictions on
    /// (`restrict`) or off (`unrestrict`; `MessageDecoder.restrictsRequests`):
    /// the request just delivered changed them (a client that
    /// authenticated), and the requests that came in the same read are the
    /// client's next ones. (Two cases, not one with a Bool: a payload made
    /// the assembler's per-request switch dearer for every format.)
    case restrict, unrestrict
}

/// Splits reads into requests with a decoder, keeping a partial request in a ring.
@usableFromInline package enum MessageAssembler {
    /// `feed` for consumers that only ever go on or stop.
    @inlinable @inline(__always)
    package static func feed<Decoder: MessageDecoder>(
        _ bytes: UnsafeRawBufferPointer, decoder: inout Decoder, pending: inout RingBuffer, pool: BufferPool,
        deliver: (Decoder.Request) -> Bool
    ) -> AssemblyOutcome {
        feed(bytes, decoder: &decoder, pending: &pending, pool: pool) { deliver($0) ? Delivery.next : .stop }
    }

    /// Delivers every request completed by `bytes` (after any waiting in
    /// `pending`), in order, and keeps an incomplete tail in `pending`.
    /// `deliver` decides after each request (see `Delivery`). On a violation
    /// or out-of-memory, `pending` is emptied (its bytes can never become a
    /// request).
    @inlinable @inline(__always)
    package static func feed<Decoder: MessageDecoder>(
        _ bytes: UnsafeRawBufferPointer, decoder: inout Decoder, pending: inout RingBuffer, pool: BufferPool,
        deliver: (Decoder.Request) -> Delivery
    ) -> AssemblyOutcome {
        var delivered = 0
        var offset = 0
        var outcome = Step.consumed
        if !pending.isEmpty {
            outcome = completePending(&pending, from: bytes, offset: &offset, &decoder, pool, &delivered, deliver)
        }
        if case .consumed = outcome, pending.isEmpty {
            outcome = decodeInPlace(bytes, from: offset, into: &pending, &decoder, pool, &delivered, deliver)
        }
        switch outcome {
        case .consumed: return .consumed(requests: delivered)
        case .stopped: return .stopped(requests: delivered)
        case .paused: return .paused(requests: delivered)
        case .violation(let violation):
            pending.removeAll(pool: pool)
            return .violation(violation, requests: delivered)
        case .outOfMemory:
            pending.removeAll(pool: pool)
            return .outOfMemory(requests: delivered)
        }
    }

    @usableFromInline
    enum Step {
        case consumed, stopped, paused
        case violation(ProtocolViolation)
        case outOfMemory
    }

    /// Decodes requests in place from `start` on; an incomplete tail goes
    /// into `pending` (which is empty).
    @inlinable @inline(__always)
    static func decodeInPlace<Decoder: MessageDecoder>(
        _ bytes: UnsafeRawBufferPointer, from start: Int, into pending: inout RingBuffer, _ decoder: inout Decoder,
        _ pool: BufferPool, _ delivered: inout Int, _ deliver: (Decoder.Request) -> Delivery
    ) -> Step {
        guard let base = bytes.baseAddress else { return .consumed }
        let count = bytes.count
        let maxRequestBytes = decoder.maxRequestBytes
        var offset = start
        while offset < count {
            let rest = UnsafeRawBufferPointer(start: base + offset, count: count &- offset)
            switch decoder.decode(rest) {
            case .request(let request, let length):
                offset &+= length
                delivered &+= 1
                switch deliver(request) {
                case .next: break
                case .restrict: decoder.restrictsRequests = true
                case .unrestrict: decoder.restrictsRequests = false
                case .stop: return .stopped
                case .pause:
                    guard offset < count else { return .paused }
                    let rest = UnsafeRawBufferPointer(start: base + offset, count: count &- offset)
                    return pending.append(rest, pool: pool) ? .paused : .outOfMemory
                }
            case .skip(let length):
                offset &+= length
            case .needMore(let atLeast):
                if atLeast > maxRequestBytes || rest.count > maxRequestBytes { return .violation(.requestTooLarge) }
                return pending.append(rest, pool: pool) ? .consumed : .outOfMemory
            case .violation(let violation):
                return .violation(violation)
            }
        }
        return .consumed
    }

    /// Completes the request waiting in `pending` from the front of `bytes`
    /// (see the file header); delivers it and any others found in the ring.
    /// Leaves `pending` empty if the request completed, with `offset` at the
    /// first byte not taken.
    @inlinable
    static func completePending<Decoder: MessageDecoder>(
        _ pending: inout RingBuffer, from bytes: UnsafeRawBufferPointer, offset: inout Int,
        _ decoder: inout Decoder, _ pool: BufferPool, _ delivered: inout Int, _ deliver: (Decoder.Request) -> Delivery
    ) -> Step {
        let maxRequestBytes = decoder.maxRequestBytes
        var rounds = 0
        while !pending.isEmpty {
            let step: PendingStep = pending.withContiguousBytes { buffered in
                switch decoder.decode(buffered) {
                case .request(let request, let length):
                    return .used(length, then: deliver(request), wasRequest: true)
                case .skip(let length):
                    return .used(length, then: .next, wasRequest: false)
                case .needMore(let atLeast):
                    return .needMore(atLeast)
                case .violation(let violation):
                    return .violation(violation)
                }
            }
            switch step {
            case .used(let length, let then, let wasRequest):
                pending.consume(length, pool: pool)
                if wasRequest { delivered &+= 1 }
                switch then {
                case .next: break
                case .restrict: decoder.restrictsRequests = true
                case .unrestrict: decoder.restrictsRequests = false
                case .stop: return .stopped
                case .pause:
                    // What the read brought waits behind the ring's requests.
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
                    return pending.append(rest, pool: pool) ? .paused : .outOfMemory
                }
            case .needMore(let atLeast):
                if atLeast > maxRequestBytes { return .violation(.requestTooLarge) }
                let available = bytes.count - offset
                if available == 0 { return .consumed }
                // A real bound: take just that much (the request's own bytes).
                // Unknown, or the bound keeps moving: take all that came.
                var take = available
                if atLeast > pending.count + 1 && rounds < 4 { take = min(available, atLeast - pending.count) }
                take = min(take, maxRequestBytes + 1 - pending.count)
                let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)])
                guard pending.append(piece, pool: pool) else { return .outOfMemory }
                offset += take
                rounds += 1
            case .violation(let violation):
                return .violation(violation)
            }
        }
        return .consumed
    }

    /// What decoding the pending ring gave (a request is delivered inside
    /// the ring's borrow).
    @usableFromInline
    enum PendingStep {
        case used(Int, then: Delivery, wasRequest: Bool)
        case needMore(Int)
        case violation(ProtocolViolation)
    }
}
