// SORT and SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...]
// [ASC|DESC] [ALPHA] [STORE destination], as redis-server 7.0 sorts:
//
// - A list, set or sorted set's elements, numerically (each element, or
//   what BY's pattern finds for it, read as a C double; one that is not a
//   number is an error) or with ALPHA as bytes; equal weights fall back to
//   the elements' own bytes, except that ALPHA by a pattern keeps such
//   elements in the order they were read.
// - A pattern with a `*` names, for each element, a key (the first `*`
//   replaced by the element) or with `->field` a hash's field; `#` is the
//   element. A BY pattern without `*` does not sort: a list or sorted set
//   keeps its order (reversed by DESC), a set its iteration order (sorted
//   by bytes when stored, so a STORE's result does not depend on it).
// - LIMIT takes a window of the sorted elements; GET replaces each element
//   by what its patterns find (null when nothing); STORE writes the result
//   as a list (nulls as empty strings), replacing the destination, or
//   deletes it when the result is empty, and answers its length.

import Glibc
import KeelWire

enum KVSortCommand {
    /// What the client asked for.
    private struct Request {
        var descending = false
        var alpha = false
        var limit: (offset: Int64, count: Int64)?
        var by: [UInt8]?
        var gets: [[UInt8]] = []
        var store: UnsafeRawBufferPointer?
        /// BY without `*`: keep the container's order.
        var dontSort = false
    }

    /// One element and what it is sorted by.
    private struct Item {
        var element: [UInt8]
        var score: Double = 0
        var weight: [UInt8]?
        /// What ALPHA compares (the element or its weight, up to a NUL
        /// unless storing), made once before sorting.
        var collation: [UInt8]?
    }

    /// SORT's keys: the sorted key and STORE's destination, the last one
    /// given (as it is the one written; BY and GET patterns may name any
    /// key: the command takes every shard).
    static func keys(_ command: RESPCommand) -> [Int] {
        var keys = [1]
        var index = 2
        while index < command.count - 1 {
            if command.argument(index, equalsIgnoringCase: "STORE") {
                keys = [1, index + 1]
                index += 1
            } else if command.argument(index, equalsIgnoringCase: "LIMIT") {
                index += 2
            } else if command.argument(index, equalsIgnoringCase: "BY")
                || command.argument(index, equalsIgnoringCase: "GET")
            {
                index += 1
            }
            index += 1
        }
        return keys
    }

    static func sort(_ context: KVContext, readOnly: Bool) {
        guard var request = parse(context, readOnly: readOnly) else { return }
        let key = context[1]
        guard let items = load(context, key, &request) else { return }
        var sorted = items
        var start = 0
        var end = sorted.count - 1
        if let limit = request.limit {
            start = Int(clamping: max(limit.offset, 0))
            if limit.count < 0 {
                end = sorted.count - 1
            } else {
                let (last, overflow) = Int64(start).addingReportingOverflow(limit.count - 1)
                end = overflow ? Int.max : Int(clamping: last)
            }
        }
        if start >= sorted.count {
            start = sorted.count - 1
            end = sorted.count - 2
        }
        end = min(end, sorted.count - 1)
        if !request.dontSort {
            guard weigh(context, &sorted, request) else {
                return context.reply.error("ERR One or more scores can't be converted into double")
            }
            order(&sorted, request)
        }
        let window = end >= start ? Array(sorted[start...end]) : []
        if let destination = request.store {
            store(context, window, request, at: destination)
        } else {
            reply(context, window, request)
        }
    }

    /// The options, or nil having replied the error (redis-server's order:
    /// options first, then the key's type).
    private static func parse(_ context: KVContext, readOnly: Bool) -> Request? {
        var request = Request()
        var index = 2
        while index < context.argumentCount {
            let left = context.argumentCount - index - 1
            if context.argument(index, is: "ASC") {
                request.descending = false
            } else if context.argument(index, is: "DESC") {
                request.descending = true
            } else if context.argument(index, is: "ALPHA") {
                request.alpha = true
            } else if context.argument(index, is: "LIMIT") && left >= 2 {
                guard let offset = context.integer(at: index + 1), let count = context.integer(at: index + 2) else {
                    return nil
                }
                request.limit = (offset, count)
                index += 2
            } else if !readOnly && context.argument(index, is: "STORE") && left >= 1 {
                request.store = context[index + 1]
                index += 1
            } else if context.argument(index, is: "BY") && left >= 1 {
                let pattern = Array(context[index + 1])
                request.by = pattern
                request.dontSort = !cString(pattern).contains(UInt8(ascii: "*"))
                index += 1
            } else if context.argument(index, is: "GET") && left >= 1 {
                request.gets.append(Array(context[index + 1]))
                index += 1
            } else {
                context.syntaxError()
                return nil
            }
            index += 1
        }
        return request
    }

