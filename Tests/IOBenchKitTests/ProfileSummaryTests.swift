import XCTest
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// The profile's arithmetic (issue 15): shares and ns per read from folded stacks, the
/// layers every function rolls up into (the table in KernelLayers), and the difference
/// between two profiled cases.
final class ProfileSummaryTests: XCTestCase {
    func stacks(_ counts: [String: UInt64]) -> FoldedStacks {
        FoldedStacks(counts: counts, periodNs: 0, countedNs: nil, lost: 0, hardware: false)
    }

    func testSharesLayersAndNsPerRead() {
        let f = stacks([
            "[iobench];entry_SYSCALL_64_after_hwframe;do_syscall_64;ksys_pread64;vfs_read;ext4_file_read_iter;iomap_dio_rw;iomap_iter;ext4_iomap_begin;ext4_map_blocks": 30,
            "[iobench];entry_SYSCALL_64_after_hwframe;do_syscall_64;ksys_pread64;vfs_read;ext4_file_read_iter;iomap_dio_rw;__iomap_dio_rw": 20,
            "[iobench];entry_SYSCALL_64_after_hwframe;do_syscall_64;ksys_pread64;vfs_read;ext4_file_read_iter;iomap_dio_rw;submit_bio;virtqueue_notify;iowrite16": 40,
            "[iobench]": 10,
        ])
        let p = ProfileSummary(f, frequencyHz: 4999, threads: 1, cpuNsPerRead: 1000, rusageCPUNs: nil)
        XCTAssertEqual(p.samples, 100)
        let byName = Dictionary(uniqueKeysWithValues: p.functions.map { ($0.function, $0) })
        XCTAssertEqual(byName["ext4_map_blocks"]?.selfShare, 0.3)
        XCTAssertEqual(byName["iomap_dio_rw"]?.inclusiveShare, 0.9, "on 90 of the 100 stacks")
        XCTAssertEqual(byName["iomap_dio_rw"]?.selfShare, 0)
        XCTAssertEqual(byName["iowrite16"]?.selfNsPerRead, 400)
        let layers = Dictionary(uniqueKeysWithValues: p.layers.map { ($0.layer, $0.share) })
        XCTAssertEqual(layers["filesystem"], 0.3)
        XCTAssertEqual(layers["VFS and iomap"], 0.2)
        XCTAssertEqual(layers["driver"], 0.4)
        XCTAssertEqual(layers["iobench (user space)"], 0.1)
        XCTAssertEqual(p.layers.map(\.share).reduce(0, +), 1, accuracy: 1e-9, "every self sample lands in one layer")
        XCTAssertEqual(Set(p.layers.map(\.layer)), Set(KernelLayers.names))
    }

    func testLayerRulesAreOrdered() {
        XCTAssertEqual(KernelLayers.layer(of: "__do_sys_io_uring_enter"), "io_uring/aio", "io_uring before syscall entry")
        XCTAssertEqual(KernelLayers.layer(of: "__x64_sys_pread64"), "syscall entry")
        XCTAssertEqual(KernelLayers.layer(of: "xfs_bmapi_read"), "filesystem")
        XCTAssertEqual(KernelLayers.layer(of: "blk_mq_submit_bio"), "block layer")
        XCTAssertEqual(KernelLayers.layer(of: "nvme_queue_rq"), "driver")
        XCTAssertEqual(KernelLayers.layer(of: "__schedule"), "scheduler")
        XCTAssertEqual(KernelLayers.layer(of: "something_new"), "other")
    }

