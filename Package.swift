// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "keel",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Keel", targets: ["Keel"]),
        .executable(name: "keel", targets: ["KeelServer"]),
        .executable(name: "keel-bench", targets: ["KeelBench"]),
        .executable(name: "keel-kv", targets: ["KeelKVServer"]),
        .executable(name: "keel-broadcast", targets: ["BroadcastServer"]),
        .executable(name: "keel-embed-example", targets: ["EmbedExample"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // `swift package generate-documentation --target Keel` (scripts/docs.sh, in .ci/run).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "CShims",
            path: "CShims",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        // OpenSSL 3 from the system (Debian's libssl-dev), for the TLS
        // transport: its headers and the macros Swift cannot call.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // The wire layer, plain Swift without the C library: wire formats
        // and protocols, the message assembler, rings and their pool, the
        // PROXY parser, addresses as values. The fuzz target builds from it.
        .target(name: "KeelWire"),
        // The system interface: syscall wrappers, errno, sockaddr conversion,
        // ring memory, the readiness backends (epoll, poll) and the loop's
        // own descriptors.
        .target(
            name: "KeelPosix",
            dependencies: ["CShims", "KeelWire"]
        ),
        .target(
            name: "Keel",
            dependencies: [
                "KeelWire", "KeelPosix", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "KeelCommandLine",
            dependencies: [
                "Keel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "KeelServer",
            dependencies: [
                "Keel", "KeelCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "KeelKV",
            dependencies: [
                "Keel", "KeelPosix", .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The command layer runs on one loop's thread, over classes
            // (context, sessions, reply buffer, shards) whose every stored
            // property access would otherwise be checked for exclusivity at
            // run time (a quarter of SET's instructions, measured with
            // callgrind): checked in debug builds and tests, not in release.
            // KeelKV is no product's target, so the flag never reaches an
            // application that depends on Keel.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "KeelKVServer",
            dependencies: [
                "Keel", "KeelKV", "KeelCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "KeelExamples",
            dependencies: ["Keel"]
        ),
        .executableTarget(
            name: "BroadcastServer",
            dependencies: ["Keel", "KeelExamples"]
        ),
        .executableTarget(
            name: "EmbedExample",
            dependencies: [
                "Keel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "KeelBenchCore",
            dependencies: [
                "Keel", "KeelPosix", "CShims", "COpenSSL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "bench/KeelBenchCore"
        ),
        .executableTarget(
            name: "KeelBench",
            dependencies: ["KeelBenchCore"],
            path: "bench/KeelBench"
        ),
        .executableTarget(
            name: "KeelAllocationProbe",
            dependencies: [
                "Keel", "CShims", "COpenSSL",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "bench/AllocationProbe"
        ),
        // What both test targets build test data with (seeded bytes, RESP
        // requests, frames).
        .target(
            name: "KeelTestSupport",
            dependencies: ["KeelWire"],
            path: "Tests/TestSupport"
        ),
        // The wire layer's own tests: plain values, no loop, no sockets.
        .testTarget(
            name: "KeelWireTests",
            dependencies: ["KeelWire", "KeelTestSupport"]
        ),
        // keel-kv's store and commands without sockets: structures against
        // models, expiry on a clock the test moves, commands run directly.
        .testTarget(
            name: "KeelKVTests",
            dependencies: [
                "KeelKV", "KeelWire", "KeelTestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "KeelBenchTests",
            dependencies: ["KeelBenchCore", "Keel", "KeelPosix", "KeelKV"]
        ),
        .testTarget(
            name: "KeelTests",
            dependencies: [
                "Keel", "KeelWire", "KeelPosix", "CShims", "COpenSSL", "KeelServer", "KeelTestSupport",
                "KeelCommandLine", "KeelKV", "KeelKVServer",
                "KeelExamples",
                "BroadcastServer", "EmbedExample",
                "KeelAllocationProbe", "KeelBenchCore",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Micro-benchmarks of Keel's per-message structures (ordo-one/benchmark),
// in bench/benchmarks/Benchmarks/. They reach package-access internals
// (RingBuffer, BufferPool, MessageAssembler), so they belong to this package,
// but join it only when asked for: the build and the tests never compile the
// benchmark framework. Run: KEEL_MICROBENCHMARKS=1 swift package --disable-sandbox benchmark
if Context.environment["KEEL_MICROBENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "KeelBenchmarks",
            dependencies: ["Keel", .product(name: "Benchmark", package: "benchmark")],
            path: "bench/benchmarks/Benchmarks/KeelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}
