// KVSampling: distinct random picks for HRANDFIELD, SRANDMEMBER and
// ZRANDMEMBER with a positive count, in time proportional to the reply, not
// to the collection (a walk from the start for each pick made one
// HRANDFIELD of 20 fields over a million take 590 ms, every client waiting).
// As redis-server chooses: when the count is over a third of the
// collection, every element is gathered and a random prefix of them kept;
// below that, random picks are drawn until enough distinct ones are found
// (fewer than 1.5 draws a pick on average).

enum KVSampling {
    /// `count` distinct positions of `0..<total` (count at most total), in
    /// random order.
    static func distinctPositions<G: RandomNumberGenerator>(_ count: Int, of total: Int, using generator: inout G)
        -> [Int]
    {
        precondition(count >= 0 && count <= total, "sampling \(count) of \(total)")
        if count > total / 3 {
            var all = Array(0..<total)
            randomPrefix(&all, count, using: &generator)
            return Array(all.prefix(count))
        }
        return distinctDraws(count) { Int.random(in: 0..<total, using: &generator) }
    }

    /// `count` distinct entries of `table` (count at most its size).
    static func distinctEntries<G: RandomNumberGenerator>(
        _ count: Int, of table: KVFieldTable, using generator: inout G
    ) -> [UnsafeMutableRawPointer] {
        let total = table.count
        precondition(count >= 0 && count <= total, "sampling \(count) of \(total)")
        if count > total / 3 {
            var all: [UnsafeMutableRawPointer] = []
            all.reserveCapacity(total)
            table.forEachEntry { all.append($0.pointer) }
            randomPrefix(&all, count, using: &generator)
            return Array(all.prefix(count))
        }
        return distinctDraws(count) { table.random(using: &generator).unsafelyUnwrapped.pointer }
    }

    /// Shuffles the first `count` places of `elements` (a partial
    /// Fisher-Yates: each is a uniform pick of what is left).
    private static func randomPrefix<T, G: RandomNumberGenerator>(
        _ elements: inout [T], _ count: Int, using generator: inout G
    ) {
        for place in 0..<count {
            elements.swapAt(place, Int.random(in: place..<elements.count, using: &generator))
        }
    }

    /// Draws until `count` distinct values came (the caller keeps count at
    /// most a third of what can be drawn, so repeats stay rare).
    private static func distinctDraws<T: Hashable>(_ count: Int, _ draw: () -> T) -> [T] {
        var seen = Set<T>(minimumCapacity: count)
        var picks: [T] = []
        picks.reserveCapacity(count)
        while picks.count < count {
            let pick = draw()
            if seen.insert(pick).inserted { picks.append(pick) }
        }
        return picks
    }
}
