import CIOBenchShim
import Foundation
import Testing
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

// Property-based tests of everything that reads user input: the size, duration and
// threshold parsers, the JSON result reader (RunResult.decode, used by compare and
// merge) and the HdrHistogram V2 decoder behind merge. Inputs come from a seeded
// generator, so a failure names a reproducible input. The properties: nothing traps;
// a value returned is the one the input means; anything refused is IOBenchError with
// exit code 2 and a one-line message.

/// SplitMix64: small, seeded, the same sequence on every machine.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random strings built from the pieces that matter to a parser: digits, unit letters,
/// signs, dots, exponents, whitespace, non-ASCII digits and letters, and very long numbers.
enum InputGenerator {
    static let pieces: [String] = [
        "0", "1", "4", "7", "9", "00", "512", "4096", "65536", "18446744073709551615", "18446744073709551616",
        "9223372036854775807", "9223372036854775808", "99999999999999999999999999999",
        "k", "K", "m", "M", "g", "G", "t", "T", "p", "P", "b", "B", "kb", "KiB", "mib", "gb", "tib", "e", "E",
        "s", "ms", "us", "µs", "ns", "min", "h", "d", "x",
        ".", "..", "-", "+", "=", "%", "%%", " ", "  ", "\t", "\n", "_", ",", "/", "0x", "1e3", "1e999", "-1e999",
        "nan", "NaN", "inf", "-inf", "infinity",
        "\u{0663}", "\u{00BD}", "\u{2460}", "\u{FF14}", "\u{212A}", "\u{0130}", "🙂", "\u{0000}", "\u{00A0}",
        "iops", "mean", "p50", "p99", "p99.9", "P99", "cpu", "lat",
    ]

    static func string(_ rng: inout SplitMix64) -> String {
        let n = Int.random(in: 0 ... 6, using: &rng)
        var s = ""
        for _ in 0 ..< n { s += pieces.randomElement(using: &rng)! }
        return s
    }

    /// Well-formed inputs, so the "accepted" side of each property is exercised too.
    static func sizeLike(_ rng: inout SplitMix64) -> String {
        let digits = String(UInt64.random(in: 0 ... 1 << 40, using: &rng) >> UInt64.random(in: 0 ... 40, using: &rng))
        let suffix = ["", "k", "K", "m", "g", "t", "b", "kb", "KiB", "MB", "gib", "TB"].randomElement(using: &rng)!
        let pad = [("", ""), (" ", ""), ("", " "), ("  ", "  ")].randomElement(using: &rng)!
        return pad.0 + digits + suffix + pad.1
    }

    static func durationLike(_ rng: inout SplitMix64) -> String {
        var number = String(UInt64.random(in: 0 ... 1 << 32, using: &rng) >> UInt64.random(in: 0 ... 32, using: &rng))
        if Bool.random(using: &rng) { number += "." + String(UInt64.random(in: 0 ... 999, using: &rng)) }
        if Int.random(in: 0 ..< 10, using: &rng) == 0 { number = "." + number }
        let suffix = ["", "s", "ms", "us", "ns", "m", "min", "h", "MS", "S"].randomElement(using: &rng)!
        return number + suffix
    }

    static func thresholdLike(_ rng: inout SplitMix64) -> String {
        let metric = ["iops", "mean", "p50", "p99", "p99.9", "cpu", "IOPS", " p99 ", "p999"].randomElement(using: &rng)!
        let sign = ["", "+", "-", "+-", "--"].randomElement(using: &rng)!
        var number = String(Double(Int.random(in: 0 ... 2_000_000, using: &rng)) / 100)
        if Int.random(in: 0 ..< 8, using: &rng) == 0 { number = ["nan", "inf", "1e999", "1e5", "0x10", ".5", "5."].randomElement(using: &rng)! }
        let pct = ["%", "", "%%", " %"].randomElement(using: &rng)!
        return metric + "=" + sign + number + pct
    }
}

/// Collects property violations by kind, so thousands of inputs give one issue per
/// broken property (with its count and the first examples), not thousands of issues.
final class Violations {
    private var byKind: [(kind: String, count: Int, examples: [String])] = []

    func add(_ kind: String, _ example: String) {
        if let i = byKind.firstIndex(where: { $0.kind == kind }) {
            byKind[i].count += 1
            if byKind[i].examples.count < 3 { byKind[i].examples.append(example) }
        } else {
            byKind.append((kind, 1, [example]))
        }
    }

    /// An error the user can act on: exit 2, one line of text, naming what was wrong.
    func checkBadInput(_ error: IOBenchError, _ input: String, mentions: String? = nil) {
        if error.exitCode != 2 { add("refused with exit \(error.exitCode), not 2", "\(input.debugDescription): \(error)") }
        if error.description.contains("\n") || error.description.contains("\r") {
            add("the message is not one line (the input is echoed verbatim, control characters included)",
                "\(input.debugDescription) → \(error.description.debugDescription)")
        }
        if let mentions, !error.description.contains(mentions) {
            add("the message does not mention \(mentions)", "\(input.debugDescription) → \(error)")
        }
    }

