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

/// `run --target` repeated: one batch per target, every case on every target, each case
/// identified by its id and its target's key; compare and merge match by that identity.
final class MultiTargetTests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir = nil }

    /// Short cases: two engines, a fixed number of reads, no ramp.
    let quick = ["--size", "16m", "--engine", "psync,io_uring", "--iodepth", "4", "--number-ios", "1500",
                 "--ramp-time", "0", "--no-progress"]
    let ids = ["psync-randread-bs4k-qd1-j1", "io_uring-randread-bs4k-qd4-j1"]

    func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func cases(_ object: [String: Any]) -> [[String: Any]] { object["cases"] as? [[String: Any]] ?? [] }

    /// The built binary with its working directory set.
    func run(_ args: [String], cwd: String) throws -> CLIResult {
        try CLI.run(args, cwd: cwd)
    }

    /// A two-target run (labels a and b, two files in one directory) written to `name`.
    func twoTargetRun(_ name: String, extra: [String] = []) throws -> String {
        let out = dir.file(name)
        let r = try CLI.run(["run", "--target", "a=" + dir.file("a.dat"), "--target", "b=" + dir.file("b.dat"), "--output", out] + quick + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    func testTwoLabelledTargetsRunEveryCaseOnEachWithVerifiedData() throws {
        let hgrm = dir.file("hgrm")
        try FileManager.default.createDirectory(atPath: hgrm, withIntermediateDirectories: false)
        let out = try twoTargetRun("r.json", extra: ["--verify", "--hgrm", hgrm, "--hist-log", dir.file("r.hlog")])
        let r = try json(out)
        let cs = cases(r)
        XCTAssertEqual(cs.count, 4, "every case once per target")
        for (i, key) in ["a", "a", "b", "b"].enumerated() {
            XCTAssertEqual(cs[i]["target_key"] as? String, key, "targets in the order given")
            XCTAssertEqual(cs[i]["id"] as? String, ids[i % 2], "ids are unchanged; the key is beside them")
            XCTAssertTrue((cs[i]["label"] as? String ?? "").hasPrefix(key + ": "), "\(cs[i]["label"] ?? "")")
            XCTAssertEqual(cs[i]["status"] as? String, "ok")
            let errors = cs[i]["errors"] as? [String: Any]
            XCTAssertEqual(errors?["verified_reads"] as? Int, 1500, "--verify checked every read of every target")
            XCTAssertEqual(errors?["verify_mismatches"] as? Int, 0)
        }
        let targets = r["targets"] as? [[String: Any]] ?? []
        XCTAssertEqual(targets.map { $0["key"] as? String }, ["a", "b"])
        XCTAssertEqual(targets.map { $0["path"] as? String }, [dir.file("a.dat"), dir.file("b.dat")])
        // Per-case outputs do not collide either: one .hgrm per identity, one log tag per identity.
        let files = try FileManager.default.contentsOfDirectory(atPath: hgrm).sorted()
        XCTAssertEqual(files, ["a_" + ids[1] + ".hgrm", "a_" + ids[0] + ".hgrm", "b_" + ids[1] + ".hgrm", "b_" + ids[0] + ".hgrm"].sorted())
        let log = try String(contentsOfFile: dir.file("r.hlog"), encoding: .utf8)
        for key in ["a", "b"] { for id in ids { XCTAssertTrue(log.contains("Tag=\(key)/\(id),"), "\(key)/\(id) in the interval log") } }
        // The reports keep the two targets apart.
        let report = try CLI.run(["report", out, "--format", "html"])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("data-case=\"a/\(ids[0])\"") && report.stdout.contains("data-case=\"b/\(ids[0])\""))
    }

    func testLabelsDefaultToFileNames() throws {
        let out = dir.file("r.json")
        let r = try CLI.run(["run", "--target", dir.file("one.dat"), "--target", dir.file("two.dat"), "--output", out] + quick)
        XCTAssertEqual(r.status, 0, r.stderr)
        let keys = cases(try json(out)).map { $0["target_key"] as? String }
        XCTAssertEqual(keys, ["one.dat", "one.dat", "two.dat", "two.dat"])
        XCTAssertTrue(r.stdout.contains("target one.dat: ") && r.stdout.contains("two.dat: psync 4k QD1"), r.stdout)
    }

    func testOneTargetHasNoKeyEvenWithALabel() throws {
        let out = dir.file("r.json")
        let r = try CLI.run(["run", "--target", "a=" + dir.file("a.dat"), "--output", out] + quick)
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertFalse(text.contains("target_key"), "one target: no key, ids and labels as always")
        XCTAssertEqual(cases(try json(out)).map { $0["label"] as? String }, ["psync 4k QD1", "io_uring 4k QD4"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.file("a.dat")))
    }

    func testDuplicateLabelExitsTwoBeforeAnythingIsCreated() throws {
        let r = try CLI.run(["run", "--target", "a=" + dir.file("x.dat"), "--target", "a=" + dir.file("y.dat")] + quick)
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("labelled 'a'") && r.stderr.contains("--target a="), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("x.dat")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("y.dat")))
        // The same file name in two directories: the default labels collide.
        try FileManager.default.createDirectory(atPath: dir.file("sub"), withIntermediateDirectories: false)
        let same = try CLI.run(["run", "--target", dir.file("x.dat"), "--target", dir.file("sub/x.dat")] + quick)
        XCTAssertEqual(same.status, 2, same.stderr)
        XCTAssertTrue(same.stderr.contains("labelled 'x.dat'") && same.stderr.contains("--target a="), same.stderr)
    }

    func testSameFileTwiceExitsTwo() throws {
        let x = dir.file("x.dat")
        let r = try CLI.run(["run", "--target", "a=" + x, "--target", "b=" + x] + quick)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("are the same file") && r.stderr.contains("--target a="), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        // An existing file under a second name (a hard link): the same inode.
        XCTAssertEqual(try CLI.run(["run", "--target", x] + quick).status, 0)
        XCTAssertEqual(link(x, dir.file("y.dat")), 0)
        let linked = try CLI.run(["run", "--target", x, "--target", dir.file("y.dat")] + quick)
        XCTAssertEqual(linked.status, 2, linked.stderr)
        XCTAssertTrue(linked.stderr.contains("are the same file"), linked.stderr)
        // Two spellings of one file still to be created.
        let spelled = try CLI.run(["run", "--target", dir.file("new.dat"), "--target", dir.path + "/./new.dat"] + quick)
        XCTAssertEqual(spelled.status, 2, spelled.stderr)
        XCTAssertTrue(spelled.stderr.contains("are the same file"), spelled.stderr)
    }

    func testLabelPathWithEqualsSignsInThePath() throws {
        // LABEL=PATH splits at the first '=': the path keeps the rest.
        let out = dir.file("r.json")
        let r = try CLI.run(["run", "--target", "a=" + dir.file("k=v.dat"), "--target", "b=" + dir.file("b.dat"), "--output", out] + quick)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.file("k=v.dat")))
        let targets = try json(out)["targets"] as? [[String: Any]] ?? []
        XCTAssertEqual(targets.first?["path"] as? String, dir.file("k=v.dat"))
        XCTAssertEqual(targets.first?["key"] as? String, "a")
        // An argument that names an existing file is that file, '=' or not: here the
        // relative `k=v.dat` is a path (not label k), labelled by its file name.
        let out2 = dir.file("r2.json")
        let r2 = try run(["run", "--target", "k=v.dat", "--target", "b.dat", "--output", out2] + quick, cwd: dir.path)
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let t2 = try json(out2)["targets"] as? [[String: Any]] ?? []
        XCTAssertEqual(t2.map { $0["path"] as? String }, ["k=v.dat", "b.dat"])
        XCTAssertEqual(t2.map { $0["key"] as? String }, ["k_v.dat", "b.dat"], "a file name's '=' cannot be in a label")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("v.dat")), "not read as label k, path v.dat")
    }

    func testOutputAimedAtTheSecondTargetIsRefused() throws {
        let b = dir.file("b.dat")
        XCTAssertEqual(try CLI.run(["run", "--target", b] + quick).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: b))
        var st = stat()
        XCTAssertEqual(stat(b, &st), 0)
        for option in ["--output", "--hist-log"] {
            let r = try CLI.run(["run", "--target", "a=" + dir.file("a.dat"), "--target", "b=" + b, option, b] + quick)
            XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
            XCTAssertTrue(r.stderr.contains("is the target b"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("a.dat")), "refused before any target was made")
        }
        var after = stat()
        XCTAssertEqual(stat(b, &after), 0)
        XCTAssertEqual(after.st_ino, st.st_ino)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: b)), before, "the target is untouched")
    }

    func testCompareOfATwoTargetResultWithItselfMatchesEveryIdentity() throws {
        let out = try twoTargetRun("r.json")
        let cmp = dir.file("cmp.json")
        let r = try CLI.run(["compare", out, out, "--output", cmp])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertFalse(r.stdout.contains("missing"), r.stdout)
        let c = try json(cmp)
        XCTAssertEqual(c["missing_in_new"] as? [String], [])
        XCTAssertEqual(c["missing_in_base"] as? [String], [])
        let compared = cases(c).map { "\($0["target_key"] as? String ?? "")/\($0["id"] as? String ?? "")" }
        XCTAssertEqual(Set(compared), Set(["a", "b"].flatMap { k in ids.map { "\(k)/\($0)" } }))
        XCTAssertEqual(compared.count, 4)
        // Text shows the key with the label; JUnit names are `<identity> <metric>`.
        XCTAssertTrue(r.stdout.contains("b: io_uring 4k QD4"), r.stdout)
        let junit = try CLI.run(["compare", out, out, "--format", "junit"])
        XCTAssertEqual(junit.status, 0)
        XCTAssertTrue(junit.stdout.contains("name=\"a/\(ids[0]) p50\"") && junit.stdout.contains("name=\"b/\(ids[0]) p50\""), junit.stdout)
        let md = try CLI.run(["compare", out, out, "--format", "markdown"])
        XCTAssertTrue(md.stdout.contains("| a: psync 4k QD1 |"), md.stdout)

        // A third target in NEW: its cases are new, by identity; a and b still match.
        let three = try twoTargetRun("three.json", extra: ["--target", "c=" + dir.file("c.dat")])
        let partial = try CLI.run(["compare", out, three, "--format", "json"])
        let p = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(partial.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(Set(p["missing_in_base"] as? [String] ?? []), Set(ids.map { "c/\($0)" }))
        XCTAssertEqual(p["missing_in_new"] as? [String], [])
    }

    func testOneTargetBaselineWithoutTargetKeyMatchesAOneTargetRun() throws {
        let base = dir.file("base.json"), new = dir.file("new.json")
        for out in [base, new] {
            let r = try CLI.run(["run", "--target", dir.file("t.dat"), "--output", out] + quick)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        // A stored baseline as older versions wrote it: no target_key, no targets[].key.
        var stored = try json(base)
        stored["cases"] = cases(stored).map { c in var c = c; c["target_key"] = nil; return c }
        let storedPath = dir.file("stored.json")
        try JSONSerialization.data(withJSONObject: stored).write(to: URL(fileURLWithPath: storedPath))
        XCTAssertFalse(try String(contentsOfFile: storedPath, encoding: .utf8).contains("target_key"))
        XCTAssertFalse(try String(contentsOfFile: new, encoding: .utf8).contains("target_key"), "one target: no key")
        let r = try CLI.run(["compare", storedPath, new, "--format", "json"])
        XCTAssertNotEqual(r.status, 2, r.stderr)
        let c = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(c["missing_in_new"] as? [String], [])
        XCTAssertEqual(c["missing_in_base"] as? [String], [])
        XCTAssertEqual(cases(c).map { $0["id"] as? String }, ids)
        XCTAssertTrue(cases(c).allSatisfy { $0["target_key"] == nil }, "no key in, no key out")
        let junit = try CLI.run(["compare", storedPath, new, "--format", "junit"])
        XCTAssertTrue(junit.stdout.contains("name=\"\(ids[0]) p50\""), "JUnit names of one-target runs are as before")
    }

    func testMergeOfTwoTwoTargetResultsKeepsKeysApart() throws {
        let r1 = try twoTargetRun("r1.json"), r2 = try twoTargetRun("r2.json")
        let merged = dir.file("m.json")
        let m = try CLI.run(["merge", r1, r2, "-o", merged])
        XCTAssertEqual(m.status, 0, m.stderr)
        let cs = cases(try json(merged))
        XCTAssertEqual(cs.count, 4, "the same id on a and b stays two cases")
        XCTAssertEqual(cs.map { $0["target_key"] as? String }, ["a", "a", "b", "b"])
        for c in cs {
            XCTAssertEqual((c["sources"] as? [Any])?.count, 2, "each identity from both files")
            XCTAssertEqual(c["ios"] as? Int, 3000)
        }
        XCTAssertEqual((try json(merged)["targets"] as? [[String: Any]])?.map { $0["key"] as? String }, ["a", "b"])
        // The merged result compares with either input by identity.
        let c = try CLI.run(["compare", r1, merged, "--format", "json"])
        XCTAssertNotEqual(c.status, 2, c.stderr)
        let cj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(c.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(cj["missing_in_new"] as? [String], [])
        XCTAssertEqual(cj["missing_in_base"] as? [String], [])
    }

    /// `--target A,B` is two targets, and the text, Markdown and HTML reports put them side
    /// by side: one row per case with each target's IOPS and p99 and the IOPS ratio.
    func testCommaListOfTargetsReportsThemSideBySide() throws {
        let a = dir.file("a.dat"), b = dir.file("b.dat"), out = dir.file("ab.json")
        let r = try CLI.run(["run", "--target", "\(a),fast=\(b)", "--output", out] + quick)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual((try json(out)["targets"] as? [[String: Any]])?.map { $0["key"] as? String }, ["a.dat", "fast"])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let title = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("targets side by side") }, r.stdout)
        XCTAssertEqual(lines[title + 1].split(separator: " ").filter { !$0.isEmpty },
                       ["case", "a.dat", "IOPS", "a.dat", "p99", "fast", "IOPS", "fast", "p99", "fast/a.dat"])
        for label in ["psync 4k QD1", "io_uring 4k QD4"] {
            let row = try XCTUnwrap(lines[(title + 2)...].first { $0.hasPrefix(label + " ") }, "\(label) in \(r.stdout)")
            XCTAssertNotNil(row.range(of: #"×[0-9.]+$"#, options: .regularExpression), row)
        }
        let md = try CLI.run(["report", out, "--format", "markdown"])
        XCTAssertTrue(md.stdout.contains("targets side by side") && md.stdout.contains("| fast/a.dat |"), md.stdout)
        let html = try CLI.run(["report", out, "--format", "html"])
        XCTAssertTrue(html.stdout.contains("<h3>Targets side by side</h3>"), html.stderr)
        // A path that exists is one target, ',' in its name or not; an empty item is refused.
        let comma = dir.file("x,y.dat"), one = dir.file("one.json")
        try FileManager.default.copyItem(atPath: a, toPath: comma)
        let single = try CLI.run(["run", "--target", comma, "--output", one] + quick)
        XCTAssertEqual(single.status, 0, single.stderr)
        XCTAssertNil(try json(one)["targets"], "x,y.dat exists: one target")
        XCTAssertTrue(cases(try json(one)).allSatisfy { $0["target_key"] == nil })
        let empty = try CLI.run(["run", "--target", "\(a),"] + quick)
        XCTAssertEqual(empty.status, 2, empty.stderr)
        XCTAssertTrue(empty.stderr.contains("empty item"), empty.stderr)
    }
}
