import Foundation

/// The parts of `iobench lab`'s report around the run report: what was built (header),
/// the kernel path per filesystem, the phase times and the cleanup check.
public enum LabReport {
    /// Text: header, the run report, per-filesystem path summary, times, cleanup.
    public static func renderText(_ r: RunResult) -> String {
        guard let lab = r.lab else { return TextReport.render(r) }
        var out = header(lab)
        let paths = pathSummary(r)
        if !paths.isEmpty { out += "\n" + paths }
        out += "\n" + TextReport.render(r, classesFirst: true)
        out += "\n" + footer(lab)
        return out
    }

    /// Markdown: the same parts around `MarkdownReport`.
    public static func renderMarkdown(_ r: RunResult) -> String {
        guard let lab = r.lab else { return MarkdownReport.render(r) }
        var out = "### iobench lab\n\n"
        out += "| filesystem | loop device | direct I/O | backing file | layout achieved (FIEMAP) | kernel mappings per read | simple read path active |\n"
        out += "|---|---|---|---:|---|---|---|\n"
        for f in lab.filesystems {
            out += "| \(f.label) | \(f.loopDevice) | \(f.directIO ? "on" : "**off**") | \(Units.formatSize(f.backingBytes)) | \(layoutText(f)) | \(mappingsText(f)) | \(simpleText(f.simpleReadPathActive)) |\n"
        }
        out += "\n" + MarkdownReport.render(r)
        out += "\n" + footer(lab).split(separator: "\n").map { "- " + $0 }.joined(separator: "\n") + "\n"
        return out
    }

    public static func header(_ lab: LabInfo) -> String {
        let names = lab.filesystems.map(\.label)
        var out = "iobench lab: \(names.joined(separator: " and ")) on loop devices, \(lab.rounds) paired rounds, in \(lab.workspace)\n"
        let w = lab.filesystems.map(\.label.count).max() ?? 4
        for f in lab.filesystems {
            out += "  " + Fmt.pad(f.label, w, right: false) + "  \(f.loopDevice)  direct I/O \(f.directIO ? "on " : "OFF")  backing \(Units.formatSize(f.backingBytes))  layout \(layoutText(f))\n"
            if !f.directIO {
                out += "  WARNING: \(f.loopDevice) fell back to buffered I/O on its backing file: its reads may be served from the page cache\n"
            }
        }
        for w in lab.warnings ?? [] { out += "  WARNING: \(w)\n" }
        return out
    }

    static func layoutText(_ f: LabFilesystemInfo) -> String {
        let e = f.extents
        return "\(f.layout), \(Units.formatSize(f.layoutFileBytes)): \(e.records) extent records, \(e.discontinuities) boundaries"
    }

    static func mappingsText(_ f: LabFilesystemInfo) -> String {
        guard let m = f.mappingsPerRead, !m.isEmpty else { return "not traced" }
        return ClassSuite.classes.compactMap { c, bs in
            let key = "\(c.rawValue)/\(Units.formatSize(UInt64(bs)))"
            return m[key].map { String(format: "%@ %@ %.2f", c.rawValue, Units.formatSize(UInt64(bs)), $0) }
        }.joined(separator: ", ")
    }

    static func simpleText(_ v: Bool?) -> String {
        switch v {
        case true?: return "yes"
        case false?: return "no"
        case nil: return "unknown"
        }
    }

    /// Per filesystem: the kernel's mappings per read by class and whether the simple
    /// read path served the simple reads.
    public static func pathSummary(_ r: RunResult) -> String {
        guard let lab = r.lab, !lab.filesystems.isEmpty else { return "" }
        var out = "kernel path per filesystem (traced reads, --verify-path)\n"
        for f in lab.filesystems {
            let cases = r.cases.filter { $0.targetKey == f.label }
            var line = "  \(f.label): "
            if !cases.contains(where: { $0.status == .ok }) {
                line += "no case ran (see the skipped and failed cases below)"
            } else if f.mappingsPerRead == nil {
                line += "mappings per read not traced: " + (PathTracer.unavailableReason() ?? "the traced pass found no reads")
            } else {
                line += "mappings per read: " + mappingsText(f)
            }
            if cases.contains(where: { $0.config.pathClass == .raw && $0.status == .ok }) {
                line += "; raw reads \(f.loopDevice) directly (no filesystem, no mapping)"
            }
            out += line + "\n"
            if let verdict = TextReport.simplePathVerdict(cases, keyed: false) { out += "    " + verdict + "\n" }
        }
        return out
    }

    public static func footer(_ lab: LabInfo) -> String {
        let p = lab.phaseSeconds
        let total = p.setup + p.run + p.teardown
        return String(format: "time: set-up %.1f s, run %.1f s, teardown %.1f s (total %.1f s)\n", p.setup, p.run, p.teardown, total)
            + lab.cleanup.summary + "\n"
    }
}
