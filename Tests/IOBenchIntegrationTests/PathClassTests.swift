import Atomics
import Foundation
import Glibc
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports
import IOBenchMeasurement

/// Path classes on real filesystems: ext4 (the temp dir, else a loop ext4) and XFS on a
/// loop device. A prepared mixed file (fragmented written data, then an unwritten tail)
/// serves every class; each planned offset is checked against FIEMAP, every read's
/// contents are verified, and the kernel's own trace confirms the mappings per read.
/// The trace is judged against each class's promise and against the kernel's own
/// behaviour (simple path or general path, whichever this kernel took), so the tests
/// hold on kernels with and without the simple read path.
final class PathClassTests: XCTestCase {
    func run(_ spec: CaseSpec, _ target: Target, _ plan: ClassPlan) -> CaseResult {
        let runner = CaseRunner(target: target, spec: spec, stop: ManagedAtomic(false), classPlan: plan)
        var r = CaseResult(spec: spec, outcomes: runner.run())
        r.plan = plan.summary
        return r
    }

    /// A mixed file (64 KiB extents) on `dir`, opened for reading.
    func preparedMixed(in dir: String) throws -> (Target, ExtentMap) {
        let path = dir + "/mixed.dat"
        let report = try LayoutBuilder.prepare(path: path, size: 32 << 20, layout: .mixed(extentBytes: 64 << 10), force: true)
        XCTAssertGreaterThan(report.extents.discontinuities, 300)
        let t = try Target.open(TargetRequest(path: path, createIfMissing: false))
        return (t, try ExtentMap.read(fd: t.fd, path: path))
    }

    /// Checks every planned offset against the extent map, independently of the planner.
    func assertEveryOffsetMeetsItsClass(_ plan: ClassPlan, _ map: ExtentMap, file: StaticString = #filePath, line: UInt = #line) {
        let bs = UInt64(plan.summary.blockSize)
        let B = UInt64(plan.summary.filesystemBlockSize)
        let offsets = plan.table.fileOffsets ?? plan.table.ioOffsets
        XCTAssertGreaterThan(offsets.count, 0, file: file, line: line)
        for o in offsets {
            XCTAssertEqual(o % B, 0, "block-aligned", file: file, line: line)
            XCTAssertLessThanOrEqual(o + bs, map.fileSize, "inside i_size", file: file, line: line)
            guard let first = map.extent(containing: o), let last = map.extent(containing: o + bs - 1) else {
                return XCTFail("offset \(o) is not mapped", file: file, line: line)
            }
            switch plan.summary.pathClass {
            case .simple, .singleExtent, .raw:
                XCTAssertEqual(first, last, "one extent", file: file, line: line)
                XCTAssertTrue(first.isPlainWritten, file: file, line: line)
            case .unwritten:
                XCTAssertEqual(first, last, file: file, line: line)
                XCTAssertTrue(first.isUnwritten, file: file, line: line)
            case .multiExtent:
                XCTAssertNotEqual(first, last, "crosses a boundary", file: file, line: line)
                var covered = o
                while covered < o + bs {
                    guard let e = map.extent(containing: covered), e.isPlainWritten else {
                        return XCTFail("read at \(o) touches unwritten or unmapped data at \(covered)", file: file, line: line)
                    }
                    covered = e.end
                }
            }
        }
    }

