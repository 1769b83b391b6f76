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

/// The library's run API (`RunRequest` → `RunPlan` → `RunOutcome`), used as a program
/// embedding iobench would: the same checks and results as `iobench run`, no CLI.
final class SuiteAPITests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }
    override func tearDown() { dir = nil }

    func testRunRequestMeasuresAndWritesItsFiles() throws {
        var request = RunRequest()
        request.targets = [dir.file("t.dat")]
        request.regionSize = 4 << 20
        request.engines = [.psync, .libaio]
        request.queueDepths = [4]
        request.ioLimit = 300
        request.rampNs = 0
        request.outputs.json = dir.file("r.json")
        request.outputs.histLog = dir.file("r.hlog")
        let plan = try request.plan()
        XCTAssertEqual(plan.specs.map(\.engine), [.psync, .libaio])
        XCTAssertEqual(plan.specs.map(\.queueDepth), [1, 4], "sync engines run at QD1")

        let outcome = try plan.run()
        XCTAssertNil(outcome.saveError)
        XCTAssertNil(outcome.result.failureExitCode)
        XCTAssertEqual(outcome.result.cases.map(\.status), [.ok, .ok])
        XCTAssertEqual(outcome.result.cases.map(\.ios), [300, 300])
        let saved = try ResultFile.read(dir.file("r.json"))
        XCTAssertEqual(saved.cases.map(\.id), outcome.result.cases.map(\.id))
        let log = try String(contentsOfFile: dir.file("r.hlog"), encoding: .utf8)
        XCTAssertTrue(log.contains("interval log: 2 cases"), log)
    }

    func testPlanRefusesBeforeCreatingAnything() {
        var request = RunRequest()
        request.targets = [dir.file("never.dat")]
        request.engines = [.ioUring]
        request.queueDepths = [0]
        XCTAssertThrowsError(try request.plan()) { error in
            XCTAssertEqual(error as? IOBenchError, .badInput("--iodepth 0 is invalid; the queue depth must be at least 1"))
        }
        request.queueDepths = [1]
        request.outputs.hgrmDirectory = dir.file("missing")
        XCTAssertThrowsError(try request.plan()) { error in
            XCTAssertEqual((error as? IOBenchError)?.exitCode, 2)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("never.dat")), "nothing created")
    }
}
