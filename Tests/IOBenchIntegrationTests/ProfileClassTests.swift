import Foundation
import XCTest
@testable import IOBenchResults
@testable import IOBenchReports
@testable import IOBenchMeasurement

/// Issue 15's checks on real filesystems (XFS and ext4 on loop devices, root only): on a
/// file iobench fragmented itself, a multi-extent read (2 mappings, counted by the
/// kernel's own trace) spends more CPU per read than a simple one (1 mapping) in the
/// iomap layer, in iomap_iter and the filesystem's mapping functions, and the
/// difference table names them.
final class ProfileClassTests: XCTestCase {
    static let mappingFunctions = ["iomap_iter", "iomap_dio_bio_iter", "xfs_bmapi_read", "xfs_read_iomap_begin",
                                   "xfs_iext_lookup_extent", "ext4_map_blocks", "ext4_iomap_begin", "ext4_es_lookup_extent"]

    func canProfile() -> Bool { getuid() == 0 }

    /// The image in memory where there is a /dev/shm: the disk's own noise stays out.
    static var imageDirectory: String? { FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : nil }

    /// Runs simple vs multi-extent:8k with --verify-path and --profile; returns the
    /// result, its text report and the multi-extent vs simple difference.
    func profiledClasses(on fs: LoopFilesystem, engine: [String], runtime: String, repeats: Int = 5) throws -> (RunResult, String, ProfileDifference) {
        let file = fs.file("frag.dat")
        if !FileManager.default.fileExists(atPath: file) {
            let prep = try CLI.run(["prepare", file, "--size", "128m", "--layout", "fragmented:16k"])
            XCTAssertEqual(prep.status, 0, prep.stderr)
        }
        let json = fs.root + "/r-\(engine.joined()).json"
        let r = try CLI.run(["run", "--target", file, "--class", "simple,multi-extent:8k", "--verify-path", "--profile",
                             "--runtime", runtime, "--ramp-time", "200ms", "--repeat", "\(repeats)", "--no-progress", "-o", json] + engine)
        XCTAssertEqual(r.status, 0, r.stderr)
        let result = try RunResult.decode(try Data(contentsOf: URL(fileURLWithPath: json)), source: json)
        let d = try XCTUnwrap(ProfileDifference.pairs(result).first { $0.caseLabel.hasSuffix("multi-extent") }, r.stdout)
        XCTAssertFalse(d.likeForLike, "against simple: single-extent was not run")
        XCTAssertEqual(d.rounds, repeats, "rounds paired")
        // The kernel counted 1 mapping per simple read and 2 per multi-extent one.
        for c in result.cases {
            let v = try XCTUnwrap(c.pathVerification, "\(c.label): no path trace")
            let mappings = try XCTUnwrap(v.counts.mappingsPerRead, "\(c.label): \(v.note ?? "no count")")
            XCTAssertEqual(mappings, c.config.pathClass == .simple ? 1 : 2, accuracy: 0.01, c.label)
        }
        return (result, r.stdout, d)
    }

    func checkIoUring(_ type: String) throws {
        guard canProfile() else { throw XCTSkip("loop devices, tracefs and perf events need root") }
        let fs = try LoopFilesystem(type: type, imageDirectory: Self.imageDirectory)
        addTeardownBlock { fs.cleanup() }
        let (_, text, d) = try profiledClasses(on: fs, engine: ["--engine", "io_uring", "--iodepth", "32"], runtime: "1s")
        let iomap = try XCTUnwrap(d.layers.first { $0.name == "VFS and iomap" })
        XCTAssertGreaterThan(iomap.delta, 0, "\(type): the iomap layer costs more per multi-extent read\n\(text)")
        XCTAssertTrue(iomap.resolved, "\(type): beyond the 95% interval over 5 paired rounds: \(iomap)\n\(text)")
        let named = (d.selfFunctions + d.inclusiveFunctions).filter { Self.mappingFunctions.contains($0.name) && $0.delta > 0 }
        XCTAssertFalse(named.isEmpty, "\(type): the table names iomap_iter or a mapping function\n\(text)")
        for row in named {
            XCTAssertNotNil(text.range(of: "\n\(row.name) +(self|incl\\.) ", options: .regularExpression), "\(row.name) in the text table")
        }
    }

    func testXFSMultiExtentCostsMoreInIomapIoUring() throws { try checkIoUring("xfs") }

    func testExt4MultiExtentCostsMoreInIomapIoUring() throws { try checkIoUring("ext4") }

    /// psync QD1: each read sleeps on the device, so the iomap share is small and the
    /// run-to-run noise of the VM large; the filesystem and iomap layers together still
    /// cost more per multi-extent read.
    func testExt4MultiExtentCostsMoreInIomapPsync() throws {
        guard canProfile() else { throw XCTSkip("loop devices, tracefs and perf events need root") }
        let fs = try LoopFilesystem(type: "ext4", imageDirectory: Self.imageDirectory)
        addTeardownBlock { fs.cleanup() }
        let (_, text, d) = try profiledClasses(on: fs, engine: ["--engine", "psync"], runtime: "1s")
        let mapping = d.layers.filter { $0.name == "VFS and iomap" || $0.name == "filesystem" }.map(\.delta).reduce(0, +)
        XCTAssertGreaterThan(mapping, 0, "VFS and iomap + filesystem per read\n\(text)")
    }
}
