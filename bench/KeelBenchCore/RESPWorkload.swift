// RESPWorkload: Redis commands from templates, their replies parsed as
// RESP2 (Keel's RESPReplyDecoder) and judged.
//
// Each template is compiled once into pieces: literal bytes (the array
// header, each word's `$length` line, fixed text, CRLFs, all written with
// Keel's RESP encoder), the key number, and the value. A request is laid out
// in a scratch buffer from its pieces and appended to the output at once.
//
// Tags: bits 0-39 the key number, bits 40-47 the command drawn, bit 63 a
// preload SET. Values are a function of the key number (PayloadSource), and
// the preload writes every key before the warm-up, so a GET must return
// exactly that key's value: anything else (another key's value, a null, a
// corrupt payload) is a mismatch.

import Glibc
import Keel

struct RESPWorkload: BenchWorkload {
    /// A template made ready to write.
    struct Compiled {
        enum Piece {
            case literal(Range<Int>)
            case key
            case value
        }
        let bytes: [UInt8]
        let pieces: [Piece]
        let expectation: RESPCommandTemplate.Expectation
        let template: RESPCommandTemplate
        /// How many `.key` and `.value` pieces it has.
        let keys: Int
        let values: Int
        /// The most bytes one request can take.
        func maxBytes(valueBytes: Int) -> Int {
            bytes.count + keys * RESPWorkload.keyDigits + values * (valueBytes + RESPEncoding.maxHeaderBytes + 2)
        }
    }

    static let keyDigits = 12
    static let preloadBit: UInt64 = 1 << 63
    static let keyMask: UInt64 = (1 << 40) - 1

    let commands: [Compiled]
    /// Cumulative weights, for drawing a command (empty: only one).
    let cumulativeWeights: [UInt64]
    let totalWeight: UInt64
    let keyspace: UInt64
    let values: PayloadSource
    let preload: Compiled?
    let scratch: ScratchBuffer

    init(spec: RESPWorkloadSpec, keyspace: Int, sizes: SizeRange) {
        commands = spec.entries.map { Self.compile($0.command) }
        var running: UInt64 = 0
        cumulativeWeights = spec.entries.count == 1 ? [] : spec.entries.map { running += UInt64($0.weight); return running }
        totalWeight = max(running, 1)
        self.keyspace = UInt64(keyspace)
        values = PayloadSource(sizes: sizes, seed: 0x7661_6C75)
        preload = spec.preloadKeyWord.map { word in Self.compile(try! RESPCommandTemplate("SET \(word) __data__")) }
        let longest = (commands + (preload.map { [$0] } ?? [])).map { $0.maxBytes(valueBytes: sizes.maximum) }.max()
        scratch = ScratchBuffer(byteCount: longest ?? 0)
    }

    static func compile(_ template: RESPCommandTemplate) -> Compiled {
        var bytes: [UInt8] = []
        var pieces: [Compiled.Piece] = []
        func literal(_ new: some Sequence<UInt8>) {
            let start = bytes.count
            bytes.append(contentsOf: new)
            if case .literal(let range)? = pieces.last, range.upperBound == start {
                pieces[pieces.count - 1] = .literal(range.lowerBound..<bytes.count)
            } else if bytes.count > start {
                pieces.append(.literal(start..<bytes.count))
            }
        }
        RESPEncoding.withHeader(0x2A, template.words.count) { literal($0) }
        for word in template.words {
            if word == "__data__" {
                pieces.append(.value)
                continue
            }
            let parts = word.split(separator: "__rand__", omittingEmptySubsequences: false)
            let length = word.utf8.count + (parts.count - 1) * (keyDigits - "__rand__".utf8.count)
            RESPEncoding.withHeader(0x24, length) { literal($0) }
            for (index, part) in parts.enumerated() {
                if index > 0 { pieces.append(.key) }
                literal(part.utf8)
            }
            literal([0x0D, 0x0A])
        }
        let keys = pieces.filter { if case .key = $0 { true } else { false } }.count
        let values = pieces.filter { if case .value = $0 { true } else { false } }.count
        return Compiled(
            bytes: bytes, pieces: pieces, expectation: template.expectation, template: template, keys: keys,
            values: values)
    }

    func makeDecoder() -> RESPReplyDecoder { RESPReplyFormat().makeDecoder() }

    var preloadCount: Int { preload == nil ? 0 : Int(keyspace) }

    func isPreload(_ tag: UInt64) -> Bool { tag & Self.preloadBit != 0 }

