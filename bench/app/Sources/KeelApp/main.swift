// keel-app: an echo service written the way an application writes one: its
// own handler type, in its own module, answering each message through
// `messageReceived` (no echo fast path) and counting what it served.
//
// Usage: keel-app [PORT] [length|line]    (stops on SIGINT or SIGTERM)

import Glibc
import Keel

/// Echoes every message and counts them, as a service keeps its own state.
struct CountingEcho: ConnectionHandler {
    var messages = 0

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        messages &+= 1
        connection.send(payload)
    }
}

let signals = ShutdownSignals()
var configuration = Configuration()
let arguments = CommandLine.arguments
configuration.port = arguments.count > 1 ? Int(arguments[1]) ?? 5883 : 5883
let server = Server(configuration: configuration) { _ in CountingEcho() }
do {
    let address = try server.start()
    print("keel-app listening on \(address)")
} catch {
    print("keel-app: \(error)")
    exit(1)
}
signals.onSignal { _ in server.shutdown() }
let totals = server.wait()
print("keel-app stopped: \(totals)")