    /// The key's elements in the order the sort starts from; nil having
    /// replied WRONGTYPE.
    private static func load(_ context: KVContext, _ key: UnsafeRawBufferPointer, _ request: inout Request)
        -> [Item]?
    {
        guard let found = context.find(key) else { return [] }
        let entry = found.entry
        var items: [Item] = []
        switch entry.type {
        case .list:
            let list = context.list(entry)
            list.forEach(from: 0, through: list.count - 1) {
                items.append(Item(element: Array($0)))
                return true
            }
            if request.dontSort && request.descending { items.reverse() }
        case .set:
            KVSetValue(entry).forEachMember {
                items.append(Item(element: Array($0)))
                return true
            }
            // A stored result must not depend on the set's iteration order.
            if request.dontSort && request.store != nil {
                request.dontSort = false
                request.alpha = true
                request.by = nil
            }
        case .zset:
            let set = KVZSetValue(entry)
            set.forEachMember(ranks: 0, through: set.count - 1, reverse: request.dontSort && request.descending) {
                member, _ in
                items.append(Item(element: Array(member)))
                return true
            }
        default:
            context.wrongType()
            return nil
        }
        return items
    }

    /// Fills each item's weight (ALPHA by a pattern) or score; false when a
    /// score is not a number.
    private static func weigh(_ context: KVContext, _ items: inout [Item], _ request: Request) -> Bool {
        var valid = true
        for index in items.indices {
            let weight: [UInt8]?
            if let by = request.by {
                weight = lookUp(context, by, items[index].element)
                guard weight != nil else { continue }
            } else {
                weight = items[index].element
            }
            if request.alpha {
                if request.by != nil { items[index].weight = weight }
            } else if let weight {
                guard let score = cDouble(weight) else {
                    valid = false
                    continue
                }
                items[index].score = score
            }
        }
        return valid
    }

    /// Sorts as redis-server's comparison does: stably, so that equal
    /// ALPHA weights keep the order the elements were read in.
    private static func order(_ items: inout [Item], _ request: Request) {
        let descending = request.descending
        if request.alpha {
            for index in items.indices {
                let text = request.by != nil ? items[index].weight : items[index].element
                items[index].collation = request.store != nil ? text : text.map(cString)
            }
        }
        // Positions are sorted, not the items: moving an item moves (and
        // retains) its arrays, a million times over for a long list.
        var positions = Array(0..<items.count)
        items.withUnsafeBufferPointer { items in
            positions.sort { left, right in
                var comparison: Int
                if !request.alpha {
                    if items[left].score != items[right].score {
                        comparison = items[left].score < items[right].score ? -1 : 1
                    } else {
                        comparison = compareBytes(items[left].element, items[right].element)
                    }
                } else {
                    // Without a weight (BY found nothing) an element sorts first.
                    switch (items[left].collation, items[right].collation) {
                    case (nil, nil): comparison = 0
                    case (nil, _): comparison = -1
                    case (_, nil): comparison = 1
                    case (let a?, let b?): comparison = compareBytes(a, b)
                    }
                }
                if descending { comparison = -comparison }
                return comparison != 0 ? comparison < 0 : left < right
            }
        }
        items = positions.map { items[$0] }
    }

    private static func reply(_ context: KVContext, _ window: [Item], _ request: Request) {
        context.reply.arrayHeader(request.gets.isEmpty ? window.count : window.count * request.gets.count)
        for item in window {
            if request.gets.isEmpty { context.reply.bulkString(item.element) }
            for pattern in request.gets {
                if let value = lookUp(context, pattern, item.element) {
                    context.reply.bulkString(value)
                } else {
                    context.reply.null()
                }
            }
        }
    }

