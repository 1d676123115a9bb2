// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
// common subsequence of two strings, found and reported as redis-server 7.0
// does: the classic dynamic-programming table, walked back from the strings'
// ends, so the subsequence chosen among equally long ones and the order of
// the matched ranges (last first) are redis-server's. Missing keys read as
// empty strings. Like redis-server it refuses a table larger than
// proto-max-bulk-len (4 bytes a cell), the bound on the work one LCS may do
// on the loop (about 134 million cells: two 11,585-byte strings).

import Glibc

enum KVLCSCommand {
    /// What the client asked for.
    private struct Options {
        var lengthOnly = false
        var indexes = false
        var minimumMatch = 0
        var withMatchLength = false
    }

    /// One run of matched bytes, inclusive on both strings.
    private struct Match {
        var firstA: Int
        var lastA: Int
        var firstB: Int
        var lastB: Int
        var length: Int { lastA - firstA + 1 }
    }

    static func lcs(_ context: KVContext) {
        var strings: [[UInt8]] = []
        for index in 1...2 {
            switch context.find(context[index], as: .string) {
            case .wrongType: return context.reply.error("ERR The specified keys must contain string values")
            case .missing: strings.append([])
            case .found(let found): strings.append(context.withString(found.entry) { Array($0) })
            }
        }
        guard let options = parseOptions(context) else { return }
        let a = strings[0]
        let b = strings[1]
        let cells = (a.count + 1).multipliedReportingOverflow(by: b.count + 1)
        guard !cells.overflow, cells.partialValue <= context.store.settings.maxBulkBytes / 4 else {
            return context.reply.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        }
        if options.lengthOnly { return context.reply.integer(lengthOnly(a, b)) }
        // Up to proto-max-bulk-len of table: asked of malloc, which may say
        // no (redis-server's ztrymalloc), rather than of Swift, which aborts.
        guard let raw = calloc(cells.partialValue, MemoryLayout<UInt32>.stride) else {
            return context.reply.error("ERR Insufficient memory, failed allocating transient memory for LCS")
        }
        defer { free(raw) }
        let table = UnsafeMutableBufferPointer(
            start: raw.assumingMemoryBound(to: UInt32.self), count: cells.partialValue)
        fillLengths(a, b, table)
        var subsequence = [UInt8](repeating: 0, count: Int(table[table.count - 1]))
        let matches = walkBack(
            a, b, UnsafeBufferPointer(table), minimumMatch: options.minimumMatch, subsequence: &subsequence)
        guard options.indexes else { return context.reply.bulkString(subsequence) }
        context.reply.mapHeader(2)
        context.reply.bulkString("matches")
        context.reply.arrayHeader(matches.count)
        for match in matches {
            context.reply.arrayHeader(options.withMatchLength ? 3 : 2)
            context.reply.arrayHeader(2)
            context.reply.integer(match.firstA)
            context.reply.integer(match.lastA)
            context.reply.arrayHeader(2)
            context.reply.integer(match.firstB)
            context.reply.integer(match.lastB)
            if options.withMatchLength { context.reply.integer(match.length) }
        }
        context.reply.bulkString("len")
        context.reply.integer(subsequence.count)
    }

    /// The options after the keys; nil having replied the error (a syntax
    /// error at the first word it does not know, as redis-server).
    private static func parseOptions(_ context: KVContext) -> Options? {
        var options = Options()
        var index = 3
        while index < context.argumentCount {
            if context.argument(index, is: "LEN") {
                options.lengthOnly = true
            } else if context.argument(index, is: "IDX") {
                options.indexes = true
            } else if context.argument(index, is: "WITHMATCHLEN") {
                options.withMatchLength = true
            } else if context.argument(index, is: "MINMATCHLEN"), index + 1 < context.argumentCount {
                guard let minimum = context.integer(at: index + 1) else { return nil }
                options.minimumMatch = Int(clamping: max(minimum, 0))
                index += 1
            } else {
                context.syntaxError()
                return nil
            }
            index += 1
        }
        if options.lengthOnly && options.indexes {
            context.reply.error("ERR If you want both the length and indexes, please just use IDX.")
            return nil
        }
        return options
    }

    /// Fills the table (zeroed): cell (i, j), at i * (b.count + 1) + j, is
    /// the length of the LCS of a's first i bytes and b's first j.
    private static func fillLengths(_ a: [UInt8], _ b: [UInt8], _ cells: UnsafeMutableBufferPointer<UInt32>) {
        let width = b.count + 1
        for i in 1..<(a.count + 1) {
            let row = i * width
            let above = row - width
            let byte = a[i - 1]
            for j in 1..<width {
                cells[row + j] =
                    byte == b[j - 1]
                    ? cells[above + j - 1] + 1 : max(cells[above + j], cells[row + j - 1])
            }
        }
    }

    /// LEN alone: the same lengths kept two rows at a time.
    private static func lengthOnly(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var previous = [UInt32](repeating: 0, count: b.count + 1)
        var current = previous
        for byte in a {
            for j in 1..<(b.count + 1) {
                current[j] = byte == b[j - 1] ? previous[j - 1] + 1 : max(previous[j], current[j - 1])
            }
            swap(&previous, &current)
        }
        return Int(previous[b.count])
    }

    /// Walks the table back from the strings' ends, filling `subsequence`
    /// from its end and collecting the runs of consecutive matches of at
    /// least `minimumMatch` bytes (last first). On a tie it steps back in
    /// b, as redis-server does, which decides which subsequence is told.
    private static func walkBack(
        _ a: [UInt8], _ b: [UInt8], _ table: UnsafeBufferPointer<UInt32>, minimumMatch: Int,
        subsequence: inout [UInt8]
    ) -> [Match] {
        let width = b.count + 1
        var matches: [Match] = []
        var open: Match?
        var filled = subsequence.count
        var i = a.count
        var j = b.count
        func close() {
            if let run = open, minimumMatch == 0 || run.length >= minimumMatch { matches.append(run) }
            open = nil
        }
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                filled -= 1
                subsequence[filled] = a[i - 1]
                i -= 1
                j -= 1
                if var run = open {
                    // Between two matches with no step between, the run
                    // goes on: it began at the bytes just after these.
                    assert(run.firstA == i + 1 && run.firstB == j + 1)
                    run.firstA = i
                    run.firstB = j
                    open = run
                } else {
                    open = Match(firstA: i, lastA: i, firstB: j, lastB: j)
                }
                if i == 0 || j == 0 { close() }
            } else {
                if table[(i - 1) * width + j] > table[i * width + j - 1] { i -= 1 } else { j -= 1 }
                close()
            }
        }
        assert(filled == 0 && open == nil)
        return matches
    }
}
