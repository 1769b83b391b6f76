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

/// iobench's JSON outputs against the JSON Schemas in docs/schema/ (draft 2020-12), checked
/// by scripts/validate-json.py with `--strict`: every document the real binary writes must be
/// valid, and every field it holds must be declared in its schema, so a field that is written
/// but not documented fails here. Also docs/json-schema.md's examples, and broken documents,
/// which must fail (so these tests cannot pass vacuously).
final class SchemaTests: XCTestCase {
    /// The repository: three levels up from this file (Tests/IOBenchIntegrationTests/SchemaTests.swift).
    static let repo = repositoryRoot
    static let validator = repo + "/scripts/validate-json.py"
    static func schema(_ name: String) -> String { repo + "/docs/schema/\(name).schema.json" }

    var dir: ScratchDirectory!

    override func setUpWithError() throws {
        guard sh("python3 -c 'import jsonschema'").status == 0 else {
            XCTFail("python3 jsonschema is missing: run scripts/install-deps.sh test")
            throw XCTSkip("no python3 jsonschema")
        }
        dir = try ScratchDirectory()
    }

    override func tearDown() { dir = nil }

    /// Short cases: a 16 MiB target, a fixed number of reads, no ramp.
    let quick = ["--size", "16m", "--number-ios", "1000", "--ramp-time", "0", "--no-progress"]
    /// Short timed cases, for the open loop.
    let timed = ["--size", "16m", "--runtime", "300ms", "--ramp-time", "0", "--no-progress"]
    var target: String { dir.file("t.dat") }

    static func quoted(_ args: [String]) -> String {
        args.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    }

