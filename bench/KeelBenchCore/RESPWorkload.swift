// RESPWorkload: Redis commands from templates, their replies parsed as
// RESP2 (Keel's RESPReplyDecoder) and judged.
//
// Each template is compiled once (RESPCommandTable) into pieces: literal
// bytes, the key number, and the value. A request is laid out in a scratch
// buffer from its pieces and appended to the output at once.
//
// Tags: bits 0-39 the key number, bits 40-47 the command drawn, bit 63 a
// preload SET. Values are a function of the key number (PayloadSource), and
// the preload writes every key before the warm-up, so a GET must return
// exactly that key's value: anything else (another key's value, a null, a
// corrupt payload) is a mismatch.

import Glibc
import Keel

struct RESPWorkload: BenchWorkload {
    static let preloadBit: UInt64 = 1 << 63
    static let keyMask: UInt64 = (1 << 40) - 1

    /// The workload's commands, then (when it reads values) the preload SET.
    let table: RESPCommandTable
    let commandCount: Int
    let hasPreload: Bool
    /// Cumulative weights, for drawing a command (empty: only one).
    let cumulativeWeights: [UInt64]
    let totalWeight: UInt64
    let keyspace: UInt64
    let values: PayloadSource
    let scratch: ScratchBuffer

    init(spec: RESPWorkloadSpec, keyspace: Int, sizes: SizeRange) {
        var templates = spec.entries.map(\.command)
        commandCount = templates.count
        if let word = spec.preloadKeyWord { templates.append(try! RESPCommandTemplate("SET \(word) __data__")) }
        hasPreload = spec.preloadKeyWord != nil
        table = RESPCommandTable(templates, valueBytes: sizes.maximum)
        var running: UInt64 = 0
        cumulativeWeights =
            spec.entries.count == 1
            ? []
            : spec.entries.map {
                running += UInt64($0.weight)
                return running
            }
        totalWeight = max(running, 1)
        self.keyspace = UInt64(keyspace)
        values = PayloadSource(sizes: sizes, seed: 0x7661_6C75)
        scratch = ScratchBuffer(byteCount: table.maxRequestBytes)
    }

    func makeDecoder() -> RESPReplyDecoder { RESPReplyFormat().makeDecoder() }

    var preloadCount: Int { hasPreload ? Int(keyspace) : 0 }

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
        guard write(index, key: key, to: &output, pool: pool) else { return nil }
        return key | UInt64(index) << 40
    }

    func appendPreload(_ index: Int, to output: inout RingBuffer, pool: BufferPool) -> UInt64? {
        guard hasPreload, write(commandCount, key: UInt64(index), to: &output, pool: pool) else { return nil }
        return UInt64(index) | Self.preloadBit
    }

    /// Lays out command `index` for `key` in the scratch buffer and appends it.
    @inline(__always)
    private func write(_ index: Int, key: UInt64, to output: inout RingBuffer, pool: BufferPool) -> Bool {
        let base = scratch.bytes.baseAddress!
        let literals = UnsafeRawPointer(table.literals.baseAddress!)
        let command = table.commands[index]
        var length = 0
        for position in command.firstPiece..<(command.firstPiece + command.pieceCount) {
            switch table.pieces[position] {
            case .literal(let start, let count):
                (base + length).copyMemory(from: literals + start, byteCount: count)
                length += count
            case .key:
                var rest = key
                var digit = length + RESPCommandTable.keyDigits
                while digit > length {
                    digit -= 1
                    base.storeBytes(
                        of: UInt8(truncatingIfNeeded: 0x30 + rest % 10), toByteOffset: digit, as: UInt8.self)
                    rest /= 10
                }
                length += RESPCommandTable.keyDigits
            case .value:
                let value = values.payload(connection: Int(key), sequence: 0)
                length += RESPEncoding.writeHeader(0x24, value.count, to: base + length)
                if !value.isEmpty { (base + length).copyMemory(from: value.baseAddress!, byteCount: value.count) }
                length += value.count
                base.storeBytes(of: 0x0A0D as UInt16, toByteOffset: length, as: UInt16.self)
                length += 2
            }
        }
        return output.append(UnsafeRawBufferPointer(start: base, count: length), pool: pool)
    }

    @inline(__always)
    func check(_ reply: RESPReply, connection: Int, sequence: UInt64, tag: UInt64) -> ReplyCheck {
        let key = tag & Self.keyMask
        let index = isPreload(tag) ? commandCount : Int((tag >> 40) & 0xFF)
        let command = table.commands[index]
        if reply.kind == .error { return .errorReply(describe(index, key, "answered", reply)) }
        switch command.check {
        case .simpleString(let start, let count):
            guard reply.kind == .simpleString, reply.bytes.count == count,
                memcmp(table.literals.baseAddress! + start, reply.bytes.baseAddress!, count) == 0
            else { break }
            return .expected(payloadBytes: command.writesValue ? valueCount(key) : 0)
        case .integer:
            if reply.kind == .integer { return .expected(payloadBytes: 0) }
        case .bulkOrNull:
            if reply.kind == .bulkString || reply.kind == .null { return .expected(payloadBytes: reply.bytes.count) }
        case .storedValue:
            guard reply.kind == .bulkString else {
                return .mismatch(describe(index, key, "returned", reply) + ", but the preload wrote that key")
            }
            let value = values.payload(connection: Int(key), sequence: 0)
            guard value.count == reply.bytes.count,
                value.isEmpty || memcmp(value.baseAddress!, reply.bytes.baseAddress!, value.count) == 0
            else {
                return .mismatch(
                    describe(index, key, "returned", reply) + ", not the \(value.count)-byte value written to it")
            }
            return .expected(payloadBytes: value.count)
        case .array:
            if reply.kind == .array || reply.kind == .nullArray { return .expected(payloadBytes: reply.bytes.count) }
        case .anythingButAnError:
            return .expected(payloadBytes: reply.bytes.count)
        }
        return .mismatch(describe(index, key, "got the wrong type of reply:", reply))
    }

    private func valueCount(_ key: UInt64) -> Int {
        values.payload(connection: Int(key), sequence: 0).count
    }

    /// "SET key:000000000042 <64 bytes> answered error "ERR ..."" (cold path).
    private func describe(_ index: Int, _ key: UInt64, _ verb: String, _ reply: RESPReply) -> String {
        var digits = String(key)
        while digits.count < RESPCommandTable.keyDigits { digits = "0" + digits }
        let words = table.templates[index].words.map { word in
            word == "__data__" ? "<\(valueCount(key)) bytes>" : word.replacing("__rand__", with: digits)
        }
        return "\(words.joined(separator: " ")) \(verb) \(reply.summary)"
    }
}
