import Foundation
import XCTest
@testable import IOBenchPlatform

/// Regression tests from the third adversarial review (branch review), of the restructuring
/// of issue 13 (45fb3f4). Each test states the promise it checks; they FAIL on 45fb3f4.
final class Review3Tests: XCTestCase {
    /// `prepare` installed the signal thread before it parsed its arguments: with no thread
    /// to spare (RLIMIT_NPROC, a cgroup's pids.max), `prepare PATH --size bogus` exited 3
    /// ("cannot create the signal thread") instead of 2 naming the bad --size; 409388b,
    /// which needed no thread, said what to fix. Bad input is checked first.
    func testPrepareReportsBadInputBeforeNeedingTheSignalThread() throws {
        guard isRoot(), FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") else {
            throw XCTSkip("needs root, setpriv and prlimit to run iobench as nobody under RLIMIT_NPROC 1")
        }
        let dir = try ScratchDirectory()
        chmod(dir.path, 0o777)
        let r = sh("setpriv --reuid=65534 --regid=65534 --clear-groups prlimit --nproc=1 '\(CLI.binary)' prepare '\(dir.file("f.dat"))' --size bogus; echo \"rc=$?\"")
        XCTAssertTrue(r.output.contains("rc=2"), r.output)
        XCTAssertTrue(r.output.contains("--size 'bogus' is not a size"), r.output)
        XCTAssertFalse(r.output.contains("signal thread"), r.output)
    }

    /// pthread_create reports EAGAIN also when the thread's stack does not fit RLIMIT_AS
    /// (reproduced: `prlimit --as=75800000 iobench run --engine psync --size 16m` on the
    /// development VM). The message blamed only `ulimit -u`; with an address-space limit
    /// set it must name `ulimit -v` too, as the job threads' message does.
    func testSignalThreadFailureUnderAnAddressSpaceLimitNamesUlimitV() {
        let withLimit = SignalStop.threadFailureMessage(EAGAIN, addressSpaceLimit: 80 << 20)
        XCTAssertTrue(withLimit.contains("ulimit -v"), withLimit)
        XCTAssertTrue(withLimit.contains("80.0 MiB"), withLimit)
        let without = SignalStop.threadFailureMessage(EAGAIN, addressSpaceLimit: nil)
        XCTAssertTrue(without.contains("ulimit -u"), without)
        XCTAssertFalse(without.contains("ulimit -v"), without)
    }
}