    func exerciseClasses(in dir: String, rawExpected: Bool) throws {
        let (target, map) = try preparedMixed(in: dir)
        let classes: [(PathClass, Int)] = [(.simple, 4096), (.singleExtent, 8192), (.multiExtent, 8192), (.unwritten, 4096)]
            + (rawExpected ? [(.raw, 4096)] : [])
        var traced: [PathClass: PathVerification] = [:]
        for (cls, bs) in classes {
            let plan = try ClassPlanner.plan(cls, bs: bs, target: target, map: map)
            assertEveryOffsetMeetsItsClass(plan, map)
            if cls == .raw {
                XCTAssertEqual(plan.summary.rawSampleVerified, 32, "raw plan checked byte for byte")
                XCTAssertNotNil(plan.summary.rawDevice)
            }
            // Contents: every read returns what is on disk (the stamp, or zeros when unwritten).
            for engine in [EngineKind.psync, .ioUring] {
                var s = CaseSpec(engine: engine)
                s.pathClass = cls
                s.blockSize = bs
                s.queueDepth = engine == .psync ? 1 : 16
                s.runtimeNs = nil
                s.ioLimit = 2000
                s.verify = true
                let r = run(s, target, plan)
                XCTAssertEqual(r.status, .ok, "\(cls) \(engine): \(r.reason ?? "")")
                XCTAssertEqual(r.ios, 2000)
                XCTAssertEqual(r.errors.verifyMismatches, 0, "\(cls) \(engine)")
                XCTAssertGreaterThanOrEqual(r.errors.verifiedReads, 2000)
            }
            if PathTracer.unavailableReason() == nil {
                traced[cls] = PathVerifier.verify(plan: plan, target: target, seed: 1)
            }
        }
        if let why = PathTracer.unavailableReason() {
            throw XCTSkip("plans and contents checked; the kernel's trace of them needs tracing: \(why)")
        }
        for cls in [PathClass.simple, .singleExtent, .multiExtent, .unwritten] {
            let v = try XCTUnwrap(traced[cls])
            XCTAssertEqual(v.counts.reads, UInt64(PathVerifier.reads), "\(cls): \(v.note ?? "")")
            XCTAssertEqual(v.promisedMappingsPerRead, cls.mappingPromise.text)
            XCTAssertEqual(v.holds, true, "\(cls): the kernel's \(v.counts.mappingsPerRead ?? -1) mappings per read keep the promise \(v.promisedMappingsPerRead)")
            assertKernelPathIsConsistent(v.counts, cls)
        }
        let multi = try XCTUnwrap(traced[.multiExtent]?.counts)
        XCTAssertEqual(multi.mappingsPerRead, 2, "each planned read crosses one boundary")
        XCTAssertEqual(multi.simpleReadPathActive, false, "a read of two mappings never takes the simple path")
        XCTAssertEqual(multi.biosPerRead, 2, "one bio per extent")
        XCTAssertEqual(traced[.simple]?.counts.biosPerRead, 1)
        XCTAssertEqual(traced[.unwritten]?.counts.bios, 0, "unwritten reads reach no device")
    }

    /// The trace shows which path the kernel took, and its counts are that path's: the
    /// simple path runs no iomap_iter and begins no general-path dio (it completes each
    /// read once); the general path begins one dio per read and runs iomap_iter once per
    /// mapping plus the final call. Simple path active ⇔ no iomap_iter, on any kernel.
    func assertKernelPathIsConsistent(_ c: PathTraceCounts, _ cls: PathClass, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(c.lost, "\(cls)", file: file, line: line)
        XCTAssertEqual(c.dioComplete, c.reads, "\(cls): one completion per read on either path", file: file, line: line)
        guard let active = c.simpleReadPathActive else {
            return XCTFail("\(cls): the trace does not show which path ran: \(c)", file: file, line: line)
        }
        XCTAssertEqual(active, c.iomapIter == 0, "\(cls): simple path active ⇔ no iomap_iter", file: file, line: line)
        if active {
            XCTAssertEqual(c.dioRwBegin, 0, "\(cls): the simple path begins no general-path dio", file: file, line: line)
            XCTAssertEqual(c.mappingsPerRead, 1, "\(cls)", file: file, line: line)
        } else {
            let mappings = UInt64((c.mappingsPerRead ?? 0).rounded())
            XCTAssertEqual(c.dioRwBegin, c.reads, "\(cls): one general-path dio per read", file: file, line: line)
            XCTAssertEqual(c.iomapIter, (mappings + 1) * c.reads, "\(cls): iomap_iter per mapping plus the final call", file: file, line: line)
        }
    }

    /// ext4 in the scratch directory (IOBENCH_TEST_DIR, else the temp dir) when that is
    /// ext4; `raw` needs a device it can open, so it is left to the loop-device test.
    func testClassesOnExt4ScratchDirectory() throws {
        let dir = try ScratchDirectory()
        let fs = StorageInfo.filesystem(of: dir.path)
        guard fs?.type == "ext4" else {
            throw XCTSkip("the scratch directory \(dir.path) is on \(fs?.type ?? "an unknown filesystem"), not ext4 (set IOBENCH_TEST_DIR to an ext4 directory); testClassesOnExt4LoopDevice covers ext4")
        }
        try exerciseClasses(in: dir.path, rawExpected: false)
    }

