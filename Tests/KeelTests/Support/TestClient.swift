// TestClient: a blocking TCP client for integration tests. Every receive and
// send has a timeout (SO_RCVTIMEO/SO_SNDTIMEO), so a test can fail but never hang.

import CShims
import Glibc
import KeelTestSupport

@testable import Keel

struct TestClientError: Error, CustomStringConvertible {
    let description: String
}

/// A blocking loopback client speaking length-prefixed frames.
final class TestClient {
    private(set) var fd: Int32
    let format: FrameFormat

    /// Connects to 127.0.0.1:`port`; `timeoutSeconds` bounds every later call.
    /// `receiveBufferBytes` caps SO_RCVBUF (set before connecting, so the
    /// window stays small): the kernel then holds little of what the server
    /// sends, and a client that stops reading backs the server up at once.
    init(port: Int, format: FrameFormat = .u32le, timeoutSeconds: Int = 10, receiveBufferBytes: Int32? = nil) throws {
        self.format = format
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestClientError(description: "socket: \(Errno(rawValue: errno))") }
        if var size = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let address = SocketAddress(host: "127.0.0.1", port: port)!
        let rc = address.withSockAddr { keel_connect(fd, $0, $1) }
        guard rc == 0 else {
            // deinit still runs (every property is set): it must not close
            // the descriptor again, since by then its number may belong to
            // another test's socket (a Keel server's connection, say).
            Glibc.close(fd)
            fd = -1
            throw TestClientError(description: "connect to port \(port): \(Errno(rawValue: -rc))")
        }
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Sends all of `bytes` (blocking, bounded by the send timeout).
    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { keel_send(fd, $0.baseAddress! + sent, bytes.count - sent) }
            if n == -Int(EINTR) { continue }
            guard n > 0 else { throw TestClientError(description: "send: \(Errno(rawValue: Int32(-n)))") }
            sent += n
        }
    }

    /// The frame for `payload` in this client's format.
    func frame(_ payload: [UInt8]) -> [UInt8] {
        Self.frame(payload, format: format)
    }

    static func frame(_ payload: [UInt8], format: FrameFormat) -> [UInt8] {
        KeelTestSupport.frame(payload, format: format)
    }

    /// Sends one framed message.
    func sendFrame(_ payload: [UInt8]) throws {
        try send(frame(payload))
    }

    /// Reads exactly `count` bytes; throws on EOF, reset or timeout.
    func read(exactly count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var have = 0
        while have < count {
            let n = result.withUnsafeMutableBytes { keel_read(fd, $0.baseAddress! + have, count - have) }
            if n == -Int(EINTR) { continue }
            if n == 0 { throw TestClientError(description: "EOF after \(have) of \(count) bytes") }
            if n < 0 {
                throw TestClientError(
                    description: "read after \(have) of \(count) bytes: \(Errno(rawValue: Int32(-n)))")
            }
            have += n
        }
        return result
    }

    /// Reads one framed message and returns its payload.
    func readFrame() throws -> [UInt8] {
        let header = try read(exactly: format.headerBytes)
        let length = header.withUnsafeBytes { format.decodeLength($0.baseAddress!) }
        return try read(exactly: Int(length))
    }

    /// Sends `payload` framed and checks the echo is identical.
    func roundTrip(_ payload: [UInt8]) throws -> Bool {
        try sendFrame(payload)
        return try readFrame() == payload
    }

    /// Reads until the server closes (EOF: returns everything read) or the
    /// receive timeout passes or the connection is reset (throws).
    func readToEnd() throws -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { keel_read(fd, $0.baseAddress!, $0.count) }
            if n == -Int(EINTR) { continue }
            if n == 0 { return result }
            if n < 0 {
                throw TestClientError(description: "read after \(result.count) bytes: \(Errno(rawValue: Int32(-n)))")
            }
            result += buffer[..<n]
        }
    }

    /// Waits for the server to close the connection: true on EOF or reset,
    /// false if data arrives instead or the timeout passes.
    func waitForClose() -> Bool {
        var byte: UInt8 = 0
        while true {
            let n = keel_read(fd, &byte, 1)
            if n == -Int(EINTR) { continue }
            if n == 0 || n == -Int(ECONNRESET) { return true }
            return false
        }
    }

    /// Whether any byte arrives within `milliseconds` (poll, nothing consumed).
    func hasData(withinMs milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }

    /// Closes with RST instead of FIN (SO_LINGER 0).
    func reset() {
        _ = keel_set_linger_zero(fd)
        close()
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
