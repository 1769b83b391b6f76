import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchEngines
@testable import IOBenchWorkload
@testable import IOBenchMeasurement

/// `--fio-job`: the INI reader and the mapping of each section to a case, on job files
/// written here. The expected values follow fio 3.x's parser (checked against fio 3.33
/// where fio's HOWTO and its parser differ).
final class FioJobParserTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "fio-parser-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The head of every runnable job below: a file that need not exist (size is given).
    var head: String { "[global]\nfilename=\(dir)/t.dat\nsize=32m\ndirect=1\n" }

    func write(_ name: String, _ text: String) -> String {
        let path = dir + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func sections(_ text: String, env: [String: String] = [:], only: [String]? = nil) throws -> [FioJobSection] {
        try FioJobFile.read(path: write("jobs.fio", text), sections: only, environment: env)
    }

    func job(_ text: String, env: [String: String] = [:], only: [String]? = nil, ignoring: [String] = []) throws -> FioJob {
        try FioJob.map(sections(text, env: env, only: only), file: dir + "/jobs.fio", ignoring: ignoring)
    }

    func spec(_ text: String, env: [String: String] = [:]) throws -> CaseSpec {
        // Not XCTUnwrap: it records a refusal as a failure before `refusal` sees it.
        try job(text, env: env).cases[0].spec
    }

    /// The message of the bad-input error `body` throws (fails the test otherwise).
    func refusal(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("expected a refusal", file: file, line: line)
        } catch let e as IOBenchError {
            XCTAssertEqual(e.exitCode, 2, "\(e)", file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), "one line: \(e)", file: file, line: line)
            return e.description
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return ""
    }

    // MARK: the INI format

    func testGlobalAppliesToTheSectionsAfterIt() throws {
        let s = try sections("""
        [global]
        bs=8k
        iodepth=4
        [a]
        [global]
        bs=16k
        [b]
        iodepth=8
        [global-late]
        numjobs=2
        [c]
        """)
        XCTAssertEqual(s.map(\.name), ["a", "b", "c"], "any section named global... is a global (fio compares 6 characters)")
        XCTAssertEqual(s[0]["bs"]?.value, "8k")
        XCTAssertEqual(s[1]["bs"]?.value, "16k", "a later [global] changes the jobs after it")
        XCTAssertEqual(s[1]["iodepth"]?.value, "8", "a job's own line wins over [global]")
        XCTAssertEqual(s[1]["iodepth"]?.location.line, 8)
        XCTAssertNil(s[1]["numjobs"], "a [global] after a job does not reach back")
        XCTAssertEqual(s[2]["numjobs"]?.value, "2")
        XCTAssertEqual(s[2]["iodepth"]?.value, "4", "globals add up")
    }

    func testCommentsAndWhitespace() throws {
        let s = try sections("; a comment\r\n# another\r\n\r\n  [global]  \r\n   bs = 8k   ; inline\r\nrw=randread# inline too\r\n[ job ]\r\ntime_based\r\n")
        XCTAssertEqual(s.map(\.name), [" job "], "fio keeps what is between the brackets")
        XCTAssertEqual(s[0]["bs"]?.value, "8k")
        XCTAssertEqual(s[0]["rw"]?.value, "randread")
        XCTAssertEqual(s[0]["time_based"]?.value, nil, "a bare flag has no value")
        XCTAssertNotNil(s[0]["time_based"])
        XCTAssertEqual(s[0]["bs"]?.location, FioLocation(file: dir + "/jobs.fio", line: 5))
        XCTAssertEqual(s[0]["blocksize"]?.value, nil)
        let alias = try sections("[a]\nblocksize=16k\nreadwrite=randread\ntimeout=5\n")
        XCTAssertEqual(alias[0]["bs"]?.key, "blocksize", "aliases are kept as written, found by fio's main name")
        XCTAssertEqual(alias[0]["rw"]?.value, "randread")
        XCTAssertEqual(alias[0]["runtime"]?.value, "5")

        XCTAssertTrue(refusal { _ = try self.sections("bs=4k\n[a]\n") }.contains("jobs.fio:1: 'bs=4k' is outside any [section]"))
        XCTAssertTrue(refusal { _ = try self.sections("[a\n") }.contains("jobs.fio:1:"))
        XCTAssertTrue(refusal { _ = try self.sections("[a]\n[a]\n") }.contains("a second section [a]"))
    }

    func testIncludeIsReadInPlaceNextToTheIncludingFile() throws {
        try FileManager.default.createDirectory(atPath: dir + "/inc", withIntermediateDirectories: true)
        _ = write("inc/common.fio", "; shared\nbs=16k\ninclude deeper.fio\n")
        _ = write("inc/deeper.fio", "iodepth=8\n")
        _ = write("inc/job-only.fio", "numjobs=2\n")
        let main = write("inc/main.fio", "[global]\ninclude common.fio\n[a]\ninclude job-only.fio\n[b]\n")
        let s = try FioJobFile.read(path: main, environment: [:])
        XCTAssertEqual(s[0]["bs"]?.value, "16k")
        XCTAssertEqual(s[0]["bs"]?.location, FioLocation(file: dir + "/inc/common.fio", line: 2), "a line is placed in its own file")
        XCTAssertEqual(s[1]["iodepth"]?.value, "8", "includes nest")
        XCTAssertEqual(s[0]["numjobs"]?.value, "2")
        XCTAssertNil(s[1]["numjobs"], "a job's include applies to that job only")

        _ = write("inc/sections.fio", "bs=4k\n[sneaky]\n")
        let bad = write("inc/bad.fio", "[a]\ninclude sections.fio\n")
        XCTAssertTrue(refusal { _ = try FioJobFile.read(path: bad, environment: [:]) }.contains("sections.fio:2: an included file holds no sections"))
        _ = write("inc/loop.fio", "include loop.fio\n")
        let looping = write("inc/looping.fio", "[a]\ninclude loop.fio\n")
        XCTAssertTrue(refusal { _ = try FioJobFile.read(path: looping, environment: [:]) }.contains("nested more than 16 deep"))
        let missing = write("inc/missing.fio", "[a]\ninclude nowhere.fio\n")
        XCTAssertTrue(refusal { _ = try FioJobFile.read(path: missing, environment: [:]) }.contains("missing.fio:2: include"))
    }

    func testEnvironmentVariablesExpandAsFioDoes() throws {
        let s = try sections("[a]\nbs=${BS}\nsize=${NOPE}16m\nfilename=/x/${A}${B}.dat\nrw=${unterminated\n",
                             env: ["BS": "8k", "A": "one", "B": "two"])
        XCTAssertEqual(s[0]["bs"]?.value, "8k")
        XCTAssertEqual(s[0]["size"]?.value, "16m", "an unset variable is the empty string (fio)")
        XCTAssertEqual(s[0]["size"]?.unsetVariables, ["NOPE"])
        XCTAssertEqual(s[0]["filename"]?.value, "/x/onetwo.dat")
        XCTAssertEqual(s[0]["rw"]?.value, "${unterminated", "no closing brace: kept as written")

        let msg = refusal { _ = try self.job(self.head + "[a]\nrw=randread\nbs=${BS}\n") }
        XCTAssertTrue(msg.contains("jobs.fio:7: bs= (job [a]) (${BS} not set): needs a value"), msg)
        let noted = try job(head + "[a]\nrw=randread\nramp_time=${R}0\n")
        XCTAssertTrue(noted.notes.contains { $0.contains("jobs.fio:7: ${R} not set") }, "\(noted.notes)")
    }

    // MARK: values

    func testKbBaseAndSizeUnits() throws {
        func size(_ v: String, _ kb: UInt64) -> UInt64? { try? FioValues.size(v, kbBase: kb).get() }
        XCTAssertEqual(size("4k", 1024), 4096)
        XCTAssertEqual(size("4KB", 1024), 4096)
        XCTAssertEqual(size("4kib", 1024), 4000, "kb_base=1024 reads the IEC units as powers of 1000 (fio's compatibility mode)")
        XCTAssertEqual(size("4k", 1000), 4000)
        XCTAssertEqual(size("4KiB", 1000), 4096)
        XCTAssertEqual(size("1m", 1024), 1 << 20)
        XCTAssertEqual(size("1g", 1000), 1_000_000_000)
        XCTAssertEqual(size("1t", 1024), 1 << 40)
        XCTAssertEqual(size("512", 1024), 512)
        XCTAssertEqual(size("512b", 1024), 512)
        XCTAssertEqual(size("0x1000", 1024), 4096)
        XCTAssertNil(size("4ki", 1024), "fio's HOWTO and its parser disagree on 4ki: refused")
        XCTAssertNil(size("50%", 1024))
        XCTAssertNil(size("4q", 1024))
        XCTAssertNil(size("-4k", 1024))
        XCTAssertNil(size("8*$mb_memory", 1024))

        // kb_base applies to the whole section wherever it is written (fio parses it
        // first), and to later sections; a value already read in [global] keeps its base.
        let s = try job("""
        [global]
        filename=\(dir)/t.dat
        direct=1
        time_based
        runtime=1
        size=1m
        [k1024]
        [k1000]
        rw=randread
        size=2m
        kb_base=1000
        [global]
        kb_base=1000
        [later]
        size=3m
        """)
        XCTAssertEqual(s.cases.map(\.regionSize), [1 << 20, 2_000_000, 3_000_000])
        XCTAssertTrue(refusal { _ = try self.sections("[a]\nkb_base=1001\n") }.contains("kb_base is 1024 or 1000"))
    }

    func testTimesAreSecondsUnlessSuffixed() throws {
        func time(_ v: String) -> UInt64? { try? FioValues.time(v).get() }
        XCTAssertEqual(time("10"), 10_000_000_000, "a bare time is seconds")
        XCTAssertEqual(time("10s"), 10_000_000_000)
        XCTAssertEqual(time("500ms"), 500_000_000)
        XCTAssertEqual(time("500MSEC"), 500_000_000)
        XCTAssertEqual(time("250us"), 250_000)
        XCTAssertEqual(time("2m"), 120_000_000_000, "m is minutes for times")
        XCTAssertEqual(time("1h"), 3_600_000_000_000)
        XCTAssertEqual(time("1d"), 86_400_000_000_000)
        XCTAssertNil(time("1.5"), "fio reads 1.5 as 1 s: refused")
        XCTAssertNil(time("10sec"), "fio 3.x reads 10sec as 10 µs: refused")
        XCTAssertNil(time("1min"))
        XCTAssertNil(time("10x"))
        let s = try spec(head + "[a]\nrw=randread\ntime_based\nruntime=3\nramp_time=250ms\n")
        XCTAssertEqual(s.runtimeNs, 3_000_000_000)
        XCTAssertEqual(s.rampNs, 250_000_000)
        XCTAssertTrue(refusal { _ = try self.job(self.head + "[a]\ntime_based\nruntime=1.5\n") }.contains("runtime=1.5 (job [a]): fio reads a fraction's whole part only"))
    }

    // MARK: refusals

    func testUnknownKeyIsRefusedUnlessIgnored() throws {
        let text = head + "invalidate=1\n[a]\nrw=randread\ntime_based\nruntime=1\nfoo_bar=3\n"
        let msg = refusal { _ = try self.job(text) }
        XCTAssertTrue(msg.hasPrefix("\(dir)/jobs.fio:5: invalidate=1 (job [a]): "), msg)
        XCTAssertTrue(msg.contains("--fio-ignore invalidate"), msg)
        let second = refusal { _ = try self.job(text, ignoring: ["invalidate"]) }
        XCTAssertTrue(second.contains("jobs.fio:10: foo_bar=3 (job [a]): iobench does not map this key"), second)
        let j = try job(text, ignoring: ["invalidate", "foo_bar"])
        XCTAssertEqual(j.cases.count, 1)
        XCTAssertTrue(refusal { _ = try self.job(text, ignoring: ["blocksize"]) }.contains("--fio-ignore blocksize: iobench maps bs"))
    }

    func testDirectIsRequired() throws {
        let body = "[global]\nfilename=\(dir)/t.dat\nsize=32m\n[a]\nrw=randread\n"
        XCTAssertTrue(refusal { _ = try self.job(body) }.contains("jobs.fio:4: [a]: direct=1 is missing: fio's default is buffered I/O"))
        XCTAssertTrue(refusal { _ = try self.job(body + "direct=0\n") }.contains("jobs.fio:6: direct=0 (job [a]): iobench reads with O_DIRECT only"))
        XCTAssertTrue(refusal { _ = try self.job(body + "direct\n") }.contains("needs a value"))
        XCTAssertEqual(try job(body + "buffered=0\n").cases.count, 1)
    }

    func testWriteModesAreRefused() throws {
        for mode in ["write", "randwrite", "rw", "readwrite", "randrw", "trim", "randtrim", "trimwrite"] {
            let msg = refusal { _ = try self.job(self.head + "[a]\nrw=\(mode)\n") }
            XCTAssertTrue(msg.contains("rw=\(mode) (job [a]): iobench only reads"), msg)
        }
        XCTAssertEqual(try spec(head + "[a]\n").pattern, .sequential, "fio's default is rw=read")
        XCTAssertEqual(try spec(head + "[a]\nreadwrite=randread\n").pattern, .random)
    }

    func testEnginesAndTheirOptions() throws {
        func s(_ lines: String) throws -> CaseSpec { try spec(head + "[a]\nrw=randread\n" + lines) }
        XCTAssertEqual(try s("").engine, .psync, "fio's default engine on Linux")
        XCTAssertEqual(try s("ioengine=libaio\niodepth=32\n").queueDepth, 32)
        XCTAssertEqual(try s("ioengine=io_uring\nhipri\n").engine, .ioUringPoll)
        XCTAssertEqual(try s("ioengine=pvsync2\nhipri=1\n").options.hipri, true)
        let sq = try s("ioengine=io_uring\niodepth=8\nsqthread_poll\nfixedbufs\n").options
        XCTAssertTrue(sq.sqpoll && sq.registeredFiles && sq.fixedBuffers, "fio registers the file for sqthread_poll")
        let batches = try s("ioengine=io_uring\niodepth=16\niodepth_batch=0\niodepth_batch_complete=64\n").options
        XCTAssertEqual([batches.submitBatch, batches.completeBatch], [16, 16], "0 and beyond the depth are the depth, as fio fixes them")
        XCTAssertEqual(try s("ioengine=psync\niodepth_batch_submit=8\n").options.submitBatch, 1, "sync engines have no batches")
        XCTAssertTrue(refusal { _ = try s("ioengine=sync\n") }.contains("ioengine=sync (job [a]): fio's sync engine reads with lseek and read"))
        XCTAssertTrue(refusal { _ = try s("ioengine=libaio\nfixedbufs\n") }.contains("an io_uring option"))
        XCTAssertTrue(refusal { _ = try s("ioengine=libaio\nhipri\n") }.contains("hipri"))
        XCTAssertTrue(refusal { _ = try s("ioengine=io_uring\niodepth_batch_complete_min=0\n") }.contains("write 1"))
        // fio caps a sync engine's depth at 1 (with a note), and so does iobench.
        let capped = try job(head + "[a]\nrw=randread\niodepth=16\n")
        XCTAssertEqual(capped.cases[0].spec.queueDepth, 1)
        XCTAssertTrue(capped.notes.contains { $0.contains("iodepth=16 with psync") }, "\(capped.notes)")
        let cpus = try s("cpus_allowed=0-1\ncpus_allowed_policy=split\nnumjobs=2\nrandseed=7\nrate_iops=500,100\nrate_process=poisson\n")
        XCTAssertEqual(cpus.cpus, [0, 1])
        XCTAssertEqual(cpus.jobs, 2)
        XCTAssertEqual(cpus.seed, 7)
        XCTAssertEqual(cpus.rateIOPS, 500, "the read part of read,write")
        XCTAssertEqual(cpus.arrival, .poisson)
        XCTAssertTrue(refusal { _ = try s("cpus_allowed=0,1\n") }.contains("cpus_allowed_policy=split"))
    }

    func testWhenACaseEnds() throws {
        // time_based: the runtime; number_ios may end it sooner.
        var s = try spec(head + "[a]\nrw=randread\ntime_based\nruntime=2\nnumber_ios=100\n")
        XCTAssertEqual(s.runtimeNs, 2_000_000_000)
        XCTAssertEqual(s.ioLimit, 100)
        // Without time_based fio reads size bytes once: size/bs reads per job.
        s = try spec(head + "[a]\nrw=randread\nbs=8k\n")
        XCTAssertNil(s.runtimeNs)
        XCTAssertEqual(s.ioLimit, 4096)
        // ... or stops at runtime first.
        s = try spec(head + "[a]\nrw=randread\nruntime=1\n")
        XCTAssertEqual(s.runtimeNs, 1_000_000_000)
        XCTAssertEqual(s.ioLimit, 8192)
        XCTAssertTrue(refusal { _ = try self.job(self.head + "[a]\ntime_based\n") }.contains("fio ignores time_based without a runtime"))
        let noSize = "[a]\nfilename=\(dir)/missing.dat\ndirect=1\n"
        XCTAssertTrue(refusal { _ = try self.job(noSize) }.contains("does not exist and size= is not set"))
        XCTAssertTrue(refusal { _ = try self.job(self.head + "[a]\nsize=50%\n") }.contains("a percentage of the file"))
    }

    func testFilesAndDirectories() throws {
        let j = try job("[global]\ndirect=1\nsize=1m\ndirectory=\(dir)\n[gen]\n[named]\nfilename=x\\:y.dat\n")
        XCTAssertEqual(j.cases.map(\.path), ["\(dir)/gen.0.0", "\(dir)/x:y.dat"], "fio's own name, and '\\:' for a colon")
        XCTAssertTrue(refusal { _ = try self.job("[a]\ndirect=1\nsize=1m\nfilename=\(self.dir)/a:\(self.dir)/b\n") }.contains("names 2 files"))
    }

    func testSectionSelection() throws {
        let text = head + "[a]\nrw=randread\n[b]\nrw=read\n[global]\nbs=8k\n[c]\n"
        let j = try job(text, only: ["c", "a"])
        XCTAssertEqual(j.cases.map(\.section), ["a", "c"], "file order")
        XCTAssertEqual(j.cases[1].spec.blockSize, 8192)
        let msg = refusal { _ = try self.job(text, only: ["d"]) }
        XCTAssertTrue(msg.contains("has no job section [d]; its job sections are [a], [b], [c]"), msg)
        // A section not selected is not read (fio): its unknown keys do not matter.
        XCTAssertEqual(try job(text + "[d]\nfoo=1\n", only: ["a"]).cases.count, 1)
    }

    func testRequestListsEachSectionOnItsFile() throws {
        let j = try job("""
        [global]
        direct=1
        rw=randread
        time_based
        runtime=1
        [a]
        filename=\(dir)/one.dat
        size=1m
        [b]
        filename=\(dir)/two.dat
        size=2m
        [c]
        filename=\(dir)/one.dat
        size=1m
        iodepth=4
        ioengine=libaio
        """)
        var request = RunRequest()
        try j.apply(to: &request)
        XCTAssertEqual(request.targets, ["one.dat=\(dir)/one.dat", "two.dat=\(dir)/two.dat"])
        XCTAssertEqual(request.targetRegionSizes, [1 << 20, 2 << 20])
        XCTAssertEqual(request.listedCases?.map(\.target), [0, 1, 0])
        let specs = try request.specs()
        XCTAssertEqual(specs.map(\.label), ["a", "b", "c"])
        XCTAssertEqual(specs.map(\.fioSection), ["a", "b", "c"])
        XCTAssertEqual(specs[0].id, "psync-randread-bs4k-qd1-j1", "the id is the settings' id, as with flags")
        XCTAssertFalse(request.isDefaultSuite)

        let sameCase = try job(head + "rw=randread\n[a]\nruntime=1\n[b]\nruntime=2\n")
        var r2 = RunRequest()
        XCTAssertTrue(refusal { try sameCase.apply(to: &r2) }.contains("[b] and [a]"))
        let sizes = try job(head + "rw=randread\n[a]\n[b]\nsize=16m\niodepth=2\nioengine=libaio\n")
        XCTAssertTrue(refusal { try sizes.apply(to: &r2) }.contains("iobench reads one region per file"))
    }

    /// Random job files built from the pieces that matter (sections, units, `${VAR}`,
    /// comments, includes, odd values): reading and mapping never traps, and every
    /// refusal is bad input on one line.
    func testRandomJobFilesAreReadOrRefusedOnOneLine() throws {
        var rng = SplitMix64(seed: 0xF10)
        let keys = ["bs", "size", "runtime", "ramp_time", "iodepth", "numjobs", "number_ios", "rate_iops", "cpus_allowed",
                    "iodepth_batch", "iodepth_batch_complete", "randseed", "percentile_list", "kb_base", "rw", "ioengine",
                    "filename", "directory", "hipri", "time_based", "direct", "stonewall", "offset"]
        var refused = 0
        for _ in 0 ..< 3000 {
            var lines = ["[global]", "filename=\(dir)/t.dat", "direct=1", "size=1m"]
            for _ in 0 ..< Int.random(in: 1 ... 8, using: &rng) {
                switch Int.random(in: 0 ..< 10, using: &rng) {
                case 0: lines.append(["[a]", "[b]", "[global]", "[", "[]", "[x] ; c", "include nowhere.fio"].randomElement(using: &rng)!)
                case 1: lines.append(["; c", "# c", "", "   ", "time_based", "${V}=1", "=4k"].randomElement(using: &rng)!)
                case 2: lines.append(keys.randomElement(using: &rng)! + "=" + InputGenerator.sizeLike(&rng))
                case 3: lines.append(keys.randomElement(using: &rng)! + "=" + InputGenerator.durationLike(&rng))
                default: lines.append(keys.randomElement(using: &rng)! + "=" + InputGenerator.string(&rng) + (Bool.random(using: &rng) ? "${V}" : ""))
                }
            }
            if !lines.contains(where: { $0 == "[a]" || $0 == "[b]" }) { lines.insert("[a]", at: 4) }
            let text = lines.joined(separator: "\n")
            if let e = refusalOf(text) {
                refused += 1
                XCTAssertEqual(e.exitCode, 2, "\(e) for:\n\(text)")
                XCTAssertFalse(e.description.contains("\n"), "one line: \(e.description)")
            }
        }
        XCTAssertGreaterThan(refused, 100, "the generator reaches the refusals")
        XCTAssertLessThan(refused, 3000, "and the accepted side too")
    }

    /// The error reading, mapping and planning the cases of `text` gives, or nil.
    func refusalOf(_ text: String) -> IOBenchError? {
        do throws(IOBenchError) {
            let sections = try FioJobFile.parse(text: text, file: "fuzz.fio", environment: ["V": "4k"])
            let job = try FioJob.map(sections, file: "fuzz.fio")
            var request = RunRequest()
            try job.apply(to: &request)
            _ = try request.specs()
            return nil
        } catch {
            return error
        }
    }
}
