import Foundation
import XCTest

/// The layers of Package.swift only point down. SwiftPM already refuses a cycle and `make`
/// builds with --explicit-target-dependency-import-check=error; this test also catches an
/// upward import added together with a dependency (which would compile), and keeps the
/// order, the design document and the file-size rule in one place.
final class LayerTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The layer names in the order Package.swift lists them, lowest first.
    func layerOrder() throws -> [String] {
        let package = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        guard let start = package.range(of: "let layers:"), let end = package.range(of: "\n]\n", range: start.upperBound ..< package.endIndex)
        else { throw XCTSkip("Package.swift has no `let layers:` list") }
        let block = package[start.upperBound ..< end.lowerBound]
        var names: [String] = []
        for line in block.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("(\"") else { continue }
            names.append(String(t.dropFirst(2).prefix { $0 != "\"" }))
        }
        return names
    }

    func swiftFiles(in dir: URL) -> [URL] {
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)
        return (e?.allObjects as? [URL] ?? []).filter { $0.pathExtension == "swift" }
    }

    /// The modules `text` imports that are not below `layer` in `order`.
    static func upwardImports(of layer: String, text: String, order: [String]) -> [String] {
        guard let rank = order.firstIndex(of: layer) else { return [] }
        var found: [String] = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let i = words.firstIndex(where: { $0 == "import" }), i + 1 < words.count,
                  words[..<i].allSatisfy({ $0.hasPrefix("@") || $0 == "package" || $0 == "public" || $0 == "internal" })
            else { continue }
            let module = String(words[i + 1])
            if let other = order.firstIndex(of: module), other >= rank { found.append(module) }
        }
        return found
    }

    func testEveryImportPointsDown() throws {
        let order = try layerOrder()
        XCTAssertEqual(order, ["IOBenchPlatform", "IOBenchHistogram", "IOBenchWorkload", "IOBenchEngines",
                               "IOBenchMeasurement", "IOBenchResults", "IOBenchReports", "IOBenchKit"])
        var violations: [String] = []
        for layer in order {
            let files = swiftFiles(in: Self.root.appendingPathComponent("Sources/\(layer)"))
            XCTAssertFalse(files.isEmpty, "no sources for \(layer)")
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                for m in Self.upwardImports(of: layer, text: text, order: order) {
                    violations.append("\(layer)/\(file.lastPathComponent) imports \(m)")
                }
            }
        }
        XCTAssertEqual(violations, [], "a layer may only import the layers below it (Package.swift)")
    }

    /// The check must be able to fail: upward and sideways imports in any spelling are found.
    func testAnUpwardImportIsCaught() throws {
        let order = try layerOrder()
        let text = "import Glibc\nimport IOBenchPlatform\n@testable import IOBenchResults\n@_exported import IOBenchWorkload\n// import IOBenchKit\n"
        XCTAssertEqual(Self.upwardImports(of: "IOBenchWorkload", text: text, order: order), ["IOBenchResults", "IOBenchWorkload"])
        XCTAssertEqual(Self.upwardImports(of: "IOBenchKit", text: text, order: order), [])
    }

    func testNoSourceFileIsOver400Lines() throws {
        var long: [String] = []
        for file in swiftFiles(in: Self.root.appendingPathComponent("Sources")) {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).count
            if lines > 400 { long.append("\(file.path.replacingOccurrences(of: Self.root.path + "/", with: "")): \(lines)") }
        }
        XCTAssertEqual(long.sorted(), [], "split files over 400 lines (Type+Feature.swift)")
    }

    func testDesignDocumentDrawsEveryLayer() throws {
        let design = try String(contentsOf: Self.root.appendingPathComponent("docs/design.md"), encoding: .utf8)
        for layer in try layerOrder() { XCTAssertTrue(design.contains(layer), "docs/design.md does not show \(layer)") }
    }

    /// Every source path the docs name exists (files move between layers).
    func testDocumentedSourcePathsExist() throws {
        var missing: [String] = []
        let docs = ["README.md", "benchmarks/README.md"] + (try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("docs").path))
            .filter { $0.hasSuffix(".md") }.map { "docs/" + $0 }
        let pattern = try NSRegularExpression(pattern: #"Sources/[A-Za-z0-9_/+.-]+\.swift"#)
        for doc in docs {
            let text = try String(contentsOf: Self.root.appendingPathComponent(doc), encoding: .utf8)
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let path = String(text[Range(m.range, in: text)!])
                if !FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(path).path) { missing.append("\(doc): \(path)") }
            }
        }
        XCTAssertEqual(missing, [])
    }
}
