// libFuzzer entry point for keel-kv's command layer: every command's
// argument parsing (numbers, scores, ranges, glob patterns, options) and its
// effect on the store. Built by fuzz/run.sh with the shared property in
// Tests/KeelKVTests/KVFuzzCheck.swift and the test harness it runs through,
// linked with the KeelKV target as SwiftPM builds it with the fuzzer's
// instrumentation.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let failure = KVFuzzCheck.run(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError("keel-kv command property violated: \(failure)")
    }
    return 0
}
