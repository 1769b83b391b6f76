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

/// What an io_uring ring really ran with is in each case's JSON and in the text report
/// (issue 12, item 5): the flags that took after the fallbacks, the registered ring fd,
/// the kernel's features and the queue sizes, read from real rings.
final class RingInfoTests: XCTestCase {
    var dir: ScratchDirectory!
    var target: String!

    override func setUpWithError() throws {
        if let disabled = StorageInfo.ioUringDisabled(), disabled != 0 {
            throw XCTSkip("io_uring is disabled here (kernel.io_uring_disabled=\(disabled))")
        }
        dir = try ScratchDirectory()
        target = dir.file("t.dat")
        try makeStampedFile(target, size: 8 << 20)
    }

    override func tearDown() { dir = nil }

    func ring(_ extra: [String]) throws -> (json: [String: Any]?, text: String) {
        let args = ["run", "--target", target!, "--number-ios", "300", "--ramp-time", "0", "--no-progress"] + extra
        let j = try CLI.run(args + ["--format", "json"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let doc = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as! [String: Any]
        let c = (doc["cases"] as! [[String: Any]])[0]
        XCTAssertEqual(c["status"] as? String, "ok", "\(c)")
        let t = try CLI.run(args)
        XCTAssertEqual(t.status, 0, t.stderr)
        return (c["ring"] as? [String: Any], t.stdout)
    }

    static let flagBits: [String: UInt32] = [
        "IOPOLL": 1 << 0, "SQPOLL": 1 << 1, "COOP_TASKRUN": 1 << 8, "SINGLE_ISSUER": 1 << 12, "DEFER_TASKRUN": 1 << 13,
    ]

    /// The names say exactly what the number says.
    func assertNamesMatchFlags(_ r: [String: Any], file: StaticString = #filePath, line: UInt = #line) {
        let flags = (r["setup_flags"] as? NSNumber)?.uint32Value ?? .max
        let names = r["setup_flag_names"] as? [String] ?? ["?"]
        let fromNames = names.reduce(UInt32(0)) { $0 | (Self.flagBits[$1] ?? 0x8000_0000) }
        XCTAssertEqual(fromNames, flags, "\(names) vs \(flags)", file: file, line: line)
        let features = (r["features"] as? NSNumber)?.uint32Value ?? 0
        for (bit, name) in RingInfo.featureBits.enumerated() {
            XCTAssertEqual((r["feature_names"] as? [String] ?? []).contains(name), features & (1 << UInt32(bit)) != 0, name,
                           file: file, line: line)
        }
    }

    func testDefaultRingRecordsTheFlagsThatTookAndTheQueueSizes() throws {
        let (r, text) = try ring(["--engine", "io_uring", "--iodepth", "8"])
        let info = try XCTUnwrap(r, "an io_uring case records its ring")
        assertNamesMatchFlags(info)
        let names = info["setup_flag_names"] as? [String] ?? []
        // iobench asks for these three; whatever took is a prefix of the fallback order.
        let asked = ["COOP_TASKRUN", "SINGLE_ISSUER", "DEFER_TASKRUN"]
        XCTAssertTrue([[], Array(asked[..<1]), Array(asked[..<2]), asked].contains(names.sorted { asked.firstIndex(of: $0)! < asked.firstIndex(of: $1)! }),
                      "\(names)")
        let sq = (info["sq_entries"] as? NSNumber)?.intValue ?? 0
        let cq = (info["cq_entries"] as? NSNumber)?.intValue ?? 0
        XCTAssertEqual(sq, 8, "the SQ is the depth rounded up to a power of two")
        XCTAssertEqual(cq, 2 * sq, "the kernel's default CQ is twice the SQ")
        // io_uring_register_ring_fd exists from 5.18; this check holds on any kernel.
        let uname = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
        let parts = uname.split(separator: ".").compactMap { Int($0.prefix { $0.isNumber }) }
        let atLeast518 = parts.count >= 2 && (parts[0] > 5 || (parts[0] == 5 && parts[1] >= 18))
        XCTAssertEqual(info["registered_ring_fd"] as? Bool, atLeast518)
        XCTAssertTrue(atLeast518 ? (info["feature_names"] as? [String] ?? []).contains("EXT_ARG") : true)
        // The text report names the case and says the same.
        let note = text.split(separator: "\n").first { $0.hasPrefix("io_uring ring: io_uring 4k QD8: setup ") }
        let line = try XCTUnwrap(note, text)
        XCTAssertTrue(line.contains(names.isEmpty ? "default (no setup flags)" : names.joined(separator: "+")), String(line))
        XCTAssertTrue(line.contains("SQ 8 / CQ 16 entries"), String(line))
    }

    func testPlainRingAndSQPollAreRecordedAsAskedFor() throws {
        let (plain, _) = try ring(["--engine", "io_uring", "--iodepth", "4", "--plain-ring"])
        let p = try XCTUnwrap(plain)
        XCTAssertEqual((p["setup_flags"] as? NSNumber)?.intValue, 0)
        XCTAssertEqual(p["setup_flag_names"] as? [String], [])
        assertNamesMatchFlags(p)

        let (sq, text) = try ring(["--engine", "io_uring", "--iodepth", "4", "--sqpoll"])
        let s = try XCTUnwrap(sq)
        let names = s["setup_flag_names"] as? [String] ?? []
        XCTAssertTrue(names.contains("SQPOLL"), "\(names)")
        XCTAssertFalse(names.contains("DEFER_TASKRUN"), "DEFER_TASKRUN is never asked for with SQPOLL: \(names)")
        assertNamesMatchFlags(s)
        XCTAssertTrue(text.contains("io_uring ring: io_uring 4k QD4 sqpoll") || text.contains("io_uring ring: io_uring 4k QD4"), text)
    }

    func testSyncAndLibaioCasesHaveNoRing() throws {
        for engine in ["psync", "libaio"] {
            let (r, text) = try ring(["--engine", engine])
            XCTAssertNil(r, "\(engine) has no ring")
            XCTAssertFalse(text.contains("io_uring ring:"), text)
        }
    }

    /// A result read back keeps the ring as it was written.
    func testRingSurvivesAJSONRoundTrip() throws {
        let info = RingInfo(setupFlags: (1 << 8) | (1 << 12), registeredRingFd: true, features: (1 << 8) | (1 << 0),
                            sqEntries: 32, cqEntries: 64)
        XCTAssertEqual(info.setupFlagNames, ["COOP_TASKRUN", "SINGLE_ISSUER"])
        XCTAssertEqual(info.featureNames, ["SINGLE_MMAP", "EXT_ARG"])
        let data = try JSONEncoder().encode(info)
        XCTAssertEqual(try JSONDecoder().decode(RingInfo.self, from: data), info)
        XCTAssertEqual(info.summary, "setup COOP_TASKRUN+SINGLE_ISSUER, ring fd registered, SQ 32 / CQ 64 entries, features 0x101")
    }
}
