import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports
@testable import IOBenchWorkload

/// Issue 15: the difference between two profiled classes (ns per read by layer and by
/// function, with a 95% sampling interval), its table in the text, Markdown and HTML
/// reports, the stacks kept in JSON, and the flame graphs drawn from them.
final class ProfileDifferenceTests: XCTestCase {
    static let entry = "[iobench];entry_SYSCALL_64_after_hwframe;do_syscall_64;__x64_sys_pread64;vfs_read;xfs_file_read_iter;iomap_dio_rw;__iomap_dio_rw"

    /// A profiled case: `stacks` below the read entry, CPU per read `cpuNs` (the cpu-clock
    /// count over the reads).
    func profiled(_ cls: PathClass, bs: Int, stacks: [String: UInt64], cpuNs: Double) -> CaseResult {
        var c = ClassComparisonTests.round(cls, bs: bs, latencyNs: 50_000, iops: 10_000, cpuNs: UInt64(cpuNs), seed: 1, n: 1000)
        let f = FoldedStacks(counts: Dictionary(uniqueKeysWithValues: stacks.map { (Self.entry + ";" + $0.key, $0.value) }),
                             periodNs: 0, countedNs: UInt64(cpuNs * Double(c.ios)), lost: 0, hardware: false)
        c.profile = ProfileSummary(f, frequencyHz: 4999, threads: 1, cpuNsPerRead: cpuNs, rusageCPUNs: nil)
        return c
    }

    func run(_ cases: [CaseResult]) -> RunResult {
        var r = RunResult(startedAt: "2026-12-02T00:00:00Z", environment: EnvironmentInfo(kernel: "6.1", hostname: "h", onlineCPUs: 2),
                          target: nil, arguments: [], cases: cases)
        r.classComparisons = ClassComparison.compute(cases)
        return r
    }

    /// A case over rounds, each with its own stacks and CPU per read (as `--repeat`).
    func rounds(_ cls: PathClass, bs: Int, _ parts: [(stacks: [String: UInt64], cpuNs: Double)]) -> CaseResult {
        CaseResult.aggregate(parts.map { profiled(cls, bs: bs, stacks: $0.stacks, cpuNs: $0.cpuNs) })
    }

    static func path(mapping: UInt64, spin: UInt64, doorbell: UInt64) -> [String: UInt64] {
        ["iomap_iter;xfs_read_iomap_begin;xfs_bmapi_read": mapping,
         "iomap_dio_bio_iter;submit_bio;virtio_queue_rq;_raw_spin_unlock_irqrestore": spin,
         "iomap_dio_bio_iter;submit_bio;virtio_queue_rq;iowrite16": doorbell]
    }

    // 10,000 samples a round. The class spends 20%, 21%, 19% of 10 µs in the mapping
    // (xfs_bmapi_read under iomap_iter), the reference 10% of 8 µs in every round.
    lazy var multi = rounds(.multiExtent, bs: 8192, [(Self.path(mapping: 2000, spin: 3000, doorbell: 5000), 10_000),
                                                     (Self.path(mapping: 2100, spin: 3000, doorbell: 4900), 10_000),
                                                     (Self.path(mapping: 1900, spin: 3000, doorbell: 5100), 10_000)])
    lazy var simple = rounds(.simple, bs: 4096, Array(repeating: (Self.path(mapping: 1000, spin: 3000, doorbell: 6000), 8_000), count: 3))

