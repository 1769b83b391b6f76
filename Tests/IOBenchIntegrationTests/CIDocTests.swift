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

/// docs/ci.md's pipelines, run as written: the commands are extracted from the file
/// (the GitHub Actions `run:` steps, the GitLab `script:` items, the shell blocks), so
/// the documentation cannot drift from what iobench does. Only the steps that fetch
/// the baseline artifact (`gh`, `curl`) are replaced, by copying the file, and
/// `IOBENCH_DIR` points to a scratch directory, as the doc says.
final class CIDocTests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir = nil }

    static var doc: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/ci.md"), encoding: .utf8)) ?? ""
    }

    /// Every fenced block: its language and its text.
    static func blocks(_ doc: String) -> [(lang: String, text: String)] {
        var out: [(String, String)] = []
        var lang: String?
        var body: [Substring] = []
        for line in doc.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                if let l = lang { out.append((l, body.joined(separator: "\n"))); lang = nil; body = [] } else { lang = String(line.dropFirst(3)) }
            } else if lang != nil {
                body.append(line)
            }
        }
        return out
    }

    static func indent(_ s: Substring) -> Int { s.prefix { $0 == " " }.count }

    /// The values of `key:` entries (`run:` or list items under `script:`), as commands:
    /// a one-line value, or a `|` block dedented.
    static func commands(yaml: String, key: String) -> [String] {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [String] = []
        var i = 0
        func block(after i: Int, deeperThan col: Int) -> (String, Int) {
            var j = i + 1
            var body: [Substring] = []
            while j < lines.count, lines[j].trimmingCharacters(in: .whitespaces).isEmpty || indent(lines[j]) > col {
                body.append(lines[j]); j += 1
            }
            let cut = body.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(indent).min() ?? 0
            return (body.map { $0.count >= cut ? String($0.dropFirst(cut)) : "" }.joined(separator: "\n"), j)
        }
        while i < lines.count {
            let line = lines[i]
            let t = line.trimmingCharacters(in: .whitespaces)
            if key == "run", let r = t.range(of: "run: "), t.hasPrefix("run: ") || t.hasPrefix("- run: ") {
                let value = String(t[r.upperBound...])
                if value == "|" {
                    let (b, j) = block(after: i, deeperThan: indent(line))
                    out.append(b); i = j; continue
                }
                out.append(value)
            } else if key == "script", t == "script:" {
                let col = indent(line)
                var j = i + 1
                while j < lines.count, indent(lines[j]) > col || lines[j].trimmingCharacters(in: .whitespaces).isEmpty {
                    let item = lines[j].trimmingCharacters(in: .whitespaces)
                    if item == "- |" {
                        let (b, k) = block(after: j, deeperThan: indent(lines[j]))
                        out.append(b); j = k; continue
                    }
                    if item.hasPrefix("- ") { out.append(String(item.dropFirst(2))) }
                    j += 1
                }
                i = j; continue
            }
            i += 1
        }
        return out
    }

    /// `NAME: value` under a top-level `env:` or `variables:`.
    static func variables(yaml: String) -> [String: String] {
        var out: [String: String] = [:]
        var inside = false
        for line in yaml.split(separator: "\n") {
            if indent(line) == 0 { inside = line == "env:" || line == "variables:"; continue }
            guard inside, indent(line) == 2, let colon = line.firstIndex(of: ":") else { continue }
            var v = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if v.hasPrefix("\"") && v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
            out[line[..<colon].trimmingCharacters(in: .whitespaces)] = v
        }
        return out
    }

    struct Shell {
        let cwd: String
        let env: [String: String]
        func run(_ script: String, errexit: Bool = true) -> (status: Int32, output: String) {
            // iobench on PATH, as the docs call it.
            let bin = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path
            var e = ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
            for (k, v) in env { e[k] = v }
            return sh(script, shell: ["/bin/bash"] + (errexit ? ["-e"] : []), cwd: cwd, environment: e)
        }
    }

    func shell(_ sub: String, env: [String: String] = [:]) throws -> Shell {
        let cwd = dir.file(sub)
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        let scratch = dir.file("iobench-dir")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        var e = env
        e["IOBENCH_DIR"] = scratch
        return Shell(cwd: cwd, env: e)
    }

    func checkComparison(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let o = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        XCTAssertEqual(o?["schema"] as? String, "iobench/compare", path, file: file, line: line)
        XCTAssertEqual(o?["schema_version"] as? Int, 2, path, file: file, line: line)
    }

    func checkJUnit(_ path: String, file: StaticString = #filePath, line: UInt = #line) {
        let r = sh("python3 -c \"import sys, xml.etree.ElementTree as E; t = E.parse(sys.argv[1]); print(len(t.findall('.//testcase')))\" '\(path)'")
        XCTAssertEqual(r.status, 0, r.output, file: file, line: line)
        XCTAssertGreaterThan(Int(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 0, file: file, line: line)
    }

    /// Runs the steps of one pipeline: measuring steps must exit 0, comparing steps 0 or 1
    /// (identical runs can differ by drift; exit 2 is a broken pipeline).
    func runSteps(_ steps: [String], in s: Shell, fetch: String) {
        for step in steps {
            if step.trimmingCharacters(in: .whitespaces).hasPrefix("#") { continue }
            let script = (step.contains("gh run") || step.contains("curl ")) ? fetch : step
            let r = s.run(script)
            if step.contains("iobench compare") {
                XCTAssertTrue([0, 1].contains(r.status), "step exited \(r.status):\n\(step)\n\(r.output)")
            } else {
                XCTAssertEqual(r.status, 0, "step failed:\n\(script)\n\(r.output)")
            }
        }
    }

    func testTheDocumentedPipelinesRunAsWritten() throws {
        let blocks = Self.blocks(Self.doc)
        let github = try XCTUnwrap(blocks.first { $0.text.hasPrefix("# .github/workflows/iobench.yml") }?.text)
        let gitlab = try XCTUnwrap(blocks.first { $0.text.hasPrefix("# .gitlab-ci.yml") }?.text)
        let gate = try XCTUnwrap(blocks.first { $0.text.hasPrefix("#!/bin/sh") }?.text)
        let aa = try XCTUnwrap(blocks.first { $0.text.hasPrefix("# aa:") }?.text)
        let paired = try XCTUnwrap(blocks.first { $0.text.hasPrefix("# paired:") }?.text)

        // GitHub Actions: the baseline job, then the pull-request job on the same runner.
        let ghVars = Self.variables(yaml: github)
        XCTAssertNotNil(ghVars["IOBENCH_ARGS"])
        let summary = dir.file("summary.md")
        let gh = try shell("github", env: ["IOBENCH_ARGS": ghVars["IOBENCH_ARGS"] ?? "", "GITHUB_STEP_SUMMARY": summary])
        let ghSteps = Self.commands(yaml: github, key: "run")
        XCTAssertEqual(ghSteps.count, 4, ghSteps.joined(separator: "\n---\n"))
        runSteps(ghSteps, in: gh, fetch: "mkdir -p baseline && cp baseline.json baseline/")
        try checkComparison(dir.file("github/compare.json"))
        checkJUnit(dir.file("github/compare.xml"))
        let md = try String(contentsOfFile: summary, encoding: .utf8)
        XCTAssertTrue(md.contains("### iobench") && md.contains("### iobench compare"), md)

        // GitLab CI: the baseline job's artifact is in the same directory.
        let glVars = Self.variables(yaml: gitlab)
        let gl = try shell("gitlab", env: ["IOBENCH_ARGS": glVars["IOBENCH_ARGS"] ?? ""])
        let glSteps = Self.commands(yaml: gitlab, key: "script")
        XCTAssertEqual(glSteps.filter { !$0.hasPrefix("#") }.count, 4, glSteps.joined(separator: "\n---\n"))
        runSteps(glSteps, in: gl, fetch: "test -r baseline.json")
        try checkComparison(dir.file("gitlab/compare.json"))
        checkJUnit(dir.file("gitlab/compare.xml"))

        // The plain-shell gate, with a baseline made as the doc says.
        let sh1 = try shell("shell")
        try gate.write(toFile: dir.file("shell/iobench-gate"), atomically: true, encoding: .utf8)
        let argsLine = try XCTUnwrap(gate.split(separator: "\n").first { $0.hasPrefix("args=") })
        XCTAssertEqual(sh1.run("\(argsLine)\niobench run $args --output baseline.json").status, 0)
        let g = sh1.run("sh ./iobench-gate baseline.json", errexit: false)
        XCTAssertTrue([0, 1].contains(g.status), g.output)
        try checkComparison(dir.file("shell/compare.json"))
        XCTAssertEqual(sh1.run("sh ./iobench-gate missing.json", errexit: false).status, 2)

        // The A/A measurement.
        let a = try shell("aa")
        let ar = a.run(aa, errexit: false)
        XCTAssertEqual(ar.status, 0, ar.output)
        try checkComparison(dir.file("aa/aa-12.json"))
        try checkComparison(dir.file("aa/aa-21.json"))
        XCTAssertTrue(ar.output.contains("\tiops\t"), ar.output)

        // The paired recipe.
        let p = try shell("paired")
        let pr = p.run(paired, errexit: false)
        XCTAssertTrue([0, 1].contains(pr.status), pr.output)
        let pj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("paired/paired.json")))) as? [String: Any]
        XCTAssertEqual(pj?["paired"] as? Bool, true)
        let cases = pj?["cases"] as? [[String: Any]] ?? []
        let models = cases.flatMap { ($0["metrics"] as? [[String: Any]] ?? []).compactMap { $0["noise_model"] as? String } }
        XCTAssertTrue(!models.isEmpty && models.allSatisfy { $0 == "paired" }, "\(models)")
    }

    func testEveryIobenchCommandInTheDocParses() throws {
        // Every `iobench compare` line in the doc uses options compare knows.
        let help = try CLI.run(["compare", "--help"])
        for line in Self.doc.split(separator: "\n") where line.contains("iobench compare ") && !line.contains("`iobench compare") {
            for word in line.split(separator: " ") where word.hasPrefix("--") {
                let option = String(word.prefix { $0 != "=" })
                XCTAssertTrue(help.stdout.contains(option), "\(option) in: \(line)")
            }
        }
        let flat = help.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        XCTAssertTrue(flat.contains("always as JSON"), help.stdout)
    }
}