    func report(sourceLocation: SourceLocation = #_sourceLocation) {
        for v in byKind {
            Issue.record("\(v.kind): \(v.count) input(s), e.g. \(v.examples.joined(separator: "; "))", sourceLocation: sourceLocation)
        }
    }
}

/// One input's error, checked on its own.
func expectBadInput(_ error: IOBenchError, _ input: String, mentions: String? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    let v = Violations()
    v.checkBadInput(error, input, mentions: mentions)
    v.report(sourceLocation: sourceLocation)
}

// MARK: - Independent models of what each parser should accept

enum Model {
    static let sizeMultipliers: [String: UInt64] = [
        "": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
        "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
    ]

    /// ASCII digits, then an optional unit, with spaces around; at most 2^63-1 bytes.
    static func size(_ text: String) -> UInt64? {
        var t = Substring(text.lowercased())
        while t.first == " " { t = t.dropFirst() }
        while t.last == " " { t = t.dropLast() }
        let digits = t.prefix { $0.isASCII && $0.isNumber }
        let unit = String(t.dropFirst(digits.count))
        guard !digits.isEmpty, let v = UInt64(digits), let m = sizeMultipliers[unit] else { return nil }
        let (p, o) = v.multipliedReportingOverflow(by: m)
        return o || p > UInt64(Int64.max) ? nil : p
    }

    static let durationScale: [String: Double] = ["": 1e9, "s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1, "m": 60e9, "min": 60e9, "h": 3600e9]

    /// A decimal number (ASCII digits and dots) then an optional unit; under 1e18 ns.
    static func duration(_ text: String) -> UInt64? {
        var t = Substring(text.lowercased())
        while t.first == " " { t = t.dropFirst() }
        while t.last == " " { t = t.dropLast() }
        let number = t.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = String(t.dropFirst(number.count))
        guard !number.isEmpty, let scale = durationScale[unit], let v = Double(number), v.isFinite else { return nil }
        let ns = v * scale
        return ns < 1e18 ? UInt64(ns.rounded()) : nil
    }
}

// MARK: - Sizes, durations, thresholds

@Suite("Parser properties: sizes, durations, thresholds")
struct ParserPropertyTests {
    @Test("parseSize never traps; accepts exactly the sizes the model accepts, with the same value")
    func sizeFuzz() {
        var rng = SplitMix64(seed: 0x51_2E5)
        let v = Violations()
        var accepted = 0
        for i in 0 ..< 6000 {
            let input = i % 3 == 0 ? InputGenerator.sizeLike(&rng) : InputGenerator.string(&rng)
            let expected = Model.size(input)
            do {
                let got = try Units.parseSize(input, option: "size")
                accepted += 1
                if expected != got { v.add("a value other than the model's", "\(input.debugDescription) → \(got), model \(String(describing: expected))") }
            } catch {
                v.checkBadInput(error, input, mentions: "--size")
                if let expected { v.add("refused what the model accepts", "\(input.debugDescription) (model \(expected)): \(error)") }
            }
        }
        #expect(accepted > 1500, "the generator exercises accepted sizes too")
        v.report()
    }

    @Test("formatSize then parseSize gives the same number", arguments: [
        0, 1, 511, 512, 4096, 4097, 1 << 20, 3 << 30, 1 << 40, (1 << 40) + 1, 5 << 50, UInt64(Int64.max),
        UInt64(Int64.max) - 4095, 1 << 62,
    ] as [UInt64])
    func sizeRoundTripFixed(_ bytes: UInt64) throws {
        #expect(try Units.parseSize(Units.formatSize(bytes), option: "size") == bytes)
    }

    @Test("formatSize then parseSize: 20000 random sizes up to 2^63-1")
    func sizeRoundTripRandom() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0 ..< 20000 {
            let shift = UInt64.random(in: 0 ... 62, using: &rng)
            var v = UInt64.random(in: 0 ... UInt64(Int64.max), using: &rng) >> shift
            if Bool.random(using: &rng) { v = (v >> 10) << 10 }  // many whole k/m/g/t multiples
            let text = Units.formatSize(v)
            #expect(try Units.parseSize(text, option: "size") == v, "\(v) → \(text)")
        }
    }

