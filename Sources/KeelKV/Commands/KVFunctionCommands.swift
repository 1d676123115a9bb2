// FUNCTION and FCALL as a redis-server 7.0 with no scripting engine answers
// them: keel-kv runs no scripts (README, "Where it differs"), so there are
// never libraries. FLUSH, LIST, STATS, DELETE and KILL answer truthfully
// about that empty set (clients and test harnesses flush functions between
// runs), LOAD reads a library's metadata as redis-server does and then
// finds no engine for it, and FCALL finds no function.

import KeelWire

enum KVFunctionCommands {
    /// FUNCTION FLUSH [ASYNC|SYNC]: there is nothing to flush.
    static func flush(_ context: KVContext) {
        guard context.argumentCount <= 3 else { return context.subcommandSyntaxError("FUNCTION") }
        guard context.argumentCount == 2 || context.argument(2, is: "ASYNC") || context.argument(2, is: "SYNC")
        else {
            return context.reply.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
        }
        context.reply.simpleString("OK")
    }

    /// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]: no libraries.
    static func list(_ context: KVContext) {
        var index = 2
        var withCode = false
        var named = false
        while index < context.argumentCount {
            if !withCode && context.argument(index, is: "WITHCODE") {
                withCode = true
            } else if !named && context.argument(index, is: "LIBRARYNAME") {
                guard index + 1 < context.argumentCount else {
                    return context.reply.error("ERR library name argument was not given")
                }
                named = true
                index += 1
            } else {
                return context.reply.error(KVContext.text("ERR Unknown argument ", context[index], ""))
            }
            index += 1
        }
        context.reply.arrayHeader(0)
    }

    /// FUNCTION STATS: no script running, no engines.
    static func stats(_ context: KVContext) {
        context.reply.mapHeader(2)
        context.reply.bulkString("running_script")
        context.reply.null()
        context.reply.bulkString("engines")
        context.reply.mapHeader(0)
    }

    static func delete(_ context: KVContext) {
        context.reply.error("ERR Library not found")
    }

    static func kill(_ context: KVContext) {
        context.reply.error("NOTBUSY No scripts in execution right now.")
    }

    /// FUNCTION LOAD [REPLACE] code: the code's first line names its engine
    /// and library (`#!<engine> name=<library>`), checked as redis-server
    /// checks it; no engine exists to load it with.
    static func load(_ context: KVContext) {
        var index = 2
        while index < context.argumentCount - 1 {
            guard context.argument(index, is: "REPLACE") else {
                return context.reply.error(KVContext.text("ERR Unknown option given: ", context[index], ""))
            }
            index += 1
        }
        let code = context[context.argumentCount - 1]
        guard code.count >= 2, code[0] == UInt8(ascii: "#"), code[1] == UInt8(ascii: "!") else {
            return context.reply.error("ERR Missing library metadata")
        }
        guard let lineEnd = code.firstIndex(of: UInt8(ascii: "\n")) else {
            return context.reply.error("ERR Invalid library metadata")
        }
        // The first line in words, as redis-server splits it (any white
        // space, "\r" too); the first word is "#!" and the engine's name.
        let words = code[..<lineEnd].split(whereSeparator: { [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains($0) })
        let engine: [UInt8] = words.first.map { Array($0.dropFirst(2)) } ?? []
        var name: [UInt8]?
        for word in words.dropFirst() {
            let lowered = word.prefix(5).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            guard lowered == Array("name=".utf8) else {
                return context.reply.error(Array("ERR Invalid metadata value given: ".utf8) + word)
            }
            guard name == nil else {
                return context.reply.error("ERR Invalid metadata value, name argument was given multiple times")
            }
            name = Array(word.dropFirst(5))
        }
        guard let name else { return context.reply.error("ERR Library name was not given") }
        let valid = name.allSatisfy { byte in
            let lower = byte | 0x20
            return byte == UInt8(ascii: "_") || (byte >= 0x30 && byte <= 0x39) || (lower >= 0x61 && lower <= 0x7A)
        }
        guard valid && !name.isEmpty else {
            return context.reply.error(
                "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
            )
        }
        context.reply.error(Array("ERR Engine '".utf8) + engine + Array("' not found".utf8))
    }

    /// FCALL's keys (numkeys at 2), for locking and COMMAND GETKEYS.
    static func keys(_ command: RESPCommand) -> [Int] {
        guard let numkeys = command.integer(at: 2), numkeys > 0, numkeys <= Int64(command.count - 3) else { return [] }
        return Array(3..<(3 + Int(numkeys)))
    }

    /// FCALL and FCALL_RO function numkeys [key ...] [arg ...].
    static func fcall(_ context: KVContext) {
        context.reply.error("ERR Function not found")
    }
}