    func testDifferencePairsRoundsWithATInterval() throws {
        let pairs = ProfileDifference.pairs(run([simple, multi]))
        XCTAssertEqual(pairs.count, 1, "multi-extent against simple: its single-extent reference was not run")
        let d = try XCTUnwrap(pairs.first)
        XCTAssertFalse(d.likeForLike)
        XCTAssertEqual(d.rounds, 3)
        XCTAssertEqual(d.cpuNsPerRead, 10_000, accuracy: 1e-6)
        XCTAssertEqual(d.referenceCPUNsPerRead, 8_000, accuracy: 1e-6)
        // Per round: 2000 − 800, 2100 − 800, 1900 − 800 = 1200, 1300, 1100: mean 1200,
        // s = 100, t(0.975, 2) = 4.3027, half-width 4.3027 · 100 / √3 = 248.4.
        let fs = try XCTUnwrap(d.layers.first { $0.name == "filesystem" })
        XCTAssertEqual(fs.delta, 1200, accuracy: 1e-6)
        XCTAssertEqual(fs.nsPerRead, 2000, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(fs.halfWidth), 4.3027 * 100 / 3.0.squareRoot(), accuracy: 0.05)
        XCTAssertTrue(fs.resolved)
        // The spinlock is a helper: its time is the driver's (its caller, virtio_queue_rq).
        let driver = try XCTUnwrap(d.layers.first { $0.name == "driver" })
        XCTAssertEqual(driver.nsPerRead, 8000, accuracy: 1e-6)
        XCTAssertEqual(driver.referenceNsPerRead, 7200, accuracy: 1e-6)
        XCTAssertEqual(d.layers.map(\.nsPerRead).reduce(0, +), 10_000, accuracy: 1e-6, "the layers add up to CPU per read")
        // Inclusive: iomap_iter carries the mapping; the frames of one chain (iomap_iter,
        // xfs_read_iomap_begin, xfs_bmapi_read: the same figures) are listed once.
        let inclusive = d.inclusiveFunctions.map(\.name)
        XCTAssertTrue(inclusive.contains("iomap_iter"), "\(inclusive)")
        XCTAssertFalse(inclusive.contains("xfs_read_iomap_begin"), "same figures as iomap_iter: \(inclusive)")
        XCTAssertTrue(d.selfFunctions.contains { $0.name == "xfs_bmapi_read" && $0.resolved })
        let headline = ReportContent.profileHeadline(d)
        XCTAssertTrue(headline.contains("3 rounds") && headline.contains("+1.20 µs in"), headline)
    }

    func testOneRoundHasNoInterval() throws {
        let one = profiled(.multiExtent, bs: 8192, stacks: Self.path(mapping: 2000, spin: 3000, doorbell: 5000), cpuNs: 10_000)
        let ref = profiled(.simple, bs: 4096, stacks: Self.path(mapping: 1000, spin: 3000, doorbell: 6000), cpuNs: 8_000)
        let r = run([ref, one])
        let d = try XCTUnwrap(ProfileDifference.pairs(r).first)
        XCTAssertEqual(d.rounds, 1)
        XCTAssertTrue((d.layers + d.selfFunctions).allSatisfy { $0.halfWidth == nil && !$0.resolved })
        XCTAssertEqual(d.layers.first { $0.name == "filesystem" }?.delta ?? 0, 1200, accuracy: 1e-6)
        XCTAssertTrue(ReportContent.profileHeadline(d).contains("1 round, no interval"), ReportContent.profileHeadline(d))
        let row = try XCTUnwrap(ReportContent.profileDifferenceTables(r).first?.rows.first { $0[0] == "filesystem" })
        XCTAssertEqual(row, ["filesystem", "layer", "2000", "800", "+1200", "(n=1)"])
    }

    func testLikeForLikeReferenceIsPreferred() throws {
        let single = profiled(.singleExtent, bs: 8192, stacks: ["iomap_iter;xfs_bmapi_read": 500, "iomap_dio_bio_iter;submit_bio": 9500], cpuNs: 9000)
        let m = profiled(.multiExtent, bs: 8192, stacks: Self.path(mapping: 2000, spin: 3000, doorbell: 5000), cpuNs: 10_000)
        let s = profiled(.simple, bs: 4096, stacks: Self.path(mapping: 1000, spin: 3000, doorbell: 6000), cpuNs: 8_000)
        let pairs = ProfileDifference.pairs(run([s, single, m]))
        let mm = try XCTUnwrap(pairs.first { $0.caseLabel == m.label })
        XCTAssertTrue(mm.likeForLike)
        XCTAssertEqual(mm.referenceLabel, single.label)
        XCTAssertEqual(pairs.filter { $0.caseLabel == m.label }.count, 1)
        // single-extent's own reference (raw) was not run: it is set against simple.
        XCTAssertEqual(pairs.first { $0.caseLabel == single.label }?.referenceLabel, s.label)
    }

    func testIdenticalProfilesResolveNothing() throws {
        let twin = rounds(.multiExtent, bs: 8192, Array(repeating: (Self.path(mapping: 1000, spin: 3000, doorbell: 6000), 8_000), count: 3))
        let d = try XCTUnwrap(ProfileDifference.pairs(run([simple, twin])).first)
        XCTAssertTrue((d.layers + d.selfFunctions + d.inclusiveFunctions).allSatisfy { !$0.resolved && $0.delta == 0 })
        XCTAssertTrue(ReportContent.profileHeadline(d).hasSuffix("no function differs beyond its interval"))
    }

