// swift-tools-version: 6.3
// Micro-benchmarks of Keel's per-message structures with ordo-one/benchmark:
// wall clock, CPU and malloc counts per operation. A separate package, so the
// main package's build and tests never compile the benchmark framework.
//
// Run from this folder:  swift package --disable-sandbox benchmark
import PackageDescription

let package = Package(
    name: "keel-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "keel", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "KeelBenchmarks",
            dependencies: [
                .product(name: "Keel", package: "keel"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/KeelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
