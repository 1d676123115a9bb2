// libFuzzer entry point for keel-kv's command layer: every command's
// argument parsing (numbers, scores, ranges, glob patterns, options) and its
// effect on the store. Built by fuzz/run.sh with the shared property in
// Tests/KeelKVTests/KVFuzzCheck.swift and the test harness it runs through,
// linked with the KeelKV target as SwiftPM builds it with the fuzzer's
// instrumentation. The hash seed comes from the input (KV_FUZZ_SEED=N
// overrides it), so a failure replays with the same buckets.

import Glibc

@testable import KeelKV

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    // Keys fall in the same buckets on every replay of an input (random
    // picks are seeded by KVFuzzCheck): a failure reproduces.
    var seed: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in input { seed = (seed ^ UInt64(byte)) &* 0x100_0000_01B3 }
    if let forced = getenv("KV_FUZZ_SEED") { seed = UInt64(atoll(forced)) }
    ByteHash.reseed(seed)
    if let failure = KVFuzzCheck.run(input) {
        fatalError("keel-kv command property violated: \(failure)")
    }
    return 0
}
