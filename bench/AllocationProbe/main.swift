// keel-allocation-probe: counts the heap allocations Keel's loop thread
// makes while echoing N messages, for the allocation test
// (Tests/KeelTests/AllocationTests.swift) and for anyone who wants to check.
//
// The probe links ordo-one's malloc interposer, whose allocation hook runs on
// the allocating thread: only the loop thread's allocations are counted, so
// the client (raw syscalls into preallocated buffers) and the runtime's other
// threads cannot disturb the count.
//
// Usage: keel-allocation-probe MESSAGES SIZE [PIPELINE] [handler|echo] [tls]
//   handler (default): a handler of this module's own, every message through
//     messageReceived and send (what an application's handler pays: this
//     module depends on Keel as an application's does);
//   echo: a handler that declares echoesEveryMessage, as Keel's EchoHandler
//     does, so whole frames take the echo fast path (what `keel` runs).
//   tls: the server speaks TLS (certificate and key from the directory in
//     KEEL_PROBE_TLS_DIR: server.pem, server.key); the client is OpenSSL on
//     this thread, whose allocations are not counted.
// Prints one JSON line: loop-thread mallocs while echoing, and process-wide
// mallocs minus frees from before the server started to after it stopped.

import COpenSSL
import CShims
import Glibc
import Keel
import MallocInterposerSwift

/// Echo that records which thread the loop runs on.
struct MarkingEcho: ConnectionHandler {
    mutating func connectionOpened(_ connection: Connection) {
        probeLoopThread = pthread_self()
        probeLoopThreadKnown = true
    }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
    }
}

/// The echo fast path's handler (as EchoHandler), recording the loop thread.
struct MarkingFastEcho: ConnectionHandler {
    static var echoesEveryMessage: Bool { true }

    mutating func connectionOpened(_ connection: Connection) {
        probeLoopThread = pthread_self()
        probeLoopThreadKnown = true
    }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
    }
}

let arguments = CommandLine.arguments
let mode = arguments.count > 4 ? arguments[4] : "handler"
guard arguments.count >= 3, let messages = Int(arguments[1]), let size = Int(arguments[2]),
    mode == "handler" || mode == "echo"
else {
    print("usage: keel-allocation-probe MESSAGES SIZE [PIPELINE] [handler|echo]")
    exit(64)
}
let pipeline = arguments.count > 3 ? Int(arguments[3]) ?? 16 : 16
let tlsDirectory: String? =
    arguments.count > 5 && arguments[5] == "tls" ? getenv("KEEL_PROBE_TLS_DIR").map { String(cString: $0) } : nil
if arguments.count > 5 && arguments[5] == "tls" && tlsDirectory == nil {
    print("tls needs KEEL_PROBE_TLS_DIR (a directory with server.pem and server.key)")
    exit(64)
}

probeInitializeGlobals()
MallocInterposerSwift.initialize()
MallocInterposerSwift.setAllocationHook(probeAllocationHook)
MallocInterposerSwift.hook()
let before = MallocInterposerSwift.getStatistics()

var configuration = Configuration()
configuration.port = 0
configuration.maxClients = 16
if let tlsDirectory {
    configuration.tls = TLSConfiguration(
        certificateChainFile: tlsDirectory + "/server.pem", privateKeyFile: tlsDirectory + "/server.key")
}
let server: Server<MarkingEcho>?
let fastServer: Server<MarkingFastEcho>?
let port: Int
if mode == "echo" {
    fastServer = Server(configuration: configuration) { _ in MarkingFastEcho() }
    server = nil
    port = try fastServer!.start().port
} else {
    server = Server(configuration: configuration) { _ in MarkingEcho() }
    fastServer = nil
    port = try server!.start().port
}

// A blocking client over raw syscalls into buffers allocated up front.
let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
let address = SocketAddress(host: "127.0.0.1", port: port)!
guard address.withSockAddr({ keel_connect(fd, $0, $1) }) == 0 else { fatalError("connect failed") }
_ = keel_set_nodelay(fd)
// TLS: a blocking OpenSSL client on this thread (its mallocs are not counted).
let clientSession: OpaquePointer? = tlsDirectory.map { _ in
    let context = SSL_CTX_new(TLS_client_method())!
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
    let ssl = SSL_new(context)!
    SSL_set_fd(ssl, fd)
    guard SSL_connect(ssl) == 1 else { fatalError("TLS handshake failed") }
    return ssl
}
let frameBytes = 4 + size
let batch = UnsafeMutableRawBufferPointer.allocate(byteCount: frameBytes * pipeline, alignment: 16)
for index in 0..<pipeline {
    let frame = batch.baseAddress! + index * frameBytes
    frame.storeBytes(of: UInt32(size).littleEndian, as: UInt32.self)
    memset(frame + 4, Int32(index & 0x7F), size)
}
let incoming = UnsafeMutableRawBufferPointer.allocate(byteCount: frameBytes * pipeline, alignment: 16)

@MainActor func sendAll(_ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count {
        if let clientSession {
            var written = 0
            precondition(SSL_write_ex(clientSession, bytes.baseAddress! + offset, bytes.count - offset, &written) == 1)
            offset += written
            continue
        }
        let n = keel_send(fd, bytes.baseAddress! + offset, bytes.count - offset)
        precondition(n > 0 || n == -Int(EINTR), "send failed: \(n)")
        offset += max(0, n)
    }
}

@MainActor func receiveAll(_ count: Int) {
    var offset = 0
    while offset < count {
        if let clientSession {
            var read = 0
            precondition(SSL_read_ex(clientSession, incoming.baseAddress! + offset, count - offset, &read) == 1)
            offset += read
            continue
        }
        let n = keel_read(fd, incoming.baseAddress! + offset, count - offset)
        precondition(n > 0 || n == -Int(EINTR), "read failed: \(n)")
        offset += max(0, n)
    }
    precondition(memcmp(incoming.baseAddress!, batch.baseAddress!, count) == 0, "echo differs")
}

/// Echoes `rounds` batches of `pipeline` messages.
@MainActor func echo(rounds: Int) {
    for _ in 0..<rounds {
        sendAll(UnsafeRawBufferPointer(batch))
        receiveAll(batch.count)
    }
}

// Warm up (buffers reach their working size, the pool fills), then count.
echo(rounds: 1_000)
probeCounting = true
echo(rounds: max(1, messages / pipeline))
probeCounting = false
let loopCount = probeLoopAllocations

Glibc.close(fd)
server?.shutdown()
server?.wait()
fastServer?.shutdown()
fastServer?.wait()
batch.deallocate()
incoming.deallocate()
let after = MallocInterposerSwift.getStatistics()
MallocInterposerSwift.unhook()
let outstanding = (after.mallocCount - after.freeCount) - (before.mallocCount - before.freeCount)
print(
    "{\"messages\": \(max(1, messages / pipeline) * pipeline), \"size\": \(size), \"handler\": \"\(mode)\", "
        + "\"tls\": \(tlsDirectory != nil), "
        + "\"loop_thread_mallocs\": \(loopCount), \"process_mallocs_minus_frees\": \(outstanding)}")