    @Test("sizes above 2^63-1 are refused with exit 2, and the limit the message names parses")
    func sizeLimitMessage() throws {
        for input in ["8388608t", "9223372036854775808", "18446744073709551615", "18446744073709551616", "99999999999t"] {
            #expect(throws: IOBenchError.self) { try Units.parseSize(input, option: "size") }
            do { _ = try Units.parseSize(input, option: "size") } catch { expectBadInput(error, input) }
        }
        #expect(try Units.parseSize("9223372036854775807", option: "size") == UInt64(Int64.max))
        // The "too large" message tells the user the largest size is "8191p"; that
        // suggestion should itself be accepted (it is 8191 * 2^50 < 2^63).
        var message = ""
        do { _ = try Units.parseSize("8388608t", option: "size") } catch { message = error.description }
        if let range = message.range(of: #"[0-9]+[a-z]+ \("#, options: .regularExpression) {
            let suggested = String(message[range].dropLast(2))
            #expect(throws: Never.self, "the error message suggests '\(suggested)', which parseSize refuses: \(message)") {
                _ = try Units.parseSize(suggested, option: "size")
            }
        }
    }

    @Test("parseDuration never traps; accepts exactly what the model accepts, with the same value")
    func durationFuzz() {
        var rng = SplitMix64(seed: 0xD0_2A7)
        let v = Violations()
        var accepted = 0
        for i in 0 ..< 6000 {
            let input = i % 3 == 0 ? InputGenerator.durationLike(&rng) : InputGenerator.string(&rng)
            let expected = Model.duration(input)
            do {
                let got = try Units.parseDuration(input, option: "runtime")
                accepted += 1
                if expected != got { v.add("a value other than the model's", "\(input.debugDescription) → \(got), model \(String(describing: expected))") }
            } catch {
                v.checkBadInput(error, input, mentions: "--runtime")
                if let expected { v.add("refused what the model accepts", "\(input.debugDescription) (model \(expected)): \(error)") }
            }
        }
        #expect(accepted > 1500, "the generator exercises accepted durations too")
        v.report()
    }

    @Test("formatDuration then parseDuration gives the same nanoseconds (exact up to 2^53 ns)")
    func durationRoundTrip() throws {
        var rng = SplitMix64(seed: 7)
        var values: [UInt64] = [0, 1, 999, 1000, 1_000_000, 1_500_000_000, 60_000_000_000, 3_600_000_000_000, 1 << 53]
        for _ in 0 ..< 20000 {
            values.append(UInt64.random(in: 0 ... 1 << 53, using: &rng) >> UInt64.random(in: 0 ... 53, using: &rng))
        }
        for ns in values {
            let text = Units.formatDuration(ns)
            #expect(try Units.parseDuration(text, option: "runtime") == ns, "\(ns) → \(text)")
        }
        // Past 31 years: refused, not wrapped.
        for input in ["1e18ns", "1000000000000000000ns", "999999999999h", "1" + String(repeating: "0", count: 400)] {
            do { _ = try Units.parseDuration(input, option: "runtime"); Issue.record("\(input) accepted") } catch {
                expectBadInput(error, input)
            }
        }
    }

    @Test("CompareThreshold.parse never traps; a value returned is the metric and percentage written")
    func thresholdFuzz() {
        var rng = SplitMix64(seed: 0x7E_5401)
        let viol = Violations()
        var accepted = 0
        for i in 0 ..< 6000 {
            let input = i % 2 == 0 ? InputGenerator.thresholdLike(&rng) : InputGenerator.string(&rng)
            do {
                let t = try CompareThreshold.parse(input)
                accepted += 1
                let parts = input.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if !(parts.count == 2 && parts[0].lowercased() == t.metric.rawValue) { viol.add("another metric than written", "\(input.debugDescription) → \(t)") }
                var number = parts.count == 2 ? parts[1] : ""
                if number.hasSuffix("%") { number.removeLast() }
                if let v = Double(number), v.isFinite, abs(abs(v) - abs(t.percent)) <= 1e-9 * max(1, abs(v)) {} else {
                    viol.add("another percentage than written", "\(input.debugDescription) → \(t.percent)")
                }
                // The stored sign is always the worse direction: down for IOPS, up for the rest.
                if !(t.percent == 0 || (t.percent < 0) == t.metric.higherIsBetter) { viol.add("sign is not the worse direction", "\(input.debugDescription) → \(t)") }
                if !(t.percent.isFinite && abs(t.percent) < 1e6) { viol.add("percentage out of range", "\(input.debugDescription) → \(t)") }
            } catch {
                viol.checkBadInput(error, input, mentions: "--threshold")
            }
        }
        #expect(accepted > 300, "the generator exercises accepted thresholds too")
        viol.report()
    }

    @Test("Threshold examples from the help text parse", arguments: [
        ("p99=+5%", CompareMetric.p99, 5.0), ("iops=-3%", .iops, -3), ("p99.9=+20%", .p999, 20), ("cpu=5", .cpu, 5),
        ("mean=+0.5%", .mean, 0.5), ("IOPS=10%", .iops, -10), (" p50 = +7% ", .p50, 7),
    ])
    func thresholdExamples(_ text: String, _ metric: CompareMetric, _ percent: Double) throws {
        let t = try CompareThreshold.parse(text)
        #expect(t.metric == metric)
        #expect(t.percent == percent)
    }
}