    func testReportsCarryTheTableAndTheJSONKeepsTheRounds() throws {
        let r = run([simple, multi])
        let text = TextReport.render(r)
        XCTAssertTrue(text.contains("profile Δ \(multi.label) vs \(simple.label)"), text)
        XCTAssertNotNil(text.range(of: "\nwhere +by +class ns/read +ref ns/read +Δ ns/read +95% ±\n", options: .regularExpression), text)
        XCTAssertNotNil(text.range(of: "\nfilesystem +layer +2000 +800 +\\+1200 +248\n", options: .regularExpression), text)
        XCTAssertNil(text.range(of: "\n\\[iobench\\] +self", options: .regularExpression), "no row for a function neither case sampled: \(text)")
        let md = MarkdownReport.render(r)
        XCTAssertTrue(md.contains("| where | by | class ns/read | ref ns/read | Δ ns/read | 95% ± |"), md)
        XCTAssertTrue(md.contains("| filesystem | layer | 2000 | 800 | +1200 | 248 |"), md)

        // JSON keeps the merged stacks and every round's profile; read back, the flame
        // graphs and the table are the same.
        let back = try RunResult.decode(try r.jsonData(), source: "test")
        XCTAssertEqual(back.cases[1].profile?.stacks, multi.profile?.stacks)
        XCTAssertEqual(back.cases[1].profile?.samples, 30_000, "the rounds' samples added")
        XCTAssertEqual(back.cases[1].repeats?.compactMap(\.profile).count, 3)
        XCTAssertEqual(ReportContent.profileDifferenceTables(back).map(\.rows), ReportContent.profileDifferenceTables(r).map(\.rows))
        let html = HTMLReport.render([.run(name: "r.json", result: back)])
        XCTAssertTrue(html.contains("Where the CPU per read differs between classes"))
        XCTAssertTrue(html.contains("Differential flame graph: \(multi.label) vs \(simple.label)"))
        XCTAssertEqual(html.components(separatedBy: "<h3>Flame graphs</h3>").count, 2)
    }

    func testStackTableRoundTrips() {
        let counts: [String: UInt64] = ["a;b;c": 3, "a;b": 5, "x": 1, "a;c;b": 2]
        let t = StackTable(counts)
        XCTAssertEqual(t.counts, counts)
        XCTAssertEqual(t.frames.count, 4, "each frame name once")
        XCTAssertEqual(t.stacks.first, [5, 0, 1], "heaviest first: count, then frame indices outermost first")
    }

    func testFlameGraphIsWellFormedAndItsWidthsAreTheShares() throws {
        let svg = try XCTUnwrap(FlameGraph.render(multi))
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "well-formed XML: \(String(describing: parser.parserError))")
        // The frames directly above iomap_dio_bio_iter's caller split 20:80 of the width.
        func width(_ name: String) throws -> Double {
            let tip = try XCTUnwrap(svg.range(of: "<title>\(name) — "), "\(name) drawn")
            let rect = try XCTUnwrap(svg[tip.upperBound...].range(of: "width=\""))
            let rest = svg[rect.upperBound...]
            return try XCTUnwrap(Double(rest.prefix { $0 != "\"" }))
        }
        let iter = try width("iomap_iter"), bio = try width("iomap_dio_bio_iter")
        XCTAssertEqual(iter / (iter + bio), 0.2, accuracy: 0.002)
        XCTAssertTrue(svg.contains("iomap_iter — 6000 samples, 20.00%, 2000 ns/read"), "tooltip figures (3 rounds added)")

        let diff = try XCTUnwrap(FlameGraph.renderDifference(multi, vs: simple))
        XCTAssertTrue(XMLParser(data: Data(diff.utf8)).parse())
        // xfs_bmapi_read: 2000 ns/read vs 800: the largest increase, full red.
        XCTAssertTrue(diff.contains("xfs_bmapi_read — 2000 ns/read vs 800 (+1200); self +1200"), diff)
        XCTAssertTrue(diff.contains("iomap_iter — 2000 ns/read vs 800 (+1200); self +0"), "a caller is coloured by its own time: \(diff)")
        XCTAssertTrue(diff.contains("fill=\"#ff0000\""), "the largest difference in full red")
        // iowrite16: 5000 vs 4800: a little more, pale red, never blue.
        XCTAssertTrue(diff.contains("iowrite16 — 5000 ns/read vs 4800 (+200); self +200"), diff)
        XCTAssertEqual(FlameGraph.diffColour(-1200, max: 1200), "#0000ff")
        XCTAssertEqual(FlameGraph.diffColour(0, max: 1200), "#ffffff")
    }
}
