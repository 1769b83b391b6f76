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

/// Every output option aimed at every kind of thing a path can name: a new file, an
/// earlier iobench output, a foreign file (with and without --force-overwrite), symlinks,
/// FIFOs with and without a reader, character devices, a block device node, a directory,
/// the target or an input, and a read-only filesystem. What iobench may write is the rule
/// of `OutputGuard` (README, "Output"); nothing else may change.
final class OutputSafetyTests: XCTestCase {
    var dir: ScratchDirectory!
    var target: String!
    var base: String!
    var base2: String!
    var caseID: String!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
        target = dir.file("target.dat")
        try makeStampedFile(target, size: 4 << 20)
        base = dir.file("base.json")
        base2 = dir.file("base2.json")
        for out in [base!, base2!] {
            let r = try CLI.run(runArgs + ["--output", out])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        caseID = try XCTUnwrap(RunJSON(file: base)?.cases.first?["id"] as? String)
    }

    override func tearDown() { dir = nil }

    var runArgs: [String] {
        ["run", "--target", target, "--engine", "psync", "--number-ios", "200", "--ramp-time", "0", "--no-progress"]
    }

    /// One way of writing a file at a path the test chooses.
    struct Writer {
        var name: String
        /// The arguments that write the output, given its path; `force` adds --force-overwrite.
        var args: (_ path: String, _ force: Bool) -> [String]
        /// The file that lands at `path` when the option names a directory (hgrm, plot).
        var fileIn: ((String) -> String)?
    }

    var writers: [Writer] {
        let run = runArgs, base = base!, base2 = base2!, id = caseID!
        func f(_ force: Bool) -> [String] { force ? ["--force-overwrite"] : [] }
        return [
            Writer(name: "run --output", args: { run + ["--output", $0] + f($1) }),
            Writer(name: "run --hist-log", args: { run + ["--hist-log", $0] + f($1) }),
            Writer(name: "run --hgrm", args: { run + ["--hgrm", Target.parentDirectory(of: $0)] + f($1) }, fileIn: { $0 + "/" + id + ".hgrm" }),
            Writer(name: "run --plot", args: { run + ["--plot", Target.parentDirectory(of: $0)] + f($1) }, fileIn: { $0 + "/spectrum.svg" }),
            // (base against itself: no change, so exit 0 says the output was written)
            Writer(name: "compare --output", args: { ["compare", base, base, "--format", "json", "--output", $0] + f($1) }),
            Writer(name: "merge -o", args: { ["merge", base, base2, "-o", $0] + f($1) }),
            Writer(name: "report --output", args: { ["report", base, "--format", "html", "--output", $0] + f($1) }),
            Writer(name: "report --format svg", args: { ["report", base, "--format", "svg", "--output", Target.parentDirectory(of: $0)] + f($1) },
                   fileIn: { $0 + "/spectrum.svg" }),
        ]
    }

