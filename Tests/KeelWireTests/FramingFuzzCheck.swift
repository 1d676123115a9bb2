// The framing property the fuzzer checks, shared by the libFuzzer target
// (fuzz/FramingFuzz.swift, linked with the KeelWire target alone)
// and by the regression test that replays the kept corpus on every `swift test`.
//
// Property: however a byte stream is cut into reads, MessageAssembler (with
// the length-prefix decoder, as the loop runs it) delivers
// exactly the frames an independent whole-stream decoder finds, in order,
// stops at the same oversize header, keeps its ring's invariants after every
// read, and returns every pool byte; FrameScanner.scanWholeFrames (the
// echo fast path) finds the same frames in the whole stream. RingBuffer
// matches a plain array model. ProxyHeaderParser agrees with an independent
// reading of the specification (ProxyReference) and is consistent with
// itself: a header parses the same from exactly its own bytes and is
// incomplete one byte shorter, a valid beginning stays valid when cut
// shorter, and what is invalid stays invalid when more bytes follow.

@testable import KeelWire

enum FramingFuzzCheck {
    /// Checks one input; returns a description of the first failure, or nil.
    static func run(_ data: [UInt8]) -> String? {
        guard data.count >= 3 else { return nil }
        if data[0] & 0x80 != 0 { return ringModel(Array(data.dropFirst())) }
        if data[0] & 0x20 != 0 {
            let format = RESPFormat(maxArguments: 8, maxBulkBytes: 64, maxLineBytes: 64, maxRequestBytes: 256)
            return chunkedMatchesWhole(Array(data.dropFirst(3)), cutSeed: data[2], format: format) {
                $0.copiedArguments
            }
        }
        if data[0] & 0x10 != 0 {
            let format = LineFormat(maxLineBytes: Int(data[1] % 32))
            return chunkedMatchesWhole(Array(data.dropFirst(3)), cutSeed: data[2], format: format) { Array($0) }
        }
        if data[0] & 0x40 != 0 {
            let modes: [ProxyProtocol] = [.v1, .v2, .auto]
            return proxyHeader(Array(data.dropFirst(2)), mode: modes[Int(data[1]) % modes.count])
        }
        let format = FrameFormat.all[Int(data[0]) % FrameFormat.all.count]
        let maxMessage = [0, 1, 255, 4096, 65_536][Int(data[1]) % 5]
        let stream = Array(data.dropFirst(3))
        let expected = referenceFrames(stream, format: format, maxMessage: maxMessage)

        let pool = BufferPool(minimumBlockBytes: 16, maximumRetainedBlockBytes: 1 << 16)
        var pending = RingBuffer()
        var decoder = LengthPrefixFormat(frame: format, maxMessageBytes: maxMessage).makeDecoder()
        var frames: [[UInt8]] = []
        var sawOversize = false
        var offset = 0
        var cut = UInt64(data[2]) | 1
        while offset < stream.count && !sawOversize {
            cut = cut &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = min(stream.count - offset, Int(cut >> 58) + 1)
            let outcome = stream[offset..<(offset + length)].withUnsafeBytes { chunk in
                MessageAssembler.feed(chunk, decoder: &decoder, pending: &pending, pool: pool) { payload in
                    frames.append(Array(payload))
                    return true
                }
            }
            pending.checkInvariants()
            if case .violation = outcome { sawOversize = true }
            offset += length
        }
        pending.removeAll(pool: pool)
        let scanner = FrameScanner(format: format, maxMessageBytes: maxMessage)
        let scan = stream.withUnsafeBytes { scanner.scanWholeFrames($0) }
        let scannedEnd = expected.frames.reduce(0) { $0 + format.headerBytes + $1.count }
        if scan != WholeRequests(end: scannedEnd, count: expected.frames.count, violationFollows: expected.oversize) {
            return "scan \(scan) differs from \(expected.frames.count) frames ending at \(scannedEnd)"
        }
        if frames != expected.frames { return "frames differ: got \(frames.count), expected \(expected.frames.count)" }
        if sawOversize != expected.oversize { return "oversize: got \(sawOversize), expected \(expected.oversize)" }
        if pool.outstandingBytes != 0 { return "pool bytes not returned: \(pool.outstandingBytes)" }
        return nil
    }