    /// Runs `iobench ARGS --format json`, expecting an exit status in `statuses`, and saves its
    /// stdout (the JSON document) as NAME.json in the scratch directory.
    func output(_ name: String, _ args: [String], statuses: Set<Int32> = [0],
                file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try CLI.run(args + ["--format", "json"])
        XCTAssertTrue(statuses.contains(r.status), "iobench \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)",
                      file: file, line: line)
        let path = dir.file(name + ".json")
        try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `python3 scripts/validate-json.py ARGS`: its exit status and output.
    func validate(_ args: [String]) -> (status: Int32, output: String) {
        sh("python3 " + Self.quoted([Self.validator] + args))
    }

    /// Every document valid against docs/schema/NAME.schema.json, with every field declared.
    func assertValid(_ name: String, _ documents: [String], file: StaticString = #filePath, line: UInt = #line) {
        let r = validate(["--strict", Self.schema(name)] + documents)
        XCTAssertEqual(r.status, 0, "\(name).schema.json: \(r.output)", file: file, line: line)
        XCTAssertTrue(r.output.contains("\(documents.count) of \(documents.count) documents valid"), r.output,
                      file: file, line: line)
    }

    func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func cases(_ path: String) throws -> [[String: Any]] { try json(path)["cases"] as? [[String: Any]] ?? [] }

    func write(_ object: [String: Any], _ name: String) throws -> String {
        let path = dir.file(name)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: - iobench run

    func testRunOutputsMatchTheResultSchema() throws {
        let engines = try output("engines", ["run", "--target", target, "--engine", "psync,io_uring,libaio",
                                             "--iodepth", "1,4"] + quick)
        let options = try output("options", ["run", "--target", target, "--engine", "io_uring,io_uring-nop,null",
                                             "--iodepth", "8", "--fixed-buffers", "--registered-files", "--submit-batch", "4",
                                             "--complete-batch", "2", "--numjobs", "2", "--latency-sample", "4"] + quick)
        let sync = try output("sync", ["run", "--target", target, "--engine", "pvsync2", "--hipri", "--no-latency",
                                       "--clock", "monotonic", "--verify", "--continue-on-error", "--rw", "read",
                                       "--bs", "8k", "--cpus", "0"] + quick, statuses: [0, 2, 3])
        // Where CPU 0 is not ours or RWF_HIPRI is refused, that case fails (exit 2 or 3) and is
        // still a result. Polled reads fail where the device has no poll queues (exit 3).
        let poll = try output("poll", ["run", "--target", target, "--engine", "io_uring-poll", "--iodepth", "4"] + quick,
                              statuses: [0, 3])
        let targets = try output("targets", ["run", "--target", "a=" + dir.file("a.dat"), "--target", "b=" + dir.file("b.dat"),
                                             "--engine", "psync"] + quick)
        // Open loop: 500k/s saturates (saturated_reason); with repeats each round has its own.
        let openLoop = try output("open-loop", ["run", "--target", target, "--engine", "io_uring", "--iodepth", "4",
                                                "--rate-iops", "2000,500k", "--arrival", "poisson", "--repeat", "2"] + timed)
        let load = try output("load", ["run", "--target", target, "--engine", "psync", "--load", "50%"] + timed)
        assertValid("result", [engines, options, sync, poll, targets, openLoop, load])

        // The runs wrote the optional parts the schema describes, so they were checked.
        XCTAssertTrue(try cases(engines).contains { $0["ring"] != nil }, "io_uring cases carry ring")
        XCTAssertEqual((try cases(options).first?["jobs"] as? [Any])?.count, 2, "--numjobs 2")
        XCTAssertNotNil(try json(targets)["targets"], "a run of two targets lists them")
        XCTAssertTrue(try cases(targets).allSatisfy { $0["target_key"] is String })
        let ol = try cases(openLoop)
        XCTAssertTrue(ol.contains { ($0["open_loop"] as? [String: Any])?["saturated_reason"] is String }, "500k/s saturates")
        XCTAssertTrue(ol.contains { (($0["repeats"] as? [[String: Any]])?.first?["open_loop"]) != nil }, "repeats keep theirs")
        XCTAssertTrue(try cases(load).contains { ($0["config"] as? [String: Any])?["load_percent"] != nil }, "--load")
    }

    // MARK: - --repeat, iobench merge, iobench compare

    func testRepeatMergeAndCompareOutputsMatchTheirSchemas() throws {
        let run = ["run", "--target", target, "--engine", "psync,io_uring", "--iodepth", "4", "--repeat", "3"] + quick
        let base = try output("base", run)
        let new = try output("new", run + ["--seed", "7"])
        let mergedFile = dir.file("merged-out.json")
        let merged = try output("merged", ["merge", base, new, "-o", mergedFile])
        assertValid("result", [base, new, merged, mergedFile])
        XCTAssertNotNil(try cases(base).first?["spread"], "--repeat 3 gives a spread")
        XCTAssertNotNil(try json(merged)["merged_from"])
        XCTAssertEqual((try cases(merged).first?["sources"] as? [Any])?.count, 2)

        // A pass: thresholds far beyond any drift, so no verdict can be a regression.
        let wide = ["iops=-90%", "mean=+900%", "p50=+900%", "p99=+900%", "p99.9=+900%", "cpu=+900%"].flatMap { ["--threshold", $0] }
        let compareFile = dir.file("compare-out.json")
        let pass = try output("compare-pass", ["compare", base, new, "--output", compareFile] + wide)
        XCTAssertEqual(try json(pass)["exit_code"] as? Int, 0)
        let paired = try output("compare-paired", ["compare", "--paired", merged, merged] + wide)

        // A regression: NEW's first case had an I/O error (a failure) and its last case is missing.
        var doctored = try json(new)
        var newCases = try XCTUnwrap(doctored["cases"] as? [[String: Any]])
        var errors = try XCTUnwrap(newCases[0]["errors"] as? [String: Any])
        errors["io_errors"] = 1
        errors["first_error"] = "read at offset 4096 failed: EIO (doctored)"
        newCases[0]["errors"] = errors
        newCases.removeLast()
        doctored["cases"] = newCases
        let regression = try output("compare-regression", ["compare", base, try write(doctored, "doctored.json")], statuses: [1])
        let judged = try json(regression)
        XCTAssertEqual(judged["exit_code"] as? Int, 1)
        XCTAssertEqual(judged["regressions"] as? Int, 1)
        XCTAssertEqual((judged["missing_in_new"] as? [Any])?.count, 1)
        XCTAssertTrue((judged["cases"] as? [[String: Any]])?.first?["failure"] is String)
        assertValid("compare", [pass, compareFile, paired, regression])
    }

    // MARK: - Path classes, --profile, iobench inspect and prepare

    func testPathClassProfileInspectAndPrepareOutputsMatchTheirSchemas() throws {
        let mixed = dir.file("mixed.dat")
        let made = try CLI.run(["prepare", mixed, "--size", "32m", "--layout", "mixed:16k", "--format", "json"])
        if made.status != 0, made.stderr.contains("extents") {
            throw XCTSkip("path classes need FIEMAP (ext4, xfs, btrfs), which \(dir.path) lacks: \(made.stderr)")
        }
        XCTAssertEqual(made.status, 0, made.stderr)
        let prepared = dir.file("prepare-mixed.json")
        try made.stdout.write(toFile: prepared, atomically: true, encoding: .utf8)
        let contiguous = try output("prepare-contiguous", ["prepare", dir.file("c.dat"), "--size", "8m"])
        let unwritten = try output("prepare-unwritten", ["prepare", dir.file("u.dat"), "--size", "8m", "--layout", "unwritten"])
        assertValid("prepare", [prepared, contiguous, unwritten])
        let inspected = try output("inspect", ["inspect", mixed, "--bs", "4k,8k,64k"])
        assertValid("inspect", [inspected])
        XCTAssertFalse((try json(inspected)["classes"] as? [Any] ?? []).isEmpty)

        // Classes on the prepared file, two rounds (class comparisons with intervals), traced
        // where the kernel can be (path_verification).
        let traced = isRoot() && PathTracer.unavailableReason() == nil
        let classes = try output("classes", ["run", "--target", mixed, "--engine", "psync",
                                             "--class", "simple,single-extent:8k,multi-extent:8k,unwritten", "--repeat", "2",
                                             "--number-ios", "500", "--ramp-time", "0", "--no-progress"]
                                            + (traced ? ["--verify-path"] : []))
        var results = [classes]
        XCTAssertFalse((try json(classes)["class_comparisons"] as? [Any] ?? []).isEmpty, "class comparisons")
        XCTAssertTrue(try cases(classes).allSatisfy { $0["plan"] != nil })
        if traced { XCTAssertTrue(try cases(classes).allSatisfy { $0["path_verification"] != nil }) }

        if isRoot() {
            let profiled = try output("profile", ["run", "--target", target, "--engine", "psync,io_uring", "--iodepth", "4",
                                                  "--profile", "--profile-freq", "999", "--repeat", "2"] + quick)
            XCTAssertTrue(try cases(profiled).allSatisfy { $0["profile"] != nil })
            // One read: the case ends before it can be sampled (profile_note).
            let note = try output("profile-note", ["run", "--target", target, "--engine", "null", "--profile", "--size", "16m",
                                                   "--number-ios", "1", "--ramp-time", "0", "--no-progress"])
            results += [profiled, note]
        }
        assertValid("result", results)
    }

    // MARK: - iobench lab

    func testLabOutputMatchesTheResultSchema() throws {
        guard isRoot(), FileManager.default.fileExists(atPath: "/dev/loop-control"),
              sh("command -v mkfs.ext4 || test -x /usr/sbin/mkfs.ext4 || test -x /sbin/mkfs.ext4").status == 0
        else { throw XCTSkip("iobench lab needs root, the loop driver and mkfs.ext4") }
        let labDir = dir.file("lab")
        try FileManager.default.createDirectory(atPath: labDir, withIntermediateDirectories: true)
        defer { _ = try? CLI.run(["lab", "--cleanup", "--dir", labDir]) }
        let lab = try output("lab", ["lab", "--dir", labDir, "--filesystems", "ext4", "--engine", "psync", "--rounds", "2",
                                     "--runtime", "100ms", "--ramp-time", "0", "--size", "256m", "--no-progress"])
        assertValid("result", [lab])
        XCTAssertNotNil(try json(lab)["lab"])
    }

    // MARK: - docs/json-schema.md

    func testDocumentationExamplesMatchTheSchemas() throws {
        let r = validate(["--strict", "--doc-examples", Self.repo + "/docs/json-schema.md"])
        XCTAssertEqual(r.status, 0, r.output)
        let line = r.output.split(separator: "\n").first { $0.hasPrefix("doc examples:") }.map(String.init) ?? ""
        // "doc examples: N json blocks, C checked, S skipped, E errors": the result and
        // comparison examples and the plan, spread and sources fragments at least.
        let checked = line.split(separator: ",").first { $0.hasSuffix(" checked") }
            .flatMap { Int($0.split(separator: " ").first ?? "") }
        XCTAssertGreaterThanOrEqual(checked ?? 0, 5, r.output)
    }

    // MARK: - Broken documents fail

    func testBrokenResultDocumentsFailValidation() throws {
        let good = try output("good", ["run", "--target", target, "--engine", "psync"] + quick)
        let schema = Self.schema("result")
        let control = validate(["--strict", schema, good])
        XCTAssertEqual(control.status, 0, "the real document is valid: \(control.output)")
        let doc = try json(good)

        // A required field removed.
        var noBS = doc
        var list = try XCTUnwrap(doc["cases"] as? [[String: Any]])
        var config = try XCTUnwrap(list[0]["config"] as? [String: Any])
        config.removeValue(forKey: "bs")
        list[0]["config"] = config
        noBS["cases"] = list
        let missing = validate([schema, try write(noBS, "no-bs.json")])
        XCTAssertEqual(missing.status, 1, missing.output)
        XCTAssertTrue(missing.output.contains("$.cases[0].config: 'bs' is a required property"), missing.output)

        var noStart = doc
        noStart.removeValue(forKey: "started_at")
        let noStartResult = validate([schema, try write(noStart, "no-started-at.json")])
        XCTAssertEqual(noStartResult.status, 1, noStartResult.output)
        XCTAssertTrue(noStartResult.output.contains("'started_at' is a required property"), noStartResult.output)

        // A wrong type: a count as a string, and a schema_version that is not the integer 1.
        var wrongType = doc
        list = try XCTUnwrap(doc["cases"] as? [[String: Any]])
        list[0]["ios"] = "1000"
        wrongType["cases"] = list
        wrongType["schema_version"] = "1"
        let typed = validate([schema, try write(wrongType, "wrong-type.json")])
        XCTAssertEqual(typed.status, 1, typed.output)
        XCTAssertTrue(typed.output.contains("$.cases[0].ios: '1000' is not of type 'integer'"), typed.output)
        XCTAssertTrue(typed.output.contains("$.schema_version:"), typed.output)

        // A field the schema does not declare: allowed (fields may be added within a
        // version), but --strict reports it.
        var extra = doc
        list = try XCTUnwrap(doc["cases"] as? [[String: Any]])
        list[0]["undocumented_field"] = 1
        extra["cases"] = list
        let extraFile = try write(extra, "extra.json")
        XCTAssertEqual(validate([schema, extraFile]).status, 0)
        let strict = validate(["--strict", schema, extraFile])
        XCTAssertEqual(strict.status, 1, strict.output)
        XCTAssertTrue(strict.output.contains("$.cases[0].undocumented_field: property not declared"), strict.output)
    }
}
