import CIOBenchShim
import IOBenchPlatform

/// No system call at all: a prepared read completes as soon as it is committed, with
/// result = block size (as fio's null engine). What a case with it measures is iobench's
/// own cost per I/O: the job loop, the offsets, the clock and the histogram.
/// Completions come back in the order the reads were prepared (a FIFO of slots).
public final class NullEngine: IOEngine {
    public static let kind = EngineKind.null
    let result: Int32
    let depth: Int
    /// Slots in prepare order: `completed` of them from `head` on, then `prepared` more.
    let fifo: UnsafeMutablePointer<UInt64>
    var head = 0
    var completed = 0
    var prepared = 0

    public init(_ setup: EngineSetup) throws(IOBenchError) {
        result = Int32(truncatingIfNeeded: setup.blockSize)
        depth = setup.queueDepth
        guard let raw = iob_malloc(depth * MemoryLayout<UInt64>.stride) else {
            throw .runFailed("no memory for the null engine's \(depth) slots (ENOMEM): \(ResourceLimits.memoryFix)")
        }
        fifo = raw.bindMemory(to: UInt64.self, capacity: depth)
    }

    deinit { iob_free(UnsafeMutableRawPointer(fifo)) }

    @inline(__always)
    public func prepare(slot: Int, offset: UInt64) {
        var at = head &+ completed &+ prepared
        if at >= depth { at &-= depth }
        fifo[at] = UInt64(slot)
        prepared &+= 1
    }

    @inline(__always)
    public func commit(beforeReap: Bool) throws(IOBenchError) {
        completed &+= prepared
        prepared = 0
    }

    /// Everything committed is complete; it is read in place from the FIFO.
    @inline(__always)
    public func reap(minimum: Int) throws(IOBenchError) -> Int { completed }

    @inline(__always)
    public func completion(_ i: Int) -> Completion {
        var at = head &+ i
        if at >= depth { at &-= depth }
        return Completion(slot: Int(truncatingIfNeeded: fifo[at]), result: result)
    }

    @inline(__always)
    public func consume(_ count: Int) {
        head &+= count
        if head >= depth { head &-= depth }
        completed &-= count
    }
}

extension EngineKind {
    public static let null = EngineKind(rawValue: "null")
}

extension NullEngine {
    /// It reads nothing, so it needs no buffer per slot: one buffer of the block size
    /// stands for all (the loop touches buffers only to verify, which null refuses).
    public static let descriptor = EngineDescriptor(
        kind: .null,
        summary: "no I/O: each read completes at once (iobench's own cost per I/O)",
        options: [.submitBatch, .completeBatch],
        measuresStorage: false,
        defaultDepths: [1],
        classSuiteDepth: nil,
        makeBuffers: { _, size throws(IOBenchError) in try AlignedBuffers(count: 1, size: size) },
        run: { setup, plan, offsets, stop, progress, deadlineOut, ready throws(IOBenchError) in
            drive(try NullEngine(setup), setup, plan, &offsets, stop, progress, deadlineOut, ready)
        })
}
