import Foundation
import IOBenchResults

/// Several targets in one run: the drives (or filesystems) side by side, one row per
/// case, so comparing two devices needs neither two runs nor a merge.
extension ReportContent {
    /// The title above the table, naming the reference target of the ratio columns.
    public static func targetsTitle(_ keys: [String]) -> String {
        "targets side by side: IOPS and p99 on each; the last columns are IOPS relative to \(keys.first ?? "the first")"
    }

    /// One row per case id measured on two or more targets: IOPS and p99 on each target
    /// (in the order given), then each other target's IOPS over the first's. Nil when the
    /// run has fewer than two targets.
    public static func targetTable(_ r: RunResult) -> (keys: [String], headers: [String], rows: [[String]])? {
        let measured = storageCases(r.cases).filter { $0.status != .skipped && $0.targetKey != nil }
        var keys: [String] = []
        for k in (r.targets?.compactMap(\.key) ?? []) + measured.compactMap(\.targetKey) where !keys.contains(k) { keys.append(k) }
        guard keys.count >= 2 else { return nil }
        var ids: [String] = []
        var byID: [String: [String: CaseResult]] = [:]
        for c in measured {
            if byID[c.id] == nil { ids.append(c.id) }
            byID[c.id, default: [:]][c.targetKey!] = c
        }
        var rows: [[String]] = []
        for id in ids {
            let row = byID[id]!
            guard row.count >= 2, let any = row.values.first else { continue }
            let label = any.targetKey.map { any.label.hasPrefix($0 + ": ") ? String(any.label.dropFirst($0.count + 2)) : any.label } ?? any.label
            var cells = [label]
            for k in keys {
                guard let c = row[k], c.ios > 0 else { cells += [row[k].map(noResultWord) ?? "-", ""]; continue }
                cells += [Fmt.count(c.iops), c.latency?.value(at: 99).map(Fmt.latency) ?? "-"]
            }
            for k in keys.dropFirst() {
                guard let base = row[keys[0]], base.ios > 0, base.iops > 0, let c = row[k], c.ios > 0 else { cells.append("-"); continue }
                cells.append(String(format: "×%.3g", c.iops / base.iops))
            }
            rows.append(cells)
        }
        guard !rows.isEmpty else { return nil }
        let headers = ["case"] + keys.flatMap { ["\($0) IOPS", "\($0) p99"] } + keys.dropFirst().map { "\($0)/\(keys[0])" }
        return (keys, headers, rows)
    }
}
