// PingHandler: the smallest RESP service, as the README shows it: PING and
// ECHO answered as redis-server answers them, anything else refused with
// Redis's error text. redis-cli and redis-benchmark's ping tests can drive it.

import Keel

/// Answers PING and ECHO over RESP.
public struct PingHandler: ConnectionHandler, Sendable {
    /// A handler.
    public init() {}

    /// Replies to one command.
    public mutating func messageReceived(_ command: RESPCommand, on connection: Connection) {
        if command.argument(0, equalsIgnoringCase: "PING") && command.count <= 2 {
            if command.count == 2 {
                connection.resp.bulkString(command[1])
            } else {
                connection.resp.simpleString("PONG")
            }
        } else if command.argument(0, equalsIgnoringCase: "ECHO") && command.count == 2 {
            connection.resp.bulkString(command[1])
        } else {
            connection.resp.error("ERR unknown command or wrong number of arguments")
        }
    }
}
