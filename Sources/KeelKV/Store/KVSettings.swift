// KVSettings: what CONFIG GET and SET reach, shared by every loop: the
// compact-encoding limits, the password, and the settings clients ask
// about (save, appendonly, databases, ...). Values that are read on every
// command (the password) are atomic loads.

import KeelPosix
import Synchronization

/// keel-kv's run-time settings.
public final class KVSettings: Sendable {
    /// Where collections stop being packs.
    public let limits = KVLimits()
    private let password = Locked<[UInt8]?>(nil)
    /// Whether a password is set (read per command: one atomic load).
    private let passwordSet = Atomic<Bool>(false)

    /// What the server was started with, for CONFIG GET (read-only here).
    public let port: Int
    /// The TLS port (--tls-port), 0 without one.
    public let tlsPort: Int
    /// The most pushed bytes (pub/sub messages) a client may leave unread
    /// before it is closed (Keel's pending-output cap: CONFIG GET
    /// client-output-buffer-limit).
    public let clientOutputLimitBytes: Int
    /// The address it listens on.
    public let bind: String
    /// The most connections it keeps open at once.
    public let maxClients: Int
    /// Seconds an idle client is kept (0: forever).
    public let idleTimeoutSeconds: Int
    /// The largest value a request may carry.
    public let maxBulkBytes: Int
    /// Who may run DEBUG.
    public let debugAccess: KVDebugAccess
    /// Whether the loops delete expired keys they are not asked for (DEBUG
    /// SET-ACTIVE-EXPIRE turns it off for tests of lazy expiry).
    let activeExpiry = Atomic<Bool>(true)
    /// DEBUG PAUSE-CRON: the loops' background work stopped.
    let cronPaused = Atomic<Bool>(false)
    /// The most bytes the store may hold before it evicts (0: no limit;
    /// read per command: one atomic load).
    let maxMemory = Atomic<Int>(0)
    private let evictionPolicyCode = Atomic<UInt8>(KVEvictionPolicy.noEviction.rawValue)
    /// Keys eviction looks at to choose one (maxmemory-samples).
    let evictionSamples = Atomic<Int>(5)

    /// Settings with Redis's defaults and no password, for a server started
    /// with these values.
    public init(
        requirePass: String? = nil, port: Int = 6379, bind: String = "127.0.0.1", maxClients: Int = 4096,
        idleTimeoutSeconds: Int = 0, maxBulkBytes: Int = 512 << 20, debugAccess: KVDebugAccess = .local,
        maxMemory: Int = 0, evictionPolicy: String = "noeviction", tlsPort: Int = 0,
        clientOutputLimitBytes: Int = 16 << 20
    ) {
        self.tlsPort = tlsPort
        self.clientOutputLimitBytes = clientOutputLimitBytes
        self.maxMemory.store(maxMemory, ordering: .relaxed)
        if let policy = KVEvictionPolicy(name: evictionPolicy), policy.isAvailable {
            evictionPolicyCode.store(policy.rawValue, ordering: .relaxed)
        }
        self.debugAccess = debugAccess
        self.port = port
        self.bind = bind
        self.maxClients = maxClients
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.maxBulkBytes = maxBulkBytes
        if let requirePass, !requirePass.isEmpty { setPassword(Array(requirePass.utf8)) }
    }

    /// How keys are chosen for eviction.
    var evictionPolicy: KVEvictionPolicy {
        get { KVEvictionPolicy(rawValue: evictionPolicyCode.load(ordering: .relaxed)).unsafelyUnwrapped }
        set { evictionPolicyCode.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// The policies a server can be started with or set to, by name.
    public static var evictionPolicyNames: [String] {
        KVEvictionPolicy.allCases.filter(\.isAvailable).map(\.name)
    }

    /// A size as redis-server reads its memory parameters ("100mb"), or
    /// nil (also for one past Int.max).
    public static func parseMemory(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, let value = bytes.withUnsafeBytes({ KVConfig.parseMemory($0) }) else { return nil }
        // Past 2^63-1 (redis-server takes up to 2^64-1): no limit all the same.
        return value < 0 ? Int.max : Int(value)
    }

    /// Whether clients must authenticate.
    @inline(__always)
    public var requiresPassword: Bool { passwordSet.load(ordering: .acquiring) }

    /// Sets the password (empty: none).
    func setPassword(_ bytes: [UInt8]) {
        password.withLock { $0 = bytes.isEmpty ? nil : bytes }
        passwordSet.store(!bytes.isEmpty, ordering: .releasing)
    }

    /// The password, if set.
    var currentPassword: [UInt8]? { password.withLock { $0 } }
}
