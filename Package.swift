// swift-tools-version: 6.0
import PackageDescription

// iobench's layers, lowest first. Each is its own target, so a file can only use what
// lies below it: an import against the direction does not compile (SwiftPM rejects the
// cycle, and `make test` builds with --explicit-target-dependency-import-check=error so an
// undeclared import of a lower layer's module fails too). docs/design.md draws them.
//
//   CIOBenchShim        what Swift cannot import from C (macros, liburing inlines, zlib)
//   IOBenchPlatform     errors, clock, aligned buffers, limits, signals, stderr/stdout
//   IOBenchHistogram    LatencyHistogram, the HdrHistogram V2 codec, interval histograms
//   IOBenchWorkload     targets, extent maps, layouts, class plans, offsets, the stamp
//   IOBenchEngines      one engine per file behind IOEngine (prepare, commit, reap), and
//                       the job loop that drives them: one module, so the loop is
//                       specialised per engine with every per-read call inlined
//   IOBenchMeasurement  case specs, the case runner, path tracing and verification
//   IOBenchResults      the result schema, totals, repeats, merge, compare, the gate
//   IOBenchReports      text, Markdown, HTML, CSV, JUnit, hgrm, interval logs, plots
//   IOBenchKit          the library API: run a suite, the lab (re-exports every layer)
//   iobench             the command line: parses arguments and prints, nothing else
let layers: [(name: String, dependencies: [Target.Dependency])] = [
    ("IOBenchPlatform", ["CIOBenchShim", .product(name: "Atomics", package: "swift-atomics")]),
    ("IOBenchHistogram", ["IOBenchPlatform", "CIOBenchShim", .product(name: "Histogram", package: "hdrhistogram-swift")]),
    ("IOBenchWorkload", ["IOBenchPlatform", "CIOBenchShim"]),
    ("IOBenchEngines", ["IOBenchWorkload", "IOBenchHistogram", "IOBenchPlatform", "CIOBenchShim",
                        .product(name: "Atomics", package: "swift-atomics")]),
    ("IOBenchMeasurement", ["IOBenchWorkload", "IOBenchEngines", "IOBenchHistogram", "IOBenchPlatform", "CIOBenchShim",
                            .product(name: "Atomics", package: "swift-atomics")]),
    ("IOBenchResults", ["IOBenchMeasurement", "IOBenchWorkload", "IOBenchEngines", "IOBenchHistogram", "IOBenchPlatform",
                        .product(name: "Histogram", package: "hdrhistogram-swift")]),
    ("IOBenchReports", ["IOBenchResults", "IOBenchMeasurement", "IOBenchWorkload", "IOBenchEngines", "IOBenchHistogram",
                        "IOBenchPlatform", .product(name: "Histogram", package: "hdrhistogram-swift")]),
    ("IOBenchKit", ["IOBenchReports", "IOBenchResults", "IOBenchMeasurement", "IOBenchWorkload", "IOBenchEngines",
                    "IOBenchHistogram", "IOBenchPlatform", "CIOBenchShim", .product(name: "Atomics", package: "swift-atomics")]),
]

let package = Package(
    name: "iobench",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "iobench", targets: ["iobench"]),
        .library(name: "IOBenchKit", targets: ["IOBenchKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
    ],
    targets: [
        // What Swift cannot import: function-like macros, IOSQE_* bit constants, CPU_SET,
        // liburing's inline functions and the CQE ring walk, zlib for HdrHistogram's
        // compressed encoding. It links liburing, libaio and zlib, once each.
        .target(
            name: "CIOBenchShim",
            linkerSettings: [.linkedLibrary("z"), .linkedLibrary("aio"), .linkedLibrary("uring")]
        ),
    ] + layers.map { .target(name: $0.name, dependencies: $0.dependencies) } + [
        // Every layer is a direct dependency (IOBenchKit re-exports them): the build then
        // recompiles the command line when a lower layer changes, not only IOBenchKit.
        .executableTarget(
            name: "iobench",
            dependencies: layers.map { .target(name: $0.name) } + [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Micro-benchmarks of the hot loop's pieces (make micro); timing goals live here,
        // never in tests.
        .executableTarget(
            name: "iobench-micro",
            dependencies: layers.map { .target(name: $0.name) },
            path: "benchmarks/Micro"
        ),
        // Tests reach into every layer (@testable), so they depend on each.
        .testTarget(
            name: "IOBenchKitTests",
            dependencies: layers.map { .target(name: $0.name) }
        ),
        .testTarget(
            name: "IOBenchIntegrationTests",
            dependencies: layers.map { .target(name: $0.name) } + ["CIOBenchShim"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
