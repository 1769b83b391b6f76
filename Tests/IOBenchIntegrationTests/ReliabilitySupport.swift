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

/// An `iobench` process running in the background, for tests that act on it while it
/// runs (signals, faults). Its stdout and stderr are read as they come, so a chatty run
/// never blocks on a full pipe; `wait(timeout:)` turns a hang into a test failure.
/// @unchecked Sendable: the reader threads touch only `out`/`err` (under `lock`) and
/// `readers` (a DispatchGroup, thread-safe); everything else is set before they start.
final class BackgroundIOBench: @unchecked Sendable {
    let process = Process()
    let arguments: [String]
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let readers = DispatchGroup()
    private(set) var startedAt = Date()

    /// `iobench ARGS`.
    convenience init(_ args: [String]) throws {
        try self.init(executable: CLI.binary, arguments: args)
    }

    /// Any program (a shell wrapper around iobench, say), read and waited for the same way.
    init(executable: String, arguments args: [String]) throws {
        arguments = args
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        try process.run()
        startedAt = Date()
        for (pipe, isOut) in [(o, true), (e, false)] {
            readers.enter()
            Thread.detachNewThread { [self] in
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                lock.lock()
                if isOut { out = data } else { err = data }
                lock.unlock()
                readers.leave()
            }
        }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func send(_ signal: Int32) { Glibc.kill(pid, signal) }

    /// Waits for the process to end. After `timeout` seconds it is killed (SIGKILL, by its
    /// pid) and nil is returned: the caller fails the test as a hang.
    func wait(timeout: TimeInterval) -> (status: Int32, reason: Process.TerminationReason)? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Glibc.kill(pid, SIGKILL)
            process.waitUntilExit()
            _ = readers.wait(timeout: .now() + 5)
            return nil
        }
        process.waitUntilExit()
        _ = readers.wait(timeout: .now() + 5)
        return (process.terminationStatus, process.terminationReason)
    }

    var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }

    /// Ends the process if a failed test left it running.
    func kill() { if process.isRunning { Glibc.kill(pid, SIGKILL); process.waitUntilExit() } }
}

/// The JSON object a run printed, and its cases.
struct RunJSON {
    let root: [String: Any]
    init?(_ text: String) {
        guard let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
        root = o
    }
    init?(file: String) {
        guard let d = FileManager.default.contents(atPath: file),
              let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return nil }
        root = o
    }
    var cases: [[String: Any]] { root["cases"] as? [[String: Any]] ?? [] }
    var interrupted: Bool? { root["interrupted"] as? Bool }

    static func int(_ any: Any?) -> UInt64 { (any as? NSNumber)?.uint64Value ?? 0 }
    static func errors(_ c: [String: Any]) -> [String: Any] { c["errors"] as? [String: Any] ?? [:] }
}

/// A loop device over an image of iobench's stamped data, attached with losetup and
/// detached BY NAME in `cleanup()` — and only while it still holds this image, so a
/// device number the kernel has since given to someone else is never touched.
final class StampedLoopDevice {
    let image: String
    private(set) var device: String?

    init(in dir: ScratchDirectory, sizeMiB: UInt64 = 32, name: String = "loop.img") throws {
        guard isRoot() else { throw XCTSkip("loop devices need root") }
        image = dir.file(name)
        try StampedFileWriter.write(path: image, from: 0, to: sizeMiB << 20, create: true)
        let l = sh("losetup --find --show '\(image)'")
        let dev = l.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard l.status == 0, dev.hasPrefix("/dev/loop") else { throw XCTSkip("losetup could not attach \(image): \(l.output)") }
        device = dev
    }

    var name: String { device.map { String($0.dropFirst("/dev/".count)) } ?? "?" }

    /// True while the kernel still has this device attached to our image.
    var stillOurs: Bool {
        guard let device else { return false }
        let back = (try? String(contentsOfFile: "/sys/block/\(String(device.dropFirst(5)))/loop/backing_file", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return back != nil && (back! == image || back!.hasPrefix(image + " "))
    }

    func sha256() -> String {
        guard let device else { return "" }
        return sh("sha256sum \(device)").output.split(separator: " ").first.map(String.init) ?? ""
    }

    func cleanup() {
        if device != nil, stillOurs { sh("losetup -d \(device!)") }
        device = nil
    }

    deinit { cleanup() }
}

/// Writes `size` bytes of iobench's stamped data to a new file at `path`.
func makeStampedFile(_ path: String, size: UInt64) throws {
    try StampedFileWriter.write(path: path, from: 0, to: size, create: true)
}

/// The non-empty lines of a text.
func lines(_ s: String) -> [Substring] { s.split(separator: "\n", omittingEmptySubsequences: true) }
