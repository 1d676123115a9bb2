// swift-tools-version: 6.1
// A SwiftNIO echo server for Keel's frame format, kept as its own package so
// the main package's build and tests never pull in SwiftNIO.
import PackageDescription

let package = Package(
    name: "nio-echo",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        .executableTarget(
            name: "NIOEchoServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ]
        )
    ]
)
