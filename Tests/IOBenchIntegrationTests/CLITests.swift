import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// The command line as users meet it: exit codes, one clear line for bad input, JSON
/// that only holds JSON and whose histograms an independent implementation decodes.
final class CLITests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLI.binary), "build iobench first: \(CLI.binary)")
    }

    override func tearDown() { dir = nil }

    /// Exit 2, nothing on stdout, and exactly one line on stderr that names the problem.
    func assertBadInput(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 2, "args \(args): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line on stderr: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "'\(mentions)' in: \(r.stderr)", file: file, line: line)
    }

    func testBadInputGetsOneLineAndExit2() throws {
        let small = dir.file("small.dat")
        XCTAssertTrue(FileManager.default.createFile(atPath: small, contents: Data(repeating: 7, count: 8192)))
        try assertBadInput(["run", "--dir", "/nonexistent/dir"], mentions: "/nonexistent/dir does not exist")
        try assertBadInput(["run", "--target", small, "--size", "1m", "--engine", "psync"], mentions: "less than --size")
        try assertBadInput(["run", "--dir", dir.path, "--size", "4m", "--bs", "1000", "--engine", "psync"], mentions: "not a multiple")
        try assertBadInput(["run", "--dir", dir.path, "--iodepth", "0", "--engine", "io_uring"], mentions: "--iodepth 0")
        try assertBadInput(["run", "--dir", dir.path, "--engine", "spdk"], mentions: "unknown engine 'spdk'")
        try assertBadInput(["run", "--dir", dir.path, "--bs", "4x"], mentions: "--bs '4x'")
        try assertBadInput(["run", "--dir", dir.path, "--runtime", "soon"], mentions: "--runtime 'soon'")
        try assertBadInput(["run", "--dir", dir.path, "--engine", "psync", "--iodepth", "32"], mentions: "sync engines keep one read in flight")
        try assertBadInput(["run", "--dir", dir.path, "--format", "xml"], mentions: "'xml' is invalid for '--format")
        try assertBadInput(["run", "--dir", dir.path, "--engine", "libaio", "--fixed-buffers"], mentions: "io_uring engines only")
        try assertBadInput(["run", "--dir", dir.path, "--no-such-option"], mentions: "no-such-option")
        try assertBadInput(["run", "--dir", dir.path, "--numjobs", "many"], mentions: "many")
    }

    /// A filesystem without direct I/O (ramfs) refuses O_DIRECT at open with EINVAL.
    func testFilesystemRefusingODirectIsBadInput() throws {
        guard isRoot() else { throw XCTSkip("mounting ramfs needs root") }
        let mnt = dir.file("ramfs")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let m = sh("mount -t ramfs iobench-test-ramfs '\(mnt)'")
        guard m.status == 0 else { throw XCTSkip("cannot mount ramfs here: \(m.output)") }
        defer { sh("umount '\(mnt)'") }
        try assertBadInput(["run", "--dir", mnt, "--size", "1m", "--engine", "psync", "--no-progress"], mentions: "refuses O_DIRECT")
    }

    /// kernel.io_uring_disabled=2 is reported as bad input with the fix.
    func testIoUringDisabledBySysctl() throws {
        guard isRoot(), let old = StorageInfo.ioUringDisabled() else { throw XCTSkip("needs root and kernel.io_uring_disabled") }
        let set = sh("sysctl -q -w kernel.io_uring_disabled=2")
        guard set.status == 0 else { throw XCTSkip("cannot set kernel.io_uring_disabled: \(set.output)") }
        defer { sh("sysctl -q -w kernel.io_uring_disabled=\(old)") }
        let target = dir.file("t.dat")
        try assertBadInput(["run", "--target", target, "--size", "4m", "--engine", "io_uring", "--no-progress"], mentions: "io_uring is disabled")
        // The default suite lists io_uring as skipped instead of failing.
        let r = try CLI.run(["--target", target, "--size", "4m", "--runtime", "200ms", "--ramp-time", "0", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let skipped = r.stdout.split(separator: "\n").first { $0.hasPrefix("skipped:") && $0.contains("io_uring is disabled") }
        XCTAssertNotNil(skipped, r.stdout)
        XCTAssertTrue(skipped?.contains("io_uring 4k QD1") ?? false, r.stdout)
        XCTAssertTrue(r.stdout.contains("psync 4k QD1"), "the other engines still run")
    }

    /// Asking for polled I/O on a device without poll queues fails the run (exit 3) and says why.
    func testPolledEngineOnDeviceWithoutPollQueuesExits3() throws {
        let target = dir.file("p.dat")
        let r = try CLI.run(["run", "--target", target, "--size", "4m", "--engine", "io_uring-poll", "--runtime", "200ms", "--no-progress"])
        let t = try Target.open(TargetRequest(path: target))
        guard IoUringPollEngine.unsupportedReason(queue: t.queue, targetPath: t.path) != nil else {
            throw XCTSkip("this device has poll queues; polled I/O is supported here")
        }
        XCTAssertEqual(r.status, 3, r.stderr + r.stdout)
        XCTAssertTrue(r.stdout.contains("polled I/O is unsupported"), r.stdout)
    }

    /// The default job end to end, shortened: every engine, text report with a row each.
    func testDefaultRunReportsEveryEngine() throws {
        let r = try CLI.run(["--dir", dir.path, "--size", "16m", "--runtime", "300ms", "--ramp-time", "50ms", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for row in ["psync 4k QD1", "pvsync2 4k QD1", "libaio 4k QD1", "libaio 4k QD32", "io_uring 4k QD1", "io_uring 4k QD32"] {
            XCTAssertTrue(r.stdout.contains(row), "\(row) in\n\(r.stdout)")
        }
        XCTAssertTrue(r.stdout.contains("io_uring-poll"), "polled engine listed (run or skipped)")
        XCTAssertTrue(r.stdout.contains("CPU µs/IO"))
        // null and io_uring-nop: iobench's own overhead, on its own line, not among the rows.
        let lines = r.stdout.split(separator: "\n")
        let overhead = lines.first { $0.hasPrefix("tool overhead (iobench's own cost per I/O, no storage read): ") }
        XCTAssertTrue(overhead?.contains("null 4k QD1 ") ?? false, r.stdout)
        if StorageInfo.ioUringDisabled() ?? 0 == 0 { XCTAssertTrue(overhead?.contains("io_uring-nop 4k QD32 ") ?? false, r.stdout) }
        // Not among the engines' rows (the spread-across-repeats table below may list them).
        let table = lines.prefix { !$0.hasPrefix("tool overhead") }
        XCTAssertFalse(table.contains { $0.hasPrefix("null 4k QD1 ") || $0.hasPrefix("io_uring-nop 4k QD32 ") }, r.stdout)
        XCTAssertTrue(r.stderr.contains("creating"), "the scratch file is announced on stderr")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.file("iobench.dat")))
        // A second run reuses the scratch file: nothing created.
        let again = try CLI.run(["--dir", dir.path, "--size", "16m", "--engine", "psync", "--runtime", "100ms", "--ramp-time", "0", "--no-progress"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stderr.contains("creating"), again.stderr)
    }

    /// --format json puts only JSON on stdout; --output writes the same; every
    /// histogram decodes with the Python hdrhistogram package to the same percentiles.
    func testJSONIsPureAndHistogramsDecodeIndependently() throws {
        let out = dir.file("result.json")
        let r = try CLI.run(["run", "--dir", dir.path, "--size", "16m", "--engine", "psync,libaio,io_uring",
                             "--iodepth", "1,16", "--number-ios", "4000", "--ramp-time", "0", "--format", "json",
                             "--output", out, "--verify"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(json?["schema"] as? String, "iobench/result")
        XCTAssertEqual(json?["schema_version"] as? Int, 1)
        let fileData = try Data(contentsOf: URL(fileURLWithPath: out))
        let result = try RunResult.decode(fileData, source: out)
        XCTAssertEqual(result.cases.count, 5)
        XCTAssertNotNil(result.target, "the target is described")
        XCTAssertFalse(result.environment.kernel.isEmpty)
        for c in result.cases {
            XCTAssertEqual(c.status, .ok, c.reason ?? "")
            XCTAssertEqual(c.ios, 4000)
            XCTAssertEqual(c.errors.verifyMismatches, 0)
        }
        guard sh("python3 -c 'import hdrh'").status == 0 else {
            return XCTFail("python3 hdrhistogram is missing: run scripts/install-deps.sh test")
        }
        let script = """
        import json, sys
        from hdrh.histogram import HdrHistogram
        r = json.load(open(sys.argv[1]))
        for c in r["cases"]:
            h = HdrHistogram.decode(c["histogram"]["data"])
            vals = [h.get_value_at_percentile(p["percentile"]) for p in c["latency"]["percentiles"]]
            print(c["id"], h.get_total_count(), " ".join(str(v) for v in vals))
        """
        let py = dir.file("decode.py")
        try script.write(toFile: py, atomically: true, encoding: .utf8)
        let decoded = sh("python3 '\(py)' '\(out)'")
        XCTAssertEqual(decoded.status, 0, decoded.output)
        var lines: [String: [UInt64]] = [:]
        for l in decoded.output.split(separator: "\n") {
            let f = l.split(separator: " ")
            lines[String(f[0])] = f.dropFirst().compactMap { UInt64($0) }
        }
        for c in result.cases {
            guard let got = lines[c.id], let l = c.latency else { XCTFail("case \(c.id) not decoded"); continue }
            XCTAssertEqual(got.first, c.ios, "total count")
            for (p, v) in zip(l.percentiles, got.dropFirst()) {
                // Python reports a bucket's highest equivalent value; iobench clamps the top
                // bucket to the exact maximum. Both lie in the same 0.1%-wide bucket.
                XCTAssertEqual(Double(v), Double(p.valueNs), accuracy: Double(p.valueNs) * 0.001 + 1, "\(c.id) p\(p.percentile)")
            }
        }
    }

    func testHelpAndVersionExitZero() throws {
        let h = try CLI.run(["--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.stdout.contains("Exit codes"))
        let v = try CLI.run(["--version"])
        XCTAssertEqual(v.status, 0)
        // The version, and the commit and build date when the build recorded them (PackageTests
        // checks those against the JSON tool object and the checkout).
        XCTAssertEqual(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines), IOBenchVersion.long)
        XCTAssertTrue(v.stdout.hasPrefix(IOBenchVersion.string), v.stdout)
    }
}
