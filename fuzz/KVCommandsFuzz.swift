// libFuzzer entry point for keel-kv's command layer: every command's
// argument parsing (numbers, scores, ranges, glob patterns, options) and its
// effect on the store. Built by fuzz/run.sh with the shared property in
// Tests/KeelKVTests/KVFuzzCheck.swift and the test harness it runs through,
// linked with the KeelKV target as SwiftPM builds it with the fuzzer's
// instrumentation. The hash seed is fixed (KV_FUZZ_SEED=N changes it), so
// a failure replays with the same buckets.

import Glibc

@testable import KeelKV

/// The hash seed, set once before anything hashes (the command table's
/// lookups hash too: a seed changed later would lose every command).
private let seeded: Void = {
    var seed: UInt64 = 0x5EED_5EED
    if let forced = getenv("KV_FUZZ_SEED") { seed = UInt64(atoll(forced)) }
    ByteHash.reseed(seed)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = seeded
    if let failure = KVFuzzCheck.run(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError("keel-kv command property violated: \(failure)")
    }
    return 0
}
