import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchHistogram
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement
@testable import IOBenchResults
@testable import IOBenchReports

/// The `hist` file parser on the sample output quoted in the kernel's
/// Documentation/trace/histogram.rst (indented as there, with its elided "." lines), so
/// that it is tested on kernels without hist triggers too.
final class TraceHistogramTests: XCTestCase {
    /// histogram.rst, "6.2 'hist' trigger examples": kmalloc by call_site, with a value.
    static let kmalloc = """
        # cat /sys/kernel/tracing/events/kmem/kmalloc/hist
        # trigger info: hist:keys=call_site:vals=bytes_req:sort=hitcount:size=2048 [active]

        { call_site: 18446744072106379007 } hitcount:          1  bytes_req:        176
        { call_site: 18446744071579557049 } hitcount:          1  bytes_req:       1024
        .
        .
        .
        { call_site: 18446744072102523378 } hitcount:        485  bytes_req:      27160
        { call_site: 18446744072099568646 } hitcount:       1676  bytes_req:      33520

        Totals:
            Hits: 4610
            Entries: 45
            Dropped: 0
    """

    func testDocumentedKmallocTable() throws {
        let tables = TraceHistogram.parse(Self.kmalloc)
        XCTAssertEqual(tables.count, 1)
        let t = try XCTUnwrap(tables.first)
        XCTAssertEqual(t.trigger, "hist:keys=call_site:vals=bytes_req:sort=hitcount:size=2048 [active]")
        XCTAssertEqual(t.keyNames, ["call_site"])
        XCTAssertEqual(t.entries.count, 4, "the elided lines are not entries")
        XCTAssertEqual(t.entries[0].number("call_site"), 18_446_744_072_106_379_007)
        XCTAssertEqual(t.entries[0].hitcount, 1)
        XCTAssertEqual(t.entries[0].values["bytes_req"], 176)
        XCTAssertEqual(t.entries[3].hitcount, 1676)
        XCTAssertEqual(t.entries[3].values["bytes_req"], 33520)
        XCTAssertEqual(t.hits, 4610)
        XCTAssertEqual(t.entryCount, 45)
        XCTAssertEqual(t.dropped, 0)
    }

    /// histogram.rst: compound keys, `.execname` and `.syscall` (a name, then the number
    /// in brackets), and a filter in the trigger info.
    static let compound = """
        # trigger info: hist:keys=id.syscall,common_pid.execname:vals=hitcount:sort=id.syscall,hitcount:size=2048 if id == 16 [active]

        { id: sys_ioctl                     [ 16], common_pid: gmain           [      2769] } hitcount:          1
        { id: sys_ioctl                     [ 16], common_pid: evolution-addre [      8571] } hitcount:          1
        .
        { id: sys_ioctl                     [ 16], common_pid: compiz          [      2994] } hitcount:      73443

        Totals:
            Hits: 101162
            Entries: 103
            Dropped: 0

        # trigger info: hist:keys=common_pid.execname,size:vals=hitcount:sort=common_pid.execname,size:size=2048 [active]

        { common_pid: smbd            [       784], size:          4 } hitcount:          1
        { common_pid: dnsmasq         [      1412], size:       4096 } hitcount:        672

        Totals:
            Hits: 2016
            Entries: 224
            Dropped: 0
    """

    func testDocumentedCompoundKeysAndTwoTables() throws {
        let tables = TraceHistogram.parse(Self.compound)
        XCTAssertEqual(tables.count, 2)
        let ioctl = tables[0]
        XCTAssertEqual(ioctl.keyNames, ["id", "common_pid"])
        XCTAssertTrue(ioctl.trigger.hasSuffix("if id == 16 [active]"))
        XCTAssertEqual(ioctl.entries.count, 3)
        let compiz = ioctl.entries[2]
        XCTAssertEqual(compiz.keys, ["id", "common_pid"])
        XCTAssertEqual(compiz.key("id"), "sys_ioctl                     [ 16]")
        XCTAssertEqual(compiz.number("id"), 16)
        XCTAssertEqual(compiz.number("common_pid"), 2994)
        XCTAssertEqual(compiz.hitcount, 73443)
        XCTAssertEqual(ioctl.hits, 101_162)

        let recv = tables[1]
        XCTAssertEqual(recv.keyNames, ["common_pid", "size"])
        XCTAssertEqual(recv.entries.map { $0.number("common_pid") }, [784, 1412])
        XCTAssertEqual(recv.entries.map { $0.number("size") }, [4, 4096])
        XCTAssertEqual(recv.entries.map(\.hitcount), [1, 672])
        XCTAssertEqual(recv.entryCount, 224)
    }