// MARK: - The JSON result reader

/// A result with every section filled in, as compare and merge read them.
enum SampleResult {
    static func make() -> RunResult {
        var spec = CaseSpec(engine: .ioUring)
        spec.queueDepth = 8
        spec.runtimeNs = 1_000_000_000
        var outcomes: [JobOutcome] = []
        for job in 0 ..< 2 {
            var o = JobOutcome()
            for v in [900, 1000, 1500, 2000, 3000, 250_000, 12_000_000] as [UInt64] { o.histogram.record(v + UInt64(job)) }
            o.ios = 7
            o.elapsedNs = 1_000_000_000
            o.timeline = [7]
            o.usage.userNs = 1000
            o.usage.systemNs = 2000
            outcomes.append(o)
        }
        let c = CaseResult(spec: spec, outcomes: outcomes)
        var r = RunResult(startedAt: "2026-01-01T00:00:00Z",
                          environment: EnvironmentInfo(kernel: "6.18", hostname: "h", cpuModel: "cpu", onlineCPUs: 2),
                          target: nil, arguments: ["iobench", "run"], cases: [c])
        r.repeatCount = nil
        return r
    }

    static func json() -> Data { try! make().jsonData() }
}

/// A JSON tree path: object keys and array indices.
enum PathStep: CustomStringConvertible {
    case key(String), index(Int)
    var description: String {
        switch self { case .key(let k): return "." + k; case .index(let i): return "[\(i)]" }
    }
}

enum JSONMutator {
    /// Every path in the tree, depth first (the root excluded).
    static func paths(_ node: Any, prefix: [PathStep] = []) -> [[PathStep]] {
        var out: [[PathStep]] = []
        if let d = node as? [String: Any] {
            for k in d.keys.sorted() {
                let p = prefix + [.key(k)]
                out.append(p)
                out += paths(d[k]!, prefix: p)
            }
        } else if let a = node as? [Any] {
            for (i, v) in a.enumerated() {
                let p = prefix + [.index(i)]
                out.append(p)
                out += paths(v, prefix: p)
            }
        }
        return out
    }

    /// The tree with the node at `path` replaced (or removed, when `value` is nil).
    static func setting(_ node: Any, _ path: ArraySlice<PathStep>, to value: Any?) -> Any {
        guard let step = path.first else { return value ?? NSNull() }
        switch step {
        case .key(let k):
            var d = node as! [String: Any]
            if path.count == 1, value == nil { d.removeValue(forKey: k) } else {
                d[k] = setting(d[k]!, path.dropFirst(), to: value)
            }
            return d
        case .index(let i):
            var a = node as! [Any]
            if path.count == 1, value == nil { a.remove(at: i) } else {
                a[i] = setting(a[i], path.dropFirst(), to: value)
            }
            return a
        }
    }

    static func get(_ node: Any, _ path: [PathStep]) -> Any {
        var n = node
        for s in path {
            switch s {
            case .key(let k): n = (n as! [String: Any])[k]!
            case .index(let i): n = (n as! [Any])[i]
            }
        }
        return n
    }

    /// Values of the wrong type or range for almost any field.
    // Immutable after initialisation; Any and closures are not Sendable to the compiler.
    nonisolated(unsafe) static let replacements: [(String, Any)] = [
        ("-1", -1), ("0", 0), ("1.5", 1.5), ("\"NaN\"", "NaN"), ("\"x\"", "x"), ("\"\"", ""), ("true", true), ("null", NSNull()),
        ("[]", [Any]()), ("{}", [String: Any]()), ("[{\"a\":1}]", [["a": 1]]), ("{\"a\":[1]}", ["a": [1]]),
        ("UInt64.max", NSNumber(value: UInt64.max)), ("Int64.min", NSNumber(value: Int64.min)), ("1e300", 1e300), ("-1e300", -1e300),
    ]

    /// Every mutation of `data`: each field removed, and replaced by each wrong value.
    static func treeMutations(of data: Data) -> [(label: String, data: Data)] {
        let root = try! JSONSerialization.jsonObject(with: data)
        var out: [(String, Data)] = []
        for p in paths(root) {
            let name = p.map(\.description).joined()
            if case .key = p.last! {
                out.append(("remove \(name)", try! JSONSerialization.data(withJSONObject: setting(root, p[...], to: nil))))
            }
            for (label, v) in replacements {
                let m = setting(root, p[...], to: v)
                out.append(("\(name) = \(label)", try! JSONSerialization.data(withJSONObject: m)))
            }
        }
        return out
    }

