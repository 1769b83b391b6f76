import Foundation
import IOBenchWorkload
import IOBenchPlatform
import IOBenchHistogram
import IOBenchMeasurement

/// Where a merged case or result came from: the file, its host and when it ran.
public struct MergeSource: Codable, Sendable, Equatable {
    public var file: String
    public var host: String
    public var startedAt: String
    public var kernel: String
    /// For a case: its reads and IOPS in that source.
    public var ios: UInt64?
    public var iops: Double?

    enum CodingKeys: String, CodingKey {
        case file, host, kernel, ios, iops
        case startedAt = "started_at"
    }
}

/// `iobench merge`: cases with the same identity (id and target key) across results (jobs,
/// repeats, hosts) become one case whose histogram is the sum of theirs: lossless, as
/// HdrHistogram merges. The same id on differently labelled targets stays two cases.
public enum ResultMerger {
    /// The first configuration field in which two cases of one id differ, with both
    /// values, or nil. Paths, hosts and seeds are not configuration: merging one case
    /// from several hosts (each with its own file and seed) is the fleet use.
    public static func configurationDifference(_ a: CaseSpec, regionA: UInt64?, _ b: CaseSpec, regionB: UInt64?) -> (field: String, a: String, b: String)? {
        var checks: [(String, String, String)] = [
            ("engine", a.engine.rawValue, b.engine.rawValue),
            ("bs", "\(a.blockSize)", "\(b.blockSize)"),
            ("iodepth", "\(a.queueDepth)", "\(b.queueDepth)"),
            ("jobs", "\(a.jobs)", "\(b.jobs)"),
            ("rw", a.pattern.rawValue, b.pattern.rawValue),
            ("class", a.pathClass?.rawValue ?? "none", b.pathClass?.rawValue ?? "none"),
            ("verify", "\(a.verify)", "\(b.verify)"),
            ("continue_on_error", "\(a.continueOnError)", "\(b.continueOnError)"),
            ("latency_sample", "\(a.latencySample)", "\(b.latencySample)"),
            ("fixed_buffers", "\(a.options.fixedBuffers)", "\(b.options.fixedBuffers)"),
            ("registered_files", "\(a.options.registeredFiles)", "\(b.options.registeredFiles)"),
            ("sqpoll", "\(a.options.sqpoll)", "\(b.options.sqpoll)"),
            ("hipri", "\(a.options.hipri)", "\(b.options.hipri)"),
            ("plain_ring", "\(a.options.plainRing)", "\(b.options.plainRing)"),
            ("submit_batch", "\(a.options.submitBatch)", "\(b.options.submitBatch)"),
            ("complete_batch", "\(a.options.completeBatch)", "\(b.options.completeBatch)"),
        ]
        if let ra = regionA, let rb = regionB { checks.append(("region_bytes", "\(ra)", "\(rb)")) }
        return checks.first { $0.1 != $0.2 }.map { (field: $0.0, a: $0.1, b: $0.2) }
    }

    /// The region a case read: its own target's (multi-target runs) or the run's.
    static func region(of c: CaseResult, in r: RunResult) -> UInt64? {
        if let k = c.targetKey, !k.isEmpty, let t = r.targets?.first(where: { $0.key == k }) { return t.regionBytes }
        if let p = c.targetPath, let t = r.targets?.first(where: { $0.path == p }) { return t.regionBytes }
        return r.target?.regionBytes
    }

