// libFuzzer entry point for Keel's framing, ring buffer and PROXY header
// parser. Built by fuzz/run.sh with the shared check in
// Tests/KeelWireTests/FramingFuzzCheck.swift and linked with the KeelWire target
// (the wire layer: plain Swift, no C library), built with the fuzzer's
// instrumentation.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let failure = FramingFuzzCheck.run(bytes) {
        fatalError("framing property violated: \(failure)")
    }
    return 0
}
