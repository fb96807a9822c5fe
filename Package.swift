// swift-tools-version:6.0
import PackageDescription

// Targets by concern; dependencies point one way, from the leaves to the executable:
// BatonCore <- BatonConfig <- BatonBalancing/BatonObservability <- BatonProxy <- baton.
// BatonHTTP1 is a pure codec (NIOCore only) used by BatonProxy.

/// Release builds of the request path skip dynamic exclusivity checks (a few percent of CPU per
/// request); debug builds, which the tests run, keep them.
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Baton",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "baton", targets: ["baton"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "BatonCore"),
        .target(name: "BatonConfig", dependencies: ["BatonCore"]),
        .target(name: "BatonHTTP1", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: hotPathSettings),
        .target(name: "BatonBalancing", dependencies: ["BatonCore", "BatonConfig"]),
        .target(name: "BatonObservability", dependencies: ["BatonCore", "BatonConfig"]),
        .target(name: "BatonProxy", dependencies: [
            "BatonCore", "BatonConfig", "BatonHTTP1", "BatonBalancing", "BatonObservability",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: hotPathSettings),
        .executableTarget(name: "baton", dependencies: [
            "BatonCore", "BatonConfig", "BatonProxy", "BatonObservability",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "BatonCoreTests", dependencies: ["BatonCore"]),
        .testTarget(name: "BatonConfigTests", dependencies: ["BatonConfig", "BatonCore"]),
        .testTarget(name: "BatonHTTP1Tests", dependencies: [
            "BatonHTTP1", .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "BatonBalancingTests", dependencies: ["BatonBalancing", "BatonConfig"]),
        .testTarget(name: "BatonProxyTests", dependencies: [
            "BatonProxy", "BatonConfig", "BatonHTTP1",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "BatonObservabilityTests", dependencies: ["BatonObservability", "BatonConfig"]),
        // Runs the real `baton` binary as a child process against real servers on loopback.
        .testTarget(name: "BatonIntegrationTests", dependencies: [
            "baton",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
