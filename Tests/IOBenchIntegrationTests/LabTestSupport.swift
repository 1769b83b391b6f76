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

/// What every test of `iobench lab` needs: root, the loop driver and mkfs (else skipped
/// with the reason), a scratch `--dir` that is cleaned up whatever happens, and views of
/// what a lab may have left in it.
///
/// Other tests on this machine may attach loop devices and mount filesystems of their
/// own while these run, so "nothing left behind" is checked for what can be the lab's:
/// every loop device whose backing file, and every mount whose mount point, lies in this
/// test's --dir.
class LabTestCase: XCTestCase, WatchesFiles {
    var dir: ScratchDirectory!

    /// The mkfs tools the test needs (all by default).
    class var requiredTools: [String] { ["mkfs.ext4", "mkfs.xfs"] }

    override func setUpWithError() throws {
        guard isRoot() else { throw XCTSkip("iobench lab needs root (loop devices, mount)") }
        guard FileManager.default.fileExists(atPath: "/dev/loop-control") else { throw XCTSkip("no /dev/loop-control: this kernel has no loop driver") }
        for tool in Self.requiredTools where sh("command -v \(tool) || test -x /usr/sbin/\(tool) || test -x /sbin/\(tool)").status != 0 {
            throw XCTSkip("\(tool) is not installed")
        }
        dir = try ScratchDirectory()
        addTeardownBlock { [dir] in
            // A failed test must not leave a lab behind either. XCTest may keep the test
            // case (and the directory's owner) alive, so the directory goes now, without
            // ever crossing into a filesystem still mounted.
            guard let dir else { return }
            _ = try? CLI.run(["lab", "--cleanup", "--dir", dir.path])
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where name.hasPrefix(LabWorkspace.prefix) {
                _ = try? CLI.run(["lab", "--cleanup", "--dir", dir.path + "/" + name])
            }
            LabWorkspace.remove(dir.path)
        }
    }

    /// Loop devices bound to a file in `dir`, and mounts under it, one line each.
    func leftovers() -> [String] { labLeftovers(under: dir.path) }

    /// Lab workspace directories left in `dir`.
    func workspaces() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasPrefix(LabWorkspace.prefix) }
    }

    /// Arguments quoted for /bin/sh.
    func quoted(_ args: [String]) -> String { args.map { "'\($0)'" }.joined(separator: " ") }

    /// A lab whose stderr goes to a file as it is written (BackgroundIOBench reads its
    /// pipes only at the end), so a test can wait for a phase. `exec` keeps the pid, so
    /// signals reach iobench itself.
    func labLoggingTo(_ errFile: String, _ args: [String]) throws -> BackgroundIOBench {
        try BackgroundIOBench(executable: "/bin/sh", arguments: ["-c", "exec '\(CLI.binary)' \(quoted(["lab", "--dir", dir.path] + args)) 2>'\(errFile)'"])
    }
}

/// Loop devices bound to a file under `path`, and mounts under it, one line each.
func labLeftovers(under path: String) -> [String] {
    let inside: (String) -> Bool = { $0.hasPrefix(path + "/") }
    let loops = LoopDevice.bound().filter { inside($0.backingFile) }.map { "loop \($0.device) -> \($0.backingFile)" }
    let mounts = Mounts.entries().filter { inside($0.mountPoint) }.map { "mount \($0.mountPoint)" }
    return loops + mounts
}

/// File contents and polling for tests that watch a lab's stderr (LabTestCase and others).
protocol WatchesFiles {}

extension WatchesFiles {
    func contents(_ file: String) -> String { (try? String(contentsOfFile: file, encoding: .utf8)) ?? "" }

    /// Polls until `condition` holds or `timeout` passes.
    func waitUntil(_ timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}
