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

/// Runs a Python 3 script (with the `hdrhistogram` package, module `hdrh`) from a scratch
/// directory, with `args`. Fails the test when Python or the package is missing: they are
/// the independent decoders iobench's formats are checked against.
func runPython(_ script: String, args: [String] = [], in dir: ScratchDirectory,
               file: StaticString = #filePath, line: UInt = #line) throws -> String {
    guard sh("python3 -c 'import hdrh'").status == 0 else {
        XCTFail("python3 hdrhistogram is missing: run scripts/install-deps.sh test", file: file, line: line)
        throw XCTSkip("no python3 hdrh")
    }
    let py = dir.file("check-\(UUID().uuidString.prefix(8)).py")
    try script.write(toFile: py, atomically: true, encoding: .utf8)
    let quoted = ([py] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    let r = sh("python3 " + quoted.joined(separator: " "))
    guard r.status == 0 else {
        XCTFail("python3 failed (\(r.status)): \(r.output)", file: file, line: line)
        throw XCTSkip("python3 failed")
    }
    return r.output
}

/// Deterministic latencies with a body and a long tail, like a disk.
func diskLikeLatencies(_ n: Int, seed: UInt64, base: UInt64 = 20_000) -> LatencyHistogram {
    var h = LatencyHistogram()
    var rng = Xoshiro256StarStar(seed: seed)
    for i in 0 ..< n {
        var v = base + rng.uniform(below: 2 * base)
        if i % 100 == 0 { v += rng.uniform(below: 100 * base) }
        if i % 10_000 == 0 { v += rng.uniform(below: 1500 * base) }
        h.record(v)
    }
    return h
}
