// TLSSocketBIO: the BIO through which OpenSSL reads and writes a TLS
// connection's socket. OpenSSL's own socket BIO writes with write(2),
// which raises SIGPIPE when the peer has gone: fatal to an application
// that embeds Keel without ignoring SIGPIPE (the executables ignore it;
// a library cannot rely on that). This one sends with MSG_NOSIGNAL, as
// Keel's plaintext path does, and reads with read(2); EAGAIN becomes
// OpenSSL's retry, 0 its EOF (BIO_CTRL_EOF).

import COpenSSL
import Glibc

package enum TLSSocketBIO {
    /// The BIO method, made once per process.
    nonisolated(unsafe) static let method: OpaquePointer = {
        let type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR
        guard let method = BIO_meth_new(type, "keel socket") else { fatalError("BIO_meth_new failed") }
        _ = BIO_meth_set_write_ex(method, socketWrite)
        _ = BIO_meth_set_read_ex(method, socketRead)
        _ = BIO_meth_set_ctrl(method, socketControl)
        return method
    }()

    /// A BIO on the socket `fd` (which it does not close), or nil without memory.
    package static func make(fd: Int32) -> OpaquePointer? {
        guard let bio = BIO_new(method) else { return nil }
        // The descriptor, plus one: a null data pointer would mean "none".
        BIO_set_data(bio, UnsafeMutableRawPointer(bitPattern: UInt(fd) + 1))
        BIO_set_init(bio, 1)
        return bio
    }
}

private func descriptor(_ bio: OpaquePointer?) -> Int32 {
    Int32(truncatingIfNeeded: UInt(bitPattern: BIO_get_data(bio)) &- 1)
}

private func socketWrite(
    _ bio: OpaquePointer?, _ data: UnsafePointer<CChar>?, _ length: Int, _ written: UnsafeMutablePointer<Int>?
) -> Int32 {
    BIO_clear_flags(bio, keel_BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY)
    while true {
        let n = send(descriptor(bio), data, length, Int32(MSG_NOSIGNAL))
        if n >= 0 {
            written?.pointee = n
            return 1
        }
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { BIO_set_flags(bio, BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY) }
        return 0
    }
}

private func socketRead(
    _ bio: OpaquePointer?, _ data: UnsafeMutablePointer<CChar>?, _ length: Int, _ read: UnsafeMutablePointer<Int>?
) -> Int32 {
    BIO_clear_flags(bio, keel_BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY)
    while true {
        let n = Glibc.read(descriptor(bio), data, length)
        if n > 0 {
            read?.pointee = n
            return 1
        }
        if n == 0 {
            // EOF: no retry flag, and BIO_CTRL_EOF says so (OpenSSL then
            // reads it as the stream's end, not a truncation).
            BIO_set_flags(bio, BIO_FLAGS_IN_EOF)
            return 0
        }
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY) }
        return 0
    }
}

private func socketControl(
    _ bio: OpaquePointer?, _ command: Int32, _ argument: Int, _ pointer: UnsafeMutableRawPointer?
)
    -> Int
{
    // Flushing has nothing to do (every write went to the socket); no other
    // control (kernel TLS, peeking, timeouts) is supported.
    switch command {
    case BIO_CTRL_FLUSH: return 1
    case BIO_CTRL_EOF: return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0
    default: return 0
    }
}
