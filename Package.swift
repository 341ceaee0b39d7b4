// swift-tools-version: 6.2
// Kumo: a private cloud in one binary. `ls Sources/` is the architecture; see ../shared/DESIGN.md.
import PackageDescription

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "kumo",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kumo", targets: ["kumo"]),
        .executable(name: "kumo-bench", targets: ["kumo-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        // a typed client generated from /openapi.json, compiled and used in a test (KumoServerTests)
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client", from: "1.5.0"),
    ],
    targets: [
        // Resource types, validation, quantities, selectors, JSON values and patches. No I/O.
        .target(name: "KumoModel", swiftSettings: swiftSettings),
        // Revisioned key/value store with compare-and-swap and watch (etcd semantics); SQLite implementation.
        .target(
            name: "KumoStore",
            dependencies: [
                "KumoModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // Pure placement: feasibility checkers → rankers → choice + explanation. No I/O.
        .target(name: "KumoScheduler", dependencies: ["KumoModel"], swiftSettings: swiftSettings),
        // kumo doctor's pure core: health checks with stable codes over a snapshot, the component graph, cause ranking
        .target(name: "KumoDoctor", dependencies: ["KumoModel"], swiftSettings: swiftSettings),
        // Typed informer caches: list + watch + relist of one kind as `Object<Spec>` values with indexes, over any
        // `ObjectSource` (the server's control plane in process, the API over HTTP). For controllers and the agent.
        .target(
            name: "KumoInformers",
            dependencies: ["KumoModel", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        // Reconcile loops: pure decision cores (Workloads/, Nodes/) and the loops that run them (Runtime/).
        .target(
            name: "KumoControllers",
            dependencies: [
                "KumoModel", "KumoScheduler", "KumoInformers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        // Host seams: running programs from argv arrays (never a shell).
        .target(
            name: "KumoSystem",
            dependencies: [
                "KumoModel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        // Image building: layers written with tar and gzip, configs and manifests, OCI image layouts read to push.
        .target(name: "KumoImages", dependencies: ["KumoModel", "KumoSystem"], swiftSettings: swiftSettings),
        // Wire types, routes and the HTTP client used by the CLI and (later) the agent.
        .target(
            name: "KumoAPI",
            dependencies: [
                "KumoModel", "KumoInformers",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        // The API server: routes, auth, field ownership, history, watch, observability.
        .target(
            name: "KumoServer",
            dependencies: [
                "KumoModel", "KumoStore", "KumoAPI", "KumoScheduler", "KumoControllers", "KumoSystem", "KumoDoctor",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings),
        // The node agent: registration, heartbeat, replicas on runc, images, node networking, logs, probes.
        .target(
            name: "KumoAgent",
            dependencies: [
                "KumoModel", "KumoAPI", "KumoSystem", "KumoInformers", "KumoDoctor",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        // What every test suite shares: one `eventually`, the fixtures, the simulated (fake) agents for scale runs.
        .target(name: "KumoTestSupport", dependencies: ["KumoModel", "KumoAPI"], swiftSettings: swiftSettings),
        // Local clouds in network namespaces (server and agent processes) for the end-to-end tests, the benchmarks
        // and `make run`.
        .target(
            name: "KumoTestbed",
            dependencies: [
                "KumoModel", "KumoAPI", "KumoSystem", "KumoTestSupport", "KumoAgent",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings),
        // Command line: parse → KumoAPI → print.
        .target(
            name: "KumoCLI",
            dependencies: [
                "KumoModel", "KumoAPI", "KumoServer", "KumoAgent", "KumoSystem", "KumoImages", "KumoDoctor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(name: "kumo", dependencies: ["KumoCLI"], swiftSettings: swiftSettings),
        // `make run` / `make stop`: the local cloud of the README, built by the same testbed code as the E2E tests.
        .executableTarget(
            name: "kumo-local",
            dependencies: [
                "KumoTestbed", "KumoSystem", "KumoAPI", "KumoModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "kumo-bench",
            dependencies: [
                "KumoModel", "KumoStore", "KumoAPI", "KumoServer", "KumoScheduler", "KumoTestbed", "KumoTestSupport", "KumoAgent", "KumoSystem", "KumoDoctor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "KumoModelTests", dependencies: ["KumoModel", "KumoTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KumoControllersTests", dependencies: ["KumoControllers", "KumoModel", "KumoScheduler", "KumoTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "KumoDoctorTests", dependencies: ["KumoDoctor", "KumoModel", "KumoTestSupport"], exclude: ["Golden"],
            swiftSettings: swiftSettings),
        .testTarget(name: "KumoSchedulerTests", dependencies: ["KumoScheduler", "KumoModel", "KumoTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KumoStoreTests", dependencies: ["KumoStore", "KumoModel", "KumoTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "KumoServerTests",
            dependencies: [
                "KumoServer", "KumoAPI", "KumoModel", "KumoStore", "KumoCLI", "KumoAgent", "KumoSystem", "KumoImages",
                "KumoTestSupport", "KumoInformers",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
            ],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]),
        .testTarget(
            name: "KumoAgentTests",
            dependencies: [
                "KumoAgent", "KumoSystem", "KumoImages", "KumoAPI", "KumoModel", "KumoTestSupport",
                .product(name: "Logging", package: "swift-log")],
            exclude: ["Golden"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "E2ETests",
            dependencies: [
                "KumoAPI", "KumoModel", "KumoServer", "KumoTestbed", "KumoTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: swiftSettings),
    ]
)