    func testHelpersAreChargedToTheirCaller() {
        XCTAssertEqual(KernelLayers.layer(ofStack: "vfs_read;iomap_dio_complete;kfree".split(separator: ";")), "VFS and iomap")
        XCTAssertEqual(KernelLayers.layer(ofStack: "submit_bio;virtio_queue_rq;_raw_spin_unlock_irqrestore".split(separator: ";")), "driver")
        XCTAssertEqual(KernelLayers.layer(ofStack: "ext4_map_blocks;__x86_indirect_thunk_rax".split(separator: ";")), "filesystem")
        XCTAssertEqual(KernelLayers.layer(ofStack: "_raw_spin_lock;kmem_cache_alloc_noprof".split(separator: ";")), "other", "only helpers")
        XCTAssertEqual(KernelLayers.layer(ofStack: ["iowrite16"]), "driver")
        XCTAssertEqual(KernelLayers.layer(of: "gup_fast_fallback"), "VFS and iomap", "direct I/O pins the user's pages")
        XCTAssertEqual(KernelLayers.layer(of: "sbitmap_find_bit"), "block layer")
        XCTAssertNil(KernelLayers.ownLayer(of: "kfree"))
        // The summary rolls samples up the same way.
        let p = ProfileSummary(stacks(["vfs_read;iomap_dio_complete;kfree": 3, "submit_bio;virtio_queue_rq;_raw_spin_unlock_irqrestore": 1]),
                               frequencyHz: 4999, threads: 1, cpuNsPerRead: nil, rusageCPUNs: nil)
        let layers = Dictionary(uniqueKeysWithValues: p.layers.map { ($0.layer, $0.share) })
        XCTAssertEqual(layers["VFS and iomap"], 0.75)
        XCTAssertEqual(layers["driver"], 0.25)
    }

    func testRoundsMergeByAddingTheirSamples() throws {
        func round(_ counts: [String: UInt64], cpuNs: UInt64) -> ProfileSummary {
            ProfileSummary(FoldedStacks(counts: counts, periodNs: cpuNs, countedNs: cpuNs, lost: 1, hardware: false, threadsCPUNs: cpuNs),
                           frequencyHz: 4999, threads: 1, cpuNsPerRead: Double(cpuNs) / 100, rusageCPUNs: cpuNs)
        }
        let a = round(["x;ext4_map_blocks": 30, "x;iowrite16": 70], cpuNs: 100_000)   // 100 reads, 1000 ns each
        let b = round(["x;ext4_map_blocks": 10, "x;iowrite16": 90], cpuNs: 300_000)   // 100 reads, 3000 ns each
        let m = try XCTUnwrap(ProfileSummary.merged([(a, 100), (b, 100)]))
        XCTAssertEqual(m.samples, 200)
        XCTAssertEqual(m.lost, 2)
        XCTAssertEqual(m.stacks?.counts, ["x;ext4_map_blocks": 40, "x;iowrite16": 160])
        XCTAssertEqual(m.sampledCPUNs, 400_000)
        XCTAssertEqual(m.threadsCPUNs, 400_000)
        // 2000 ns per read over both rounds; ext4 has 40 of the 200 samples.
        XCTAssertEqual(m.layers.first { $0.layer == "filesystem" }?.nsPerRead ?? 0, 400, accuracy: 1e-9)
        XCTAssertEqual(ProfileSummary.merged([(a, 100)])?.samples, 100, "one round is itself")
        XCTAssertNil(ProfileSummary.merged([]))
    }

    func testProfilesOfDifferentRatesAreNotAddedAndGapsAreNamed() {
        func p(_ hz: UInt32) -> ProfileSummary {
            ProfileSummary(FoldedStacks(counts: ["x;iowrite16": 10], periodNs: 0, countedNs: 1000, lost: 0, hardware: false),
                           frequencyHz: hz, threads: 1, cpuNsPerRead: 10, rusageCPUNs: nil)
        }
        let mixed = ProfileSummary.combine([(p(4999), 100), (p(997), 100)])
        XCTAssertNil(mixed.profile)
        XCTAssertTrue(mixed.note?.contains("cpu-clock at 4999 Hz") == true, mixed.note ?? "")
        let partial = ProfileSummary.combine([(p(4999), 100), (nil, 500)])
        XCTAssertEqual(partial.profile?.samples, 10)
        XCTAssertTrue(partial.note?.contains("covers 1 of 2 rounds (100 of 600 reads)") == true, partial.note ?? "")
        let whole = ProfileSummary.combine([(p(4999), 100), (p(4999), 100)])
        XCTAssertEqual(whole.profile?.samples, 20)
        XCTAssertNil(whole.note)
    }

    func testTheFoldedTextIsWhatFlameGraphToolsRead() {
        let f = stacks(["a;b;c": 3, "a;b": 5])
        XCTAssertEqual(f.text, "a;b 5\na;b;c 3\n")
        XCTAssertEqual(f.samples, 8)
    }
}
