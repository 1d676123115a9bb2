// swift-tools-version: 6.1
// An application of its own that embeds Keel, as a user's service would: a
// separate package depending on Keel by path, with its handler in its own
// module. bench/instructions.sh and bench/compare.sh measure it beside
// Keel's built-in echo fast path, to show what a real service pays.
import PackageDescription

let package = Package(
    name: "keel-app",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "keel", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "KeelApp",
            dependencies: [.product(name: "Keel", package: "keel")]
        )
    ],
    swiftLanguageModes: [.v6]
)
