import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

final class TableFormatsTests: XCTestCase {
    /// Four cases: two that ran (one with a comma and quotes in its label), one that failed
    /// with I/O errors, one skipped with a reason holding a comma.
    func sampleResult() throws -> RunResult {
        func outcome(_ values: [UInt64], errors: UInt64 = 0, firstError: String? = nil) -> JobOutcome {
            var o = JobOutcome()
            for v in values { o.histogram.record(v) }
            o.ios = UInt64(values.count)
            o.elapsedNs = 1_000_000_000
            o.usage.userNs = 3_000_000
            o.usage.systemNs = 7_000_000
            o.errors = errors
            o.firstError = firstError
            return o
        }
        var a = CaseSpec(engine: .psync)
        a.queueDepth = 1
        var ok = CaseResult(spec: a, outcomes: [outcome(Array(stride(from: 10_000, to: 20_000, by: 10)))])
        ok.label = #"psync 4k, "tuned""#

        var b = CaseSpec(engine: .ioUring)
        b.queueDepth = 32
        b.jobs = 2
        b.pathClass = .multiExtent
        b.blockSize = 8192
        let two = CaseResult(spec: b, outcomes: [outcome([50_000, 60_000, 70_000]), outcome([80_000])])

        let failed = CaseResult(spec: CaseSpec(engine: .libaio),
                                outcomes: [outcome([30_000], errors: 2, firstError: "read at 4096 failed: Input/output error (EIO)")])
        let skipped = CaseResult(spec: CaseSpec(engine: .ioUringPoll), status: .skipped,
                                 reason: "/sys/block/vda/queue/io_poll is 0: vda has no poll queues (use NVMe, with nvme.poll_queues > 0)")

        let targetJSON = #"""
        {"path": "/tmp/iobench_data|x.dat", "kind": "file", "capacity_bytes": 1073741824, "region_bytes": 1073741824,
         "filesystem": "ext4", "logical_block_size": 512, "stamped": true, "created_by_this_run": false,
         "queue": {"device": "vda", "scheduler": "mq-deadline", "io_poll": false}}
        """#
        let target = try JSONDecoder().decode(TargetInfo.self, from: Data(targetJSON.utf8))
        var env = EnvironmentInfo.current()
        env.kernel = "6.18.44-test"
        env.onlineCPUs = 2
        return RunResult(startedAt: "2026-11-26T00:00:00Z", environment: env, target: target,
                         arguments: ["iobench"], cases: [ok, two, failed, skipped])
    }

    /// An RFC 4180 reader: quoted fields may hold commas, doubled quotes and line breaks.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var quoted = false, wasQuoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" && field.isEmpty && !wasQuoted {
                quoted = true; wasQuoted = true
            } else if c == "," {
                row.append(field); field = ""; wasQuoted = false
            } else if c == "\n" || c == "\r\n" {
                row.append(field); rows.append(row); row = []; field = ""; wasQuoted = false
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    func testCSVHasAHeaderAndOneRowPerCaseWithQuoting() throws {
        let r = try sampleResult()
        let text = CSVReport.render(r)
        XCTAssertTrue(text.hasPrefix("id,label,status,engine,class,bs,iodepth,jobs,ios,iops,mib_per_s,mean_ns,p50_ns,p90_ns,p99_ns,p99_9_ns,p99_99_ns,max_ns,cpu_per_io_ns,errors,short_reads,rate_iops,achieved_iops,response_p50_ns,response_p99_ns,response_p99_9_ns,issue_lag_p99_ns,saturated\n"))
        XCTAssertTrue(text.contains(#""psync 4k, ""tuned""""#), "a label with a comma and quotes is quoted, its quotes doubled")
        let rows = Self.parseCSV(text)
        XCTAssertEqual(rows.count, 1 + r.cases.count)
        for row in rows { XCTAssertEqual(row.count, 28, "\(row)") }
        let header = rows[0]
        func cell(_ row: [String], _ name: String) -> String { row[header.firstIndex(of: name)!] }

        let ok = rows[1]
        XCTAssertEqual(cell(ok, "label"), #"psync 4k, "tuned""#)
        XCTAssertEqual(cell(ok, "status"), "ok")
        XCTAssertEqual(cell(ok, "engine"), "psync")
        XCTAssertEqual(cell(ok, "class"), "")
        XCTAssertEqual(cell(ok, "bs"), "4096")
        XCTAssertEqual(cell(ok, "ios"), "1000")
        XCTAssertEqual(Double(cell(ok, "iops")), 1000)
        XCTAssertEqual(Double(cell(ok, "mib_per_s"))!, 1000 * 4096 / 1_048_576, accuracy: 0.001)
        XCTAssertEqual(Double(cell(ok, "mean_ns"))!, 14_995, accuracy: 0.1)
        XCTAssertEqual(UInt64(cell(ok, "p50_ns")), r.cases[0].latency!.value(at: 50))
        XCTAssertEqual(UInt64(cell(ok, "p99_9_ns")), r.cases[0].latency!.value(at: 99.9))
        XCTAssertEqual(cell(ok, "max_ns"), "19990")
        XCTAssertEqual(Double(cell(ok, "cpu_per_io_ns")), 10_000)
        XCTAssertEqual(cell(ok, "errors"), "0")

        let two = rows[2]
        XCTAssertEqual(cell(two, "id"), r.cases[1].id)
        XCTAssertEqual(cell(two, "class"), "multi-extent")
        XCTAssertEqual(cell(two, "bs"), "8192")
        XCTAssertEqual(cell(two, "iodepth"), "32")
        XCTAssertEqual(cell(two, "jobs"), "2")
        XCTAssertEqual(cell(two, "ios"), "4")

        let failed = rows[3]
        XCTAssertEqual(cell(failed, "status"), "failed")
        XCTAssertEqual(cell(failed, "errors"), "2")
        XCTAssertEqual(cell(failed, "short_reads"), "0")

        let skipped = rows[4]
        XCTAssertEqual(cell(skipped, "status"), "skipped")
        XCTAssertEqual(cell(skipped, "engine"), "io_uring-poll")
        XCTAssertEqual(cell(skipped, "ios"), "", "a skipped case measured nothing")
        XCTAssertEqual(cell(skipped, "p99_ns"), "")
    }

    func testCSVQuoting() {
        XCTAssertEqual(CSVReport.quote("plain text"), "plain text")
        XCTAssertEqual(CSVReport.quote("a,b"), #""a,b""#)
        XCTAssertEqual(CSVReport.quote(#"say "hi""#), #""say ""hi""""#)
        XCTAssertEqual(CSVReport.quote("two\nlines"), "\"two\nlines\"")
        XCTAssertEqual(Self.parseCSV(CSVReport.line(["a,b", "c\"d", "e\nf", ""])), [["a,b", "c\"d", "e\nf", ""]])
    }

    func testMarkdownHasHeadingTableAndProblems() throws {
        let r = try sampleResult()
        let md = MarkdownReport.render(r)
        let lines = md.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("### iobench "), lines[0])
        XCTAssertTrue(lines[0].contains("Linux 6.18.44-test"), lines[0])
        XCTAssertTrue(md.contains("target `/tmp/iobench_data|x.dat` (ext4, on vda, scheduler mq-deadline, io_poll=0), region 1g"), md)

        // The results table: the first run of table lines (the path-class table follows).
        let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("|") })
        let table = Array(lines[start...].prefix { $0.hasPrefix("|") })
        XCTAssertEqual(table.count, 2 + 3, "header, delimiter, one row per case that was not skipped")
        XCTAssertTrue(md.contains("**Path classes**") && md.contains("| multi-extent |"), "the Markdown report has the path-class table: \(md)")
        XCTAssertEqual(table[0], "| case | IOPS | MiB/s | mean | p50 | p90 | p99 | p99.9 | p99.99 | max | CPU µs/IO |")
        XCTAssertTrue(table[1].hasPrefix("| :--- | ---: |"), table[1])
        // Every row has the header's number of cells (no unescaped pipe inside a cell).
        func cells(_ line: String) -> Int {
            var n = 0, escaped = false
            for c in line { if c == "\\" { escaped.toggle(); continue }; if c == "|" && !escaped { n += 1 }; escaped = false }
            return n - 1
        }
        for line in table { XCTAssertEqual(cells(line), MarkdownReport.headers.count, line) }
        XCTAssertTrue(table[2].hasPrefix(#"| psync 4k, "tuned" | 1000 | 3.9 | 15.0µs |"#), table[2])
        XCTAssertTrue(table[3].hasPrefix("| io_uring 8k QD32 x2 multi-extent |"), table[3])
        XCTAssertTrue(table[4].hasPrefix("| libaio 4k QD1 (!) |"), table[4])

        // Under the class table: its one multi-extent case has no single-extent reference.
        XCTAssertTrue(md.contains("- no Δ against single-extent 8k: it was not run (add it to --class)"), md)
        let bullets = lines.filter { $0.hasPrefix("- ") && !$0.hasPrefix("- no Δ") }
        XCTAssertEqual(bullets.count, 2, md)
        XCTAssertTrue(bullets[0].hasPrefix("- **failed**: libaio 4k QD1: read at 4096 failed"), bullets[0])
        XCTAssertTrue(bullets[1].hasPrefix("- skipped: io_uring-poll 4k QD1: /sys/block/vda/queue/io_poll is 0"), bullets[1])
        XCTAssertTrue(md.hasSuffix("\n"))
    }

    func testMarkdownEscaping() {
        XCTAssertEqual(MarkdownReport.escape("io_uring nvme.poll_queues"), "io_uring nvme.poll_queues", "intraword _ is no emphasis")
        XCTAssertEqual(MarkdownReport.escape("_x_ *y* a|b <c> `d` [e] ~~f~~ g\\h"), #"\_x\_ \*y\* a\|b \<c> \`d\` \[e\] \~\~f\~\~ g\\h"#)
        XCTAssertEqual(MarkdownReport.escape("two\nlines"), "two lines")
        XCTAssertEqual(MarkdownReport.code("a`b"), "``a`b``")
    }

    func testMarkdownWithoutCasesOrProblems() throws {
        var r = try sampleResult()
        r.cases = [r.cases[0]]
        r.target = nil
        let md = MarkdownReport.render(r)
        XCTAssertFalse(md.contains("\n- "), md)
        XCTAssertFalse(md.contains("target"), md)
        XCTAssertEqual(md.split(separator: "\n").filter { $0.hasPrefix("|") }.count, 3)
        r.cases = []
        XCTAssertTrue(MarkdownReport.render(r).contains("No case ran."))
    }
}
