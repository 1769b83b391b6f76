import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchEngines
@testable import IOBenchMeasurement
@testable import IOBenchWorkload
@testable import IOBenchPlatform

/// The engine registry (issue 12, items 1 and 2): what each descriptor declares, what is
/// derived from it (options masked and refused, suites, depths), and case ids that stay
/// byte-identical for stored baselines.
final class RegistryTests: XCTestCase {
    func testRegistryListsEveryEngineOnceInOrder() {
        XCTAssertEqual(EngineRegistry.names, ["psync", "pvsync2", "libaio", "io_uring", "io_uring-poll", "null", "io_uring-nop"])
        XCTAssertEqual(Set(EngineRegistry.names).count, EngineRegistry.all.count, "names are unique")
        XCTAssertEqual(EngineKind.allCases.map(\.rawValue), EngineRegistry.names)
        XCTAssertEqual(EngineRegistry.storageEngines, [.psync, .pvsync2, .libaio, .ioUring, .ioUringPoll])
    }

    func testEveryNameRoundTripsThroughEngineKindAndJSON() throws {
        for d in EngineRegistry.all {
            XCTAssertEqual(EngineKind(rawValue: d.kind.rawValue), d.kind)
            XCTAssertEqual(EngineRegistry.descriptor(EngineKind(rawValue: d.kind.rawValue))?.kind, d.kind)
            let json = try JSONEncoder().encode(d.kind)
            XCTAssertEqual(String(decoding: json, as: UTF8.self), "\"\(d.kind.rawValue)\"", "a plain JSON string")
            XCTAssertEqual(try JSONDecoder().decode(EngineKind.self, from: json), d.kind)
        }
        // The constants declared beside each engine are the registry's names.
        XCTAssertEqual([EngineKind.psync, .pvsync2, .libaio, .ioUring, .ioUringPoll, .null, .ioUringNop].map(\.rawValue),
                       EngineRegistry.names)
    }

