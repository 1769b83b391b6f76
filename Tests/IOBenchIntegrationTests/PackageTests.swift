import Foundation
import XCTest
@testable import IOBenchKit
@testable import IOBenchPlatform
@testable import IOBenchResults

/// What `make test` builds before the tests (the `deb` target: the static release binary,
/// its man pages and dist/iobench_*.deb): the binary runs without the Swift toolchain,
/// `make install` lays out everything it promises, and the package installs, runs from
/// /usr/bin and purges. Building them here is not possible (`swift test` holds the build
/// directory), so without them these tests skip and say how to make them.
final class PackageTests: XCTestCase {
    static let repo = repositoryRoot
    static let release = repo + "/.build/release/iobench"
    var dir: ScratchDirectory!

    override func setUpWithError() throws { dir = try ScratchDirectory() }

    func requireBuiltPackage() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.release),
              FileManager.default.fileExists(atPath: Self.repo + "/.build/man/iobench.run.1") else {
            throw XCTSkip("no release binary and man pages: run 'make test' (or 'make deb') first")
        }
    }

    override func tearDown() { dir = nil }

    /// The Swift runtime and Foundation are linked in: every library the loader resolves is
    /// a system one, and no run path points into a toolchain.
    func testReleaseBinaryNeedsOnlySystemLibraries() throws {
        try requireBuiltPackage()
        let ldd = sh("ldd '\(Self.release)'")
        XCTAssertEqual(ldd.status, 0, ldd.output)
        let libraries = ldd.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertFalse(libraries.isEmpty)
        for line in libraries {
            XCTAssertFalse(line.lowercased().contains("swift"), "links a Swift library: \(line)")
            XCTAssertFalse(line.contains("not found"), line)
            if let path = line.components(separatedBy: "=> ").last?.split(separator: " ").first, path.hasPrefix("/") {
                XCTAssertTrue(["/lib", "/usr/lib", "/lib64"].contains { path.hasPrefix($0) }, "\(line) is not a system library")
            }
        }
        for needed in ["liburing", "libaio", "libc.so"] {
            XCTAssertTrue(ldd.output.contains(needed), "\(needed) missing from: \(ldd.output)")
        }
        let runpath = sh("readelf -d '\(Self.release)' | grep -Ei 'rpath|runpath' || true").output
        XCTAssertFalse(runpath.contains("/opt") || runpath.lowercased().contains("swift"), runpath)
    }

    /// `make install` (its recipe, with the build targets taken as made) into a fresh prefix:
    /// the binary, a man page per subcommand, three completions and the four schemas; and
    /// the installed binary runs a measurement with the toolchain hidden (root: a mount
    /// namespace with an empty directory over it), else with a bare environment.
    func testMakeInstallLaysOutEverythingAndRunsWithoutTheToolchain() throws {
        try requireBuiltPackage()
        let prefix = dir.file("prefix")
        let make = sh("make -o man -o release install PREFIX='\(prefix)'", cwd: Self.repo)
        XCTAssertEqual(make.status, 0, make.output)
        let subcommands = ["run", "prepare", "inspect", "compare", "merge", "report", "lab"]
        var expected = ["bin/iobench", "share/man/man1/iobench.1", "share/bash-completion/completions/iobench",
                        "share/zsh/site-functions/_iobench", "share/fish/vendor_completions.d/iobench.fish"]
        expected += subcommands.map { "share/man/man1/iobench.\($0).1" }
        expected += ["result", "compare", "inspect", "prepare"].map { "share/iobench/schema/\($0).schema.json" }
        for file in expected {
            var st = stat()
            XCTAssertEqual(stat(prefix + "/" + file, &st), 0, "\(file) was not installed")
            XCTAssertGreaterThan(st.st_size, 0, "\(file) is empty")
        }
        let page = try String(contentsOfFile: prefix + "/share/man/man1/iobench.run.1", encoding: .utf8)
        XCTAssertTrue(page.contains("--iodepth"), "the run man page documents its options")
        // generate-manual drops non-ASCII characters: "values in µs" must not become "values in s".
        XCTAssertTrue(page.contains("values in us") && !page.contains("values in s)"), "µ spelled in ASCII in the man page")
        let bash = try String(contentsOfFile: prefix + "/share/bash-completion/completions/iobench", encoding: .utf8)
        XCTAssertTrue(bash.contains("--iodepth") && bash.contains("complete"), "bash completion lists run's options")

        let toolchain = sh("dirname \"$(dirname \"$(readlink -f \"$(command -v swift)\")\")\"").output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let target = dir.file("t.dat")
        let run = "env -i PATH=/usr/bin:/bin '\(prefix)/bin/iobench' run --target '\(target)' --size 16m --engine psync,io_uring --iodepth 1 --runtime 1s --ramp-time 0 --no-progress --format json"
        let hidden = isRoot() && !toolchain.isEmpty && toolchain != "/" && toolchain != "/usr"
        let r = hidden
            ? sh("unshare -m sh -c \"mount -t tmpfs none '\(toolchain)' && \(run.replacingOccurrences(of: "\"", with: "\\\""))\"")
            : sh(run)
        XCTAssertEqual(r.status, 0, "installed binary\(hidden ? " with \(toolchain) hidden" : ""): \(r.output)")
        let json = try XCTUnwrap(RunJSON(String(r.output[r.output.firstIndex(of: "{")!...])), r.output)
        XCTAssertEqual(json.cases.count, 2)
        XCTAssertTrue(json.cases.allSatisfy { $0["status"] as? String == "ok" && RunJSON.int($0["ios"]) > 0 }, r.output)
    }

    /// `make deb`'s package: Depends names the libraries the binary links, `dpkg -i` puts
    /// iobench in /usr/bin where `--version` and a 1 s run work, and `dpkg -P` removes it.
    func testDebianPackageInstallsRunsAndPurges() throws {
        try requireBuiltPackage()
        guard isRoot() else { throw XCTSkip("dpkg -i needs root") }
        guard sh("dpkg-query -W -f='${Status}' iobench 2>/dev/null").output.contains("installed") == false else {
            throw XCTSkip("an iobench package is already installed on this machine; not replacing it")
        }
        let debs = (try? FileManager.default.contentsOfDirectory(atPath: Self.repo + "/dist"))?.filter { $0.hasSuffix(".deb") } ?? []
        let deb = try XCTUnwrap(debs.sorted().last.map { Self.repo + "/dist/" + $0 }, "no dist/*.deb: run 'make deb'")
        let depends = sh("dpkg-deb -f '\(deb)' Depends").output
        for lib in ["libc6", "liburing", "libaio"] { XCTAssertTrue(depends.contains(lib), "Depends lacks \(lib): \(depends)") }
        XCTAssertFalse(depends.lowercased().contains("swift"), depends)

        addTeardownBlock { sh("dpkg -P iobench") }
        let install = sh("dpkg -i '\(deb)'")
        XCTAssertEqual(install.status, 0, install.output)
        let version = sh("/usr/bin/iobench --version")
        XCTAssertEqual(version.status, 0, version.output)
        XCTAssertTrue(version.output.hasPrefix(IOBenchVersion.string), version.output)
        XCTAssertTrue(sh("man -w iobench.run").output.contains("/usr/share/man/man1/iobench.run.1"), "man page not found by man")
        let target = dir.file("deb.dat")
        let run = sh("cd '\(dir.path)' && /usr/bin/iobench run --target '\(target)' --size 16m --engine io_uring --runtime 1s --ramp-time 0 --no-progress")
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("io_uring 4k QD1"), run.output)
        let purge = sh("dpkg -P iobench")
        XCTAssertEqual(purge.status, 0, purge.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/usr/bin/iobench"), "purge left /usr/bin/iobench")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/usr/share/man/man1/iobench.run.1.gz"))
    }

    /// `--version` and the JSON `tool` object tell the same build: version, commit (one of
    /// this checkout's, as the Makefile recorded it) and build date.
    func testVersionNamesTheCommitAndBuildDate() throws {
        let v = try CLI.run(["--version"])
        XCTAssertEqual(v.status, 0)
        let printed = v.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let r = try CLI.run(["run", "--target", dir.file("v.dat"), "--size", "16m", "--engine", "psync", "--number-ios", "100",
                             "--ramp-time", "0", "--no-progress", "--format", "json"])
        let tool = try XCTUnwrap(RunJSON(r.stdout)?.root["tool"] as? [String: Any], r.stderr)
        XCTAssertEqual(tool["version"] as? String, IOBenchVersion.string)
        guard let commit = tool["commit"] as? String else {
            XCTAssertEqual(printed, IOBenchVersion.string, "no commit recorded, so --version is the bare version")
            XCTAssertNil(tool["build_date"])
            return
        }
        let date = try XCTUnwrap(tool["build_date"] as? String)
        XCTAssertEqual(printed, "\(IOBenchVersion.string) (commit \(commit), built \(date))")
        XCTAssertNotNil(date.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression), date)
        // A commit of this repository (HEAD under `make test`, which records it before
        // building; an earlier one after a bare `swift test` following new commits).
        let hash = commit.replacingOccurrences(of: "-dirty", with: "")
        XCTAssertNotNil(hash.range(of: #"^[0-9a-f]{12}$"#, options: .regularExpression), commit)
        if sh("git -C '\(Self.repo)' rev-parse --git-dir").status == 0 {
            let known = sh("git -C '\(Self.repo)' rev-parse --verify --quiet '\(hash)^{commit}'")
            XCTAssertEqual(known.status, 0, "\(commit) is not a commit of this checkout")
        }
    }

    /// scripts/build-info.sh records a checkout's HEAD (with -dirty for local changes) and
    /// the date (SOURCE_DATE_EPOCH when set), and rewrites nothing when nothing changed.
    func testBuildInfoRecordsHeadDirtyAndDate() throws {
        let repo = dir.file("repo")
        for d in ["scripts", "Sources/CIOBenchShim"] { try FileManager.default.createDirectory(atPath: repo + "/" + d, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: Self.repo + "/scripts/build-info.sh", toPath: repo + "/scripts/build-info.sh")
        try "int x;\n".write(toFile: repo + "/Sources/CIOBenchShim/build_info.c", atomically: true, encoding: .utf8)
        let git = "git -C '\(repo)' -c user.name=t -c user.email=t@t"
        XCTAssertEqual(sh("\(git) init -q && \(git) add -A && \(git) commit -qm one").status, 0)
        let head = sh("\(git) rev-parse --short=12 HEAD").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let header = repo + "/Sources/CIOBenchShim/build_info.h"
        XCTAssertEqual(sh("SOURCE_DATE_EPOCH=1700000000 '\(repo)/scripts/build-info.sh'").status, 0)
        var text = try String(contentsOfFile: header, encoding: .utf8)
        XCTAssertTrue(text.contains("IOB_BUILD_COMMIT \"\(head)\""), text)
        XCTAssertTrue(text.contains("IOB_BUILD_DATE \"2023-11-14\""), text)
        let before = try FileManager.default.attributesOfItem(atPath: header)[.modificationDate] as? Date
        usleep(20_000)
        XCTAssertEqual(sh("SOURCE_DATE_EPOCH=1700000000 '\(repo)/scripts/build-info.sh'").status, 0)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: header)[.modificationDate] as? Date, before, "unchanged: not rewritten")
        try "int y;\n".write(toFile: repo + "/Sources/CIOBenchShim/build_info.c", atomically: true, encoding: .utf8)
        XCTAssertEqual(sh("'\(repo)/scripts/build-info.sh'").status, 0)
        text = try String(contentsOfFile: header, encoding: .utf8)
        XCTAssertTrue(text.contains("IOB_BUILD_COMMIT \"\(head)-dirty\""), text)
    }
}
