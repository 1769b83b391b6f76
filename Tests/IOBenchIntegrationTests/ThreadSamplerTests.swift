import Foundation
import XCTest
import CIOBenchShim
@testable import IOBenchPlatform
@testable import IOBenchWorkload
@testable import IOBenchMeasurement

/// The profiler's sampler (issue 15) on a real thread doing real O_DIRECT reads: kernel
/// symbols from /proc/kallsyms, stacks that hold the read system call, folded counts that
/// add up to the samples, and CPU time from the samples' periods that agrees with the
/// thread's getrusage within 10%.
final class ThreadSamplerTests: XCTestCase {
    func testKallsymsLookupFindsTheEnclosingSymbol() {
        let s = KernelSymbols(kallsyms: """
        ffffffff81000000 T _stext
        ffffffff81000100 t helper
        ffffffff81000200 D some_data
        ffffffff81000300 T vfs_read
        """)
        XCTAssertEqual(s.name(of: 0xffffffff81000150), "helper")
        XCTAssertEqual(s.name(of: 0xffffffff81000250), "helper", "data symbols are not text: the text symbol before it holds")
        XCTAssertEqual(s.name(of: 0xffffffff81000300), "vfs_read")
        XCTAssertEqual(s.name(of: 0x1000), "[kernel]")
        XCTAssertFalse(KernelSymbols(kallsyms: "0000000000000000 T _stext\n").usable, "hidden addresses (kptr_restrict)")
        let module = KernelSymbols(kallsyms: "ffffffffc0000000 t ext4_thing\t[ext4]\n")
        XCTAssertEqual(module.name(of: 0xffffffffc0000010), "ext4_thing", "a module's name is not part of the symbol")
    }

    func testTheStreamingLoaderReadsTheRealTableAsTheWholeFileWould() throws {
        // The whole file read in one piece (Foundation's String(contentsOfFile:) stops
        // short on procfs files, so with read(2) until end of file).
        let fd = open("/proc/kallsyms", O_RDONLY)
        guard fd >= 0 else { throw XCTSkip("no /proc/kallsyms") }
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0 ..< n]
        }
        close(fd)
        let whole = KernelSymbols(kallsyms: String(decoding: bytes, as: UTF8.self)), streamed = KernelSymbols.load()
        XCTAssertEqual(whole.starts, streamed.starts)
        XCTAssertEqual(whole.nameBytes, streamed.nameBytes)
        guard streamed.usable else { throw XCTSkip("kernel addresses are hidden here (kptr_restrict)") }
        XCTAssertGreaterThan(streamed.starts.count, 10_000)
        for i in stride(from: 0, to: streamed.starts.count, by: 997) {
            XCTAssertFalse(streamed.name(of: streamed.starts[i]).isEmpty)
        }
    }

    func testSamplingAReadingThreadSeesTheReadPathAndAccountsForItsCPU() throws {
        guard getuid() == 0 || (try? String(contentsOfFile: "/proc/sys/kernel/perf_event_paranoid", encoding: .utf8))
            .flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }).map({ $0 <= 1 }) == true else {
            throw XCTSkip("perf_event_open needs root or kernel.perf_event_paranoid <= 1")
        }
        let dir = NSTemporaryDirectory() + "iobench-sampler-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // On tmpfs when there is one: the reads are CPU work (a copy), not waits.
        let path = (FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm/iobench-sampler-\(getpid()).dat" : dir + "/t.dat")
        defer { unlink(path) }
        try StampedFileWriter.write(path: path, from: 0, to: 8 << 20, create: true)

        let tid = ManagedTid()
        let go = DispatchSemaphore(value: 0), ready = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        let reader = Thread {
            tid.value = iob_gettid()
            let fd = open(path, O_RDONLY | IOB_O_DIRECT)
            let buf = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
            ready.signal()
            go.wait()
            let before = ThreadUsage.current()
            let end = monotonicNanoseconds() + 600_000_000
            var off = 0
            while monotonicNanoseconds() < end {
                _ = pread(fd, buf, 4096, off)
                off = (off + 4096) % (8 << 20)
            }
            let used = ThreadUsage.current() - before
            tid.cpuNs = used.userNs + used.systemNs
            buf.deallocate()
            close(fd)
            finished.signal()
        }
        reader.start()
        ready.wait()
        let sampler = try ThreadSampler(threads: [tid.value], frequency: 4999)
        sampler.start()
        go.signal()
        finished.wait()
        sampler.stop()

        let folded = sampler.folded(symbols: KernelSymbols.load())
        XCTAssertGreaterThan(folded.samples, 1000, "about 3000 samples in 600 ms at 4999 Hz")
        XCTAssertEqual(folded.text.split(separator: "\n").reduce(UInt64(0)) { $0 + UInt64($1.split(separator: " ").last!)! },
                       folded.samples, "the folded counts add up to the samples")
        let reads = folded.counts.filter { $0.key.contains("pread64") || $0.key.contains("vfs_read") }.values.reduce(0, +)
        XCTAssertGreaterThan(Double(reads) / Double(folded.samples), 0.5, "most samples are in the read system call:\n\(folded.text.prefix(2000))")
        XCTAssertTrue(folded.counts.keys.contains { $0.hasPrefix("[iobench]") }, "user frames are collapsed into [iobench]")
        if !folded.hardware {
            // cpu-clock: each sample's period is the ns of CPU time it stands for.
            let counted = try XCTUnwrap(folded.countedNs)
            XCTAssertEqual(Double(counted) / Double(tid.cpuNs), 1, accuracy: 0.1, "the event's count \(counted) ns against getrusage \(tid.cpuNs) ns")
            XCTAssertEqual(Double(folded.periodNs) / Double(counted), 1, accuracy: 0.1, "samples × period \(folded.periodNs) ns against the count \(counted) ns")
        }
        XCTAssertEqual(folded.lost, 0)
        let top = folded.shares()
        XCTAssertFalse(top.isEmpty)
        XCTAssertTrue(top.contains { $0.inclusiveSamples >= $0.selfSamples })
    }
}

/// A thread id and its CPU time, handed from the reader to the test (semaphores order the accesses).
final class ManagedTid: @unchecked Sendable {
    var value: pid_t = 0
    var cpuNs: UInt64 = 0
}
