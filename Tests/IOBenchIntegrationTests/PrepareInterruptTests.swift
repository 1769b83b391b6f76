import Foundation
import Glibc
import XCTest
@testable import IOBenchKit

/// An interrupted `prepare` removes what it made: the partial file and its hidden
/// donor or spacer files, and exits 128 + the signal.
final class PrepareInterruptTests: XCTestCase {
    func testSIGINTDuringPrepareLeavesNothingBehind() throws {
        let dir = try ScratchDirectory()
        let path = dir.file("frag.dat")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["prepare", path, "--size", "1g", "--layout", "fragmented:16k"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Wait until the build has started writing, then interrupt it.
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: path) && Date() < deadline { usleep(20_000) }
        usleep(300_000)
        kill(p.processIdentifier, SIGINT)
        let stopped = Date()
        p.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 5, "stops promptly")
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if p.terminationStatus == 0 {
            throw XCTSkip("prepare finished before the signal arrived")
        }
        XCTAssertEqual(p.terminationStatus, 130, stderr)
        XCTAssertTrue(stderr.contains("interrupted while preparing"), stderr)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(left, [], "no partial or scratch files: \(left)")
    }
}
