// swift-tools-version: 6.0
import PackageDescription

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
        // System libraries: the kernel's async I/O interfaces, found through pkg-config.
        .systemLibrary(
            name: "CLibUring",
            pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]
        ),
        .systemLibrary(
            name: "CLibAIO",
            providers: [.apt(["libaio-dev"])]
        ),
        // What Swift cannot import: function-like macros, IOSQE_* bit constants,
        // CPU_SET, the CQE ring walk, and zlib for HdrHistogram's compressed encoding.
        .target(
            name: "CIOBenchShim",
            dependencies: ["CLibUring", "CLibAIO"],
            linkerSettings: [.linkedLibrary("z"), .linkedLibrary("aio"), .linkedLibrary("uring")]
        ),
        .target(
            name: "IOBenchKit",
            dependencies: [
                "CIOBenchShim",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .executableTarget(
            name: "iobench",
            dependencies: [
                "IOBenchKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Micro-benchmarks of the hot loop's pieces (make micro); timing goals live here,
        // never in tests.
        .executableTarget(
            name: "iobench-micro",
            dependencies: ["IOBenchKit"],
            path: "benchmarks/Micro"
        ),
        .testTarget(
            name: "IOBenchKitTests",
            dependencies: ["IOBenchKit"]
        ),
        .testTarget(
            name: "IOBenchIntegrationTests",
            dependencies: ["IOBenchKit"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
