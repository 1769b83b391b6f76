import Foundation
import IOBenchHistogram

/// The distributions the regression gate needs: Student's t (its tail and quantile, from
/// the regularized incomplete beta function) and the normal. No package dependency.
public enum GateMath {
    /// The regularized incomplete beta function I_x(a, b), by its continued fraction
    /// (modified Lentz), accurate to about 1e-14 over the range the gate uses.
    public static func incompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        guard x > 0 else { return 0 }
        guard x < 1 else { return 1 }
        let lnFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        let front = exp(lnFront)
        if x < (a + 1) / (a + b + 2) {
            return front * betaContinuedFraction(x, a, b) / a
        }
        return 1 - front * betaContinuedFraction(1 - x, b, a) / b
    }

    static func betaContinuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300, eps = 1e-15
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1 ... 400 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < eps { break }
        }
        return h
    }

    /// P(Z > z) for a standard normal Z.
    public static func normalUpperTail(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

    /// P(T > t) for Student's t with `df` degrees of freedom; the normal when `df` is
    /// infinite (or not finite).
    public static func studentUpperTail(_ t: Double, df: Double) -> Double {
        guard t.isFinite else { return t > 0 ? 0 : 1 }
        guard df.isFinite, df < 1e7 else { return normalUpperTail(t) }
        let x = df / (df + t * t)
        let tail = 0.5 * incompleteBeta(x, df / 2, 0.5)
        return t >= 0 ? tail : 1 - tail
    }

    static func studentDensity(_ t: Double, df: Double) -> Double {
        guard df.isFinite, df < 1e7 else { return exp(-t * t / 2) / (2 * Double.pi).squareRoot() }
        let lnc = lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * Double.pi)
        return exp(lnc - (df + 1) / 2 * log1p(t * t / df))
    }

    /// The normal quantile: z with P(Z > z) = p (Acklam's approximation, then a Newton
    /// step on erfc).
    public static func normalUpperQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1)
        let q = 1 - p  // lower-tail probability
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        var x: Double
        if q < 0.02425 {
            let r = (-2 * log(q)).squareRoot()
            x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1)
        } else if q <= 1 - 0.02425 {
            let s = q - 0.5, r = s * s
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * s / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let r = (-2 * log1p(-q)).squareRoot()
            x = -(((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1)
        }
        // One Newton step on the exact tail.
        let err = normalUpperTail(x) - p
        x += err / studentDensity(x, df: .infinity)
        return x
    }

    /// Student's t quantile: t with P(T > t) = p, for 0 < p < 1.
    public static func studentUpperQuantile(_ p: Double, df: Double) -> Double {
        let z = normalUpperQuantile(p)
        guard df.isFinite, df < 1e7 else { return z }
        // Cornish–Fisher start, then Newton inside a bracket (bisection when a step leaves it).
        var t = z + (z * z * z + z) / (4 * df) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * df * df)
        var lo = -1e12, hi = 1e12
        for _ in 0 ..< 200 {
            let f = studentUpperTail(t, df: df) - p   // decreasing in t
            if f > 0 { lo = Swift.max(lo, t) } else { hi = Swift.min(hi, t) }
            if abs(f) < 1e-15 * Swift.max(p, 1e-300) || hi - lo < 1e-12 * Swift.max(1, abs(t)) { break }
            var next = t + f / studentDensity(t, df: df)
            if !(next > lo && next < hi) || !next.isFinite {
                next = (lo > -1e12 && hi < 1e12) ? (lo + hi) / 2 : (f > 0 ? t * 2 + 1 : t / 2 - 1)
            }
            if abs(next - t) < 1e-13 * Swift.max(1, abs(t)) { t = next; break }
            t = next
        }
        return t
    }
}

/// One test of the gate's family: a change d = ln(new/base) on the log scale with its
/// standard error and degrees of freedom (infinite: normal), oriented by the metric.
public struct GateTest: Sendable, Equatable {
    /// ln(new / base).
    public var d: Double
    public var se: Double
    /// Degrees of freedom of the t distribution; `.infinity` for the normal.
    public var df: Double
    /// +1 when higher is worse (latency, CPU), −1 when lower is worse (IOPS).
    public var worseSign: Double
    /// The threshold on the log scale, ln(1 + |threshold|) (worse and better alike).
    public var delta: Double

    public init(d: Double, se: Double, df: Double, worseSign: Double, delta: Double) {
        self.d = d; self.se = se; self.df = df; self.worseSign = worseSign; self.delta = delta
    }

    /// The one-sided p value of H0: "worse by at most the threshold" (d·worseSign ≤ δ).
    public var pValue: Double {
        let dw = d * worseSign
        guard se > 0 else { return dw > delta ? 0 : 1 }
        return GateMath.studentUpperTail((dw - delta) / se, df: df)
    }

    /// The one-sided quantile at level `alpha`: the interval's half-width is q·se.
    public func quantile(_ alpha: Double) -> Double {
        GateMath.studentUpperQuantile(alpha, df: df)
    }
}

/// What the gate decided for one test: its interval at the family's effective level and
/// the verdict that interval gives.
public struct GateOutcome: Sendable, Equatable {
    public enum Verdict: String, Sendable { case regression, improved, unchanged, unclear }
    public var verdict: Verdict
    /// The interval of d = ln(new/base).
    public var low: Double
    public var high: Double
    public var pValue: Double
}

