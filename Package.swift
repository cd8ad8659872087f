// swift-tools-version:6.1
// Hearth: train, evaluate and serve language models on donated GPU nodes, coordinated through PostgreSQL.
import PackageDescription

/// Settings applied to every Swift target (Swift 6 language mode is the default for tools 6.x).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "hearth",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hearthd", targets: ["hearthd"]),
        .executable(name: "hearth", targets: ["hearth"]),
        .executable(name: "hearth-report", targets: ["hearth-report"]),
        .executable(name: "hearth-worker", targets: ["hearth-worker"]),
        .executable(name: "hearth-sim", targets: ["hearth-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // MARK: System libraries (Debian packages named in `providers`)
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // MARK: Foundation: domain values, child processes and the PostgreSQL store
        .target(name: "HearthCore", swiftSettings: swiftSettings),
        .target(name: "CSpawn"),
        .target(name: "HearthProcess", dependencies: ["CSpawn"], swiftSettings: swiftSettings),
        .target(
            name: "HearthStore",
            dependencies: [
                "HearthCore", "CLibPQ", "HearthProcess",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Fleet artifacts: content-addressed blobs in PostgreSQL, the catalog, the node cache
        .target(
            name: "HearthArtifacts",
            dependencies: ["HearthStore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // MARK: Usage reports: table, CSV, JSON and HTML+SVG rendering (strings only, no I/O)
        .target(name: "HearthReports", dependencies: ["HearthCore"], swiftSettings: swiftSettings),

        // MARK: The API's request and response types (no sockets), shared by daemon and CLI
        .target(name: "HearthAPI", dependencies: ["HearthCore"], swiftSettings: swiftSettings),

        // MARK: The client side of the control socket (CLI and tests)
        .target(name: "HearthClient", swiftSettings: swiftSettings),

        // MARK: systemd: sd_notify, socket activation, journald log handler (libsystemd)
        .target(
            name: "HearthSystemd",
            dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),

        // MARK: The daemon's parts: database set-up, agent, leader, control socket
        .target(
            name: "HearthDaemon",
            dependencies: [
                "HearthCore", "HearthStore", "HearthProcess", "HearthAPI", "HearthClient", "HearthSystemd", "HearthReports", "HearthScheduler",
                "HearthArtifacts",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Test fixtures: a real PostgreSQL (embedded or HEARTH_TEST_DATABASE_URL) per test
        .target(name: "HearthTesting", dependencies: ["HearthCore", "HearthStore", "HearthProcess", "HearthClient"], swiftSettings: swiftSettings),

        // MARK: Scheduler: a pure function from a snapshot to decisions (no I/O)
        // Optimised even in debug builds: its property tests simulate weeks of fleet time.
        .target(
            name: "HearthScheduler", dependencies: ["HearthCore"],
            swiftSettings: swiftSettings + [.unsafeFlags(["-O"])]
        ),
        // Fleet simulator and scheduling benchmark (`hearth-sim simulate`, `hearth-sim bench`).
        .executableTarget(
            name: "hearth-sim",
            dependencies: [
                "HearthScheduler", "HearthCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Trainer (GPT on CPU through OpenBLAS), run by the daemon as `hearth-worker`
        // The CUDA libraries, opened with dlopen at run time (no CUDA needed to build or to run on CPU).
        .target(name: "CCUDA", linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "Trainer",
            dependencies: ["COpenBLAS", "CCUDA", .product(name: "Crypto", package: "swift-crypto")],
            // Optimised even in debug builds: the kernels are too slow unoptimised for the tests.
            swiftSettings: swiftSettings + [.unsafeFlags(["-Ounchecked"])]
        ),

        // MARK: Evaluation tasks (perplexity, multiple choice, LAMBADA, CrowS-Pairs, StereoSet) on the Trainer's scorer
        .target(name: "HearthEval", dependencies: ["Trainer"], swiftSettings: swiftSettings),
        // MARK: Serving: an OpenAI-compatible HTTP API over a checkpoint (`hearth-worker serve`)
        .target(
            name: "HearthServe",
            dependencies: [
                "Trainer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Executables (thin: parse flags, bootstrap logging, call into libraries)
        .executableTarget(
            name: "hearthd",
            dependencies: [
                "HearthCore", "HearthStore", "HearthDaemon", "HearthProcess", "HearthScheduler", "HearthSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The CLI imports FoundationEssentials only (no ICU) and is built as one static executable
        // for release (./build-cli), so it starts in about a millisecond; reports (time zones) live
        // in hearth-report.
        .executableTarget(
            name: "hearth",
            dependencies: [
                "HearthAPI", "HearthClient", "HearthCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hearth-report",
            dependencies: [
                "HearthAPI", "HearthClient", "HearthCore", "HearthReports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hearth-worker",
            dependencies: [
                "Trainer", "HearthEval", "HearthServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Benchmarks (run with ./bench NAME; results in Docs/BENCHMARKS.md)
        .executableTarget(
            name: "bench-store", dependencies: ["HearthCore", "HearthStore", "HearthProcess"], swiftSettings: swiftSettings),
        .executableTarget(name: "bench-report", dependencies: ["HearthCore", "HearthStore"], swiftSettings: swiftSettings),
        .executableTarget(name: "bench-artifacts", dependencies: ["HearthArtifacts", "HearthStore", "HearthProcess"], swiftSettings: swiftSettings),
        .executableTarget(name: "bench-isolation", dependencies: ["HearthDaemon", "HearthProcess"], swiftSettings: swiftSettings),

        // MARK: Tests
        .testTarget(name: "HearthCoreTests", dependencies: ["HearthCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HearthReportsTests", dependencies: ["HearthReports", "HearthCore", "HearthProcess"], exclude: ["png_colours.py"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HearthStoreTests",
            dependencies: ["HearthStore", "HearthCore", "HearthTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HearthArtifactsTests",
            dependencies: ["HearthArtifacts", "HearthStore", "HearthTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HearthDaemonTests",
            dependencies: ["HearthDaemon", "HearthStore", "HearthCore", "HearthProcess", "HearthTesting", "HearthAPI", "HearthClient",
                           "HearthScheduler", "HearthArtifacts", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HearthSystemdTests",
            dependencies: ["HearthSystemd", "HearthProcess", "HearthTesting", "HearthClient", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HearthSchedulerTests", dependencies: ["HearthScheduler", "HearthCore"], swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HearthServeTests",
            dependencies: [
                "HearthServe", "Trainer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TrainerTests", dependencies: ["Trainer"], exclude: ["parity_jax.py"], swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HearthEvalTests", dependencies: ["HearthEval", "Trainer"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
