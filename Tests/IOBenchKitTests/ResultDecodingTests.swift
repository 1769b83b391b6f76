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

final class ResultDecodingTests: XCTestCase {
    func sampleResult() throws -> RunResult {
        var spec = CaseSpec(engine: .ioUring)
        spec.queueDepth = 32
        var o = JobOutcome()
        for v in [1000, 2000, 3000] as [UInt64] { o.histogram.record(v) }
        o.ios = 3
        o.elapsedNs = 1_000_000
        o.timeline = [3]
        let c = CaseResult(spec: spec, outcomes: [o])
        return RunResult(startedAt: "2026-11-26T00:00:00Z", environment: .current(), target: nil, arguments: ["iobench"], cases: [c])
    }

    func testRoundTrip() throws {
        let r = try sampleResult()
        let back = try RunResult.decode(try r.jsonData(), source: "test")
        XCTAssertEqual(back.cases.first?.ios, 3)
        XCTAssertEqual(back.cases.first?.latency?.value(at: 50), r.cases.first?.latency?.value(at: 50))
        XCTAssertEqual(try HdrV2Codec.decode(back.cases[0].histogram!.data).count, 3)
    }

    /// A v1 file written before later v1 fields existed still reads, with their defaults.
    func testFieldsAddedWithinV1MayBeMissing() throws {
        var json = try JSONSerialization.jsonObject(with: try sampleResult().jsonData()) as! [String: Any]
        var cases = json["cases"] as! [[String: Any]]
        for key in ["timeline_truncated", "failure_class", "plan", "target_path", "path_verification", "timeline_iops", "jobs"] {
            cases[0].removeValue(forKey: key)
        }
        var errors = cases[0]["errors"] as! [String: Any]
        errors.removeValue(forKey: "verified_reads")
        cases[0]["errors"] = errors
        json["cases"] = cases
        json.removeValue(forKey: "targets")
        let data = try JSONSerialization.data(withJSONObject: json)
        let r = try RunResult.decode(data, source: "old.json")
        XCTAssertEqual(r.cases[0].timelineTruncated, false)
        XCTAssertEqual(r.cases[0].errors.verifiedReads, 0)
        XCTAssertEqual(r.cases[0].ios, 3)
    }

    func testWrongSchemaOrVersionIsBadInput() throws {
        for (text, mention) in [("{}", "schema is missing"), ("[1,2]", "does not parse as a JSON object"), ("", "does not parse"),
                                (#"{"schema":"iobench/result","schema_version":2}"#, "schema version 2"),
                                (#"{"schema":"fio","schema_version":1}"#, "'fio'"),
                                (#"{"schema":"iobench/result","schema_version":1,"cases":"x"}"#, "malformed")] {
            XCTAssertThrowsError(try RunResult.decode(Data(text.utf8), source: "x.json"), text) { e in
                XCTAssertEqual((e as? IOBenchError)?.exitCode, 2)
                XCTAssertTrue("\(e)".contains(mention), "\(e)")
            }
        }
    }

    /// A histogram string that does not decode is refused when the file is read (exit 2,
    /// naming the case and the repeat), so no reader meets a damaged histogram in memory.
    func testDamagedHistogramIsRefusedAtReadNamingTheCase() throws {
        var r = try sampleResult()
        let c = r.cases[0]
        r.cases[0] = CaseResult.aggregate([c, c, c])
        let json = try JSONSerialization.jsonObject(with: try r.jsonData()) as! [String: Any]
        func damaged(_ edit: (inout [String: Any]) -> Void) throws -> Data {
            var cases = json["cases"] as! [[String: Any]]
            edit(&cases[0])
            var copy = json
            copy["cases"] = cases
            return try JSONSerialization.data(withJSONObject: copy)
        }
        func garble(_ h: inout [String: Any]) {
            var bytes = Data(base64Encoded: h["data"] as! String)!
            for i in stride(from: 12, to: bytes.count, by: 3) { bytes[i] ^= 0x5A }
            h["data"] = bytes.base64EncodedString()
        }
        let inCase = try damaged { c in var h = c["histogram"] as! [String: Any]; garble(&h); c["histogram"] = h }
        let inRepeat = try damaged { c in
            var reps = c["repeats"] as! [[String: Any]]
            var h = reps[1]["histogram"] as! [String: Any]; garble(&h); reps[1]["histogram"] = h
            c["repeats"] = reps
        }
        let otherEncoding = try damaged { c in var h = c["histogram"] as! [String: Any]; h["encoding"] = "raw"; c["histogram"] = h }
        for (data, mentions) in [(inCase, ["x.json: case \(c.id): its histogram does not decode", "damaged"]),
                                 (inRepeat, ["x.json: case \(c.id) repeat 2: its histogram does not decode", "damaged"]),
                                 (otherEncoding, ["x.json: case \(c.id) has a histogram in encoding 'raw'"])] {
            XCTAssertThrowsError(try RunResult.decode(data, source: "x.json")) { e in
                XCTAssertEqual((e as? IOBenchError)?.exitCode, 2)
                for m in mentions { XCTAssertTrue("\(e)".contains(m), "\(e)") }
            }
            XCTAssertThrowsError(try JSONDecoder().decode(RunResult.self, from: data), "any decoder refuses it")
        }
    }
}
