// RESPCommandTable: a RESP workload's commands compiled once into flat,
// reference-free tables, so writing a request and judging its reply touch
// no reference counts: pieces (literal bytes, the key number, the value)
// and, per command, its pieces and the reply it expects, as plain values in
// memory the table owns.
//
// Literal pieces hold the array header, each word's `$length` line, fixed
// text and CRLFs, all written with Keel's RESP encoder at compile time.

import Keel

final class RESPCommandTable {
    enum Piece {
        /// Bytes `start..<start+count` of `literals`.
        case literal(start: Int, count: Int)
        /// The key number, as `keyDigits` digits.
        case key
        /// The key's value as a bulk string.
        case value
    }

    /// What a reply must be (RESPCommandTemplate.Expectation, flattened).
    enum Check {
        /// The simple string in `literals[start..<start+count]`.
        case simpleString(start: Int, count: Int)
        case integer, bulkOrNull, storedValue, array, anythingButAnError
    }

    struct Command {
        let firstPiece: Int
        let pieceCount: Int
        let check: Check
        /// Whether it carries a value (its MB/s counts the value's bytes).
        let writesValue: Bool
    }

    static let keyDigits = 12

    let literals: UnsafeMutableRawBufferPointer
    let pieces: UnsafeMutableBufferPointer<Piece>
    let commands: UnsafeMutableBufferPointer<Command>
    /// The templates, index for index (for descriptions, on the cold path).
    let templates: [RESPCommandTemplate]
    /// The most bytes one request takes, values of `valueBytes` included.
    let maxRequestBytes: Int

    init(_ templates: [RESPCommandTemplate], valueBytes: Int) {
        var literalBytes: [UInt8] = []
        var allPieces: [Piece] = []
        var compiled: [Command] = []
        var longest = 0
        var first = 0
        func literal(_ new: some Sequence<UInt8>) {
            let start = literalBytes.count
            literalBytes.append(contentsOf: new)
            let count = literalBytes.count - start
            guard count > 0 else { return }
            // Adjacent literals of the same command become one piece.
            if allPieces.count > first, case .literal(let previous, let previousCount)? = allPieces.last,
                previous + previousCount == start
            {
                allPieces[allPieces.count - 1] = .literal(start: previous, count: previousCount + count)
            } else {
                allPieces.append(.literal(start: start, count: count))
            }
        }
        for template in templates {
            first = allPieces.count
            let literalStart = literalBytes.count
            var keys = 0
            var values = 0
            RESPEncoding.withHeader(0x2A, template.words.count) { literal($0) }
            for word in template.words {
                if word == "__data__" {
                    allPieces.append(.value)
                    values += 1
                    continue
                }
                let parts = word.split(separator: "__rand__", omittingEmptySubsequences: false)
                let length = word.utf8.count + (parts.count - 1) * (Self.keyDigits - "__rand__".utf8.count)
                RESPEncoding.withHeader(0x24, length) { literal($0) }
                for (index, part) in parts.enumerated() {
                    if index > 0 {
                        allPieces.append(.key)
                        keys += 1
                    }
                    literal(part.utf8)
                }
                literal([0x0D, 0x0A])
            }
            longest = max(
                longest,
                literalBytes.count - literalStart + keys * Self.keyDigits
                    + values * (valueBytes + RESPEncoding.maxHeaderBytes + 2))
            let check: Check
            switch template.expectation {
            case .simpleString(let text):
                // Stored after the command's pieces; not one of them.
                let start = literalBytes.count
                literalBytes.append(contentsOf: text.utf8)
                check = .simpleString(start: start, count: text.utf8.count)
            case .integer: check = .integer
            case .bulkOrNull: check = .bulkOrNull
            case .storedValue: check = .storedValue
            case .array: check = .array
            case .anythingButAnError: check = .anythingButAnError
            }
            compiled.append(
                Command(firstPiece: first, pieceCount: allPieces.count - first, check: check, writesValue: values > 0))
        }
        literals = .allocate(byteCount: max(literalBytes.count, 1), alignment: 16)
        literals.copyBytes(from: literalBytes)
        pieces = .allocate(capacity: max(allPieces.count, 1))
        _ = pieces.initialize(from: allPieces)
        commands = .allocate(capacity: max(compiled.count, 1))
        _ = commands.initialize(from: compiled)
        self.templates = templates
        maxRequestBytes = longest
    }

    deinit {
        literals.deallocate()
        pieces.deallocate()
        commands.deallocate()
    }
}
