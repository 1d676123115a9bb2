// KVGlob: Redis's glob patterns (stringmatchlen), for KEYS, SCAN's MATCH,
// PSUBSCRIBE and CONFIG GET: `*` any run, `?` any byte, `[abc]`, `[^a-z]`
// (ranges either way round), `\x` the byte x, over bytes, optionally
// ignoring ASCII case. Recursion on `*` is bounded, as Redis bounds it, so
// a pathological pattern cannot exhaust the stack. As in Redis, nothing
// matches an empty string (KEYS and SCAN treat a lone `*` as "all keys"
// before matching).

/// Matching Redis glob patterns.
enum KVGlob {
    /// Whether `string` matches `pattern`.
    static func matches(_ pattern: UnsafeRawBufferPointer, _ string: UnsafeRawBufferPointer, ignoringCase: Bool = false)
        -> Bool
    {
        var skipLongerMatches = false
        return match(pattern[...], string[...], ignoringCase, nesting: 0, &skipLongerMatches)
    }

    private static func lower(_ byte: UInt8, _ ignoringCase: Bool) -> UInt8 {
        ignoringCase && byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    private static func match(
        _ patternSlice: Slice<UnsafeRawBufferPointer>, _ stringSlice: Slice<UnsafeRawBufferPointer>,
        _ ignoringCase: Bool, nesting: Int, _ skipLongerMatches: inout Bool
    ) -> Bool {
        // Redis stops after 1,000 nested stars.
        if nesting > 1_000 { return false }
        var pattern = patternSlice
        var string = stringSlice
        while let p = pattern.first, !string.isEmpty {
            switch p {
            case UInt8(ascii: "*"):
                while pattern.count > 1 && pattern[pattern.startIndex + 1] == UInt8(ascii: "*") {
                    pattern = pattern.dropFirst()
                }
                if pattern.count == 1 { return true }
                var rest = string
                while !rest.isEmpty {
                    if match(pattern.dropFirst(), rest, ignoringCase, nesting: nesting + 1, &skipLongerMatches) {
                        return true
                    }
                    if skipLongerMatches { return false }
                    rest = rest.dropFirst()
                }
                skipLongerMatches = true
                return false
            case UInt8(ascii: "?"):
                string = string.dropFirst()
            case UInt8(ascii: "["):
                pattern = pattern.dropFirst()
                let negate = pattern.first == UInt8(ascii: "^")
                if negate { pattern = pattern.dropFirst() }
                var matched = false
                let c = lower(string.first!, ignoringCase)
                while true {
                    guard let q = pattern.first else { break }
                    if q == UInt8(ascii: "\\") && pattern.count >= 2 {
                        pattern = pattern.dropFirst()
                        if lower(pattern.first!, ignoringCase) == c { matched = true }
                    } else if q == UInt8(ascii: "]") {
                        break
                    } else if pattern.count >= 3 && pattern[pattern.startIndex + 1] == UInt8(ascii: "-") {
                        var start = lower(q, ignoringCase)
                        var end = lower(pattern[pattern.startIndex + 2], ignoringCase)
                        if start > end { swap(&start, &end) }
                        pattern = pattern.dropFirst(2)
                        if c >= start && c <= end { matched = true }
                    } else if lower(q, ignoringCase) == c {
                        matched = true
                    }
                    pattern = pattern.dropFirst()
                }
                if pattern.isEmpty {
                    // An unclosed class: Redis keeps its position on the last byte.
                    pattern = patternSlice.suffix(1)
                }
                if negate { matched.toggle() }
                if !matched { return false }
                string = string.dropFirst()
            case UInt8(ascii: "\\") where pattern.count >= 2:
                pattern = pattern.dropFirst()
                if lower(pattern.first!, ignoringCase) != lower(string.first!, ignoringCase) { return false }
                string = string.dropFirst()
            default:
                if lower(p, ignoringCase) != lower(string.first!, ignoringCase) { return false }
                string = string.dropFirst()
            }
            pattern = pattern.dropFirst()
            if string.isEmpty {
                while pattern.first == UInt8(ascii: "*") { pattern = pattern.dropFirst() }
                break
            }
        }
        return pattern.isEmpty && string.isEmpty
    }
}
