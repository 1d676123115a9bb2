// MONITOR: every command a client runs, shown to monitors as redis-server
// shows it (checked against redis-server 7.0.15 on real sockets): after it
// runs, not when refused or queued; EXEC's commands, then EXEC; no admin
// commands; passwords redacted; arguments quoted.

import Testing

@testable import KeelKV

@Suite struct KVMonitorTests {
    /// What the monitors were sent, without the time and address.
    static func lines(_ kv: KVHarness) -> [String] {
        kv.delivered().map { delivery in
            let text = delivery.text
            guard let bracket = text.firstIndex(of: "]") else { return text }
            return String(text[text.index(after: bracket)...].dropFirst().dropLast())
        }
    }

    @Test func monitorsSeeWhatRunsInOrder() {
        let kv = KVHarness()
        let client = kv.session
        let monitor = kv.openClient()
        kv.use(monitor)
        #expect(kv("MONITOR") == ok)
        #expect(kv("CLIENT", "INFO").contains("flags=O "))
        kv.use(client)
        kv("set", "foo", "bar")
        kv("NOSUCH")
        kv("SET", "a")
        kv("MULTI")
        kv("set", "q", "1")
        kv("bad")
        kv("EXEC")
        kv("MULTI")
        kv("GET", "q")
        kv("EXEC")
        kv("CONFIG", "GET", "maxmemory")
        kv("CLIENT", "ID")
        kv("FCALL", "f", "0")
        #expect(
            Self.lines(kv) == [
                #""CLIENT" "INFO""#, #""set" "foo" "bar""#, #""MULTI""#, #""EXEC""#, #""MULTI""#, #""GET" "q""#,
                #""EXEC""#,
                #""CLIENT" "ID""#, #""FCALL" "f" "0""#,
            ])
        kv.use(monitor)
        #expect(kv("RESET") == "+RESET\r\n")
        kv.use(client)
        kv("PING")
        #expect(kv.delivered().isEmpty, "RESET ended it")
    }

    @Test func passwordsAreRedactedAndBytesQuoted() {
        let kv = KVHarness()
        let client = kv.session
        let monitor = kv.openClient()
        kv.use(monitor)
        kv("MONITOR")
        kv.use(client)
        kv("AUTH", "secret")
        kv("AUTH", "user", "secret")
        kv("AUTH", "a", "b", "c")
        kv("HELLO", "2", "AUTH", "user", "secret", "SETNAME", "n")
        kv(bytes: Array("ECHO".utf8), [0x22, 0x5C, 0x0A, 0x0D, 0x09, 0x07, 0x08, 0x01, 0xFF, 0x41])
        #expect(
            Self.lines(kv) == [
                #""AUTH" "(redacted)""#, #""AUTH" "(redacted)" "(redacted)""#, #""AUTH" "a" "b" "c""#,
                #""HELLO" "2" "AUTH" "(redacted)" "(redacted)" "SETNAME" "n""#,
                #""ECHO" "\"\\\n\r\t\a\b\x01\xffA""#,
            ])
    }

    @Test func aClosedMonitorIsForgotten() {
        let kv = KVHarness()
        let monitor = kv.openClient()
        kv.use(monitor)
        kv("MONITOR")
        kv("MONITOR")
        #expect(kv.store.monitors.count.load(ordering: .relaxed) == 1)
        kv.close(monitor)
        #expect(kv.store.monitors.count.load(ordering: .relaxed) == 0)
        kv.use(kv.openClient())
        kv("MULTI")
        kv("MONITOR")
        #expect(kv("EXEC") == "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n")
    }
}