    /// Text-level mutations JSONSerialization cannot express: every number replaced by
    /// 1e999, -1e999, a bare NaN, a huge integer, a negative, "x".
    static func numberMutations(of data: Data) -> [(label: String, data: Data)] {
        let text = String(decoding: data, as: UTF8.self)
        let regex = try! NSRegularExpression(pattern: #"(?<=: )-?[0-9][0-9.eE+-]*"#)
        let ns = text as NSString
        var out: [(String, Data)] = []
        for (k, m) in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).enumerated() {
            for r in ["1e999", "-1e999", "NaN", "Infinity", "184467440737095516150", "-1", "\"x\"", "\"NaN\"", "0x10", "1e-999"] {
                out.append(("number #\(k) (\(ns.substring(with: m.range))) = \(r)", Data(ns.replacingCharacters(in: m.range, with: r).utf8)))
            }
        }
        return out
    }
}

extension ParserPropertyTests {
    @Suite("Result JSON reader properties")
    struct ResultReader {
        func checkDecode(_ data: Data, _ label: String, into v: Violations) {
            do {
                _ = try RunResult.decode(data, source: "mutated.json")
            } catch {
                v.checkBadInput(error, label, mentions: "mutated.json")
            }
        }

        @Test("the sample decodes")
        func sampleDecodes() throws {
            let r = try RunResult.decode(SampleResult.json(), source: "sample.json")
            #expect(r.cases.count == 1)
            #expect(r.cases[0].ios == 14)
        }

        @Test("truncated at every 97th byte: exit 2, one line, never a trap")
        func truncations() {
            let data = SampleResult.json()
            #expect(data.count > 2000)
            let v = Violations()
            for n in stride(from: 0, to: data.count, by: 97) {
                do {
                    _ = try RunResult.decode(data.prefix(n), source: "truncated.json")
                    v.add("a truncated result decoded", "\(n) of \(data.count) bytes")
                } catch {
                    v.checkBadInput(error, "prefix \(n)", mentions: "truncated.json")
                }
            }
            v.report()
        }

        @Test("every field removed or of a wrong type: decodes or exit 2, never a trap")
        func treeMutations() {
            let muts = JSONMutator.treeMutations(of: SampleResult.json())
            #expect(muts.count > 1000)
            var refused = 0
            let v = Violations()
            for (label, data) in muts {
                do { _ = try RunResult.decode(data, source: "mutated.json") } catch {
                    refused += 1
                    v.checkBadInput(error, label, mentions: "mutated.json")
                }
            }
            v.report()
            #expect(refused > muts.count / 2, "most wrong types are refused (\(refused) of \(muts.count))")
        }

        @Test("every number replaced by 1e999, NaN, a huge or negative number, a string: decodes or exit 2")
        func numberMutations() {
            let muts = JSONMutator.numberMutations(of: SampleResult.json())
            #expect(muts.count > 300)
            let v = Violations()
            for (label, data) in muts { checkDecode(data, label, into: v) }
            v.report()
        }