    private static func store(
        _ context: KVContext, _ window: [Item], _ request: Request, at destination: UnsafeRawBufferPointer
    ) {
        var values: [[UInt8]] = []
        for item in window {
            if request.gets.isEmpty { values.append(item.element) }
            for pattern in request.gets { values.append(lookUp(context, pattern, item.element) ?? []) }
        }
        let existing = context.find(destination)
        if let existing { context.remove(existing) }
        if !values.isEmpty {
            let list = KVQuickList(fill: context.limits.listFill)
            for value in values {
                guard value.withUnsafeBytes({ list.push($0, front: false) }) else { return context.outOfMemory() }
            }
            context.overwriting = existing != nil
            defer { context.overwriting = false }
            guard context.add(destination, .object(KVObjects.pointer(to: list), .list, .general)) else {
                return context.outOfMemory()
            }
        }
        if existing != nil || !values.isEmpty { context.touched(destination) }
        context.notifyStored(.list, "sortstore", destination, wrote: !values.isEmpty, existed: existing != nil)
        context.reply.integer(values.count)
    }

    /// What `pattern` finds for `element`: the element for `#`; for a
    /// pattern with `*`, the string at the key it names, or with `->field`
    /// that hash field; nil when there is none. Read as C strings, as
    /// redis-server reads the pattern.
    private static func lookUp(_ context: KVContext, _ pattern: [UInt8], _ element: [UInt8]) -> [UInt8]? {
        let text = cString(pattern)
        if text == [UInt8(ascii: "#")] { return element }
        guard let star = text.firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var keyEnd = pattern.count
        var field: [UInt8]?
        if let arrow = find([UInt8(ascii: "-"), UInt8(ascii: ">")], in: text, from: star + 1), arrow + 2 < text.count {
            field = Array(pattern[(arrow + 2)...])
            keyEnd = arrow
        }
        let name = Array(pattern[..<star]) + element + Array(pattern[(star + 1)..<keyEnd])
        return name.withUnsafeBytes { key -> [UInt8]? in
            guard let found = context.find(key) else { return nil }
            let entry = found.entry
            if let field {
                guard entry.type == .hash else { return nil }
                return field.withUnsafeBytes { name in KVHashValue(entry).value(of: name) { Array($0) } }
            }
            guard entry.type == .string else { return nil }
            return context.withString(entry) { Array($0) }
        }
    }

    /// The bytes up to the first NUL (a C string's view).
    private static func cString(_ bytes: [UInt8]) -> [UInt8] {
        guard let nul = bytes.firstIndex(of: 0) else { return bytes }
        return Array(bytes[..<nul])
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = start
        while index + needle.count <= haystack.count {
            if Array(haystack[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }

    /// memcmp, then the shorter first.
    /// `bytes` as an integer when they are an optional '-' and 1 to 18
    /// decimal digits, nothing else.
    private static func plainInteger(_ bytes: [UInt8]) -> Int64? {
        let negative = bytes.first == UInt8(ascii: "-")
        let digits = bytes.count - (negative ? 1 : 0)
        guard digits >= 1 && digits <= 18 else { return nil }
        var value: Int64 = 0
        for byte in bytes.dropFirst(negative ? 1 : 0) {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return negative ? -value : value
    }

    private static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// The value as C's strtod reads it (up to a NUL, leading spaces
    /// allowed, all of it a number, not NaN, not out of range); nil when it
    /// is not one.
    private static func cDouble(_ bytes: [UInt8]) -> Double? {
        // Plain decimal integers (most of what SORT sorts) without strtod:
        // up to 18 digits, an Int64 converts to the double strtod reads.
        if let value = plainInteger(bytes) { return Double(value) }
        var text = cString(bytes)
        text.append(0)
        return text.withUnsafeBufferPointer { buffer -> Double? in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { start in
                var end: UnsafeMutablePointer<CChar>?
                errno = 0
                let value = strtod(start, &end)
                guard let end, end.pointee == 0, errno != ERANGE, !value.isNaN else { return nil }
                return value
            }
        }
    }
}
