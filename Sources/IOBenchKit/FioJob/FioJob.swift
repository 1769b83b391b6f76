import Foundation
import Glibc

/// `iobench run --fio-job FILE`: an fio job file read as cases, one per job section, in
/// file order. docs/fio.md has the mapping.
public struct FioJob: Sendable {
    /// The job file as named.
    public var file: String
    public var cases: [FioJobCase]
    /// `percentile_list`, when the sections give one (all the same list). Read, checked
    /// and reported as `--percentiles` would (a `--percentiles` on the command line wins).
    public var percentiles: [Double]?
    /// One line each for stderr: where iobench follows fio in a way the file does not
    /// say (a sync engine's depth capped at 1, a `${VAR}` that is not set).
    public var notes: [String] = []

    /// Reads and maps `path`: only the sections named in `sections` when given (fio's
    /// --section); keys in `ignoring` are read past (keys iobench maps cannot be).
    public static func load(path: String, sections: [String]? = nil, ignoring: [String] = [],
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(IOBenchError) -> FioJob {
        let jobs = try FioJobFile.read(path: path, sections: sections, environment: environment)
        return try map(jobs, file: path, ignoring: ignoring)
    }

    /// The cases of `sections` (already read from `file`).
    public static func map(_ sections: [FioJobSection], file: String, ignoring: [String] = []) throws(IOBenchError) -> FioJob {
        var ignored = Set<String>()
        for key in ignoring {
            let name = FioJobFile.aliases[key] ?? key
            if FioKeys.mapped.contains(name) {
                throw .badInput("--fio-ignore \(Units.printable(key)): iobench maps \(name) (docs/fio.md); ignore only keys it does not map, and edit the job file to change \(name)")
            }
            ignored.insert(name)
        }
        guard !sections.isEmpty else {
            throw .badInput("--fio-job \(Units.printable(file)) has no job section (only [global] sections, or none); add a section such as [randread]")
        }
        var job = FioJob(file: file, cases: [])
        // A key listed to ignore that no section has is likely a typo: say so.
        for key in ignored.sorted() where !sections.contains(where: { $0[key] != nil }) {
            job.notes.append("--fio-ignore \(Units.printable(key)): \(Units.printable(file)) has no such key in the sections run")
        }
        var seenUnset = Set<FioLocation>()
        for section in sections {
            var mapper = FioSectionMapper(section, ignoring: ignored)
            job.cases.append(try mapper.map())
            job.notes += mapper.notes
            for s in section.settings.values.sorted(by: { $0.location < $1.location })
            where !s.unsetVariables.isEmpty && seenUnset.insert(s.location).inserted {
                job.notes.append("\(s.location): ${\(s.unsetVariables.joined(separator: "}, ${"))} not set: expanded to nothing, as fio does")
            }
        }
        // fio starts sections without stonewall together; iobench never runs two at once.
        let stonewalled = { (s: FioJobSection) in s["stonewall"].map { (try? FioValues.flag($0.value).get()) == true } ?? false }
        if let s = sections.dropFirst().first(where: { !stonewalled($0) }) {
            job.notes.append("\(s.location): fio runs [\(s.name)] at the same time as the sections before it (no stonewall); iobench runs every section on its own, one after another")
        }
        var seenNotes = Set<String>()
        job.notes = job.notes.filter { seenNotes.insert($0).inserted }
        let lists = job.cases.map(\.percentiles)
        if let differing = lists.firstIndex(where: { $0 != lists[0] }) {
            throw .badInput("\(job.cases[differing].location): [\(Units.printable(job.cases[differing].section))] has another percentile_list than [\(Units.printable(job.cases[0].section))]; iobench prints one list per run: set it once in [global]")
        }
        job.percentiles = lists[0]
        return job
    }

    /// The files the cases read, in order of first use, each with the cases reading it.
    /// Two names of one file are one target.
    func targets() -> [(path: String, cases: [Int])] {
        var out: [(path: String, cases: [Int])] = []
        var identities: [String] = []
        for (i, c) in cases.enumerated() {
            let id = RunTargets.fileIdentity(c.path)
            if let t = identities.firstIndex(of: id) {
                out[t].cases.append(i)
            } else {
                identities.append(id)
                out.append((c.path, [i]))
            }
        }
        return out
    }

    /// Fills the request's targets, regions and cases (`listedCases`). The run's other
    /// settings (outputs, repeats, clock) are left as they are.
    public func apply(to request: inout RunRequest) throws(IOBenchError) {
        let files = targets()
        var targets: [String] = [], regions: [UInt64?] = [], listed = [ListedCase](repeating: ListedCase(spec: cases[0].spec, target: 0), count: cases.count)
        for (t, file) in files.enumerated() {
            let first = cases[file.cases[0]]
            for i in file.cases {
                let c = cases[i]
                // One region per file: the size in bytes is part of what a case measures.
                guard c.regionSize == first.regionSize else {
                    let size = { (c: FioJobCase) in c.regionSize.map { "size=\(Units.formatSize($0))" } ?? "no size (the whole file)" }
                    throw .badInput("\(c.sizeLocation ?? c.location): [\(Units.printable(c.section))] reads \(Units.printable(c.path)) with \(size(c)), [\(Units.printable(first.section))] with \(size(first)); iobench reads one region per file: give them one size")
                }
                // Cases are matched by id and file in compare and merge: two sections with
                // the same id on one file would be one case there.
                if let j = file.cases.first(where: { $0 < i && cases[$0].spec.id == c.spec.id }) {
                    throw .badInput("\(c.location): [\(Units.printable(c.section))] and [\(Units.printable(cases[j].section))] (\(cases[j].location)) are the same case \(c.spec.id) on \(Units.printable(c.path)) (runtime, ramp, seed and CPUs are not part of a case's id); make them differ in engine, bs, iodepth, numjobs, rw or engine options, or run them apart with --section")
                }
                listed[i] = ListedCase(spec: c.spec, target: t)
            }
            regions.append(first.regionSize)
            targets.append(file.path)
        }
        if targets.count > 1 {
            var labels: [String: String] = [:]
            for (i, path) in targets.enumerated() {
                let label = RunTargets.defaultLabel(path)
                let section = cases[files[i].cases[0]]
                guard RunTargets.isValidLabel(Substring(label)) else {
                    throw .badInput("\(section.pathLocation): [\(Units.printable(section.section))]: the file name of \(Units.printable(path)) labels its cases when sections read several files, and it is not a label (1-32 of A-Z a-z 0-9 . _ -, starting with a letter or digit); rename the file")
                }
                if let other = labels[label] {
                    throw .badInput("\(section.pathLocation): [\(Units.printable(section.section))] reads \(Units.printable(path)) and another section \(Units.printable(other)): both are labelled \(label) (the file name) when sections read several files; rename one")
                }
                labels[label] = path
                targets[i] = label + "=" + path
            }
        }
        request.targets = targets
        if let percentiles { request.percentiles = Array(Set(percentiles)).sorted() }
        request.targetRegionSizes = regions
        request.listedCases = listed
    }
}
