import Foundation
import IOBenchMeasurement

/// Where two profiled cases' CPU per read differs (`run --profile` with path classes): by
/// layer and by kernel function, in ns per read, each with a 95% sampling interval.
///
/// A function's ns per read is its share of the case's samples × the case's CPU ns per
/// read. Sampling makes the share binomial (n samples, share p: standard error
/// √(p(1−p)/n)), so a difference carries ±1.96·√(se₁² + se₂²). The interval covers the
/// sampling only, not how the run itself varies from run to run: for that, repeat the
/// run (`--repeat`) and compare the profiles of the rounds.
public struct ProfileDifference: Sendable, Equatable {
    public var caseIdentity: String
    public var referenceIdentity: String
    public var caseLabel: String
    public var referenceLabel: String
    /// True when the reference is the class's like-for-like one (same bs); false when it
    /// is the same engine setting's `simple` case because the like-for-like one was not
    /// profiled (the block sizes may then differ).
    public var likeForLike: Bool
    public var cpuNsPerRead: Double
    public var referenceCPUNsPerRead: Double
    /// Every layer, in report order.
    public var layers: [Row]
    /// Functions by self time, the most certain differences first.
    public var selfFunctions: [Row]
    /// Functions by inclusive time (on under half of both cases' samples, so that the
    /// entry frames every read passes do not crowd them out), most certain first.
    public var inclusiveFunctions: [Row]

    public struct Row: Sendable, Equatable {
        public var name: String
        public var nsPerRead: Double
        public var referenceNsPerRead: Double
        /// Half-width of the 95% sampling interval of the difference.
        public var halfWidth: Double
        public var delta: Double { nsPerRead - referenceNsPerRead }
        /// The interval excludes 0.
        public var resolved: Bool { abs(delta) > halfWidth }
        /// |Δ| in units of its 95% half-width (> 1: resolved).
        public var certainty: Double { halfWidth > 0 ? abs(delta) / halfWidth : (delta == 0 ? 0 : .infinity) }
    }

    /// The differences between `c` and `ref`, or nil when either has no profile.
    public init?(_ c: CaseResult, vs ref: CaseResult, likeForLike: Bool, top: Int = 8) {
        guard let p = c.profile, let q = ref.profile, p.samples > 0, q.samples > 0 else { return nil }
        caseIdentity = c.identity
        referenceIdentity = ref.identity
        caseLabel = c.label
        referenceLabel = ref.label
        self.likeForLike = likeForLike
        cpuNsPerRead = p.layers.compactMap(\.nsPerRead).reduce(0, +)
        referenceCPUNsPerRead = q.layers.compactMap(\.nsPerRead).reduce(0, +)
        let a = Side(p, cpu: cpuNsPerRead), b = Side(q, cpu: referenceCPUNsPerRead)
        func row(_ name: String, _ x: Double, _ y: Double) -> Row {
            Row(name: name, nsPerRead: x * a.cpu, referenceNsPerRead: y * b.cpu,
                halfWidth: 1.96 * (a.variance(x) + b.variance(y)).squareRoot())
        }
        let layerB = Dictionary(q.layers.map { ($0.layer, $0.share) }, uniquingKeysWith: +)
        layers = p.layers.map { row($0.layer, $0.share, layerB[$0.layer] ?? 0) }
        // The most certain differences first (|Δ| over its interval), so that a large but
        // noisy difference does not hide a smaller one the sampling resolves. Frames that
        // always appear together (a call chain: the same samples in both cases) are
        // listed once, the first of them.
        func ranked(_ x: [String: Double], _ y: [String: Double], where keep: (String) -> Bool) -> [Row] {
            let rows = Set(x.keys).union(y.keys).filter { keep($0) && (x[$0] ?? 0) + (y[$0] ?? 0) > 0 }
                .map { row($0, x[$0] ?? 0, y[$0] ?? 0) }
                .sorted { $0.certainty != $1.certainty ? $0.certainty > $1.certainty : $0.name < $1.name }
            var out: [Row] = []
            var seen = Set<[Int64]>()
            for r in rows where out.count < top {
                if seen.insert([Int64(r.nsPerRead.rounded()), Int64(r.referenceNsPerRead.rounded())]).inserted { out.append(r) }
            }
            return out
        }
        selfFunctions = ranked(a.selfShare, b.selfShare) { _ in true }
        inclusiveFunctions = ranked(a.inclusiveShare, b.inclusiveShare) {
            (a.inclusiveShare[$0] ?? 0) < 0.5 && (b.inclusiveShare[$0] ?? 0) < 0.5
        }
    }

    /// One profile's shares: from every sampled stack where the result has them, else
    /// from its top-function list.
    struct Side {
        var cpu: Double
        var samples: Double
        var selfShare: [String: Double] = [:]
        var inclusiveShare: [String: Double] = [:]

        init(_ p: ProfileSummary, cpu: Double) {
            self.cpu = cpu
            samples = Double(p.samples)
            if let f = p.folded, f.samples > 0 {
                let n = Double(f.samples)
                for s in f.shares() {
                    selfShare[s.function] = Double(s.selfSamples) / n
                    inclusiveShare[s.function] = Double(s.inclusiveSamples) / n
                }
            } else {
                for f in p.functions {
                    selfShare[f.function, default: 0] += f.selfShare
                    inclusiveShare[f.function, default: 0] += f.inclusiveShare
                }
            }
        }

        /// Variance of a share's ns per read from sampling.
        func variance(_ share: Double) -> Double {
            let s = cpu * (share * (1 - share) / max(samples, 1)).squareRoot()
            return s * s
        }
    }

    /// The pairs of profiled cases to difference in a run: each class against its
    /// like-for-like reference (the class comparisons) where both were profiled, else
    /// against the `simple` case of the same target and engine setting.
    public static func pairs(_ r: RunResult) -> [ProfileDifference] {
        let byIdentity = Dictionary(r.cases.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [ProfileDifference] = []
        var done = Set<String>()
        for cmp in r.classComparisons ?? [] {
            guard let c = byIdentity[cmp.caseIdentity], c.profile != nil else { continue }
            if let refID = cmp.referenceIdentity, let ref = byIdentity[refID], ref.profile != nil,
               let d = ProfileDifference(c, vs: ref, likeForLike: true) {
                out.append(d)
                done.insert(c.identity)
            }
        }
        let simple = Dictionary(r.cases.filter { $0.config.pathClass == .simple && $0.profile != nil }.map { ($0.classGroup, $0) },
                                uniquingKeysWith: { a, _ in a })
        for c in r.cases where c.profile != nil && !done.contains(c.identity) {
            guard let cls = c.config.pathClass, cls != .simple, cls != .raw, let ref = simple[c.classGroup],
                  let d = ProfileDifference(c, vs: ref, likeForLike: false) else { continue }
            out.append(d)
        }
        return out
    }
}