        @Test("schema and version are checked first, with the reason", arguments: [
            (#""schema_version" : 1"#, #""schema_version" : 2"#, "schema version 2"),
            (#""schema_version" : 1"#, #""schema_version" : 0"#, "schema version 0"),
            (#""schema_version" : 1"#, #""schema_version" : "1""#, "schema version"),
            // Foundation's parser refuses a number beyond Double: not JSON it can read.
            (#""schema_version" : 1"#, #""schema_version" : 1e999"#, "does not parse"),
            (#""schema_version" : 1"#, #""schema_version" : 99999999999999999999"#, "schema version"),
            (#""schema" : "iobench/result""#, #""schema" : "fio""#, "'fio'"),
            (#""schema" : "iobench/result""#, #""schema" : 1"#, "schema"),
            (#""schema" : "iobench/result","#, "", "schema is missing"),
        ])
        func schemaChecks(_ find: String, _ replace: String, _ mention: String) {
            let text = String(decoding: SampleResult.json(), as: UTF8.self)
            #expect(text.contains(find))
            let mutated = Data(text.replacingOccurrences(of: find, with: replace).utf8)
            do {
                _ = try RunResult.decode(mutated, source: "v.json")
                Issue.record("\(replace) decoded")
            } catch {
                expectBadInput(error, replace, mentions: mention)
            }
        }

        @Test("random byte damage: decodes or exit 2")
        func byteDamage() {
            let data = [UInt8](SampleResult.json())
            var rng = SplitMix64(seed: 99)
            let v = Violations()
            defer { v.report() }
            for _ in 0 ..< 3000 {
                var d = data
                for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                    let i = Int.random(in: 0 ..< d.count, using: &rng)
                    d[i] = [UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "]"), UInt8(ascii: "9"), UInt8(ascii: "-"), 0, 0xff,
                            UInt8.random(in: 0 ... 255, using: &rng)].randomElement(using: &rng)!
                }
                checkDecode(Data(d), "damaged", into: v)
            }
        }

        /// What compare, merge and the text report do with a result that decoded but holds
        /// nonsense (negative means, UInt64.max counts, 1e300 IOPS). They run in a child
        /// process (an exit test): a trap there fails this test instead of killing the run.
        /// The child writes each mutation's label before trying it, so a failure names the
        /// input that trapped.
        @Test("compare, merge and the text report survive every decodable mutation")
        func downstreamSurvivesMutations() async {
            // The child notes each mutation here before trying it (an exit test's result,
            // stderr included, is not returned when the test fails).
            let note = NSTemporaryDirectory() + "/iobench-downstream-\(getpid())-\(UUID().uuidString.prefix(8)).txt"
            defer { try? FileManager.default.removeItem(atPath: note) }
            await #expect(processExitsWith: .success, "compare, merge or TextReport trapped on a decodable result") { [note = note as String] in
                let sampleData = SampleResult.json()
                let base = try! RunResult.decode(sampleData, source: "base.json")
                // Values of the right type but out of range: the mutations that decode.
                let nonsense = ["= -1", "= 0", "= 1.5", "= 1e300", "= -1e300", "UInt64.max", "Int64.min", "remove "]
                let muts = JSONMutator.treeMutations(of: sampleData).filter { m in nonsense.contains { m.label.contains($0) } }
                    + JSONMutator.numberMutations(of: sampleData).filter { $0.label.hasSuffix("= -1") || $0.label.hasSuffix("= 1e-999") }
                let fd = open(note, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                func say(_ s: String) {
                    let line = Array((s + "\n").utf8)
                    _ = ftruncate(fd, 0)
                    _ = pwrite(fd, line, line.count, 0)
                }
                for (label, data) in muts {
                    guard let r = try? RunResult.decode(data, source: "m.json") else { continue }
                    say("compare: \(label)")
                    _ = try? Comparator.compare(base: base, new: r, baseName: "a", newName: "b")
                    _ = try? Comparator.compare(base: r, new: base, baseName: "a", newName: "b")
                    say("merge: \(label)")
                    if let merged = try? ResultMerger.merge([("a", base), ("b", r)]) {
                        say("text report of the merge: \(label)")
                        _ = TextReport.render(merged)
                        _ = try? merged.jsonData()
                    }
                    say("text report: \(label)")
                    _ = TextReport.render(r)
                }
                say("done")
                close(fd)
            }
            let last = (try? String(contentsOfFile: note, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "(nothing)"
            if last != "done" {
                Issue.record("the child stopped (trapped) in \(last)")
            }
        }
    }
}

// MARK: - HdrHistogram V2 decoding (merge decodes every case's histogram)

/// Builds a compressed V2 string with an arbitrary payload, as a damaged or hostile
/// file could carry.
enum CraftedV2 {
    static func zigzag(_ v: Int64) -> [UInt8] {
        var out: [UInt8] = []
        HdrV2Codec.appendZigZag(v, to: &out)
        return out
    }

    static func encode(payload: [UInt8], lowest: UInt64 = 1, digits: UInt32 = 3) -> String {
        var raw: [UInt8] = []
        HdrV2Codec.appendBE32(HdrV2Codec.encodingCookie, to: &raw)
        HdrV2Codec.appendBE32(UInt32(payload.count), to: &raw)
        HdrV2Codec.appendBE32(0, to: &raw)
        HdrV2Codec.appendBE32(digits, to: &raw)
        HdrV2Codec.appendBE64(lowest, to: &raw)
        HdrV2Codec.appendBE64(LatencyHistogram.highest, to: &raw)
        HdrV2Codec.appendBE64(Double(1.0).bitPattern, to: &raw)
        raw += payload
        var compressed = [UInt8](repeating: 0, count: Int(iob_zlib_bound(UInt(raw.count))))
        var clen = UInt(compressed.count)
        _ = compressed.withUnsafeMutableBufferPointer { dst in
            raw.withUnsafeBufferPointer { src in iob_zlib_compress(dst.baseAddress, &clen, src.baseAddress, UInt(src.count)) }
        }
        var out: [UInt8] = []
        HdrV2Codec.appendBE32(HdrV2Codec.compressedCookie, to: &out)
        HdrV2Codec.appendBE32(UInt32(clen), to: &out)
        out += compressed[0 ..< Int(clen)]
        return Data(out).base64EncodedString()
    }

    /// Hostile payloads: each is a list of ZigZag values (negative: a run of zeros).
    static let payloads: [(String, [Int64])] = [
        ("a run of Int64.min zeros", [Int64.min, 5]),
        ("a run of Int64.min+1 zeros", [Int64.min + 1, 5]),
        ("a count of Int64.max at ~1 ms", [-12000, Int64.max]),
        ("three counts of Int64.max", [Int64.max, Int64.max, Int64.max]),
        ("a run of 2^40 zeros then a count", [-(1 << 40), 3]),
        ("counts past the 60 s range", [-40000, 1]),
    ]
}

extension ParserPropertyTests {
    @Suite("HdrHistogram V2 decoder properties")
    struct HdrDecoder {
        @Test("random damage to a valid encoding: decodes or throws")
        func randomDamage() {
            var h = LatencyHistogram()
            for v in stride(from: UInt64(100), to: 50_000_000, by: 7919) { h.record(v) }
            let valid = HdrV2Codec.encode(h)
            #expect((try? HdrV2Codec.decode(valid))?.count == h.count)
            var rng = SplitMix64(seed: 3)
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
            for _ in 0 ..< 2000 {
                var s = Array(valid)
                for _ in 0 ..< Int.random(in: 1 ... 3, using: &rng) {
                    s[Int.random(in: 0 ..< s.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                }
                if Bool.random(using: &rng) { s = Array(s.prefix(Int.random(in: 0 ..< s.count, using: &rng))) }
                _ = try? HdrV2Codec.decode(String(s))
            }
        }

        /// Hostile payloads, each decoded in a child process: the decoder (and merge, which
        /// computes the sum as mean × count) must throw, not trap.
        @Test("hostile payloads throw instead of trapping", arguments: 0 ..< CraftedV2.payloads.count)
        func hostilePayloads(_ index: Int) async {
            let name = CraftedV2.payloads[index].0
            await #expect(processExitsWith: .success, "decoding a V2 histogram with \(name)") { [index = index as Int] in
                let (_, values) = CraftedV2.payloads[index]
                let text = CraftedV2.encode(payload: values.flatMap { CraftedV2.zigzag($0) })
                _ = try? HdrV2Codec.decode(text)
            }
        }
    }
}

// MARK: - The command line on damaged result files

/// Runs the built `iobench` (next to the test bundle) and returns its exit, stdout and stderr.
enum IOBenchCLI {
    static var binary: String {
        let dir = Bundle.main.bundleURL.path.hasSuffix(".xctest")
            ? Bundle.main.bundleURL.deletingLastPathComponent().path
            : Bundle.main.bundleURL.path
        return dir + "/iobench"
    }

    struct Outcome {
        var reason: Process.TerminationReason
        var status: Int32
        var stdout: String
        var stderr: String
        var crashed: Bool { reason == .uncaughtSignal || status >= 128 }
    }

    static func run(_ args: [String]) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read stderr on another thread so neither pipe can fill up and block the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let e = Box()
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread { e.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Outcome(reason: p.terminationReason, status: p.terminationStatus,
                       stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e.data, as: UTF8.self))
    }
}

extension ParserPropertyTests {
    @Suite("compare and merge on damaged result files", .serialized)
    struct ResultFilesOnTheCommandLine {
        let dir: String
        let base: String

        init() throws {
            dir = NSTemporaryDirectory() + "/iobench-cli-fuzz-\(getpid())-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            base = dir + "/base.json"
            try SampleResult.json().write(to: URL(fileURLWithPath: base))
        }

        func write(_ name: String, _ data: Data) throws -> String {
            let path = dir + "/" + name
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }

        func cleanUp() { try? FileManager.default.removeItem(atPath: dir) }

        /// The subcommands that read results, as each would be called on `file`.
        func readers(_ file: String) -> [[String]] {
            var r = [["compare", base, file], ["compare", file, base], ["merge", base, file, "-o", dir + "/merged.json"],
                     ["merge", file, "-o", dir + "/merged.json"]]
            // `report`, where this iobench has it (it is listed among the subcommands).
            if let help = try? IOBenchCLI.run(["--help"]), help.stdout.contains("\n  report ") {
                r.append(["report", file])
            }
            return r
        }

        // Immutable after initialisation; Any and closures are not Sendable to the compiler.

        nonisolated(unsafe) static let structural: [(String, (String) -> String)] = [
            ("truncated", { String($0.prefix($0.count / 3)) }),
            ("empty", { _ in "" }),
            ("schema version 2", { $0.replacingOccurrences(of: #""schema_version" : 1"#, with: #""schema_version" : 2"#) }),
            ("a number 1e999", { $0.replacingOccurrences(of: #""ios" : 14"#, with: #""ios" : 1e999"#) }),
            ("a bare NaN", { $0.replacingOccurrences(of: #""iops" : "#, with: #""iops" : NaN, "x" : "#) }),
            ("NaN as a string", { $0.replacingOccurrences(of: #""mean_ns" : "#, with: #""mean_ns" : "NaN", "x" : "#) }),
            ("a string for a number", { $0.replacingOccurrences(of: #""ios" : 14"#, with: #""ios" : "x""#) }),
            ("a negative count", { $0.replacingOccurrences(of: #""ios" : 14"#, with: #""ios" : -1"#) }),
            ("cases of the wrong type", { $0.replacingOccurrences(of: #""cases" : ["#, with: #""cases" : {"a":[1]}, "x" : ["#) }),
            ("a missing required field", { $0.replacingOccurrences(of: #""engine" : "io_uring","#, with: "") }),
            ("not JSON at all", { _ in "\u{7f}ELF garbage" }),
            ("a JSON array", { _ in "[1, 2, 3]" }),
        ]

        @Test("structurally broken files: exit 2 and one line on stderr, for compare and merge")
        func structurallyBroken() throws {
            defer { cleanUp() }
            let text = String(decoding: SampleResult.json(), as: UTF8.self)
            for (name, mutate) in Self.structural {
                let mutated = mutate(text)
                #expect(mutated != text || name == "empty", "the mutation '\(name)' changed nothing")
                let file = try write(name.replacingOccurrences(of: " ", with: "-") + ".json", Data(mutated.utf8))
                for args in readers(file) {
                    let r = try IOBenchCLI.run(args)
                    let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
                    #expect(!r.crashed, "\(name): iobench \(args[0]) crashed (\(r.reason), \(r.status)): \(r.stderr.prefix(300))")
                    #expect(r.status == 2, "\(name): iobench \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)")
                    #expect(lines.count == 1, "\(name): \(args[0]) wrote \(lines.count) stderr lines: \(r.stderr)")
                    #expect(r.stderr.contains("iobench: error:"), "\(name): \(r.stderr)")
                }
            }
        }

        /// Files that decode (every field has the right type) but hold values no run can
        /// produce. Compare and merge may accept them or refuse them with exit 2; they must
        /// not crash, and must not fail as if a run had failed (exit 3).
        // Immutable after initialisation; Any and closures are not Sendable to the compiler.
        nonisolated(unsafe) static let semantic: [(String, (inout [String: Any]) -> Void)] = [
            ("mean_ns = -1", { setCase(&$0) { c in var l = c["latency"] as! [String: Any]; l["mean_ns"] = -1; c["latency"] = l } }),
            ("mean_ns = 1e300", { setCase(&$0) { c in var l = c["latency"] as! [String: Any]; l["mean_ns"] = 1e300; c["latency"] = l } }),
            ("ios = UInt64.max", { setCase(&$0) { c in c["ios"] = NSNumber(value: UInt64.max) } }),
            ("cpu.user_ns = UInt64.max", { setCase(&$0) { c in var u = c["cpu"] as! [String: Any]; u["user_ns"] = NSNumber(value: UInt64.max); c["cpu"] = u } }),
            ("iops = 1.7e308", { setCase(&$0) { c in c["iops"] = 1.7e308 } }),
            ("iops = -5", { setCase(&$0) { c in c["iops"] = -5 } }),
            ("p50 = UInt64.max", { setCase(&$0) { c in
                var l = c["latency"] as! [String: Any]
                var ps = l["percentiles"] as! [[String: Any]]
                for i in ps.indices where (ps[i]["percentile"] as? Double) == 50 { ps[i]["value_ns"] = NSNumber(value: UInt64.max) }
                l["percentiles"] = ps; c["latency"] = l } }),
            ("block_size = -4096", { setCase(&$0) { c in var s = c["config"] as! [String: Any]; s["block_size"] = -4096; c["config"] = s } }),
            ("histogram data not base64", { setCase(&$0) { c in var h = c["histogram"] as! [String: Any]; h["data"] = "@@@"; c["histogram"] = h } }),
            ("histogram with a run of Int64.min zeros", { setCase(&$0) { c in
                var h = c["histogram"] as! [String: Any]
                h["data"] = CraftedV2.encode(payload: CraftedV2.zigzag(Int64.min) + CraftedV2.zigzag(5)); c["histogram"] = h } }),
            ("histogram with a count of Int64.max", { setCase(&$0) { c in
                var h = c["histogram"] as! [String: Any]
                h["data"] = CraftedV2.encode(payload: CraftedV2.zigzag(-12000) + CraftedV2.zigzag(Int64.max)); c["histogram"] = h } }),
        ]

        static func setCase(_ root: inout [String: Any], _ f: (inout [String: Any]) -> Void) {
            var cases = root["cases"] as! [[String: Any]]
            f(&cases[0])
            root["cases"] = cases
        }

        @Test("values no run can produce: compare and merge never crash", arguments: 0 ..< semantic.count)
        func semanticNonsense(_ index: Int) throws {
            defer { cleanUp() }
            let (name, mutate) = Self.semantic[index]
            var root = try JSONSerialization.jsonObject(with: SampleResult.json()) as! [String: Any]
            mutate(&root)
            let file = try write("semantic.json", try JSONSerialization.data(withJSONObject: root))
            for args in readers(file) {
                let r = try IOBenchCLI.run(args)
                let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
                #expect(!r.crashed, "\(name): iobench \(args[0]) crashed (\(r.reason) \(r.status)): \(lines.first { $0.contains("Fatal error") } ?? lines.first ?? "")")
                if r.crashed { continue }
                #expect([0, 1, 2].contains(r.status), "\(name): iobench \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)")
                if r.status == 2 { #expect(lines.count == 1, "\(name): \(r.stderr)") }
            }
        }
    }
}