    /// ext4 on a loop device, where the raw class can open the device too.
    func testClassesOnExt4LoopDevice() throws {
        let fs = try LoopFilesystem(type: "ext4")
        defer { fs.cleanup() }
        try exerciseClasses(in: fs.mountPoint, rawExpected: true)
    }

    func testClassesOnXFS() throws {
        let fs = try LoopFilesystem(type: "xfs")
        defer { fs.cleanup() }
        try exerciseClasses(in: fs.mountPoint, rawExpected: true)
    }

    /// The CLI end to end: classes with --verify-path report the kernel's counts in JSON.
    func testRunWithClassesAndVerifyPath() throws {
        guard PathTracer.unavailableReason() == nil else { throw XCTSkip(PathTracer.unavailableReason()!) }
        let fs = try LoopFilesystem(type: "xfs")
        defer { fs.cleanup() }
        let path = fs.file("frag.dat")
        let prep = try CLI.run(["prepare", path, "--size", "32m", "--layout", "fragmented:64k"])
        XCTAssertEqual(prep.status, 0, prep.stderr)
        let r = try CLI.run(["run", "--target", path, "--engine", "io_uring", "--iodepth", "8",
                             "--class", "simple,single-extent:8k,multi-extent:8k,raw", "--verify-path",
                             "--number-ios", "500", "--ramp-time", "0", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let result = try RunResult.decode(Data(r.stdout.utf8), source: "stdout")
        let byClass = Dictionary(uniqueKeysWithValues: result.cases.map { ($0.config.pathClass!, $0) })
        guard case .success(let root) = Tracefs.root() else { return XCTFail("no tracefs") }
        let hist = PathTracer.histTriggersUnavailable(eventDir: root + "/events/iomap/iomap_iter") == nil
        XCTAssertEqual(byClass[.simple]?.pathVerification?.method, hist ? .histTrigger : .traceParser, "the counting method the kernel allows")
        XCTAssertNil(byClass[.raw]?.pathVerification?.method, "raw is not traced")
        XCTAssertEqual(byClass[.simple]?.pathVerification?.counts.mappingsPerRead, 1)
        XCTAssertEqual(byClass[.singleExtent]?.pathVerification?.counts.mappingsPerRead, 1)
        XCTAssertEqual(byClass[.multiExtent]?.pathVerification?.counts.mappingsPerRead, 2)
        XCTAssertEqual(byClass[.raw]?.status, .ok)
        XCTAssertEqual(byClass[.raw]?.plan?.rawDevice, fs.device)
        // The text report says whether the simple path is active, as the kernel's trace does.
        let active = try XCTUnwrap(byClass[.simple]?.pathVerification?.counts.simpleReadPathActive, "the trace shows which path ran")
        XCTAssertEqual(active, byClass[.simple]?.pathVerification?.counts.iomapIter == 0)
        let text = try CLI.run(["run", "--target", path, "--engine", "psync", "--class", "simple,multi-extent:8k",
                                "--verify-path", "--number-ios", "200", "--ramp-time", "0", "--no-progress"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("simple read path active: \(active ? "yes" : "no")"), text.stdout)
        XCTAssertTrue(text.stdout.contains("kernel 2.00"), text.stdout)
    }

    func testImpossibleClassIsBadInputNamingWhy() throws {
        let dir = try ScratchDirectory()
        let path = dir.file("contig.dat")
        _ = try LayoutBuilder.prepare(path: path, size: 8 << 20, layout: .contiguous, force: true)
        let r = try CLI.run(["run", "--target", path, "--engine", "psync", "--class", "unwritten", "--runtime", "100ms"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("no unwritten extents"), r.stderr)
        let m = try CLI.run(["run", "--target", path, "--engine", "psync", "--class", "multi-extent", "--runtime", "100ms"])
        XCTAssertEqual(m.status, 2)
        XCTAssertTrue(m.stderr.contains("at least two filesystem blocks"), m.stderr)
        let bogus = try CLI.run(["run", "--target", path, "--class", "fast"])
        XCTAssertEqual(bogus.status, 2)
        XCTAssertTrue(bogus.stderr.contains("unknown class 'fast'"), bogus.stderr)
    }
}