    /// A fresh directory per writer and kind, and the path inside it the output lands at.
    func slot(_ w: Writer, _ kind: String) throws -> String {
        let d = dir.file(w.name.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "") + "-" + kind)
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return w.fileIn?(d) ?? d + "/out"
    }

    func fileType(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
    }

    func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<unreadable>" }

    func errorLines(_ r: CLIResult) -> [Substring] { lines(r.stderr).filter { $0.hasPrefix("iobench: error:") } }

    /// Nothing but the expected files: no temporary file left behind.
    func assertNoTemporaries(_ directory: String, _ context: String) {
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains("iobench-tmp") }
        XCTAssertEqual(left, [], "\(context): temporary files left in \(directory)")
    }

    // MARK: regular files

    func testNewFileAndEarlierOutputAreWritten() throws {
        for w in writers {
            let p = try slot(w, "new")
            let first = try CLI.run(w.args(p, false))
            XCTAssertEqual(first.status, 0, "\(w.name): \(first.stderr)")
            XCTAssertEqual(fileType(p), S_IFREG, "\(w.name) wrote \(p)")
            XCTAssertTrue(OutputGuard.isIOBenchOutput(p), "\(w.name): \(p) is recognised as iobench's own output")
            // The same command again replaces its own earlier output without any flag.
            let again = try CLI.run(w.args(p, false))
            XCTAssertEqual(again.status, 0, "\(w.name) over its own earlier output: \(again.stderr)")
            assertNoTemporaries(Target.parentDirectory(of: p), w.name)
        }
    }

    func testForeignFileNeedsForceOverwrite() throws {
        for w in writers {
            let p = try slot(w, "foreign")
            try "precious notes\n".write(toFile: p, atomically: false, encoding: .utf8)
            chmod(p, 0o640)
            let r = try CLI.run(w.args(p, false))
            XCTAssertEqual(r.status, 2, "\(w.name) over a foreign file: \(r.stderr)")
            XCTAssertEqual(contents(p), "precious notes\n", "\(w.name): the foreign file is unchanged")
            XCTAssertEqual(errorLines(r).count, 1, "\(w.name): one error line: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("not an iobench output") && r.stderr.contains("--force-overwrite"), "\(w.name): \(r.stderr)")
            if w.name.hasPrefix("run") {
                XCTAssertEqual(r.stdout, "", "\(w.name): refused before measuring (no report): \(r.stdout.prefix(300))")
            }
            let forced = try CLI.run(w.args(p, true))
            XCTAssertEqual(forced.status, 0, "\(w.name) --force-overwrite: \(forced.stderr)")
            XCTAssertTrue(OutputGuard.isIOBenchOutput(p), "\(w.name): replaced with iobench's output")
            var st = stat()
            XCTAssertEqual(stat(p, &st), 0)
            XCTAssertEqual(st.st_mode & 0o777, 0o640, "\(w.name): the replaced file keeps its permissions")
        }
    }

    func testTargetAndInputsAreNeverOutputs() throws {
        // The run's target, through its own path and through a symlink, as a new output.
        let targetBefore = sh("sha256sum '\(target!)'").output
        let link = dir.file("link-to-target")
        XCTAssertEqual(symlink(target, link), 0)
        for (option, path) in [("--output", target!), ("--output", link), ("--hist-log", target!)] {
            for force in [false, true] {
                let r = try CLI.run(runArgs + [option, path] + (force ? ["--force-overwrite"] : []))
                XCTAssertEqual(r.status, 2, "\(option) \(path) force=\(force): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("is the target"), r.stderr)
                XCTAssertEqual(errorLines(r).count, 1, r.stderr)
            }
        }
        XCTAssertEqual(sh("sha256sum '\(target!)'").output, targetBefore, "the target is unchanged")
        XCTAssertEqual(fileType(link), S_IFLNK)
        // A foreign target that is also the output (the tester's case): refused, not replaced by JSON.
        let foreign = dir.file("foreign.bin")
        XCTAssertEqual(sh("head -c 8388608 /dev/urandom > '\(foreign)'").status, 0)
        let foreignBefore = sh("sha256sum '\(foreign)'").output
        let r = try CLI.run(["run", "--target", foreign, "--engine", "psync", "--number-ios", "100", "--ramp-time", "0",
                             "--no-progress", "--output", foreign])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(sh("sha256sum '\(foreign)'").output, foreignBefore)
        // A target that does not exist yet is the same path as the output: refused before creating it.
        let fresh = dir.file("fresh.dat")
        let f = try CLI.run(["run", "--target", fresh, "--size", "4m", "--engine", "psync", "--number-ios", "100", "--ramp-time", "0",
                             "--no-progress", "--output", fresh])
        XCTAssertEqual(f.status, 2, f.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh), "nothing was created")
        // Inputs of compare, merge and report.
        let baseBefore = contents(base)
        for args in [["compare", base!, base2!, "--output", base!], ["merge", base!, base2!, "-o", base2!],
                     ["report", base!, "--format", "html", "--output", base!]] {
            let r = try CLI.run(args + ["--force-overwrite"])
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("input"), "\(args): \(r.stderr)")
        }
        XCTAssertEqual(contents(base), baseBefore)
        // Two outputs of one run at one path.
        let both = try CLI.run(runArgs + ["--output", dir.file("same"), "--hist-log", dir.file("same")])
        XCTAssertEqual(both.status, 2, both.stderr)
    }

    /// Two outputs of one run at one file: the last one written would silently replace
    /// the other (found by a hostile review: --output inside the --plot directory).
    func testOutputsNeverLandOnEachOther() throws {
        let pl = dir.file("pl"), hg = dir.file("hg")
        try FileManager.default.createDirectory(atPath: hg, withIntermediateDirectories: true)
        let id = caseID!
        let collisions: [[String]] = [
            ["--output", pl + "/report.html", "--plot", pl],
            ["--output", pl + "/timeline.svg", "--plot", pl],
            ["--hist-log", pl + "/report.html", "--plot", pl],
            ["--hist-log", hg + "/" + id + ".hgrm", "--hgrm", hg],
            ["--output", hg + "/" + id + ".hgrm", "--hgrm", hg],
            ["--output", dir.file("same"), "--hist-log", dir.file("same")],
        ]
        for extra in collisions {
            let r = try CLI.run(runArgs + extra)
            XCTAssertEqual(r.status, 2, "\(extra): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("name the same file"), "\(extra): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(extra): refused before measuring")
        }
    }

    /// `--output /proc/self/fd/1 > file`: replacing the file stdout goes to would leave
    /// the report in an unlinked file.
    func testOutputThatIsStdoutsFileIsRefused() throws {
        let rep = dir.file("rep.txt")
        let cmd = "'\(CLI.binary)' " + (runArgs + ["--output", "/proc/self/fd/1"]).map { "'\($0)'" }.joined(separator: " ") + " > '\(rep)'"
        let r = sh(cmd)
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.output.contains("standard output"), r.output)
    }

    // MARK: symlinks

    func testSymlinkIsFollowedAndReplacedInItsOwnDirectory() throws {
        for w in writers {
            let p = try slot(w, "symlink")
            let elsewhere = dir.file("elsewhere-" + w.name.replacingOccurrences(of: " ", with: "_"))
            try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
            // To a foreign file: refused, the file and the link unchanged.
            let foreign = elsewhere + "/foreign.txt"
            try "keep me\n".write(toFile: foreign, atomically: false, encoding: .utf8)
            XCTAssertEqual(symlink(foreign, p), 0)
            let r = try CLI.run(w.args(p, false))
            XCTAssertEqual(r.status, 2, "\(w.name) via a symlink to a foreign file: \(r.stderr)")
            XCTAssertEqual(contents(foreign), "keep me\n")
            XCTAssertEqual(fileType(p), S_IFLNK)
            // To an earlier iobench output (or a new file): the link stays, the file it names is written.
            unlink(p)
            let own = elsewhere + "/own-output"
            XCTAssertEqual(symlink(own, p), 0, "dangling link to a file to create")
            let made = try CLI.run(w.args(p, false))
            XCTAssertEqual(made.status, 0, "\(w.name) via a dangling symlink: \(made.stderr)")
            XCTAssertEqual(fileType(p), S_IFLNK, "\(w.name): the symlink is still a symlink")
            XCTAssertEqual(fileType(own), S_IFREG)
            XCTAssertTrue(OutputGuard.isIOBenchOutput(own), "\(w.name)")
            let again = try CLI.run(w.args(p, false))
            XCTAssertEqual(again.status, 0, "\(w.name) via a symlink to its earlier output: \(again.stderr)")
            XCTAssertEqual(fileType(p), S_IFLNK)
            assertNoTemporaries(elsewhere, w.name)
            assertNoTemporaries(Target.parentDirectory(of: p), w.name)
        }
    }

    // MARK: devices, FIFOs, directories

    func testCharacterDevicesAreWrittenThroughNeverReplaced() throws {
        // /dev/null itself (the tester turned it into a regular file as root).
        for w in writers where w.fileIn == nil {
            let r = try CLI.run(w.args("/dev/null", false))
            XCTAssertEqual(r.status, 0, "\(w.name) /dev/null: \(r.stderr)")
            XCTAssertEqual(fileType("/dev/null"), S_IFCHR, "\(w.name): /dev/null is still a character device")
        }
        guard isRoot() else { throw XCTSkip("mknod needs root; /dev/null was checked") }
        for w in writers {
            let p = try slot(w, "chardev")
            XCTAssertEqual(sh("mknod '\(p)' c 1 3").status, 0, "mknod (the null device's numbers)")
            let r = try CLI.run(w.args(p, false))
            XCTAssertEqual(r.status, 0, "\(w.name) to a character device: \(r.stderr)")
            XCTAssertEqual(fileType(p), S_IFCHR, "\(w.name): still a character device")
        }
    }

    func testBlockDeviceNodeDirectoryAndSocketAreRefused() throws {
        for w in writers {
            let p = try slot(w, "dir")
            try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
            let r = try CLI.run(w.args(p, true))
            XCTAssertEqual(r.status, 2, "\(w.name) to a directory: \(r.stderr)")
            XCTAssertEqual(errorLines(r).count, 1, r.stderr)
            XCTAssertFalse(r.stderr.contains("errno 0") || r.stderr.contains("Success"), "\(w.name): a real reason: \(r.stderr)")
        }
        guard isRoot() else { throw XCTSkip("mknod needs root; directories were checked") }
        for w in writers {
            let p = try slot(w, "blockdev")
            // A block device node (loop major 7, a minor nobody uses): never opened for writing.
            XCTAssertEqual(sh("mknod '\(p)' b 7 250").status, 0)
            let r = try CLI.run(w.args(p, true))
            XCTAssertEqual(r.status, 2, "\(w.name) to a block device: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("block device"), r.stderr)
            XCTAssertEqual(fileType(p), S_IFBLK)
        }
    }

    func testFIFOWithAReaderGetsTheDataAndOneWithoutIsAnErrorNotAHang() throws {
        for w in writers where w.fileIn == nil {
            let p = try slot(w, "fifo")
            XCTAssertEqual(mkfifo(p, 0o644), 0)
            // No reader: exit 2 at once.
            let lonely = try BackgroundIOBench(w.args(p, false))
            let exit = lonely.wait(timeout: 30)
            XCTAssertNotNil(exit, "\(w.name): hung on a FIFO nobody reads")
            XCTAssertEqual(exit?.status, 2, "\(w.name): \(lonely.stderr)")
            XCTAssertTrue(lonely.stderr.contains("FIFO"), lonely.stderr)
            XCTAssertEqual(fileType(p), S_IFIFO)
            // A reader: it receives the output, and the FIFO stays a FIFO.
            let received = dir.file("received-" + w.name.replacingOccurrences(of: " ", with: "_"))
            let reader = Process()
            reader.executableURL = URL(fileURLWithPath: "/bin/sh")
            reader.arguments = ["-c", "exec cat '\(p)' > '\(received)'"]
            try reader.run()
            // A reader blocked in open() already counts as one; wait until cat has started.
            for _ in 0 ..< 250 {
                let comm = (try? String(contentsOfFile: "/proc/\(reader.processIdentifier)/comm", encoding: .utf8)) ?? ""
                if comm.hasPrefix("cat") { break }
                usleep(20_000)
            }
            usleep(300_000)
            let r = try CLI.run(w.args(p, false))
            XCTAssertEqual(r.status, 0, "\(w.name) to a FIFO with a reader: \(r.stderr)")
            XCTAssertEqual(fileType(p), S_IFIFO, "\(w.name): still a FIFO")
            reader.waitUntilExit()
            XCTAssertTrue(OutputGuard.isIOBenchOutput(received) && contents(received).count > 100,
                          "\(w.name): the reader got the output: \(contents(received).prefix(200))")
        }
    }

    func testReadOnlyFilesystemIsAClearError() throws {
        guard isRoot() else { throw XCTSkip("mounting a read-only tmpfs needs root") }
        let ro = dir.file("ro")
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
        let m = sh("mount -t tmpfs -o ro,size=1m iobench-test-ro '\(ro)'")
        guard m.status == 0 else { throw XCTSkip("cannot mount a read-only tmpfs: \(m.output)") }
        defer { sh("umount '\(ro)'") }
        for w in writers where w.fileIn == nil {
            let r = try CLI.run(w.args(ro + "/out", false))
            XCTAssertEqual(r.status, 2, "\(w.name) on a read-only filesystem: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("EROFS") || r.stderr.contains("Read-only"), "\(w.name): \(r.stderr)")
            XCTAssertEqual(errorLines(r).count, 1, r.stderr)
        }
    }

    /// Type, size, mode and (for regular files only: a FIFO must not be read) contents.
    func snapshot(_ p: String) -> String {
        var st = stat()
        guard lstat(p, &st) == 0 else { return "missing" }
        let type = st.st_mode & S_IFMT
        var s = "type \(type) size \(st.st_size) mode \(st.st_mode & 0o7777) ino \(st.st_ino)"
        if type == S_IFREG || type == S_IFLNK { s += " " + sh("sha256sum '\(p)' 2>&1").output }
        return s
    }

    /// Random kinds × random options × force: the invariant is that a foreign regular
    /// file, a device's type, a FIFO's type and the target never change.
    func testFuzzedOutputPaths() throws {
        var rng = SystemRandomNumberGenerator()
        let kinds = ["foreign", "own", "dir", "fifo", "null", "symlink-foreign", "missing-parent", "target"]
        for i in 0 ..< 24 {
            let w = writers.filter { $0.fileIn == nil }.randomElement(using: &rng)!
            let kind = kinds.randomElement(using: &rng)!
            let force = Bool.random(using: &rng)
            let d = dir.file("fuzz-\(i)")
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            var p = d + "/out"
            switch kind {
            case "foreign": try "foreign\n".write(toFile: p, atomically: false, encoding: .utf8)
            case "own": try FileManager.default.copyItem(atPath: base, toPath: p)
            case "dir": try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: false)
            case "fifo": XCTAssertEqual(mkfifo(p, 0o644), 0)
            case "null": p = "/dev/null"
            case "symlink-foreign":
                try "foreign\n".write(toFile: d + "/f", atomically: false, encoding: .utf8)
                XCTAssertEqual(symlink(d + "/f", p), 0)
            case "missing-parent": p = d + "/no/such/out"
            default: p = w.name.hasPrefix("run") ? target : base
            }
            let before = snapshot(p)
            let run = try BackgroundIOBench(w.args(p, force))
            let exit = run.wait(timeout: 60)
            let context = "\(w.name) → \(kind) force=\(force): \(run.stderr)"
            XCTAssertNotNil(exit, "hung: " + context)
            guard let status = exit?.status else { continue }
            XCTAssertTrue([0, 2].contains(status), context)
            if status == 2 { XCTAssertEqual(errorLines(CLIResult(status: 2, stdout: "", stderr: run.stderr)).count, 1, context) }
            switch kind {
            case "foreign", "symlink-foreign":
                if force { XCTAssertEqual(status, 0, context) } else {
                    XCTAssertEqual(status, 2, context)
                    XCTAssertEqual(snapshot(p), before, context)
                }
            case "own", "null": XCTAssertEqual(status, 0, context)
            case "dir", "fifo", "missing-parent", "target":
                XCTAssertEqual(status, 2, context)
                if kind != "missing-parent" { XCTAssertEqual(snapshot(p), before, context) }
            default: break
            }
            if kind == "null" { XCTAssertEqual(fileType("/dev/null"), S_IFCHR) }
            if kind == "fifo" { XCTAssertEqual(fileType(p), S_IFIFO) }
        }
    }

    /// A directory where iobench writes a case's own file (--hgrm DIR/<id>.hgrm): exit 2
    /// naming it as in the way, not advice to "name a file in it", which the user never named.
    func testDirectoryInPlaceOfACaseFileIsNamedAsInTheWay() throws {
        let hg = dir.file("hgrms")
        try FileManager.default.createDirectory(atPath: hg + "/" + caseID + ".hgrm", withIntermediateDirectories: true)
        let r = try CLI.run(runArgs + ["--hgrm", hg])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("is a directory, where iobench writes this case's file"), r.stderr)
        XCTAssertFalse(r.stderr.contains("name a file in it"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }
}
