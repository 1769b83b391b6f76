import Foundation
import Glibc

/// The files a run writes besides its report (`RunOutputs`): checked before the run,
/// written after it.
public enum RunFiles {
    /// Every output is checked before anything is measured: its directory exists, and the
    /// output rule (`OutputGuard`) allows writing it. `--plot DIR` is created now.
    /// `specs` and `labels` name the `--hgrm` and `--profile-folded` files.
    public static func check(_ o: RunOutputs, guard outputs: OutputGuard, specs: [CaseSpec] = [], labels: [String?] = [nil]) throws(IOBenchError) {
        try check(o, guard: outputs, cases: labels.flatMap { l in specs.map { (id: $0.id, label: l) } })
    }

    /// As above, with the case id and target label of each per-case file.
    public static func check(_ o: RunOutputs, guard outputs: OutputGuard, cases: [(id: String, label: String?)]) throws(IOBenchError) {
        // --plot's directory first: another output may be named inside it.
        if let plotDir = o.plotDirectory { try PlotFiles.makeDirectory(plotDir, option: "--plot") }
        var files = [("--output", o.json), ("--hist-log", o.histLog)].compactMap { o, p in p.map { (o, $0) } }
        for (option, file) in files { try outputs.check(file, option: option) }
        // The per-case files, checked before the run like the others.
        for (option, dir, ext) in [("--hgrm", o.hgrmDirectory, "hgrm"), ("--profile-folded", o.profileFoldedDirectory, "folded")] {
            guard let dir else { continue }
            var st = stat()
            guard stat(dir, &st) == 0 else {
                throw .badInput("\(option) \(dir) does not exist; create the directory first")
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw .badInput("\(option) \(dir) exists and is not a directory; name a directory for the files")
            }
            // Found now, not after the run: a directory this user may not write (its mode,
            // or a read-only mount).
            guard access(dir, W_OK | X_OK) == 0 else {
                let e = Errno.current
                throw .badInput("\(option) \(dir) is not writable (\(e)); choose a directory you may write")
            }
            for c in cases {
                let file = dir + "/" + caseFileName(id: c.id, label: c.label, extension: ext)
                try outputs.check(file, option: option, perCase: true)
                files.append((option, file))
            }
        }
        if let plotDir = o.plotDirectory {
            for name in PlotFiles.fileNames {
                try outputs.check(plotDir + "/" + name, option: "--plot")
                files.append(("--plot", plotDir + "/" + name))
            }
        }
        // No output may land on another: the last one written would silently win.
        var seen: [String: (String, String)] = [:]
        for (option, file) in files {
            let key = OutputGuard.canonical(file)
            if let (other, otherFile) = seen[key], otherFile != file || other != option {
                throw .badInput("\(other) and \(option) name the same file (\(file)); give each output its own file")
            }
            seen[key] = (option, file)
        }
    }

    /// Writes every requested file of a finished run. `name` labels the run in the plots
    /// when it has no `--output` file.
    public static func write(_ result: RunResult, _ o: RunOutputs, guard outputs: OutputGuard, name: String = "this run") throws {
        if let output = o.json {
            try ResultWriter.writeJSON(result, to: output, guard: outputs, option: "--output")
        }
        if let histLog = o.histLog {
            try outputs.write(Data(intervalLog(result).utf8), to: histLog, option: "--hist-log")
        }
        if let hgrmDir = o.hgrmDirectory {
            for c in result.cases where c.histogram != nil {
                try outputs.write(Data(try HgrmReport.render(case: c).utf8), to: hgrmDir + "/" + hgrmName(id: c.id, label: c.targetKey), option: "--hgrm", perCase: true)
            }
        }
        if let dir = o.profileFoldedDirectory {
            for c in result.cases {
                guard let f = c.profile?.folded else { continue }
                // The first line names the case with a count of 0 (nothing to draw), so
                // flame-graph tools read the file and iobench knows it as its own.
                let text = "[iobench folded stacks: \(c.identity)] 0\n" + f.text
                try outputs.write(Data(text.utf8), to: dir + "/" + caseFileName(id: c.id, label: c.targetKey, extension: "folded"), option: "--profile-folded", perCase: true)
            }
        }
        if let plotDir = o.plotDirectory {
            try PlotFiles.write(inputs: [.run(name: o.json ?? name, result: result)], to: plotDir, html: true, option: "--plot", guard: outputs)
        }
    }

    /// `--hgrm`'s file for a case: `<case id>.hgrm`, or `<label>_<case id>.hgrm` for a
    /// case of a labelled target.
    public static func hgrmName(id: String, label: String?) -> String {
        caseFileName(id: id, label: label, extension: "hgrm")
    }

    /// A per-case output file: `<case id>.EXT`, or `<label>_<case id>.EXT` for a case of
    /// a labelled target (`--hgrm`, `--profile-folded`).
    static func caseFileName(id: String, label: String?, extension ext: String) -> String {
        guard let label, !label.isEmpty else { return id + "." + ext }
        return label + "_" + id + "." + ext
    }

    /// Every case's interval histograms in one log, tagged with the case identity
    /// (`LABEL/id` with several targets), timed from the first case's start.
    public static func intervalLog(_ r: RunResult) -> String {
        let origin = r.cases.map(\.measureStartEpochNs).filter { $0 > 0 }.min() ?? 0
        var all: [IntervalHistogram] = []
        for c in r.cases {
            for iv in c.intervals {
                var t = iv
                t.startNs += c.measureStartEpochNs &- origin
                t.tag = c.identity
                all.append(t)
            }
        }
        all.sort { $0.startNs < $1.startNs }
        return IntervalLog.render(intervals: all, startTimeEpochSeconds: Double(origin) / 1e9,
                                  comment: "iobench \(IOBenchVersion.string) interval log: \(r.cases.count) cases, latency in ns")
    }
}