    public static func merge(_ inputs: [(file: String, result: RunResult)], allowConfigMismatch: Bool = false) throws(IOBenchError) -> RunResult {
        guard let first = inputs.first else { throw .badInput("merge needs at least one result file") }
        var order: [String] = []
        var byID: [String: [(MergeSource, CaseResult)]] = [:]
        var sources: [MergeSource] = []
        var firstSeen: [String: (String, RunResult, CaseResult)] = [:]
        for (file, r) in inputs {
            let src = MergeSource(file: file, host: r.environment.hostname, startedAt: r.startedAt, kernel: r.environment.kernel)
            sources.append(src)
            for c in r.cases where c.status != .skipped {
                guard let h = c.histogram else { continue }
                guard h.unit == "ns", h.lowestDiscernibleValue == LatencyHistogram.lowest,
                      h.significantDigits == LatencyHistogram.significantDigits else {
                    throw .badInput("\(file): case \(c.identity) has a histogram in other units (\(h.unit), lowest \(h.lowestDiscernibleValue), \(h.significantDigits) digits); iobench merges ns histograms of 1 ns and 3 digits")
                }
                // Matched by identity: paths and hosts are not part of it (the fleet use).
                let key = c.identity
                if let (firstFile, firstResult, firstCase) = firstSeen[key], !allowConfigMismatch,
                   let d = configurationDifference(firstCase.config, regionA: region(of: firstCase, in: firstResult),
                                                   c.config, regionB: region(of: c, in: r)) {
                    throw .badInput("case \(key) differs in \(d.field) between \(firstFile) (\(d.a)) and \(file) (\(d.b)); merge results of the same configuration, or pass --allow-config-mismatch")
                }
                if firstSeen[key] == nil { firstSeen[key] = (file, r, c) }
                if byID[key] == nil { order.append(key) }
                var s = src
                s.ios = c.ios
                s.iops = c.iops
                byID[key, default: []].append((s, c))
            }
        }
        var cases: [CaseResult] = []
        for id in order {
            let parts = byID[id]!
            var out = parts[0].1
            var totals = CaseTotals()
            out.elapsedNs = 0
            for (_, c) in parts {
                totals.add(c)
                out.elapsedNs = max(out.elapsedNs, c.elapsedNs)
                if c.status == .failed { out.status = .failed; out.reason = c.reason; out.failureClass = c.failureClass }
            }
            out.ios = totals.ios
            out.errors = totals.errors
            out.latency = totals.latency
            out.interrupted = parts.contains { $0.1.interrupted }
            out.histogram = HistogramEncoding(totals.histogram)
            out.cpu = totals.cpu
            // IOPS of a merged case is the mean over its sources (repeats of one machine);
            // each source's own IOPS is kept, so hosts that ran at once can be summed.
            out.iops = parts.map { $0.1.iops }.reduce(0, +) / Double(parts.count)
            out.bytesPerSecond = out.iops * Double(out.config.blockSize)
            out.sources = parts.map(\.0)
            // Each source's clock: one source or `mixed`, the largest drift (the run-level
            // `clock` object is not merged: the sources each had their own).
            out.clock = CaseClock.combine(parts.map { $0.1.clock })
            // Every repeat of every source is kept whole, in input order (a source without
            // repeats is one), so `compare` can use them as repeats: merging the rounds of
            // alternating runs, then `compare --paired`, pairs round i with round i.
            var kept: [RepeatResult] = []
            for (source, c) in parts {
                for r in c.repeats ?? [RepeatResult(index: 1, ios: c.ios, elapsedNs: c.elapsedNs, iops: c.iops, latency: c.latency,
                                                    cpu: c.cpu, errors: c.errors, histogram: c.histogram, timelineIOPS: c.timelineIOPS,
                                                    openLoop: c.openLoop, profile: c.profile.map(ProfileRound.init))] {
                    var r = r
                    // Where the repeat came from, so that class comparisons pair round i of
                    // one source with round i of the same source only.
                    r.source = r.source ?? source.file
                    r.sourceRound = r.sourceRound ?? r.index
                    r.index = kept.count + 1
                    kept.append(r)
                }
            }
            out.repeats = kept.count > 1 ? kept : nil
            out.openLoop = OpenLoopSummary.merged(parts.compactMap { $0.1.openLoop })
            let profile = ProfileSummary.combine(parts.map { ($0.1.profile, $0.1.ios) })
            out.profile = profile.profile
            out.profileNote = profile.note
            // The spread runs over every repeat of every source (or the sources themselves
            // when they have no repeats), so merged results stay as noise-aware as their inputs.
            let units: [(iops: Double, latency: LatencySummary?, cpu: CPUSummary?)] = parts.flatMap { part in
                part.1.repeats.map { reps in reps.map { ($0.iops, $0.latency, $0.cpu) } }
                    ?? [(part.1.iops, part.1.latency, part.1.cpu)]
            }
            out.spread = units.count > 1 ? RepeatSpread(units: units) : nil
            out.timelineIOPS = []
            out.jobs = parts.flatMap { $0.1.jobs }
            cases.append(out)
        }
        var r = RunResult(startedAt: ISO8601DateFormatter().string(from: Date()), environment: first.result.environment,
                          target: first.result.target, arguments: CommandLine.arguments, cases: cases)
        // Labelled targets: each key once, as the first input that has it describes it.
        var keyed: [TargetInfo] = []
        for (_, input) in inputs {
            for t in input.targets ?? [] where !keyed.contains(where: { $0.key == t.key && $0.path == t.path }) {
                if let k = t.key, !k.isEmpty, keyed.contains(where: { $0.key == k }) { continue }
                keyed.append(t)
            }
        }
        if keyed.count > 1 { r.targets = keyed }
        r.mergedFrom = sources
        let comparisons = ClassComparison.compute(r.cases)
        if !comparisons.isEmpty { r.classComparisons = comparisons }
        return r
    }
}
