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

/// Exit codes and messages that must tell the truth (issue 11, part 4): empty lists run
/// nothing, damaged histograms are refused by every reader, merge names the field two
/// cases differ in, --plot creates only its own directory, and no message says
/// "Success (errno 0)".
final class ExitCodeTests: XCTestCase {
    var dir: ScratchDirectory!
    var target: String!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        target = dir.file("t.dat")
        try makeStampedFile(target, size: 8 << 20)
    }

    override func tearDown() { dir = nil }

    func runArgs(_ extra: [String] = []) -> [String] {
        ["run", "--target", target, "--engine", "psync", "--number-ios", "200", "--ramp-time", "0", "--no-progress"] + extra
    }

    func assertBadInput(_ args: [String], mentions needle: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)", file: file, line: line)
        let errors = lines(r.stderr).filter { $0.hasPrefix("iobench: error:") }
        XCTAssertEqual(errors.count, 1, "\(args): one error line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(needle), "\(args): mentions \(needle): \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("errno 0") || r.stderr.contains("Success"), "\(args): a real reason: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stdout, "", "\(args): nothing measured or reported", file: file, line: line)
    }

    func testEmptyListsAreBadInput() throws {
        for e in ["", ",", "psync,", " , "] {
            try assertBadInput(["run", "--target", target!, "--engine", e, "--number-ios", "10", "--no-progress"], mentions: "--engine")
        }
        for c in ["", ",", "simple,"] {
            try assertBadInput(["run", "--target", target!, "--engine", "psync", "--class", c, "--number-ios", "10", "--no-progress"],
                               mentions: "--class")
        }
        for c in ["", ",", "0,,1", "0,"] {
            try assertBadInput(runArgs(["--cpus", c]), mentions: "--cpus")
        }
    }

    /// A value is checked even where the run would not use it: a typo is never ignored.
    func testUnusedOptionValuesAreStillChecked() throws {
        for v in ["ä", "", "nan", "4k,8k"] {
            try assertBadInput(runArgs(["--runtime", v]), mentions: "runtime")
            try assertBadInput(runArgs(["--hist-interval", v]), mentions: "hist-interval")
        }
        try assertBadInput(runArgs(["--hist-interval", "0"]), mentions: "hist-interval")
    }

    func testAbsurdNumberIOsIsRefusedAtOnce() throws {
        let start = Date()
        for n in ["9223372036854775808", "\(CaseSpec.maxNumberIOs + 1)", "0"] {
            try assertBadInput(["run", "--target", target!, "--engine", "psync", "--number-ios", n, "--ramp-time", "0", "--no-progress"],
                               mentions: "--number-ios")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "refused at once, not run")
    }

    // MARK: damaged histograms: one decoder path for compare, merge and report

    func testDamagedHistogramsAreExit2InCompareMergeAndReport() throws {
        let good = dir.file("good.json")
        XCTAssertEqual(try CLI.run(runArgs(["--output", good])).status, 0)
        let text = try String(contentsOfFile: good, encoding: .utf8)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var cases = try XCTUnwrap(object["cases"] as? [[String: Any]])
        var histogram = try XCTUnwrap(cases[0]["histogram"] as? [String: Any])
        let data = try XCTUnwrap(histogram["data"] as? String)

        // 1. Bytes changed inside the compressed payload: does not decode.
        var bytes = try XCTUnwrap(Data(base64Encoded: data))
        for i in stride(from: 12, to: bytes.count, by: 3) { bytes[i] ^= 0x5A }
        histogram["data"] = bytes.base64EncodedString()
        cases[0]["histogram"] = histogram
        object["cases"] = cases
        let garbled = dir.file("garbled.json")
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: garbled))

        // 2. A valid histogram of other reads: decodes, but disagrees with the summary.
        var other = LatencyHistogram()
        for v in [UInt64(1000), 2000, 3000] { other.record(v) }
        histogram["data"] = HdrV2Codec.encode(other)
        cases[0]["histogram"] = histogram
        object["cases"] = cases
        let swapped = dir.file("swapped.json")
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: swapped))

        // 3. A repeat's histogram damaged (compare --paired and merge read those).
        let rep = dir.file("rep.json")
        XCTAssertEqual(try CLI.run(runArgs(["--repeat", "3", "--output", rep]).map { $0 == "200" ? "100" : $0 }).status, 0)
        var ro = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: rep))) as? [String: Any])
        var rcases = try XCTUnwrap(ro["cases"] as? [[String: Any]])
        var reps = try XCTUnwrap(rcases[0]["repeats"] as? [[String: Any]])
        var rh = try XCTUnwrap(reps[1]["histogram"] as? [String: Any])
        var rb = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(rh["data"] as? String)))
        for i in stride(from: 12, to: rb.count, by: 3) { rb[i] ^= 0x5A }
        rh["data"] = rb.base64EncodedString()
        reps[1]["histogram"] = rh
        rcases[0]["repeats"] = reps
        ro["cases"] = rcases
        let repDamaged = dir.file("rep-damaged.json")
        try JSONSerialization.data(withJSONObject: ro).write(to: URL(fileURLWithPath: repDamaged))
        for args in [["compare", rep, repDamaged], ["compare", rep, repDamaged, "--paired"], ["report", repDamaged],
                     ["merge", repDamaged, rep, "-o", dir.file("m3.json")]] {
            try assertBadInput(args, mentions: "repeat")
        }

        for bad in [garbled, swapped] {
            for args in [["compare", good, bad], ["compare", bad, good], ["merge", good, bad, "-o", dir.file("m.json")],
                         ["report", bad], ["report", bad, "--format", "html"]] {
                try assertBadInput(args, mentions: "damaged")
            }
        }
        // The undamaged file passes all three.
        XCTAssertEqual(try CLI.run(["compare", good, good]).status, 0)
        XCTAssertEqual(try CLI.run(["merge", good, good, "-o", dir.file("m2.json")]).status, 0)
        XCTAssertEqual(try CLI.run(["report", good]).status, 0)
    }

    // MARK: merge refuses different configurations

    func testMergeRefusesCasesOfDifferentConfigurationNamingTheField() throws {
        let a = dir.file("a.json"), b = dir.file("b.json"), c = dir.file("c.json"), d = dir.file("d.json")
        XCTAssertEqual(try CLI.run(runArgs(["--output", a])).status, 0)
        XCTAssertEqual(try CLI.run(runArgs(["--output", b, "--size", "4m"])).status, 0)
        XCTAssertEqual(try CLI.run(runArgs(["--output", c, "--verify"])).status, 0)
        XCTAssertEqual(try CLI.run(runArgs(["--output", d, "--seed", "7"])).status, 0)
        try assertBadInput(["merge", a, b, "-o", dir.file("ab.json")], mentions: "region_bytes")
        try assertBadInput(["merge", a, c, "-o", dir.file("ac.json")], mentions: "verify")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("ab.json")))
        // A different seed is the fleet use (each host its own offsets): merged.
        XCTAssertEqual(try CLI.run(["merge", a, d, "-o", dir.file("ad.json")]).status, 0)
        // Asked for explicitly: merged.
        let forced = try CLI.run(["merge", a, b, "--allow-config-mismatch", "-o", dir.file("ab.json")])
        XCTAssertEqual(forced.status, 0, forced.stderr)
    }

    // MARK: --plot and errno texts

    func testPlotCreatesOnlyItsOwnDirectory() throws {
        let nested = dir.file("a/b/c")
        try assertBadInput(runArgs(["--plot", nested]), mentions: "--plot")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("a")), "no parent was created")
        let existingFile = dir.file("afile")
        try "x".write(toFile: existingFile, atomically: false, encoding: .utf8)
        try assertBadInput(runArgs(["--plot", existingFile]), mentions: "not a directory")
        let plots = dir.file("plots")
        let r = try CLI.run(runArgs(["--plot", plots]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: plots + "/report.html"))
    }

    func testReadingADirectoryOrAFIFONamesTheProblem() throws {
        let good = dir.file("good.json")
        XCTAssertEqual(try CLI.run(runArgs(["--output", good])).status, 0)
        try assertBadInput(["compare", dir.path, good], mentions: "is a directory")
        try assertBadInput(["report", dir.path], mentions: "is a directory")
        try assertBadInput(["merge", dir.path, "-o", dir.file("m.json")], mentions: "is a directory")
        let fifo = dir.file("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        // Nobody writes the FIFO: an empty input at once, not a hang.
        let run = try BackgroundIOBench(["compare", fifo, good])
        let exit = run.wait(timeout: 20)
        XCTAssertNotNil(exit, "compare hung on a FIFO nobody writes")
        XCTAssertEqual(exit?.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains("empty"), run.stderr)
        // A pipe with a writer (the shell's <(...)) is read.
        let piped = sh("bash -c \"'\(CLI.binary)' compare <(cat '\(good)') '\(good)'\"")
        XCTAssertEqual(piped.status, 0, piped.output)
    }

    /// Every JSON document iobench prints names itself (DECISIONS: result, comparison,
    /// prepare, inspect), so any output can be recognised as iobench's own.
    func testEveryJSONDocumentHasSchemaAndVersion() throws {
        let frag = dir.file("frag.dat")
        let docs: [([String], String)] = [
            (runArgs(["--format", "json"]), "iobench/result"),
            (["prepare", frag, "--size", "8m", "--layout", "fragmented:64k", "--format", "json"], "iobench/prepare"),
            (["inspect", frag, "--format", "json"], "iobench/inspect"),
        ]
        for (args, schema) in docs {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
            XCTAssertEqual(o["schema"] as? String, schema)
            XCTAssertEqual(o["schema_version"] as? Int, 1, schema)
        }
        let result = dir.file("r.json")
        XCTAssertEqual(try CLI.run(runArgs(["--output", result])).status, 0)
        let c = try CLI.run(["compare", result, result, "--format", "json"])
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(c.stdout.utf8)) as? [String: Any], c.stdout)
        XCTAssertEqual(o["schema"] as? String, "iobench/compare")
        XCTAssertNotNil(o["schema_version"])
    }
}
