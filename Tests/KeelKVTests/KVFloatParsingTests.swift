// Floats in arguments and in stored values as redis-server 7.0 reads them:
// INCRBYFLOAT's and HINCRBYFLOAT's whole argument or value (an embedded NUL
// makes it no float), a score range bound as a C string (a NUL ends it).

import Testing

@testable import KeelKV

@Suite struct KVFloatParsingTests {
    @Test func anEmbeddedNulEndsABoundButSpoilsAnIncrement() {
        let kv = KVHarness()
        let nul: [UInt8] = [0x31, 0x00]
        #expect(kv(bytes: Array("INCRBYFLOAT".utf8), Array("f".utf8), nul) == "-ERR value is not a valid float\r\n")
        kv(bytes: Array("SET".utf8), Array("v".utf8), nul)
        #expect(kv("INCRBYFLOAT", "v", "1") == "-ERR value is not a valid float\r\n")
        // A score range bound is read as a C string: "1\0" is 1.
        kv("ZADD", "z", "1", "a", "2", "b")
        #expect(kv(bytes: Array("ZCOUNT".utf8), Array("z".utf8), Array("-inf".utf8), nul) == int(1))
    }

    @Test func theParsersAgreeWithRedisOnEdges() {
        func parsed(_ bytes: [UInt8]) -> Float80? { bytes.withUnsafeBytes { KVDouble.parseLong($0) } }
        func bound(_ bytes: [UInt8]) -> Double? { bytes.withUnsafeBytes { KVDouble.parseBound($0) } }
        #expect(parsed(Array("1.5".utf8)) == 1.5)
        #expect(parsed([0x00]) == nil && parsed([0x00, 0x31]) == nil && parsed(Array(" 1".utf8)) == nil)
        #expect(bound([]) == 0 && bound([0x00]) == 0 && bound([0x32, 0x00, 0x78]) == 2)
        #expect(bound(Array("nan".utf8)) == nil && bound(Array("1x".utf8)) == nil)
    }
}
