import Foundation
import Glibc

/// One job section as iobench runs it: a case, the file it reads and the region.
public struct FioJobCase: Sendable {
    public var section: String
    public var location: FioLocation
    /// Labelled with the section (`fioSection`).
    public var spec: CaseSpec
    /// `directory/filename`, or fio's own name for the file, `directory/<section>.0.0`.
    public var path: String
    /// `size=`; nil: the whole file.
    public var regionSize: UInt64?
    /// `percentile_list`, read but not used yet.
    public var percentiles: [Double]?
    /// Where the file and the size were named, for messages about several sections.
    public var pathLocation: FioLocation
    public var sizeLocation: FioLocation?
}

/// Maps one section's settings to a case. Every key is mapped, listed in `ignoring`, or
/// refused; each refusal names the line, the key and what to do.
struct FioSectionMapper {
    let section: FioJobSection
    let ignoring: Set<String>
    /// What iobench does differently from the file, where fio itself would note it.
    var notes: [String] = []

    init(_ section: FioJobSection, ignoring: Set<String>) {
        self.section = section
        self.ignoring = ignoring
    }

    func fail(_ s: FioSetting, _ why: String) -> IOBenchError {
        let from = s.unsetVariables.isEmpty ? "" : " (${\(s.unsetVariables.joined(separator: "}, ${"))} not set)"
        return .badInput("\(s.location): \(Units.printable(s.text)) (job [\(Units.printable(section.name))])\(from): \(why)")
    }

    func failSection(_ why: String) -> IOBenchError {
        .badInput("\(section.location): [\(Units.printable(section.name))]: \(why)")
    }

    /// A value parsed by `parse`, or nil when the key is not set; an empty value or a
    /// parse failure is refused with `what` to write.
    func parsed<T>(_ key: String, _ parse: (String, FioSetting) -> Result<T, FioValues.Reason>) throws(IOBenchError) -> T? {
        guard let s = section[key] else { return nil }
        guard let v = s.value, !v.isEmpty else { throw fail(s, "needs a value") }
        switch parse(v, s) {
        case .success(let t): return t
        case .failure(let r): throw fail(s, r.text)
        }
    }

    func flag(_ key: String) throws(IOBenchError) -> Bool {
        guard let s = section[key] else { return false }
        switch FioValues.flag(s.value) {
        case .success(let b): return b
        case .failure(let r): throw fail(s, r.text)
        }
    }

    mutating func map() throws(IOBenchError) -> FioJobCase {
        // Keys iobench does not map first, in file order: the run must not differ from fio's.
        let order = section.settings.values.sorted { $0.location < $1.location }
        for s in order where !FioKeys.mapped.contains(s.name) && !ignoring.contains(s.name) {
            throw fail(s, "\(FioKeys.refusal(s.name)); remove it, or run with --fio-ignore \(s.name) to go on without it")
        }
        try checkDirect()
        var spec = CaseSpec(engine: try engine())
        spec.fioSection = section.name
        spec.pattern = try pattern()
        spec.blockSize = try blockSize()
        spec.jobs = Int(try parsed("numjobs") { v, s in FioValues.count(v, kbBase: s.kbBase) } ?? 1)
        if spec.jobs > 1 && section["filename"] == nil, let n = section["numjobs"] {
            notes.append("\(n.location): numjobs=\(spec.jobs) without filename: fio gives each job its own file (\(section.name).0.0, \(section.name).1.0, ...); iobench's \(spec.jobs) jobs share \(section.name).0.0 (set filename= for one file in both tools)")
        }
        spec.queueDepth = try queueDepth(spec.engine)
        spec.options = try engineOptions(spec.engine, depth: spec.queueDepth)
        spec.cpus = try cpus()
        if let seed = try parsed("randseed", { v, s in FioValues.count(v, kbBase: s.kbBase) }) { spec.seed = seed }
        if let r = section["randrepeat"], try !flag("randrepeat") {
            throw fail(r, "iobench's offsets always repeat from the seed; drop randrepeat=0 and vary randseed= instead")
        }
        try rate(&spec)
        spec.rampNs = try parsed("ramp_time") { v, _ in FioValues.time(v) } ?? 0
        for key in ["group_reporting", "thread", "stonewall", "norandommap"] { _ = try flag(key) }

        var out = FioJobCase(section: section.name, location: section.location, spec: spec, path: "",
                             pathLocation: section.location)
        try target(&out)
        try ending(&out)
        out.percentiles = try parsed("percentile_list") { v, _ in FioValues.percentiles(v) }
        do { try out.spec.validate() } catch { throw failSection(error.description) }
        return out
    }

