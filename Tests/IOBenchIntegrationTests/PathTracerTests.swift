import CIOBenchShim
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

/// The kernel's own account of the read path: a private tracefs instance counts the iomap
/// events and bios of O_DIRECT reads with a known extent layout. Needs root and a kernel
/// with the iomap trace events; skipped otherwise. Reads of one mapping are judged by
/// the path the kernel took (simple or general), so the tests hold on kernels with and
/// without the simple read path.
final class PathTracerTests: XCTestCase {
    static let reads = 100
    var dir: ScratchDirectory!
    var cleanups: [() -> Void] = []

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
    }

    override func tearDown() {
        for c in cleanups.reversed() { c() }
        cleanups = []
        dir = nil
    }

    func requireTracing() throws {
        guard isRoot() else { throw XCTSkip("tracing the read path needs root") }
        if let reason = PathTracer.unavailableReason() { throw XCTSkip(reason) }
    }

    /// The scratch directory's filesystem type, skipping unless it is one with iomap direct I/O.
    func requireIomapFilesystem(_ path: String, _ types: Set<String> = ["ext4", "xfs"]) throws -> String {
        guard let fs = StorageInfo.filesystem(of: path) else { throw XCTSkip("cannot tell the filesystem of \(path)") }
        guard types.contains(fs.type) else {
            throw XCTSkip("\(path) is on \(fs.type) (\(fs.source)); this test needs \(types.sorted().joined(separator: " or ")) (set IOBENCH_TEST_DIR)")
        }
        return fs.type
    }

    // MARK: - One mapping

    /// One mapping per read, by whichever path the kernel took: the general path (one dio
    /// begun, iomap_iter for the mapping and for the final call) or the simple path (no
    /// iomap_iter, no general-path dio). Either way one completion per read.
    func assertOneMappingReads(_ c: PathTraceCounts, _ n: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(c.lost, file: file, line: line)
        XCTAssertEqual(c.reads, n, file: file, line: line)
        XCTAssertEqual(c.dioComplete, n, file: file, line: line)
        XCTAssertEqual(c.mappingsPerRead, 1, file: file, line: line)
        switch c.simpleReadPathActive {
        case true?:
            XCTAssertEqual(c.dioRwBegin, 0, "the simple path begins no general-path dio", file: file, line: line)
            XCTAssertEqual(c.iomapIter, 0, file: file, line: line)
        case false?:
            XCTAssertEqual(c.dioRwBegin, n, file: file, line: line)
            XCTAssertEqual(c.iomapIter, 2 * n, "a one-mapping read runs iomap_iter twice: the mapping and the final call", file: file, line: line)
        case nil:
            XCTFail("the trace does not show which path ran: \(c)", file: file, line: line)
        }
    }

    /// 4 KiB reads inside one written extent: one mapping and one bio per read.
    func testReadsInsideOneExtent() throws {
        try requireTracing()
        _ = try requireIomapFilesystem(dir.path)
        let path = dir.file("one.dat")
        let fd = try createWritten(path, size: 8 << 20)
        defer { close(fd) }
        let map = try ExtentMap.read(fd: fd, path: path)
        guard let e = map.extents.first(where: { $0.isPlainWritten && $0.length >= 64 << 10 }) else {
            return XCTFail("no written extent of 64 KiB or more in \(map.extents)")
        }
        let slots = (e.length - 4096) / 4096 + 1
        let offsets = (0 ..< Self.reads).map { e.logical + (UInt64($0) * 37 % slots) * 4096 }

        sync()  // no writeback of the setup's writes inside the traced pass (bios are per device)
        let tracer = try PathTracer(fd: fd)
        XCTAssertEqual(tracer.unfilteredEvents, [], "the kernel accepts every filter")
        let issued = try preadDirect(fd, offsets: offsets, size: 4096)
        let c = try tracer.finish(reads: issued)
        print("one extent: \(c)")

        let n = UInt64(Self.reads)
        assertOneMappingReads(c, n)
        XCTAssertGreaterThanOrEqual(c.bios, n)
        XCTAssertEqual(c.biosPerRead ?? -1, 1, accuracy: 0.05)
        XCTAssertFalse(Tracefs.fileExists(tracer.instancePath), "finish removes the instance")
    }

    // MARK: - Two mappings

    /// 8 KiB reads across a physical discontinuity on ext4 (every other 64 KiB chunk swapped
    /// in from a donor file with EXT4_IOC_MOVE_EXT) or XFS (extent-size hint and
    /// interleaved writes): two mappings, three iomap_iter calls, two bios per read.
    func testReadsAcrossAnExtentBoundary() throws {
        try requireTracing()
        let type = try requireIomapFilesystem(dir.path)
        let path = dir.file("frag.dat")
        let fd = type == "ext4"
            ? try fragmentExt4(path, donor: dir.file("donor.dat"), size: 4 << 20, chunk: 64 << 10)
            : try fragmentXFS(path, other: dir.file("other.dat"), size: 4 << 20, chunk: 64 << 10)
        defer { close(fd) }
        try assertTwoMappingReads(fd: fd, path: path)
    }

    /// The same on XFS on a loop device: the bios are counted on the loop device, not the
    /// loop driver's own I/O to the backing file on the disk below.
    func testReadsAcrossAnExtentBoundaryOnXFSLoopDevice() throws {
        try requireTracing()
        for tool in ["losetup", "mkfs.xfs", "mount", "umount"] where sh("command -v \(tool)").status != 0 {
            throw XCTSkip("\(tool) is not installed")
        }
        let image = dir.file("xfs.img")
        let mnt = dir.file("mnt")
        XCTAssertEqual(sh("truncate -s 512M \(image) && mkdir -p \(mnt)").status, 0)
        let lo = sh("losetup -f --show \(image)")
        guard lo.status == 0, lo.output.hasPrefix("/dev/loop") else { throw XCTSkip("no loop device: \(lo.output)") }
        let loop = lo.output.trimmingCharacters(in: .whitespacesAndNewlines)
        cleanups.append { sh("losetup -d \(loop)") }
        let mk = sh("mkfs.xfs -q -f \(loop) && mount -t xfs \(loop) \(mnt)")
        guard mk.status == 0 else { throw XCTSkip("cannot make and mount XFS on \(loop): \(mk.output)") }
        cleanups.append { sh("umount \(mnt)") }

        let path = mnt + "/frag.dat"
        let fd = try fragmentXFS(path, other: mnt + "/other.dat", size: 4 << 20, chunk: 64 << 10)
        defer { close(fd) }
        var st = stat()
        XCTAssertEqual(stat(loop, &st), 0)
        let traced = try assertTwoMappingReads(fd: fd, path: path)
        XCTAssertEqual(traced.major, UInt32(iob_major(st.st_rdev)), "bios are traced on the loop device")
        XCTAssertEqual(traced.minor, UInt32(iob_minor(st.st_rdev)))
    }

    /// btrfs names files by the superblock's anonymous device in tracepoints, not by the
    /// subvolume's `st_dev`: `init(fd:)` finds it (and the block device) in mountinfo.
    func testBtrfsUsesTheSuperblockDevice() throws {
        try requireTracing()
        for tool in ["losetup", "mkfs.btrfs", "mount", "umount"] where sh("command -v \(tool)").status != 0 {
            throw XCTSkip("\(tool) is not installed")
        }
        let image = dir.file("btrfs.img")
        let mnt = dir.file("bmnt")
        XCTAssertEqual(sh("truncate -s 512M \(image) && mkdir -p \(mnt)").status, 0)
        let lo = sh("losetup -f --show \(image)")
        guard lo.status == 0, lo.output.hasPrefix("/dev/loop") else { throw XCTSkip("no loop device: \(lo.output)") }
        let loop = lo.output.trimmingCharacters(in: .whitespacesAndNewlines)
        cleanups.append { sh("losetup -d \(loop)") }
        let mk = sh("mkfs.btrfs -q -f \(loop) && mount -t btrfs \(loop) \(mnt)")
        guard mk.status == 0 else { throw XCTSkip("cannot make and mount btrfs on \(loop): \(mk.output)") }
        cleanups.append { sh("umount \(mnt)") }

        let path = mnt + "/b.dat"
        let fd = try createWritten(path, size: 1 << 20)
        defer { close(fd) }
        var st = stat(), lst = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
        XCTAssertEqual(stat(loop, &lst), 0)
        let devs = try XCTUnwrap(PathTracer.filesystemDevices(fd: fd))
        XCTAssertEqual(devs.superblock.major, 0)
        XCTAssertNotEqual(devs.superblock.minor, UInt32(iob_minor(st.st_dev)), "st_dev is the subvolume's device, not s_dev")
        XCTAssertEqual(devs.blockDevice?.major, UInt32(iob_major(lst.st_rdev)), "the mount source is the block device")
        XCTAssertEqual(devs.blockDevice?.minor, UInt32(iob_minor(lst.st_rdev)))

        let tracer = try PathTracer(fd: fd)
        let issued = try preadDirect(fd, offsets: (0 ..< Self.reads).map { UInt64($0 % 64) * 4096 }, size: 4096)
        let c = try tracer.finish(reads: issued)
        print("btrfs: \(c)")
        assertOneMappingReads(c, UInt64(Self.reads))
        XCTAssertEqual(c.biosPerRead ?? -1, 1, accuracy: 0.05)

        // With st_dev, as a caller might pass it, nothing matches.
        let wrong = try PathTracer(inode: UInt64(st.st_ino), fsDevice: st.st_dev, blockDevice: nil)
        _ = try preadDirect(fd, offsets: [0, 4096], size: 4096)
        let none = try wrong.finish(reads: 2)
        XCTAssertEqual([none.dioRwBegin, none.iomapIter, none.dioComplete], [0, 0, 0])
    }

    @discardableResult
    func assertTwoMappingReads(fd: Int32, path: String,
                               file: StaticString = #filePath, line: UInt = #line) throws -> (major: UInt32, minor: UInt32) {
        let map = try ExtentMap.read(fd: fd, path: path)
        var boundaries: [UInt64] = []
        for i in 1 ..< map.extents.count {
            let a = map.extents[i - 1], b = map.extents[i]
            if a.isPlainWritten, b.isPlainWritten, b.logical == a.end, b.physical != a.physicalEnd,
               a.length >= 4096, b.length >= 4096 {
                boundaries.append(b.logical)
            }
        }
        print("layout: \(map.extents.count) extents, \(boundaries.count) physical discontinuities")
        guard !boundaries.isEmpty else {
            XCTFail("the layout has no physical discontinuity: \(map.extents)", file: file, line: line)
            return (0, 0)
        }
        let offsets = (0 ..< Self.reads).map { boundaries[$0 % boundaries.count] - 4096 }

        // Bios are counted on the whole device: write back what is dirty now (the layout's
        // own writes, the donor's removal), so that no writeback lands in the traced pass
        // (a clean-clone run once counted 2.19 bios per read).
        sync()
        let tracer = try PathTracer(fd: fd)
        XCTAssertEqual(tracer.unfilteredEvents, [], file: file, line: line)
        let issued = try preadDirect(fd, offsets: offsets, size: 8192)
        let c = try tracer.finish(reads: issued)
        print("two extents: \(c)")

        let n = UInt64(Self.reads)
        XCTAssertFalse(c.lost, file: file, line: line)
        XCTAssertEqual(c.dioRwBegin, n, file: file, line: line)
        XCTAssertEqual(c.iomapIter, 3 * n, "two mappings and the final call", file: file, line: line)
        XCTAssertEqual(c.dioComplete, n, file: file, line: line)
        XCTAssertEqual(c.mappingsPerRead, 2, file: file, line: line)
        XCTAssertGreaterThanOrEqual(c.bios, 2 * n, file: file, line: line)
        XCTAssertEqual(c.biosPerRead ?? -1, 2, accuracy: 0.05, "one bio per extent", file: file, line: line)
        XCTAssertEqual(c.simpleReadPathActive, false, "a read of two mappings never takes the simple path", file: file, line: line)
        return tracer.blockDevice ?? (0, 0)
    }

    // MARK: - Async submission

    /// io_uring at queue depth 8, with and without SQPOLL: the dios run in the submitting
    /// task, an io-wq worker or the SQ thread and complete in interrupt context, and their
    /// bios are still attributed to the tasks that ran them.
    func testIoUringReadsAreAttributedToTheirSubmitters() throws {
        try requireTracing()
        let type = try requireIomapFilesystem(dir.path)
        let path = dir.file("uring.dat")
        let fd = type == "ext4"
            ? try fragmentExt4(path, donor: dir.file("donor.dat"), size: 4 << 20, chunk: 64 << 10)
            : try fragmentXFS(path, other: dir.file("other.dat"), size: 4 << 20, chunk: 64 << 10)
        defer { close(fd) }
        let map = try ExtentMap.read(fd: fd, path: path)
        let boundaries = (1 ..< map.extents.count).compactMap { i -> UInt64? in
            let a = map.extents[i - 1], b = map.extents[i]
            return b.logical == a.end && b.physical != a.physicalEnd ? b.logical : nil
        }
        guard !boundaries.isEmpty else { return XCTFail("no physical discontinuity: \(map.extents)") }
        let offsets = (0 ..< Self.reads).map { boundaries[$0 % boundaries.count] - 4096 }

        for (name, flags) in [("interrupt-driven", UInt32(0)), ("SQPOLL", UInt32(IOB_IORING_SETUP_SQPOLL))] {
            guard let ring = iob_ring_alloc() else { return XCTFail("out of memory") }
            defer { free(ring) }
            let rc = iob_ring_init(ring, 16, flags, 1000)
            guard rc == 0 else { throw XCTSkip("io_uring (\(name)) unavailable: \(Errno(-rc))") }
            defer { io_uring_queue_exit(ring) }

            let tracer = try PathTracer(fd: fd)
            var done: UInt64 = 0
            try withAligned(8 * 8192) { bufs in
                var next = 0, inFlight = 0
                var data = [UInt64](repeating: 0, count: 8), res = [Int32](repeating: 0, count: 8)
                while done < UInt64(offsets.count) {
                    while inFlight < 8, next < offsets.count {
                        let slot = next % 8
                        XCTAssertEqual(iob_ring_prep_read(ring, fd, bufs + slot * 8192, 8192, offsets[next], UInt64(slot), 0, -1), 0)
                        next += 1
                        inFlight += 1
                    }
                    guard iob_ring_submit_and_wait(ring, 1) >= 0 else { throw Errno.current }
                    let n = Int(iob_ring_reap(ring, &data, &res, 8))
                    for i in 0 ..< n where res[i] != 8192 { throw Errno(res[i] < 0 ? -res[i] : EIO) }
                    inFlight -= n
                    done += UInt64(n)
                }
            }
            let c = try tracer.finish(reads: done)
            print("io_uring \(name): \(c)")
            let n = UInt64(Self.reads)
            XCTAssertFalse(c.lost, name)
            XCTAssertGreaterThanOrEqual(c.dioRwBegin, n, name)
            XCTAssertEqual(c.dioComplete, n, name)
            XCTAssertEqual(c.mappingsPerRead, 2, name)
            XCTAssertEqual(c.biosPerRead ?? -1, 2, accuracy: 0.05, name)
        }
    }

    // MARK: - No device I/O

    /// Reads of an unwritten (fallocated) extent still iterate once per mapping, and zero-fill
    /// without a bio.
    func testUnwrittenReadsIterateWithoutBios() throws {
        try requireTracing()
        _ = try requireIomapFilesystem(dir.path)
        let path = dir.file("unwritten.dat")
        let fd = open(path, O_CREAT | O_RDWR | IOB_O_DIRECT, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(posix_fallocate(fd, 0, 1 << 20), 0)
        let map = try ExtentMap.read(fd: fd, path: path)
        guard let e = map.extents.first, e.isUnwritten, e.length >= 64 << 10 else {
            throw XCTSkip("the filesystem did not leave an unwritten extent: \(map.extents)")
        }
        let offsets = (0 ..< Self.reads).map { UInt64($0 % 16) * 4096 }

        let tracer = try PathTracer(fd: fd)
        let issued = try preadDirect(fd, offsets: offsets, size: 4096)
        let c = try tracer.finish(reads: issued)
        print("unwritten: \(c)")
        assertOneMappingReads(c, UInt64(Self.reads))
        XCTAssertEqual(c.bios, 0, "unwritten extents are zero-filled, not read")
        XCTAssertEqual(c.biosPerRead, 0)
    }

    /// tmpfs serves O_DIRECT from memory without iomap: no events, no device, so the path
    /// cannot be judged.
    func testTmpfsHasNoIomapEventsAndNoDevice() throws {
        try requireTracing()
        guard StorageInfo.filesystem(of: "/dev/shm")?.type == "tmpfs" else { throw XCTSkip("/dev/shm is not tmpfs") }
        let path = "/dev/shm/iobench-pathtracer-\(getpid())"
        cleanups.append { unlink(path) }
        let w = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(w, 0)
        XCTAssertEqual(ftruncate(w, 1 << 20), 0)
        close(w)
        let fd = open(path, O_RDONLY | IOB_O_DIRECT)
        guard fd >= 0 else { throw XCTSkip("tmpfs refused O_DIRECT: \(Errno.current)") }
        defer { close(fd) }

        let tracer = try PathTracer(fd: fd)
        XCTAssertNil(tracer.blockDevice)
        let issued = try preadDirect(fd, offsets: (0 ..< 10).map { UInt64($0) * 4096 }, size: 4096)
        let c = try tracer.finish(reads: issued)
        XCTAssertEqual(c.iomapIter, 0)
        XCTAssertEqual(c.dioComplete, 0)
        XCTAssertEqual(c.bios, 0)
        XCTAssertNil(c.biosPerRead, "no block device was traced")
        XCTAssertNil(c.simpleReadPathActive, "no path left a trace")
        XCTAssertNil(c.mappingsPerRead)
    }

    /// A ring too small for the pass overwrites entries: the counts are flagged lost and
    /// nothing is derived from them.
    func testOverflowIsReportedAsLost() throws {
        try requireTracing()
        _ = try requireIomapFilesystem(dir.path)
        let path = dir.file("lost.dat")
        let fd = try createWritten(path, size: 1 << 20)
        defer { close(fd) }
        // The ring buffer is what overflows: hist triggers would not.
        let tracer = try PathTracer(fd: fd, method: .traceParser)
        // Shrink this instance's ring to its minimum (a few pages per CPU).
        XCTAssertEqual(Tracefs.writeControl(tracer.instancePath + "/buffer_size_kb", "4"), 0)
        let issued = try preadDirect(fd, offsets: (0 ..< 2000).map { UInt64($0 % 256) * 4096 }, size: 4096)
        let c = try tracer.finish(reads: issued)
        print("overflow: \(c)")
        XCTAssertTrue(c.lost)
        XCTAssertLessThan(c.dioComplete, issued, "entries were overwritten")
        XCTAssertNil(c.mappingsPerRead)
        XCTAssertNil(c.biosPerRead)
        XCTAssertNil(c.simpleReadPathActive)
    }

    // MARK: - Hist triggers

    /// Where the kernel has hist triggers, a pass counted in the kernel gives the same
    /// counts as the ring buffer parsed, for the same reads (two instances at once).
    func testHistTriggersCountAsTheParserDoes() throws {
        try requireTracing()
        _ = try requireIomapFilesystem(dir.path)
        guard case .success(let root) = Tracefs.root() else { return XCTFail("no tracefs") }
        if let why = PathTracer.histTriggersUnavailable(eventDir: root + "/events/iomap/iomap_iter") {
            throw XCTSkip("\(why); the trace parser counts instead")
        }
        let path = dir.file("hist.dat")
        let fd = try createWritten(path, size: 1 << 20)
        defer { close(fd) }
        let devs = try XCTUnwrap(PathTracer.filesystemDevices(fd: fd))
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
        let hist = try PathTracer(inode: UInt64(st.st_ino), fs: devs.superblock, blockDevice: devs.blockDevice, method: .histTrigger)
        let ring = try PathTracer(inode: UInt64(st.st_ino), fs: devs.superblock, blockDevice: devs.blockDevice, method: .traceParser)
        XCTAssertEqual(hist.method, .histTrigger)
        XCTAssertEqual(ring.method, .traceParser)
        let issued = try preadDirect(fd, offsets: (0 ..< Self.reads).map { UInt64($0 % 64) * 4096 }, size: 4096)
        let h = try hist.finish(reads: issued)
        let r = try ring.finish(reads: issued)
        print("hist: \(h)\nring: \(r)")
        XCTAssertFalse(h.lost)
        XCTAssertEqual(h, r)
        XCTAssertEqual(h.dioComplete, UInt64(Self.reads))
    }

    /// Where hist triggers are missing (this kernel: CONFIG_HIST_TRIGGERS unset), the
    /// tracer falls back to the parser and says so; where present, it uses them.
    func testMethodFollowsTheKernel() throws {
        try requireTracing()
        guard case .success(let root) = Tracefs.root() else { return XCTFail("no tracefs") }
        let why = PathTracer.histTriggersUnavailable(eventDir: root + "/events/iomap/iomap_iter")
        let fd = open(dir.file("m"), O_CREAT | O_RDWR, 0o644)
        defer { close(fd) }
        let t = try PathTracer(fd: fd)
        XCTAssertEqual(t.method, why == nil ? .histTrigger : .traceParser, why ?? "")
        XCTAssertEqual(t.histUnavailable == nil, why == nil)
        if why != nil {
            XCTAssertThrowsError(try PathTracer(fd: fd, method: .histTrigger), "hist triggers cannot be forced where the kernel has none")
        }
        _ = try t.finish(reads: 0)
    }

    // MARK: - Instances and device numbers

    func testInstanceIsRemovedByFinishAndByDeinit() throws {
        try requireTracing()
        let fd = open(dir.file("x"), O_CREAT | O_RDWR, 0o644)
        defer { close(fd) }
        var path = ""
        do {
            let t = try PathTracer(fd: fd)
            path = t.instancePath
            XCTAssertTrue(path.contains("/instances/iobench-\(getpid())-"))
            XCTAssertTrue(Tracefs.isDirectory(path))
        }
        XCTAssertFalse(Tracefs.fileExists(path), "deinit removes an unfinished instance")

        let t = try PathTracer(fd: fd)
        let c = try t.finish(reads: 0)
        XCTAssertNil(c.mappingsPerRead)
        XCTAssertNil(c.simpleReadPathActive)
        XCTAssertFalse(Tracefs.fileExists(t.instancePath))
        XCTAssertThrowsError(try t.finish(reads: 0))
    }

    /// The iomap tracepoints record the kernel-internal dev_t (major << 20 | minor): a filter
    /// with userspace's st_dev matches nothing, the kernel encoding matches every read.
    /// `iomap_dio_complete` is counted: both read paths emit it.
    func testTracepointsUseTheKernelDevEncoding() throws {
        try requireTracing()
        _ = try requireIomapFilesystem(dir.path)
        let path = dir.file("dev.dat")
        let fd = try createWritten(path, size: 1 << 20)
        defer { close(fd) }
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
        let major = UInt32(iob_major(st.st_dev)), minor = UInt32(iob_minor(st.st_dev))
        let kernelDev = PathTracer.kernelDev(major: major, minor: minor)
        guard UInt64(st.st_dev) != kernelDev else { throw XCTSkip("st_dev \(st.st_dev) equals its kernel encoding here") }

        guard case .success(let root) = Tracefs.root() else { return XCTFail("no tracefs") }
        let instance = root + "/instances/iobench-\(getpid())-devtest"
        XCTAssertEqual(mkdir(instance, 0o755), 0)
        cleanups.append { Tracefs.removeInstance(instance) }
        let event = instance + "/events/iomap/iomap_dio_complete"

        func completions(filterDev: UInt64) throws -> Int {
            XCTAssertEqual(Tracefs.writeControl(instance + "/tracing_on", "0"), 0)
            XCTAssertEqual(Tracefs.writeControl(instance + "/trace", ""), 0)
            XCTAssertEqual(Tracefs.writeControl(event + "/filter", "ino == \(st.st_ino) && dev == \(filterDev)"), 0)
            XCTAssertEqual(Tracefs.writeControl(event + "/enable", "1"), 0)
            XCTAssertEqual(Tracefs.writeControl(instance + "/tracing_on", "1"), 0)
            _ = try preadDirect(fd, offsets: [0, 4096, 8192], size: 4096)
            XCTAssertEqual(Tracefs.writeControl(instance + "/tracing_on", "0"), 0)
            let text = Tracefs.readWhole(instance + "/trace") ?? ""
            return text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("iomap_dio_complete:") }.count
        }
        XCTAssertEqual(try completions(filterDev: UInt64(st.st_dev)), 0, "userspace st_dev (\(st.st_dev)) matches nothing")
        XCTAssertEqual(try completions(filterDev: kernelDev), 3, "kernel dev_t \(major):\(minor) = \(kernelDev) matches")
        XCTAssertEqual(Tracefs.writeControl(event + "/enable", "0"), 0)
    }

    // MARK: - Parsing (no root needed)

    static let sampleTrace = """
    # tracer: nop
    #
    # entries-in-buffer/entries-written: 16/16   #P:2
    #
    #           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
                  dd-9845    [000] .....   799.824962: iomap_dio_rw_begin: dev 254:0 ino 0xf78317 size 0x800000 offset 0xa000 length 0x2000 done_before 0x0 flags DIRECT dio_flags  aio 0
                  dd-9845    [000] .....   799.824966: iomap_iter: dev 254:0 ino 0xf78317 pos 0xa000 length 0x2000 status 0 flags DIRECT (0x10) ops 0xffffffff8245b7e0 caller __iomap_dio_rw+0x286/0x960
                  dd-9845    [000] .....   799.824986: block_bio_queue: 254,0 RS 34099280 + 8 [dd]
                  dd-9845    [000] .....   799.824990: iomap_iter: dev 254:0 ino 0xf78317 pos 0xb000 length 0x0 status 0 flags DIRECT (0x10) ops 0xffffffff8245b7e0 caller __iomap_dio_rw+0x286/0x960
                  dd-9845    [000] .....   799.824991: block_bio_queue: 254,0 RS 34099480 + 8 [dd]
                  dd-9845    [000] .....   799.824995: iomap_iter: dev 254:0 ino 0xf78317 pos 0xc000 length 0x0 status 0 flags DIRECT (0x10) ops 0xffffffff8245b7e0 caller __iomap_dio_rw+0x286/0x960
              <idle>-0       [001] ..s1.   799.825211: iomap_dio_complete: dev 254:0 ino 0xf78317 size 0x800000 offset 0xc000 flags DIRECT aio 1 error 0 ret 8192
         cc1 -my (x)-777     [001] .....   799.825300: block_bio_queue: 254,0 RA 1234 + 256 [cc1]
       jbd2/vda-8-310        [001] .....   799.825400: block_bio_queue: 254,0 WS 999 + 8 [jbd2/vda-8]
                  dd-9845    [000] .....   799.825500: block_bio_queue: 7,0 RS 12 + 8 [dd]
              xfs_io-9900    [000] .....   799.825600: iomap_iter: dev 254:0 ino 0xf78317 pos 0x0 length 0x1000 status 0 flags WRITE|DIRECT (0x11) ops 0xffffffff8245b7e0 caller __iomap_dio_rw+0x286/0x960
              xfs_io-9900    [000] .....   799.825700: iomap_dio_rw_begin: dev 254:0 ino 0xf78318 size 0x800000 offset 0xa000 length 0x2000 done_before 0x0 flags DIRECT dio_flags  aio 0
          iou-wrk-5000-5001  [001] .....   799.825800: block_bio_queue: 254,0 RS 4000 + 8 [iou-wrk-5000]
          iou-wrk-5000-5001  [001] .....   799.825801: iomap_dio_rw_queued: dev 254:0 ino 0xf78317 size 0x800000 offset 0x0 length 0x1000
              simple-6000    [001] .....   799.825900: block_bio_queue: 254,0 RS 5000 + 8 [simple]
              simple-6000    [001] .....   799.825950: iomap_dio_complete: dev 254:0 ino 0xf78317 size 0x800000 offset 0x1000 flags DIRECT aio 0 error 0 ret 4096
    """

    func testTallyCountsOnlyTheInodesReadsAndItsReadersBios() {
        let match = TraceEventParser.TraceMatch(inode: 0xF78317, fsDevice: (254, 0), blockDevice: (254, 0))
        let t = TraceEventParser.tally(trace: Self.sampleTrace, match: match)
        XCTAssertEqual(t.dioRwBegin, 1, "the other inode's begin is left out")
        XCTAssertEqual(t.iomapIter, 3, "the WRITE iteration is left out")
        XCTAssertEqual(t.dioComplete, 2, "completions count wherever they run")
        XCTAssertEqual(t.bios, 4, "read bios on 254,0 by the tasks that ran the inode's dios (begin/iter, queued, sync complete)")
        XCTAssertEqual(t.foreignBios, 1, "another task's readahead is left out; writes and other devices are not bios of the pass")
        XCTAssertEqual(t.entriesInBuffer, 16)
        XCTAssertEqual(t.entriesWritten, 16)

        var noDisk = match
        noDisk.blockDevice = nil
        XCTAssertEqual(TraceEventParser.tally(trace: Self.sampleTrace, match: noDisk).bios, 0)

        let line = TraceEventParser.TraceLine("       cc1 -my (x)-777     [001] .....   799.825300: block_bio_queue: 254,0 RA 1234 + 256 [cc1]")
        XCTAssertEqual(line?.pid, 777)
        XCTAssertNil(line?.tgid)
        XCTAssertEqual(line?.event, .bioQueue)
        // With options/record-tgid (set by someone else) the TGID column follows the pid.
        let withTgid = TraceEventParser.TraceLine("  cc1 -my (x)-777     (    776) [001] .....   799.825300: iomap_iter: dev 254:0 ino 0x1")
        XCTAssertEqual(withTgid?.pid, 777)
        XCTAssertEqual(withTgid?.tgid, 776)
        XCTAssertEqual(withTgid?.event, .iter)
        XCTAssertNil(TraceEventParser.TraceLine("  dd-1 [000] .....   1.0: iomap_iter_dstmap: dev 254:0 ino 0x1"))
    }

    /// The same events as `sampleTrace`, as the hist triggers of a pass would count them,
    /// printed in the kernel's format (kernel/trace/trace_events_hist.c: `%10llu` numbers,
    /// `%-50s` strings; the kernel already left out the other inode and the other device).
    static let sampleHist: [String: String] = [
        "iomap_dio_rw_begin": """
        # event histogram
        #
        # trigger info: hist:keys=common_pid,ki_flags:vals=hitcount:sort=hitcount:size=2048 if ino == 16220951 && dev == 266338304 [active]
        #

        { common_pid:       9845, ki_flags:     131072 } hitcount:          1

        Totals:
            Hits: 1
            Entries: 1
            Dropped: 0
        """,
        "iomap_iter": """
        # event histogram
        #
        # trigger info: hist:keys=common_pid,flags:vals=hitcount:sort=hitcount:size=2048 if ino == 16220951 && dev == 266338304 [active]
        #

        { common_pid:       9900, flags:         17 } hitcount:          1
        { common_pid:       9845, flags:         16 } hitcount:          3

        Totals:
            Hits: 4
            Entries: 2
            Dropped: 0
        """,
        "iomap_dio_complete": """
        # event histogram
        #
        # trigger info: hist:keys=common_pid,ki_flags,aio:vals=hitcount:sort=hitcount:size=2048 if ino == 16220951 && dev == 266338304 [active]
        #

        { common_pid:          0, ki_flags:     131072, aio:          1 } hitcount:          1
        { common_pid:       6000, ki_flags:     131072, aio:          0 } hitcount:          1

        Totals:
            Hits: 2
            Entries: 2
            Dropped: 0
        """,
        "iomap_dio_rw_queued": """
        # event histogram
        #
        # trigger info: hist:keys=common_pid:vals=hitcount:sort=hitcount:size=2048 if ino == 16220951 && dev == 266338304 [active]
        #

        { common_pid:       5001 } hitcount:          1

        Totals:
            Hits: 1
            Entries: 1
            Dropped: 0
        """,
        "block_bio_queue": """
        # event histogram
        #
        # trigger info: hist:keys=common_pid,rwbs:vals=hitcount:sort=hitcount:size=2048 if dev == 266338304 [active]
        #

        { common_pid:        777, rwbs: RA                                                 } hitcount:          1
        { common_pid:        310, rwbs: WS                                                 } hitcount:          1
        { common_pid:       5001, rwbs: RS                                                 } hitcount:          1
        { common_pid:       6000, rwbs: RS                                                 } hitcount:          1
        { common_pid:       9845, rwbs: RS                                                 } hitcount:          2

        Totals:
            Hits: 6
            Entries: 5
            Dropped: 0
        """,
    ]

    /// Both counting methods judge the same events the same way: reads only, direct
    /// iterations only, bios of the tasks that ran the inode's I/O.
    func testHistTallyEqualsTheParsersOnTheSameEvents() {
        let tables = Self.sampleHist.mapValues { TraceHistogram.parse($0) }
        let hist = TraceHistogram.tally(tables, masks: .init(iterDirect: 1 << 4, iterWrite: 1 << 0, kiWrite: 1 << 18))
        let match = TraceEventParser.TraceMatch(inode: 0xF78317, fsDevice: (254, 0), blockDevice: (254, 0))
        var parsed = TraceEventParser.tally(trace: Self.sampleTrace, match: match)
        parsed.entriesInBuffer = nil
        parsed.entriesWritten = nil
        XCTAssertEqual(hist, parsed)
        XCTAssertEqual(hist.bios, 4)
        XCTAssertEqual(hist.foreignBios, 1)
        XCTAssertFalse(TraceHistogram.dropped(tables))
    }

    func testFormatParsing() {
        let format = """
        name: iomap_iter
        ID: 1136
        format:
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
        \tfield:dev_t dev;\toffset:8;\tsize:4;\tsigned:0;
        \tfield:u64 ino;\toffset:16;\tsize:8;\tsigned:0;
        \tfield:char rwbs[10];\toffset:28;\tsize:10;\tsigned:0;
        \tfield:unsigned int flags;\toffset:44;\tsize:4;\tsigned:0;

        print fmt: "dev %d:%d ino 0x%llx flags %s (0x%x)", ((unsigned int) ((REC->dev) >> 20)), ((unsigned int) ((REC->dev) & ((1U << 20) - 1))), REC->ino, __print_flags(REC->flags, "|", { (1 << 0), "WRITE" }, { (1 << 1), "ZERO" }, { (1 << 4), "DIRECT" }), REC->flags
        """
        let f = TraceEventParser.EventFormat(format)
        XCTAssertTrue(f.fields.isSuperset(of: ["dev", "ino", "flags", "rwbs"]))
        XCTAssertEqual(f.minorBits, 20)
        XCTAssertEqual(f.flagMask(field: "flags", name: "DIRECT"), 16)
        XCTAssertEqual(f.flagMask(field: "flags", name: "WRITE"), 1)
        XCTAssertNil(f.flagMask(field: "flags", name: "NOPE"))
        let ki = TraceEventParser.EventFormat(#"print fmt: "%s %s", __print_flags(REC->ki_flags, "|", { ( int) (( __kernel_rwf_t)0x00000001), "HIPRI" }, { (1 << 18), "WRITE" }), __print_flags(REC->dio_flags, "|", {(1 << 0), "DIO_FORCE_WAIT" })"#)
        XCTAssertEqual(ki.flagMask(field: "ki_flags", name: "WRITE"), 1 << 18)
        XCTAssertEqual(ki.flagMask(field: "ki_flags", name: "HIPRI"), 1)
        XCTAssertNil(ki.flagMask(field: "ki_flags", name: "DIO_FORCE_WAIT"))
        XCTAssertEqual(PathTracer.kernelDev(major: 254, minor: 0), 266_338_304)
        XCTAssertEqual(PathTracer.kernelDev(major: 7, minor: 3), 7 << 20 | 3)
    }

    func testDerivedCounts() throws {
        let general = PathTraceCounts(reads: 100, dioRwBegin: 100, iomapIter: 300, dioComplete: 100, bios: 200, lost: false)
        XCTAssertEqual(general.mappingsPerRead, 2)
        XCTAssertEqual(general.biosPerRead, 2)
        XCTAssertEqual(general.simpleReadPathActive, false)
        // A NOWAIT attempt that failed in ->iomap_begin and was retried: 1 begin + 1 iter more.
        let retried = PathTraceCounts(reads: 100, dioRwBegin: 101, iomapIter: 201, dioComplete: 100, bios: 100, lost: false)
        XCTAssertEqual(retried.mappingsPerRead, 1)
        let simple = PathTraceCounts(reads: 100, dioRwBegin: 0, iomapIter: 0, dioComplete: 100, bios: 100, lost: false)
        XCTAssertEqual(simple.simpleReadPathActive, true)
        XCTAssertEqual(simple.mappingsPerRead, 1)
        let lost = PathTraceCounts(reads: 100, dioRwBegin: 90, iomapIter: 180, dioComplete: 90, bios: 90, lost: true)
        XCTAssertNil(lost.mappingsPerRead)
        XCTAssertNil(lost.biosPerRead)
        XCTAssertNil(lost.simpleReadPathActive)
        let none = PathTraceCounts(reads: 0, dioRwBegin: 0, iomapIter: 0, dioComplete: 0, bios: 0, lost: false)
        XCTAssertNil(none.simpleReadPathActive)
        XCTAssertNil(none.biosPerRead)

        let json = try JSONEncoder().encode(general)
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any]).keys
        XCTAssertEqual(Set(keys), ["reads", "dio_rw_begin", "iomap_iter", "dio_complete", "bios", "lost",
                                   "mappings_per_read", "bios_per_read", "simple_read_path_active"])
        XCTAssertEqual(try JSONDecoder().decode(PathTraceCounts.self, from: json), general)
    }

    // MARK: - Files with a known layout

    /// Writes `size` bytes with O_DIRECT and fsync; returns the file open O_RDWR|O_DIRECT.
    func createWritten(_ path: String, size: Int) throws -> Int32 {
        let fd = open(path, O_CREAT | O_RDWR | O_TRUNC | IOB_O_DIRECT, 0o644)
        guard fd >= 0 else { throw XCTSkip("cannot open \(path) with O_DIRECT: \(Errno.current)") }
        let chunk = 1 << 20
        try withAligned(chunk) { buf in
            var off = 0
            while off < size {
                memset(buf, Int32(truncatingIfNeeded: off >> 20) | 1, chunk)
                let n = min(chunk, size - off)
                guard pwrite(fd, buf, n, off_t(off)) == n else { throw Errno.current }
                off += n
            }
        }
        guard fsync(fd) == 0 else { throw Errno.current }
        return fd
    }

    /// ext4: `path` and a donor written contiguously, then every other `chunk` of `path`
    /// exchanged with the donor's (EXT4_IOC_MOVE_EXT): each chunk boundary is a physical
    /// discontinuity. Plain interleaved appends do not do it; ext4 merges them.
    func fragmentExt4(_ path: String, donor: String, size: Int, chunk: Int) throws -> Int32 {
        let fd = try createWritten(path, size: size)
        let dfd = try createWritten(donor, size: size)
        defer { close(dfd) }
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
        let blocks = UInt64(chunk) / UInt64(st.st_blksize)
        var k = 1
        while k * chunk < size {
            // struct move_extent { u32 reserved, donor_fd; u64 orig_start, donor_start, len, moved_len; }
            var me: [UInt64] = [UInt64(UInt32(dfd)) << 32, UInt64(k) * blocks, UInt64(k) * blocks, blocks, 0]
            let rc = me.withUnsafeMutableBytes { ioctl(fd, UInt(0xC028_660F), $0.baseAddress!) }
            if rc != 0 {
                close(fd)
                throw XCTSkip("EXT4_IOC_MOVE_EXT failed: \(Errno.current)")
            }
            XCTAssertEqual(me[4], blocks)
            k += 2
        }
        return fd
    }

    /// XFS: two files with a `chunk` extent-size hint (FS_IOC_FSSETXATTR), written in
    /// interleaved O_DIRECT chunks with fsync after each, so their chunks alternate on disk.
    func fragmentXFS(_ path: String, other: String, size: Int, chunk: Int) throws -> Int32 {
        let a = open(path, O_CREAT | O_RDWR | O_TRUNC | IOB_O_DIRECT, 0o644)
        let b = open(other, O_CREAT | O_RDWR | O_TRUNC | IOB_O_DIRECT, 0o644)
        guard a >= 0, b >= 0 else { throw XCTSkip("cannot open with O_DIRECT: \(Errno.current)") }
        defer { close(b) }
        for fd in [a, b] {
            // struct fsxattr { u32 xflags, extsize, nextents, projid, cowextsize; u8 pad[8]; }
            var fa = [UInt32](repeating: 0, count: 7)
            let get = fa.withUnsafeMutableBytes { ioctl(fd, UInt(0x801C_581F), $0.baseAddress!) }
            fa[0] |= 0x800 // FS_XFLAG_EXTSIZE
            fa[1] = UInt32(chunk)
            let set = fa.withUnsafeMutableBytes { ioctl(fd, UInt(0x401C_5820), $0.baseAddress!) }
            if get != 0 || set != 0 { close(a); throw XCTSkip("cannot set an extent-size hint: \(Errno.current)") }
        }
        try withAligned(chunk) { buf in
            var off = 0
            while off < size {
                for fd in [a, b] {
                    memset(buf, Int32(truncatingIfNeeded: off >> 16) | 1, chunk)
                    guard pwrite(fd, buf, chunk, off_t(off)) == chunk, fsync(fd) == 0 else { throw Errno.current }
                }
                off += chunk
            }
        }
        return a
    }

    func withAligned(_ size: Int, _ body: (UnsafeMutableRawPointer) throws -> Void) throws {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 4096, size) == 0, let p else { throw Errno(ENOMEM) }
        defer { free(p) }
        try body(p)
    }

    /// One O_DIRECT pread per offset; every read must be complete. Returns the reads issued.
    func preadDirect(_ fd: Int32, offsets: [UInt64], size: Int) throws -> UInt64 {
        var done: UInt64 = 0
        try withAligned(size) { buf in
            for off in offsets {
                let n = pread(fd, buf, size, off_t(off))
                guard n == size else {
                    throw n < 0 ? Errno.current : Errno(EIO)
                }
                done += 1
            }
        }
        return done
    }
}
