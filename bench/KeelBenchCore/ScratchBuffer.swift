// ScratchBuffer: raw memory owned by a class, so a value type that holds
// one (RESPWorkload) frees it when the last copy goes.

final class ScratchBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(byteCount: Int) {
        bytes = .allocate(byteCount: max(byteCount, 1), alignment: 16)
    }

    deinit {
        bytes.deallocate()
    }
}