    /// For any format: however the stream is cut into reads, MessageAssembler
    /// delivers what decoding the whole stream at once delivers, stops at the
    /// same violation, keeps its ring within a request and its invariants,
    /// and returns every pool byte. Every decoded length stays in bounds.
    static func chunkedMatchesWhole<Format: WireFormat, Value: Equatable>(
        _ stream: [UInt8], cutSeed: UInt8, format: Format, copy: (Format.Decoder.Request) -> Value
    ) -> String? {
        var whole: [Value] = []
        var wholeViolation = false
        var reference = format.makeDecoder()
        stream.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
                switch reference.decode(rest) {
                case .request(let request, let length):
                    precondition(length > 0 && length <= rest.count, "request length \(length) of \(rest.count)")
                    whole.append(copy(request))
                    offset += length
                case .skip(let length):
                    precondition(length > 0 && length <= rest.count, "skip length \(length) of \(rest.count)")
                    offset += length
                case .needMore(let atLeast):
                    precondition(atLeast > rest.count, "needMore(\(atLeast)) with \(rest.count) buffered")
                    if atLeast > reference.maxRequestBytes || rest.count > reference.maxRequestBytes {
                        wholeViolation = true
                    }
                    return
                case .violation:
                    wholeViolation = true
                    return
                }
            }
        }
        let pool = BufferPool(minimumBlockBytes: 16, maximumRetainedBlockBytes: 1 << 16)
        var decoder = format.makeDecoder()
        var pending = RingBuffer()
        var chunked: [Value] = []
        var chunkedViolation = false
        var offset = 0
        var cut = UInt64(cutSeed) | 1
        while offset < stream.count && !chunkedViolation {
            cut = cut &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = min(stream.count - offset, Int(cut >> 58) + 1)
            let outcome = stream[offset..<(offset + length)].withUnsafeBytes { chunk in
                MessageAssembler.feed(chunk, decoder: &decoder, pending: &pending, pool: pool) { request in
                    chunked.append(copy(request))
                    return true
                }
            }
            pending.checkInvariants()
            if pending.count > decoder.maxRequestBytes { return "pending holds \(pending.count) bytes" }
            if case .violation = outcome { chunkedViolation = true }
            offset += length
        }
        pending.removeAll(pool: pool)
        if chunked != whole { return "chunked delivered \(chunked.count) requests, whole \(whole.count)" }
        if chunkedViolation != wholeViolation {
            return "violation: chunked \(chunkedViolation), whole \(wholeViolation)"
        }
        if pool.outstandingBytes != 0 { return "pool bytes not returned: \(pool.outstandingBytes)" }
        return nil
    }

    /// An independent decoder over the whole stream (no rings, no FrameFormat).
    static func referenceFrames(
        _ stream: [UInt8], format: FrameFormat, maxMessage: Int
    ) -> (frames: [[UInt8]], oversize: Bool) {
        var frames: [[UInt8]] = []
        var offset = 0
        let width = format.headerBytes
        while stream.count - offset >= width {
            var length: UInt64 = 0
            for index in 0..<width {
                let byte = UInt64(stream[offset + (format.byteOrder == .bigEndian ? index : width - 1 - index)])
                length = length << 8 | byte
            }
            if length > UInt64(maxMessage) { return (frames, true) }
            guard UInt64(stream.count - offset - width) >= length else { break }
            frames.append(Array(stream[(offset + width)..<(offset + width + Int(length))]))
            offset += width + Int(length)
        }
        return (frames, false)
    }

    /// RingBuffer against an array: each byte pair is an operation.
    static func ringModel(_ operations: [UInt8]) -> String? {
        let pool = BufferPool(minimumBlockBytes: 16, maximumRetainedBlockBytes: 1 << 16)
        var ring = RingBuffer()
        var model: [UInt8] = []
        var next: UInt8 = 0
        defer { ring.removeAll(pool: pool) }
        var index = 0
        while index + 1 < operations.count {
            let amount = Int(operations[index + 1])
            switch operations[index] % 3 {
            case 0:
                let bytes = (0..<amount).map { _ in
                    next &+= 1
                    return next
                }
                bytes.withUnsafeBytes { precondition(ring.append($0, pool: pool), "out of memory") }
                model += bytes
            case 1:
                let count = min(amount, model.count)
                ring.consume(count, pool: pool)
                model.removeFirst(count)
            default:
                let whole = ring.withContiguousBytes { Array($0) }
                if whole != model { return "ring content differs at operation \(index / 2)" }
            }
            ring.checkInvariants()
            if ring.count != model.count { return "ring count \(ring.count) != \(model.count)" }
            index += 2
        }
        return nil
    }

    /// ProxyHeaderParser's self-consistency (see the file header).
    static func proxyHeader(_ bytes: [UInt8], mode: ProxyProtocol) -> String? {
        func parse(_ part: ArraySlice<UInt8>) -> ProxyHeaderParse {
            part.withUnsafeBytes { ProxyHeaderParser.parse($0, mode: mode) }
        }
        let whole = parse(bytes[...])
        if let disagreement = againstReference(whole, bytes, mode: mode) { return disagreement }
        switch whole {
        case .header(let header, let length):
            guard length > 0 && length <= bytes.count else { return "header length \(length) of \(bytes.count)" }
            if parse(bytes[..<length]) != whole { return "header differs when parsed from its own bytes" }
            if parse(bytes[..<(length - 1)]) != .incomplete { return "a header one byte short is not incomplete" }
            if let source = header.source, header.destination == nil || source.port > 65_535 {
                return "header addresses inconsistent"
            }
        case .incomplete:
            if !bytes.isEmpty && parse(bytes.dropLast()) != .incomplete { return "a valid beginning turned invalid" }
        case .invalid:
            if case .invalid = parse((bytes + [0x0D, 0x0A, 0x00])[...]) {} else { return "invalid input became valid" }
        }
        return nil
    }

    /// Where the parser and the reference disagree, described; nil if they agree.
    static func againstReference(_ parsed: ProxyHeaderParse, _ bytes: [UInt8], mode: ProxyProtocol) -> String? {
        switch (ProxyReference.verdict(bytes, mode: mode), parsed) {
        case (.header(let length, let addresses), .header(let header, let parsedLength)):
            guard length == parsedLength else { return "header length \(parsedLength), reference \(length)" }
            let parsedAddresses = header.source.map { source in
                [
                    (ProxyReference.bytes(of: source), source.port),
                    (ProxyReference.bytes(of: header.destination!), header.destination!.port),
                ]
            }
            let same =
                addresses == nil && parsedAddresses == nil
                || (addresses != nil && parsedAddresses != nil
                    && zip(addresses!, parsedAddresses!).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
            return same ? nil : "header \(header), reference addresses \(String(describing: addresses))"
        case (.header(let length, _), let other):
            return "reference finds a \(length)-byte header, the parser says \(other)"
        case (.invalid, .invalid), (.undecided, .incomplete), (.undecided, .invalid):
            return nil
        case (let reference, let other):
            return "reference says \(reference), the parser says \(other)"
        }
    }
}
