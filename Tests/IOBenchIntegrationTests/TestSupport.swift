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

/// A temporary directory on a real filesystem (the system temp dir, or $IOBENCH_TEST_DIR),
/// removed when the test ends.
final class ScratchDirectory {
    let path: String
    init() throws {
        let base = ProcessInfo.processInfo.environment["IOBENCH_TEST_DIR"] ?? NSTemporaryDirectory()
        path = (base.hasSuffix("/") ? base : base + "/") + "iobench-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The result of running the built `iobench` executable.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    /// The `iobench` binary next to the test bundle (SwiftPM builds both into one folder).
    static var binary: String {
        let dir = Bundle.main.bundleURL.path.hasSuffix(".xctest")
            ? Bundle.main.bundleURL.deletingLastPathComponent().path
            : Bundle.main.bundleURL.path
        return dir + "/iobench"
    }

    static func run(_ args: [String], environment: [String: String] = [:], cwd: String? = nil) throws -> CLIResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                         stderr: String(decoding: e, as: UTF8.self))
    }
}

func isRoot() -> Bool { getuid() == 0 }

/// The repository's root: three levels up from this file (Tests/IOBenchIntegrationTests/).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// `python3 scripts/validate-json.py --strict docs/schema/SCHEMA.schema.json FILE`: exit status and output.
func validateStrictly(_ file: String, schema: String = "result") -> (status: Int32, output: String) {
    sh("python3 '\(repositoryRoot)/scripts/validate-json.py' --strict '\(repositoryRoot)/docs/schema/\(schema).schema.json' '\(file)'")
}

/// Runs a shell command, returning its exit status and combined output. `shell` is the
/// interpreter and its flags before `-c`; `cwd` and `environment` (added to this
/// process's) are optional.
@discardableResult
func sh(_ command: String, shell: [String] = ["/bin/sh"], cwd: String? = nil,
        environment: [String: String] = [:]) -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: shell[0])
    p.arguments = Array(shell.dropFirst()) + ["-c", command]
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    if !environment.isEmpty {
        var e = ProcessInfo.processInfo.environment
        for (k, v) in environment { e[k] = v }
        p.environment = e
    }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (127, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
