// keel-broadcast: a chat-style relay. Every message a client sends goes to
// every other connected client. Usage: keel-broadcast [PORT] [THREADS]

import Keel
import KeelExamples

var configuration = Configuration()
configuration.port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 5883 : 5883
configuration.threads = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 2 : 2
configuration.maxPendingOutputBytes = 8 << 20
let registry = BroadcastRegistry()
let server = Server(configuration: configuration) { _ in BroadcastHandler(registry: registry) }
do {
    let address = try server.start()
    print("keel-broadcast listening on \(address) with \(configuration.threads) threads")
    server.wait()
} catch {
    print("keel-broadcast: \(error)")
}
