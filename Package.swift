// swift-tools-version:6.0
import PackageDescription

// Targets by concern; dependencies point one way, from the leaves to the executable:
// BatonCore <- BatonRules <- BatonConfig <- BatonBalancing/BatonObservability <- BatonProxy <- baton.
// BatonRules compiles and evaluates HAProxy's rules (fetches, converters, ACLs, actions,
// log-format) against a request view; the parser builds them into the configuration model.
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
        // PCRE2 from the system (apt: libpcre2-dev), the regular expression dialect and engine
        // HAProxy uses, with its JIT.
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        // crypt(3) for userlist passwords (libcrypt-dev, part of every C toolchain install).
        .systemLibrary(name: "CCrypt"),
        .target(name: "BatonRules", dependencies: ["BatonCore", "CPCRE2", "CCrypt"], swiftSettings: hotPathSettings),
        .target(name: "BatonConfig", dependencies: ["BatonCore", "BatonRules"]),
        .target(name: "BatonHTTP1", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: hotPathSettings),
        .target(name: "BatonBalancing", dependencies: ["BatonCore", "BatonConfig"]),
        .target(name: "BatonObservability", dependencies: ["BatonCore", "BatonConfig", "BatonRules"]),
        .target(name: "BatonProxy", dependencies: [
            "BatonCore", "BatonConfig", "BatonRules", "BatonHTTP1", "BatonBalancing", "BatonObservability",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: hotPathSettings),
        .executableTarget(name: "baton", dependencies: [
            "BatonCore", "BatonConfig", "BatonProxy", "BatonObservability",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "BatonCoreTests", dependencies: ["BatonCore"]),
        .testTarget(name: "BatonConfigTests", dependencies: ["BatonConfig", "BatonCore", "BatonRules"]),
        .testTarget(name: "BatonRulesTests", dependencies: ["BatonRules", "BatonCore"]),
        .testTarget(name: "BatonHTTP1Tests", dependencies: [
            "BatonHTTP1", .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "BatonBalancingTests", dependencies: ["BatonBalancing", "BatonConfig"]),
        .testTarget(name: "BatonProxyTests", dependencies: [
            "BatonProxy", "BatonConfig", "BatonHTTP1", "BatonRules",
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