    func testUnknownEngineDecodesButDoesNotRun() throws {
        let json = #"{"engine": "spdk", "iodepth": 4, "runtime_ns": 1000000}"#
        let spec = try JSONDecoder().decode(CaseSpec.self, from: Data(json.utf8))
        XCTAssertEqual(spec.engine.rawValue, "spdk")
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(spec.engine), as: UTF8.self), "\"spdk\"")
        let known = EngineRegistry.names.joined(separator: ", ")
        XCTAssertThrowsError(try spec.validate()) { error in
            XCTAssertEqual(error as? IOBenchError, .badInput("unknown engine 'spdk'; this iobench runs \(known)"))
        }
        var request = RunRequest()
        request.engines = [EngineKind(rawValue: "spdk")]
        XCTAssertThrowsError(try request.specs()) { XCTAssertEqual(($0 as? IOBenchError)?.exitCode, 2) }
        XCTAssertThrowsError(try RunSession.preflight(EngineKind(rawValue: "spdk"))) { XCTAssertEqual(($0 as? IOBenchError)?.exitCode, 2) }
    }

    func testDescriptorsDeclareTheirOptionsLimitsAndSuites() {
        typealias Row = (options: Set<EngineOptionKey>, sync: Bool, maxQD: Int, ioUring: Bool, storage: Bool, depths: [Int], classQD: Int?)
        let ring: Set<EngineOptionKey> = [.fixedBuffers, .registeredFiles, .sqpoll, .plainRing, .submitBatch, .completeBatch]
        let expected: [String: Row] = [
            "psync": ([], true, 1, false, true, [1], 1),
            "pvsync2": ([.hipri], true, 1, false, true, [1], 1),
            "libaio": ([.submitBatch, .completeBatch], false, 65536, false, true, [1, 32], 32),
            "io_uring": (ring, false, 32768, true, true, [1, 32], 32),
            "io_uring-poll": (ring, false, 32768, true, true, [1, 32], 32),
            "null": ([.submitBatch, .completeBatch], false, 65536, false, false, [1], nil),
            "io_uring-nop": (ring, false, 32768, true, false, [32], nil),
        ]
        XCTAssertEqual(Set(expected.keys), Set(EngineRegistry.names))
        for d in EngineRegistry.all {
            let e = expected[d.kind.rawValue]!
            XCTAssertEqual(d.options, e.options, d.kind.rawValue)
            XCTAssertEqual(d.isSynchronous, e.sync, d.kind.rawValue)
            XCTAssertEqual(d.maxQueueDepth, e.maxQD, d.kind.rawValue)
            XCTAssertEqual(d.needsIoUring, e.ioUring, d.kind.rawValue)
            XCTAssertEqual(d.measuresStorage, e.storage, d.kind.rawValue)
            XCTAssertEqual(d.defaultDepths, e.depths, d.kind.rawValue)
            XCTAssertEqual(d.classSuiteDepth, e.classQD, d.kind.rawValue)
            XCTAssertFalse(d.summary.isEmpty || d.summary.contains("\n"), "one-line summary for \(d.kind.rawValue)")
        }
        XCTAssertEqual(ClassSuite.engines.map(\.engine), [.psync, .pvsync2, .libaio, .ioUring, .ioUringPoll])
        XCTAssertEqual(ClassSuite.engines.map(\.queueDepth), [1, 1, 32, 32, 32])
        XCTAssertEqual(EngineOptionKey.fixedBuffers.engines, [.ioUring, .ioUringPoll, .ioUringNop])
        XCTAssertEqual(EngineOptionKey.hipri.engines, [.pvsync2])
        XCTAssertEqual(EngineOptionKey.submitBatch.engines, [.libaio, .ioUring, .ioUringPoll, .null, .ioUringNop])
    }

    /// Ids as iobench wrote them before the registry: stored baselines must keep matching.
    func testCaseIDsArePinned() {
        func spec(_ e: EngineKind, qd: Int = 1, bs: Int = 4096, jobs: Int = 1, _ edit: (inout CaseSpec) -> Void = { _ in }) -> String {
            var s = CaseSpec(engine: e)
            s.queueDepth = qd
            s.blockSize = bs
            s.jobs = jobs
            edit(&s)
            return s.id
        }
        XCTAssertEqual(spec(.psync), "psync-randread-bs4k-qd1-j1")
        XCTAssertEqual(spec(.pvsync2) { $0.options.hipri = true }, "pvsync2-randread-bs4k-qd1-j1-hipri")
        XCTAssertEqual(spec(.libaio, qd: 32, jobs: 2) { $0.options.submitBatch = 8; $0.options.completeBatch = 4 },
                       "libaio-randread-bs4k-qd32-j2-sb8-cb4")
        XCTAssertEqual(spec(.ioUring, qd: 128, bs: 65536) {
            $0.options.fixedBuffers = true; $0.options.registeredFiles = true; $0.options.sqpoll = true
            $0.options.submitBatch = 32; $0.options.completeBatch = 16; $0.options.plainRing = true
        }, "io_uring-randread-bs64k-qd128-j1-fixedbufs-regfiles-sqpoll-sb32-cb16-plainring")
        XCTAssertEqual(spec(.ioUringPoll, qd: 32) { $0.options.registeredFiles = true; $0.pattern = .sequential },
                       "io_uring-poll-read-bs4k-qd32-j1-regfiles")
        XCTAssertEqual(spec(.ioUring, qd: 32, bs: 8192) { $0.pathClass = .singleExtent; $0.latencySample = 0 },
                       "io_uring-randread-bs8k-qd32-j1-single-extent-nolat")
        XCTAssertEqual(spec(.psync, bs: 8192) { $0.pathClass = .multiExtent; $0.latencySample = 4 },
                       "psync-randread-bs8k-qd1-j1-multi-extent-lat4")
        XCTAssertEqual(spec(.ioUring, qd: 32) { $0.options.plainRing = true }, "io_uring-randread-bs4k-qd32-j1-plainring")
        // The new engines follow the same scheme.
        XCTAssertEqual(spec(.null), "null-randread-bs4k-qd1-j1")
        XCTAssertEqual(spec(.ioUringNop, qd: 32) { $0.options.submitBatch = 8 }, "io_uring-nop-randread-bs4k-qd32-j1-sb8")
    }

    func testValidateRefusesWhatTheDescriptorRulesOut() {
        func refusal(_ e: EngineKind, qd: Int = 1, _ edit: (inout CaseSpec) -> Void) -> String? {
            var s = CaseSpec(engine: e)
            s.queueDepth = qd
            edit(&s)
            do { try s.validate(); return nil } catch { return error.description }
        }
        XCTAssertEqual(refusal(.libaio) { $0.options.fixedBuffers = true; $0.options.sqpoll = true },
                       "--fixed-buffers and --sqpoll apply to io_uring engines only; drop them or use --engine io_uring")
        XCTAssertEqual(refusal(.psync) { $0.options.hipri = true },
                       "--hipri applies to pvsync2 only; drop it or use --engine pvsync2 (io_uring-poll is the async polled engine)")
        XCTAssertEqual(refusal(.ioUring, qd: 40000) { _ in },
                       "--iodepth 40000 exceeds io_uring's ring limit of 32768 entries; lower --iodepth")
        XCTAssertEqual(refusal(.ioUringNop, qd: 40000) { _ in },
                       "--iodepth 40000 exceeds io_uring's ring limit of 32768 entries; lower --iodepth")
        XCTAssertNil(refusal(.null, qd: 65536) { _ in }, "null takes any depth up to 65536")
        XCTAssertEqual(refusal(.pvsync2, qd: 4) { _ in },
                       "pvsync2 is synchronous and keeps one read in flight; use --iodepth 1, or --engine libaio or io_uring for QD 4")
        XCTAssertTrue(refusal(.null) { $0.verify = true }?.hasPrefix("--verify checks the data each read returns, and null reads no data") ?? false)
        XCTAssertTrue(refusal(.ioUringNop, qd: 32) { $0.verify = true }?.contains("io_uring-nop reads no data") ?? false)
        XCTAssertTrue(refusal(.null) { $0.pathClass = .simple }?.hasPrefix("--class simple places reads on the file's extents, and null reads nothing") ?? false)
        XCTAssertNil(refusal(.ioUringNop, qd: 32) {
            $0.options.fixedBuffers = true; $0.options.registeredFiles = true; $0.options.sqpoll = true
            $0.options.plainRing = true; $0.options.submitBatch = 8; $0.options.completeBatch = 8
        }, "io_uring-nop takes every io_uring option")
    }

    func testRequestMasksOptionsPerCaseAndRefusesThemForANamedEngineAlone() throws {
        var r = RunRequest()
        r.targets = ["/tmp/x"]
        r.engines = [.psync, .pvsync2, .libaio, .ioUring, .null, .ioUringNop]
        r.queueDepths = [1, 16]
        r.engineOptions.hipri = true
        r.engineOptions.fixedBuffers = true
        r.engineOptions.submitBatch = 8
        let ids = try r.specs().map(\.id)
        XCTAssertEqual(ids, [
            "psync-randread-bs4k-qd1-j1",
            "pvsync2-randread-bs4k-qd1-j1-hipri",
            "libaio-randread-bs4k-qd1-j1", "libaio-randread-bs4k-qd16-j1-sb8",
            "io_uring-randread-bs4k-qd1-j1-fixedbufs", "io_uring-randread-bs4k-qd16-j1-fixedbufs-sb8",
            "null-randread-bs4k-qd1-j1", "null-randread-bs4k-qd16-j1-sb8",
            "io_uring-nop-randread-bs4k-qd1-j1-fixedbufs", "io_uring-nop-randread-bs4k-qd16-j1-fixedbufs-sb8",
        ])
        func refused(_ engines: [EngineKind], _ edit: (inout EngineOptions) -> Void) -> String? {
            var q = RunRequest()
            q.targets = ["/tmp/x"]
            q.engines = engines
            edit(&q.engineOptions)
            do { _ = try q.specs(); return nil } catch { return error.description }
        }
        XCTAssertEqual(refused([.libaio]) { $0.fixedBuffers = true },
                       "--fixed-buffers applies to io_uring engines only; add --engine io_uring")
        XCTAssertEqual(refused([.psync, .libaio]) { $0.registeredFiles = true; $0.sqpoll = true },
                       "--registered-files and --sqpoll apply to io_uring engines only; add --engine io_uring")
        XCTAssertEqual(refused([.libaio, .null]) { $0.hipri = true },
                       "--hipri applies to pvsync2 only; add --engine pvsync2 (io_uring-poll is the async polled engine)")
        XCTAssertEqual(refused([.libaio]) { $0.plainRing = true },
                       "--plain-ring applies to io_uring engines only; add --engine io_uring")
        XCTAssertNil(refused([.null]) { $0.submitBatch = 1 })
        XCTAssertNil(refused([.ioUringNop]) { $0.fixedBuffers = true; $0.registeredFiles = true; $0.sqpoll = true })
        // Not named: dropped per case, never refused.
        var all = RunRequest()
        all.targets = ["/tmp/x"]
        all.engineOptions.fixedBuffers = true
        all.engineOptions.hipri = true
        XCTAssertEqual(try all.specs().filter { $0.options.fixedBuffers }.map(\.engine), [.ioUring, .ioUring, .ioUringPoll, .ioUringPoll])
        XCTAssertEqual(try all.specs().filter { $0.options.hipri }.map(\.engine), [.pvsync2])
    }

    func testDefaultSuiteRunsTheOverheadEnginesAndOtherRunsDoNot() throws {
        let suite = RunRequest()
        XCTAssertTrue(suite.isDefaultSuite)
        let ids = try suite.specs().map(\.id)
        XCTAssertEqual(ids, [
            "psync-randread-bs4k-qd1-j1", "pvsync2-randread-bs4k-qd1-j1",
            "libaio-randread-bs4k-qd1-j1", "libaio-randread-bs4k-qd32-j1",
            "io_uring-randread-bs4k-qd1-j1", "io_uring-randread-bs4k-qd32-j1",
            "io_uring-poll-randread-bs4k-qd1-j1", "io_uring-poll-randread-bs4k-qd32-j1",
            "null-randread-bs4k-qd1-j1", "io_uring-nop-randread-bs4k-qd32-j1",
        ])
        XCTAssertEqual(try suite.specs().map(\.runtimeNs), Array(repeating: 500_000_000, count: ids.count))
        // The class half has no place for engines that read no file.
        let classSpecs = ClassSuite.specs { e, qd, bs in suite.baseSpec(engine: e, queueDepth: qd, blockSize: bs) }
        XCTAssertFalse(classSpecs.contains { !($0.engine.descriptor?.measuresStorage ?? false) })
        // A named target without --engine: the storage engines only, as before.
        var named = RunRequest()
        named.targets = ["/tmp/x"]
        XCTAssertEqual(Set(try named.specs().map(\.engine)), Set(EngineRegistry.storageEngines))
        // The default suite with --verify: null and io_uring-nop read no data and are left out.
        var verified = RunRequest()
        verified.verify = true
        XCTAssertEqual(Set(try verified.specs().map(\.engine)), Set(EngineRegistry.storageEngines))
    }
}