    private func checkDirect() throws(IOBenchError) {
        if let d = section["direct"] {
            switch FioValues.bool(d.value) {
            case .success(true): return
            case .success(false): throw fail(d, "iobench reads with O_DIRECT only (direct=0 reads through the page cache); write direct=1")
            case .failure(let r): throw fail(d, r.text)
            }
        }
        if let b = section["buffered"] {
            switch FioValues.bool(b.value) {
            case .success(false): return
            case .success(true): throw fail(b, "iobench reads with O_DIRECT only; write direct=1")
            case .failure(let r): throw fail(b, r.text)
            }
        }
        throw failSection("direct=1 is missing: fio's default is buffered I/O (direct=0), and iobench reads with O_DIRECT only; add direct=1 to [global] or to the section")
    }

    private func engine() throws(IOBenchError) -> EngineKind {
        let hipri = try flag("hipri")
        guard let s = section["ioengine"] else { return .psync }  // fio's default on Linux
        switch s.value ?? "" {
        case "psync": return .psync
        case "pvsync2": return .pvsync2
        case "libaio": return .libaio
        case "io_uring": return hipri ? .ioUringPoll : .ioUring
        case "sync": throw fail(s, "fio's sync engine reads with lseek and read, two calls a read; iobench's psync reads with pread; write ioengine=psync")
        case "vsync", "pvsync": throw fail(s, "iobench has no readv engine; write ioengine=psync or pvsync2")
        case "posixaio": throw fail(s, "iobench has no POSIX AIO engine; write ioengine=libaio or io_uring")
        case "null": throw fail(s, "fio's null engine reads no file; run 'iobench run --engine null' for iobench's own")
        default: throw fail(s, "iobench runs psync, pvsync2, libaio and io_uring (io_uring with hipri: polled); write one of them")
        }
    }

    private func pattern() throws(IOBenchError) -> AccessPattern {
        guard let s = section["rw"] else { return .sequential }  // fio's default: rw=read
        let v = s.value ?? ""
        if v.contains(":") { throw fail(s, "iobench has no offset modifier (rw=MODE:N); write rw=randread or rw=read") }
        switch v {
        case "randread": return .random
        case "read": return .sequential
        case "write", "randwrite", "rw", "readwrite", "randrw", "trim", "randtrim", "trimwrite", "randtrimwrite":
            throw fail(s, "iobench only reads; write rw=randread or rw=read")
        default: throw fail(s, "not an fio rw mode; write rw=randread or rw=read")
        }
    }

    private func blockSize() throws(IOBenchError) -> Int {
        let bytes = try parsed("bs") { v, s -> Result<UInt64, FioValues.Reason> in
            guard let read = FioValues.readPart(v) else { return .failure(.init("names no read block size; write e.g. bs=4k")) }
            if read.contains("-") || read.contains(":") {
                return .failure(.init("a range of block sizes; iobench reads one block size per case: write e.g. bs=4k"))
            }
            return FioValues.size(read, kbBase: s.kbBase)
        } ?? 4096
        if bytes == 0, let s = section["bs"] { throw fail(s, "a block is at least 1 byte (a multiple of the logical block size); write e.g. bs=4k") }
        return Int(clamping: bytes)
    }