/// The gate: a one-sided test per case × metric of "worse by more than the threshold",
/// Benjamini–Hochberg over the family at `alpha`, and every interval printed at the
/// effective level α_eff = α·max(R, 1)/m that the step-up procedure applied, so that
/// "regression" ⇔ "the whole interval lies beyond the worse threshold".
public enum Gate {
    /// Welch's t on two samples of logs: the difference of means, its standard error and
    /// the Welch–Satterthwaite degrees of freedom. Nil with fewer than 2 values a side.
    public static func welch(base: [Double], new: [Double]) -> (d: Double, se: Double, df: Double)? {
        guard base.count >= 2, new.count >= 2 else { return nil }
        func meanVar(_ x: [Double]) -> (Double, Double) {
            let m = x.reduce(0, +) / Double(x.count)
            let v = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)
            return (m, v)
        }
        let (mb, vb) = meanVar(base), (mn, vn) = meanVar(new)
        let qb = vb / Double(base.count), qn = vn / Double(new.count)
        let se2 = qb + qn
        let denom = qb * qb / Double(base.count - 1) + qn * qn / Double(new.count - 1)
        let df = denom > 0 ? se2 * se2 / denom : .infinity
        return (mn - mb, se2.squareRoot(), df)
    }

    /// A one-sample t on paired differences (round i of NEW against round i of BASE).
    public static func paired(_ diffs: [Double]) -> (d: Double, se: Double, df: Double)? {
        guard diffs.count >= 2 else { return nil }
        let m = diffs.reduce(0, +) / Double(diffs.count)
        let v = diffs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(diffs.count - 1)
        return (m, (v / Double(diffs.count)).squareRoot(), Double(diffs.count - 1))
    }

    /// Benjamini–Hochberg step-up: the number of rejections R among p values at `alpha`.
    public static func benjaminiHochberg(_ p: [Double], alpha: Double) -> Int {
        let sorted = p.sorted()
        let m = Double(sorted.count)
        var r = 0
        for (i, v) in sorted.enumerated() where v <= Double(i + 1) * alpha / m { r = i + 1 }
        return r
    }

    /// The effective one-sided level of every interval: α·max(R, 1)/m.
    public static func effectiveAlpha(alpha: Double, rejections: Int, tests: Int) -> Double {
        alpha * Double(max(rejections, 1)) / Double(max(tests, 1))
    }

    /// Judges the family: BH on the p values, then each interval at α_eff and its verdict.
    public static func judge(_ tests: [GateTest], alpha: Double) -> (outcomes: [GateOutcome], rejections: Int, alphaEffective: Double) {
        let p = tests.map(\.pValue)
        let r = benjaminiHochberg(p, alpha: alpha)
        let aEff = effectiveAlpha(alpha: alpha, rejections: r, tests: tests.count)
        // The BH cut-off: the R-th smallest p value; at or below it a test is rejected.
        let cut = r > 0 ? p.sorted()[r - 1] : -1
        var quantiles: [Double: Double] = [:]
        let outcomes = zip(tests, p).map { t, pv -> GateOutcome in
            let q = quantiles[t.df] ?? { let v = t.quantile(aEff); quantiles[t.df] = v; return v }()
            let low = t.d - q * t.se, high = t.d + q * t.se
            let wl = t.worseSign > 0 ? low : -high     // the interval, oriented so that up is worse
            let wh = t.worseSign > 0 ? high : -low
            let verdict: GateOutcome.Verdict
            if pv <= cut {
                // BH rejected it; then wl > δ as well (p ≤ α_eff), up to rounding.
                verdict = .regression
            } else if wh < -t.delta {
                verdict = .improved
            } else if wl >= -t.delta && wh <= t.delta {
                verdict = .unchanged
            } else {
                verdict = .unclear
            }
            return GateOutcome(verdict: verdict, low: low, high: high, pValue: pv)
        }
        return (outcomes, r, aEff)
    }
}

/// A percentile's distribution-free interval from a histogram: the binomial order
/// statistics. The k-th smallest of n reads is below the true p-quantile with probability
/// P(Binomial(n, p) ≥ k), so ranks n·p ± z·√(n·p·(1−p)) bound it at about the normal
/// level of z. The values are read off the histogram at those ranks: the lower one at
/// its bucket's lowest equivalent value, the upper one at its bucket's highest (capped at
/// the exact maximum), so the histogram's 0.1% resolution widens, never narrows, it.
public struct HistogramQuantiles {
    public let count: UInt64
    let values: [UInt64]          // bucket values in increasing order
    let cumulative: [UInt64]      // reads at or below each bucket
    let lowest: [UInt64]
    let highest: [UInt64]
    let maxNs: UInt64

    public init(_ h: LatencyHistogram, exactMax: UInt64? = nil) {
        var v: [UInt64] = [], c: [UInt64] = [], lo: [UInt64] = [], hi: [UInt64] = []
        var total: UInt64 = 0
        for it in h.histogram.recordedValues() where it.count > 0 {
            total &+= UInt64(it.count)
            v.append(it.value); c.append(total)
            lo.append(h.histogram.lowestEquivalentForValue(it.value))
            hi.append(h.histogram.highestEquivalentForValue(it.value))
        }
        count = total; values = v; cumulative = c; lowest = lo; highest = hi
        maxNs = exactMax ?? (hi.last ?? 0)
    }

    /// The bucket index holding the read of 1-based rank `rank` (clamped to 1...n).
    func bucket(rank: Double) -> Int {
        let r = UInt64(Swift.min(Swift.max(rank.rounded(.up), 1), Double(count)))
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] >= r { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// The interval of the p-quantile (p in 0…1) at normal quantile z: (low, high) in ns.
    public func interval(p: Double, z: Double) -> (low: UInt64, high: UInt64)? {
        guard count > 0 else { return nil }
        let n = Double(count)
        let half = z * (n * p * (1 - p)).squareRoot()
        let lo = lowest[bucket(rank: n * p - half)]
        let hi = Swift.min(highest[bucket(rank: n * p + half + 1)], maxNs)
        return (Swift.max(lo, 1), Swift.max(hi, Swift.max(lo, 1)))
    }
}