    /// histogram.rst: a string key (values with spaces, padded to 50 columns); and
    /// histogram-design.rst: a table printed without the trigger info header.
    static let strings = """
        # trigger info: hist:keys=child_comm:vals=hitcount:sort=hitcount:size=256 [active]

        { child_comm: dconf worker                        } hitcount:          1
        { child_comm: Socket Thread                       } hitcount:          2
        { child_comm: evolution                           } hitcount:         23

        Totals:
            Hits: 89
            Entries: 20
            Dropped: 0
    """

    static let noHeader = """
      { pid:      18249 } hitcount:          1
      { pid:      13399 } hitcount:          1
      ...
      { pid:       1728 } hitcount:       2161

      Totals:
        Hits: 21305
        Entries: 183
        Dropped: 0
    """

    func testDocumentedStringKeysAndTablesWithoutHeader() throws {
        let fork = try XCTUnwrap(TraceHistogram.parse(Self.strings).first)
        XCTAssertEqual(fork.entries.map { $0.key("child_comm") }, ["dconf worker", "Socket Thread", "evolution"])
        XCTAssertEqual(fork.entries.map(\.hitcount), [1, 2, 23])

        let tables = TraceHistogram.parse(Self.noHeader)
        XCTAssertEqual(tables.count, 1)
        XCTAssertEqual(tables[0].trigger, "")
        XCTAssertEqual(tables[0].entries.map { $0.number("pid") }, [18249, 13399, 1728])
        XCTAssertEqual(tables[0].hits, 21305)
        XCTAssertEqual(tables[0].dropped, 0)
    }

    /// A key value holding ", name:" is split at the trigger's key names only; without
    /// them, at every ", name:".
    func testKeyNamesFromTheTriggerKeepCommasInValues() throws {
        let line: Substring = "{ comm: a, b: c                                    , common_pid:         42 } hitcount:          3"
        let known = try XCTUnwrap(TraceHistogram.entry(line, names: ["comm", "common_pid"]))
        XCTAssertEqual(known.key("comm"), "a, b: c")
        XCTAssertEqual(known.number("common_pid"), 42)
        XCTAssertEqual(known.hitcount, 3)
        let guessed = try XCTUnwrap(TraceHistogram.entry(line, names: []))
        XCTAssertEqual(guessed.keys, ["comm", "b", "common_pid"])
        XCTAssertNil(TraceHistogram.entry("{ pid: 1 }", names: []), "no hitcount: not an entry")
    }

    func testDroppedHitsMarkTheCountsLost() {
        let full = TraceHistogram.parse("""
        # trigger info: hist:keys=common_pid:vals=hitcount:sort=hitcount:size=128 [active]

        { common_pid:          1 } hitcount:          5

        Totals:
            Hits: 9
            Entries: 128
            Dropped: 4
        """)
        XCTAssertEqual(full.first?.dropped, 4)
        XCTAssertTrue(TraceHistogram.dropped(["iomap_iter": full]))
        XCTAssertFalse(TraceHistogram.dropped(["iomap_iter": TraceHistogram.parse(Self.kmalloc)]))
    }

    func testTriggerCommands() {
        let t = TraceHistogram.triggers(inode: 0xF78317, fsDev: 266_338_304, diskDev: 266_338_304, withQueued: true)
        XCTAssertEqual(t.map(\.event), ["iomap_dio_rw_begin", "iomap_iter", "iomap_dio_complete", "iomap_dio_rw_queued", "block_bio_queue"])
        XCTAssertEqual(t[1].command, "hist:keys=common_pid,flags if ino == 16220951 && dev == 266338304")
        XCTAssertEqual(t[4].command, "hist:keys=common_pid,rwbs if dev == 266338304")
        XCTAssertEqual(TraceHistogram.requiredFields(t[2]), ["ki_flags", "aio", "ino", "dev"])
        let noDisk = TraceHistogram.triggers(inode: 1, fsDev: 2, diskDev: nil, withQueued: false)
        XCTAssertEqual(noDisk.map(\.event), ["iomap_dio_rw_begin", "iomap_iter", "iomap_dio_complete"])
    }
}
