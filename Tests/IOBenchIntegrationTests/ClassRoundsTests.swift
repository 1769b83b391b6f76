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

/// Class comparisons on a real fragmented file: rounds rotate, every Δ is paired with its
/// like-for-like reference and carries an interval, and the reads hold the data on disk.
final class ClassRoundsTests: XCTestCase {
    func testRoundsArePairedAgainstLikeForLikeReferences() throws {
        let dir = try ScratchDirectory()
        let file = dir.file("frag.dat")
        let prep = try CLI.run(["prepare", file, "--size", "32m", "--layout", "fragmented:16k"])
        guard prep.status == 0 else {
            throw XCTSkip("cannot prepare a fragmented file in \(dir.path) (a filesystem without extents?): \(prep.stderr)")
        }
        let json = dir.file("r.json")
        let r = try CLI.run(["run", "--target", file, "--class", "simple,single-extent:8k,multi-extent:8k",
                             "--engine", "psync,io_uring", "--iodepth", "4", "--repeat", "3", "--runtime", "150ms",
                             "--ramp-time", "20ms", "--verify", "--no-progress", "-o", json])
        XCTAssertEqual(r.status, 0, r.stderr)
        let result = try RunResult.decode(Data(contentsOf: URL(fileURLWithPath: json)), source: json)
        XCTAssertEqual(result.repeatCount, 3)
        // Every case ran 3 rounds, its data verified, and not always at the same place.
        for c in result.cases {
            XCTAssertEqual(c.status, .ok, c.label)
            XCTAssertGreaterThan(c.errors.verifiedReads, 0, c.label)
            XCTAssertEqual(c.errors.verifyMismatches, 0, c.label)
            let positions = (c.repeats ?? []).compactMap(\.roundPosition)
            XCTAssertEqual(positions.count, 3, c.label)
            XCTAssertGreaterThan(Set(positions).count, 1, "\(c.label) ran at position \(positions) in every round")
        }
        // Within a round, a setting's classes ran back to back.
        for round in 0 ..< 3 {
            let order = result.cases.sorted { $0.repeats![round].roundPosition! < $1.repeats![round].roundPosition! }
            let settings = order.map { "\($0.config.engine.rawValue)/\($0.config.queueDepth)" }
            let changes = zip(settings, settings.dropFirst()).filter { $0 != $1 }.count
            XCTAssertEqual(changes, 1, "round \(round): \(settings)")
        }
        let cmps = try XCTUnwrap(result.classComparisons)
        XCTAssertEqual(cmps.count, 6, "simple and single-extent (against raw, not run) and multi-extent, per setting")
        for cmp in cmps where cmp.pathClass == .multiExtent {
            XCTAssertEqual(cmp.referenceClass, .singleExtent)
            XCTAssertEqual(cmp.referenceBlockSize, 8192)
            let ref = try XCTUnwrap(result.cases.first { $0.identity == cmp.referenceIdentity })
            let c = try XCTUnwrap(result.cases.first { $0.identity == cmp.caseIdentity })
            XCTAssertEqual(ref.config.engine, c.config.engine, "the same engine setting")
            XCTAssertEqual(Set(cmp.deltas.map(\.metric)), Set(PairedDelta.Metric.allCases))
            for d in cmp.deltas {
                XCTAssertEqual(d.rounds, 3)
                let low = try XCTUnwrap(d.low), high = try XCTUnwrap(d.high)
                XCTAssertLessThanOrEqual(low, d.estimate); XCTAssertGreaterThanOrEqual(high, d.estimate)
                let zero = d.kind == .ratio ? 1.0 : 0.0
                XCTAssertEqual(d.finding == .noDifference, low <= zero && zero <= high, "\(d)")
            }
            // The p50 Δ is the mean of the rounds' own p50 differences, read off their histograms.
            let per = try (0 ..< 3).map { i -> Double in
                let a = try HdrV2Codec.decode(c.repeats![i].histogram!.data).value(atPercentile: 50)
                let b = try HdrV2Codec.decode(ref.repeats![i].histogram!.data).value(atPercentile: 50)
                return Double(a) - Double(b)
            }
            XCTAssertEqual(try XCTUnwrap(cmp.delta(.p50)).estimate, per.reduce(0, +) / 3, accuracy: 1)
        }
        for cmp in cmps where cmp.pathClass != .multiExtent {
            XCTAssertEqual(cmp.referenceClass, .raw)
            XCTAssertTrue(cmp.deltas.isEmpty)
            XCTAssertEqual(cmp.missingReference, "\(cmp.referenceName) was not run")
        }
        // Every key of the result is documented in docs/json-schema.md (the JSON contract).
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/json-schema.md")
        let schema = try String(contentsOf: docs, encoding: .utf8)
        var keys = Set<String>()
        func walk(_ v: Any) {
            if let o = v as? [String: Any] { for (k, x) in o { keys.insert(k); walk(x) } }
            if let a = v as? [Any] { a.forEach(walk) }
        }
        walk(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))))
        for k in keys.sorted() where Double(k) == nil {  // percentile-keyed maps (spread) aside
            XCTAssertTrue(schema.contains("`\(k)`"), "the result field `\(k)` is not in docs/json-schema.md")
        }
        let text = try CLI.run(["report", json]).stdout
        XCTAssertTrue(text.contains("vs (reference)") && text.contains("single-extent 8k") && text.contains("mean of 3 rounds"), text)
        XCTAssertTrue(text.contains("no Δ against raw 4k: it was not run (add it to --class)"), text)
    }
}
