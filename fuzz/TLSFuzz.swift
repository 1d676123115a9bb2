// libFuzzer entry point for Keel's TLS transport seam: scripted TLS peers
// against one echo loop on TLSTransport, driven an iteration at a time, with
// the faults, splits and refusals the script chooses. Built by fuzz/run.sh
// with the property in Tests/KeelTests/TLS/TLSFuzzCheck.swift and the
// simulated loop it runs on, linked with the Keel target as SwiftPM builds
// it with the fuzzer's instrumentation.

/// Makes the test certificates before the first input (the openssl
/// command's Process keeps a few bytes Foundation never frees, which the
/// leak check would pin on whichever input came first).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    if TLSFuzzCheck.files == nil { fatalError("no test certificates: the openssl command is missing") }
    return 0
}

/// Runs one input through the property; a violation stops the fuzzer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let failure = TLSFuzzCheck.run(Array(UnsafeBufferPointer(start: data, count: size)), countDescriptors: true) {
        fatalError("TLS transport property violated: \(failure)")
    }
    return 0
}
