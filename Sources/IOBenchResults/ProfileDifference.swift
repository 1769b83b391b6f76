import Foundation
import IOBenchMeasurement

/// Where two profiled cases' CPU per read differs (`run --profile` with path classes): by
/// layer and by kernel function, in ns per read, paired round by round as the class
/// table pairs them.
///
/// Each round's ns per read of a layer or function is its share of the round's samples ×
/// the round's CPU per read. The difference is the mean of the per-round differences
/// (round i of the class against round i of the reference), with the 95% Student t
/// interval of that mean when there are two rounds or more (`--repeat`). One round has no
/// interval: its difference is an observation, not a finding. The interval is between
/// runs on purpose: an A/A check (the same case twice) found the sampling-only binomial
/// interval far too narrow, 14 of 40 layer rows "resolved" with nothing changed, because
/// where a thread's time goes moves from run to run by more than the sampling error.
public struct ProfileDifference: Sendable, Equatable {
    public var caseIdentity: String
    public var referenceIdentity: String
    public var caseLabel: String
    public var referenceLabel: String
    /// True when the reference is the class's like-for-like one (same bs); false when it
    /// is the same engine setting's `simple` case because the like-for-like one was not
    /// profiled (the block sizes may then differ).
    public var likeForLike: Bool
    /// Rounds paired.
    public var rounds: Int
    public var cpuNsPerRead: Double
    public var referenceCPUNsPerRead: Double
    /// Every layer, in report order.
    public var layers: [Row]
    /// Functions by self time: those beyond twice their interval by size, then the most
    /// certain (the largest with one round).
    public var selfFunctions: [Row]
    /// Functions by inclusive time (on under half of both cases' samples, so that the
    /// entry frames every read passes do not crowd them out), ordered the same way.
    public var inclusiveFunctions: [Row]

    public struct Row: Sendable, Equatable {
        public var name: String
        public var nsPerRead: Double
        public var referenceNsPerRead: Double
        /// Mean of the per-round differences.
        public var delta: Double
        /// Half-width of the 95% t interval of `delta`; nil with one round.
        public var halfWidth: Double?
        /// The interval excludes 0.
        public var resolved: Bool { halfWidth.map { abs(delta) > $0 } ?? false }
        /// Beyond twice its half-width: a finding even among hundreds of functions.
        public var firm: Bool { halfWidth.map { abs(delta) > 2 * $0 } ?? false }
        /// |Δ| in units of its half-width (> 1: resolved); |Δ| itself without an interval.
        public var certainty: Double {
            guard let h = halfWidth else { return abs(delta) }
            return h > 0 ? abs(delta) / h : (delta == 0 ? 0 : .infinity)
        }
    }

    /// The differences between `c` and `ref`, or nil when either has no profile or they
    /// share no round.
    public init?(_ c: CaseResult, vs ref: CaseResult, likeForLike: Bool, top: Int = 6) {
        let a = Self.rounds(c), b = Self.rounds(ref)
        let keys = Set(a.keys).intersection(b.keys).sorted { ($0.source, $0.round) < ($1.source, $1.round) }
        guard !keys.isEmpty else { return nil }
        caseIdentity = c.identity
        referenceIdentity = ref.identity
        caseLabel = c.label
        referenceLabel = ref.label
        self.likeForLike = likeForLike
        rounds = keys.count
        let pa = keys.map { a[$0]! }, pb = keys.map { b[$0]! }
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        cpuNsPerRead = mean(pa.map(\.cpuNsPerRead))
        referenceCPUNsPerRead = mean(pb.map(\.cpuNsPerRead))
        func row(_ name: String, _ value: (ProfileRound) -> Double) -> Row {
            let x = pa.map(value), y = pb.map(value)
            let d = zip(x, y).map { $0 - $1 }
            var half: Double?
            if let iv = ClassComparison.interval(d, level: 0.95) { half = (iv.high - iv.low) / 2 }
            return Row(name: name, nsPerRead: mean(x), referenceNsPerRead: mean(y), delta: mean(d), halfWidth: half)
        }
        layers = KernelLayers.names.map { name in row(name) { $0.layers[name] ?? 0 } }
        // First the differences beyond twice their interval (a function row under that
        // may be chance among hundreds: docs/method.md), the largest first; then the rest,
        // the most certain first (|Δ| over its interval), so that a large but noisy
        // difference does not hide a smaller, steady one. With one round, by |Δ|. Frames
        // that always appear together (a call chain: the same ns in both cases) are listed
        // once.
        func ranked(_ names: Set<String>, _ value: @escaping (ProfileRound, String) -> Double) -> [Row] {
            let rows = names.map { n in row(n) { value($0, n) } }.sorted { a, b in
                if a.firm != b.firm { return a.firm }
                let (x, y) = a.firm ? (abs(a.delta), abs(b.delta)) : (a.certainty, b.certainty)
                return x != y ? x > y : a.name < b.name
            }
            // Within 3% (or 5 ns) on both sides of a row already listed: the same chain.
            func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= max(5, 0.03 * max(abs(a), abs(b))) }
            var out: [Row] = []
            for r in rows where out.count < top {
                if !out.contains(where: { close($0.nsPerRead, r.nsPerRead) && close($0.referenceNsPerRead, r.referenceNsPerRead) }) {
                    out.append(r)
                }
            }
            return out
        }
        let selfNames = Set((pa + pb).flatMap(\.selfNsPerRead.keys))
        selfFunctions = ranked(selfNames) { $0.selfNsPerRead[$1] ?? 0 }
        let inclusiveNames = Set((pa + pb).flatMap(\.inclusiveNsPerRead.keys)).filter { n in
            (pa + pb).allSatisfy { ($0.inclusiveShare[n] ?? 0) < 0.5 }
        }
        inclusiveFunctions = ranked(inclusiveNames) { $0.inclusiveNsPerRead[$1] ?? 0 }
    }

    /// A case's profiled rounds, keyed as the class comparison keys them: its repeats',
    /// else the whole case as round 1.
    static func rounds(_ c: CaseResult) -> [ClassComparison.RoundKey: ProfileRound] {
        if let reps = c.repeats, !reps.isEmpty {
            var out: [ClassComparison.RoundKey: ProfileRound] = [:]
            for u in reps {
                if let p = u.profile { out[ClassComparison.RoundKey(source: u.source ?? "", round: u.sourceRound ?? u.index)] = p }
            }
            return out
        }
        guard let p = c.profile, p.samples > 0 else { return [:] }
        return [ClassComparison.RoundKey(source: c.sources?.count == 1 ? c.sources![0].file : "", round: 1): ProfileRound(p)]
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