    @inline(__always)
    func appendRequest(connection: Int, sequence: UInt64, to output: inout RingBuffer, pool: BufferPool) -> UInt64? {
        let draw = splitMix(connection, sequence)
        var index = 0
        if !cumulativeWeights.isEmpty {
            let point = draw % totalWeight
            while cumulativeWeights[index] <= point { index += 1 }
        }
        let key = splitMix(Int(truncatingIfNeeded: draw), 0x6B65_7973) % keyspace
        guard write(commands[index], key: key, to: &output, pool: pool) else { return nil }
        return key | UInt64(index) << 40
    }

    func appendPreload(_ index: Int, to output: inout RingBuffer, pool: BufferPool) -> UInt64? {
        guard let preload, write(preload, key: UInt64(index), to: &output, pool: pool) else { return nil }
        return UInt64(index) | Self.preloadBit
    }

    @inline(__always)
    private func write(_ command: Compiled, key: UInt64, to output: inout RingBuffer, pool: BufferPool) -> Bool {
        let base = scratch.bytes.baseAddress!
        var length = 0
        command.bytes.withUnsafeBytes { literals in
            for piece in command.pieces {
                switch piece {
                case .literal(let range):
                    (base + length).copyMemory(from: literals.baseAddress! + range.lowerBound, byteCount: range.count)
                    length += range.count
                case .key:
                    var rest = key
                    var position = length + Self.keyDigits
                    while position > length {
                        position -= 1
                        base.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 + rest % 10), toByteOffset: position, as: UInt8.self)
                        rest /= 10
                    }
                    length += Self.keyDigits
                case .value:
                    let value = values.payload(connection: Int(key), sequence: 0)
                    length += RESPEncoding.writeHeader(0x24, value.count, to: base + length)
                    if !value.isEmpty { (base + length).copyMemory(from: value.baseAddress!, byteCount: value.count) }
                    length += value.count
                    base.storeBytes(of: 0x0A0D as UInt16, toByteOffset: length, as: UInt16.self)
                    length += 2
                }
            }
        }
        return output.append(UnsafeRawBufferPointer(start: base, count: length), pool: pool)
    }

    @inline(__always)
    mutating func check(_ reply: RESPReply, connection: Int, sequence: UInt64, tag: UInt64) -> ReplyCheck {
        let key = tag & Self.keyMask
        let command = isPreload(tag) ? preload! : commands[Int((tag >> 40) & 0xFF)]
        if reply.kind == .error { return .errorReply(describe(command, key, "answered", reply)) }
        switch command.expectation {
        case .simpleString(let text):
            guard reply.kind == .simpleString, reply.bytes.elementsEqual(text.utf8) else { break }
            return .expected(payloadBytes: command.values > 0 ? valueCount(key) : 0)
        case .integer:
            if reply.kind == .integer { return .expected(payloadBytes: 0) }
        case .bulkOrNull:
            if reply.kind == .bulkString || reply.kind == .null { return .expected(payloadBytes: reply.bytes.count) }
        case .storedValue:
            guard reply.kind == .bulkString else {
                return .mismatch(describe(command, key, "returned", reply) + ", but the preload wrote that key")
            }
            let value = values.payload(connection: Int(key), sequence: 0)
            guard value.count == reply.bytes.count,
                value.isEmpty || memcmp(value.baseAddress!, reply.bytes.baseAddress!, value.count) == 0
            else {
                return .mismatch(
                    describe(command, key, "returned", reply) + ", not the \(value.count)-byte value written to it")
            }
            return .expected(payloadBytes: value.count)
        case .array:
            if reply.kind == .array || reply.kind == .nullArray { return .expected(payloadBytes: reply.bytes.count) }
        case .anythingButAnError:
            return .expected(payloadBytes: reply.bytes.count)
        }
        return .mismatch(describe(command, key, "got the wrong type of reply:", reply))
    }

    private func valueCount(_ key: UInt64) -> Int {
        values.payload(connection: Int(key), sequence: 0).count
    }

    /// "SET key:000000000042 <64 bytes> answered error "ERR ..."" (cold path).
    private func describe(_ command: Compiled, _ key: UInt64, _ verb: String, _ reply: RESPReply) -> String {
        var digits = String(key)
        while digits.count < Self.keyDigits { digits = "0" + digits }
        let words = command.template.words.map { word in
            word == "__data__" ? "<\(valueCount(key)) bytes>" : word.replacing("__rand__", with: digits)
        }
        return "\(words.joined(separator: " ")) \(verb) \(reply.summary)"
    }
}