    private mutating func queueDepth(_ engine: EngineKind) throws(IOBenchError) -> Int {
        guard let s = section["iodepth"] else { return 1 }
        let depth = try parsed("iodepth") { v, s in FioValues.count(v, kbBase: s.kbBase) } ?? 1
        guard depth >= 1 else { throw fail(s, "the queue depth is at least 1") }
        if engine.isSynchronous && depth > 1 {
            notes.append("\(s.location): \(s.text) with \(engine.rawValue) in [\(section.name)]: one read in flight, as fio caps a sync engine's depth at 1")
            return 1
        }
        return Int(clamping: depth)
    }

    private func engineOptions(_ engine: EngineKind, depth: Int) throws(IOBenchError) -> EngineOptions {
        var o = EngineOptions()
        let takes = EngineRegistry.descriptor(engine)?.options ?? []
        for (key, option) in [("fixedbufs", EngineOptionKey.fixedBuffers), ("registerfiles", .registeredFiles), ("sqthread_poll", .sqpoll)] {
            guard let s = section[key], try flag(key) else { continue }
            guard takes.contains(option) else { throw fail(s, "an io_uring option (fio refuses it with ioengine=\(engine.rawValue) too); drop it or use ioengine=io_uring") }
            switch option {
            case .fixedBuffers: o.fixedBuffers = true
            case .registeredFiles: o.registeredFiles = true
            default: o.sqpoll = true; o.registeredFiles = true  // fio registers the file for SQPOLL
            }
        }
        if let s = section["hipri"], try flag("hipri") {
            switch engine {
            case .pvsync2: o.hipri = true
            case .ioUringPoll: break
            default: throw fail(s, "fio takes hipri with io_uring (polled completions) and pvsync2 (RWF_HIPRI) only")
            }
        }
        // Sync engines ignore batches, in fio as in iobench; a batch beyond the depth is
        // the depth (fio's fixup), 0 submits the whole depth at once.
        if takes.contains(.submitBatch), let n = try parsed("iodepth_batch_submit", { v, s in FioValues.count(v, kbBase: s.kbBase) }) {
            o.submitBatch = n == 0 ? depth : min(Int(clamping: n), depth)
        }
        if let s = section["iodepth_batch_complete_min"],
           let n = try parsed("iodepth_batch_complete_min", { v, s in FioValues.count(v, kbBase: s.kbBase) }), takes.contains(.completeBatch) {
            guard n >= 1 else { throw fail(s, "fio then checks for completions without waiting; iobench waits for at least one: write 1") }
            o.completeBatch = min(Int(clamping: n), depth)
        }
        return o
    }

    private func cpus() throws(IOBenchError) -> [Int] {
        guard let s = section["cpus_allowed"], let cpus = try parsed("cpus_allowed", { v, _ in FioValues.cpuList(v) }) else {
            _ = try policy()
            return []
        }
        // iobench pins job i to the i-th CPU: fio's split policy. One CPU is the same
        // under either policy.
        if cpus.count > 1, try policy() != "split" {
            throw fail(s, "fio lets every job run on all of these CPUs (cpus_allowed_policy=shared); iobench pins job i to the i-th, as cpus_allowed_policy=split: add that, or name one CPU")
        }
        return cpus
    }

    private func policy() throws(IOBenchError) -> String {
        guard let s = section["cpus_allowed_policy"] else { return "shared" }
        guard s.value == "shared" || s.value == "split" else { throw fail(s, "cpus_allowed_policy is shared or split") }
        return s.value!
    }

    private func rate(_ spec: inout CaseSpec) throws(IOBenchError) {
        if let s = section["rate_process"] {
            switch s.value {
            case "linear": spec.arrival = .uniform
            case "poisson": spec.arrival = .poisson
            default: throw fail(s, "rate_process is linear or poisson")
            }
        }
        let rate = try parsed("rate_iops") { v, s -> Result<UInt64, FioValues.Reason> in
            guard let read = FioValues.readPart(v) else { return .success(0) }
            return FioValues.count(read, kbBase: s.kbBase)
        }
        if let rate, rate > 0 { spec.rateIOPS = Double(rate) }
    }
}
