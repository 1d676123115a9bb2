// Geospatial indexes: the scores, positions, hashes and distances
// redis-server 7.0.15 gives for the same points (taken from it), searches
// by radius and box in its order, STORE, the argument errors, and a search
// finding what a brute-force scan over every point finds.

import Testing

@testable import KeelKV

@Suite struct KVGeoTests {
    private func sicily() -> KVHarness {
        let kv = KVHarness()
        #expect(
            kv("GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania") == int(2))
        return kv
    }

    @Test func pointsAreStoredAndReadAsRedisServerDoes() {
        let kv = sicily()
        #expect(kv("ZSCORE", "Sicily", "Palermo") == bulk("3479099956230698"))
        #expect(kv("ZSCORE", "Sicily", "Catania") == bulk("3479447370796909"))
        #expect(
            kv("GEOPOS", "Sicily", "Palermo", "nobody")
                == "*2\r\n" + bulks("13.36138933897018433", "38.11555639549629859") + "*-1\r\n")
        #expect(
            kv("GEOHASH", "Sicily", "Palermo", "Catania", "nobody") == "*3\r\n" + bulk("sqc8b49rny0")
                + bulk("sqdtr74hyu0") + "$-1\r\n")
        #expect(kv("GEODIST", "Sicily", "Palermo", "Catania") == bulk("166274.1516"))
        #expect(kv("GEODIST", "Sicily", "Palermo", "Catania", "km") == bulk("166.2742"))
        #expect(kv("GEODIST", "Sicily", "Palermo", "nobody") == "$-1\r\n")
        #expect(kv("GEODIST", "nokey", "a", "b") == "$-1\r\n")
        #expect(kv("GEOPOS", "nokey", "a") == "*1\r\n*-1\r\n")
        #expect(kv("TYPE", "Sicily") == "+zset\r\n", "an index is a sorted set")
        #expect(kv("GEOADD", "Sicily", "XX", "CH", "13.361389", "38.115556", "Palermo", "1", "1", "new") == int(0))
        #expect(kv("GEOADD", "Sicily", "CH", "13.5", "38.115556", "Palermo") == int(1))
    }

    @Test func coordinatesAreRepliedAsDoublesInRESP3() {
        let kv = sicily()
        kv("HELLO", "3")
        #expect(kv("GEOPOS", "Sicily", "Catania") == "*1\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n")
        #expect(kv("GEODIST", "Sicily", "Palermo", "Catania", "km") == bulk("166.2742"), "a distance stays a string")
    }

    @Test func searchesAnswerInRedisServersOrder() {
        let kv = sicily()
        #expect(kv("GEORADIUS", "Sicily", "15", "37", "100", "km") == bulks("Catania"))
        #expect(
            kv("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHHASH", "WITHCOORD", "ASC")
                == "*2\r\n*4\r\n" + bulk("Catania") + bulk("56.4413") + int(3_479_447_370_796_909) + "*2\r\n"
                + bulk("15.08726745843887329") + bulk("37.50266842333162032") + "*4\r\n" + bulk("Palermo")
                + bulk("190.4424") + int(3_479_099_956_230_698) + "*2\r\n" + bulk("13.36138933897018433")
                + bulk("38.11555639549629859"))
        #expect(kv("GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC") == bulks("Palermo", "Catania"))
        #expect(kv("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1") == bulks("Catania"), "the nearest")
        #expect(kv("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "ASC") == bulks("Palermo", "Catania"))
        #expect(
            kv("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHDIST")
                == "*2\r\n*2\r\n" + bulk("Catania") + bulk("56.4413") + "*2\r\n" + bulk("Palermo") + bulk("190.4424"))
        #expect(
            kv("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "100", "100", "km") == bulks("Palermo"),
            "Catania is 166 km away")
        #expect(kv("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "m") == "*0\r\n")
        #expect(kv("GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m") == "*0\r\n")
    }

    @Test func storeWritesScoresOrDistances() {
        let kv = sicily()
        #expect(kv("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "near") == int(2))
        #expect(kv("ZRANGE", "near", "0", "-1") == bulks("Palermo", "Catania"), "by geohash")
        #expect(kv("GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "near") == int(2))
        #expect(kv("ZSCORE", "near", "Catania") == bulk("56.441257870158204"))
        #expect(
            kv("GEOSEARCHSTORE", "box", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "COUNT", "1")
                == int(1))
        #expect(kv("ZRANGE", "box", "0", "-1") == bulks("Catania"))
        #expect(kv("GEOSEARCHSTORE", "box", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m") == int(0))
        #expect(kv("EXISTS", "box") == int(0), "an empty result deletes the destination")
        #expect(kv("GEOSEARCHSTORE", "near", "nokey", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m") == int(0))
        #expect(kv("EXISTS", "near") == int(0))
        #expect(kv("COMMAND", "GETKEYS", "GEORADIUS", "a", "1", "1", "1", "m", "STORE", "b") == bulks("a", "b"))
    }

    @Test func badArgumentsGetRedisServersErrors() {
        let kv = sicily()
        #expect(kv("GEOADD", "g", "200", "10", "a") == "-ERR invalid longitude,latitude pair 200.000000,10.000000\r\n")
        #expect(kv("GEOADD", "g", "1", "x", "a") == "-ERR value is not a valid float\r\n")
        #expect(kv("GEOADD", "g", "NX", "XX", "1", "1", "a") == "-ERR syntax error\r\n")
        #expect(kv("GEOADD", "g", "1", "1") == "-ERR wrong number of arguments for 'geoadd' command\r\n")
        #expect(
            kv("GEODIST", "Sicily", "a", "b", "yd") == "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n")
        #expect(kv("GEORADIUS", "Sicily", "15", "37", "-1", "km") == "-ERR radius cannot be negative\r\n")
        #expect(kv("GEORADIUS", "Sicily", "15", "37", "x", "km") == "-ERR need numeric radius\r\n")
        #expect(kv("GEORADIUS", "Sicily", "15", "37", "1", "km", "COUNT", "0") == "-ERR COUNT must be > 0\r\n")
        #expect(
            kv("GEORADIUS", "Sicily", "15", "37", "1", "km", "ANY")
                == "-ERR the ANY argument requires COUNT argument\r\n")
        #expect(
            kv("GEORADIUS", "Sicily", "15", "37", "1", "km", "STORE", "x", "WITHDIST")
                == "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n")
        #expect(kv("GEORADIUS_RO", "Sicily", "15", "37", "1", "km", "STORE", "x") == "-ERR syntax error\r\n")
        #expect(
            kv("GEORADIUSBYMEMBER", "Sicily", "nobody", "1", "km") == "-ERR could not decode requested zset member\r\n")
        #expect(
            kv("geosearch", "Sicily", "BYRADIUS", "1", "km", "ASC", "WITHDIST")
                == "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch\r\n")
        #expect(
            kv("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "ASC", "WITHDIST")
                == "-ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH\r\n")
        #expect(
            kv("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "1", "-1", "m")
                == "-ERR height or width cannot be negative\r\n")
        #expect(
            kv("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "1", "1", "m", "STORE", "x")
                == "-ERR syntax error\r\n")
        kv("SET", "s", "x")
        #expect(kv("GEOPOS", "s", "a").hasPrefix("-WRONGTYPE"))
        #expect(kv("GEOSEARCH", "s", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m").hasPrefix("-WRONGTYPE"))
    }

    @Test func distancesAreRoundedToTenThousandths() {
        #expect(KVGeoCommands.distanceText(0) == Array("0.0000".utf8))
        #expect(KVGeoCommands.distanceText(1.23456) == Array("1.2346".utf8))
        #expect(KVGeoCommands.distanceText(0.03125) == Array("0.0312".utf8), "a tie goes to the even")
        #expect(KVGeoCommands.distanceText(0.09375) == Array("0.0938".utf8), "a tie goes to the even")
        #expect(KVGeoCommands.distanceText(12_345.6) == Array("12345.6000".utf8))
    }

    @Test func neighbouringCellsWrapAroundTheAntimeridian() {
        let east = KVGeohash.encode(longitude: 179.99, latitude: 0, step: 4)!
        let beyond = KVGeohash.area(of: east.moved(dx: 1, dy: 0))
        #expect(beyond.longitudeMin == -180, "east of the last column is the first")
        let cell = KVGeohash.encode(longitude: 10, latitude: 10, step: 8)!
        #expect(cell.moved(dx: 1, dy: 1).moved(dx: -1, dy: -1) == cell)
        let north = KVGeohash.area(of: cell.moved(dx: 0, dy: 1))
        #expect(north.latitudeMin == KVGeohash.area(of: cell).latitudeMax)
    }

    /// Every point well inside a shape is found, and nothing found is
    /// outside it, over a few thousand random points and searches.
    @Test func searchesFindWhatABruteForceScanFinds() {
        let kv = KVHarness()
        var generator = SystemRandomNumberGenerator()
        var points: [(name: String, longitude: Double, latitude: Double)] = []
        for index in 0..<2_000 {
            let longitude = Double.random(in: -20...20, using: &generator)
            let latitude = Double.random(in: 30...70, using: &generator)
            points.append(("p\(index)", longitude, latitude))
            kv("GEOADD", "points", "\(longitude)", "\(latitude)", "p\(index)")
        }
        let stored = points.map { point in
            let score = KVGeohash.score(longitude: point.longitude, latitude: point.latitude)!
            return (point.name, KVGeohash.position(ofScore: Double(score)))
        }
        for _ in 0..<40 {
            let longitude = Double.random(in: -15...15, using: &generator)
            let latitude = Double.random(in: 35...65, using: &generator)
            let radius = Double.random(in: 1...800, using: &generator)
            let reply = kv(
                "GEOSEARCH", "points", "FROMLONLAT", "\(longitude)", "\(latitude)", "BYRADIUS", "\(radius)", "km")
            let found = Set(reply.split(separator: "\r\n").filter { $0.hasPrefix("p") }.map(String.init))
            for (name, position) in stored {
                let distance = KVGeohash.distance(longitude, latitude, position.longitude, position.latitude)
                if distance < radius * 1000 * 0.999 { #expect(found.contains(name), "\(name) at \(distance) m") }
                if distance > radius * 1000 { #expect(!found.contains(name), "\(name) at \(distance) m") }
            }
        }
    }

    /// Coordinates are written without printf: the same text as "%.17Lf"
    /// (trimmed) for random values, ties at the 17th decimal, and edges.
    @Test func coordinatesAreWrittenAsPrintfWritesThem() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [
            0, -0.0, 0.5, -180, 180, 85.05112878, 1e-17, 5e-18, -5e-18, 0x1p-18, 3 * 0x1p-18, 0x1p-60,
        ]
        values += (0..<20_000).map { _ in Double.random(in: -180...180, using: &generator) }
        values += (0..<2_000).map { _ in Double.random(in: -1...1, using: &generator) * 0x1p-30 }
        values += (0..<2_000).map { Double($0) * 0x1p-18 - 0.004 }
        values += (0..<200).map { _ in KVGeohash.position(ofScore: Double(UInt64.random(in: 0..<(1 << 52)))).latitude }
        for value in values {
            let fast = KVDouble.withFixedText(value) { Array($0) }
            let printf = KVDouble.text(Float80(value))
            #expect(fast == printf, "\(value)")
        }
    }
}
