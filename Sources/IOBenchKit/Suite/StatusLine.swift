import IOBenchEngines
import IOBenchPlatform
import IOBenchReports

/// `--status-interval`: one line on stderr per interval while a case runs, for CI logs
/// where the progress line (a terminal's) is not shown:
///
///     iobench: status [2/6] io_uring 4k QD32: 10.0 s, 93.5k IOPS, p99 527.4µs (935.2k reads)
///
/// IOPS and reads are the measured phase's so far; p99 is of the reads up to the last
/// finished interval of the jobs' histograms (at most 1 s behind).
struct StatusLine {
    let intervalNs: UInt64
    let label: String
    let position: Int
    let total: Int
    let rampNs: UInt64
    var printed = 0

    mutating func printIfDue(now: UInt64, caseStart: UInt64, reads: UInt64, live: LiveHistogram?) {
        let elapsed = now &- caseStart
        guard elapsed >= UInt64(printed + 1) &* intervalNs else { return }
        printed = Int(elapsed / intervalNs)
        StandardError.write(Self.text(label: label, position: position, total: total, elapsedNs: elapsed, rampNs: rampNs,
                                      reads: reads, p99: live?.value(atPercentile: 99)) + "\n")
    }

    static func text(label: String, position: Int, total: Int, elapsedNs: UInt64, rampNs: UInt64, reads: UInt64, p99: UInt64?) -> String {
        let head = "iobench: status [\(position)/\(total)] \(label): \(Fmt.seconds(elapsedNs))"
        guard elapsedNs > rampNs else { return head + ", ramping up (nothing measured yet)" }
        let measured = Double(elapsedNs - rampNs) / 1e9
        return head + ", \(Fmt.count(Double(reads) / measured)) IOPS, p99 \(p99.map(Fmt.latency) ?? "-") (\(Fmt.count(Double(reads))) reads)"
    }
}
